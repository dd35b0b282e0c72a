#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# stock-kernel.sh: fetch Debian bookworm's newest stock amd64 kernel, its
# headers and kbuild into a private root in the cache, and print
# "<vmlinuz> <headers build dir>". Modules built against that dir load
# into the unmodified distribution kernel.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

apt_suite bookworm
hdr=$(apt-cache "${APT_OPTS[@]}" search --names-only '^linux-headers-6\.1\.0-[0-9]+-amd64$' |
      awk '{print $1}' | sort -V | tail -n 1)
[ -n "$hdr" ] || die "no linux-headers-6.1.0-*-amd64 in bookworm"
abi=${hdr#linux-headers-}		# 6.1.0-NN-amd64
common=linux-headers-${abi%-amd64}-common
root=$ODP_CACHE/stock/$abi

unpack() {
	[ -e "$root/.odp-unpacked" ] && return 0
	local p deb
	rm -rf "$root" && mkdir -p "$root"
	for p in "linux-image-$abi" "$hdr" "$common" linux-kbuild-6.1; do
		deb=$(apt_fetch "$p")
		dpkg-deb -x "$deb" "$root"
	done
	# The arch headers include their -common half by absolute path.
	sed -i "s|/usr/src/$common|$root/usr/src/$common|" "$root/usr/src/$hdr/Makefile"
	touch "$root/.odp-unpacked"
}
mkdir -p "$ODP_CACHE/stock"
with_lock "$ODP_CACHE/stock/$abi.lock" unpack
echo "$root/boot/vmlinuz-$abi $root/usr/src/$hdr"
