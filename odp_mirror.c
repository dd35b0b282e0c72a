// SPDX-License-Identifier: GPL-2.0
/*
 * odp_mirror: mirror a process address space into a device page table.
 *
 * MRs. Each explicit MR has its own mmu_interval_notifier over its range.
 * The implicit MR covers the rest of the user address space; like mlx5's
 * implicit ODP it is populated lazily, with one notifier per 1 GiB-aligned
 * chunk created on the first fault there, and it grants read-write access.
 * An address inside an explicit MR belongs to that MR only.
 *
 * Faults. A fault walks its range in batches: each batch is cut at the
 * next 2M boundary, the end of its MR (or implicit gap) and the end of its
 * VMA, so one hmm_range_fault() call covers at most 2M. The usual loop:
 * mmu_interval_read_begin(), hmm_range_fault() under mmap_read_lock,
 * then under the mirror lock mmu_interval_read_retry(), and only then the
 * table is written. -EBUSY is retried until HMM_RANGE_DEFAULT_TIMEOUT.
 *
 * Leaf choice. A pfn that the CPU maps with a PMD or PUD gives a 2M or 1G
 * leaf over its whole aligned block, even past the batch, when the block
 * lies inside the MR and the VMA and its pfn is aligned. Otherwise the
 * batch's pfns go to the table as one frame array, read in place, and the
 * table gives its contiguous, aligned stretches of one permission the
 * largest leaves that va and pa alignment and the device's sizes allow;
 * since the array never leaves its batch, it never leaves its MR or VMA
 * either. The table merges tables that become full and contiguous, inside
 * the MR and the VMA.
 *
 * Invalidation. The notifier clears the covered entries; a huge leaf only
 * partly covered is split with pages from the mirror's reserve, which the
 * fault path refills, and when the reserve is empty the whole leaf is
 * cleared and counted as a fallback. MMU_NOTIFY_PROTECTION_PAGE (the
 * write-protect of fork and page_mkclean) and MMU_NOTIFY_SOFT_DIRTY only
 * write-protect; every other event, MMU_NOTIFY_PROTECTION_VMA included,
 * clears. Leaves the device wrote mark their folios dirty first.
 *
 * Locking, outermost first:
 *
 *   mirror->mr_sem (rw_semaphore): the set of MRs and implicit chunks.
 *	Faults hold it for read throughout, so an MR cannot go away under
 *	a fault; register, unregister and implicit on/off hold it for write.
 *   mmap_lock of the mm: held for read around vma_lookup() and
 *	hmm_range_fault() only.
 *   mirror->lock (mutex): the device page table (its lock, see
 *	odp_pgtable.h), the reserve and the statistics. The notifier takes
 *	it, with mutex_trylock() when it may not block, so under it nothing
 *	may sleep on allocation, fault on user memory or take the locks
 *	above. Table pages come only from the reserve, which the fault path
 *	fills with GFP_KERNEL_ACCOUNT before taking the lock. The device's
 *	page walker holds it across lookup and use of a translation.
 *
 * mmu_interval_notifier_remove() waits for running invalidations, which
 * take mirror->lock, so it is called with no lock held. The mirror holds
 * mmgrab() on the mm, never mmget() beyond a single call.
 */
#include <linux/debugfs.h>
#include <linux/hmm.h>
#include <linux/interval_tree.h>
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

#define ODP_BATCH_SIZE		SZ_2M
#define ODP_BATCH_PAGES		(ODP_BATCH_SIZE >> PAGE_SHIFT)
#define ODP_CHUNK_SIZE		BIT(ODP_IMPLICIT_CHUNK_SHIFT)

/* How a fault was asked for */
#define ODP_HOW_FAULT		BIT(0)	/* fault what is missing */
#define ODP_HOW_WRITE		BIT(1)	/* ... for write */
#define ODP_HOW_READONLY	BIT(2)	/* map read-only whatever the CPU has */
#define ODP_HOW_FLOOR		BIT(3)	/* the whole loop, but install nothing */

struct odp_mirror {
	struct mm_struct *mm;
	unsigned int id;		/* in tracepoints and debugfs */
	unsigned long limit;		/* end of the mirrored addresses */
	struct rw_semaphore mr_sem;
	struct rb_root_cached mrs;	/* explicit MRs, under mr_sem */
	struct xarray chunks;		/* implicit MR chunks, under mr_sem */
	bool implicit;			/* under mr_sem */
	unsigned long nr_mrs;		/* under mr_sem */
	unsigned long nr_chunks;	/* under mr_sem */
	struct mutex lock;		/* the table lock, see above */
	struct odp_pgtable pt;
	struct odp_pt_reserve reserve;	/* the notifier's, under lock */
	struct odp_pt_reserve spare;	/* the fault path's, under lock */
	unsigned int reserve_target;	/* under lock */
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
	unsigned long *pfns;		/* hmm_range_fault()'s output */
	struct odp_pt_reserve pages;	/* allocated unlocked, spliced in */
	unsigned int need;		/* table pages the last map lacked */
	unsigned long installed[ODP_PT_NR_SIZES];
	u64 hmm_calls;
	u64 retries;
	u64 pages_faulted;
};

static inline unsigned long odp_hmm_pfn(unsigned long hmm_pfn)
{
	return hmm_pfn & ~HMM_PFN_FLAGS;
}

/* --- table edits under the lock --- */

/* Leaves leaving the table: the folios the device wrote become dirty. */
static void odp_release_leaf(void *priv, const struct odp_pt_leaf *leaf)
{
	struct odp_mirror *m = priv;
	unsigned long pfn = leaf->pfn;
	unsigned long end = pfn + (1UL << (leaf->shift - PAGE_SHIFT));

	if (!leaf->dirty)
		return;
	while (pfn < end) {
		struct folio *folio = page_folio(pfn_to_page(pfn));

		folio_mark_dirty(folio);
		m->stats.dirty_propagations++;
		pfn = folio_pfn(folio) + folio_nr_pages(folio);
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
static bool odp_event_protects(enum mmu_notifier_event event)
{
	return event == MMU_NOTIFY_PROTECTION_PAGE || event == MMU_NOTIFY_SOFT_DIRTY;
}

/*
 * Clear, or for events that only take write access away write-protect,
 * [start, end). Never fails: without reserve pages for a split, the whole
 * leaf goes. The caller frees @res->freed after dropping the lock.
 */
static void odp_zap_locked(struct odp_mirror *m, unsigned long start,
			   unsigned long end, enum mmu_notifier_event event,
			   struct odp_pt_result *res)
{
	const struct odp_pt_alloc alloc = { .reserve = &m->reserve };
	int ret;

	lockdep_assert_held(&m->lock);
	odp_pt_result_init(res, odp_release_leaf, m);
	if (start >= end)
		return;
	if (odp_event_protects(event))
		ret = odp_pgtable_protect(&m->pt, start, end - start,
					  ODP_PT_FALLBACK, &alloc, res);
	else
		ret = odp_pgtable_unmap(&m->pt, start, end - start,
					ODP_PT_FALLBACK, &alloc, res);
	WARN_ON_ONCE(ret);
	odp_account(m, res);
}

static void odp_zap(struct odp_mirror *m, unsigned long start,
		    unsigned long end)
{
	struct odp_pt_result res;

	mutex_lock(&m->lock);
	odp_zap_locked(m, start, end, MMU_NOTIFY_UNMAP, &res);
	mutex_unlock(&m->lock);
	odp_pgtable_free_tables(&m->pt, &res);
}

/* --- the notifier --- */

/*
 * What both notifiers do under the lock: clear, or write-protect, the
 * range. The unlinked table pages are left in @res for the caller to free.
 * false: the range may not block and the lock was taken.
 */
static bool odp_mr_clear(struct mmu_interval_notifier *mni,
			 const struct mmu_notifier_range *range,
			 unsigned long cur_seq, struct odp_pt_result *res)
{
	struct odp_mr *mr = container_of(mni, struct odp_mr, notifier);
	struct odp_mirror *m = mr->mirror;
	unsigned long start = max(range->start, mr->start);
	unsigned long end = min(range->end, mr->end);
	bool protect = odp_event_protects(range->event);

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&m->lock);
	else if (!mutex_trylock(&m->lock))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	odp_zap_locked(m, start, end, range->event, res);
	m->stats.invalidations++;
	trace_odp_invalidate(m->id, start, end, range->event, protect,
			     protect ? res->protected : res->cleared, res->splits,
			     res->fallback);
	mutex_unlock(&m->lock);
	return true;
}

/* The single-pass notifier: clear, then free the unlinked tables */
static bool odp_mr_invalidate(struct mmu_interval_notifier *mni,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct odp_mr *mr = container_of(mni, struct odp_mr, notifier);
	struct odp_pt_result res;

	if (!odp_mr_clear(mni, range, cur_seq, &res))
		return false;
	odp_pgtable_free_tables(&mr->mirror->pt, &res);
	return true;
}

/*
 * The two-pass notifier. The first pass clears the entries, so that the
 * device stops using them; the second frees the tables the first unlinked.
 * That second half is where a real device waits for its TLB flush and
 * unmaps DMA: its flushes for every notifier of the invalidation can then
 * run in parallel. Only an invalidation that unlinked tables asks for a
 * second pass; without memory for the hand-over (GFP_NOWAIT, never
 * sleeping), the first pass frees them itself, as the single pass does.
 */
struct odp_finish {
	struct mmu_interval_notifier_finish base;
	struct odp_mirror *m;
	struct odp_pt_result res;
};

static bool odp_mr_invalidate_start(struct mmu_interval_notifier *mni,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq,
				    struct mmu_interval_notifier_finish **finish)
{
	struct odp_mr *mr = container_of(mni, struct odp_mr, notifier);
	struct odp_pt_result res;
	struct odp_finish *f;

	if (!odp_mr_clear(mni, range, cur_seq, &res))
		return false;
	if (list_empty(&res.freed))
		return true;
	f = kmalloc(sizeof(*f), GFP_NOWAIT | __GFP_NOWARN);
	if (!f) {
		odp_pgtable_free_tables(&mr->mirror->pt, &res);
		return true;
	}
	f->m = mr->mirror;
	odp_pt_result_init(&f->res, NULL, NULL);
	list_splice(&res.freed, &f->res.freed);
	*finish = &f->base;
	return true;
}

static void odp_mr_invalidate_finish(struct mmu_interval_notifier_finish *finish)
{
	struct odp_finish *f = container_of(finish, struct odp_finish, base);

	odp_pgtable_free_tables(&f->m->pt, &f->res);
	atomic_long_inc(&f->m->finish_passes);
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

static struct odp_mr *odp_mr_new(struct odp_mirror *m, unsigned long start,
				 unsigned long end, unsigned int access)
{
	struct odp_mr *mr = kzalloc(sizeof(*mr), GFP_KERNEL_ACCOUNT);
	int ret;

	if (!mr)
		return ERR_PTR(-ENOMEM);
	mr->mirror = m;
	mr->start = start;
	mr->end = end;
	mr->access = access;
	ret = mmu_interval_notifier_insert(&mr->notifier, m->mm, start,
					   end - start, odp_mr_ops_pick());
	if (ret) {
		kfree(mr);
		return ERR_PTR(ret);
	}
	return mr;
}

static struct odp_mr *odp_explicit_mr(struct odp_mirror *m, unsigned long first,
				      unsigned long last)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&m->mrs, first, last);
	return node ? container_of(node, struct odp_mr, node) : NULL;
}

/* Clear what the implicit MR mapped in [start, end): the gaps between MRs */
static void odp_zap_implicit(struct odp_mirror *m, unsigned long start,
			     unsigned long end)
{
	struct odp_mr *mr;

	lockdep_assert_held_write(&m->mr_sem);
	while (start < end) {
		mr = odp_explicit_mr(m, start, end - 1);
		odp_zap(m, start, mr ? max(mr->start, start) : end);
		if (!mr)
			break;
		start = mr->end;
	}
}

/**
 * odp_mr_register() - register an ODP memory region
 * @m: the mirror
 * @start: first address, page-aligned; need not be 2M-aligned
 * @length: length in bytes, a non-zero multiple of the page size
 * @access: %ODP_MR_READ, optionally | %ODP_MR_WRITE
 *
 * Inserts an mmu_interval_notifier over the range. Nothing is faulted:
 * the device faults or prefetches later. Entries the implicit MR had
 * mapped in the range are cleared, since they may grant more than @access.
 *
 * Context: may sleep; takes the mm's mmap_lock.
 * Return: the MR, or an ERR_PTR(): -EINVAL for a bad range or access,
 * -EEXIST if it overlaps an MR, -ENOSPC past %ODP_MIRROR_MAX_MRS MRs,
 * -ESRCH if the process has exited, -ENOMEM.
 */
struct odp_mr *odp_mr_register(struct odp_mirror *m, unsigned long start,
			       unsigned long length, unsigned int access)
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
		mr = odp_mr_new(m, start, end, access);
		if (!IS_ERR(mr)) {
			mr->node.start = start;
			mr->node.last = end - 1;
			interval_tree_insert(&mr->node, &m->mrs);
			m->nr_mrs++;
			odp_zap(m, start, end);
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
 * Waits for faults in progress in the mirror. Dirty entries mark their
 * folios dirty as they go.
 *
 * Context: may sleep.
 */
void odp_mr_unregister(struct odp_mr *mr)
{
	struct odp_mirror *m = mr->mirror;

	down_write(&m->mr_sem);
	interval_tree_remove(&mr->node, &m->mrs);
	m->nr_mrs--;
	/* cleared while the notifier still keeps the pages alive */
	odp_zap(m, mr->start, mr->end);
	up_write(&m->mr_sem);
	mmu_interval_notifier_remove(&mr->notifier);
	kfree(mr);
}
EXPORT_SYMBOL_GPL(odp_mr_unregister);

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
			odp_zap_implicit(m, mr->start, mr->end);
			xa_erase(&m->chunks, idx);
			list_add(&mr->gone, &gone);
		}
		m->nr_chunks = 0;
	}
	up_write(&m->mr_sem);
	list_for_each_entry_safe(mr, tmp, &gone, gone) {
		mmu_interval_notifier_remove(&mr->notifier);
		kfree(mr);
	}
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
				ODP_MR_READ | ODP_MR_WRITE);
		if (IS_ERR(mr)) {
			ret = PTR_ERR(mr);
		} else {
			ret = xa_err(xa_store(&m->chunks, idx, mr, GFP_KERNEL_ACCOUNT));
			if (ret) {
				mmu_interval_notifier_remove(&mr->notifier);
				kfree(mr);
			} else {
				m->nr_chunks++;
			}
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
 * The whole CPU-mapped block around pfn @i, if the CPU maps it with a PMD
 * or PUD and the block fits in [lo, hi) with an aligned pfn: its size, 0
 * otherwise. A smaller block of the mapping is tried when a larger one
 * does not fit.
 */
static unsigned long odp_cpu_block(unsigned long hmm_pfn, unsigned long va,
				   unsigned long lo, unsigned long hi,
				   unsigned long *bva, unsigned long *bpfn)
{
	unsigned int shift = hmm_pfn_to_map_order(hmm_pfn) + PAGE_SHIFT;
	unsigned int s;

	for (s = PUD_SHIFT; s >= PMD_SHIFT; s -= PUD_SHIFT - PMD_SHIFT) {
		unsigned long size = 1UL << s;
		unsigned long start = ALIGN_DOWN(va, size);

		if (s > shift || start < lo || start + size > hi)
			continue;
		*bva = start;
		*bpfn = odp_hmm_pfn(hmm_pfn) - ((va - start) >> PAGE_SHIFT);
		if (IS_ALIGNED(*bpfn, size >> PAGE_SHIFT))
			return size;
	}
	return 0;
}

static inline bool odp_pfn_valid(unsigned long hmm_pfn)
{
	return (hmm_pfn & HMM_PFN_VALID) && !(hmm_pfn & HMM_PFN_ERROR);
}

static int odp_map(struct odp_fault *f, struct odp_pt_map *map)
{
	const struct odp_pt_alloc alloc = { .reserve = &f->m->spare };
	struct odp_pt_result res;
	unsigned int s;
	int ret;

	odp_pt_result_init(&res, odp_release_leaf, f->m);
	ret = odp_pgtable_map(&f->m->pt, map, &alloc, &res);
	odp_account(f->m, &res);
	for (s = 0; s < ODP_PT_NR_SIZES; s++)
		f->installed[s] += res.installed[s];
	if (res.merges)
		trace_odp_merge(f->m->id, map->va, map->va + map->len, res.merged);
	odp_pgtable_free_tables(&f->m->pt, &res);
	if (ret == -ENOMEM)
		f->need = res.need;
	return ret;
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
 * Install the pfns hmm_range_fault() returned for @range, within @r and
 * the VMA [vs, ve). Called after mmu_interval_read_retry() said they are
 * still current. A batch lies in one 2M block of one VMA, which the CPU
 * maps all alike: with one PMD or PUD, or with PTEs. So the first valid
 * pfn says whether the whole CPU block can be mapped, as one run, even
 * past the batch; else the batch goes to the table as one frame array,
 * whose contiguous aligned parts become huge leaves. *@mapped_end is
 * where the mapping reached. -ENOMEM: the spare ran out; f->need says how
 * many pages the failed map wanted.
 */
static int odp_install(struct odp_fault *f, const struct odp_region *r,
		       const struct hmm_range *range, unsigned long vs,
		       unsigned long ve, unsigned long *mapped_end)
{
	unsigned long lo = max(r->start, vs), hi = min(r->end, ve);
	/* merges too keep leaves inside the MR and the VMA */
	struct odp_pt_map map = { .merge_start = lo, .merge_end = hi };
	unsigned long n = (range->end - range->start) >> PAGE_SHIFT;
	const unsigned long *pfns = range->hmm_pfns;
	bool writable = r->writable && !(f->how & ODP_HOW_READONLY);
	unsigned long i, bva, bpfn, len;
	int ret;

	lockdep_assert_held(&f->m->lock);
	for (i = 0; i < n && !odp_pfn_valid(pfns[i]); i++)
		;
	if (i == n)
		return 0;
	len = odp_cpu_block(pfns[i], range->start + (i << PAGE_SHIFT), lo, hi,
			    &bva, &bpfn);
	if (len) {
		map.va = bva;
		map.len = len;
		map.pfn = bpfn;
		map.prot = writable && (pfns[i] & HMM_PFN_WRITE) ? ODP_PT_WRITE : 0;
	} else {
		map.va = range->start;
		map.len = n << PAGE_SHIFT;
		map.frames = pfns;
		map.format = writable ? &odp_hmm_format_rw : &odp_hmm_format_ro;
	}
	ret = odp_map(f, &map);
	if (!ret)
		*mapped_end = max(*mapped_end, map.va + map.len);
	return ret;
}

/*
 * Allocate, outside the lock, the table pages one batch may need (one
 * table per level, or what the last map asked for) and those the notifier's
 * reserve lacks. odp_fault_pages_put() hands them over under the lock.
 */
static int odp_fault_pages(struct odp_fault *f)
{
	struct odp_mirror *m = f->m;
	unsigned int want = READ_ONCE(m->reserve_target) + f->need + m->pt.levels - 1;
	/*
	 * Racy reads, by design: a stale count only allocates a little too
	 * much (freed under the lock) or too little (the map fails with
	 * -ENOMEM and the batch comes back here with f->need set).
	 */
	unsigned int have = data_race(m->reserve.nr) + data_race(m->spare.nr);

	if (have >= want)
		return 0;
	return odp_pt_reserve_fill(&f->pages, want - have, GFP_KERNEL_ACCOUNT);
}

/*
 * Under the lock: the notifier's reserve gets exactly its target (pages
 * beyond it go back to f->pages, to be freed), the spare gets the rest.
 */
static void odp_fault_pages_put(struct odp_fault *f)
{
	struct odp_mirror *m = f->m;

	lockdep_assert_held(&m->lock);
	if (m->reserve.nr > m->reserve_target)
		odp_pt_reserve_move(&f->pages, &m->reserve,
				    m->reserve.nr - m->reserve_target);
	else
		odp_pt_reserve_move(&m->reserve, &f->pages,
				    m->reserve_target - m->reserve.nr);
	odp_pt_reserve_splice(&m->spare, &f->pages);
	f->need = 0;
}

/*
 * Fault [va, end), which lies in one region and one 2M batch, cut at the
 * end of its VMA. *next is where the next batch starts.
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
	struct vm_area_struct *vma;
	unsigned long vs, ve, mapped_end;
	int ret;

	if (f->how & ODP_HOW_FAULT)
		range.default_flags = HMM_PFN_REQ_FAULT |
			((f->how & ODP_HOW_WRITE) ? HMM_PFN_REQ_WRITE : 0);
	for (;;) {
		if (time_after(jiffies, timeout))
			return -EBUSY;
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
		range.end = min(end, ve);
		memset(f->pfns, 0, ((range.end - va) >> PAGE_SHIFT) * sizeof(*f->pfns));
		ret = hmm_range_fault(&range);
		mmap_read_unlock(m->mm);
		f->hmm_calls++;
		if (ret == -EBUSY) {
			f->retries++;
			continue;
		}
		/* hmm's -EPERM: the CPU mapping forbids the access */
		if (ret)
			return ret == -EPERM ? -EFAULT : ret;
		ret = odp_fault_pages(f);
		if (ret)
			return ret;

		mutex_lock(&m->lock);
		odp_fault_pages_put(f);
		if (mmu_interval_read_retry(range.notifier, range.notifier_seq)) {
			mutex_unlock(&m->lock);
			f->retries++;
			continue;
		}
		mapped_end = range.end;
		if (!(f->how & ODP_HOW_FLOOR))
			ret = odp_install(f, r, &range, vs, ve, &mapped_end);
		mutex_unlock(&m->lock);
		if (ret == -ENOMEM) {
			f->retries++;
			continue;
		}
		if (!ret) {
			unsigned long k;

			for (k = 0; k < (range.end - va) >> PAGE_SHIFT; k++)
				f->pages_faulted += !!(f->pfns[k] & HMM_PFN_VALID);
		}
		/* a CPU block mapped whole needs no more batches */
		*next = mapped_end;
		return ret;
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
	struct odp_fault f = { .m = m, .how = how };
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
	f.pfns = kmalloc_array(ODP_BATCH_PAGES, sizeof(*f.pfns), GFP_KERNEL);
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

	/* leave the notifier's reserve full, and account */
	if (odp_fault_pages(&f) && !ret)
		ret = -ENOMEM;
	mutex_lock(&m->lock);
	odp_fault_pages_put(&f);
	m->stats.faults++;
	m->stats.hmm_calls += f.hmm_calls;
	m->stats.retries += f.retries;
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
 * when invalidations kept racing the fault for HMM_RANGE_DEFAULT_TIMEOUT;
 * -ESRCH if the process has exited; -EINTR on a fatal signal; -ENOMEM. The
 * part before an error may be mapped.
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
		seq_printf(s, "%#llx-%#llx %s pfn %#llx %s%s\n", leaf.va,
			   leaf.va + BIT_ULL(leaf.shift),
			   size[odp_pt_size_index(leaf.shift)], leaf.pfn,
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

/**
 * odp_mirror_create() - a device address space mirroring @mm
 * @mm: the process address space; the mirror holds mmgrab() on it
 * @pgsize_bitmap: leaf sizes the device supports: SZ_4K, plus any of SZ_2M
 *	and SZ_1G
 *
 * Context: may sleep.
 * Return: the mirror, or ERR_PTR(-EINVAL) for a bad bitmap, or
 * ERR_PTR(-ENOMEM).
 */
struct odp_mirror *odp_mirror_create(struct mm_struct *mm,
				     unsigned long pgsize_bitmap)
{
	struct odp_mirror *m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	int ret;

	if (!m)
		return ERR_PTR(-ENOMEM);
	mutex_init(&m->lock);
	ret = odp_pgtable_init(&m->pt, ODP_PT_MAX_LEVELS, pgsize_bitmap, &m->lock);
	if (ret) {
		mutex_destroy(&m->lock);
		kfree(m);
		return ERR_PTR(ret);
	}
	init_rwsem(&m->mr_sem);
	m->mrs = RB_ROOT_CACHED;
	xa_init(&m->chunks);
	odp_pt_reserve_init(&m->reserve);
	odp_pt_reserve_init(&m->spare);
	m->reserve_target = ODP_MIRROR_RESERVE_DEFAULT;
	m->limit = min_t(u64, mm->task_size, odp_pgtable_va_limit(&m->pt));
	m->dump_end = m->limit;
	mmgrab(mm);
	m->mm = mm;
	m->id = atomic_inc_return(&odp_mirror_ids);
	m->pid = current->mm == mm ? task_tgid_nr(current) : 0;
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
 * Clears the table (dirty entries mark their folios dirty), removes every
 * MR and notifier, and drops the mm.
 *
 * Context: may sleep.
 */
void odp_mirror_destroy(struct odp_mirror *m)
{
	struct interval_tree_node *node;
	struct odp_mr *mr;
	unsigned long idx;

	/* waits for readers of the mirror's debugfs files */
	debugfs_remove_recursive(m->debugfs);
	/* cleared first, while the notifiers still keep the pages alive */
	odp_zap(m, 0, m->limit);
	while ((node = interval_tree_iter_first(&m->mrs, 0, ULONG_MAX))) {
		mr = container_of(node, struct odp_mr, node);
		interval_tree_remove(node, &m->mrs);
		mmu_interval_notifier_remove(&mr->notifier);
		kfree(mr);
	}
	xa_for_each(&m->chunks, idx, mr) {
		mmu_interval_notifier_remove(&mr->notifier);
		kfree(mr);
	}
	xa_destroy(&m->chunks);
	odp_pgtable_destroy(&m->pt);
	WARN_ON_ONCE(m->pt.stats.tables_allocated !=
		     atomic_long_read(&m->pt.stats.tables_freed));
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
