#!/bin/sh
# The shipped units, as generated into the build tree, pass
# `systemd-analyze verify` (unknown keys and bad values count, with
# --recursive-errors=no) with ExecStart= pointing at the built daemon, keep
# the settings SPEC §6 promises, and score below 5.0 ("OK") on
# `systemd-analyze security --offline=yes`.
set -u
: "${SS_SOCKSERVD:?run the tests with make check}"
: "${SS_SRCDIR:?run the tests with make check}"
builddir=${SS_BUILDDIR:-$(dirname "$SS_SOCKSERVD")/..}
# shellcheck source=tests/lib.sh
. "$SS_SRCDIR/tests/lib.sh"

command -v systemd-analyze >/dev/null 2>&1 ||
	die "systemd-analyze is not installed; this test needs it"

service_in=$builddir/conf/sockservd.service
[ -f "$service_in" ] || die "$service_in not generated (run make first)"

test_tmpdir units

# The installed path of sockservd does not exist here; verify checks it.
sed -e "s|^\(ExecStart[A-Za-z]*=[-+!@:]*\)[^ ]*/sockservd|\1$SS_SOCKSERVD|" \
	"$service_in" > "$tmp/sockservd.service"
cp "$SS_SRCDIR/conf/sockservd.socket" "$tmp/sockservd.socket"
# systemd warns about world-writable units: the copies get a mode of
# their own, whatever the checkout's modes and the umask.
chmod 644 "$tmp/sockservd.service" "$tmp/sockservd.socket"

for key in ExecStartPre ExecStart; do
	grep -q "^$key=$SS_SOCKSERVD " "$tmp/sockservd.service" ||
		fail "$key= was not rewritten to $SS_SOCKSERVD: $(grep "^$key=" "$tmp/sockservd.service")"
done

out=$(cd "$tmp" && systemd-analyze verify --man=no --recursive-errors=no \
	sockservd.service sockservd.socket 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
	fail "systemd-analyze verify exited $rc:"
	echo "$out"
elif printf '%s\n' "$out" | grep -qiE 'error|unknown|fail|ignoring|warn'; then
	fail "systemd-analyze verify complains:"
	echo "$out"
else
	echo "ok: systemd-analyze verify sockservd.service sockservd.socket"
fi

# The settings SPEC §6 names, each on a line of its own in [Service].
service_section=$(sed -n '/^\[Service\]/,/^\[/p' "$tmp/sockservd.service")
for want in 'Type=notify' 'ExecReload=.+' 'NoNewPrivileges=yes' \
	'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
	'RestrictAddressFamilies=.+'; do
	if printf '%s\n' "$service_section" | grep -qxE "$want"; then
		echo "ok: [Service] $want"
	else
		fail "sockservd.service: no line $want in [Service]"
	fi
done
# shellcheck disable=SC2016 # $MAINPID is meant literally
printf '%s\n' "$service_section" | grep -q '^ExecReload=.*-HUP.*\$MAINPID' ||
	fail "ExecReload= does not send SIGHUP to \$MAINPID"
grep -qx 'FileDescriptorName=echo' "$tmp/sockservd.socket" ||
	fail "sockservd.socket: no FileDescriptorName=echo"
grep -qx 'Service=sockservd.service' "$tmp/sockservd.socket" ||
	fail "sockservd.socket: no Service=sockservd.service"

out=$(cd "$tmp" && systemd-analyze security --offline=yes sockservd.service 2>&1)
rc=$?
level=$(printf '%s\n' "$out" |
	sed -n 's/.*Overall exposure level for sockservd\.service: \([0-9][0-9.]*\).*/\1/p')
if [ -z "$level" ]; then
	fail "systemd-analyze security (exit $rc) printed no overall exposure level:"
	echo "$out"
elif awk -v l="$level" 'BEGIN { exit !(l < 5.0) }'; then
	echo "ok: exposure level $level < 5.0"
else
	fail "exposure level $level, expected below 5.0:"
	printf '%s\n' "$out" | grep '✗'
fi
exit $status
