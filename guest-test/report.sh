#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# report.sh KSRC OUT_DIR LABEL: judge one guest run.
#
# Each ODP-BEGIN/ODP-END section of OUT_DIR/results.txt is TAP (KUnit's
# debugfs KTAP or kselftest_harness output) and is counted by the kernel's
# own parser, tools/testing/kunit/kunit.py parse. A section cut short, a
# program that exits non-zero without a failed test, or an empty suite
# counts as a failure. Any splat in OUT_DIR/console.log fails the run.
# Prints every TAP result line, one line per suite, and last a line
# "TALLY <passed> <failed> <skipped>" for check.sh to sum.
set -uo pipefail

ksrc=$1 out=$2 label=$3
res=$out/results.txt
kunit_py=$ksrc/tools/testing/kunit/kunit.py
tp=0 tf=0 ts=0

count() {	# count WORD TEXT: the number after "WORD: " in TEXT
	echo "$2" | sed -n "s/.*[ ,]$1: \([0-9]*\).*/\1/p" | tail -n 1
}

for suite in $(sed -n 's/^ODP-BEGIN //p' "$res"); do
	body=$(awk -v s="$suite" '$0 == "ODP-BEGIN " s {p = 1; next}
				 p && /^ODP-END / {exit} p' "$res")
	end=$(grep -m1 "^ODP-END $suite " "$res")
	rc=$(echo "$end" | sed -n 's/.* rc=\([0-9]*\).*/\1/p')
	secs=$(echo "$end" | sed -n 's/.* time=\([0-9.]*\).*/ in \1 s/p')
	# Test lines: nested ones for KUnit (the unindented one is the suite).
	case $suite in
	kunit:*) echo "$body" | grep -E '^    (not )?ok [0-9]+ ' | sed 's/^    //' ;;
	*) echo "$body" | grep -E '^(not )?ok [0-9]+ ' ;;
	esac
	summary=$(echo "$body" | python3 "$kunit_py" parse 2>&1 | grep 'Testing complete')
	p=$(count passed "$summary") f=$(count failed "$summary")
	s=$(count skipped "$summary") e=$(count errors "$summary")
	c=$(count crashed "$summary")
	p=${p:-0} f=$(( ${f:-0} + ${e:-0} + ${c:-0} )) s=${s:-0}
	note=""
	if [ -z "$end" ]; then
		f=$((f + 1)) note=" (cut short: no end marker)"
	elif [ "$rc" != 0 ] && [ $f = 0 ]; then
		f=$((f + 1)) note=" (exit status $rc)"
	elif [ $((p + f + s)) = 0 ]; then
		f=1 note=" (no test ran)"
	fi
	echo "# $label $suite: $p passed, $f failed, $s skipped$secs$note"
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done

# Kernel splats fail the run even when every test passed.
splat_re='BUG:|WARNING:|Oops|general protection fault|kernel BUG at|Kernel panic|UBSAN:|KASAN:|new suspected memory leak|unreferenced object|rcu: INFO|detected stall|RCU stall|blocked for more than|soft lockup|hard LOCKUP|inconsistent lock state|possible recursive locking|circular locking|Call Trace:'
if grep -qE "$splat_re" "$out/console.log"; then
	echo "# $label: the guest kernel log has splats:"
	grep -nE -A 25 "$splat_re" "$out/console.log" | head -n 150 | sed 's/^/#   /'
	echo "not ok - $label kernel log is clean"
	tf=$((tf + 1))
fi
grep -q '^ODP-DONE' "$res" || { echo "not ok - $label guest ran to the end"; tf=$((tf + 1)); }
echo "TALLY $tp $tf $ts"
