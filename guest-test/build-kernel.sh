#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-kernel.sh FLAVOR: build (or reuse) the test kernel and print its
# build directory.
#
#   FLAVOR  check    base + mm + debug fragments (the default test kernel);
#                    on 6.x also kasan (see below)
#           kasan    check + kasan
#           release  base + mm, no debug options (benchmarks)
#
# The check and kasan kernels of sid (7.x, the only one with rxe ODP) also
# get the rdma fragment: soft-RoCE and the network its tests need.
#
# The 6.x check kernel (6.12 in `make check`) carries KASAN itself: a
# separate KASAN kernel was a third kernel build per CI run (14 minutes on
# a slow machine) for a suite that passes under KASAN anyway, at the price
# of a guest slower by 2 to 3 minutes. sid's check kernel stays without
# it, so that the rxe guest's rdma-core tests run at full speed;
# DEBUG=kasan KVER=sid gives a KASAN sid kernel.
#
# KVER picks the source (see fetch-kernel.sh). The tree is built out of
# place into $ODP_CACHE/<package-version>-<flavor>-<hash of the fragments>,
# under a flock, and a finished tree is reused as is. An interrupted build
# resumes where make stopped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavor=${1:-check}
cfg=$ODP_TOP/guest-test/config
case $flavor in
check) frags="base mm debug" ;;
kasan) frags="base mm debug kasan" ;;
release) frags="base mm" ;;
*) die "unknown kernel flavor '$flavor'" ;;
esac
read -r ver src < <("$ODP_TOP/guest-test/fetch-kernel.sh")
case $flavor:${ver%%.*} in
release:*) ;;
*:[7-9]) frags="$frags rdma" ;;
check:*) frags="$frags kasan" ;;
esac
frag_files=()
for f in $frags; do frag_files+=("$cfg/$f.config"); done
hash=$(cat "${frag_files[@]}" | sha256sum | cut -c1-12)
out=$ODP_CACHE/$ver-$flavor-$hash

# Every option the fragments ask for must be in the final .config, exactly.
# merge_config.sh only warns when a dependency drops one. An option this
# kernel version does not know at all is reported and skipped.
verify_config() {
	local line opt bad=0
	while read -r line; do
		case $line in
		CONFIG_*=*) opt=${line%%=*} ;;
		"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *} ;;
		*) continue ;;
		esac
		if ! grep -rqs --include='Kconfig*' -E "^[[:space:]]*(menu)?config ${opt#CONFIG_}\$" "$src"; then
			log "note: $opt does not exist in $ver, skipped"
			continue
		fi
		case $line in
		"# "*) if grep -qE "^$opt=" "$out/.config"; then
				log "config: $opt must not be set"; bad=1; fi ;;
		*) if ! grep -qx "$line" "$out/.config"; then
				log "config: $line requested, but .config has: $(grep -E "^(# )?$opt[= ]" "$out/.config" || echo nothing)"
				bad=1; fi ;;
		esac
	done < <(cat "${frag_files[@]}")
	[ $bad = 0 ] || die "the $flavor config of $ver lacks required options (see above)"
}

build() {
	if [ -e "$out/.odp-built" ]; then
		return 0
	fi
	mkdir -p "$out"
	if [ ! -e "$out/.odp-configured" ]; then
		log "configuring $ver ($flavor): allnoconfig + $frags"
		(cd "$src" && scripts/kconfig/merge_config.sh -n -O "$out" "${frag_files[@]}") \
			>"$out/merge_config.log" 2>&1 || { tail -n 20 "$out/merge_config.log"; die "merge_config failed"; }
		verify_config
		touch "$out/.odp-configured"
	fi
	log "building $ver ($flavor) in $out"
	make -C "$src" O="$out" -j"$(nproc)" -s bzImage modules modules_prepare headers \
		>"$out/build.log" 2>&1 ||
		{ tail -n 30 "$out/build.log"; die "kernel build failed (log: $out/build.log)"; }
	echo "$ver $src" >"$out/.odp-source"
	touch "$out/.odp-built"
}
# one kernel build at a time on this machine, whichever tree
[ -e "$out/.odp-built" ] ||
	with_lock "$ODP_CACHE/kernel-build.lock" with_lock "$out.lock" build
echo "$out"
