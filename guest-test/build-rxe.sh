#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-rxe.sh KDIR MODULES_DIR: build rdma_rxe_odpm.ko, soft-RoCE with its
# ODP on odp-mirror, against the test kernel in KDIR, from that kernel's
# own rxe sources, and put it, with the kernel's stock rdma_rxe.ko, into
# MODULES_DIR/ko beside the odp-mirror.ko that build-modules.sh built there.
#
# The kernel's drivers/infiniband/sw/rxe is copied into MODULES_DIR/rxe
# (never into the repository), less rxe_odp.c, its Makefile renamed rxe.mk;
# drivers/rxe/ adds our files and Kbuild, and drivers/rxe/edit-rxe.sh
# makes the few edits, whose diff stays in MODULES_DIR/rxe/edits.diff.
#
# ODPM_MAKEFLAGS adds make arguments (make lint passes C=2 W=1).
# Exit status 2, with the reason on stdout, for a kernel without rxe ODP
# (before 6.15: Debian's 6.1 and 6.12) or without the options it needs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir=$1 moddir=$2
read -r kver ksrc <"$kdir/.odp-source"
rxe=$ksrc/drivers/infiniband/sw/rxe
if [ ! -e "$rxe/rxe_odp.c" ]; then
	echo "kernel $kver has no rxe ODP (drivers/infiniband/sw/rxe/rxe_odp.c, since 6.15)"
	exit 2
fi
for opt in CONFIG_RDMA_RXE=m CONFIG_INFINIBAND_ON_DEMAND_PAGING=y CONFIG_INFINIBAND_USER_ACCESS=y; do
	grep -qx "$opt" "$kdir/.config" || { echo "kernel $kver lacks $opt"; exit 2; }
done

out=$moddir/rxe
rm -rf "$out" && mkdir -p "$out"
cp "$rxe"/*.c "$rxe"/*.h "$out/"
rm "$out/rxe_odp.c"
cp "$rxe/Makefile" "$out/rxe.mk"
cp "$ODP_TOP"/drivers/rxe/*.c "$ODP_TOP"/drivers/rxe/*.h "$ODP_TOP/drivers/rxe/Kbuild" "$out/"
"$ODP_TOP/drivers/rxe/edit-rxe.sh" "$out" || die "editing the rxe sources of $kver failed"
make -C "$kdir" M="$out" ODPM_INCLUDE="$moddir/include" \
	KBUILD_EXTRA_SYMBOLS="$moddir/Module.symvers" -j"$(nproc)" ${ODPM_MAKEFLAGS:-} modules \
	>"$out/build.log" 2>&1 || { cat "$out/build.log"; die "rdma_rxe_odpm build against $kdir failed"; }
if grep -E 'warning:|error:' "$out/build.log"; then
	die "rdma_rxe_odpm build against $kdir has warnings (see above)"
fi
# and what both need: the kernel's UDP tunnel modules
cp "$out/rdma_rxe_odpm.ko" "$kdir/drivers/infiniband/sw/rxe/rdma_rxe.ko" \
	"$kdir/net/ipv4/udp_tunnel.ko" "$kdir/net/ipv6/ip6_udp_tunnel.ko" "$moddir/ko/"
