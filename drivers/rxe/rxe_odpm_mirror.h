/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rxe_odpm_mirror: the only place where rdma_rxe_odpm calls odp-mirror.
 *
 * One ODP MR of rxe is one mirror of the registering process with one
 * odp-mirror MR over the verbs MR's pages, or, for an implicit MR, one
 * mirror with odp-mirror's implicit MR. rxe is a virtual-DMA device: it
 * copies through kmap_local_page() under the mirror lock, which keeps the
 * pages it found from being invalidated until it is done.
 */
#ifndef _RXE_ODPM_MIRROR_H
#define _RXE_ODPM_MIRROR_H

#include <linux/types.h>

struct odp_mirror;
struct odp_mr;
struct page;

/**
 * struct rxe_odpm_mirror - the odp-mirror side of one rxe ODP MR
 * @mirror: the mirror, bound to the registering process's mm
 * @mr: the odp-mirror MR over the verbs MR's pages; NULL when implicit
 * @writable: the verbs MR grants write access (local or remote write,
 *	or atomics)
 */
struct rxe_odpm_mirror {
	struct odp_mirror *mirror;
	struct odp_mr *mr;
	bool writable;
};

/**
 * enum rxe_odpm_prefetch - what ibv_advise_mr() asked for
 * @RXE_ODPM_PREFETCH_READ: fault for read
 * @RXE_ODPM_PREFETCH_WRITE: fault for write
 * @RXE_ODPM_PREFETCH_NO_FAULT: map only what the CPU maps now
 */
enum rxe_odpm_prefetch {
	RXE_ODPM_PREFETCH_READ,
	RXE_ODPM_PREFETCH_WRITE,
	RXE_ODPM_PREFETCH_NO_FAULT,
};

int rxe_odpm_mirror_init(struct rxe_odpm_mirror *om, unsigned long start,
			 unsigned long length, bool writable, bool implicit);
void rxe_odpm_mirror_fini(struct rxe_odpm_mirror *om);
int rxe_odpm_mirror_snapshot(struct rxe_odpm_mirror *om, unsigned long start,
			     unsigned long length);
int rxe_odpm_mirror_prefetch(struct rxe_odpm_mirror *om, unsigned long va,
			     unsigned long length,
			     enum rxe_odpm_prefetch advice);
int rxe_odpm_mirror_map_and_lock(struct rxe_odpm_mirror *om, unsigned long va,
				 unsigned long length, bool write);
struct page *rxe_odpm_mirror_page(struct rxe_odpm_mirror *om,
				  unsigned long va, bool write);
void rxe_odpm_mirror_unlock(struct rxe_odpm_mirror *om);

#endif /* _RXE_ODPM_MIRROR_H */
