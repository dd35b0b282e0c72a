#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check.sh: everything `make check` does, phase by phase.
#
#  1. build (or reuse) the test kernel: KVER (default 6.12), flavor check,
#     or kasan with DEBUG=kasan
#  2. build the modules (W=1, warnings fail) and the static selftests
#  3. boot the test kernel: module load/unload, every KUnit suite, every
#     kselftest program; splats fail the run
#  4. the same kselftests on Debian bookworm's stock kernel
#  5. the test kernel's suite again on the newest sid kernel, which has
#     two-pass interval notifiers (the modules build there with W=1 too)
# and end with one line "N passed, N failed, N skipped" over all of them.
# ODP_CHECK_PHASES (default "test stock sid") selects phases 3 to 5.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
gt=$ODP_TOP/guest-test

flavor=check
[ "${DEBUG:-}" = kasan ] && flavor=kasan
phases=${ODP_CHECK_PHASES:-test stock sid}
run=$ODP_CACHE/run/check
rm -rf "$run" && mkdir -p "$run"
tp=0 tf=0 ts=0

tally() {	# tally OUTPUT...: add a report's TALLY line, print the rest
	local line
	while IFS= read -r line; do
		case $line in
		"TALLY "*) set -- $line
			   tp=$((tp + $2)) tf=$((tf + $3)) ts=$((ts + $4)) ;;
		*) echo "$line" ;;
		esac
	done
}
fail() { echo "not ok - $1"; tf=$((tf + 1)); }

guest_phase() {	# guest_phase LABEL KERNEL KDIR KSRC MODE
	local label=$1 kernel=$2 kdir=$3 ksrc=$4 mode=$5 dir=$run/$1
	phase_begin "$label: modules"
	if ! "$gt/build-modules.sh" "$kdir" "$dir/modules"; then
		fail "$label: modules build"; phase_end; return
	fi
	phase_end
	phase_begin "$label: guest"
	"$gt/run-guest.sh" "$kernel" "$dir/modules" "$run/progs" "$mode" "$dir"
	tally < <("$gt/report.sh" "$ksrc" "$dir" "$label")
	phase_end
}

"$gt/deps.sh"
phase_begin "test kernel ($flavor)"
kdir=$("$gt/build-kernel.sh" "$flavor") || die "no test kernel"
read -r kver ksrc <"$kdir/.odp-source"
ln -sfn "$kdir" "$ODP_CACHE/kdir"
phase_end

phase_begin "selftests"
"$gt/build-selftests.sh" "$kdir" "$run/progs" || die "selftests build failed"
phase_end

case " $phases " in *" test "*)
	guest_phase "test-$kver" "$kdir/arch/x86/boot/bzImage" "$kdir" "$ksrc" check ;;
esac

case " $phases " in *" stock "*)
	phase_begin "stock kernel"
	read -r vmlinuz hdrs < <("$gt/stock-kernel.sh") || die "no stock kernel"
	phase_end
	guest_phase "stock-$(basename "$hdrs" | sed 's/linux-headers-//')" \
		"$vmlinuz" "$hdrs" "$ksrc" stock ;;
esac

case " $phases " in *" sid "*)
	phase_begin "sid test kernel ($flavor)"
	if sdir=$(KVER=sid "$gt/build-kernel.sh" "$flavor"); then
		phase_end
		read -r skver sksrc <"$sdir/.odp-source"
		guest_phase "sid-$skver" "$sdir/arch/x86/boot/bzImage" "$sdir" "$sksrc" check
	else
		phase_end
		fail "sid test kernel build"
	fi ;;
esac

echo "logs: $run"
echo "$tp passed, $tf failed, $ts skipped"
[ "$tf" = 0 ]
