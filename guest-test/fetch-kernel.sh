#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fetch-kernel.sh [KVER]: download Debian's kernel source package for KVER
# through a private apt list, unpack it once into the cache, and print
# "<package-version> <source-dir>".
#
#   KVER=6.12 (default)  trixie's linux-source-6.12, our test kernel
#   KVER=6.1             bookworm's linux-source-6.1
#   KVER=sid             the newest linux-source-X.Y in sid (7.2 today);
#                        an explicit X.Y found only in sid works too
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kver=${1:-${KVER:-6.12}}
case $kver in
6.12) suite=trixie ;;
6.1) suite=bookworm ;;
*) suite=sid ;;
esac
apt_suite "$suite"
if [ "$kver" = sid ] || [ "$kver" = newest ]; then
	pkg=$(apt-cache "${APT_OPTS[@]}" search --names-only '^linux-source-[0-9.]+$' |
	      awk '{print $1}' | sort -V | tail -n 1)
	[ -n "$pkg" ] || die "no linux-source package in sid"
else
	pkg=linux-source-$kver
fi
ver=$(apt-cache "${APT_OPTS[@]}" show --no-all-versions "$pkg" 2>/dev/null |
      sed -n 's/^Version: //p' | head -n 1)
[ -n "$ver" ] || die "$pkg is not in $suite"

src=$ODP_CACHE/src/$ver
unpack() {
	[ -e "$src/.odp-unpacked" ] && return 0
	local deb tmp
	deb=$(apt_fetch "$pkg")
	log "unpacking $pkg $ver"
	tmp=$ODP_CACHE/src/.tmp-$ver
	rm -rf "$tmp" "$src"
	mkdir -p "$tmp"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './usr/src/linux-source-*.tar.xz'
	mkdir -p "$src"
	tar -xJf "$tmp"/usr/src/linux-source-*.tar.xz -C "$src" --strip-components=1
	rm -rf "$tmp"
	touch "$src/.odp-unpacked"
}
mkdir -p "$ODP_CACHE/src"
with_lock "$ODP_CACHE/src/$ver.lock" unpack
echo "$ver $src"
