#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-rxe-progs.sh KSRC OUT_DIR: what the rxe guest runs besides Debian's
# own programs: OUT_DIR/bin gets rxe_report.py and rxe-bench, OUT_DIR/tests
# the verbs test selftests/rxe_odpm_test, built with the kernel's
# kselftest_harness.h from KSRC and linked against libibverbs (bookworm's
# libibverbs-dev on the host; the guest's sid library has the same ABI).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ksrc=$1 out=$2
mkdir -p "$out/bin" "$out/tests"
cp "$ODP_TOP/guest-test/rxe_report.py" "$ODP_TOP/guest-test/rxe-bench" "$out/bin/"
if ! dpkg-query -W -f='${Status}\n' libibverbs-dev 2>/dev/null | grep -q '^install ok installed'; then
	log "installing libibverbs-dev"
	apt-get -q update >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends \
		libibverbs-dev >/dev/null
fi
gcc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$ksrc/tools/testing/selftests" \
	-o "$out/tests/rxe_odpm_test" "$ODP_TOP/selftests/rxe_odpm_test.c" -libverbs -lpthread
