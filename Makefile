# SPDX-License-Identifier: GPL-2.0
#
# odp-mirror: out-of-tree module, built with kbuild (see Kbuild), tested in
# a QEMU guest (see guest-test/).
#
#   make                 build the modules against KDIR
#   make check           build the test kernel, boot it, run every test
#   make demo            boot the guest and show the mirror at work
#   make stress          the stress test for STRESS_SECONDS (60), and the fuzzer
#   make bench           benchmark against hmm_range_fault and test_hmm
#   make bench-rxe       perftest --odp on stock rxe and rdma_rxe_odpm (sid)
#   make lint            checkpatch --strict, sparse (C=2) and kernel-doc
#   make dkms            dkms add + build against bookworm's stock headers
#   make kernel          only build (or reuse) the test kernel
#   make selftests       only build the static selftest programs
#   make clean
#
# KDIR defaults to the cached test kernel when one is built, else to the
# running kernel's build tree. KVER (6.12, 6.1, sid) and DEBUG (kasan)
# choose the test kernel; see README.md.

ODP_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/odp-mirror
KDIR ?= $(if $(wildcard $(ODP_CACHE)/kdir/Makefile),$(ODP_CACHE)/kdir,/lib/modules/$(shell uname -r)/build)

export KVER DEBUG ODP_CACHE

.PHONY: all modules clean check stress demo bench bench-rxe lint dkms kernel selftests

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C selftests clean

kernel:
	guest-test/build-kernel.sh $(if $(filter kasan,$(DEBUG)),kasan,check)

selftests:
	guest-test/build-selftests.sh

check:
	guest-test/check.sh

STRESS_SECONDS ?= 60
stress:
	ODP_CHECK_PHASES=test \
	ODP_APPEND="odp.tests=odp_stress,odp_fuzz odp.stress=$(STRESS_SECONDS) $(ODP_APPEND)" \
		guest-test/check.sh

demo:
	guest-test/demo.sh

bench:
	guest-test/bench.sh

bench-rxe:
	guest-test/bench-rxe.sh

lint:
	scripts/lint.sh

dkms:
	scripts/dkms-check.sh
