#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-hmm.sh KDIR OUT_DIR: the kernel's own hmm-tests for the guest that
# runs the kernel of KDIR, for hmm-guest.sh. Into OUT_DIR go
#   hmm-tests     built statically from the guest kernel's own source
#                 (tools/testing/selftests/mm, vm/ in 6.1) with its UAPI
#                 headers and its kselftest_harness.h;
#   tests         the names of the tests that only mirror, which the guest
#                 selects with the harness's own filters, and each of which
#                 hmm-compare.sh requires to have run against each module;
#   test_hmm.ko   the kernel's own test_hmm, when it built one.
# KDIR is a tree of build-kernel.sh (its source, headers and lib/test_hmm.ko
# are used) or a headers package; for the latter ODP_HMM_SRC names the
# kernel source, whose UAPI headers are made once into the cache.
#
# 6.1's harness has no filters, and when a test fails it runs the fixture's
# teardown in a loop until the test's 30 s timeout: there, and only there,
# hmm-tests.c is compiled with kselftest_harness.h and kselftest.h of
# trixie's linux-source-6.12 (fetch-kernel.sh 6.12, which make check has
# already fetched for its test kernel) instead.
#
# The selftests are built in a copy of tools/testing/selftests, as their
# Makefile writes into its own directory; the source tree stays untouched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir=$1 out=$2
rm -rf "$out" && mkdir -p "$out"
if [ -e "$kdir/.odp-source" ]; then
	read -r _ src <"$kdir/.odp-source"
	khdr=$kdir/usr/include
	[ -e "$kdir/lib/test_hmm.ko" ] && cp "$kdir/lib/test_hmm.ko" "$out/"
else
	src=${ODP_HMM_SRC:?"$kdir has no kernel source: set ODP_HMM_SRC"}
	khdr=$ODP_CACHE/headers-$(basename "$src")/usr/include
	make_headers() {
		[ -e "$khdr/.odp-done" ] && return 0
		make -s -C "$src" O="${khdr%/usr/include}" headers >/dev/null
		touch "$khdr/.odp-done"
	}
	with_lock "${khdr%/usr/include}.lock" make_headers
fi
[ -e "$khdr/linux/types.h" ] || die "no UAPI headers in $khdr"

dir=mm
[ -e "$src/tools/testing/selftests/mm/hmm-tests.c" ] || dir=vm
[ -e "$src/tools/testing/selftests/$dir/hmm-tests.c" ] || die "no hmm-tests.c in $src"

# $tree: the source tree as links, but for a copy of tools/testing/selftests
tree=$out/.src
mkdir -p "$tree/tools/testing"
link_all_but() {	# link_all_but FROM TO NAME: link FROM/* into TO, except NAME
	local e
	for e in "$1"/*; do
		[ "${e##*/}" = "$3" ] || ln -s "$e" "$2/"
	done
}
link_all_but "$src" "$tree" tools
link_all_but "$src/tools" "$tree/tools" testing
link_all_but "$src/tools/testing" "$tree/tools/testing" selftests
cp -a "$src/tools/testing/selftests" "$tree/tools/testing/"
harness=$src/tools/testing/selftests
if ! grep -q "case 't':" "$harness/kselftest_harness.h"; then
	read -r _ harness < <("$(dirname "$0")/fetch-kernel.sh" 6.12)
	harness=$harness/tools/testing/selftests
	cp "$harness/kselftest_harness.h" "$harness/kselftest.h" "$tree/tools/testing/selftests/"
fi
make -s -C "$tree/tools/testing/selftests/$dir" OUTPUT="$out" \
	KHDR_INCLUDES="-isystem $khdr" EXTRA_CFLAGS=-static "$out/hmm-tests" \
	>"$tree/build.log" 2>&1 || { cat "$tree/build.log"; die "hmm-tests build from $src failed"; }
rm -rf "$tree"

# The tests that only mirror: no migration, no device-private, exclusive or
# coherent memory (README.md says why each other one is left out), and
# anon_write_child where it does not migrate too (6.1, 6.12).
tests="open_close anon_read anon_read_prot anon_write anon_write_prot
       anon_write_child_shared anon_write_huge anon_write_hugetlbfs
       file_read file_write anon_read_multiple anon_teardown mixedmap compound"
if ! sed -n '/^TEST_F(hmm, anon_write_child)/,/^}/p' \
	"$src/tools/testing/selftests/$dir/hmm-tests.c" | grep -q migrate; then
	tests="$tests anon_write_child"
fi
echo $tests >"$out/tests"	# one line, single spaces
log "hmm-tests from $src/tools/testing/selftests/$dir, harness of ${harness%/tools/testing/selftests}"
