#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh: make bench. Boot the release kernel (same version and base
# fragments as the test kernel, no debug options) with odp-mirror and the
# kernel's own test_hmm.ko, run odp_bench, print its table and save its
# JSON. ODP_BENCH=quick runs 1 GiB of each memory type. The guest has
# 12 GiB and four 1 GiB pages: the largest sizes are 4 GiB.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
gt=$ODP_TOP/guest-test

"$gt/deps.sh"
run=$ODP_RUN/bench
rm -rf "$run" && mkdir -p "$run"
phase_begin "release kernel"
kdir=$("$gt/build-kernel.sh" release)
phase_end
phase_begin "modules and benchmark program"
"$gt/build-modules.sh" "$kdir" "$run/modules"
cp "$kdir/lib/test_hmm.ko" "$run/modules/ko/"
"$gt/build-selftests.sh" "$kdir" "$run/progs"
rm -rf "$run/progs/tests"
phase_end
phase_begin "guest"
ODP_MEM=${ODP_MEM:-12G} ODP_HUGE_1G=${ODP_HUGE_1G:-4} \
ODP_TIMEOUT=${ODP_TIMEOUT:-5400} ODP_APPEND="${ODP_BENCH:+odp.bench=$ODP_BENCH}" \
	"$gt/run-guest.sh" "$kdir/arch/x86/boot/bzImage" "$run/modules" "$run/progs" bench "$run" ||
	{ tail -n 30 "$run/console.log"; die "the benchmark guest failed"; }
phase_end
sed -n '/^ODP-BENCH-BEGIN/,/^ODP-BENCH-END/p' "$run/results.txt" | sed '1d;$d' |
	grep -v '^json: '
sed -n '/^ODP-JSON-BEGIN/,/^ODP-JSON-END/p' "$run/results.txt" | sed '1d;$d' >"$run/bench.json"
echo "json: $run/bench.json"
grep -q '^ODP-BENCH-END rc=0' "$run/results.txt" || die "the benchmark failed (log: $run)"
