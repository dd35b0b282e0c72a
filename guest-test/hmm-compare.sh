#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# hmm-compare.sh RESULTS LABEL FLAVOR [SELECTION]: the kernel's hmm-tests
# against test_hmm (the anchor) and against odp_dmirror, from the sections
# hmm-tests:test_hmm and hmm-tests:odp_dmirror of one guest's RESULTS (see
# hmm-guest.sh), printed side by side. SELECTION is the list of tests the
# guest selected (build-hmm.sh's "tests", which check.sh keeps in
# MODULES_DIR/hmm/tests beside RESULTS); it defaults to
# $(dirname RESULTS)/modules/hmm/tests. Exit status 1, with a "not ok"
# line for each, when
#   - there is no test_hmm run, unless FLAVOR is a stock kernel (stock-*)
#     whose guest said it has no test_hmm.ko: only there may odp_dmirror
#     run alone;
#   - a test that passed against test_hmm did not pass against odp_dmirror,
#     unless it is one of the expected differences below
#     (Documentation/odp_mirror.rst explains each);
#   - a test of SELECTION did not run against a module that ran (renamed
#     upstream, or filtered out, it would drop out of both runs unseen).
# Prints nothing when the guest ran no hmm-tests.
set -uo pipefail

res=$1 label=$2 flavor=${3:-none}
sel=${4:-$(dirname "$res")/modules/hmm/tests}
# Tests where odp_dmirror deliberately differs from test_hmm: none today.
expected=""

results() {	# results MODULE: "test status" per line, status ok, FAIL or skip
	awk -v s="hmm-tests:$1" '$0 == "ODP-BEGIN " s { p = 1; next }
		p && /^ODP-END / { exit }
		p && /^(not )?ok [0-9]+ / {
			st = ($1 == "not") ? "FAIL" : (/# SKIP/ ? "skip" : "ok")
			name = $0
			sub(/^(not )?ok [0-9]+ /, "", name)
			sub(/ .*/, "", name)
			sub(/.*\./, "", name)
			print name, st
		}' "$res"
}
status() {	# status RESULTS TEST: TEST's status in RESULTS, empty if it did not run
	echo "$1" | awk -v t="$2" '$1 == t { print $2; exit }'
}

grep -q '^ODP-BEGIN hmm-tests:' "$res" || exit 0
rc=0
bad() { echo "not ok - $label hmm-tests: $*"; rc=1; }

anchor=$(results test_hmm)
odp=$(results odp_dmirror)
sed -n "s/^ODP-NOTE hmm-tests: /# $label hmm-tests: /p" "$res"

# The modules that ran (a missing run is one failure, not one per test);
# test_hmm everywhere but on a stock kernel without it.
ran() { grep -q "^ODP-BEGIN hmm-tests:$1\$" "$res"; }
modules="" alone=""
if ran test_hmm; then
	modules=test_hmm
elif grep -q '^ODP-NOTE hmm-tests: this kernel has no test_hmm.ko' "$res" &&
     case $flavor in stock-*) true ;; *) false ;; esac; then
	alone=1
else
	bad "no run against test_hmm on $flavor (only a stock kernel" \
	    "without test_hmm.ko may run odp_dmirror alone)"
fi
if ran odp_dmirror; then
	modules="$modules odp_dmirror"
else
	bad "no run against odp_dmirror"
fi

selected=""
if [ -s "$sel" ]; then
	selected=$(cat "$sel")
else
	bad "no selection of tests in $sel: cannot tell whether each one ran"
fi

printf '# %-40s %-12s %s\n' "$label hmm-tests" test_hmm odp_dmirror
names=$( (echo "$selected" | tr ' ' '\n'; echo "$anchor"; echo "$odp") |
	awk 'NF && !seen[$1]++ { print $1 }')
ap=0 op=0
for t in $names; do
	a=$(status "$anchor" "$t")
	o=$(status "$odp" "$t")
	mark=""
	case " $expected " in *" $t "*) mark=" (expected difference)" ;; esac
	case " $selected " in *" $t "*) ;; *) mark="$mark (not selected)" ;; esac
	[ "$a" = ok ] && ap=$((ap + 1))
	[ "$o" = ok ] && op=$((op + 1))
	[ -n "$alone" ] && a=-
	printf '#   %-38s %-12s %s%s\n' "$t" "${a:-missing}" "${o:-missing}" "$mark"
done
if [ -n "$alone" ]; then
	printf '# %-40s %-12s %s\n' "passed" - "$op"
else
	printf '# %-40s %-12s %s\n' "passed" "$ap" "$op"
fi

# Every test that passed against test_hmm passes against odp_dmirror.
for t in $names; do
	[ "$(status "$anchor" "$t")" = ok ] || continue
	o=$(status "$odp" "$t")
	[ "$o" = ok ] && continue
	case " $expected " in *" $t "*) continue ;; esac
	bad "$t passed against test_hmm, ${o:-did not run} against odp_dmirror"
done
# Every selected test ran against each module.
for t in $selected; do
	for m in $modules; do
		case $m in test_hmm) s=$(status "$anchor" "$t") ;; *) s=$(status "$odp" "$t") ;; esac
		[ -n "$s" ] || bad "selected test $t did not run against $m"
	done
done
exit $rc
