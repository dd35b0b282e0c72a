#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-modules.sh KDIR OUT_DIR: build the project's modules against KDIR
# in OUT_DIR (a copy of the sources, so that builds for several kernels
# never share objects), with W=1. Any compiler warning fails the build.
# ODP_HMM_SRC names a kernel source tree for test_hmm's UAPI header where
# KDIR is a headers package without it (see Kbuild: odp_dmirror).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir=$1 out=$2
mkdir -p "$out"
rsync -a --delete --include=/Kbuild --include='/*.c' --include='/*.h' --include='/include/***' \
	--include='/drivers/***' --exclude='*' "$ODP_TOP/" "$out/"
make -C "$kdir" M="$out" ${ODP_HMM_SRC:+HMM_SRC="$ODP_HMM_SRC"} W=1 -j"$(nproc)" modules >"$out/build.log" 2>&1 ||
	{ cat "$out/build.log"; die "module build against $kdir failed"; }
if grep -E 'warning:|error:' "$out/build.log"; then
	die "module build against $kdir has warnings (see above)"
fi
# every module, flat in $out/ko for the guest
rm -rf "$out/ko" && mkdir -p "$out/ko"
find "$out" -path "$out/ko" -prune -o -name '*.ko' -print0 | xargs -0 cp -t "$out/ko"
ls "$out"/ko/*.ko >/dev/null
