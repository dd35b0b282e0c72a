#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# demo.sh: the main job. Build (or reuse) the test kernel, the modules and
# the demo program, boot the guest and print what the demo shows.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
gt=$ODP_TOP/guest-test

"$gt/deps.sh"
run=$ODP_RUN/demo
rm -rf "$run" && mkdir -p "$run"
phase_begin "test kernel"
kdir=$("$gt/build-kernel.sh" check)
ln -sfn "$kdir" "$ODP_CACHE/kdir"
phase_end
phase_begin "modules and demo program"
"$gt/build-modules.sh" "$kdir" "$run/modules"
"$gt/build-selftests.sh" "$kdir" "$run/progs"
phase_end
phase_begin "guest"
"$gt/run-guest.sh" "$kdir/arch/x86/boot/bzImage" "$run/modules" "$run/progs" demo "$run" ||
	{ tail -n 30 "$run/console.log"; die "the demo guest failed"; }
phase_end
sed -n '/^ODP-DEMO-BEGIN/,/^ODP-DEMO-END/p' "$run/results.txt" | sed '1d;$d'
grep -q '^ODP-DEMO-END rc=0' "$run/results.txt" || die "the demo failed (log: $run)"
