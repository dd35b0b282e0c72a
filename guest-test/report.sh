#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# report.sh KSRC OUT_DIR LABEL [FLAVOR]: judge one guest run.
#
# Each ODP-BEGIN/ODP-END section of OUT_DIR/results.txt is TAP (KUnit's
# debugfs KTAP or kselftest_harness output) and is counted by the kernel's
# own parser, tools/testing/kunit/kunit.py parse. A section cut short, a
# program that exits non-zero without a failed test, or an empty suite
# counts as a failure. Any splat in OUT_DIR/console.log fails the run, and
# so does a DMAR fault (the IOMMU refused a device DMA) that no test
# announced, or an error or a leftover mapping of DMA API debugging.
# A skipped test is a failure unless guest-test/allowed-skips lists it for
# FLAVOR (check-6.12, check-sid, stock-6.1, kasan-6.12, ...): the check
# kernels have every feature the tests need.
# Prints every TAP result line, one line per suite, a line "SKIP <text>"
# per skip for check.sh's summary, and last a line
# "TALLY <passed> <failed> <skipped>" for check.sh to sum.
set -uo pipefail

ksrc=$1 out=$2 label=$3 flavor=${4:-none}
res=$out/results.txt
kunit_py=$ksrc/tools/testing/kunit/kunit.py
allowed_skips=$(dirname "$0")/allowed-skips
tp=0 tf=0 ts=0

allowed() {	# allowed TEST: the reason FLAVOR may skip TEST, if listed
	local f t why
	while read -r f t why; do
		case $f in ""|"#"*) continue ;; esac
		# shellcheck disable=SC2254
		case $flavor in $f) ;; *) continue ;; esac
		# shellcheck disable=SC2254
		case $1 in $t) echo "$why"; return 0 ;; esac
	done <"$allowed_skips"
	return 1
}

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
	kunit:*) lines=$(echo "$body" | grep -E '^    (not )?ok [0-9]+ ' | sed 's/^    //') ;;
	*) lines=$(echo "$body" | grep -E '^(not )?ok [0-9]+ ') ;;
	esac
	[ -n "$lines" ] && echo "$lines"
	summary=$(echo "$body" | python3 "$kunit_py" parse 2>&1 | grep 'Testing complete')
	p=$(count passed "$summary") f=$(count failed "$summary")
	s=$(count skipped "$summary") e=$(count errors "$summary")
	c=$(count crashed "$summary")
	p=${p:-0} f=$(( ${f:-0} + ${e:-0} + ${c:-0} )) s=${s:-0}
	note=""
	# Skips: allowed ones stay skips, the others are failures.
	while IFS=$'\t' read -r name why; do
		[ -n "$name" ] || continue
		key=${suite#*:}/$name
		if ok=$(allowed "$key"); then
			echo "SKIP $label $key: $why (allowed: $ok)"
		else
			echo "not ok - $label $key skipped: $why"
			echo "SKIP $label $key: $why (NOT ALLOWED on $flavor: a failure)"
			f=$((f + 1)) s=$((s > 0 ? s - 1 : 0))
		fi
	done < <(echo "$lines" | sed -nE 's/^ok [0-9]+ (.*) # [Ss][Kk][Ii][Pp] ?(.*)$/\1\t\2/p')
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

# hmm-tests against test_hmm and odp_dmirror, side by side: each selected
# test ran against each module, and odp_dmirror passes what test_hmm passes
if ! "$(dirname "$0")/hmm-compare.sh" "$res" "$label" "$flavor" "$out/modules/hmm/tests"; then
	echo "not ok - $label hmm-tests: odp_dmirror passes every selected test test_hmm passes"
	tf=$((tf + 1))
fi

# Kernel splats fail the run even when every test passed.
splat_re='BUG:|WARNING:|Oops|general protection fault|kernel BUG at|Kernel panic|UBSAN:|KASAN:|new suspected memory leak|unreferenced object|rcu: INFO|detected stall|RCU stall|blocked for more than|soft lockup|hard LOCKUP|inconsistent lock state|possible recursive locking|circular locking|Call Trace:'
if grep -qE "$splat_re" "$out/console.log"; then
	echo "# $label: the guest kernel log has splats:"
	grep -nE -A 25 "$splat_re" "$out/console.log" | head -n 150 | sed 's/^/#   /'
	echo "not ok - $label kernel log is clean"
	tf=$((tf + 1))
fi
# DMAR faults: the edu tests provoke some on purpose and announce the
# address of each ("# ODP-DMAR-EXPECTED 0x..."); any other is a device DMA
# to an address the mirror had unmapped, or never mapped.
seen=$(sed -n 's/.*DMAR: \[DMA [A-Za-z]*.* fault addr \(0x[0-9a-f]*\) .*/\1/p' "$out/console.log" | sort)
expected=$(sed -n 's/^# ODP-DMAR-EXPECTED \(0x[0-9a-f]*\).*/\1/p' "$res" | sort)
if [ "$seen" != "$expected" ]; then
	echo "# $label: DMAR faults logged at: $(echo $seen); expected by the tests at: $(echo $expected)"
	echo "not ok - $label DMAR faults are the expected ones"
	tf=$((tf + 1))
else
	echo "# $label: $(echo "$seen" | grep -c .) DMAR faults logged, each one expected by a test"
fi
# DMA API debugging (check kernels): no error, nothing left mapped
dma=$(sed -n 's/^ODP-DMA-API //p' "$res")
if [ -n "$dma" ]; then
	echo "# $label: dma-api $dma"
	v() { echo "$dma" | sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }
	if [ "$(v error_count)" != 0 ] || [ "$(v entries_now)" != "$(v entries_at_boot)" ]; then
		echo "not ok - $label DMA API debugging: no error, no mapping left"
		tf=$((tf + 1))
	fi
fi
grep -q '^ODP-DONE' "$res" || { echo "not ok - $label guest ran to the end"; tf=$((tf + 1)); }
echo "TALLY $tp $tf $ts"
