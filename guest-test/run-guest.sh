#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run-guest.sh KERNEL MODULES_DIR PROGS_DIR MODE OUT_DIR
#
# Pack an initramfs (busybox-static, guest-test/init, the .ko files of
# MODULES_DIR and its hmm/ from build-hmm.sh, the test programs of
# PROGS_DIR/tests and PROGS_DIR/bin) and
# boot KERNEL under QEMU with odp.mode=MODE. The kernel log lands in
# OUT_DIR/console.log, the results channel (ttyS1) in OUT_DIR/results.log.
#
# The machine has QEMU's edu PCI device (a DMA engine, 64-bit DMA mask)
# behind an emulated VT-d IOMMU; caching-mode=on makes the guest flush the
# IOTLB on every unmap (strict mode), so a stale translation cannot hide.
#
# Environment: ODP_ACCEL=tcg|kvm (default tcg; KVM guests hang here),
# ODP_TIMEOUT seconds (default 900), ODP_MEM (default 8G, two NUMA nodes),
# ODP_HUGE_1G 1 GiB pages reserved at boot (default 2),
# ODP_APPEND extra kernel command line, ODP_INIT another init (default
# guest-test/init), ODP_ROOTFS a userland to boot instead of busybox alone
# (a gzipped cpio, see rootfs.sh).
# Exit status: 0 when the guest reached the end of its init, 124 on timeout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel=$1 moddir=$2 progs=$3 mode=$4 out=$5
accel=${ODP_ACCEL:-tcg}
mem=${ODP_MEM:-8G}
timeout=${ODP_TIMEOUT:-900}

root=$out/initramfs
rm -rf "$root" && mkdir -p "$root"/odp/{modules,tests,bin}
if [ -z "${ODP_ROOTFS:-}" ]; then
	mkdir -p "$root"/{bin,dev,proc,sys,tmp}
	cp /bin/busybox "$root/bin/"
	mknod -m 600 "$root/dev/console" c 5 1
fi
cp "${ODP_INIT:-$ODP_TOP/guest-test/init}" "$root/init"
cp "$moddir"/ko/*.ko "$root/odp/modules/"
[ -d "$progs/tests" ] && cp "$progs"/tests/* "$root/odp/tests/" 2>/dev/null || true
[ -d "$progs/bin" ] && cp "$progs"/bin/* "$root/odp/bin/" 2>/dev/null || true
# the kernel's own hmm-tests, from build-hmm.sh, and what runs them
cp "$ODP_TOP/guest-test/hmm-guest.sh" "$root/odp/"
if [ -d "$moddir/hmm" ]; then cp -r "$moddir/hmm" "$root/odp/"; fi
# With ODP_ROOTFS, a userland's gzipped cpio comes first and ours is
# unpacked over it: the kernel takes concatenated archives.
{
	[ -z "${ODP_ROOTFS:-}" ] || cat "$ODP_ROOTFS"
	(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1)
} >"$out/initramfs.cpio.gz"

case $accel in
kvm) machine="-machine q35,accel=kvm -cpu host" ;;
*) machine="-machine q35,accel=tcg -cpu max" ;;
esac
# Two NUMA nodes of half the memory each, one vCPU each.
half=$(( ${mem%G} / 2 ))G
append="console=ttyS0 panic=-1 loglevel=6"
append+=" hugepagesz=1G hugepages=${ODP_HUGE_1G:-2} hugepagesz=2M hugepages=64"
# a 64 MiB RAM disk (brd) for the writeback tests' ext4
append+=" brd.rd_nr=1 brd.rd_size=65536"
append+=" intel_iommu=on iommu.strict=1"
append+=" odp.mode=$mode odp.accel=$accel ${ODP_APPEND:-}"
rm -f "$out/console.log" "$out/results.log"
rc=0
# shellcheck disable=SC2086
timeout -k 10 "$timeout" qemu-system-x86_64 $machine -smp 2,sockets=2,cores=1,threads=1 -m "$mem" \
	-object memory-backend-ram,id=m0,size="$half" \
	-object memory-backend-ram,id=m1,size="$half" \
	-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
	-device intel-iommu,caching-mode=on -device edu,dma_mask=0xffffffffffffffff \
	-nodefaults -display none -no-reboot \
	-serial file:"$out/console.log" -serial file:"$out/results.log" \
	-kernel "$kernel" -initrd "$out/initramfs.cpio.gz" -append "$append" \
	</dev/null >"$out/qemu.log" 2>&1 || rc=$?
tr -d '\r' <"$out/results.log" >"$out/results.txt"
if [ $rc = 124 ] || [ $rc = 137 ]; then
	log "guest timed out after ${timeout}s (log: $out/console.log)"
	exit 124
fi
[ $rc = 0 ] || { cat "$out/qemu.log" >&2; die "qemu failed ($rc)"; }
grep -q '^ODP-DONE' "$out/results.txt" || { log "guest did not finish its init"; exit 1; }
