/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The differences between the kernels odp-mirror builds against, 6.1 to
 * the newest: all of them, and only them, live here.
 */
#ifndef _ODP_COMPAT_H
#define _ODP_COMPAT_H

#include <linux/version.h>

/* KUnit test attributes, KUNIT_CASE_SLOW among them, came in 6.6. */
#if defined(_KUNIT_TEST_H) && !defined(KUNIT_CASE_SLOW)
#define KUNIT_CASE_SLOW(test_name) KUNIT_CASE(test_name)
#endif

/*
 * Two-pass interval notifiers: invalidate_start(), then, once every
 * notifier's first pass ran, invalidate_finish() for those that asked.
 * Kbuild looks for them in the kernel's own <linux/mmu_notifier.h>
 * (ODP_HAVE_TWO_PASS_NOTIFIER), which also finds backports. Two-pass ops
 * are declared as a struct odp_two_pass_ops: the kernel's ops where it
 * has them, elsewhere a stand-in that compiles and is never used.
 */
#ifdef ODP_HAVE_TWO_PASS_NOTIFIER
#define ODP_TWO_PASS_SUPPORTED	true
#define odp_two_pass_ops	mmu_interval_notifier_ops
#else
#define ODP_TWO_PASS_SUPPORTED	false
#include <linux/llist.h>

struct mmu_interval_notifier;
struct mmu_notifier_range;

struct mmu_interval_notifier_finish {
	struct llist_node link;
	struct mmu_interval_notifier *notifier;
};

struct odp_two_pass_ops {
	bool (*invalidate_start)(struct mmu_interval_notifier *interval_sub,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq,
				 struct mmu_interval_notifier_finish **finish);
	void (*invalidate_finish)(struct mmu_interval_notifier_finish *finish);
};
#endif

/*
 * The IOVA API (dma_iova_try_alloc(), dma_iova_link(), dma_iova_sync(),
 * dma_iova_unlink(), 7.x): one IOVA range per MR, linked leaf by leaf.
 * Kbuild looks for it in <linux/dma-mapping.h> (ODP_HAVE_DMA_IOVA).
 * Without it, odp_iova_usable() is false and the mirror maps each leaf
 * with dma_map_page() instead; the stand-ins below are never called.
 */
#include <linux/dma-mapping.h>

/**
 * struct odp_iova - the IOVA range of one MR
 * @pad: offset in the range of the MR's first page, so that IOVAs are as
 *	aligned as virtual addresses
 * @valid: the range was allocated
 * @state: the DMA layer's state of the range
 */
struct odp_iova {
	unsigned long pad;
	bool valid;
#ifdef ODP_HAVE_DMA_IOVA
	struct dma_iova_state state;
#endif
};

#ifdef ODP_HAVE_DMA_IOVA
/* Is @dev behind an IOMMU whose DMA domain gives out IOVA ranges? */
static inline bool odp_iova_usable(struct device *dev)
{
	struct dma_iova_state st;

	if (!dma_iova_try_alloc(dev, &st, 0, PAGE_SIZE))
		return false;
	dma_iova_free(dev, &st);
	return true;
}

static inline bool odp_iova_alloc(struct device *dev, struct odp_iova *v,
				  size_t size)
{
	v->valid = dma_iova_try_alloc(dev, &v->state, 0, size);
	return v->valid;
}

static inline void odp_iova_free(struct device *dev, struct odp_iova *v)
{
	dma_iova_free(dev, &v->state);
	v->valid = false;
}

static inline dma_addr_t odp_iova_addr(const struct odp_iova *v)
{
	return v->state.addr;
}

static inline int odp_iova_link(struct device *dev, struct odp_iova *v,
				phys_addr_t phys, size_t off, size_t size,
				enum dma_data_direction dir)
{
	return dma_iova_link(dev, &v->state, phys, off, size, dir, 0);
}

static inline void odp_iova_sync(struct device *dev, struct odp_iova *v,
				 size_t off, size_t size)
{
	dma_iova_sync(dev, &v->state, off, size);
}

static inline void odp_iova_unlink(struct device *dev, struct odp_iova *v,
				   size_t off, size_t size)
{
	dma_iova_unlink(dev, &v->state, off, size, DMA_BIDIRECTIONAL, 0);
}
#else
static inline bool odp_iova_usable(struct device *dev)
{
	return false;
}

static inline bool odp_iova_alloc(struct device *dev, struct odp_iova *v,
				  size_t size)
{
	return false;
}

static inline void odp_iova_free(struct device *dev, struct odp_iova *v)
{
}

static inline dma_addr_t odp_iova_addr(const struct odp_iova *v)
{
	return 0;
}

static inline int odp_iova_link(struct device *dev, struct odp_iova *v,
				phys_addr_t phys, size_t off, size_t size,
				enum dma_data_direction dir)
{
	return -EOPNOTSUPP;
}

static inline void odp_iova_sync(struct device *dev, struct odp_iova *v,
				 size_t off, size_t size)
{
}

static inline void odp_iova_unlink(struct device *dev, struct odp_iova *v,
				   size_t off, size_t size)
{
}
#endif

#endif /* _ODP_COMPAT_H */
