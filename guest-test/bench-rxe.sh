#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench-rxe.sh: make bench-rxe. perftest's ib_write_bw and ib_read_bw with
# --odp on the stock rdma_rxe and on our rdma_rxe_odpm, in one boot of
# sid's check kernel (the only one with rxe ODP), for 4K and hugetlb
# memory; prints our bandwidth over stock's. See rxe.sh and rxe-bench.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$ODP_TOP/guest-test/deps.sh"
kdir=$(KVER=sid "$ODP_TOP/guest-test/build-kernel.sh" check)
t0=$SECONDS
"$ODP_TOP/guest-test/rxe.sh" "$kdir" "$ODP_RUN/bench-rxe" bench
echo "bench-rxe took $((SECONDS - t0))s; logs: $ODP_RUN/bench-rxe"
