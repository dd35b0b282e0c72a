#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rootfs.sh: build (or reuse) the Debian sid userland of the rxe guest and
# print the path of its gzipped cpio archive.
#
# mmdebstrap (from the host's bookworm) builds it from deb.debian.org sid,
# with its own apt configuration: the host's apt sources are neither read
# nor changed. It holds rdma-core, the verbs providers (librxe) and
# utilities, python3-pyverbs with rdma-core's own tests, iproute2 (rdma
# link add) and perftest. The tests ship in python3-pyverbs under
# /usr/share/doc/rdma-core/tests/, some gzip-compressed: they are
# unpacked there. Manuals, locales and other documentation are left out.
#
# The archive lives in $ODP_CACHE/rootfs/sid-<hash>/, the hash covering the
# package list and this script, and is reused while both stay the same.
# run-guest.sh boots it as the first part of a two-part initramfs; the
# second part brings init and the modules.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pkgs="rdma-core ibverbs-providers ibverbs-utils python3-pyverbs iproute2
      perftest busybox-static kmod e2fsprogs"
key=$({ echo $pkgs; cat "$0"; } | sha256sum | cut -c1-12)
out=$ODP_CACHE/rootfs/sid-$key

build() {
	[ -e "$out/.odp-built" ] && return 0
	command -v mmdebstrap >/dev/null || {
		log "installing mmdebstrap"
		apt-get -q update >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get -q install -y \
			--no-install-recommends mmdebstrap >/dev/null
	}
	local t0=$SECONDS dir=$out/root
	rm -rf "$out" && mkdir -p "$out"
	log "building the sid rootfs in $out"
	# shellcheck disable=SC2086
	mmdebstrap --mode=root --variant=minbase --aptopt='Apt::Install-Recommends "false"' \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/rdma-core/*' \
		--include="$(echo $pkgs | tr ' ' ,)" \
		--customize-hook='find "$1/usr/share/doc/rdma-core/tests" -name "*.gz" -exec gunzip -f {} +' \
		--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
		sid "$dir" "deb http://deb.debian.org/debian sid main" \
		>"$out/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$out/mmdebstrap.log"; die "mmdebstrap failed (log: $out/mmdebstrap.log)"; }
	[ -e "$dir/usr/share/doc/rdma-core/tests/run_tests.py" ] ||
		die "no rdma-core tests in the rootfs"
	[ -e "$dir/usr/share/doc/rdma-core/tests/test_odp.py" ] ||
		die "test_odp.py missing from the rdma-core tests"
	chroot "$dir" dpkg-query -W -f='${Package} ${Version}\n' \
		rdma-core ibverbs-providers python3-pyverbs perftest iproute2 \
		>"$out/versions"
	(cd "$dir" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet | gzip -1) \
		>"$out/rootfs.cpio.gz.tmp"
	mv "$out/rootfs.cpio.gz.tmp" "$out/rootfs.cpio.gz"
	rm -rf "$dir"
	echo "$((SECONDS - t0))" >"$out/build-seconds"
	log "rootfs built in $((SECONDS - t0))s: $(du -h "$out/rootfs.cpio.gz" | cut -f1)," \
	    "$(tr '\n' ' ' <"$out/versions")"
	touch "$out/.odp-built"
}
mkdir -p "$ODP_CACHE/rootfs"
[ -e "$out/.odp-built" ] || with_lock "$out.lock" build
echo "$out/rootfs.cpio.gz"
