#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check.sh: everything `make check` does, phase by phase.
#
#  1. build (or reuse) the test kernel: KVER (default 6.12), flavor check,
#     or kasan with DEBUG=kasan
#  2. build the modules (W=1, warnings fail) and the static selftests
#  3. boot the test kernel: module load/unload, every KUnit suite, every
#     kselftest program, then the kernel's own hmm-tests against its
#     test_hmm.ko and against odp_dmirror.ko (hmm-guest.sh); splats fail
#     the run. Then a short second boot with intel_iommu=sp_off, the
#     negative control of the IOMMU superpage test: with no superpages,
#     it must find 4K IOMMU pages instead
#  4. the same kselftests on Debian bookworm's stock kernel, and hmm-tests
#     (from bookworm's linux-source-6.1) against odp_dmirror alone
#  5. the test kernel's suite again on the newest sid kernel, which has
#     two-pass interval notifiers (the modules build there with W=1 too)
# and after each, the soft-RoCE phase (rxe.sh): stock rdma_rxe and our
# rdma_rxe_odpm side by side in a Debian sid userland, on 7.x only (the
# 6.12 and 6.1 phases print a skip with the reason). Guests run two at a
# time (see bg_start); builds run one at a time.
# and end with one line "N passed, N failed, N skipped" over all of them.
# ODP_CHECK_PHASES (default "test stock sid") selects phases 3 to 5.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
gt=$ODP_TOP/guest-test

flavor=check
[ "${DEBUG:-}" = kasan ] && flavor=kasan
phases=${ODP_CHECK_PHASES:-test stock sid}
run=$ODP_RUN/check
rm -rf "$run" && mkdir -p "$run"
tp=0 tf=0 ts=0
skips=()

tally() {	# tally OUTPUT...: add a report's TALLY line, keep its skips, print the rest
	local line
	while IFS= read -r line; do
		case $line in
		"TALLY "*) set -- $line
			   tp=$((tp + $2)) tf=$((tf + $3)) ts=$((ts + $4)) ;;
		"SKIP "*) skips+=("${line#SKIP }") ;;
		*) echo "$line" ;;
		esac
	done
}
fail() { echo "not ok - $1"; tf=$((tf + 1)); }

# Guests run two at a time: much of a guest's time is spent waiting on
# edu's 100 ms DMA transfers, and no test depends on the guest's speed.
# bg_start NAME CMD...: run CMD in the background, output to $run/NAME.out;
# bg_finish NAME: wait for it, print its output and wall time.
declare -A bg_pid bg_t0
bg_start() {
	local name=$1
	shift
	log "== $name: started"
	bg_t0[$name]=$(date +%s)
	"$@" >"$run/$name.out" 2>&1 &
	bg_pid[$name]=$!
}
bg_finish() {
	local name=$1 rc=0
	wait "${bg_pid[$name]}" || rc=$?
	cat "$run/$name.out"
	log "== $name took $(( $(date +%s) - bg_t0[$name] ))s (exit $rc)"
	return $rc
}

# guest_start LABEL KERNEL KDIR MODE: build the modules, boot the guest in
# the background; guest_finish LABEL KSRC FLAVOR: wait, report. FLAVOR
# names the kernel in guest-test/allowed-skips.
guest_start() {
	local label=$1 kernel=$2 kdir=$3 mode=$4 dir=$run/$1
	phase_begin "$label: modules"
	if ! "$gt/build-modules.sh" "$kdir" "$dir/modules"; then
		fail "$label: modules build"; phase_end; return
	fi
	# the kernel's own hmm-tests and test_hmm.ko (hmm-guest.sh)
	"$gt/build-hmm.sh" "$kdir" "$dir/modules/hmm" || fail "$label: hmm-tests build"
	phase_end
	bg_start "$label: guest" "$gt/run-guest.sh" "$kernel" "$dir/modules" "$run/progs" \
		"$mode" "$dir"
}
guest_finish() {
	local label=$1 dir=$run/$1
	[ -n "${bg_pid[$label: guest]:-}" ] || return 0
	bg_finish "$label: guest"
	tally < <("$gt/report.sh" "$2" "$dir" "$label" "$3")
}

rxe_start() {	# rxe_start KDIR LABEL FLAVOR: soft-RoCE side by side (rxe.sh)
	bg_start "$2: soft-RoCE" "$gt/rxe.sh" "$1" "$run/$2" check "$3"
}
rxe_finish() {	# rxe_finish LABEL; wait works only in this shell: through a file
	bg_finish "$1: soft-RoCE" >"$run/$1.tally" 2>&1
	tally <"$run/$1.tally"
}

# The negative control of odp_edu_test's iommu_superpage: the IOMMU
# without superpages; each of its four memory kinds must pass, not skip.
spoff_start() {	# spoff_start LABEL KERNEL MODULES_DIR
	[ -d "$3/ko" ] || return 0
	ODP_APPEND="${ODP_APPEND:-} intel_iommu=sp_off odp.tests=odp_edu_test odp.filter=iommu_superpage" \
		bg_start "$1: guest" "$gt/run-guest.sh" "$2" "$3" "$run/progs" check "$run/$1"
}
spoff_finish() {	# spoff_finish LABEL KSRC
	local label=$1 dir=$run/$1 n
	[ -n "${bg_pid[$label: guest]:-}" ] || return 0
	bg_finish "$label: guest"
	tally < <("$gt/report.sh" "$2" "$dir" "$label")
	n=$(grep -cE '^ok [0-9]+ mem\.[a-z0-9_]+\.iommu_superpage$' "$dir/results.txt")
	[ "$n" = 4 ] || fail "$label: iommu_superpage passed on $n of 4 kinds of memory"
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

want() { case " $phases " in *" $1 "*) return 0 ;; esac; return 1; }

# Two guests at a time: the test kernel's with the stock kernel's, then
# its sp_off boot (while sid's kernel builds) with sid's, then rxe's.
if want test; then
	guest_start "test-$kver" "$kdir/arch/x86/boot/bzImage" "$kdir" check
fi
if want stock; then
	phase_begin "stock kernel"
	read -r vmlinuz hdrs < <("$gt/stock-kernel.sh") || die "no stock kernel"
	# its headers lack test_hmm's UAPI and hmm-tests: bookworm's source has them
	read -r _ ODP_HMM_SRC < <("$gt/fetch-kernel.sh" 6.1) || die "no linux-source-6.1"
	export ODP_HMM_SRC
	phase_end
	stock_label="stock-$(basename "$hdrs" | sed 's/linux-headers-//')"
	guest_start "$stock_label" "$vmlinuz" "$hdrs" stock
	unset ODP_HMM_SRC
fi
if want test; then
	guest_finish "test-$kver" "$ksrc" "$flavor-${KVER:-6.12}"
	spoff_start "test-$kver-sp_off" "$kdir/arch/x86/boot/bzImage" "$run/test-$kver/modules"
	tally < <("$gt/rxe.sh" "$kdir" "$run/rxe-$kver" check "$flavor-${KVER:-6.12}")
fi
if want stock; then
	guest_finish "$stock_label" "$ksrc" stock-6.1
	tally < <("$gt/rxe.sh" "$hdrs" "$run/rxe-stock" check stock-6.1)
fi
sdir=
if want sid; then
	phase_begin "sid test kernel ($flavor)"
	sdir=$(KVER=sid "$gt/build-kernel.sh" "$flavor") || { sdir=; fail "sid test kernel build"; }
	phase_end
fi
if [ -n "$sdir" ]; then
	read -r skver sksrc <"$sdir/.odp-source"
	guest_start "sid-$skver" "$sdir/arch/x86/boot/bzImage" "$sdir" check
fi
want test && spoff_finish "test-$kver-sp_off" "$ksrc"
if [ -n "$sdir" ]; then
	rxe_start "$sdir" "rxe-$skver" "$flavor-sid"
	guest_finish "sid-$skver" "$sksrc" "$flavor-sid"
	rxe_finish "rxe-$skver"
fi

echo "logs: $run"
echo "skips (${#skips[@]}; allowed ones are listed in guest-test/allowed-skips):"
for s in "${skips[@]}"; do echo "  $s"; done
echo "$tp passed, $tf failed, $ts skipped"
[ "$tf" = 0 ]
