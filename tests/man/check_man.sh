#!/bin/sh
# Every man page renders with groff's warnings on and prints none.
set -u
srcdir=${SS_SRCDIR:-$(dirname "$0")/../..}
status=0
for page in sockservd.8 sockserv.conf.5 sockserv-plugin.3 sockserv-plugins.7 \
	sockserv-bench.1 sockservctl.8; do
	out=$(groff -ww -man -Tutf8 -z "$srcdir/man/$page" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL: man/$page:"
		echo "$out"
		status=1
	else
		echo "ok: man/$page"
	fi
done
exit $status
