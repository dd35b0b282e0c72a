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
 * dropping the lock, or with odp_mirror_fault_and_lock(), which returns
 * with the lock held and the range mapped. A driver whose hardware keeps
 * its own copy of the translations gives &struct odp_mirror_ops: it zaps
 * and flushes its hardware in the invalidation callbacks and programs it
 * from the leaves in the install callback. Given a DMA device, the mirror
 * stores DMA addresses in its leaves, one DMA mapping per leaf. The
 * locking rules and the teardown order are in odp_mirror.c.
 */
#ifndef _ODP_MIRROR_H
#define _ODP_MIRROR_H

#include <linux/mm_types.h>
#include <linux/types.h>
#include <asm/page.h>

#include "odp_pgtable.h"

struct device;
struct odp_mirror;
struct odp_mr;

/* Access of an MR: ODP_MR_READ, optionally with ODP_MR_WRITE */
#define ODP_MR_READ		BIT(0)
#define ODP_MR_WRITE		BIT(1)

/**
 * enum odp_inval_reason - why entries leave the table
 * @ODP_INVAL_NOTIFIER: the MR's interval notifier: the CPU mapping
 *	changed; &odp_inval.event says how
 * @ODP_INVAL_UNREGISTER: odp_mr_unregister()
 * @ODP_INVAL_IMPLICIT_OFF: odp_mirror_set_implicit() turned it off
 * @ODP_INVAL_DESTROY: odp_mirror_destroy()
 * @ODP_INVAL_REFRESH: a fault replaces leaves it may not change in place
 *	(a DMA mirror's leaves each own their mapping)
 * @ODP_INVAL_MERGE: a fault merged tables into a leaf: nothing is
 *	unmapped, but the table pages are freed after the flush
 */
enum odp_inval_reason {
	ODP_INVAL_NOTIFIER,
	ODP_INVAL_UNREGISTER,
	ODP_INVAL_IMPLICIT_OFF,
	ODP_INVAL_DESTROY,
	ODP_INVAL_REFRESH,
	ODP_INVAL_MERGE,
};

/**
 * struct odp_inval - one invalidation, as the driver's callbacks see it
 * @mr: the MR the range lies in; odp_mr_priv() gives the driver's pointer
 * @start: first address the driver must zap in its hardware
 * @end: end of that range. It covers whole every leaf the invalidation
 *	changed, so it may reach past the range the kernel invalidated, up
 *	to the edges of the huge leaves that were split or dropped there.
 * @reason: why
 * @event: for %ODP_INVAL_NOTIFIER, the mmu_notifier event
 * @protect: the entries were only write-protected: the driver takes
 *	write access away; reads may go on
 * @blockable: the callbacks may sleep; false for the OOM reaper
 */
struct odp_inval {
	struct odp_mr *mr;
	unsigned long start;
	unsigned long end;
	enum odp_inval_reason reason;
	int event;
	bool protect;
	bool blockable;
};

/**
 * struct odp_mirror_ops - a driver's callbacks
 * @invalidate_start: entries of @inv's range were cleared (or
 *	write-protected) in the mirror's table; the driver zaps its own
 *	hardware entries for the range and starts its TLB flush
 * @invalidate_finish: the driver waits for that flush. Only after it
 *	returns does the mirror unmap DMA, mark written pages dirty and
 *	free table pages. On kernels with two-pass interval notifiers (7.x)
 *	it runs in the notifier's second pass, so the flushes of all the
 *	notifiers of one invalidation can overlap; elsewhere right after
 *	@invalidate_start.
 * @install: a fault installed leaves in [@start, @end) of @mr; the driver
 *	may program its hardware from them (odp_mirror_lookup() or
 *	odp_mirror_for_each_leaf()) before anyone can invalidate them
 *
 * Every callback runs with the mirror lock held, must not allocate
 * memory that may sleep in reclaim, and must not fault on user memory.
 * Any may be NULL.
 */
struct odp_mirror_ops {
	void (*invalidate_start)(struct odp_mirror *m, const struct odp_inval *inv);
	void (*invalidate_finish)(struct odp_mirror *m, const struct odp_inval *inv);
	void (*install)(struct odp_mirror *m, struct odp_mr *mr,
			unsigned long start, unsigned long end);
};

/**
 * struct odp_mirror_desc - what a driver asks of odp_mirror_create()
 * @pgsize_bitmap: leaf sizes the device supports: SZ_4K, plus any of
 *	SZ_2M and SZ_1G
 * @dma_dev: the device that reaches memory through the DMA API, or NULL.
 *	With a device, each leaf is one DMA mapping of its whole size, made
 *	when it is installed, and the leaf's frame is its DMA address >>
 *	PAGE_SHIFT (see odp_mirror_leaf_dma()); without one, frames are pfns.
 * @ops: the driver's callbacks, or NULL
 * @priv: the driver's pointer, see odp_mirror_priv()
 */
struct odp_mirror_desc {
	unsigned long pgsize_bitmap;
	struct device *dma_dev;
	const struct odp_mirror_ops *ops;
	void *priv;
};

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
 *	change seen by mmu_interval_read_retry() that an invalidation of the
 *	batch's own range caused
 * @retries_unrelated: of @retries, those hmm_range_fault() forced although
 *	no invalidation touched the batch (it checks the whole MR's sequence)
 * @seq_unrelated: sequence changes found at install time that did not
 *	force a retry, because every invalidation since lay outside the
 *	batch
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
 * @dma_maps: DMA mappings (or IOVA links) made, one per leaf
 * @dma_unmaps: DMA mappings (or IOVA links) removed
 * @dma_relinks: huge leaves whose IOVA link was rebuilt after a split
 * @refreshes: faults that had to replace leaves of a DMA mirror
 */
struct odp_mirror_stats {
	u64 faults;
	u64 hmm_calls;
	u64 retries;
	u64 retries_unrelated;
	u64 seq_unrelated;
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
	u64 dma_maps;
	u64 dma_unmaps;
	u64 dma_relinks;
	u64 refreshes;
};

struct odp_mirror *odp_mirror_create(struct mm_struct *mm,
				     const struct odp_mirror_desc *desc);
void odp_mirror_destroy(struct odp_mirror *m);
int odp_mirror_set_reserve(struct odp_mirror *m, unsigned int pages);
void *odp_mirror_priv(const struct odp_mirror *m);

struct odp_mr *odp_mr_register(struct odp_mirror *m, unsigned long start,
			       unsigned long length, unsigned int access,
			       void *priv);
void odp_mr_unregister(struct odp_mr *mr);
void *odp_mr_priv(const struct odp_mr *mr);
int odp_mirror_set_implicit(struct odp_mirror *m, bool enable);

int odp_mirror_fault(struct odp_mirror *m, unsigned long va,
		     unsigned long length, unsigned int flags);
int odp_mirror_fault_and_lock(struct odp_mirror *m, unsigned long va,
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
bool odp_mirror_range_mapped(struct odp_mirror *m, unsigned long va,
			     unsigned long length, bool write);
int odp_mirror_snapshot(struct odp_mirror *m, unsigned long va,
			unsigned long npages, u8 *out);
void odp_mirror_get_stats(struct odp_mirror *m, struct odp_mirror_stats *st);

/**
 * odp_mirror_leaf_dma() - the DMA address of an address inside a leaf
 * @leaf: a leaf of a mirror created with a DMA device
 * @va: an address inside @leaf
 *
 * Return: the DMA address the device uses for @va.
 */
static inline dma_addr_t odp_mirror_leaf_dma(const struct odp_pt_leaf *leaf,
					     unsigned long va)
{
	return ((dma_addr_t)leaf->pfn << PAGE_SHIFT) + (va - leaf->va);
}

/**
 * odp_mirror_for_each_leaf - iterate over the present leaves of a range
 * @m: the mirror, locked with odp_mirror_lock()
 * @it: a &struct odp_pt_iter
 * @va: start of the range
 * @len: length of the range
 * @leaf: a &struct odp_pt_leaf, filled for each leaf intersecting the range
 */
#define odp_mirror_for_each_leaf(m, it, va, len, leaf)			\
	odp_pgtable_for_each_leaf(odp_mirror_table(m), it, va, len, leaf)

struct odp_pgtable *odp_mirror_table(struct odp_mirror *m);

#endif /* _ODP_MIRROR_H */
