// SPDX-License-Identifier: GPL-2.0
/*
 * odp_mirror: mirror a process address space into a device page table.
 *
 * MRs. Each explicit MR has its own mmu_interval_notifier over its range.
 * The implicit MR covers the rest of the user address space; like mlx5's
 * implicit ODP it is populated lazily, with one notifier per 1 GiB-aligned
 * chunk created on the first fault there, and it grants read-write access.
 * An address inside an explicit MR belongs to that MR only: a chunk's
 * notifier, which covers the explicit MRs inside the chunk too, clears
 * only the gaps between them, and an explicit MR owns its range from the
 * moment it enters the mirror's tree of MRs to the moment it leaves it.
 *
 * Faults. A fault walks its range in batches: each batch is cut at the
 * next 2M boundary, the end of its MR (or implicit gap) and the end of its
 * VMA, so one hmm_range_fault() call covers at most 2M. The usual loop:
 * mmu_interval_read_begin(), hmm_range_fault() under mmap_read_lock,
 * then under the mirror lock mmu_interval_read_retry(), and only then the
 * table is written. One notifier covers a whole MR, so its sequence moves
 * for invalidations anywhere in it; the notifier therefore logs the last
 * ranges it invalidated, and a batch whose sequence moved is redone only
 * if one of them overlaps what it is about to install. A batch gives up
 * with -EBUSY only after ODP_FAULT_MAX_RACES retries that invalidations
 * of its own range forced *and* HMM_RANGE_DEFAULT_TIMEOUT: a slow machine
 * alone never fails a fault.
 *
 * Leaf choice. A pfn that the CPU maps with a PMD or PUD gives a 2M or 1G
 * leaf over its whole aligned block, even past the batch, when the block
 * lies inside the MR and the VMA and its pfn is aligned; a mapping the MR
 * or the VMA cuts gives its part inside them, as one run. Otherwise the
 * batch's pfns go to the table as one frame array, read in place, and the
 * table gives its contiguous, aligned stretches of one permission the
 * largest leaves that va and pa alignment and the device's sizes allow;
 * since the array never leaves its batch, it never leaves its MR or VMA
 * either. The table merges tables that become full and contiguous, inside
 * the MR and the VMA. A writable leaf never spans more than one folio:
 * the device's dirty bit is per leaf and the kernel's per folio, so a
 * larger one would make one device write dirty folios nobody wrote.
 *
 * Invalidation. The notifier clears the covered entries; a huge leaf only
 * partly covered is split with pages from the mirror's reserve, which the
 * fault path refills, and when the reserve is empty the whole leaf is
 * cleared and counted as a fallback. MMU_NOTIFY_PROTECTION_PAGE (the
 * write-protect of fork and page_mkclean) and MMU_NOTIFY_SOFT_DIRTY only
 * write-protect; every other event, MMU_NOTIFY_PROTECTION_VMA included,
 * clears. Leaves the device wrote mark their folios dirty.
 *
 * Drivers and DMA. A mirror may have driver callbacks (struct
 * odp_mirror_ops) and a DMA device. Then every removal of entries follows
 * one order, in the notifier, MR unregistration, implicit off, destroy,
 * and the faults that must replace leaves or free merged tables:
 *
 *   1. clear the entries in the table (zap: no longer present, but kept
 *	for step 3);
 *   2. the driver zaps its hardware entries and flushes its TLB
 *	(ops->invalidate_start, ops->invalidate_finish);
 *   3. unmap DMA and mark the folios the device wrote dirty (the sweep);
 *   4. free the table pages.
 *
 * Without callbacks and DMA, steps 1 and 3 are one. With a DMA device each
 * leaf is one DMA mapping of its whole size: dma_map_page() of the run on
 * 6.1 and 6.12, and where the kernel has the IOVA API (7.x) and the device
 * sits behind an IOMMU, one IOVA range per MR with one dma_iova_link() per
 * leaf, its IOVA as aligned as its virtual address. A DMA mirror clears on
 * every event (a write-protect would change a mapping's direction), never
 * changes a leaf in place (a fault that must, clears and maps it again),
 * and never merges. A split keeps the rest of the leaf: with the IOVA API
 * the huge IOVA link is rebuilt from smaller ones once the driver has
 * flushed, so the untouched pages keep their DMA addresses; with
 * dma_map_page(), which cannot unmap part of a mapping, the whole leaf is
 * cleared and the device refaults the rest.
 *
 * Locking, outermost first:
 *
 *   mirror->mr_sem (rw_semaphore): the set of MRs and implicit chunks.
 *	Faults hold it for read throughout, so an MR cannot go away under
 *	a fault; register, unregister and implicit on/off hold it for write.
 *   mmap_lock of the mm: held for read around vma_lookup() and
 *	hmm_range_fault() only.
 *   mirror->lock (mutex): the device page table (its lock, see
 *	odp_pgtable.h), the reserves, the invalidation log, the statistics
 *	and every driver callback. The notifier takes it, with
 *	mutex_trylock() when it may not block, so under it nothing may sleep
 *	on allocation, fault on user memory or take the locks above; lockdep
 *	is told so when a mirror is created. Table pages come only from the
 *	reserve, which the fault path fills with GFP_KERNEL_ACCOUNT before
 *	taking the lock. The device's page walker holds it across lookup and
 *	use of a translation.
 *
 * mmu_interval_notifier_remove() waits for running invalidations, which
 * take mirror->lock, so it is called with no lock held. The mirror holds
 * mmgrab() on the mm, never mmget() beyond a single call.
 */
#include <linux/debugfs.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/hmm.h>
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "odp_compat.h"
#include "odp_mirror.h"

#define CREATE_TRACE_POINTS
#include "odp_mirror_trace.h"

/* A batch: one hmm_range_fault() call, at most this long */
#define ODP_BATCH_SIZE		SZ_8M
#define ODP_BATCH_PAGES		(ODP_BATCH_SIZE >> PAGE_SHIFT)
/* ... so at most this many 2M blocks, each mapped whole or by PTEs */
#define ODP_BATCH_BLOCKS	(ODP_BATCH_SIZE / SZ_2M)
#define ODP_CHUNK_SIZE		BIT(ODP_IMPLICIT_CHUNK_SHIFT)
/* Invalidations are done in pieces of this size, with a reschedule between */
#define ODP_PIECE_SIZE		SZ_1G
/* The notifier's log of recent ranges, read by faults whose sequence moved */
#define ODP_INVAL_LOG		16
/* Retries of one batch, forced by invalidations of its own range ... */
#define ODP_FAULT_MAX_RACES	16
/* ... or of any kind, before it may give up with -EBUSY */
#define ODP_FAULT_MAX_RETRIES	1024
/* Huge leaves one table operation can split: two ends, two huge sizes */
#define ODP_MAX_SPLITS		(2 * (ODP_PT_NR_SIZES - 1))

/* How a fault was asked for */
#define ODP_HOW_FAULT		BIT(0)	/* fault what is missing */
#define ODP_HOW_WRITE		BIT(1)	/* ... for write */
#define ODP_HOW_READONLY	BIT(2)	/* map read-only whatever the CPU has */
#define ODP_HOW_FLOOR		BIT(3)	/* the whole loop, but install nothing */

enum odp_dma_mode {
	ODP_DMA_NONE,		/* leaves hold pfns */
	ODP_DMA_PAGE,		/* one dma_map_page() per leaf */
	ODP_DMA_IOVA,		/* one IOVA range per MR, one link per leaf */
};

struct odp_inval_rec {
	u64 gen;
	unsigned long start;
	unsigned long end;
};

struct odp_mirror {
	struct mm_struct *mm;
	unsigned int id;		/* in tracepoints and debugfs */
	unsigned long limit;		/* end of the mirrored addresses */
	const struct odp_mirror_ops *ops;
	void *priv;
	struct device *dma_dev;
	enum odp_dma_mode dma;
	bool defer;			/* ops or DMA: the four-step teardown */
	struct rw_semaphore mr_sem;
	/* explicit MRs: changed under mr_sem (write) and lock, read under either */
	struct rb_root_cached mrs;
	struct xarray chunks;		/* implicit MR chunks, under mr_sem */
	bool implicit;			/* under mr_sem */
	unsigned long nr_mrs;		/* under mr_sem */
	unsigned long nr_chunks;	/* under mr_sem */
	struct mutex lock;		/* the table lock, see above */
	struct odp_pgtable pt;
	struct odp_pt_reserve reserve;	/* the notifier's, under lock */
	struct odp_pt_reserve spare;	/* the fault path's, under lock */
	unsigned int reserve_target;	/* under lock */
	u64 inval_gen;			/* written under lock, read racily */
	unsigned int zap_tag;		/* the last invalidation's, under lock */
	struct odp_inval_rec inval_log[ODP_INVAL_LOG];	/* under lock */
	struct odp_mirror_stats stats;	/* under lock */
	atomic_long_t finish_passes;	/* the notifier's second pass, no lock */
	struct dentry *debugfs;
	u32 pid;			/* of the creator, if its mm is @mm */
	unsigned long dump_start;	/* debugfs "leaves" range, under lock */
	unsigned long dump_end;
};

struct odp_mr {
	struct mmu_interval_notifier notifier;
	struct interval_tree_node node;	/* in mirror->mrs, explicit only */
	struct list_head gone;		/* on the way out, implicit only */
	struct odp_mirror *mirror;
	unsigned long start;
	unsigned long end;
	unsigned int access;
	bool implicit;			/* an implicit MR chunk */
	bool linked;			/* explicit, in mirror->mrs: under lock */
	void *priv;
	struct odp_iova iova;		/* ODP_DMA_IOVA: the MR's IOVA range */
};

/* The part of an MR, or of an implicit gap, that a fault works in */
struct odp_region {
	struct odp_mr *mr;
	unsigned long start;
	unsigned long end;
	bool writable;
};

/* One odp_mirror_fault() or odp_mirror_prefetch() call */
struct odp_fault {
	struct odp_mirror *m;
	unsigned int how;
	bool probe;			/* try one pfn first: the last block was huge */
	unsigned long *pfns;		/* hmm_range_fault()'s output */
	struct odp_pt_reserve pages;	/* allocated unlocked, spliced in */
	unsigned int need;		/* table pages the last map lacked */
	unsigned long installed[ODP_PT_NR_SIZES];
	u64 hmm_calls;
	u64 retries;
	u64 retries_unrelated;
	u64 seq_unrelated;
	u64 pages_faulted;
};

/*
 * What the table callbacks of one operation need: the MR whose leaves
 * they are, and for DMA the pending IOVA unlink, the huge leaves split
 * (their links are rebuilt after the flush) and the span linked.
 */
struct odp_ctx {
	struct odp_mirror *m;
	struct odp_mr *mr;
	unsigned long run_off;		/* IOVA unlink gathered so far */
	unsigned long run_len;
	struct odp_pt_leaf split[ODP_MAX_SPLITS];
	phys_addr_t split_phys[ODP_MAX_SPLITS];
	unsigned int nr_split;
	unsigned long sync_lo;		/* IOVA offsets linked by a map */
	unsigned long sync_hi;
};

static inline unsigned long odp_hmm_pfn(unsigned long hmm_pfn)
{
	return hmm_pfn & ~HMM_PFN_FLAGS;
}

static void odp_ctx_init(struct odp_ctx *c, struct odp_mirror *m,
			 struct odp_mr *mr)
{
	*c = (struct odp_ctx){ .m = m, .mr = mr, .sync_lo = ULONG_MAX };
}

/* --- DMA --- */

/* The pfn behind a DMA address of this mirror's device */
static unsigned long odp_dma_to_pfn(struct odp_mirror *m, dma_addr_t dma)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(m->dma_dev);

	if (domain)
		return PHYS_PFN(iommu_iova_to_phys(domain, dma));
	return PHYS_PFN(dma_to_phys(m->dma_dev, dma));
}

/* A leaf's mapping direction: a read-only leaf never lets the device write */
static inline enum dma_data_direction odp_dma_dir(bool writable)
{
	return writable ? DMA_BIDIRECTIONAL : DMA_TO_DEVICE;
}

/* Offset in the MR's IOVA range of @va */
static inline unsigned long odp_iova_off(const struct odp_mr *mr,
					 unsigned long va)
{
	return mr->iova.pad + (va - mr->start);
}

/*
 * Reserve the IOVA range of an MR such that each address's IOVA is as
 * aligned as the address itself, up to the largest leaf that fits in the
 * MR: then a leaf aligned in virtual space is aligned in DMA space too.
 */
static int odp_mr_iova_alloc(struct odp_mirror *m, struct odp_mr *mr)
{
	unsigned long len = mr->end - mr->start, align = PAGE_SIZE;
	unsigned long sizes = m->pt.pgsize_bitmap & GENMASK(fls_long(len) - 1, 0);

	if (m->dma != ODP_DMA_IOVA)
		return 0;
	if (sizes)
		align = BIT(fls_long(sizes) - 1);
	mr->iova.pad = mr->start & (align - 1);
	return odp_iova_alloc(m->dma_dev, &mr->iova, mr->iova.pad + len) ? 0 : -ENOMEM;
}

static void odp_mr_iova_free(struct odp_mirror *m, struct odp_mr *mr)
{
	if (m->dma == ODP_DMA_IOVA && mr->iova.valid)
		odp_iova_free(m->dma_dev, &mr->iova);
}

/* Unlink the IOVA run gathered so far */
static void odp_ctx_unlink(struct odp_ctx *c)
{
	if (!c->run_len)
		return;
	odp_iova_unlink(c->m->dma_dev, &c->mr->iova, c->run_off, c->run_len);
	c->run_len = 0;
}

/* Was @leaf part of a huge leaf this operation split? Its index, or -1. */
static int odp_ctx_split_of(const struct odp_ctx *c, const struct odp_pt_leaf *leaf)
{
	unsigned int i;

	for (i = 0; i < c->nr_split; i++)
		if (leaf->va >= c->split[i].va &&
		    leaf->va < c->split[i].va + BIT(c->split[i].shift))
			return i;
	return -1;
}

/* The pfn of the first page of a leaf */
static unsigned long odp_leaf_pfn(struct odp_ctx *c, const struct odp_pt_leaf *leaf)
{
	int s;

	if (c->m->dma == ODP_DMA_NONE)
		return leaf->pfn;
	s = odp_ctx_split_of(c, leaf);
	if (s >= 0 && c->split_phys[s])
		return PHYS_PFN(c->split_phys[s]) +
		       ((leaf->va - c->split[s].va) >> PAGE_SHIFT);
	return odp_dma_to_pfn(c->m, (dma_addr_t)leaf->pfn << PAGE_SHIFT);
}

/* Give back the DMA mapping of a leaf that left the table */
static void odp_dma_unmap_leaf(struct odp_ctx *c, const struct odp_pt_leaf *leaf)
{
	struct odp_mirror *m = c->m;
	dma_addr_t dma = (dma_addr_t)leaf->pfn << PAGE_SHIFT;
	unsigned long off, size = BIT(leaf->shift);

	if (m->dma == ODP_DMA_PAGE) {
		m->stats.dma_unmaps++;
		dma_unmap_page(m->dma_dev, dma, size, odp_dma_dir(leaf->writable));
		return;
	}
	/*
	 * A part of a split leaf: the whole was unlinked, and counted, before
	 * the sweep; this part was never a mapping of its own.
	 */
	if (odp_ctx_split_of(c, leaf) >= 0)
		return;
	m->stats.dma_unmaps++;
	off = dma - odp_iova_addr(&c->mr->iova);
	if (c->run_len && c->run_off + c->run_len == off) {
		c->run_len += size;
		return;
	}
	odp_ctx_unlink(c);
	c->run_off = off;
	c->run_len = size;
}

/* The table's install callback: one DMA mapping for the new leaf */
static int odp_dma_install(void *priv, struct odp_pt_leaf *leaf)
{
	struct odp_ctx *c = priv;
	struct odp_mirror *m = c->m;
	unsigned long size = BIT(leaf->shift), off;
	enum dma_data_direction dir = odp_dma_dir(leaf->writable);
	dma_addr_t dma;

	if (m->dma == ODP_DMA_PAGE) {
		dma = dma_map_page(m->dma_dev, pfn_to_page(leaf->pfn), 0, size, dir);
		if (dma_mapping_error(m->dma_dev, dma))
			return -EIO;
		/* dma-iommu aligns IOVAs to their size, dma-direct to the page */
		if (WARN_ON_ONCE(!IS_ALIGNED(dma, size))) {
			dma_unmap_page(m->dma_dev, dma, size, dir);
			return -EIO;
		}
	} else {
		off = odp_iova_off(c->mr, leaf->va);
		if (odp_iova_link(m->dma_dev, &c->mr->iova, PFN_PHYS(leaf->pfn),
				  off, size, dir))
			return -EIO;
		c->sync_lo = min(c->sync_lo, off);
		c->sync_hi = max(c->sync_hi, off + size);
		dma = odp_iova_addr(&c->mr->iova) + off;
	}
	m->stats.dma_maps++;
	leaf->pfn = dma >> PAGE_SHIFT;
	return 0;
}

/* Make the links of a map visible to the device: one IOTLB sync */
static void odp_dma_sync(struct odp_ctx *c)
{
	if (c->m->dma == ODP_DMA_IOVA && c->sync_lo < c->sync_hi)
		odp_iova_sync(c->m->dma_dev, &c->mr->iova, c->sync_lo,
			      c->sync_hi - c->sync_lo);
	c->sync_lo = ULONG_MAX;
	c->sync_hi = 0;
}

/* The table's split callback: remember the leaf, its link is rebuilt */
static void odp_dma_split(void *priv, const struct odp_pt_leaf *leaf)
{
	struct odp_ctx *c = priv;

	if (WARN_ON_ONCE(c->nr_split == ODP_MAX_SPLITS))
		return;
	c->split_phys[c->nr_split] = 0;
	c->split[c->nr_split++] = *leaf;
}

/* --- table edits under the lock --- */

/*
 * The table's release callback: leaves leaving the table, or losing write
 * access, mark the folios the device wrote dirty; leaves leaving the table
 * give their DMA mapping back.
 */
static void odp_release_leaf(void *priv, const struct odp_pt_leaf *leaf)
{
	struct odp_ctx *c = priv;
	struct odp_mirror *m = c->m;

	if (leaf->dirty) {
		unsigned long pfn = odp_leaf_pfn(c, leaf);
		unsigned long end = pfn + (1UL << (leaf->shift - PAGE_SHIFT));

		while (pfn < end) {
			struct folio *folio = page_folio(pfn_to_page(pfn));

			folio_mark_dirty(folio);
			m->stats.dirty_propagations++;
			pfn = folio_pfn(folio) + folio_nr_pages(folio);
		}
	}
	if (leaf->gone && m->dma != ODP_DMA_NONE)
		odp_dma_unmap_leaf(c, leaf);
}

/* Clear [from, to), whose IOVA links a failed relink left out */
static void odp_dma_drop_unlinked(struct odp_ctx *c, unsigned long from,
				  unsigned long to)
{
	struct odp_pt_result res;

	if (from >= to)
		return;
	odp_pt_result_init(&res, odp_release_leaf, c);
	WARN_ON_ONCE(odp_pgtable_unmap(&c->m->pt, from, to - from,
				       ODP_PT_FALLBACK, NULL, &res));
	odp_pgtable_free_tables(&c->m->pt, &res);
}

/*
 * After the driver's flush: each huge leaf split by this operation was one
 * huge IOVA link, which cannot be unlinked in part. Unlink it whole and
 * link again, with the largest links they allow, the parts still in the
 * table, at the same IOVAs. A part that cannot be linked again is cleared.
 */
static void odp_dma_relink(struct odp_ctx *c)
{
	struct odp_mirror *m = c->m;
	unsigned int i;

	for (i = 0; i < c->nr_split; i++) {
		const struct odp_pt_leaf *p = &c->split[i];
		unsigned long size = BIT(p->shift), base = odp_iova_off(c->mr, p->va);
		unsigned long run_va = 0, run_len = 0, run_leaves = 0;
		struct odp_pt_leaf leaf;
		struct odp_pt_iter it;
		phys_addr_t phys;
		bool inner = false;
		unsigned int j;

		/* a split inside a split: the outer one does it all */
		for (j = 0; j < c->nr_split; j++)
			inner |= j != i && p->va >= c->split[j].va &&
				 p->va + size <= c->split[j].va + BIT(c->split[j].shift) &&
				 c->split[j].shift > p->shift;
		if (inner)
			continue;
		phys = PFN_PHYS(odp_dma_to_pfn(m, (dma_addr_t)p->pfn << PAGE_SHIFT));
		c->split_phys[i] = phys;
		odp_iova_unlink(m->dma_dev, &c->mr->iova, base, size);
		m->stats.dma_relinks++;
		/*
		 * Counted per leaf, as the leaves will leave: the huge leaf's
		 * mapping goes, each part linked again is one of its own.
		 */
		m->stats.dma_unmaps++;
		odp_pgtable_for_each_leaf(&m->pt, &it, p->va, size, &leaf) {
			if (run_len && leaf.va == run_va + run_len) {
				run_len += BIT(leaf.shift);
				run_leaves++;
				continue;
			}
			if (run_len && odp_iova_link(m->dma_dev, &c->mr->iova,
						     phys + (run_va - p->va),
						     base + (run_va - p->va), run_len,
						     odp_dma_dir(p->writable)))
				goto failed;
			m->stats.dma_maps += run_leaves;
			run_va = leaf.va;
			run_len = BIT(leaf.shift);
			run_leaves = 1;
		}
		if (run_len && odp_iova_link(m->dma_dev, &c->mr->iova,
					     phys + (run_va - p->va),
					     base + (run_va - p->va), run_len,
					     odp_dma_dir(p->writable)))
			goto failed;
		m->stats.dma_maps += run_leaves;
		odp_iova_sync(m->dma_dev, &c->mr->iova, base, size);
		continue;
failed:
		/*
		 * What was linked again before the failure stays linked and
		 * mapped; the rest leaves the table. The driver flushed the
		 * whole leaf already.
		 */
		odp_iova_sync(m->dma_dev, &c->mr->iova, base, run_va - p->va);
		odp_dma_drop_unlinked(c, run_va, p->va + size);
	}
}

static void odp_account(struct odp_mirror *m, const struct odp_pt_result *res)
{
	unsigned int s;

	for (s = 0; s < ODP_PT_NR_SIZES; s++)
		m->stats.leaves_installed[s] += res->installed[s];
	m->stats.splits += res->splits;
	m->stats.merges += res->merges;
	m->stats.fallbacks += res->fallback;
}

/* Events that only take write access away: the rest clear */
static bool odp_event_protects(struct odp_mirror *m, const struct odp_inval *inv)
{
	/* a DMA mapping's direction cannot be taken back: clear instead */
	return inv->reason == ODP_INVAL_NOTIFIER && m->dma == ODP_DMA_NONE &&
	       (inv->event == MMU_NOTIFY_PROTECTION_PAGE ||
		inv->event == MMU_NOTIFY_SOFT_DIRTY);
}

/* [start, end) widened to the whole leaves that straddle its edges */
static void odp_leaf_span(struct odp_mirror *m, unsigned long *start,
			  unsigned long *end)
{
	struct odp_pt_leaf leaf;

	if (odp_pgtable_lookup(&m->pt, *start, &leaf))
		*start = min_t(unsigned long, *start, leaf.va);
	if (odp_pgtable_lookup(&m->pt, *end - 1, &leaf))
		*end = max_t(unsigned long, *end, leaf.va + BIT(leaf.shift));
}

/* Remember an invalidated range for faults whose sequence moved */
static void odp_inval_log(struct odp_mirror *m, unsigned long start,
			  unsigned long end)
{
	struct odp_inval_rec *r = &m->inval_log[(m->inval_gen + 1) % ODP_INVAL_LOG];

	lockdep_assert_held(&m->lock);
	r->gen = m->inval_gen + 1;
	r->start = start;
	r->end = end;
	/* pairs with odp_inval_gen(): the sequence moved before the log did */
	smp_wmb();
	WRITE_ONCE(m->inval_gen, r->gen);
}

/* Read before mmu_interval_read_begin() */
static u64 odp_inval_gen(struct odp_mirror *m)
{
	u64 gen = READ_ONCE(m->inval_gen);

	/* pairs with odp_inval_log()'s smp_wmb(): the log before the sequence */
	smp_rmb();
	return gen;
}

/* Did an invalidation logged after @gen touch [start, end)? */
static bool odp_inval_since(struct odp_mirror *m, u64 gen, unsigned long start,
			    unsigned long end)
{
	u64 g;

	lockdep_assert_held(&m->lock);
	if (m->inval_gen - gen > ODP_INVAL_LOG)
		return true;
	for (g = gen + 1; g <= m->inval_gen; g++) {
		const struct odp_inval_rec *r = &m->inval_log[g % ODP_INVAL_LOG];

		if (r->start < end && start < r->end)
			return true;
	}
	return false;
}

/*
 * One invalidation in progress: what the driver is told, the range the
 * table clears (inside the driver's), and the table operation's state.
 */
struct odp_inv {
	struct odp_inval inv;
	unsigned long start;
	unsigned long end;
	bool changed;			/* anything cleared, protected or split */
	struct odp_ctx ctx;
	struct odp_pt_result res;
};

static void odp_inv_init(struct odp_inv *v, struct odp_mr *mr,
			 unsigned long start, unsigned long end,
			 enum odp_inval_reason reason, int event, bool blockable)
{
	*v = (struct odp_inv){
		.inv = { .mr = mr, .start = start, .end = end, .reason = reason,
			 .event = event, .blockable = blockable },
		.start = start, .end = end,
	};
	odp_pt_result_init(&v->res, NULL, NULL);
}

/* Clear or write-protect [start, end) for invalidation @v */
static int odp_inv_op(struct odp_mirror *m, struct odp_inv *v,
		      unsigned long start, unsigned long end)
{
	const struct odp_pt_alloc alloc = {
		/* dma_map_page() cannot unmap a part: no splits there */
		.reserve = m->dma == ODP_DMA_PAGE ? NULL : &m->reserve,
	};
	unsigned int flags = ODP_PT_FALLBACK | (m->defer ? ODP_PT_ZAP : 0);

	if (v->inv.protect)
		return odp_pgtable_protect(&m->pt, start, end - start, flags,
					   &alloc, &v->res);
	return odp_pgtable_unmap(&m->pt, start, end - start, flags, &alloc,
				 &v->res);
}

/*
 * Steps 1 and 2 of the teardown order, under the lock: clear (or
 * write-protect) the entries, then let the driver zap its own. The
 * entries of an implicit chunk lie only in the gaps between the explicit
 * MRs inside it; the rest belongs to those MRs and their own notifiers.
 * The zapped entries carry a tag of this invalidation's own, so that its
 * sweep finishes them and no other's.
 */
static void odp_inv_begin(struct odp_mirror *m, struct odp_inv *v)
{
	struct odp_pt_result *res = &v->res;
	struct interval_tree_node *node;
	unsigned long pos = v->start;
	unsigned int s;
	int ret = 0;

	lockdep_assert_held(&m->lock);
	odp_ctx_init(&v->ctx, m, v->inv.mr);
	odp_pt_result_init(res, odp_release_leaf, &v->ctx);
	m->zap_tag = m->zap_tag % ODP_PT_ZAP_TAG_MAX + 1;
	res->tag = m->zap_tag;
	if (m->dma == ODP_DMA_IOVA)
		res->split = odp_dma_split;
	v->inv.protect = odp_event_protects(m, &v->inv);
	/* an explicit MR off the tree owns no entries: the chunks' they are */
	if (!v->inv.mr->implicit && !v->inv.mr->linked)
		pos = v->end;
	if (v->inv.mr->implicit) {
		for (node = interval_tree_iter_first(&m->mrs, v->start, v->end - 1);
		     node && !ret;
		     node = interval_tree_iter_next(node, v->start, v->end - 1)) {
			if (node->start > pos)
				ret = odp_inv_op(m, v, pos, node->start);
			pos = max(pos, node->last + 1);
		}
	}
	if (!ret && pos < v->end)
		ret = odp_inv_op(m, v, pos, v->end);
	WARN_ON_ONCE(ret);
	odp_account(m, res);
	for (s = 0; s < ODP_PT_NR_SIZES; s++)
		v->changed |= res->cleared[s] || res->protected[s];
	v->changed |= res->splits;
	if (v->changed && m->ops && m->ops->invalidate_start)
		m->ops->invalidate_start(m, &v->inv);
}

/*
 * Steps 2 to 4, under the lock: the driver waits for its flush, then DMA
 * is unmapped, dirty bits reach the folios and the tables are unlinked
 * into v->res.freed, for the caller to free.
 */
static void odp_inv_end(struct odp_mirror *m, struct odp_inv *v)
{
	lockdep_assert_held(&m->lock);
	if (!v->changed)
		return;
	if (m->ops && m->ops->invalidate_finish)
		m->ops->invalidate_finish(m, &v->inv);
	if (!m->defer)
		return;
	odp_dma_relink(&v->ctx);
	WARN_ON_ONCE(odp_pgtable_sweep(&m->pt, v->inv.start,
				       v->inv.end - v->inv.start, &v->res));
	odp_ctx_unlink(&v->ctx);
}

/*
 * A notifier invalidation that cleared whole leaves for want of reserve
 * pages changed entries outside the range it logged: log those too, or a
 * fault racing it there would map over the zapped leaves.
 */
static void odp_inv_log_fallback(struct odp_mirror *m, struct odp_inv *v)
{
	if (v->inv.reason == ODP_INVAL_NOTIFIER && v->res.fallback)
		odp_inval_log(m, v->inv.start, v->inv.end);
}

/*
 * Take the lock for an invalidation: false if it may not block and the
 * lock is taken (the OOM reaper then tries again later).
 */
static bool odp_lock(struct odp_mirror *m, bool blockable)
{
	if (blockable)
		mutex_lock(&m->lock);
	else if (!mutex_trylock(&m->lock))
		return false;
	return true;
}

/*
 * The next piece of an invalidation whose driver range is [dstart, dend):
 * ODP_PIECE_SIZE-aligned, so that no piece cuts a leaf; the table clears
 * its part of [start, end).
 */
static void odp_next_piece(struct odp_inv *v, struct odp_mr *mr,
			   unsigned long start, unsigned long end,
			   unsigned long *pos, unsigned long dend,
			   enum odp_inval_reason reason, int event, bool blockable)
{
	unsigned long ps = *pos;
	unsigned long pe = min(dend, ALIGN_DOWN(ps, ODP_PIECE_SIZE) + ODP_PIECE_SIZE);

	*pos = pe;
	odp_inv_init(v, mr, max(ps, start), min(pe, end), reason, event, blockable);
	v->inv.start = ps;
	v->inv.end = pe;
}

/*
 * A whole invalidation of [start, end) in @mr, piece by piece, each with
 * the four steps. The driver's range widens to the leaves straddling the
 * edges. Between pieces the lock is dropped and, if @blockable, the CPU
 * given up: a process exiting with a large mirror must not hog it.
 * false: @blockable is false and the lock was taken.
 */
static bool odp_invalidate(struct odp_mirror *m, struct odp_mr *mr,
			   unsigned long start, unsigned long end,
			   enum odp_inval_reason reason, int event,
			   bool blockable, unsigned long cur_seq)
{
	unsigned long pos = 0, dend = 0;
	struct odp_inv v;

	if (start >= end)
		return true;
	for (;;) {
		if (!odp_lock(m, blockable))
			return false;
		if (!dend) {
			if (reason == ODP_INVAL_NOTIFIER) {
				mmu_interval_set_seq(&mr->notifier, cur_seq);
				odp_inval_log(m, start, end);
				m->stats.invalidations++;
			}
			pos = start;
			dend = end;
			odp_leaf_span(m, &pos, &dend);
		}
		odp_next_piece(&v, mr, start, end, &pos, dend, reason, event,
			       blockable);
		if (v.start < v.end) {
			odp_inv_begin(m, &v);
			odp_inv_log_fallback(m, &v);
			odp_inv_end(m, &v);
			if (reason == ODP_INVAL_NOTIFIER)
				trace_odp_invalidate(m->id, v.start, v.end, event,
						     v.inv.protect,
						     v.inv.protect ? v.res.protected :
								     v.res.cleared,
						     v.res.splits, v.res.fallback);
		}
		mutex_unlock(&m->lock);
		odp_pgtable_free_tables(&m->pt, &v.res);
		if (pos >= dend)
			return true;
		if (blockable)
			cond_resched();
	}
}

/* --- the notifier --- */

/* The single-pass notifier: all four steps, piece by piece */
static bool odp_mr_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct odp_mr *mr = container_of(mni, struct odp_mr, notifier);

	return odp_invalidate(mr->mirror, mr, max(range->start, mr->start),
			      min(range->end, mr->end), ODP_INVAL_NOTIFIER,
			      range->event, mmu_notifier_range_blockable(range),
			      cur_seq);
}

/*
 * The two-pass notifier. The first pass clears the entries, so that the
 * device stops using them, and starts the driver's flush; the second, run
 * by the kernel after the first pass of every notifier of the
 * invalidation, waits for the flush, unmaps DMA, dirties folios and frees
 * the tables, so the flushes of several MRs can overlap. Done in the
 * first pass alone: what asks for nothing after it, an invalidation that
 * may not block, one larger than a piece, one whose split IOVA links must
 * be rebuilt, and one whose hand-over (GFP_NOWAIT) could not be allocated.
 */
struct odp_finish {
	struct mmu_interval_notifier_finish base;
	struct odp_mirror *m;
	struct odp_inv v;
};

static bool odp_mr_invalidate_start(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq,
				    struct mmu_interval_notifier_finish **finish)
{
	struct odp_mr *mr = container_of(mni, struct odp_mr, notifier);
	struct odp_mirror *m = mr->mirror;
	unsigned long start = max(range->start, mr->start);
	unsigned long end = min(range->end, mr->end);
	bool blockable = mmu_notifier_range_blockable(range);
	unsigned long dstart = start, dend = end;
	struct odp_finish *f = NULL;
	struct odp_inv local, *v;
	bool defer;

	if (ALIGN_DOWN(start, ODP_PIECE_SIZE) != ALIGN_DOWN(end - 1, ODP_PIECE_SIZE) ||
	    !blockable)
		return odp_invalidate(m, mr, start, end, ODP_INVAL_NOTIFIER,
				      range->event, blockable, cur_seq);
	f = kmalloc(sizeof(*f), GFP_NOWAIT | __GFP_NOWARN);
	v = f ? &f->v : &local;
	mutex_lock(&m->lock);
	mmu_interval_set_seq(mni, cur_seq);
	odp_inval_log(m, start, end);
	m->stats.invalidations++;
	odp_leaf_span(m, &dstart, &dend);
	odp_inv_init(v, mr, start, end, ODP_INVAL_NOTIFIER, range->event, true);
	v->inv.start = dstart;
	v->inv.end = dend;
	odp_inv_begin(m, v);
	odp_inv_log_fallback(m, v);
	trace_odp_invalidate(m->id, start, end, range->event, v->inv.protect,
			     v->inv.protect ? v->res.protected : v->res.cleared,
			     v->res.splits, v->res.fallback);
	defer = f && (m->defer ? v->changed && !v->ctx.nr_split :
				 !list_empty(&v->res.freed));
	if (!defer)
		odp_inv_end(m, v);
	mutex_unlock(&m->lock);
	if (defer) {
		f->m = m;
		*finish = &f->base;
		return true;
	}
	odp_pgtable_free_tables(&m->pt, &v->res);
	kfree(f);
	return true;
}

static void odp_mr_invalidate_finish(struct mmu_interval_notifier_finish *finish)
{
	struct odp_finish *f = container_of(finish, struct odp_finish, base);
	struct odp_mirror *m = f->m;

	if (m->defer) {
		mutex_lock(&m->lock);
		odp_inv_end(m, &f->v);
		mutex_unlock(&m->lock);
	}
	odp_pgtable_free_tables(&m->pt, &f->v.res);
	atomic_long_inc(&m->finish_passes);
	kfree(f);
}

static const struct mmu_interval_notifier_ops odp_mr_ops = {
	.invalidate = odp_mr_invalidate,
};

static const struct odp_two_pass_ops odp_mr_ops_two_pass = {
	.invalidate_start = odp_mr_invalidate_start,
	.invalidate_finish = odp_mr_invalidate_finish,
};

static bool single_pass;
module_param(single_pass, bool, 0644);
MODULE_PARM_DESC(single_pass,
		 "MRs created from now on use the single-pass notifier even where the kernel has two passes");

/* Do new MRs get the two-pass notifier? Where the kernel has it. */
static bool odp_two_pass(void)
{
	return ODP_TWO_PASS_SUPPORTED && !READ_ONCE(single_pass);
}

static const struct mmu_interval_notifier_ops *odp_mr_ops_pick(void)
{
	if (odp_two_pass())
		return (const void *)&odp_mr_ops_two_pass;	/* see odp_compat.h */
	return &odp_mr_ops;
}

/* --- MRs --- */

/* A new MR, or with @implicit an implicit chunk, its notifier inserted */
static struct odp_mr *odp_mr_new(struct odp_mirror *m, unsigned long start,
				 unsigned long end, unsigned int access,
				 void *priv, bool implicit)
{
	struct odp_mr *mr = kzalloc(sizeof(*mr), GFP_KERNEL_ACCOUNT);
	int ret;

	if (!mr)
		return ERR_PTR(-ENOMEM);
	mr->mirror = m;
	mr->start = start;
	mr->end = end;
	mr->access = access;
	mr->implicit = implicit;
	mr->priv = priv;
	ret = odp_mr_iova_alloc(m, mr);
	if (ret)
		goto out_free;
	ret = mmu_interval_notifier_insert(&mr->notifier, m->mm, start,
					   end - start, odp_mr_ops_pick());
	if (ret)
		goto out_iova;
	return mr;
out_iova:
	odp_mr_iova_free(m, mr);
out_free:
	kfree(mr);
	return ERR_PTR(ret);
}

/*
 * Clear what @mr mapped, under mr_sem for write so that no fault can map
 * into its range meanwhile; the notifier, still there, keeps the pages
 * alive while they are cleared. An explicit MR is still in the tree, so
 * that an implicit chunk's invalidation meanwhile leaves its entries
 * alone (odp_inv_begin()).
 */
static void odp_mr_clear(struct odp_mr *mr, enum odp_inval_reason reason)
{
	struct odp_mirror *m = mr->mirror;

	lockdep_assert_held_write(&m->mr_sem);
	odp_invalidate(m, mr, mr->start, mr->end, reason, MMU_NOTIFY_UNMAP, true, 0);
}

/*
 * Take an explicit MR off the tree, once its entries are cleared: from
 * now on its notifier, until removed, leaves the range to the implicit
 * chunks.
 */
static void odp_mr_unlink(struct odp_mr *mr)
{
	struct odp_mirror *m = mr->mirror;

	lockdep_assert_held_write(&m->mr_sem);
	mutex_lock(&m->lock);
	interval_tree_remove(&mr->node, &m->mrs);
	mr->linked = false;
	mutex_unlock(&m->lock);
}

/* Then, with no lock held (the removal waits for invalidations), free it */
static void odp_mr_free(struct odp_mr *mr)
{
	mmu_interval_notifier_remove(&mr->notifier);
	odp_mr_iova_free(mr->mirror, mr);
	kfree(mr);
}

static struct odp_mr *odp_explicit_mr(struct odp_mirror *m, unsigned long first,
				      unsigned long last)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&m->mrs, first, last);
	return node ? container_of(node, struct odp_mr, node) : NULL;
}

/* Clear what the implicit MR mapped in [start, end), chunk by chunk */
static void odp_zap_implicit(struct odp_mirror *m, unsigned long start,
			     unsigned long end)
{
	unsigned long idx;
	struct odp_mr *mr;

	lockdep_assert_held_write(&m->mr_sem);
	xa_for_each_range(&m->chunks, idx, mr, start >> ODP_IMPLICIT_CHUNK_SHIFT,
			  (end - 1) >> ODP_IMPLICIT_CHUNK_SHIFT)
		odp_invalidate(m, mr, max(start, mr->start), min(end, mr->end),
			       ODP_INVAL_UNREGISTER, MMU_NOTIFY_UNMAP, true, 0);
}

/**
 * odp_mr_register() - register an ODP memory region
 * @m: the mirror
 * @start: first address, page-aligned; need not be 2M-aligned
 * @length: length in bytes, a non-zero multiple of the page size
 * @access: %ODP_MR_READ, optionally | %ODP_MR_WRITE
 * @priv: the driver's pointer for this MR, see odp_mr_priv()
 *
 * Inserts an mmu_interval_notifier over the range; for a DMA mirror
 * behind an IOMMU with the IOVA API, also reserves the MR's IOVA range.
 * Nothing is faulted: the device faults or prefetches later. Entries the
 * implicit MR had mapped in the range are cleared, since they may grant
 * more than @access.
 *
 * Context: may sleep; takes the mm's mmap_lock.
 * Return: the MR, or an ERR_PTR(): -EINVAL for a bad range or access,
 * -EEXIST if it overlaps an MR, -ENOSPC past %ODP_MIRROR_MAX_MRS MRs,
 * -ESRCH if the process has exited, -ENOMEM (memory or IOVA space).
 */
struct odp_mr *odp_mr_register(struct odp_mirror *m, unsigned long start,
			       unsigned long length, unsigned int access,
			       void *priv)
{
	unsigned long end = start + length;
	struct odp_mr *mr;

	if (!length || !PAGE_ALIGNED(start | length) || end < start ||
	    end > m->limit || !(access & ODP_MR_READ) ||
	    (access & ~(ODP_MR_READ | ODP_MR_WRITE)))
		return ERR_PTR(-EINVAL);
	if (!mmget_not_zero(m->mm))
		return ERR_PTR(-ESRCH);
	down_write(&m->mr_sem);
	if (odp_explicit_mr(m, start, end - 1)) {
		mr = ERR_PTR(-EEXIST);
	} else if (m->nr_mrs >= ODP_MIRROR_MAX_MRS) {
		mr = ERR_PTR(-ENOSPC);
	} else {
		mr = odp_mr_new(m, start, end, access, priv, false);
		if (!IS_ERR(mr)) {
			/* the implicit chunks' entries go while the range is theirs */
			odp_zap_implicit(m, start, end);
			mr->node.start = start;
			mr->node.last = end - 1;
			mutex_lock(&m->lock);
			interval_tree_insert(&mr->node, &m->mrs);
			mr->linked = true;
			mutex_unlock(&m->lock);
			m->nr_mrs++;
		}
	}
	up_write(&m->mr_sem);
	mmput(m->mm);
	return mr;
}
EXPORT_SYMBOL_GPL(odp_mr_register);

/**
 * odp_mr_unregister() - remove an MR and clear its entries
 * @mr: the MR
 *
 * Waits for faults in progress in the mirror. The entries go in the
 * teardown order: cleared, the driver's invalidation callbacks, DMA
 * unmapped and dirty folios marked, tables freed.
 *
 * Context: may sleep.
 */
void odp_mr_unregister(struct odp_mr *mr)
{
	struct odp_mirror *m = mr->mirror;

	down_write(&m->mr_sem);
	odp_mr_clear(mr, ODP_INVAL_UNREGISTER);
	odp_mr_unlink(mr);
	m->nr_mrs--;
	up_write(&m->mr_sem);
	odp_mr_free(mr);
}
EXPORT_SYMBOL_GPL(odp_mr_unregister);

/**
 * odp_mr_priv() - the driver's pointer of an MR
 * @mr: the MR
 *
 * Return: what was given to odp_mr_register(); NULL for implicit chunks.
 */
void *odp_mr_priv(const struct odp_mr *mr)
{
	return mr->priv;
}
EXPORT_SYMBOL_GPL(odp_mr_priv);

/**
 * odp_mirror_set_implicit() - turn the implicit MR on or off
 * @m: the mirror
 * @enable: on or off
 *
 * On, every address of the process outside explicit MRs may be faulted,
 * read-write. Off, what it mapped is cleared and its notifiers removed.
 *
 * Context: may sleep.
 * Return: 0.
 */
int odp_mirror_set_implicit(struct odp_mirror *m, bool enable)
{
	struct odp_mr *mr, *tmp;
	unsigned long idx;
	LIST_HEAD(gone);

	down_write(&m->mr_sem);
	m->implicit = enable;
	if (!enable) {
		xa_for_each(&m->chunks, idx, mr) {
			odp_mr_clear(mr, ODP_INVAL_IMPLICIT_OFF);
			xa_erase(&m->chunks, idx);
			list_add(&mr->gone, &gone);
		}
		m->nr_chunks = 0;
	}
	up_write(&m->mr_sem);
	list_for_each_entry_safe(mr, tmp, &gone, gone)
		odp_mr_free(mr);
	return 0;
}
EXPORT_SYMBOL_GPL(odp_mirror_set_implicit);

/* Create the implicit chunk holding @va, unless it exists already. */
static int odp_implicit_chunk_create(struct odp_mirror *m, unsigned long va)
{
	unsigned long idx = va >> ODP_IMPLICIT_CHUNK_SHIFT;
	unsigned long start = idx << ODP_IMPLICIT_CHUNK_SHIFT;
	struct odp_mr *mr;
	int ret = 0;

	down_write(&m->mr_sem);
	if (!m->implicit) {
		ret = -EFAULT;
	} else if (!xa_load(&m->chunks, idx)) {
		mr = odp_mr_new(m, start, min(start + ODP_CHUNK_SIZE, m->limit),
				ODP_MR_READ | ODP_MR_WRITE, NULL, true);
		if (IS_ERR(mr)) {
			ret = PTR_ERR(mr);
		} else {
			ret = xa_err(xa_store(&m->chunks, idx, mr, GFP_KERNEL_ACCOUNT));
			if (ret)
				odp_mr_free(mr);
			else
				m->nr_chunks++;
		}
	}
	up_write(&m->mr_sem);
	return ret;
}

/*
 * Find the region @va belongs to: its explicit MR, or the implicit chunk
 * cut down to the gap between explicit MRs. -EAGAIN: the implicit chunk
 * does not exist yet. -EFAULT: no MR covers @va.
 */
static int odp_region_at(struct odp_mirror *m, unsigned long va,
			 struct odp_region *r)
{
	unsigned long cstart = ALIGN_DOWN(va, ODP_CHUNK_SIZE);
	struct interval_tree_node *node;
	struct odp_mr *mr;

	lockdep_assert_held(&m->mr_sem);
	mr = odp_explicit_mr(m, va, va);
	if (mr) {
		*r = (struct odp_region){ mr, mr->start, mr->end,
					  mr->access & ODP_MR_WRITE };
		return 0;
	}
	if (!m->implicit || va >= m->limit)
		return -EFAULT;
	mr = xa_load(&m->chunks, va >> ODP_IMPLICIT_CHUNK_SHIFT);
	if (!mr)
		return -EAGAIN;
	*r = (struct odp_region){ mr, mr->start, mr->end, true };
	/* explicit MRs are disjoint: those before @va end before it */
	if (va > cstart)
		for (node = interval_tree_iter_first(&m->mrs, cstart, va - 1); node;
		     node = interval_tree_iter_next(node, cstart, va - 1))
			r->start = max(r->start, node->last + 1);
	node = interval_tree_iter_first(&m->mrs, va, r->end - 1);
	if (node)
		r->end = node->start;
	return 0;
}

/* --- faults --- */

/*
 * The run the CPU maps with the PMD or PUD that maps @va, if it does: the
 * whole aligned block when it fits in [lo, hi) with an aligned pfn (a
 * smaller block of the mapping is tried when a larger one does not fit),
 * else the part of the mapping inside [lo, hi), which the table gives the
 * leaves its alignment allows. Its length, 0 for memory mapped by PTEs;
 * *@bshift is the size of the CPU mapping, which lies in one folio.
 */
static unsigned long odp_cpu_block(unsigned long hmm_pfn, unsigned long va,
				   unsigned long lo, unsigned long hi,
				   unsigned long *bva, unsigned long *bpfn,
				   unsigned int *bshift)
{
	unsigned int shift = hmm_pfn_to_map_order(hmm_pfn) + PAGE_SHIFT;
	unsigned long start, end;
	unsigned int s;

	if (shift < PMD_SHIFT)
		return 0;
	*bshift = shift;
	for (s = PUD_SHIFT; s >= PMD_SHIFT; s -= PUD_SHIFT - PMD_SHIFT) {
		unsigned long size = 1UL << s;

		start = ALIGN_DOWN(va, size);
		if (s > shift || start < lo || start + size > hi)
			continue;
		*bva = start;
		*bpfn = odp_hmm_pfn(hmm_pfn) - ((va - start) >> PAGE_SHIFT);
		if (IS_ALIGNED(*bpfn, size >> PAGE_SHIFT))
			return size;
	}
	/* the mapping cut by the MR or the VMA: its part inside, as a run */
	start = max(lo, ALIGN_DOWN(va, 1UL << shift));
	end = min(hi, ALIGN_DOWN(va, 1UL << shift) + (1UL << shift));
	*bva = start;
	*bpfn = odp_hmm_pfn(hmm_pfn) - ((va - start) >> PAGE_SHIFT);
	return end - start;
}

static inline bool odp_pfn_valid(unsigned long hmm_pfn)
{
	return (hmm_pfn & HMM_PFN_VALID) && !(hmm_pfn & HMM_PFN_ERROR);
}

/* hmm_range_fault()'s output read as a frame array by the table */
static const struct odp_pt_frame_format odp_hmm_format_rw = {
	.frame_mask = ~HMM_PFN_FLAGS,
	.write_mask = HMM_PFN_WRITE,
	.present_mask = HMM_PFN_VALID | HMM_PFN_ERROR,
	.present_value = HMM_PFN_VALID,
};

/* ... when the device may not write whatever the CPU allows */
static const struct odp_pt_frame_format odp_hmm_format_ro = {
	.frame_mask = ~HMM_PFN_FLAGS,
	.present_mask = HMM_PFN_VALID | HMM_PFN_ERROR,
	.present_value = HMM_PFN_VALID,
};

/*
 * The largest writable leaf the frame array of a batch, which lies in one
 * 2M block, may give: 2M if the block is all one folio, else 4K. Leaves
 * from a PMD or PUD mapping lie in one folio by construction.
 */
static unsigned int odp_write_max_shift(unsigned long hmm_pfn, unsigned long va)
{
	unsigned long pfn = odp_hmm_pfn(hmm_pfn);
	unsigned long block = pfn - ((va & (SZ_2M - 1)) >> PAGE_SHIFT);
	struct folio *folio = page_folio(pfn_to_page(pfn));

	if (folio_pfn(folio) <= block &&
	    block + (SZ_2M >> PAGE_SHIFT) <= folio_pfn(folio) + folio_nr_pages(folio))
		return PMD_SHIFT;
	return PAGE_SHIFT;
}

/* What one batch maps: a few runs and frame arrays, and the span they cover */
struct odp_plan {
	struct odp_pt_map maps[ODP_BATCH_BLOCKS];
	unsigned int nr;
	unsigned long lo;
	unsigned long hi;
};

static void odp_plan_add(struct odp_plan *plan, const struct odp_pt_map *map)
{
	plan->maps[plan->nr++] = *map;
	plan->lo = min_t(unsigned long, plan->lo, map->va);
	plan->hi = max_t(unsigned long, plan->hi, map->va + map->len);
}

/*
 * What to map for the pfns hmm_range_fault() returned for @range, within
 * @r and the VMA [vs, ve), 2M block by 2M block: the CPU maps each block
 * all alike, with one PMD or PUD, or with PTEs. So the first valid pfn of
 * a block says whether its whole CPU block can be mapped as one run, even
 * past the batch; else the block's pfns go to the table as a frame array,
 * whose contiguous aligned parts become huge leaves, and neighbouring
 * blocks of the same kind share one array. A writable leaf stays inside
 * its folio. A DMA mirror never changes leaves in place nor merges.
 */
static void odp_plan_batch(struct odp_fault *f, const struct odp_region *r,
			   const struct hmm_range *range, unsigned long vs,
			   unsigned long ve, struct odp_plan *plan)
{
	unsigned long lo = max(r->start, vs), hi = min(r->end, ve);
	const unsigned long *pfns = range->hmm_pfns;
	bool writable = r->writable && !(f->how & ODP_HOW_READONLY);
	unsigned long pos = range->start, bva, bpfn, len, va, i;
	struct odp_pt_map *last = NULL;
	unsigned int bshift;

	plan->nr = 0;
	plan->lo = ULONG_MAX;
	plan->hi = 0;
	while (pos < range->end) {
		unsigned long bend = min(range->end, ALIGN_DOWN(pos, SZ_2M) + SZ_2M);
		/* merges too keep leaves inside the MR and the VMA */
		struct odp_pt_map map = { .merge_start = lo, .merge_end = hi };

		for (va = pos; va < bend; va += PAGE_SIZE)
			if (odp_pfn_valid(pfns[(va - range->start) >> PAGE_SHIFT]))
				break;
		if (va == bend) {
			pos = bend;
			continue;
		}
		i = (va - range->start) >> PAGE_SHIFT;
		if (f->m->dma != ODP_DMA_NONE) {
			map.flags = ODP_PT_MAP_KEEP;
			map.merge_start = 0;
			map.merge_end = 0;
		}
		len = odp_cpu_block(pfns[i], va, lo, hi, &bva, &bpfn, &bshift);
		if (len) {
			map.va = bva;
			map.len = len;
			map.pfn = bpfn;
			map.prot = writable && (pfns[i] & HMM_PFN_WRITE) ? ODP_PT_WRITE : 0;
			map.write_max_shift = bshift;
			odp_plan_add(plan, &map);
			last = NULL;
			pos = max(bend, bva + len);
			continue;
		}
		map.write_max_shift = odp_write_max_shift(pfns[i], va);
		if (last && last->va + last->len == pos &&
		    last->write_max_shift == map.write_max_shift) {
			last->len = bend - last->va;
			plan->hi = max(plan->hi, bend);
		} else {
			map.va = pos;
			map.len = bend - pos;
			map.frames = &pfns[(pos - range->start) >> PAGE_SHIFT];
			map.format = writable ? &odp_hmm_format_rw : &odp_hmm_format_ro;
			odp_plan_add(plan, &map);
			last = &plan->maps[plan->nr - 1];
		}
		pos = bend;
	}
}

/*
 * Install @map in region @r, under the lock, after the sequence check.
 * A DMA mirror maps each new leaf; where a leaf it has must change (to
 * gain write access too: a mapping's direction is fixed), the range is
 * invalidated first (ODP_INVAL_REFRESH) and mapped again. Tables the map
 * unlinked are freed only after the driver's flush. The driver's install
 * callback sees what was mapped. -ENOMEM: the spare ran out,
 * f->need says how many pages the map wanted; -EIO: DMA mapping failed.
 */
static int odp_map(struct odp_fault *f, const struct odp_region *r,
		   struct odp_pt_map *map)
{
	struct odp_mirror *m = f->m;
	const struct odp_pt_alloc alloc = { .reserve = &m->spare };
	struct odp_pt_result res;
	struct odp_ctx c;
	unsigned int s;
	int ret;

	lockdep_assert_held(&m->lock);
	odp_ctx_init(&c, m, r->mr);
	odp_pt_result_init(&res, odp_release_leaf, &c);
	if (m->dma != ODP_DMA_NONE)
		res.install = odp_dma_install;
	ret = odp_pgtable_map(&m->pt, map, &alloc, &res);
	if (ret == -EEXIST) {
		struct odp_inv v;

		odp_dma_sync(&c);
		odp_account(m, &res);
		odp_pgtable_free_tables(&m->pt, &res);
		odp_inv_init(&v, r->mr, map->va, map->va + map->len,
			     ODP_INVAL_REFRESH, MMU_NOTIFY_UNMAP, true);
		odp_leaf_span(m, &v.inv.start, &v.inv.end);
		odp_inv_begin(m, &v);
		odp_inv_end(m, &v);
		odp_pgtable_free_tables(&m->pt, &v.res);
		m->stats.refreshes++;
		odp_pt_result_init(&res, odp_release_leaf, &c);
		res.install = odp_dma_install;
		ret = odp_pgtable_map(&m->pt, map, &alloc, &res);
		WARN_ON_ONCE(ret == -EEXIST);
	}
	odp_dma_sync(&c);
	odp_account(m, &res);
	for (s = 0; s < ODP_PT_NR_SIZES; s++)
		f->installed[s] += res.installed[s];
	if (res.merges)
		trace_odp_merge(m->id, map->va, map->va + map->len, res.merged);
	/*
	 * Tables the map unlinked, merged or replaced by a huge leaf, hold
	 * nothing the device may use any more, but its walker may still read
	 * them: they are freed only after the driver's flush.
	 */
	if (!list_empty(&res.freed) && m->ops) {
		struct odp_inval inv = {
			.mr = r->mr, .start = map->va, .end = map->va + map->len,
			.reason = ODP_INVAL_MERGE, .blockable = true,
		};

		odp_leaf_span(m, &inv.start, &inv.end);
		if (m->ops->invalidate_start)
			m->ops->invalidate_start(m, &inv);
		if (m->ops->invalidate_finish)
			m->ops->invalidate_finish(m, &inv);
	}
	odp_pgtable_free_tables(&m->pt, &res);
	if (ret == -ENOMEM)
		f->need = max(res.need, 1U);
	if ((!ret || ret == -EIO) && m->ops && m->ops->install)
		m->ops->install(m, r->mr, map->va, map->va + map->len);
	return ret;
}

/*
 * The table pages one batch may need: it lies in one ODP_BATCH_SIZE block
 * of one 1G block, so a level-0 table per 2M block and one table per level
 * above, up to the root.
 */
static unsigned int odp_batch_tables(const struct odp_mirror *m)
{
	return ODP_BATCH_BLOCKS + m->pt.levels - 2;
}

/*
 * Allocate, outside the lock, the table pages one batch may need (or what
 * the last map asked for) and those the notifier's reserve lacks, so that
 * a batch of 4K pages does not find the spare short and fault again.
 * odp_fault_pages_put() hands them over under the lock.
 */
static int odp_fault_pages(struct odp_fault *f)
{
	struct odp_mirror *m = f->m;
	unsigned int want = READ_ONCE(m->reserve_target) + f->need + odp_batch_tables(m);
	/*
	 * Racy reads, by design: a stale count only allocates a little too
	 * much (freed) or too little (the map fails with -ENOMEM and the
	 * batch comes back here with f->need set).
	 */
	unsigned int have = data_race(m->reserve.nr) + data_race(m->spare.nr);

	if (have >= want)
		return 0;
	return odp_pt_reserve_fill(&f->pages, want - have, GFP_KERNEL_ACCOUNT);
}

/*
 * Under the lock: the pages just allocated join the spare, and the
 * notifier's reserve gets its target from the spare, all but the @keep
 * pages a map is about to need: short of memory, the map comes first,
 * and odp_do_fault() refills the reserve at the end with @keep 0. The
 * spare keeps the tables of one batch plus what the last map lacked; the
 * rest goes back to f->pages, which the caller frees.
 */
static void odp_fault_pages_put(struct odp_fault *f, unsigned int keep)
{
	struct odp_mirror *m = f->m;
	unsigned int bound = odp_batch_tables(m) + f->need;

	lockdep_assert_held(&m->lock);
	odp_pt_reserve_splice(&m->spare, &f->pages);
	if (m->reserve.nr < m->reserve_target && m->spare.nr > keep)
		odp_pt_reserve_move(&m->reserve, &m->spare,
				    min(m->reserve_target - m->reserve.nr,
					m->spare.nr - keep));
	if (m->reserve.nr > m->reserve_target)
		odp_pt_reserve_move(&f->pages, &m->reserve,
				    m->reserve.nr - m->reserve_target);
	if (m->spare.nr > bound)
		odp_pt_reserve_move(&f->pages, &m->spare, m->spare.nr - bound);
	f->need = 0;
}

/*
 * A batch was redone: because of an invalidation of its own range (a
 * race), or of another part of its MR. Give up with -EBUSY only
 * after both many retries and HMM_RANGE_DEFAULT_TIMEOUT, never on time
 * alone: a slow machine is not a race.
 */
static int odp_batch_retry(struct odp_fault *f, unsigned int *races,
			   unsigned int *tries, unsigned long timeout,
			   bool raced)
{
	f->retries++;
	if (raced)
		(*races)++;
	else
		f->retries_unrelated++;
	if (fatal_signal_pending(current))
		return -EINTR;
	if ((*races >= ODP_FAULT_MAX_RACES || ++(*tries) >= ODP_FAULT_MAX_RETRIES) &&
	    time_after(jiffies, timeout))
		return -EBUSY;
	return 0;
}

/*
 * Fault [va, end), which lies in one region and one batch, cut at the end
 * of its VMA. *next is where the next batch starts. After a batch that
 * began with a huge block, the next one first asks hmm_range_fault() for
 * a single pfn: one pfn of a PMD or PUD mapping is enough to map its whole
 * block, since the MR's notifier covers the block; if it is not huge, the
 * batch is faulted whole, and the probe stays off until a batch starts
 * with a huge block again, so that memory mapped by PTEs pays one call
 * per batch.
 */
static int odp_fault_batch(struct odp_fault *f, const struct odp_region *r,
			   unsigned long va, unsigned long end,
			   unsigned long *next)
{
	struct odp_mirror *m = f->m;
	unsigned long timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct hmm_range range = {
		.notifier = &r->mr->notifier,
		.hmm_pfns = f->pfns,
		.start = va,
		/* we own no device-private memory: such pages fault back */
		.dev_private_owner = NULL,
	};
	unsigned int races = 0, tries = 0, k;
	struct vm_area_struct *vma;
	unsigned long vs, ve;
	struct odp_plan plan;
	bool raced, probe;
	u64 gen;
	int ret;

	if (f->how & ODP_HOW_FAULT)
		range.default_flags = HMM_PFN_REQ_FAULT |
			((f->how & ODP_HOW_WRITE) ? HMM_PFN_REQ_WRITE : 0);
	for (;;) {
		probe = f->probe;
		gen = odp_inval_gen(m);
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		mmap_read_lock(m->mm);
		vma = vma_lookup(m->mm, va);
		if (!vma) {
			/* a hole: an error, unless nothing is to be faulted */
			vma = find_vma(m->mm, va);
			*next = vma ? min(end, vma->vm_start) : end;
			mmap_read_unlock(m->mm);
			return (f->how & ODP_HOW_FAULT) ? -EFAULT : 0;
		}
		vs = vma->vm_start;
		ve = vma->vm_end;
		range.end = probe ? va + PAGE_SIZE : min(end, ve);
		memset(f->pfns, 0, ((range.end - va) >> PAGE_SHIFT) * sizeof(*f->pfns));
		ret = hmm_range_fault(&range);
		mmap_read_unlock(m->mm);
		f->hmm_calls++;
		if (ret == -EBUSY) {
			mutex_lock(&m->lock);
			raced = odp_inval_since(m, gen, va, range.end);
			mutex_unlock(&m->lock);
			ret = odp_batch_retry(f, &races, &tries, timeout, raced);
			if (ret)
				return ret;
			continue;
		}
		/* hmm's -EPERM: the CPU mapping forbids the access */
		if (ret)
			return ret == -EPERM ? -EFAULT : ret;
		/*
		 * Short of memory, the pages at hand may still do: fail only
		 * when a map of this batch already found them too few.
		 */
		ret = odp_fault_pages(f);
		if (ret && f->need)
			return ret;
		ret = 0;

		mutex_lock(&m->lock);
		odp_fault_pages_put(f, odp_batch_tables(m) + f->need);
		odp_plan_batch(f, r, &range, vs, ve, &plan);
		/* a probe that found no huge block: fault the whole batch */
		if (probe && (!plan.nr || plan.maps[0].frames)) {
			mutex_unlock(&m->lock);
			f->probe = false;
			continue;
		}
		if (mmu_interval_read_retry(range.notifier, range.notifier_seq)) {
			/* only an invalidation of what we map makes it stale */
			raced = plan.nr && odp_inval_since(m, gen, plan.lo, plan.hi);
			if (raced) {
				mutex_unlock(&m->lock);
				ret = odp_batch_retry(f, &races, &tries, timeout, true);
				if (ret)
					return ret;
				continue;
			}
			f->seq_unrelated++;
		}
		for (k = 0; k < plan.nr && !ret && !(f->how & ODP_HOW_FLOOR); k++)
			ret = odp_map(f, r, &plan.maps[k]);
		mutex_unlock(&m->lock);
		/* the spare lacked pages: f->need says how many to allocate */
		if (ret == -ENOMEM) {
			f->retries++;
			if (fatal_signal_pending(current))
				return -EINTR;
			continue;
		}
		if (ret)
			return ret;
		for (k = 0; k < (range.end - va) >> PAGE_SHIFT; k++)
			f->pages_faulted += !!(f->pfns[k] & HMM_PFN_VALID);
		f->probe = plan.nr && !plan.maps[0].frames;
		/* a CPU block mapped whole needs no more batches */
		*next = max(range.end, plan.hi);
		return 0;
	}
}

/* Where the first VMA at or above @va starts, at most @end */
static unsigned long odp_next_vma(struct odp_mirror *m, unsigned long va,
				  unsigned long end)
{
	struct vm_area_struct *vma;

	mmap_read_lock(m->mm);
	vma = find_vma(m->mm, va);
	if (vma)
		end = min(end, max(va, vma->vm_start));
	mmap_read_unlock(m->mm);
	return end;
}

static int odp_do_fault(struct odp_mirror *m, unsigned long va,
			unsigned long length, unsigned int how)
{
	struct odp_fault f = { .m = m, .how = how, .probe = true };
	unsigned long start = ALIGN_DOWN(va, PAGE_SIZE);
	unsigned long end = va + length, next = 0;
	struct odp_region r;
	int ret = 0;

	if (!length || end < va || end > m->limit)
		return -EINVAL;
	end = PAGE_ALIGN(end);
	if (!mmget_not_zero(m->mm))
		return -ESRCH;
	odp_pt_reserve_init(&f.pages);
	/*
	 * Every batch lies inside [start, end) and one ODP_BATCH_SIZE block:
	 * a device fault of a few pages needs a few words, not an order-2
	 * allocation.
	 */
	f.pfns = kmalloc_array(min_t(unsigned long, ODP_BATCH_PAGES,
				     (end - start) >> PAGE_SHIFT),
			       sizeof(*f.pfns), GFP_KERNEL);
	if (!f.pfns) {
		ret = -ENOMEM;
		goto out_free;
	}

	down_read(&m->mr_sem);
	for (va = start; va < end; va = next) {
		ret = odp_region_at(m, va, &r);
		if (ret == -EAGAIN) {
			/* no chunk, and no notifier, for a hole */
			next = odp_next_vma(m, va, end);
			if (next > va) {
				if (how & ODP_HOW_FAULT) {
					ret = -EFAULT;
					break;
				}
				ret = 0;
				continue;
			}
			up_read(&m->mr_sem);
			ret = odp_implicit_chunk_create(m, va);
			down_read(&m->mr_sem);
			if (!ret) {
				next = va;
				continue;
			}
		}
		if (ret)
			break;
		if ((how & ODP_HOW_WRITE) && !r.writable) {
			ret = -EACCES;
			break;
		}
		ret = odp_fault_batch(&f, &r, va,
				      min3(end, r.end, ALIGN_DOWN(va, ODP_BATCH_SIZE) +
					   ODP_BATCH_SIZE), &next);
		if (ret)
			break;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	up_read(&m->mr_sem);

	/*
	 * Leave the notifier's reserve full, best effort: an empty reserve
	 * only makes splits fall back to clearing, so a failed refill does
	 * not fail a fault that mapped everything.
	 */
	odp_fault_pages(&f);
	mutex_lock(&m->lock);
	odp_fault_pages_put(&f, 0);
	m->stats.faults++;
	m->stats.hmm_calls += f.hmm_calls;
	m->stats.retries += f.retries;
	m->stats.retries_unrelated += f.retries_unrelated;
	m->stats.seq_unrelated += f.seq_unrelated;
	m->stats.pages_faulted += f.pages_faulted;
	mutex_unlock(&m->lock);
	trace_odp_fault(m->id, start, end, how & ODP_HOW_WRITE, f.pages_faulted,
			f.installed, f.retries, ret);
	odp_pt_reserve_drain(&f.pages);
out_free:
	kfree(f.pfns);
	mmput(m->mm);
	return ret;
}

/**
 * odp_mirror_fault() - fault a range into the device page table
 * @m: the mirror
 * @va: start address
 * @length: length in bytes, not zero; the range is widened to pages
 * @flags: %ODP_FAULT_WRITE when the device writes
 *
 * Faults the CPU mappings in with hmm_range_fault() and installs them with
 * the CPU's permissions, limited by the MR's access. Leaves are as large as
 * the CPU mapping or the physical contiguity allow, clamped to the MR, the
 * VMA and the alignment of va and pa.
 *
 * Context: may sleep; takes mmap_lock for read. Do not hold the mirror
 * lock.
 * Return: 0; -EINVAL for a bad range; -EFAULT where no MR or no VMA
 * covers the range, or the CPU mapping does not allow the access (a write
 * to a read-only mapping); -EACCES for a write to a read-only MR; -EBUSY
 * when invalidations of the range itself kept racing the fault, many
 * times and for at least HMM_RANGE_DEFAULT_TIMEOUT; -ESRCH if the process
 * has exited; -EINTR on a fatal signal; -ENOMEM; -EIO when the DMA layer
 * could not map a leaf (DMA mirrors). The part before an error may be
 * mapped; a leaf is never installed without its DMA mapping.
 */
int odp_mirror_fault(struct odp_mirror *m, unsigned long va,
		     unsigned long length, unsigned int flags)
{
	if (flags & ~ODP_FAULT_WRITE)
		return -EINVAL;
	return odp_do_fault(m, va, length, ODP_HOW_FAULT |
			    ((flags & ODP_FAULT_WRITE) ? ODP_HOW_WRITE : 0));
}
EXPORT_SYMBOL_GPL(odp_mirror_fault);

/**
 * odp_mirror_range_mapped() - is a whole range mapped?
 * @m: the mirror, locked
 * @va: start address
 * @length: length in bytes, not zero
 * @write: writable too
 *
 * Context: under odp_mirror_lock().
 * Return: true if every page of the range has a present leaf, writable
 * if @write.
 */
bool odp_mirror_range_mapped(struct odp_mirror *m, unsigned long va,
			     unsigned long length, bool write)
{
	unsigned long pos = ALIGN_DOWN(va, PAGE_SIZE), end = va + length;
	struct odp_pt_leaf leaf;
	struct odp_pt_iter it;

	lockdep_assert_held(&m->lock);
	odp_pgtable_for_each_leaf(&m->pt, &it, pos, PAGE_ALIGN(end) - pos, &leaf) {
		if (leaf.va > pos || (write && !leaf.writable))
			return false;
		pos = leaf.va + BIT(leaf.shift);
		if (pos >= end)
			return true;
	}
	return false;
}
EXPORT_SYMBOL_GPL(odp_mirror_range_mapped);

/**
 * odp_mirror_fault_and_lock() - fault a range and return with it mapped
 * @m: the mirror
 * @va: start address
 * @length: length in bytes, not zero
 * @flags: %ODP_FAULT_WRITE when the device writes
 *
 * As odp_mirror_fault(), then takes the mirror lock and checks that the
 * whole range is still mapped (with write access for a write): an
 * invalidation may have come in between, and then it faults again. On
 * success the lock is held and no invalidation can take the leaves away
 * until odp_mirror_unlock(): the driver programs its hardware from them,
 * as ib_umem_odp_map_dma_and_lock() lets mlx5 do.
 *
 * Context: may sleep; do not hold the mirror lock.
 * Return: 0 with the lock held; an error of odp_mirror_fault() without
 * it; -EBUSY when invalidations took the range away again and again.
 */
int odp_mirror_fault_and_lock(struct odp_mirror *m, unsigned long va,
			      unsigned long length, unsigned int flags)
{
	unsigned long timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	unsigned int tries;
	int ret;

	for (tries = 0;; tries++) {
		ret = odp_mirror_fault(m, va, length, flags);
		if (ret)
			return ret;
		mutex_lock(&m->lock);
		if (odp_mirror_range_mapped(m, va, length, flags & ODP_FAULT_WRITE))
			return 0;
		mutex_unlock(&m->lock);
		if (fatal_signal_pending(current))
			return -EINTR;
		if (tries >= ODP_FAULT_MAX_RACES && time_after(jiffies, timeout))
			return -EBUSY;
	}
}
EXPORT_SYMBOL_GPL(odp_mirror_fault_and_lock);

static int odp_advice_how(enum odp_prefetch_advice advice, unsigned int *how)
{
	switch (advice) {
	case ODP_PREFETCH_READ:
		*how = ODP_HOW_FAULT | ODP_HOW_READONLY;
		return 0;
	case ODP_PREFETCH_WRITE:
		*how = ODP_HOW_FAULT | ODP_HOW_WRITE;
		return 0;
	case ODP_PREFETCH_NO_FAULT:
		*how = 0;
		return 0;
	default:
		return -EINVAL;
	}
}

/**
 * odp_mirror_prefetch() - populate the device page table ahead of use
 * @m: the mirror
 * @va: start address
 * @length: length in bytes, not zero; the range is widened to pages
 * @advice: %ODP_PREFETCH_READ, %ODP_PREFETCH_WRITE or %ODP_PREFETCH_NO_FAULT
 *
 * Context: may sleep; do not hold the mirror lock.
 * Return: as odp_mirror_fault(); also -EINVAL for an unknown @advice.
 * With %ODP_PREFETCH_NO_FAULT, pages the CPU does not map are skipped.
 */
int odp_mirror_prefetch(struct odp_mirror *m, unsigned long va,
			unsigned long length, enum odp_prefetch_advice advice)
{
	unsigned int how;

	return odp_advice_how(advice, &how) ?: odp_do_fault(m, va, length, how);
}
EXPORT_SYMBOL_GPL(odp_mirror_prefetch);

/**
 * odp_mirror_prefetch_floor() - the cost floor of a prefetch, for benchmarks
 * @m: the mirror
 * @va: start address
 * @length: length in bytes, not zero
 * @advice: as for odp_mirror_prefetch()
 *
 * Runs the very loop of odp_mirror_prefetch() (batches, hmm_range_fault(),
 * sequence checks under the mirror lock) but installs nothing in the
 * device page table: what is left is the cost of hmm_range_fault() and of
 * the loop around it. Only for measuring odp_mirror_prefetch() against it.
 *
 * Context: may sleep; do not hold the mirror lock.
 * Return: as odp_mirror_prefetch().
 */
int odp_mirror_prefetch_floor(struct odp_mirror *m, unsigned long va,
			      unsigned long length,
			      enum odp_prefetch_advice advice)
{
	unsigned int how;

	return odp_advice_how(advice, &how) ?:
	       odp_do_fault(m, va, length, how | ODP_HOW_FLOOR);
}
EXPORT_SYMBOL_GPL(odp_mirror_prefetch_floor);

/* --- the device's view --- */

/**
 * odp_mirror_lock() - take the mirror lock for a device page walk
 * @m: the mirror
 *
 * While it is held, translations from odp_mirror_lookup() stay valid: the
 * notifier cannot finish invalidating them, so the pages they name cannot
 * be freed. Do not sleep on allocation or touch user memory under it.
 */
void odp_mirror_lock(struct odp_mirror *m)
{
	mutex_lock(&m->lock);
}
EXPORT_SYMBOL_GPL(odp_mirror_lock);

/**
 * odp_mirror_unlock() - drop the mirror lock
 * @m: the mirror
 */
void odp_mirror_unlock(struct odp_mirror *m)
{
	mutex_unlock(&m->lock);
}
EXPORT_SYMBOL_GPL(odp_mirror_unlock);

/**
 * odp_mirror_lookup() - translate a device address
 * @m: the mirror
 * @va: the address
 * @leaf: filled with the leaf that maps @va
 *
 * Context: under odp_mirror_lock().
 * Return: false on a miss; resolve it with odp_mirror_fault() after
 * dropping the lock.
 */
bool odp_mirror_lookup(struct odp_mirror *m, unsigned long va,
		       struct odp_pt_leaf *leaf)
{
	return odp_pgtable_lookup(&m->pt, va, leaf);
}
EXPORT_SYMBOL_GPL(odp_mirror_lookup);

/**
 * odp_mirror_set_dirty() - record that the device wrote @va
 * @m: the mirror
 * @va: the address written
 *
 * The folios of the leaf are marked dirty when it leaves the table.
 *
 * Context: under odp_mirror_lock().
 * Return: false if @va is not mapped writable.
 */
bool odp_mirror_set_dirty(struct odp_mirror *m, unsigned long va)
{
	return odp_pgtable_set_dirty(&m->pt, va);
}
EXPORT_SYMBOL_GPL(odp_mirror_set_dirty);

/**
 * odp_mirror_snapshot() - per-4K state of the device page table
 * @m: the mirror
 * @va: start, page-aligned
 * @npages: number of pages
 * @out: @npages records, see odp_pgtable_snapshot()
 *
 * Context: may sleep briefly; takes the mirror lock.
 * Return: 0 or -EINVAL.
 */
int odp_mirror_snapshot(struct odp_mirror *m, unsigned long va,
			unsigned long npages, u8 *out)
{
	int ret;

	mutex_lock(&m->lock);
	ret = odp_pgtable_snapshot(&m->pt, va, npages, out);
	mutex_unlock(&m->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(odp_mirror_snapshot);

/**
 * odp_mirror_get_stats() - read the counters
 * @m: the mirror
 * @st: filled with a consistent copy
 */
void odp_mirror_get_stats(struct odp_mirror *m, struct odp_mirror_stats *st)
{
	unsigned int s;

	down_read(&m->mr_sem);
	mutex_lock(&m->lock);
	*st = m->stats;
	for (s = 0; s < ODP_PT_NR_SIZES; s++)
		st->leaves[s] = m->pt.stats.leaves[s];
	st->tables = m->pt.stats.tables;
	st->reserve = m->reserve.nr;
	st->mrs = m->nr_mrs;
	st->implicit_chunks = m->nr_chunks;
	st->finish_passes = atomic_long_read(&m->finish_passes);
	mutex_unlock(&m->lock);
	up_read(&m->mr_sem);
}
EXPORT_SYMBOL_GPL(odp_mirror_get_stats);

/**
 * odp_mirror_table() - the mirror's device page table
 * @m: the mirror
 *
 * For odp_mirror_for_each_leaf() and the odp_pgtable_*() readers, under
 * odp_mirror_lock(). A driver never edits it.
 *
 * Return: the table.
 */
struct odp_pgtable *odp_mirror_table(struct odp_mirror *m)
{
	return &m->pt;
}
EXPORT_SYMBOL_GPL(odp_mirror_table);

/**
 * odp_mirror_priv() - the driver's pointer of a mirror
 * @m: the mirror
 *
 * Return: &odp_mirror_desc.priv.
 */
void *odp_mirror_priv(const struct odp_mirror *m)
{
	return m->priv;
}
EXPORT_SYMBOL_GPL(odp_mirror_priv);

/* --- debugfs: <debugfs>/odp_mirror/<id>/{pid,stats,range,leaves} --- */

#define ODP_DEBUGFS_MAX_LEAVES	10000

static struct dentry *odp_debugfs_root;
static atomic_t odp_mirror_ids = ATOMIC_INIT(0);

static int odp_debugfs_stats_show(struct seq_file *s, void *unused)
{
	struct odp_mirror *m = s->private;
	struct odp_mirror_stats st;

	odp_mirror_get_stats(m, &st);
	seq_printf(s, "faults %llu\nhmm_calls %llu\nretries %llu\npages_faulted %llu\n",
		   st.faults, st.hmm_calls, st.retries, st.pages_faulted);
	seq_printf(s, "retries_unrelated %llu\nseq_unrelated %llu\n",
		   st.retries_unrelated, st.seq_unrelated);
	seq_printf(s, "leaves_4k %llu\nleaves_2m %llu\nleaves_1g %llu\n",
		   st.leaves[0], st.leaves[1], st.leaves[2]);
	seq_printf(s, "installed_4k %llu\ninstalled_2m %llu\ninstalled_1g %llu\n",
		   st.leaves_installed[0], st.leaves_installed[1],
		   st.leaves_installed[2]);
	seq_printf(s, "invalidations %llu\nsplits %llu\nmerges %llu\nfallbacks %llu\n",
		   st.invalidations, st.splits, st.merges, st.fallbacks);
	seq_printf(s, "dirty_propagations %llu\ntables %llu\nreserve %llu\n",
		   st.dirty_propagations, st.tables, st.reserve);
	seq_printf(s, "mrs %llu\nimplicit_chunks %llu\n", st.mrs,
		   st.implicit_chunks);
	seq_printf(s, "two_pass_notifier %d\nfinish_passes %llu\n",
		   odp_two_pass(), st.finish_passes);
	seq_printf(s, "dma_mode %s\ndma_maps %llu\ndma_unmaps %llu\ndma_relinks %llu\nrefreshes %llu\n",
		   m->dma == ODP_DMA_IOVA ? "iova" : m->dma == ODP_DMA_PAGE ? "page" : "none",
		   st.dma_maps, st.dma_unmaps, st.dma_relinks, st.refreshes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(odp_debugfs_stats);

/* One line per present leaf of the chosen range, at most 10000 */
static int odp_debugfs_leaves_show(struct seq_file *s, void *unused)
{
	static const char * const size[ODP_PT_NR_SIZES] = { "4K", "2M", "1G" };
	struct odp_mirror *m = s->private;
	struct odp_pt_leaf leaf;
	struct odp_pt_iter it;
	unsigned long n = 0;

	mutex_lock(&m->lock);
	odp_pgtable_for_each_leaf(&m->pt, &it, m->dump_start,
				  m->dump_end - m->dump_start, &leaf) {
		if (n++ == ODP_DEBUGFS_MAX_LEAVES) {
			seq_puts(s, "...\n");
			break;
		}
		seq_printf(s, "%#llx-%#llx %s %s %#llx %s%s\n", leaf.va,
			   leaf.va + BIT_ULL(leaf.shift),
			   size[odp_pt_size_index(leaf.shift)],
			   m->dma == ODP_DMA_NONE ? "pfn" : "dma", m->dma == ODP_DMA_NONE ?
			   leaf.pfn : (u64)odp_mirror_leaf_dma(&leaf, leaf.va),
			   leaf.writable ? "rw" : "ro", leaf.dirty ? " dirty" : "");
	}
	mutex_unlock(&m->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(odp_debugfs_leaves);

static int odp_debugfs_range_show(struct seq_file *s, void *unused)
{
	struct odp_mirror *m = s->private;

	mutex_lock(&m->lock);
	seq_printf(s, "%#lx %#lx\n", m->dump_start, m->dump_end);
	mutex_unlock(&m->lock);
	return 0;
}

static int odp_debugfs_range_open(struct inode *inode, struct file *file)
{
	return single_open(file, odp_debugfs_range_show, inode->i_private);
}

/* "start end" in hex: the range "leaves" shows, page-aligned, start < end */
static ssize_t odp_debugfs_range_write(struct file *file, const char __user *ubuf,
				       size_t len, loff_t *ppos)
{
	struct odp_mirror *m = ((struct seq_file *)file->private_data)->private;
	unsigned long start, end;
	char buf[48];

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sscanf(buf, "%lx %lx", &start, &end) != 2 || start >= end ||
	    end > m->limit || !PAGE_ALIGNED(start | end))
		return -EINVAL;
	mutex_lock(&m->lock);
	m->dump_start = start;
	m->dump_end = end;
	mutex_unlock(&m->lock);
	return len;
}

static const struct file_operations odp_debugfs_range_fops = {
	.owner = THIS_MODULE,
	.open = odp_debugfs_range_open,
	.read = seq_read,
	.write = odp_debugfs_range_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static void odp_debugfs_add(struct odp_mirror *m)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", m->id);
	m->debugfs = debugfs_create_dir(name, odp_debugfs_root);
	debugfs_create_u32("pid", 0444, m->debugfs, &m->pid);
	debugfs_create_file("stats", 0444, m->debugfs, m, &odp_debugfs_stats_fops);
	debugfs_create_file("range", 0644, m->debugfs, m, &odp_debugfs_range_fops);
	debugfs_create_file("leaves", 0444, m->debugfs, m, &odp_debugfs_leaves_fops);
}

/* --- life cycle --- */

/* The DMA layer the mirror maps leaves with; only sizes it can map whole */
static void odp_mirror_dma_init(struct odp_mirror *m, struct device *dev)
{
	size_t max = dma_max_mapping_size(dev);

	m->dma_dev = dev;
	m->dma = odp_iova_usable(dev) ? ODP_DMA_IOVA : ODP_DMA_PAGE;
	if (m->dma == ODP_DMA_PAGE)
		m->pt.pgsize_bitmap &= GENMASK(max ? fls_long(max) - 1 : PAGE_SHIFT, 0);
}

/**
 * odp_mirror_create() - a device address space mirroring @mm
 * @mm: the process address space; the mirror holds mmgrab() on it
 * @desc: the device: its leaf sizes, its DMA device, its callbacks
 *
 * With &odp_mirror_desc.dma_dev, leaves hold DMA addresses: one IOVA
 * range per MR where the device is behind an IOMMU and the kernel has the
 * IOVA API, else one dma_map_page() per leaf, and only leaf sizes that
 * dma_max_mapping_size() allows. Tells lockdep that the mirror lock is
 * taken in reclaim (by the notifier), so that an allocation that may
 * reclaim under it is reported at once, not when reclaim first happens.
 *
 * Context: may sleep.
 * Return: the mirror, or ERR_PTR(-EINVAL) for a bad bitmap, or
 * ERR_PTR(-ENOMEM).
 */
struct odp_mirror *odp_mirror_create(struct mm_struct *mm,
				     const struct odp_mirror_desc *desc)
{
	struct odp_mirror *m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	int ret;

	if (!m)
		return ERR_PTR(-ENOMEM);
	mutex_init(&m->lock);
	ret = odp_pgtable_init(&m->pt, ODP_PT_MAX_LEVELS, desc->pgsize_bitmap,
			       &m->lock);
	if (ret) {
		mutex_destroy(&m->lock);
		kfree(m);
		return ERR_PTR(ret);
	}
	if (desc->dma_dev)
		odp_mirror_dma_init(m, desc->dma_dev);
	m->ops = desc->ops;
	m->priv = desc->priv;
	m->defer = m->ops || m->dma != ODP_DMA_NONE;
	init_rwsem(&m->mr_sem);
	m->mrs = RB_ROOT_CACHED;
	xa_init(&m->chunks);
	/* the upper levels stay, so re-registering an MR rebuilds little */
	m->pt.keep_level = 1;
	odp_pt_reserve_init(&m->reserve);
	odp_pt_reserve_init(&m->spare);
	m->reserve_target = ODP_MIRROR_RESERVE_DEFAULT;
	m->limit = min_t(u64, mm->task_size, odp_pgtable_va_limit(&m->pt));
	m->dump_end = m->limit;
	mmgrab(mm);
	m->mm = mm;
	m->id = atomic_inc_return(&odp_mirror_ids);
	m->pid = current->mm == mm ? task_tgid_nr(current) : 0;
	if (IS_ENABLED(CONFIG_LOCKDEP)) {
		fs_reclaim_acquire(GFP_KERNEL);
		might_lock(&m->lock);
		fs_reclaim_release(GFP_KERNEL);
	}
	odp_debugfs_add(m);
	return m;
}
EXPORT_SYMBOL_GPL(odp_mirror_create);

/**
 * odp_mirror_set_reserve() - table pages to keep for the notifier
 * @m: the mirror
 * @pages: 0 to %ODP_MIRROR_RESERVE_MAX; the default,
 *	%ODP_MIRROR_RESERVE_DEFAULT, lets one invalidation split a 1G leaf
 *	down to 4K at both of its ends
 *
 * With fewer pages, invalidations inside huge leaves fall back to clearing
 * whole leaves more often. Takes effect at the next fault.
 *
 * Return: 0, or -EINVAL.
 */
int odp_mirror_set_reserve(struct odp_mirror *m, unsigned int pages)
{
	if (pages > ODP_MIRROR_RESERVE_MAX)
		return -EINVAL;
	mutex_lock(&m->lock);
	WRITE_ONCE(m->reserve_target, pages);
	mutex_unlock(&m->lock);
	return 0;
}
EXPORT_SYMBOL_GPL(odp_mirror_set_reserve);

/**
 * odp_mirror_destroy() - tear a mirror down
 * @m: the mirror; no other call on it may run or follow
 *
 * Clears every MR's entries in the teardown order (dirty entries mark
 * their folios dirty, DMA is unmapped), removes every MR and notifier,
 * and drops the mm.
 *
 * Context: may sleep.
 */
void odp_mirror_destroy(struct odp_mirror *m)
{
	struct interval_tree_node *node;
	struct odp_mr *mr;
	unsigned long idx;
	LIST_HEAD(gone);

	/* waits for readers of the mirror's debugfs files */
	debugfs_remove_recursive(m->debugfs);
	down_write(&m->mr_sem);
	while ((node = interval_tree_iter_first(&m->mrs, 0, ULONG_MAX))) {
		mr = container_of(node, struct odp_mr, node);
		odp_mr_clear(mr, ODP_INVAL_DESTROY);
		odp_mr_unlink(mr);
		list_add(&mr->gone, &gone);
	}
	xa_for_each(&m->chunks, idx, mr) {
		odp_mr_clear(mr, ODP_INVAL_DESTROY);
		list_add(&mr->gone, &gone);
	}
	up_write(&m->mr_sem);
	while ((mr = list_first_entry_or_null(&gone, struct odp_mr, gone))) {
		list_del(&mr->gone);
		odp_mr_free(mr);
	}
	xa_destroy(&m->chunks);
	odp_pgtable_destroy(&m->pt);
	WARN_ON_ONCE(m->pt.stats.tables_allocated !=
		     atomic_long_read(&m->pt.stats.tables_freed));
	WARN_ON_ONCE(m->stats.dma_maps != m->stats.dma_unmaps);
	odp_pt_reserve_drain(&m->reserve);
	odp_pt_reserve_drain(&m->spare);
	mmdrop(m->mm);
	mutex_destroy(&m->lock);
	kfree(m);
}
EXPORT_SYMBOL_GPL(odp_mirror_destroy);

static int __init odp_mirror_init(void)
{
	odp_debugfs_root = debugfs_create_dir("odp_mirror", NULL);
	return 0;
}
module_init(odp_mirror_init);

static void __exit odp_mirror_exit(void)
{
	debugfs_remove(odp_debugfs_root);
}
module_exit(odp_mirror_exit);

MODULE_DESCRIPTION("On-demand paging mirror with mixed-size device page tables");
MODULE_LICENSE("GPL");
