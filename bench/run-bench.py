#!/usr/bin/env python3
"""The driver of `make bench`: a fixed matrix of sockserv-bench runs.

Every server below is started fresh for every cell (transport x workload),
on a free loopback port or a unix socket in a temporary directory, waited
for, loaded with sockserv-bench for BENCH_SECONDS, and stopped (SIGTERM,
then its whole process group is killed). Only one server runs at a time.
Then the memory each server needs per connection is measured with
BENCH_IDLE idle connections held open. The results are written into the
template bench/BENCHMARKS.md.in at @TABLES@, as --outdir/BENCHMARKS.md,
with the plots plots.py draws next to it (gnuplot, SVG; checked for before
anything runs), and every summary line and histogram into
bench/last-run.txt of the build tree. `make bench-docs` copies the
document and its plots to docs/.

Settings (environment): BENCH_SECONDS (3), BENCH_WARMUP (0.5),
BENCH_WORKERS (pool size; 64, so a pool serves all 50 connections of
pingpong c=50 at once), BENCH_IDLE (1000), BENCH_ONLY
(comma-separated server keys, to run part of the matrix while working on
one model; the table then has only those rows), GNUPLOT (gnuplot).
"""
import argparse
import atexit
import datetime
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import plots  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "0.5"))
NCPU = len(os.sched_getaffinity(0))
WORKERS = int(os.environ.get("BENCH_WORKERS", "64"))
IDLE = int(os.environ.get("BENCH_IDLE", "1000"))
ONLY = [k for k in os.environ.get("BENCH_ONLY", "").split(",") if k]
GNUPLOT = os.environ.get("GNUPLOT", "gnuplot")
# max_children for the matrix: above c=50, so no model caps the load.
MAX_CHILDREN = 128

TRANSPORTS = ["tcp", "unix"]
# (key, heading, sockserv-bench arguments, what the cell shows)
WORKLOADS = [
    ("pp1", "pingpong c=1", ["-m", "pingpong", "-c", "1"], "rps"),
    ("pp50", "pingpong c=50", ["-m", "pingpong", "-c", "50"], "rps"),
    ("conn50", "connect c=50", ["-m", "connect", "-c", "50"], "rps"),
    ("bulk4", "bulk c=4", ["-m", "bulk", "-c", "4"], "mbps"),
]

live = []           # Popen objects of servers and benches still running
tmpdir = None


def cleanup():
    for p in live:
        stop_process(p, 0)
    live.clear()
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)


def on_signal(sig, frame):
    cleanup()
    sys.exit(128 + sig)


def stop_process(p, grace):
    """SIGTERM, up to grace seconds, then SIGKILL to its process group."""
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=grace)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
    try:
        os.killpg(p.pid, signal.SIGKILL)   # children of forking servers
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One row of the table: how to start it on an address."""

    def __init__(self, key, name, model, kind, python_peer=None):
        self.key, self.name, self.model, self.kind = key, name, model, kind
        self.python_peer = python_peer   # key of the matching Python row

    def label(self):
        return f"{self.name} {self.model}".strip()


def sockservd_conf(path, transport, address, model, workers, max_children):
    listen = f"127.0.0.1:{address}" if transport == "tcp" else address
    pool = f"workers = {workers}; " if workers else ""
    limits = "" if model == "sync" else f"max_children = {max_children}; "
    with open(path, "w") as f:
        f.write(
            'daemon: { log_level = "notice"; shutdown_timeout = 2.0; };\n'
            "servers = ( {\n"
            f'  name = "echo"; transport = "{transport}"; '
            f'listen = "{listen}";\n'
            f'  handler = "echo"; concurrency = "{model}"; {pool}{limits}\n'
            "  request_queue_size = 4096; request_timeout = 120.0;\n"
            "} );\n")


def servers():
    n = WORKERS
    rows = [
        Server("sockservd-sync", "sockservd", "sync", "sockservd", "py-tcp"),
        Server("sockservd-threading", "sockservd", "threading", "sockservd",
               "py-threading"),
        Server("sockservd-threading-pool", "sockservd",
               f"threading workers={n}", "sockservd", "py-threading"),
        Server("sockservd-forking", "sockservd", "forking", "sockservd",
               "py-forking"),
        Server("sockservd-forking-pool", "sockservd",
               f"forking workers={n}", "sockservd", "py-forking"),
        Server("py-tcp", "Python", "TCPServer", "python"),
        Server("py-threading", "Python", "ThreadingTCPServer", "python"),
        Server("py-forking", "Python", "ForkingTCPServer", "python"),
        Server("ref_threads", "C ref_threads", "", "ref"),
        Server("ref_epoll", "C ref_epoll", "", "ref"),
    ]
    return [r for r in rows if not ONLY or r.key in ONLY]


def start(args, srv, transport, max_children=MAX_CHILDREN):
    """Starts srv; returns (Popen, sockserv-bench target, probe address)."""
    if transport == "tcp":
        port = free_port()
        address, target = str(port), f"tcp:127.0.0.1:{port}"
        probe = (socket.AF_INET, ("127.0.0.1", port))
    else:
        address = os.path.join(tmpdir, "s.sock")
        if os.path.exists(address):
            os.unlink(address)
        target, probe = f"unix:{address}", (socket.AF_UNIX, address)
    log = open(os.path.join(tmpdir, "server.log"), "a")
    env = dict(os.environ)
    if srv.kind == "sockservd":
        conf = os.path.join(tmpdir, "sockserv.conf")
        model = srv.model.split()[0]
        workers = WORKERS if "workers" in srv.model else 0
        sockservd_conf(conf, transport, address, model, workers,
                       max_children)
        env["SOCKSERV_PLUGIN_DIR"] = os.path.join(args.builddir, "plugins",
                                                  ".libs")
        cmd = [os.path.join(args.builddir, "daemon", "sockservd"), "-F",
               "-f", conf]
    elif srv.kind == "python":
        kind = {"py-tcp": "tcp", "py-threading": "threading",
                "py-forking": "forking"}[srv.key]
        cmd = [sys.executable, os.path.join(args.srcdir, "bench",
                                            "py_echo.py"),
               kind, address, "--max-children", str(max_children)]
    else:
        cmd = [os.path.join(args.builddir, "bench", srv.key), address]
    p = subprocess.Popen(cmd, stdout=log, stderr=log, env=env,
                         start_new_session=True)
    live.append(p)
    wait_accepting(p, probe)
    return p, target


def wait_accepting(p, probe):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"server exited with {p.returncode}; see "
                               "server.log")
        with socket.socket(probe[0], socket.SOCK_STREAM) as s:
            try:
                s.connect(probe[1])
                return
            except OSError:
                time.sleep(0.05)
    raise RuntimeError("server not accepting after 15 s")


def stop(p):
    stop_process(p, 5)
    live.remove(p)


def parse_summary(text):
    for line in text.splitlines():
        if line.startswith("summary "):
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    return None


def parse_histogram(text):
    """[(from_ns, to_ns, count)] of the bucket lines of --histogram."""
    hist = []
    for line in text.splitlines():
        if line.startswith("bucket "):
            kv = dict(f.split("=", 1) for f in line.split()[1:])
            hist.append((int(kv["from_ns"]), int(kv["to_ns"]),
                         int(kv["count"])))
    return hist


def run_cell(args, srv, transport, wl, results_log):
    p, target = start(args, srv, transport)
    cmd = [args.bench, "-q", "--no-progress", "--histogram",
           "-d", str(SECONDS),
           "-w", str(WARMUP), "-T", str(SECONDS + WARMUP + 10)] + wl[2] + \
          [target]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=SECONDS + WARMUP + 60)
        summary = parse_summary(r.stdout)
        if summary is not None:
            summary["histogram"] = parse_histogram(r.stdout)
        results_log.write(f"# {srv.label()} {transport} {wl[1]}: exit "
                          f"{r.returncode}\n{r.stdout}{r.stderr}")
    except subprocess.TimeoutExpired:
        summary = None
    finally:
        stop(p)
    return summary


# --- memory -----------------------------------------------------------------

def process_tree(pid):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def tree_memory(pid):
    """(Rss kB, Pss kB, processes, threads) summed over pid and children."""
    rss = pss = threads = 0
    procs = process_tree(pid)
    for p in procs:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("Threads:"):
                        threads += int(line.split()[1])
        except OSError:
            pass
    return rss, pss, len(procs), threads


def measure_memory(args, srv):
    p, target = start(args, srv, "tcp", max_children=IDLE + 100)
    bench = None
    try:
        time.sleep(0.5)
        before = tree_memory(p.pid)
        # A pool answers only its workers' connections: the others are
        # given up on after 3 s. Other servers get a minute to answer all.
        wait = "3" if "workers" in srv.model else "60"
        bench = subprocess.Popen(
            [args.bench, "-m", "idle", "-q", "--no-progress", "-c",
             str(IDLE), "-d", "180", "-T", wait, target],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        live.append(bench)
        idle_line = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = bench.stdout.readline()
            if not line:
                break
            if line.startswith("idle "):
                idle_line = dict(kv.split("=", 1) for kv in
                                 line.split()[1:])
                break
        if idle_line is None:
            return None
        time.sleep(0.5)
        after = tree_memory(p.pid)
        return before, after, idle_line
    finally:
        if bench is not None:
            stop_process(bench, 10)
            live.remove(bench)
        stop(p)


# --- the document -----------------------------------------------------------

def fmt_num(v):
    v = float(v)
    if v >= 100:
        return f"{v:,.0f}".replace(",", "\u2009")
    return f"{v:.1f}"


def fmt_us(us):
    us = float(us)
    return f"{us / 1000:.1f} ms" if us >= 1000 else f"{us:.0f} µs"


def cell_text(s, wl):
    if s is None:
        return "failed"
    if wl[3] == "mbps":
        text = f"{fmt_num(s['mbps'])} MB/s · {fmt_us(s['p99_us'])}"
    else:
        text = f"{fmt_num(s['rps'])}/s · {fmt_us(s['p99_us'])}"
    notes = []
    if int(s["served"]) < int(s["c"]):
        notes.append(f"served {s['served']}/{s['c']}")
    errors = int(s["errors"]) + int(s["mismatches"])
    if errors:
        notes.append(f"{errors} errors")
    return text + (f" ({', '.join(notes)})" if notes else "")


def value(s, wl):
    return float(s[wl[3]]) if s else None


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return [
        f"- CPUs: {NCPU} (`nproc`), {model}",
        f"- kernel: Linux {platform.release()}",
        f"- Python: {platform.python_version()}",
        "- date: " + datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        f"- load average before / after the run: {args_load[0]} / "
        f"{args_load[1]}",
        f"- each cell: {SECONDS:g} s measured after {WARMUP:g} s of "
        f"warm-up; pools: workers = {WORKERS}; "
        f"max_children = {MAX_CHILDREN}, request_queue_size = 4096",
    ]


args_load = ["?", "?"]


def throughput_tables(rows, results):
    out = []
    for t in TRANSPORTS:
        out.append(f"### {t}\n")
        out.append("| server | model | " +
                   " | ".join(wl[1] for wl in WORKLOADS) + " |")
        out.append("|---|---|" + "---|" * len(WORKLOADS))
        for srv in rows:
            name = srv.name
            if srv.kind == "python" and t == "unix":
                name = "Python"
            model = srv.model
            if srv.kind == "python" and t == "unix":
                model = model.replace("TCPServer", "UnixStreamServer")
            cells = [cell_text(results.get((srv.key, t, wl[0])), wl)
                     for wl in WORKLOADS]
            out.append(f"| {name} | {model} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def ratio_table(rows, results, title, peer_of):
    out = [f"### {title}\n",
           "| sockservd model | against | " +
           " | ".join(f"{t} {wl[1]}" for t in TRANSPORTS
                      for wl in WORKLOADS) + " |",
           "|---|---|" + "---|" * (len(TRANSPORTS) * len(WORKLOADS))]
    by_key = {r.key: r for r in rows}
    any_row = False
    for srv in rows:
        if srv.kind != "sockservd":
            continue
        peer = by_key.get(peer_of(srv))
        if peer is None:
            continue
        any_row = True
        cells = []
        for t in TRANSPORTS:
            for wl in WORKLOADS:
                a = value(results.get((srv.key, t, wl[0])), wl)
                b = value(results.get((peer.key, t, wl[0])), wl)
                cells.append(f"{a / b:.2f}×" if a and b else "–")
        out.append(f"| {srv.model} | {peer.label()} | " +
                   " | ".join(cells) + " |")
    out.append("")
    return out if any_row else []


def memory_table(mem):
    out = ["| server | model | served | processes | threads | "
           "RSS +MiB | PSS +MiB | RSS per conn | PSS per conn |",
           "|---|---|---|---|---|---|---|---|---|"]
    for srv, m in mem:
        if m is None:
            out.append(f"| {srv.name} | {srv.model} | failed | | | | | | |")
            continue
        before, after, idle = m
        drss, dpss = after[0] - before[0], after[1] - before[1]
        # A server without a pool is charged for the connections it
        # served; a pool for all those held (it serves only a few).
        per = IDLE if "workers" in srv.model else \
            max(int(idle["answered"]), 1)
        out.append(
            f"| {srv.name} | {srv.model} | {idle['answered']}/"
            f"{idle['connections']} | {after[2]} | {after[3]} | "
            f"{drss / 1024:.1f} | {dpss / 1024:.1f} | "
            f"{drss / per:.1f} KiB | {dpss / per:.1f} KiB |")
    out.append("")
    return out


def document(rows, results, mem):
    out = ["## Machine", ""] + machine() + [""]
    out += ["## Throughput and p99 latency", "",
            "Each cell: requests per second (bulk: MB/s echoed back) · "
            "p99 latency. *served k/c*: only k of the c connections got "
            "any reply (a server that serves one connection at a time, or "
            "a pool smaller than c, leaves the other persistent "
            "connections waiting in the listen queue).", ""]
    out += ["![Throughput per server and workload, tcp and unix side by "
            "side](bench-throughput.svg)", ""]
    out += throughput_tables(rows, results)
    out += ["## Latency by percentile", "",
            "The latency of every server in each cell, from the histogram "
            "`sockserv-bench --histogram` prints: at each percentile, the "
            "latency that share of the requests stayed within (the p50, "
            "p99 and p99.9 of the tables are three points of these "
            "curves). Solid lines: "
            "sockservd and the C servers; dashed: Python; thin: pools; "
            "the colour is the concurrency model. Only requests that were "
            "answered count: connections a server left waiting are not "
            "in them (*served* in the tables).", ""]
    out += [f"![Latency by percentile, {t}](bench-latency-{t}.svg)\n"
            for t in TRANSPORTS]
    out += ["## Ratios", "",
            "req/s (bulk: MB/s) of sockservd divided by the other "
            "server's, in the same cell: above 1 is sockservd faster.", ""]
    py = {"sockservd-sync": "py-tcp", "sockservd-threading": "py-threading",
          "sockservd-threading-pool": "py-threading",
          "sockservd-forking": "py-forking",
          "sockservd-forking-pool": "py-forking"}
    out += ratio_table(rows, results, "sockservd / Python socketserver",
                       lambda s: py[s.key])
    out += ratio_table(rows, results, "sockservd / C ref_threads",
                       lambda s: "ref_threads")
    out += ratio_table(rows, results, "sockservd / C ref_epoll",
                       lambda s: "ref_epoll")
    out += ["## Memory per connection", "",
            f"{IDLE} idle tcp connections held open by `sockserv-bench -m "
            "idle` (each answered once when the server serves it); the "
            "server's process tree (the server and all its children) "
            "measured before and while they are held: the sum of `Rss` "
            "and of `Pss` from `/proc/PID/smaps_rollup`, the difference "
            "divided by the connections served (for pools: by all "
            f"{IDLE} held). PSS counts pages shared between processes "
            "once; RSS counts them in every process that maps them. "
            "max_children is raised above the connection count for this "
            "run. Pools serve only their workers' connections; the rest "
            "wait in the listen queue, and cost the server almost "
            "nothing (*served* says how many were answered). A server "
            "that had not answered every connection after a minute (a "
            "slow fork) is measured with those it had.", ""]
    out += memory_table(mem)
    return "\n".join(out)


def main():
    global tmpdir
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--outdir", required=True)
    args = ap.parse_args()
    why = plots.gnuplot_missing(GNUPLOT)
    if why:
        sys.exit(f"run-bench: gnuplot, which draws the plots, does not run "
                 f"({why}); on Debian: apt-get install gnuplot-nox")
    os.makedirs(os.path.join(args.outdir, "data"), exist_ok=True)
    output = os.path.join(args.outdir, "BENCHMARKS.md")
    args.bench = os.path.join(args.builddir, "bench", "sockserv-bench")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmpdir = tempfile.mkdtemp(prefix="sockserv-bench-")
    atexit.register(cleanup)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    rows = servers()
    args_load[0] = f"{os.getloadavg()[0]:.1f}"
    results = {}
    results_path = os.path.join(args.builddir, "bench", "last-run.txt")
    t0 = time.monotonic()
    with open(results_path, "w") as log:
        for srv in rows:
            for t in TRANSPORTS:
                for wl in WORKLOADS:
                    s = run_cell(args, srv, t, wl, log)
                    results[(srv.key, t, wl[0])] = s
                    print(f"  BENCH    {srv.label():40} {t:4} {wl[1]:14} "
                          + cell_text(s, wl), flush=True)
        mem = []
        for srv in rows:
            if srv.key in ("sockservd-sync", "py-tcp"):
                continue
            m = measure_memory(args, srv)
            mem.append((srv, m))
            if m:
                log.write(f"# memory {srv.label()}: before {m[0]} after "
                          f"{m[1]} idle {m[2]}\n")
                print(f"  MEMORY   {srv.label():40} "
                      f"PSS +{(m[1][1] - m[0][1]) / IDLE:.1f} KiB/conn, "
                      f"served {m[2]['answered']}/{IDLE}", flush=True)
            else:
                print(f"  MEMORY   {srv.label():40} failed", flush=True)
    args_load[1] = f"{os.getloadavg()[0]:.1f}"
    with open(os.path.join(args.srcdir, "bench", "BENCHMARKS.md.in")) as f:
        template = f.read()
    with open(output, "w") as f:
        f.write(template.replace("@TABLES@", document(rows, results, mem)))
    hists = {k: s["histogram"] for k, s in results.items() if s}
    plots.draw(GNUPLOT, rows, results, hists, WORKLOADS, TRANSPORTS,
               args.outdir, os.path.join(args.outdir, "data"))
    print(f"  BENCH    done in {time.monotonic() - t0:.0f} s: {output} and "
          f"its plots; every summary line in {results_path}")


if __name__ == "__main__":
    main()
