// SPDX-License-Identifier: GPL-2.0
/*
 * odp_sim_device: a simulated ODP device, /dev/odp_sim, over odp_mirror.
 *
 * The device reads and writes user memory the way hardware would: it
 * translates every page through a small TLB of its own, filled from the
 * mirror's leaves, and walks the mirror's table on a TLB miss; a miss in
 * the table is a device page fault, resolved with
 * odp_mirror_fault_and_lock(), which returns with the leaves in place and
 * the mirror lock held. It copies straight between the translated pages
 * and the caller's pinned buffer, as a DMA engine would: no user memory is
 * touched, and nothing can fault, while the mirror lock is held.
 *
 * The TLB is the device's own copy of translations, the part a driver of
 * real hardware keeps in sync through the mirror's callbacks: the install
 * callback loads what a fault mapped, the invalidate callback zaps what an
 * invalidation covers. A translation the TLB kept too long would show the
 * device stale pages, which the stress test's oracle would see. The UAPI,
 * shared with /dev/odp_edu, is in odp_uapi.c.
 */
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "odp_uapi.h"

/* A device fault maps up to the next 2M boundary */
#define ODP_SIM_FAULT_WINDOW	SZ_2M
/* Pages of one hmm_range_fault() call of ODP_SIM_IOC_BENCH_HMM */
#define ODP_SIM_BENCH_PAGES	(SZ_1G >> PAGE_SHIFT)

static ulong pgsizes = ODP_PT_PGSIZES_ALL;
module_param(pgsizes, ulong, 0444);
MODULE_PARM_DESC(pgsizes, "default leaf sizes of the device: 4K | 2M | 1G");

/* Per open file: the device's TLB and its counters, under the mirror lock */
struct odp_sim {
	struct odp_uapi_tlb tlb;
};

/* Invalidation: zap every translation of the range, before DMA goes */
static void odp_sim_invalidate_start(struct odp_mirror *m, const struct odp_inval *inv)
{
	struct odp_sim *s = odp_uapi_priv(odp_mirror_priv(m));

	odp_uapi_tlb_invalidate(&s->tlb, inv, false);
}

/* A fault mapped [start, end): load the device's TLB from it */
static void odp_sim_install(struct odp_mirror *m, struct odp_mr *mr,
			    unsigned long start, unsigned long end)
{
	struct odp_sim *s = odp_uapi_priv(odp_mirror_priv(m));

	odp_uapi_tlb_install(&s->tlb, m, start, end);
}

static const struct odp_mirror_ops odp_sim_ops = {
	.invalidate_start = odp_sim_invalidate_start,
	.install = odp_sim_install,
};

/* Copy @n bytes between a page the device translated and the buffer */
static void odp_sim_copy(struct page *dev, size_t doff, struct page *buf,
			 size_t boff, size_t n, bool write)
{
	void *d = kmap_local_page(dev);
	void *b = kmap_local_page(buf);

	if (write) {
		memcpy(d + doff, b + boff, n);
		flush_dcache_page(dev);
	} else {
		memcpy(b + boff, d + doff, n);
		flush_dcache_page(buf);
	}
	kunmap_local(b);
	kunmap_local(d);
}

/*
 * The device's access to [va, va + len), like a DMA engine moving data
 * between the mirrored memory and a buffer: each translated page is
 * copied straight to or from the caller's pinned buffer, its first byte
 * @boff bytes into @buf[0]. A miss, or a write to a read-only entry, is a
 * device fault.
 */
static int odp_sim_access(struct odp_uapi_file *f, unsigned long va,
			  struct page **buf, size_t boff, size_t len,
			  bool write, u64 *faults)
{
	struct odp_mirror *m = odp_uapi_mirror(f);
	struct odp_sim *s = odp_uapi_priv(f);
	bool locked = false;
	int ret = 0;

	while (len) {
		struct odp_pt_leaf leaf;
		unsigned long leaf_end;
		size_t window;

		if (!locked) {
			odp_mirror_lock(m);
			locked = true;
		}
		if (!odp_uapi_tlb_translate(&s->tlb, m, va, &leaf) || (write && !leaf.writable)) {
			/* a device page fault */
			odp_mirror_unlock(m);
			locked = false;
			(*faults)++;
			window = min_t(size_t, len, ALIGN(va + 1, ODP_SIM_FAULT_WINDOW) - va);
			ret = odp_mirror_fault_and_lock(m, va, window,
							write ? ODP_FAULT_WRITE : 0);
			/* a failure further on must not fail this page */
			if (ret && window > PAGE_SIZE - offset_in_page(va))
				ret = odp_mirror_fault_and_lock(m, va, 1,
								write ? ODP_FAULT_WRITE : 0);
			if (ret)
				return ret;
			locked = true;
			continue;
		}
		if (write)
			odp_mirror_set_dirty(m, va);
		leaf_end = leaf.va + BIT(leaf.shift);
		do {
			struct page *page = pfn_to_page(leaf.pfn +
							((va - leaf.va) >> PAGE_SHIFT));
			size_t n = min3(len, PAGE_SIZE - offset_in_page(va),
					PAGE_SIZE - offset_in_page(boff));

			odp_sim_copy(page, offset_in_page(va), buf[boff >> PAGE_SHIFT],
				     offset_in_page(boff), n, write);
			va += n;
			boff += n;
			len -= n;
		} while (len && va < leaf_end);
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	if (locked)
		odp_mirror_unlock(m);
	return ret;
}

static void odp_sim_stats(struct odp_uapi_file *f, struct odp_sim_stats *st)
{
	struct odp_sim *s = odp_uapi_priv(f);

	odp_uapi_tlb_stats(&s->tlb, st);
}

/* The benchmark's notifier: nothing to clear, only the sequence to move */
static bool odp_sim_bench_invalidate(struct mmu_interval_notifier *mni,
				     const struct mmu_notifier_range *range,
				     unsigned long cur_seq)
{
	mmu_interval_set_seq(mni, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops odp_sim_bench_ops = {
	.invalidate = odp_sim_bench_invalidate,
};

/*
 * ODP_SIM_IOC_BENCH_HMM: what a prefetch cannot go below, the cost of
 * hmm_range_fault() itself: one call per 1 GiB of the range, one notifier,
 * no batches, no table.
 */
static long odp_sim_bench_hmm(struct odp_uapi_file *f, void __user *uarg)
{
	struct mmu_interval_notifier mni;
	struct odp_sim_prefetch a;
	struct mm_struct *mm = current->mm;
	unsigned long *pfns, va, end, flags = 0;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.advice > ODP_SIM_PREFETCH_NO_FAULT || !a.length || a.start > ULONG_MAX ||
	    a.length > ULONG_MAX - a.start || !PAGE_ALIGNED(a.start | a.length))
		return -EINVAL;
	pfns = kvmalloc_array(min_t(u64, a.length >> PAGE_SHIFT, ODP_SIM_BENCH_PAGES),
			      sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	ret = mmu_interval_notifier_insert(&mni, mm, a.start, a.length, &odp_sim_bench_ops);
	if (ret)
		goto out;
	end = a.start + a.length;
	if (a.advice != ODP_SIM_PREFETCH_NO_FAULT)
		flags = HMM_PFN_REQ_FAULT;
	if (a.advice == ODP_SIM_PREFETCH_WRITE)
		flags |= HMM_PFN_REQ_WRITE;
	for (va = a.start; va < end && !ret; va += SZ_1G) {
		struct hmm_range range = {
			.notifier = &mni,
			.start = va,
			.end = min(end, va + SZ_1G),
			.hmm_pfns = pfns,
			.default_flags = flags,
		};

		do {
			range.notifier_seq = mmu_interval_read_begin(&mni);
			mmap_read_lock(mm);
			ret = hmm_range_fault(&range);
			mmap_read_unlock(mm);
		} while (ret == -EBUSY && !fatal_signal_pending(current));
	}
	mmu_interval_notifier_remove(&mni);
out:
	kvfree(pfns);
	return ret;
}

static long odp_sim_ioctl(struct odp_uapi_file *f, unsigned int cmd,
			  void __user *uarg)
{
	return cmd == ODP_SIM_IOC_BENCH_HMM ? odp_sim_bench_hmm(f, uarg) : -ENOTTY;
}

static struct odp_uapi_driver odp_sim_driver = {
	.name = "odp_sim",
	.owner = THIS_MODULE,
	.ops = &odp_sim_ops,
	.file_priv_size = sizeof(struct odp_sim),
	.access = odp_sim_access,
	.stats = odp_sim_stats,
	.ioctl = odp_sim_ioctl,
};

static int __init odp_sim_init(void)
{
	if (!(pgsizes & SZ_4K) || (pgsizes & ~ODP_PT_PGSIZES_ALL))
		return -EINVAL;
	odp_sim_driver.pgsize_bitmap = pgsizes;
	return odp_uapi_register(&odp_sim_driver);
}

static void __exit odp_sim_exit(void)
{
	odp_uapi_unregister(&odp_sim_driver);
}

module_init(odp_sim_init);
module_exit(odp_sim_exit);
MODULE_DESCRIPTION("Simulated ODP device over odp_mirror");
MODULE_LICENSE("GPL");
