/* SPDX-License-Identifier: GPL-2.0 */
/*
 * odp_mirror: mirror a process address space into a device page table,
 * with on-demand faults through hmm_range_fault() and repair on
 * invalidation through mmu_interval_notifier.
 *
 * A driver creates one mirror per device address space and process,
 * registers ODP memory regions (MRs) on it, or turns on the implicit MR
 * over the whole address space, and then faults and prefetches ranges. Its
 * device page walker translates under odp_mirror_lock() with
 * odp_mirror_lookup(); a miss is resolved with odp_mirror_fault() after
 * dropping the lock. The locking rules are in odp_mirror.c.
 */
#ifndef _ODP_MIRROR_H
#define _ODP_MIRROR_H

#include <linux/mm_types.h>
#include <linux/types.h>

#include "odp_pgtable.h"

struct odp_mirror;
struct odp_mr;

/* Access of an MR: ODP_MR_READ, optionally with ODP_MR_WRITE */
#define ODP_MR_READ		BIT(0)
#define ODP_MR_WRITE		BIT(1)

/* Flags of odp_mirror_fault() */
#define ODP_FAULT_WRITE		BIT(0)

/* Implicit MR chunks: one interval notifier per 1 GiB touched */
#define ODP_IMPLICIT_CHUNK_SHIFT	30

/* Default table pages kept for splits in the notifier */
#define ODP_MIRROR_RESERVE_DEFAULT	(2 * (ODP_PT_NR_SIZES - 1))
/* Most explicit MRs one mirror may have */
#define ODP_MIRROR_MAX_MRS		4096
/* Largest reserve odp_mirror_set_reserve() accepts */
#define ODP_MIRROR_RESERVE_MAX		64

/**
 * enum odp_prefetch_advice - what odp_mirror_prefetch() does
 * @ODP_PREFETCH_READ: fault for read and map read-only, even in a
 *	writable MR
 * @ODP_PREFETCH_WRITE: fault for write and map writable
 * @ODP_PREFETCH_NO_FAULT: map what the CPU maps now, with its
 *	permissions; fault nothing
 */
enum odp_prefetch_advice {
	ODP_PREFETCH_READ,
	ODP_PREFETCH_WRITE,
	ODP_PREFETCH_NO_FAULT,
};

/**
 * struct odp_mirror_stats - counters of one mirror
 * @faults: odp_mirror_fault() and odp_mirror_prefetch() calls
 * @hmm_calls: hmm_range_fault() calls
 * @retries: batches redone: -EBUSY from hmm_range_fault() or a sequence
 *	change seen by mmu_interval_read_retry()
 * @pages_faulted: 4K pages hmm_range_fault() returned valid
 * @leaves: leaves in the table now, by size index (4K, 2M, 1G)
 * @leaves_installed: leaves installed so far, by size index
 * @invalidations: notifier invalidations that reached the table
 * @splits: huge leaves split, in invalidations and faults
 * @merges: tables merged back into one leaf
 * @fallbacks: invalidations that cleared whole leaves for want of
 *	reserve pages
 * @dirty_propagations: folios marked dirty because the device wrote them
 * @tables: table pages now, the root included
 * @reserve: pages in the notifier's reserve now
 * @mrs: explicit MRs now
 * @implicit_chunks: implicit MR chunks now
 * @finish_passes: invalidations that freed their table pages in the
 *	notifier's second pass (kernels with two-pass interval notifiers)
 */
struct odp_mirror_stats {
	u64 faults;
	u64 hmm_calls;
	u64 retries;
	u64 pages_faulted;
	u64 leaves[ODP_PT_NR_SIZES];
	u64 leaves_installed[ODP_PT_NR_SIZES];
	u64 invalidations;
	u64 splits;
	u64 merges;
	u64 fallbacks;
	u64 dirty_propagations;
	u64 tables;
	u64 reserve;
	u64 mrs;
	u64 implicit_chunks;
	u64 finish_passes;
};

struct odp_mirror *odp_mirror_create(struct mm_struct *mm,
				     unsigned long pgsize_bitmap);
void odp_mirror_destroy(struct odp_mirror *m);
int odp_mirror_set_reserve(struct odp_mirror *m, unsigned int pages);

struct odp_mr *odp_mr_register(struct odp_mirror *m, unsigned long start,
			       unsigned long length, unsigned int access);
void odp_mr_unregister(struct odp_mr *mr);
int odp_mirror_set_implicit(struct odp_mirror *m, bool enable);

int odp_mirror_fault(struct odp_mirror *m, unsigned long va,
		     unsigned long length, unsigned int flags);
int odp_mirror_prefetch(struct odp_mirror *m, unsigned long va,
			unsigned long length, enum odp_prefetch_advice advice);
int odp_mirror_prefetch_floor(struct odp_mirror *m, unsigned long va,
			      unsigned long length,
			      enum odp_prefetch_advice advice);

void odp_mirror_lock(struct odp_mirror *m);
void odp_mirror_unlock(struct odp_mirror *m);
bool odp_mirror_lookup(struct odp_mirror *m, unsigned long va,
		       struct odp_pt_leaf *leaf);
bool odp_mirror_set_dirty(struct odp_mirror *m, unsigned long va);
int odp_mirror_snapshot(struct odp_mirror *m, unsigned long va,
			unsigned long npages, u8 *out);
void odp_mirror_get_stats(struct odp_mirror *m, struct odp_mirror_stats *st);

#endif /* _ODP_MIRROR_H */
