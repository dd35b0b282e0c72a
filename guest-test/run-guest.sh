#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run-guest.sh KERNEL MODULES_DIR PROGS_DIR MODE OUT_DIR
#
# Pack an initramfs (busybox-static, guest-test/init, the .ko files of
# MODULES_DIR, the test programs of PROGS_DIR/tests and PROGS_DIR/bin) and
# boot KERNEL under QEMU with odp.mode=MODE. The kernel log lands in
# OUT_DIR/console.log, the results channel (ttyS1) in OUT_DIR/results.log.
#
# Environment: ODP_ACCEL=tcg|kvm (default tcg; KVM guests hang here),
# ODP_TIMEOUT seconds (default 900), ODP_MEM (default 8G, two NUMA nodes),
# ODP_APPEND extra kernel command line.
# Exit status: 0 when the guest reached the end of its init, 124 on timeout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel=$1 moddir=$2 progs=$3 mode=$4 out=$5
accel=${ODP_ACCEL:-tcg}
mem=${ODP_MEM:-8G}
timeout=${ODP_TIMEOUT:-900}

root=$out/initramfs
rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,tmp,odp/modules,odp/tests,odp/bin}
cp /bin/busybox "$root/bin/"
cp "$ODP_TOP/guest-test/init" "$root/init"
mknod -m 600 "$root/dev/console" c 5 1
cp "$moddir"/*.ko "$root/odp/modules/"
[ -d "$progs/tests" ] && cp "$progs"/tests/* "$root/odp/tests/" 2>/dev/null || true
[ -d "$progs/bin" ] && cp "$progs"/bin/* "$root/odp/bin/" 2>/dev/null || true
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$out/initramfs.cpio.gz"

case $accel in
kvm) machine="-machine q35,accel=kvm -cpu host" ;;
*) machine="-machine q35,accel=tcg -cpu max" ;;
esac
# Two NUMA nodes of half the memory each, one vCPU each.
half=$(( ${mem%G} / 2 ))G
append="console=ttyS0 panic=-1 loglevel=6"
append+=" hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=64"
append+=" odp.mode=$mode odp.accel=$accel ${ODP_APPEND:-}"
rm -f "$out/console.log" "$out/results.log"
rc=0
# shellcheck disable=SC2086
timeout -k 10 "$timeout" qemu-system-x86_64 $machine -smp 2,sockets=2,cores=1,threads=1 -m "$mem" \
	-object memory-backend-ram,id=m0,size="$half" \
	-object memory-backend-ram,id=m1,size="$half" \
	-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
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
