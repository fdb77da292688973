#!/bin/sh
# A reconfigured tree installs a daemon that works where it is installed
# (SPEC §8: configure-time paths are rebuilt on reconfigure). A private
# copy of the source is configured with --prefix=P1 and sockservd built,
# then configured again with --prefix=P2 and installed with `make install`.
# The installed sockservd must look in P2, not in P1: -h names P2's
# config file, -t without -f reads it, and a handler given as a bare
# plugin name is found in P2's plugin directory.
set -u
: "${SS_SOCKSERVD:?run the tests with make check}"
builddir=${SS_BUILDDIR:-$(dirname "$SS_SOCKSERVD")/..}
# shellcheck source=tests/lib.sh
. "${SS_SRCDIR:?run the tests with make check}/tests/lib.sh"
# The daemon refuses plugins in directories group or others can write;
# what this test installs must not depend on the umask it was run with.
umask 022

test_tmpdir reconf
src=$tmp/src
p1=$tmp/p1
p2=$tmp/p2

# Runs "$@" with its output in $tmp/step.log; dies showing its end when
# it fails. The make running this test must not hand its flags (TESTS=...,
# -j and its jobserver) to the makes run here.
step() {
	what=$1
	shift
	if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$@" >"$tmp/step.log" 2>&1
	then
		tail -n 40 "$tmp/step.log"
		die "$what failed"
	fi
	echo "ok: $what"
}

# A copy of the source as a tarball would hold it: the source tree may be
# configured in place (no second build can then be configured from it) or
# read-only (under make distcheck).
step "make distdir" "${MAKE:-make}" -C "$builddir" distdir distdir="$src"
# A cache makes the second configure quick; --prefix is never cached.
step "configure --prefix=$p1" sh -c 'cd "$1" && ./configure -C --prefix="$2"' \
	configure "$src" "$p1"
step "make daemon/sockservd" "${MAKE:-make}" -C "$src" daemon/sockservd

# The test means something only if the first build has P1's paths.
out=$("$src/daemon/sockservd" -h 2>&1)
case $out in
*"$p1/etc/sockserv/sockserv.conf"*)
	echo "ok: built for --prefix=$p1, -h names $p1/etc/sockserv/sockserv.conf" ;;
*) die "sockservd built for --prefix=$p1: -h does not name its config file:
$out" ;;
esac

step "configure --prefix=$p2 (again, in the built tree)" \
	sh -c 'cd "$1" && ./configure -C --prefix="$2"' configure "$src" "$p2"
step "make install" "${MAKE:-make}" -C "$src" install

sockservd=$p2/sbin/sockservd
[ -x "$sockservd" ] || die "make install did not install $sockservd"
out=$("$sockservd" -h 2>&1)
case $out in
*"$p1"*) fail "installed sockservd -h still names --prefix=$p1:
$out" ;;
*"$p2/etc/sockserv/sockserv.conf"*)
	echo "ok: installed sockservd -h names $p2/etc/sockserv/sockserv.conf" ;;
*) fail "installed sockservd -h does not name $p2/etc/sockserv/sockserv.conf:
$out" ;;
esac

# Only the compiled-in plugin directory may be used.
unset SOCKSERV_PLUGIN_DIR
cat > "$tmp/bare.conf" <<CONF
servers = (
  { name = "echo"; transport = "unix"; listen = "$tmp/echo.sock";
    handler = "echo"; }
);
CONF
if out=$("$sockservd" -t -f "$tmp/bare.conf" 2>&1); then
	echo "ok: installed sockservd -t finds handler \"echo\" in" \
		"$p2/lib/sockserv/plugins"
else
	fail "installed sockservd -t, handler \"echo\", does not find" \
		"$p2/lib/sockserv/plugins/echo.so:"
	echo "$out"
fi

# Without -f: the installed example config, and its plugins, from P2.
if out=$("$sockservd" -t 2>&1) &&
	case $out in *"$p2/etc/sockserv/sockserv.conf"*) true ;; *) false ;; esac
then
	echo "ok: installed sockservd -t checks $p2/etc/sockserv/sockserv.conf"
else
	fail "installed sockservd -t does not check" \
		"$p2/etc/sockserv/sockserv.conf and its plugins:"
	echo "$out"
fi
exit $status
