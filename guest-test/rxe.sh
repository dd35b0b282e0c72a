#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rxe.sh KDIR OUT_DIR [check|bench] [FLAVOR]: the soft-RoCE phase on the test kernel
# in KDIR (sid's 7.x; older kernels have no rxe ODP and get a skip).
#
#   check  boot Debian sid's userland with the stock rdma_rxe and our
#          rdma_rxe_odpm side by side: rdma-core's test_odp on each,
#          ibv_rc_pingpong, selftests/rxe_odpm_test (huge leaves, implicit
#          ODP, dirty pages, the stress client); prints the report and the
#          line "TALLY <passed> <failed> <skipped>" for check.sh
#   bench  perftest's ib_write_bw and ib_read_bw --odp on both devices,
#          4K and hugetlb memory, ours over stock's
#
# Builds (or reuses) the rootfs (rootfs.sh), the modules (build-modules.sh,
# build-rxe.sh) and the test program, all under OUT_DIR, and boots the
# guest with guest-test/rxe-init as its init.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
gt=$ODP_TOP/guest-test

kdir=$1 out=$2 what=${3:-check} flavor=${4:-none}
mkdir -p "$out"

skip() { echo "ok - rxe: soft-RoCE ODP side by side # SKIP $*"; echo "TALLY 0 0 1"; exit 0; }
fail() { echo "not ok - rxe: $*"; echo "TALLY 0 1 0"; exit 1; }

# Debian's stock kernel comes as headers only, without the source tree
[ -e "$kdir/.odp-source" ] ||
	skip "$(basename "$kdir" | sed 's/^linux-headers-//') has no rxe ODP (rxe_odp.c came in 6.15): this phase runs on 7.x only"
read -r kver ksrc <"$kdir/.odp-source"
[ -e "$ksrc/drivers/infiniband/sw/rxe/rxe_odp.c" ] ||
	skip "kernel $kver has no rxe ODP (rxe_odp.c came in 6.15): this phase runs on 7.x only"

phase_begin "rxe: modules"
"$gt/build-modules.sh" "$kdir" "$out/modules" >&2 || fail "odp-mirror build"
reason=$("$gt/build-rxe.sh" "$kdir" "$out/modules")
case $? in
0) ;;
2) skip "$reason" ;;
*) fail "rdma_rxe_odpm build" ;;
esac
phase_end

phase_begin "rxe: rootfs"
rootfs=$("$gt/rootfs.sh") || fail "the sid rootfs"
phase_end

phase_begin "rxe: test programs"
progs=$out/progs
rm -rf "$progs" && mkdir -p "$progs/tests" "$progs/bin"
"$gt/build-rxe-progs.sh" "$ksrc" "$progs" >&2 || fail "the rxe test programs"
phase_end

phase_begin "rxe: guest ($what)"
mode=rxe
[ "$what" = bench ] && mode=rxe-bench
ODP_ROOTFS=$rootfs ODP_INIT=$gt/rxe-init ODP_TIMEOUT=${ODP_TIMEOUT:-1500} \
	"$gt/run-guest.sh" "$kdir/arch/x86/boot/bzImage" "$out/modules" "$progs" "$mode" "$out/guest" >&2
phase_end
if [ "$what" = bench ]; then
	sed -n '/^ODP-BENCH-BEGIN/,/^ODP-BENCH-END/p' "$out/guest/results.txt" | sed '1d;$d'
	grep -q '^ODP-BENCH-END rc=0' "$out/guest/results.txt"
	exit
fi
"$gt/report.sh" "$ksrc" "$out/guest" "rxe-$kver" "$flavor"
