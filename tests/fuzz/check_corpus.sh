#!/bin/sh
# Replays every saved fuzz input: the seed corpora and the regressions in
# tests/fuzz/corpus/<target>/ must all pass.
#
# tests/fuzz/crashes/<target>/ holds inputs that still crash, waiting for
# a fix in daemon/. They are reported, never fail the test: one that
# passes is either fixed (move it into corpus/<target>/) or needs the
# clang build of make fuzz to show.
set -u
srcdir=${SS_SRCDIR:-$(dirname "$0")/../..}
builddir=${SS_BUILDDIR:-.}
status=0
# A sanitizer build (SAN_CFLAGS) checks for leaks; libconfig's own are known.
LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$srcdir/tests/fuzz/lsan.supp:print_suppressions=0
export LSAN_OPTIONS
for t in conf addr readline proxy; do
	replay=$builddir/tests/fuzz/replay_$t
	if out=$("$replay" "$srcdir/tests/fuzz/corpus/$t" 2>&1); then
		echo "ok: corpus/$t: $(echo "$out" | tail -n 1)"
	else
		echo "FAIL: corpus/$t:"
		echo "$out" | tail -n 40
		status=1
	fi
	[ -d "$srcdir/tests/fuzz/crashes/$t" ] || continue
	for input in "$srcdir/tests/fuzz/crashes/$t"/*; do
		[ -f "$input" ] || continue
		if "$replay" "$input" >/dev/null 2>&1; then
			echo "passes: crashes/$t/${input##*/} (fixed: move" \
			    "it to corpus/$t/; or only clang's sanitizers see" \
			    "it: try make fuzz)"
		else
			echo "known: crashes/$t/${input##*/} still fails"
		fi
	done
done
exit $status
