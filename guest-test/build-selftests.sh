#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-selftests.sh KBUILD OUT: build the static programs with the
# kselftest harness and UAPI headers of the kernel built in KBUILD, the
# kselftests into OUT/tests and the other programs into OUT/bin.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kbuild=${1:?kernel build dir}
out=${2:?output dir}
read -r _ src <"$kbuild/.odp-source"
make -s -C "$ODP_TOP/selftests" KSFT_DIR="$src/tools/testing/selftests" \
	KHDR="$kbuild/usr/include" OUT="$out" -j"$(nproc)"
