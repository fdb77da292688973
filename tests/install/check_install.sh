#!/bin/sh
# `make install DESTDIR=...` of the build tree installs what SPEC §1 lists,
# and the installed tree is enough to write a plugin: an out-of-tree
# reverse.c builds with only `cc -shared -fPIC $(pkg-config --cflags
# sockserv)` against it, and the installed sockservd serves with it (and
# with its own installed plugins), then stops cleanly on SIGTERM.
set -u
: "${SS_SOCKSERVD:?run the tests with make check}"
builddir=${SS_BUILDDIR:-$(dirname "$SS_SOCKSERVD")/..}
# shellcheck source=tests/lib.sh
. "${SS_SRCDIR:?run the tests with make check}/tests/lib.sh"
# The daemon refuses plugins in directories group or others can write;
# what this test installs must not depend on the umask it was run with.
umask 022

for tool in "${CC:-cc}" pkg-config python3; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool is not installed; this test needs it"
done

test_tmpdir install
root=$tmp/root

# The make running this test must not hand its flags (TESTS=..., -j and
# its jobserver) to this one.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -C "$builddir" \
	install DESTDIR="$root" >"$tmp/install.log" 2>&1; then
	tail -n 40 "$tmp/install.log"
	die "make -C $builddir install DESTDIR=$root failed"
fi
echo "ok: make install DESTDIR=..."

# Where each file lands depends on --prefix and friends: found by the end
# of its path.
installed() {
	find "$root" -path "*/$1" \( -type f -o -type l \) | head -n 1
}
for rel in sbin/sockservd sbin/sockservctl bin/sockserv-bench lib/sockserv/plugins/echo.so \
	lib/sockserv/plugins/upper.so lib/sockserv/plugins/timestamp.so \
	lib/sockserv/plugins/upload.so lib/sockserv/plugins/discard.so \
	lib/sockserv/plugins/chargen.so lib/sockserv/plugins/daytime.so \
	lib/sockserv/plugins/time.so lib/sockserv/plugins/metrics.so \
	share/man/man7/sockserv-plugins.7 \
	include/sockserv/plugin.h lib/pkgconfig/sockserv.pc \
	share/man/man8/sockservd.8 share/man/man8/sockservctl.8 \
	share/man/man5/sockserv.conf.5 \
	share/man/man3/sockserv-plugin.3 share/man/man1/sockserv-bench.1 \
	etc/sockserv/sockserv.conf \
	lib/systemd/system/sockservd.service \
	lib/systemd/system/sockservd.socket; do
	if [ -n "$(installed "$rel")" ]; then
		echo "ok: installed .../$rel"
	else
		fail "not installed: .../$rel"
	fi
done
[ -z "$(find "$root" -name '*.la')" ] ||
	fail "libtool archives installed: $(find "$root" -name '*.la')"
[ $status -eq 0 ] || exit 1

pc=$(installed lib/pkgconfig/sockserv.pc)
sockservd=$(installed sbin/sockservd)
plugindir=$(dirname "$(installed lib/sockserv/plugins/echo.so)")
example=$(installed etc/sockserv/sockserv.conf)

PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$root
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
cflags=$(pkg-config --cflags sockserv) || die "pkg-config --cflags sockserv failed"
case " $cflags " in
*" -I$root/"*) echo "ok: pkg-config --cflags sockserv: $cflags" ;;
*) die "pkg-config --cflags sockserv gives '$cflags', no -I into $root" ;;
esac

cat > "$tmp/reverse.c" <<'PLUGIN'
/* reverse.c - sends each line back reversed (its newline kept last). */
#include <sockserv/plugin.h>

static int
reverse_handle(ss_request *req)
{
	char line[4096], c;
	size_t len, i;
	ssize_t n;

	while ((n = ss_readline(req, line, sizeof(line))) > 0) {
		len = (size_t)n;
		if (line[len - 1] == '\n')
			len--;
		for (i = 0; i < len / 2; i++) {
			c = line[i];
			line[i] = line[len - 1 - i];
			line[len - 1 - i] = c;
		}
		if (ss_write(req, line, (size_t)n) < 0)
			return -1;
	}
	return n < 0 ? -1 : 0;
}

const struct ss_handler ss_handler = {
	.abi = SS_PLUGIN_ABI,
	.size = sizeof(struct ss_handler),
	.name = "reverse",
	.version = "1.0",
	.handle = reverse_handle,
};
PLUGIN
# shellcheck disable=SC2086 # the flags are words
(cd "$tmp" && ${CC:-cc} -shared -fPIC $cflags -o reverse.so reverse.c) ||
	die "cc -shared -fPIC $cflags -o reverse.so reverse.c failed"
echo "ok: built reverse.so out of tree"

# The installed plugins and the example config pass -t with the installed
# daemon.
unset SOCKSERV_PLUGIN_DIR
if out=$(SOCKSERV_PLUGIN_DIR=$plugindir "$sockservd" -t -f "$example" 2>&1); then
	echo "ok: installed sockservd -t on the installed example config"
else
	fail "installed sockservd -t -f $example failed:"
	echo "$out"
fi

port_pair=$(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
') || die "cannot pick free ports"
# shellcheck disable=SC2086 # two words, one per port
set -- $port_pair
rport=$1
eport=$2
cat > "$tmp/reverse.conf" <<CONF
daemon: { log_level = "info"; plugin_dir = "$plugindir"; };
servers = (
  { name = "reverse"; transport = "tcp"; listen = "127.0.0.1:$rport";
    handler = "$tmp/reverse.so"; },
  { name = "echo"; transport = "tcp"; listen = "127.0.0.1:$eport";
    handler = "echo"; }
);
CONF

"$sockservd" -F -f "$tmp/reverse.conf" >"$tmp/sockservd.log" 2>&1 &
daemon_pid=$!

# Sends $2 to port $1 and prints the reply, up to end of input; waits
# (10 s at most) for the port to accept.
client() {
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
port, request = int(sys.argv[1]), sys.argv[2].encode().decode("unicode_escape")
deadline = time.monotonic() + 10
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        break
    except OSError as e:
        if time.monotonic() > deadline:
            sys.exit("connect 127.0.0.1:%d: %s" % (port, e))
        time.sleep(0.05)
s.sendall(request.encode())
s.shutdown(socket.SHUT_WR)
reply = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    reply += chunk
sys.stdout.write(repr(reply.decode()))
PY
}

reply=$(client "$rport" 'hello\nab\n')
if [ "$reply" = "'olleh\\nba\\n'" ]; then
	printf 'ok: reverse.so through the installed sockservd: %s\n' "$reply"
else
	fail "reverse server: sent 'hello\\nab\\n', expected 'olleh\\nba\\n'," \
		"got $reply"
fi
reply=$(client "$eport" 'hello\n')
if [ "$reply" = "'hello\\n'" ]; then
	printf 'ok: the installed echo.so: %s\n' "$reply"
else
	fail "echo server: sent 'hello\\n', expected 'hello\\n', got $reply"
fi

kill -TERM "$daemon_pid"
wait "$daemon_pid"
rc=$?
daemon_pid=
if [ $rc -eq 0 ]; then
	echo "ok: SIGTERM, exit 0"
else
	fail "installed sockservd exited with $rc on SIGTERM"
fi
if [ $status -ne 0 ]; then
	echo "--- sockservd log"
	cat "$tmp/sockservd.log"
fi
exit $status
