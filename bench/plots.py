"""The plots of `make bench`, drawn with gnuplot as SVG (see run-bench.py).

draw() writes, into outdir, bench-throughput.svg (requests/s, bulk MB/s,
per server and workload, tcp and unix side by side) and, for each
transport, bench-latency-TRANSPORT.svg (the latency of every server by
percentile, from the histogram sockserv-bench --histogram prints). The
data files and the gnuplot script go to workdir, to draw them again with
`gnuplot workdir/plots.gp`.
"""
import os
import subprocess

FILES = ["bench-throughput.svg", "bench-latency-tcp.svg",
         "bench-latency-unix.svg"]

# Colour by concurrency model, dash by kind of server.
COLOURS = {"sync": "#1b9e77", "TCPServer": "#1b9e77",
           "threading": "#d95f02", "ThreadingTCPServer": "#d95f02",
           "forking": "#7570b3", "ForkingTCPServer": "#7570b3",
           "ref_threads": "#e7298a", "ref_epoll": "#66a61e"}
DASH = {"sockservd": 1, "python": 2, "ref": 1}


def gnuplot_missing(gnuplot):
    """None when gnuplot runs, else why not."""
    try:
        subprocess.run([gnuplot, "--version"], check=True,
                       capture_output=True)
        return None
    except (OSError, subprocess.CalledProcessError) as e:
        return f"{gnuplot}: {e}"


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def colour(srv):
    key = srv.key if srv.kind == "ref" else srv.model.split()[0]
    return COLOURS.get(key, "#666666")


def width(srv):
    return 1.2 if "workers" in srv.model else 2.0


def throughput(rows, results, workloads, transports, workdir, out):
    g = ["set encoding utf8",
         "set terminal svg size 1100,900 dynamic noenhanced "
         'font "sans,11" background "white"',
         f"set output {quote(out)}",
         "set style data histogram",
         "set style histogram clustered gap 1",
         "set style fill solid 0.8 border -1",
         "set boxwidth 0.9",
         "set datafile missing '?'",
         "set xtics rotate by -35 scale 0 font ',9'",
         "set yrange [0:*]",
         "set offsets 0, 0, graph 0.15, 0",    # room for the key
         "set grid ytics",
         "set key top right",
         "set multiplot layout 2,2 title "
         + quote("Throughput per server and workload (higher is better)")]
    for wl in workloads:
        path = os.path.join(workdir, f"throughput-{wl[0]}.dat")
        with open(path, "w") as f:
            for srv in rows:
                vals = []
                for t in transports:
                    s = results.get((srv.key, t, wl[0]))
                    vals.append(s[wl[3]] if s else "?")
                f.write(f"{quote(srv.label())} {' '.join(vals)}\n")
        unit = "MB/s" if wl[3] == "mbps" else "requests/s"
        g.append(f"set title {quote(wl[1])}")
        g.append(f"set ylabel {quote(unit)}")
        g.append("plot " + ", ".join(
            f"{quote(path)} using {i + 2}:xtic(1) title {quote(t)}"
            for i, t in enumerate(transports)))
    g.append("unset multiplot")
    return g


def percentile_points(hist):
    """(x, latency in µs) by bucket: x = 1/(1-q), q the share at or below
    the bucket's top; the last bucket, q = 1, is put at 1-q = 1/(2n)."""
    n = sum(c for _, _, c in hist)
    pts, seen = [], 0
    for _, high, c in hist:
        seen += c
        x = n / (n - seen) if seen < n else 2.0 * n
        pts.append((x, high / 1000))
    return pts


def latency(rows, hists, workloads, transport, workdir, out):
    g = ["reset",
         "set terminal svg size 1100,900 dynamic noenhanced "
         'font "sans,11" background "white"',
         f"set output {quote(out)}",
         "set logscale xy",
         "set xrange [1:100000]",
         # Tic labels are formats: %% is a percent sign.
         "set xtics ('50%%' 2, '90%%' 10, '99%%' 100, "
         "'99.9%%' 1000, '99.99%%' 10000, '99.999%%' 100000)",
         "set format y '%g'",
         "set grid xtics ytics",
         "set xlabel 'percentile'",
         "set ylabel 'latency (µs)'",
         "set multiplot layout 2,2 title " + quote(
             f"Latency by percentile, {transport} (lower is better; "
             "solid: sockservd and C, dashed: Python; thin: pools)")]
    for i, wl in enumerate(workloads):
        plots = []
        for srv in rows:
            hist = hists.get((srv.key, transport, wl[0]))
            if not hist:
                continue
            path = os.path.join(workdir,
                                f"latency-{transport}-{wl[0]}-{srv.key}.dat")
            with open(path, "w") as f:
                for x, y in percentile_points(hist):
                    f.write(f"{x:.6g} {y:.6g}\n")
            plots.append(
                f"{quote(path)} using 1:2 with lines lw {width(srv)} "
                f"lc rgb '{colour(srv)}' dt {DASH[srv.kind]} "
                f"title {quote(srv.label())}")
        g.append(f"set title {quote(wl[1])}")
        g.append("set key top left font ',8'" if i == 0 else "unset key")
        g.append("plot " + ", ".join(plots) if plots else
                 "plot 1/0 notitle")
    g.append("unset multiplot")
    return g


def draw(gnuplot, rows, results, hists, workloads, transports, outdir,
         workdir):
    script = throughput(rows, results, workloads, transports, workdir,
                        os.path.join(outdir, FILES[0]))
    for t in transports:
        script += latency(rows, hists, workloads, t, workdir,
                          os.path.join(outdir, f"bench-latency-{t}.svg"))
    path = os.path.join(workdir, "plots.gp")
    with open(path, "w") as f:
        f.write("\n".join(script) + "\n")
    subprocess.run([gnuplot, path], check=True)
