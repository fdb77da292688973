#!/bin/sh
# sockserv-bench against the built sockservd with the echo and upper
# plugins: every mode on every transport runs clean for about a second
# (exit 0, a summary line, requests > 0, no error, mismatch or loss);
# bulk reports MB/s; --histogram prints, after the summary, buckets in
# increasing order that add up to the requests and hold p50 and the max
# (and nothing without it); -e upper against echo counts mismatches and
# exits 1;
# a target off loopback is refused with exit 2 before anything is sent.
# No speed is asserted. SS_TEST_LEAVE=1 keeps the temporary directory.
set -u
: "${SS_SOCKSERVD:?run the tests with make check}"
: "${SS_PLUGIN_DIR:?run the tests with make check}"
builddir=${SS_BUILDDIR:-$(dirname "$SS_SOCKSERVD")/..}
bench=$builddir/bench/sockserv-bench
# shellcheck source=tests/lib.sh
. "${SS_SRCDIR:?run the tests with make check}/tests/lib.sh"
checks=0

ok() {
	printf 'ok: %s\n' "$*"
}

[ -x "$bench" ] || die "$bench is not built"
command -v python3 >/dev/null 2>&1 || die "python3 is not installed; this test needs it"

test_tmpdir bench

# Two ports free for both TCP and UDP on 127.0.0.1, found by binding 0.
ports=$(python3 -c '
import socket
found = []
while len(found) < 2:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); found.append(p)
    except OSError:
        pass
    t.close(); u.close()
print(*found)') || die "cannot find free ports"
set -- $ports
echo_port=$1
upper_port=$2

cat >"$tmp/bench.conf" <<CONF
daemon: { log_level = "notice"; shutdown_timeout = 2.0; };
servers = (
  { name = "echo"; transport = "tcp"; listen = "127.0.0.1:$echo_port";
    handler = "echo"; concurrency = "threading"; },
  { name = "upper"; transport = "tcp"; listen = "127.0.0.1:$upper_port";
    handler = "upper"; concurrency = "threading"; },
  { name = "echo-unix"; transport = "unix"; listen = "$tmp/echo.sock";
    handler = "echo"; concurrency = "threading"; },
  { name = "echo-udp"; transport = "udp"; listen = "127.0.0.1:$echo_port";
    handler = "echo"; concurrency = "sync"; },
  { name = "echo-dgram"; transport = "unix-dgram";
    listen = "$tmp/echo-dgram.sock"; handler = "echo";
    concurrency = "sync"; }
);
CONF
SOCKSERV_PLUGIN_DIR=$SS_PLUGIN_DIR "$SS_SOCKSERVD" -F -f "$tmp/bench.conf" \
	>"$tmp/daemon.log" 2>&1 &
daemon_pid=$!

# One answered request on every target; 10 s at most in all.
deadline=$(($(date +%s) + 10))
for target in "tcp:127.0.0.1:$echo_port" "tcp:127.0.0.1:$upper_port" \
	"unix:$tmp/echo.sock" "udp:127.0.0.1:$echo_port" \
	"unix-dgram:$tmp/echo-dgram.sock"; do
	until "$bench" -q --no-progress -e any -c 1 -n 1 -d 1 -T 0.2 \
		"$target" >/dev/null 2>&1; do
		kill -0 "$daemon_pid" 2>/dev/null ||
			die "sockservd exited: $(tail -n 20 "$tmp/daemon.log")"
		[ "$(date +%s)" -lt "$deadline" ] ||
			die "$target not answering: $(tail -n 20 "$tmp/daemon.log")"
		sleep 0.1
	done
done
ok "sockservd answers on tcp, unix, udp and unix-dgram"

# run NAME STATUS ARGS...: runs sockserv-bench ARGS, fails unless it
# exits with STATUS; its output is in $out, its summary line in $summary.
run() {
	name=$1
	want=$2
	shift 2
	checks=$((checks + 1))
	out=$(timeout 20 "$bench" --no-progress "$@" 2>&1)
	rc=$?
	summary=$(printf '%s\n' "$out" | grep '^summary ' | tail -n 1)
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit status $rc, expected $want:"
		printf '%s\n' "$out" | tail -n 12
		return 1
	fi
	return 0
}

# The value of KEY in $summary; empty when there is none.
field() {
	printf '%s\n' "$summary" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# is NAME EXPR: EXPR (awk, over the summary's numbers) must hold.
is() {
	if [ -z "$summary" ]; then
		fail "$1: no summary line in: $out"
		return 1
	fi
	if ! awk -v s="$summary" "BEGIN {
		n = split(s, kv, \" \")
		for (i = 2; i <= n; i++) {
			split(kv[i], p, \"=\"); v[p[1]] = p[2]
		}
		exit !($2)
	}"; then
		fail "$1: expected $2 in: $summary"
		return 1
	fi
	return 0
}

# clean NAME ARGS...: a run that must go without a fault.
clean() {
	name=$1
	shift
	run "$name" 0 "$@" || return
	is "$name" 'v["requests"] > 0 && v["errors"] == 0 &&
	    v["mismatches"] == 0 && v["lost"] == 0 && v["seconds"] > 0' ||
		return
	ok "$name: $(field requests) requests, $(field rps)/s," \
	    "p99 $(field p99_us) us, $(field mbps) MB/s"
}

tcp=tcp:127.0.0.1:$echo_port
unix=unix:$tmp/echo.sock
clean "pingpong tcp" -q -d 1 -c 4 "$tcp"
clean "pingpong tcp, 2 threads, warm-up" -q -d 0.5 -w 0.3 -c 4 -t 2 "$tcp"
clean "pingpong unix" -q -d 1 -c 4 "$unix"
clean "connect tcp" -q -m connect -d 1 -c 4 "$tcp"
clean "connect unix" -q -m connect -d 1 -c 4 "$unix"
clean "bulk tcp" -q -m bulk -d 1 -c 2 "$tcp" && is "bulk tcp" 'v["mbps"] > 0'
clean "bulk unix" -q -m bulk -d 1 -c 2 -s 1000 "$unix" &&
	is "bulk unix" 'v["mbps"] > 0'
clean "dgram udp" -q -d 1 -c 2 "udp:127.0.0.1:$echo_port"
clean "dgram unix-dgram" -q -d 1 -c 2 "unix-dgram:$tmp/echo-dgram.sock"
clean "upper tcp, -e upper" -q -d 1 -c 4 -e upper "tcp:127.0.0.1:$upper_port"
clean "upper tcp, -e any" -q -d 0.5 -c 4 -e any "tcp:127.0.0.1:$upper_port"
clean "-n 500 stops early" -q -n 500 -d 10 -c 4 "$tcp" &&
	is "-n 500 stops early" 'v["requests"] <= 500 && v["seconds"] < 10'

# --histogram: the header, then its buckets, ascending and disjoint; they
# add up to the requests, and the one where half the values are reached
# holds p50, the last the max.
if clean "pingpong tcp --histogram" -q --histogram -d 0.5 -c 4 "$tcp"; then
	if printf '%s\n' "$out" | awk -v s="$summary" '
		BEGIN {
			n = split(s, kv, " ")
			for (i = 2; i <= n; i++) {
				split(kv[i], p, "="); v[p[1]] = p[2]
			}
		}
		function val(f) { sub(/^[a-z_]+=/, "", f); return f + 0 }
		/^summary / { seen_summary = 1; next }
		/^histogram / {
			if (!seen_summary || header) bad = bad " header-place"
			header = 1; want = val($2); total = val($3); next
		}
		/^bucket / {
			if (!header) bad = bad " bucket-before-header"
			from = val($2); to = val($3); c = val($4)
			if (from >= to || c <= 0 || from < last_to)
				bad = bad " bucket:" $0
			if (sum < total / 2 && sum + c >= total / 2 &&
			    !(v["p50_us"] * 1000 >= from - 100 &&
			      v["p50_us"] * 1000 <= to + 100))
				bad = bad " p50-not-in:" $0
			last_from = from; last_to = to; sum += c; got++
			next
		}
		{ bad = bad " stray:" $0 }
		END {
			if (!header) bad = bad " no-header"
			if (got != want || got == 0) bad = bad " buckets:" got "/" want
			if (sum != total || total != v["requests"])
				bad = bad " sum:" sum "/" total "/" v["requests"]
			if (!(v["max_us"] * 1000 >= last_from - 100 &&
			    v["max_us"] * 1000 <= last_to + 100))
				bad = bad " max-not-in-last"
			if (bad != "") { print "bad:" bad; exit 1 }
		}'; then
		ok "--histogram: $(printf '%s\n' "$out" | grep -c '^bucket ')" \
		    "buckets adding up to $(field requests) requests"
	else
		fail "--histogram: buckets do not match the summary:" \
		    "$(printf '%s\n' "$out" | head -n 8)"
	fi
fi
if clean "pingpong tcp, no --histogram" -q -d 0.3 -c 2 "$tcp"; then
	case $out in
	*histogram* | *bucket*) fail "a histogram without --histogram: $out" ;;
	*) ok "no histogram without --histogram" ;;
	esac
fi

# idle: the line announcing the held connections comes before the summary.
if clean "idle tcp" -m idle -d 1 -c 20 "$tcp"; then
	case $out in
	*"idle connections=20 answered=20 errors=0"*) ok "idle announces 20 answered" ;;
	*) fail "idle: no 'idle connections=20 answered=20' line in: $out" ;;
	esac
fi

# Wrong replies are counted and fail the run.
if run "-e upper against echo" 1 -q -d 0.5 -c 2 -e upper "$tcp"; then
	is "-e upper against echo" 'v["mismatches"] > 0 &&
	    v["requests"] == 0' && ok "-e upper against echo: exit 1," \
	    "$(field mismatches) mismatches"
fi

# Off loopback: refused before a socket is opened, so no summary at all.
for target in tcp:8.8.8.8:7 udp:10.1.2.3:7 tcp:[2001:db8::1]:7 \
	tcp:example.com:7; do
	if run "refuse $target" 2 -d 1 "$target"; then
		case $out in
		*summary*) fail "refuse $target: it ran: $out" ;;
		*"loopback only"*) ok "refuse $target: exit 2, loopback only" ;;
		*) fail "refuse $target: no 'loopback only' in: $out" ;;
		esac
	fi
done

kill -TERM "$daemon_pid"
wait "$daemon_pid"
rc=$?
daemon_pid=
[ "$rc" -eq 0 ] || fail "sockservd exited with $rc on SIGTERM"
# The wind-down at the end of each run leaves the servers a clean end of
# input: no request should have failed.
if grep -q 'failed' "$tmp/daemon.log"; then
	fail "sockservd logged failed requests:"
	grep 'failed' "$tmp/daemon.log" | head -n 5
fi
[ "$checks" -eq 20 ] || fail "only $checks checks ran"
exit $status
