#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lint.sh: make lint. Every source file through the test kernel's own
#   scripts/checkpatch.pl --strict (no output but the clean total allowed),
#   sparse (make C=2 W=1: no warning at all; drivers/rxe against sid's kernel),
#   scripts/kernel-doc -none -Wall (every file), and -rst for each
#   kernel-doc directive of Documentation/odp_mirror.rst, as it asks.
# Uses (or builds) the cached test kernel; fails on the first unclean tool.
set -uo pipefail
. "$(dirname "$0")/../guest-test/lib.sh"
cd "$ODP_TOP"

"$ODP_TOP/guest-test/deps.sh"
kdir=$(KVER=${KVER:-6.12} "$ODP_TOP/guest-test/build-kernel.sh" check) || die "no test kernel"
read -r _ src <"$kdir/.odp-source"
fail=0

mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null ||
		     find . -name '*.[ch]' -not -path './selftests/out/*' | sed 's|^\./||')
out=$(perl "$src/scripts/checkpatch.pl" --strict --no-tree --terse --show-types -f "${files[@]}" 2>&1 |
      grep -v '^total: 0 errors, 0 warnings, 0 checks')
if [ -n "$out" ]; then
	echo "$out"
	echo "not ok - checkpatch --strict"
	fail=1
else
	echo "ok - checkpatch --strict: ${#files[@]} files clean"
fi

work=$ODP_RUN/lint
rm -rf "$work" && mkdir -p "$work"
rsync -a --include=/Kbuild --include='/*.c' --include='/*.h' --include='/include/***' \
	--include='/drivers/***' --exclude='*' "$ODP_TOP/" "$work/"
make -C "$kdir" M="$work" C=2 W=1 -j"$(nproc)" modules >"$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; fail=1; }
if grep -E 'warning:|error:' "$work/build.log"; then
	echo "not ok - sparse (C=2) and W=1"
	fail=1
else
	echo "ok - sparse (C=2) and W=1: no warnings"
fi

# drivers/rxe builds only against a kernel with rxe ODP, sid's 7.x, and
# only together with the kernel's rxe sources (guest-test/build-rxe.sh)
if skdir=$(KVER=sid "$ODP_TOP/guest-test/build-kernel.sh" check) &&
   "$ODP_TOP/guest-test/build-modules.sh" "$skdir" "$work/sid" >/dev/null &&
   ODPM_MAKEFLAGS="C=2 W=1" "$ODP_TOP/guest-test/build-rxe.sh" "$skdir" "$work/sid"; then
	echo "ok - sparse (C=2) and W=1 of rdma_rxe_odpm on sid's kernel: no warnings"
else
	echo "not ok - sparse (C=2) and W=1 of rdma_rxe_odpm on sid's kernel"
	fail=1
fi

kd=$(git ls-files --cached --others --exclude-standard '*.c' 'include/*.h' 'include/uapi/*.h' | grep -v '^selftests/')
out=$(perl "$src/scripts/kernel-doc" -none -Wall $kd 2>&1)
if [ -n "$out" ]; then
	echo "$out"
	echo "not ok - kernel-doc -Wall"
	fail=1
else
	echo "ok - kernel-doc -Wall: $(echo $kd | wc -w) files clean"
fi
# what Documentation/odp_mirror.rst pulls in, the way it pulls it in
out=$(awk '/^\.\. kernel-doc::/ { f = $3; next }
	   f && /^ +:(export|internal):/ { print f, substr($1, 2, length($1) - 2); f = "" }' \
	   Documentation/odp_mirror.rst |
      while read -r f mode; do
	      perl "$src/scripts/kernel-doc" -rst -sphinx-version 3.4.3 -Wall "-$mode" "$f" 2>&1 >/dev/null
      done)
if [ -n "$out" ]; then
	echo "$out"
	echo "not ok - kernel-doc of Documentation/odp_mirror.rst"
	fail=1
else
	echo "ok - kernel-doc of Documentation/odp_mirror.rst: $(grep -c '^\.\. kernel-doc::' Documentation/odp_mirror.rst) directives clean"
fi
exit $fail
