# shellcheck shell=sh
# lib.sh - what the shell tests share; they source it after `set -u`.
#
# fail records a failure and goes on (the test exits with $status), die
# fails and exits. test_tmpdir NAME makes the temporary directory $tmp,
# removed when the test exits, however it exits, after the daemon of
# $daemon_pid (when set) is killed; SS_TEST_LEAVE=1 keeps it and says
# where, for whoever debugs a failure.
# shellcheck disable=SC2034 # the test exits with it
status=0
daemon_pid=

fail() {
	printf 'FAIL: %s\n' "$*"
	status=1
}

die() {
	fail "$*"
	exit 1
}

# shellcheck disable=SC2317 # called by the trap
test_cleanup() {
	if [ -n "$daemon_pid" ]; then
		kill -KILL "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	if [ "${SS_TEST_LEAVE:-0}" = 1 ]; then
		echo "SS_TEST_LEAVE=1, kept $tmp"
	else
		rm -rf "$tmp"
	fi
}

test_tmpdir() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/sockserv-$1-XXXXXX") || exit 1
	trap test_cleanup EXIT
	trap 'exit 1' HUP INT TERM
}
