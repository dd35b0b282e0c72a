// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites of the odp_pgtable device page table.
 *
 * They use only the public interface: leaves are observed through
 * lookup, iteration, snapshots and the accounting, never through bits.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/spinlock.h>
#include <linux/sched.h>
#include <linux/vmalloc.h>

#include "odp_compat.h"
#include "odp_pgtable.h"

static unsigned int seed;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "seed of the randomized test (0: pick one)");

#define K4	((u64)SZ_4K)
#define M2	((u64)SZ_2M)
#define G1	((u64)SZ_1G)
#define PFN(addr)	((u64)(addr) >> PAGE_SHIFT)

/* held where sleeping would be a bug */
static DEFINE_SPINLOCK(odp_kunit_atomic);

struct pt_test {
	struct kunit *test;
	struct mutex lock;		/* the table lock */
	struct odp_pgtable pt;
	unsigned long released;		/* 4K pages reported by release */
	unsigned long released_dirty;	/* ... of which dirty */
	u64 merge_start, merge_end;	/* merge window of t_map() */
	const unsigned long *frames;	/* frame array of t_map(), or NULL */
	const struct odp_pt_frame_format *format;	/* ... and its format */
};

static void t_release(void *priv, const struct odp_pt_leaf *leaf)
{
	struct pt_test *t = priv;
	unsigned long n = 1UL << (leaf->shift - PAGE_SHIFT);

	t->released += n;
	if (leaf->dirty)
		t->released_dirty += n;
}

static int t_init_sizes(struct pt_test *t, unsigned int levels,
			unsigned long sizes)
{
	odp_pgtable_destroy(&t->pt);
	KUNIT_EXPECT_EQ(t->test, t->pt.stats.tables_allocated,
			(unsigned long)atomic_long_read(&t->pt.stats.tables_freed));
	return odp_pgtable_init(&t->pt, levels, sizes, &t->lock);
}

static int pt_test_init(struct kunit *test)
{
	struct pt_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	if (!t)
		return -ENOMEM;
	t->test = test;
	mutex_init(&t->lock);
	test->priv = t;
	return odp_pgtable_init(&t->pt, 4, ODP_PT_PGSIZES_ALL, &t->lock);
}

static void pt_test_exit(struct kunit *test)
{
	struct pt_test *t = test->priv;

	odp_pgtable_destroy(&t->pt);
	KUNIT_EXPECT_EQ(test, t->pt.stats.tables, 0UL);
	KUNIT_EXPECT_EQ(test, t->pt.stats.tables_allocated,
			(unsigned long)atomic_long_read(&t->pt.stats.tables_freed));
	mutex_destroy(&t->lock);
}

/* One operation under the lock; table pages may be allocated. */
enum t_op { T_MAP, T_UNMAP, T_PROTECT };

static int t_do(struct pt_test *t, enum t_op op, u64 va, u64 len, u64 pfn,
		unsigned int arg, const struct odp_pt_alloc *alloc,
		struct odp_pt_result *res)
{
	static const struct odp_pt_alloc may_sleep = { .gfp = GFP_KERNEL };
	struct odp_pt_result local;
	int ret;

	if (!res)
		res = &local;
	if (!alloc)
		alloc = &may_sleep;
	odp_pt_result_init(res, t_release, t);
	mutex_lock(&t->lock);
	switch (op) {
	case T_MAP: {
		struct odp_pt_map map = {
			.va = va, .len = len, .pfn = pfn, .prot = arg,
			.frames = t->frames, .format = t->format,
			.merge_start = t->merge_start, .merge_end = t->merge_end,
		};

		ret = odp_pgtable_map(&t->pt, &map, alloc, res);
		break;
	}
	case T_UNMAP:
		ret = odp_pgtable_unmap(&t->pt, va, len, arg, alloc, res);
		break;
	default:
		ret = odp_pgtable_protect(&t->pt, va, len, arg, alloc, res);
		break;
	}
	mutex_unlock(&t->lock);
	odp_pgtable_free_tables(&t->pt, res);
	return ret;
}

static int t_map(struct pt_test *t, u64 va, u64 len, u64 pfn, unsigned int prot)
{
	return t_do(t, T_MAP, va, len, pfn, prot, NULL, NULL);
}

static int t_unmap(struct pt_test *t, u64 va, u64 len, unsigned int flags)
{
	return t_do(t, T_UNMAP, va, len, 0, flags, NULL, NULL);
}

static int t_protect(struct pt_test *t, u64 va, u64 len, unsigned int flags)
{
	return t_do(t, T_PROTECT, va, len, 0, flags, NULL, NULL);
}

/* Leaves by size index intersecting [va, va + len) */
static void t_census(struct pt_test *t, u64 va, u64 len,
		     unsigned long census[ODP_PT_NR_SIZES])
{
	struct odp_pt_leaf leaf;
	struct odp_pt_iter it;

	memset(census, 0, sizeof(unsigned long) * ODP_PT_NR_SIZES);
	mutex_lock(&t->lock);
	odp_pgtable_for_each_leaf(&t->pt, &it, va, len, &leaf)
		census[odp_pt_size_index(leaf.shift)]++;
	mutex_unlock(&t->lock);
}

#define EXPECT_CENSUS(t, va, len, n4k, n2m, n1g) do {			\
	struct pt_test *__t = (t);					\
	unsigned long __c[ODP_PT_NR_SIZES];				\
	t_census(__t, va, len, __c);					\
	KUNIT_EXPECT_EQ(__t->test, __c[0], (unsigned long)(n4k));	\
	KUNIT_EXPECT_EQ(__t->test, __c[1], (unsigned long)(n2m));	\
	KUNIT_EXPECT_EQ(__t->test, __c[2], (unsigned long)(n1g));	\
} while (0)

/* Table pages beyond the root */
static unsigned long t_tables(struct pt_test *t)
{
	return t->pt.stats.tables - 1;
}

/*
 * Is @va mapped to @pfn with @writable by a leaf of size @shift? shift 0:
 * expect no mapping.
 */
static bool t_page_is(struct pt_test *t, u64 va, u64 pfn, bool writable,
		      unsigned int shift)
{
	struct odp_pt_leaf leaf;
	bool found;

	mutex_lock(&t->lock);
	found = odp_pgtable_lookup(&t->pt, va, &leaf);
	mutex_unlock(&t->lock);
	if (!shift)
		return !found;
	return found && leaf.shift == shift && leaf.writable == writable &&
	       leaf.pfn + ((va - leaf.va) >> PAGE_SHIFT) == pfn &&
	       va >= leaf.va && va - leaf.va < BIT_ULL(leaf.shift);
}

/* Every 4K of [va, va + len) maps pfn + k with the given leaf size. */
static bool t_range_is(struct pt_test *t, u64 va, u64 len, u64 pfn,
		       bool writable, unsigned int shift)
{
	u64 off;

	for (off = 0; off < len; off += K4)
		if (!t_page_is(t, va + off, pfn + PFN(off), writable, shift))
			return false;
	return true;
}

/* 1. Each leaf size alone, then with the size bitmap restricted */
static void pt_map_each_size(struct kunit *test)
{
	static const u64 sizes[] = { K4, M2, G1 };
	struct pt_test *t = test->priv;
	unsigned int s;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		u64 va = 8ULL * G1, pfn = PFN(3ULL * G1);

		KUNIT_ASSERT_EQ(test, t_map(t, va, sizes[s], pfn, ODP_PT_WRITE), 0);
		KUNIT_EXPECT_EQ(test, t->pt.stats.leaves[s], 1UL);
		KUNIT_EXPECT_TRUE(test, t_page_is(t, va, pfn, true, 12 + 9 * s));
		KUNIT_EXPECT_TRUE(test, t_page_is(t, va + sizes[s] - K4,
						  pfn + PFN(sizes[s]) - 1, true, 12 + 9 * s));
		KUNIT_EXPECT_TRUE(test, t_page_is(t, va + sizes[s], 0, false, 0));
		KUNIT_EXPECT_TRUE(test, t_page_is(t, va - K4, 0, false, 0));
		KUNIT_ASSERT_EQ(test, t_unmap(t, va, sizes[s], 0), 0);
		KUNIT_EXPECT_TRUE(test, t_page_is(t, va, 0, false, 0));
		EXPECT_CENSUS(t, 0, odp_pgtable_va_limit(&t->pt), 0, 0, 0);
		/* tables left empty are freed up to the root */
		KUNIT_EXPECT_EQ(test, t_tables(t), 0UL);
	}

	/* {4K}: a 1G-aligned GiB becomes 262144 4K leaves */
	KUNIT_ASSERT_EQ(test, t_init_sizes(t, 4, SZ_4K), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, G1, G1, PFN(G1), 0), 0);
	EXPECT_CENSUS(t, G1, G1, 262144, 0, 0);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, G1 + M2 + K4, PFN(G1 + M2 + K4), false, 12));
	KUNIT_EXPECT_EQ(test, t_unmap(t, G1, G1, 0), 0);
	KUNIT_EXPECT_EQ(test, t_tables(t), 0UL);

	/* {4K, 2M}: the same GiB becomes 512 2M leaves, never a 1G one */
	KUNIT_ASSERT_EQ(test, t_init_sizes(t, 4, SZ_4K | SZ_2M), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, G1, G1, PFN(G1), 0), 0);
	EXPECT_CENSUS(t, G1, G1, 0, 512, 0);
	KUNIT_EXPECT_TRUE(test, t_range_is(t, G1, 3 * M2, PFN(G1), false, 21));
	KUNIT_EXPECT_EQ(test, t_unmap(t, G1, G1, 0), 0);
}

/* 2. A run crossing 2M and 1G boundaries has a census known in advance. */
static void pt_map_mixed_census(struct kunit *test)
{
	struct pt_test *t = test->priv;
	/* from 1G - 2M - 8K to 2G + 2M + 12K, identity-mapped */
	u64 va = G1 - M2 - 2 * K4, end = 2 * G1 + M2 + 3 * K4;
	struct odp_pt_result res;

	KUNIT_ASSERT_EQ(test, t_do(t, T_MAP, va, end - va, PFN(va), ODP_PT_WRITE,
				   NULL, &res), 0);
	/* 2 x 4K up to 1G - 2M, one 2M to 1G, one 1G, one 2M, 3 x 4K */
	EXPECT_CENSUS(t, 0, 4 * G1, 5, 2, 1);
	KUNIT_EXPECT_EQ(test, res.installed[0], 5UL);
	KUNIT_EXPECT_EQ(test, res.installed[1], 2UL);
	KUNIT_EXPECT_EQ(test, res.installed[2], 1UL);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, G1 - M2 - K4, PFN(G1 - M2 - K4), true, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, G1 - K4, PFN(G1 - K4), true, 21));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, G1 + 5 * M2, PFN(G1 + 5 * M2), true, 30));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, 2 * G1 + K4, PFN(2 * G1 + K4), true, 21));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, end - K4, PFN(end - K4), true, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, end, 0, false, 0));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va - K4, 0, false, 0));
	KUNIT_EXPECT_EQ(test, t->pt.stats.leaves[0] + t->pt.stats.leaves[1] +
			      t->pt.stats.leaves[2], 8UL);
}

/* 3. Misaligned va or pa forces small leaves even for long runs. */
static void pt_map_misaligned(struct kunit *test)
{
	struct pt_test *t = test->priv;

	/* pa 4K off the va's 2M alignment: nothing larger than 4K fits */
	KUNIT_ASSERT_EQ(test, t_map(t, G1, 4 * M2, PFN(5 * G1 + K4), 0), 0);
	EXPECT_CENSUS(t, 0, 8 * G1, 2048, 0, 0);
	KUNIT_ASSERT_EQ(test, t_unmap(t, G1, 4 * M2, 0), 0);

	/* pa 2M-aligned but not 1G-aligned: 2M leaves, no 1G */
	KUNIT_ASSERT_EQ(test, t_map(t, G1, G1, PFN(5 * G1 + M2), 0), 0);
	EXPECT_CENSUS(t, 0, 8 * G1, 0, 512, 0);
	KUNIT_ASSERT_EQ(test, t_unmap(t, G1, G1, 0), 0);

	/* va 4K off 2M, pa aligned to the va: 4K up to 2M, then 2M leaves */
	KUNIT_ASSERT_EQ(test, t_map(t, G1 + K4, 2 * M2 - K4, PFN(G1 + K4), 0), 0);
	EXPECT_CENSUS(t, 0, 8 * G1, 511, 1, 0);
	KUNIT_EXPECT_EQ(test, t_tables(t), 3UL);
}

/*
 * 4. Split: unmap or write-protect one 4K at the first, a middle and the
 * last position of a 2M leaf and of a 1G leaf. Every other 4K keeps its
 * target and permission.
 */
static void pt_split_one(struct kunit *test, bool protect, u64 size,
			 u64 hole_off)
{
	struct pt_test *t = test->priv;
	u64 va = 4 * G1, pfn = PFN(7 * G1), hole = va + hole_off;
	unsigned int shift = size == G1 ? 30 : 21;
	struct odp_pt_result res;
	u8 *snap;
	u64 k, n = size / K4;

	KUNIT_ASSERT_EQ(test, t_map(t, va, size, pfn, ODP_PT_WRITE), 0);
	KUNIT_ASSERT_TRUE(test, t_page_is(t, va, pfn, true, shift));
	KUNIT_ASSERT_EQ(test, t_do(t, protect ? T_PROTECT : T_UNMAP, hole, K4, 0, 0,
				   NULL, &res), 0);
	/* 1G: split to 2M, then the 2M around the hole to 4K */
	KUNIT_EXPECT_EQ(test, res.splits, size == G1 ? 2U : 1U);
	KUNIT_EXPECT_EQ(test, res.need, size == G1 ? 2U : 1U);
	KUNIT_EXPECT_EQ(test, protect ? res.protected[0] : res.cleared[0], 1UL);
	KUNIT_EXPECT_EQ(test, t->released, protect ? 0UL : 1UL);

	snap = kunit_kmalloc(test, n, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, snap);
	mutex_lock(&t->lock);
	KUNIT_ASSERT_EQ(test, odp_pgtable_snapshot(&t->pt, va, n, snap), 0);
	mutex_unlock(&t->lock);
	for (k = 0; k < n; k++) {
		u64 a = va + k * K4;
		bool in_hole_2m = ALIGN_DOWN(a, M2) == ALIGN_DOWN(hole, M2);
		unsigned int s = in_hole_2m ? 12 : 21;

		if (a == hole) {
			KUNIT_EXPECT_EQ(test, snap[k], protect ?
					(u8)ODP_PT_SNAP_PRESENT : (u8)0);
			KUNIT_EXPECT_TRUE(test, protect ? t_page_is(t, a, pfn + k, false, 12) :
					  t_page_is(t, a, 0, false, 0));
			continue;
		}
		KUNIT_EXPECT_EQ(test, snap[k], (u8)(ODP_PT_SNAP_PRESENT | ODP_PT_SNAP_WRITE |
				odp_pt_size_index(s) << ODP_PT_SNAP_SIZE_SHIFT));
		/* the target of every other page is checked through lookup */
		if (in_hole_2m || (k % 512) == 0 || (k % 512) == 511)
			KUNIT_EXPECT_TRUE(test, t_page_is(t, a, pfn + k, true, s));
	}
	EXPECT_CENSUS(t, va, size, protect ? 512 : 511, size == G1 ? 511 : 0, 0);
	KUNIT_ASSERT_EQ(test, t_unmap(t, va, size, 0), 0);
	KUNIT_EXPECT_EQ(test, t_tables(t), 0UL);
	t->released = 0;
}

static void pt_split_2m(struct kunit *test)
{
	pt_split_one(test, false, M2, 0);
	pt_split_one(test, false, M2, 300 * K4);
	pt_split_one(test, false, M2, M2 - K4);
	pt_split_one(test, true, M2, 0);
	pt_split_one(test, true, M2, 300 * K4);
	pt_split_one(test, true, M2, M2 - K4);
}

static void pt_split_1g(struct kunit *test)
{
	pt_split_one(test, false, G1, 0);
	pt_split_one(test, false, G1, 333 * M2 + 17 * K4);
	pt_split_one(test, false, G1, G1 - K4);
	pt_split_one(test, true, G1, 0);
	pt_split_one(test, true, G1, 333 * M2 + 17 * K4);
	pt_split_one(test, true, G1, G1 - K4);
}

/* 5. Merge: re-mapping the hole gives one leaf again and frees the tables. */
static void pt_merge_back(struct kunit *test)
{
	struct pt_test *t = test->priv;
	u64 va = 2 * G1, pfn = PFN(9 * G1), hole = va + 77 * M2 + 5 * K4;
	struct odp_pt_result res;
	unsigned long tables;

	KUNIT_ASSERT_EQ(test, t_map(t, va, G1, pfn, ODP_PT_WRITE), 0);
	tables = t_tables(t);
	KUNIT_ASSERT_EQ(test, t_unmap(t, hole, K4, 0), 0);
	KUNIT_EXPECT_EQ(test, t_tables(t), tables + 2);
	EXPECT_CENSUS(t, va, G1, 511, 511, 0);

	KUNIT_ASSERT_EQ(test, t_do(t, T_MAP, hole, K4, pfn + PFN(hole - va),
				   ODP_PT_WRITE, NULL, &res), 0);
	/* 4K table -> 2M leaf, then 2M table -> 1G leaf */
	KUNIT_EXPECT_EQ(test, res.merges, 2U);
	EXPECT_CENSUS(t, va, G1, 0, 0, 1);
	KUNIT_EXPECT_EQ(test, t_tables(t), tables);
	KUNIT_EXPECT_TRUE(test, t_range_is(t, hole - K4, 3 * K4, pfn + PFN(hole - va) - 1,
					   true, 30));

	/* write-protect one page, then the rest: merges into a read-only leaf */
	KUNIT_ASSERT_EQ(test, t_protect(t, hole, K4, 0), 0);
	EXPECT_CENSUS(t, va, G1, 512, 511, 0);
	KUNIT_ASSERT_EQ(test, t_protect(t, va, G1, ODP_PT_MERGE), 0);
	EXPECT_CENSUS(t, va, G1, 0, 0, 1);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, hole, pfn + PFN(hole - va), false, 30));
	KUNIT_EXPECT_EQ(test, t_tables(t), tables);

	/* a wrong target in the hole does not merge */
	KUNIT_ASSERT_EQ(test, t_unmap(t, hole, K4, 0), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, hole, K4, pfn + 1, 0), 0);
	EXPECT_CENSUS(t, va, G1, 512, 511, 0);
	KUNIT_EXPECT_EQ(test, t->pt.stats.merges, 4UL);
}

/* Merges build leaves only inside the caller's window (an MR, a VMA). */
static void pt_merge_window(struct kunit *test)
{
	struct pt_test *t = test->priv;
	u64 va = 2 * G1, half = M2 / 2;

	/* the two halves of a 2M block, each mapped within its own window */
	t->merge_start = va;
	t->merge_end = va + half;
	KUNIT_ASSERT_EQ(test, t_map(t, va, half, PFN(va), 0), 0);
	t->merge_start = va + half;
	t->merge_end = va + M2;
	KUNIT_ASSERT_EQ(test, t_map(t, va + half, half, PFN(va + half), 0), 0);
	EXPECT_CENSUS(t, va, M2, 512, 0, 0);
	KUNIT_EXPECT_EQ(test, t->pt.stats.merges, 0UL);
	/* the same table merges once a map's window holds the whole block */
	t->merge_start = va;
	KUNIT_ASSERT_EQ(test, t_map(t, va + K4, K4, PFN(va + K4), 0), 0);
	EXPECT_CENSUS(t, va, M2, 0, 1, 0);
	/* an empty window is a bad argument */
	t->merge_start = va + M2;
	t->merge_end = va;
	KUNIT_EXPECT_EQ(test, t_map(t, va, K4, PFN(va), 0), -EINVAL);
	t->merge_start = 0;
	t->merge_end = 0;
}

/*
 * A frame array: contiguous, aligned stretches of one permission become
 * huge leaves, everything else 4K leaves with its own frame and permission.
 */
static void pt_map_frames(struct kunit *test)
{
	struct pt_test *t = test->priv;
	/* present in bit 62, frame in the low 40 bits, write in bit 61 */
	static const struct odp_pt_frame_format fmt = {
		.frame_mask = BIT(40) - 1, .write_mask = BIT(61),
		.present_mask = BIT(62), .present_value = BIT(62),
	};
	static const struct odp_pt_frame_format bad = { .frame_mask = BIT(40) };
	u64 va = 6 * G1, n = 4 * 512, k;
	unsigned long *f = kunit_kmalloc_array(test, n, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	for (k = 0; k < n; k++)
		f[k] = PFN(9 * G1) + k;
	for (k = 0; k < 512; k++)	/* 2M block 0: contiguous, writable */
		f[k] |= ODP_PT_FRAME_WRITE;
	f[512 + 7] |= ODP_PT_FRAME_WRITE;	/* block 1: one page differs */
	f[1024 + 300] = 12345;		/* block 2: one frame elsewhere */
	/* block 3: contiguous, read-only */
	t->frames = f;
	KUNIT_ASSERT_EQ(test, t_map(t, va, n * K4, 0, 0), 0);
	t->frames = NULL;
	EXPECT_CENSUS(t, va, n * K4, 1024, 2, 0);
	KUNIT_EXPECT_TRUE(test, t_range_is(t, va, M2, PFN(9 * G1), true, 21));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + M2 + 7 * K4, PFN(9 * G1) + 512 + 7, true, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + M2 + 8 * K4, PFN(9 * G1) + 512 + 8, false, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + 2 * M2 + 300 * K4, 12345, false, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + 2 * M2 + 301 * K4, PFN(9 * G1) + 1024 + 301,
					  false, 12));
	KUNIT_EXPECT_TRUE(test, t_range_is(t, va + 3 * M2, M2, PFN(9 * G1) + 1536, false, 21));

	/* a misaligned first frame: contiguous, but only 4K leaves fit */
	for (k = 0; k < 512; k++)
		f[k] = PFN(9 * G1) + 1 + k;
	t->frames = f;
	KUNIT_ASSERT_EQ(test, t_map(t, va, M2, 0, 0), 0);
	t->format = &bad;	/* a frame mask not in the low bits */
	KUNIT_EXPECT_EQ(test, t_map(t, va, M2, 0, 0), -EINVAL);
	t->format = NULL;
	t->frames = NULL;
	EXPECT_CENSUS(t, va, M2, 512, 0, 0);

	/* a format of one's own: absent entries leave the table alone */
	KUNIT_ASSERT_EQ(test, t_unmap(t, va, 4 * M2, 0), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, va + M2 + 9 * K4, K4, 77, 0), 0);
	for (k = 0; k < 1024; k++)
		f[k] = BIT(62) | BIT(61) | (PFN(9 * G1) + k);
	f[3] &= ~BIT(62);		/* block 0: one page absent */
	f[512 + 9] &= ~BIT(62);		/* block 1: absent where 77 is mapped */
	f[512 + 20] &= ~BIT(61);	/* ... and one page read-only */
	t->frames = f;
	t->format = &fmt;
	KUNIT_ASSERT_EQ(test, t_map(t, va, 2 * M2, 0, 0), 0);
	t->format = NULL;
	t->frames = NULL;
	EXPECT_CENSUS(t, va, 2 * M2, 1023, 0, 0);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + 3 * K4, 0, false, 0));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + 4 * K4, PFN(9 * G1) + 4, true, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + M2 + 9 * K4, 77, false, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + M2 + 20 * K4, PFN(9 * G1) + 532, false, 12));
	/* all present, one permission: a 2M leaf, and an empty stretch maps nothing */
	for (k = 0; k < 1024; k++)
		f[k] = (k < 512 ? BIT(62) | BIT(61) : 0) | (PFN(11 * G1) + k);
	t->frames = f;
	t->format = &fmt;
	KUNIT_ASSERT_EQ(test, t_map(t, 8 * G1, 2 * M2, 0, 0), 0);
	t->format = NULL;
	t->frames = NULL;
	EXPECT_CENSUS(t, 8 * G1, 2 * M2, 0, 1, 0);
}

/* 6. A huge leaf mapped over a lower table replaces it and frees it. */
static void pt_map_over_table(struct kunit *test)
{
	struct pt_test *t = test->priv;
	u64 va = 3 * G1;
	struct odp_pt_result res;

	KUNIT_ASSERT_EQ(test, t_map(t, va, G1, PFN(va) + 1, 0), 0);
	EXPECT_CENSUS(t, va, G1, 262144, 0, 0);
	KUNIT_EXPECT_EQ(test, t_tables(t), 2UL + 512);

	KUNIT_ASSERT_EQ(test, t_do(t, T_MAP, va, G1, PFN(va), ODP_PT_WRITE, NULL, &res), 0);
	EXPECT_CENSUS(t, va, G1, 0, 0, 1);
	KUNIT_EXPECT_EQ(test, res.cleared[0], 262144UL);
	KUNIT_EXPECT_EQ(test, t->released, 262144UL);
	KUNIT_EXPECT_EQ(test, t_tables(t), 1UL);
	KUNIT_EXPECT_EQ(test, t->pt.stats.leaves[0], 0UL);

	/* and a 2M leaf over a 4K table */
	KUNIT_ASSERT_EQ(test, t_map(t, va + K4, K4, 5, 0), 0);
	KUNIT_EXPECT_EQ(test, t_tables(t), 3UL);
	/* read-only, so it cannot merge with the writable rest */
	KUNIT_ASSERT_EQ(test, t_map(t, va, M2, PFN(va), 0), 0);
	EXPECT_CENSUS(t, va, G1, 0, 512, 0);
	KUNIT_EXPECT_EQ(test, t_tables(t), 2UL);
}

/* 7. The edges of the address space and of leaves */
static void pt_boundaries(struct kunit *test)
{
	struct pt_test *t = test->priv;
	u64 top = odp_pgtable_va_limit(&t->pt);

	KUNIT_EXPECT_EQ(test, top, 1ULL << 48);
	/* lowest and highest pages */
	KUNIT_ASSERT_EQ(test, t_map(t, 0, K4, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, top - K4, K4, 2, ODP_PT_WRITE), 0);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, 0, 1, false, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, top - K4, 2, true, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, K4, 0, false, 0));
	EXPECT_CENSUS(t, 0, top, 2, 0, 0);
	/* a 1G leaf ending exactly at the top */
	KUNIT_ASSERT_EQ(test, t_map(t, top - G1, G1, PFN(G1), 0), 0);
	EXPECT_CENSUS(t, 0, top, 1, 0, 1);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, top - K4, PFN(2 * G1) - 1, false, 30));
	/* a range ending at a 1G boundary, from 4K below it */
	KUNIT_ASSERT_EQ(test, t_map(t, G1 - K4, K4, 3, 0), 0);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, G1 - K4, 3, false, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, G1, 0, false, 0));
	KUNIT_ASSERT_EQ(test, t_unmap(t, top - K4, K4, 0), 0);
	EXPECT_CENSUS(t, top - G1, G1, 511, 511, 0);
	KUNIT_ASSERT_EQ(test, t_unmap(t, 0, top, 0), 0);
	EXPECT_CENSUS(t, 0, top, 0, 0, 0);
	KUNIT_EXPECT_EQ(test, t_tables(t), 0UL);
	/* the iterator stops at the top */
	KUNIT_ASSERT_EQ(test, t_map(t, top - K4, K4, 2, 0), 0);
	EXPECT_CENSUS(t, top - K4, U64_MAX, 1, 0, 0);
}

/*
 * 8. With an empty reserve and no allocation, a split fails and changes
 * nothing; with a filled reserve it succeeds under a spinlock, where
 * sleeping would be a bug. ODP_PT_FALLBACK clears the leaf whole instead.
 */
static void pt_reserve(struct kunit *test)
{
	struct pt_test *t = test->priv;
	struct odp_pt_reserve r;
	struct odp_pt_alloc only_reserve = { .reserve = &r };
	struct odp_pt_result res;
	u64 va = 5 * G1, pfn = PFN(11 * G1);
	struct odp_pt_stats before;
	int ret;

	odp_pt_reserve_init(&r);
	KUNIT_ASSERT_EQ(test, t_map(t, va, G1, pfn, ODP_PT_WRITE), 0);
	before = t->pt.stats;

	/* one 4K page inside a 1G leaf needs two table pages; give one */
	KUNIT_ASSERT_EQ(test, odp_pt_reserve_fill(&r, 1, GFP_KERNEL), 0);
	ret = t_do(t, T_UNMAP, va + M2 + K4, K4, 0, 0, &only_reserve, &res);
	KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
	KUNIT_EXPECT_EQ(test, res.need, 2U);
	KUNIT_EXPECT_EQ(test, r.nr, 1U);
	KUNIT_EXPECT_EQ(test, memcmp(&before, &t->pt.stats, sizeof(before)), 0);
	KUNIT_EXPECT_TRUE(test, t_range_is(t, va, 2 * M2, pfn, true, 30));
	ret = t_do(t, T_PROTECT, va + M2 + K4, K4, 0, 0, &only_reserve, &res);
	KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
	ret = t_do(t, T_MAP, va + M2 + K4, K4, 1, 0, &only_reserve, &res);
	KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
	KUNIT_EXPECT_EQ(test, memcmp(&before, &t->pt.stats, sizeof(before)), 0);
	KUNIT_EXPECT_EQ(test, t->released, 0UL);

	/* with two pages it works, atomically */
	KUNIT_ASSERT_EQ(test, odp_pt_reserve_fill(&r, 2, GFP_KERNEL), 0);
	odp_pt_result_init(&res, t_release, t);
	mutex_lock(&t->lock);
	spin_lock(&odp_kunit_atomic);
	ret = odp_pgtable_unmap(&t->pt, va + M2 + K4, K4, 0, &only_reserve, &res);
	spin_unlock(&odp_kunit_atomic);
	mutex_unlock(&t->lock);
	odp_pgtable_free_tables(&t->pt, &res);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, r.nr, 0U);
	EXPECT_CENSUS(t, va, G1, 511, 511, 0);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + M2 + K4, 0, false, 0));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + M2, pfn + PFN(M2), true, 12));

	/* reserve empty: fallback clears the whole 2M leaf around the hole */
	ret = t_do(t, T_UNMAP, va + 5 * M2, K4, 0, ODP_PT_FALLBACK, &only_reserve, &res);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE(test, res.fallback);
	KUNIT_EXPECT_EQ(test, res.cleared[1], 1UL);
	KUNIT_EXPECT_EQ(test, t->pt.stats.fallbacks, 1UL);
	EXPECT_CENSUS(t, va, G1, 511, 510, 0);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + 5 * M2 + M2 - K4, 0, false, 0));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + 6 * M2, pfn + PFN(6 * M2), true, 21));
	/* a fallback protect drops the leaf too: clearing is always correct */
	ret = t_do(t, T_PROTECT, va + 9 * M2, K4, 0, ODP_PT_FALLBACK, &only_reserve, &res);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + 9 * M2 + K4, 0, false, 0));
	KUNIT_EXPECT_EQ(test, t->pt.stats.fallbacks, 2UL);
	odp_pt_reserve_drain(&r);
}

/* Dirty bits: set by device writes, reported when dropped or protected */
static void pt_dirty(struct kunit *test)
{
	struct pt_test *t = test->priv;
	u64 va = G1;
	u8 snap[2];

	KUNIT_ASSERT_EQ(test, t_map(t, va, M2, PFN(va), ODP_PT_WRITE), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, va + M2, K4, PFN(va), 0), 0);
	mutex_lock(&t->lock);
	KUNIT_EXPECT_TRUE(test, odp_pgtable_set_dirty(&t->pt, va + K4));
	KUNIT_EXPECT_FALSE(test, odp_pgtable_set_dirty(&t->pt, va + M2));
	KUNIT_EXPECT_FALSE(test, odp_pgtable_set_dirty(&t->pt, va + 2 * M2));
	KUNIT_ASSERT_EQ(test, odp_pgtable_snapshot(&t->pt, va + M2 - K4, 2, snap), 0);
	mutex_unlock(&t->lock);
	KUNIT_EXPECT_EQ(test, snap[0], (u8)(ODP_PT_SNAP_PRESENT | ODP_PT_SNAP_WRITE |
			ODP_PT_SNAP_DIRTY | 1 << ODP_PT_SNAP_SIZE_SHIFT));
	KUNIT_EXPECT_EQ(test, snap[1], (u8)ODP_PT_SNAP_PRESENT);
	/* protect reports the dirty leaf once and leaves it clean */
	KUNIT_ASSERT_EQ(test, t_protect(t, va, M2, 0), 0);
	KUNIT_EXPECT_EQ(test, t->released_dirty, 512UL);
	KUNIT_ASSERT_EQ(test, t_unmap(t, va, 2 * M2, 0), 0);
	KUNIT_EXPECT_EQ(test, t->released_dirty, 512UL);
	KUNIT_EXPECT_EQ(test, t->released, 512UL + 512 + 1);
}

/* The leaf-size rule against a brute-force reference */
static void pt_best_shift(struct kunit *test)
{
	static const unsigned long bitmaps[] = {
		SZ_4K, SZ_4K | SZ_2M, SZ_4K | SZ_1G, ODP_PT_PGSIZES_ALL,
	};
	struct rnd_state rnd;
	unsigned int i, b;

	prandom_seed_state(&rnd, 42);
	for (i = 0; i < 20000; i++) {
		u64 va = (u64)prandom_u32_state(&rnd) << (12 + (i % 19));
		u64 pfn = (u64)prandom_u32_state(&rnd) << (i % 19);
		u64 len = ((u64)prandom_u32_state(&rnd) << (i % 22)) & ~(u64)(K4 - 1);

		for (b = 0; b < ARRAY_SIZE(bitmaps); b++) {
			unsigned int want = 0, s;

			for (s = 12; s <= 30; s += 9)
				if ((bitmaps[b] & BIT_ULL(s)) && IS_ALIGNED(va, BIT_ULL(s)) &&
				    IS_ALIGNED(pfn << 12, BIT_ULL(s)) && len >= BIT_ULL(s))
					want = s;
			KUNIT_ASSERT_EQ(test, odp_pt_best_shift(bitmaps[b], va, pfn, len), want);
		}
	}
}

/* 10. Bad arguments get -EINVAL and leave the table alone. */
static void pt_invalid_args(struct kunit *test)
{
	struct pt_test *t = test->priv;
	u64 top = odp_pgtable_va_limit(&t->pt);
	struct odp_pgtable pt2;
	u8 snap;

	KUNIT_ASSERT_EQ(test, t_map(t, G1, M2, PFN(G1), 0), 0);
	KUNIT_EXPECT_EQ(test, t_map(t, G1, 0, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_map(t, G1 + 1, K4, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_map(t, G1, K4 + 1, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_map(t, top - K4, 2 * K4, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_map(t, top, K4, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_map(t, -K4, 2 * K4, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_map(t, G1, K4, 0, 0x80), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_map(t, G1, K4, 1ULL << 40, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_map(t, G1, 2 * K4, (1ULL << 40) - 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_unmap(t, G1, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_unmap(t, G1 + 8, K4, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_unmap(t, -K4, 2 * K4, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_unmap(t, G1, K4, 0x100), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_protect(t, top - K4, 2 * K4, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_protect(t, G1, K4, 0x100), -EINVAL);
	mutex_lock(&t->lock);
	KUNIT_EXPECT_EQ(test, odp_pgtable_snapshot(&t->pt, G1, 0, &snap), -EINVAL);
	KUNIT_EXPECT_EQ(test, odp_pgtable_snapshot(&t->pt, top, 1, &snap), -EINVAL);
	mutex_unlock(&t->lock);
	/* the table is untouched */
	EXPECT_CENSUS(t, 0, top, 0, 1, 0);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, G1, PFN(G1), false, 21));

	/* bad creation arguments */
	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt2, 4, SZ_2M, &t->lock), -EINVAL);
	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt2, 4, SZ_4K | SZ_64K, &t->lock), -EINVAL);
	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt2, 4, SZ_4K | BIT(39), &t->lock), -EINVAL);
	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt2, 2, SZ_4K | SZ_1G, &t->lock), -EINVAL);
	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt2, 0, SZ_4K, &t->lock), -EINVAL);
	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt2, 5, SZ_4K, &t->lock), -EINVAL);
	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt2, 4, SZ_4K, NULL), -EINVAL);
	/* fewer levels work, with the sizes they can hold */
	KUNIT_ASSERT_EQ(test, odp_pgtable_init(&pt2, 2, SZ_4K | SZ_2M, &t->lock), 0);
	KUNIT_EXPECT_EQ(test, odp_pgtable_va_limit(&pt2), 1ULL << 30);
	odp_pgtable_destroy(&pt2);
	KUNIT_EXPECT_EQ(test, pt2.stats.tables_allocated,
			(unsigned long)atomic_long_read(&pt2.stats.tables_freed));
}

/* Table memory per GiB, as the issue states it (tables beyond the root) */
static void pt_table_memory(struct kunit *test)
{
	struct pt_test *t = test->priv;
	u64 va = 6 * G1;
	struct odp_pt_result res;

	KUNIT_ASSERT_EQ(test, t_init_sizes(t, 4, SZ_4K | SZ_2M), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, va, G1, PFN(va), 0), 0);
	EXPECT_CENSUS(t, va, G1, 0, 512, 0);
	KUNIT_EXPECT_LE(test, t_tables(t) * PAGE_SIZE, (unsigned long)SZ_8K);
	/* splitting one 2M leaf costs one table page, whatever the region */
	KUNIT_ASSERT_EQ(test, t_do(t, T_UNMAP, va + 100 * M2, K4, 0, 0, NULL, &res), 0);
	KUNIT_EXPECT_EQ(test, res.need, 1U);
	KUNIT_EXPECT_EQ(test, t_tables(t), 3UL);
	KUNIT_ASSERT_EQ(test, t_unmap(t, va, G1, 0), 0);

	KUNIT_ASSERT_EQ(test, t_init_sizes(t, 4, ODP_PT_PGSIZES_ALL), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, va, G1, PFN(va), 0), 0);
	EXPECT_CENSUS(t, va, G1, 0, 0, 1);
	KUNIT_EXPECT_EQ(test, t_tables(t), 1UL);
	KUNIT_ASSERT_EQ(test, t_unmap(t, va, G1, 0), 0);

	KUNIT_ASSERT_EQ(test, t_init_sizes(t, 4, SZ_4K), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, va, G1, PFN(va), 0), 0);
	EXPECT_CENSUS(t, va, G1, 262144, 0, 0);
	KUNIT_EXPECT_EQ(test, t_tables(t) * PAGE_SIZE, (unsigned long)(SZ_2M + SZ_8K));
}

/*
 * 9. Random map/unmap/protect against a per-4K reference model. The model
 * holds frame << 2 | write << 1 | present for each 4K of the span. After
 * each step the 1G-aligned window around the operation (merges and splits
 * never reach further) is compared; the whole span every 100 steps.
 */
#define RND_BASE	(4 * G1)
#define RND_SPAN	(4 * G1)
#define RND_PAGES	(RND_SPAN / K4)
#define RND_STEPS	2000

#define RND_FRAMES	8192	/* pages of a map through a frame array */

struct rnd_test {
	struct pt_test *t;
	struct rnd_state rnd;
	u64 *model;
	unsigned long *frames;
};

/*
 * Top @res up to @n pages full of garbage: table pages may come from the
 * reserve in any state, and the table must not care.
 */
static void rnd_poison_reserve(struct kunit *test, struct odp_pt_reserve *res,
			       unsigned int n)
{
	struct odp_pt_reserve more;
	struct page *page;

	odp_pt_reserve_init(&more);
	KUNIT_ASSERT_EQ(test, odp_pt_reserve_fill(&more, n > res->nr ? n - res->nr : 0,
						  GFP_KERNEL), 0);
	list_for_each_entry(page, &more.pages, lru)
		memset(page_address(page), 0xa5, PAGE_SIZE);
	odp_pt_reserve_splice(res, &more);
}

static u32 rnd_below(struct rnd_test *r, u32 n)
{
	return prandom_u32_state(&r->rnd) % n;
}

static bool rnd_check(struct rnd_test *r, u64 va, u64 end)
{
	struct kunit *test = r->t->test;
	struct odp_pt_leaf leaf;
	struct odp_pt_iter it;
	u64 covered = 0, present = 0, leaves = 0, k;
	bool ok = true;

	mutex_lock(&r->t->lock);
	odp_pgtable_for_each_leaf(&r->t->pt, &it, va, end - va, &leaf) {
		u64 from = max(leaf.va, va), to = min(leaf.va + BIT_ULL(leaf.shift), end);

		if (from < RND_BASE || to > RND_BASE + RND_SPAN) {
			KUNIT_FAIL(test, "leaf at %llx outside the span", leaf.va);
			ok = false;
			break;
		}
		for (k = from; k < to; k += K4) {
			u64 want = (leaf.pfn + ((k - leaf.va) >> PAGE_SHIFT)) << 2 |
				   (leaf.writable ? 2 : 0) | 1;

			if (r->model[(k - RND_BASE) / K4] != want) {
				KUNIT_FAIL(test, "va %llx: table %llx, model %llx", k,
					   want, r->model[(k - RND_BASE) / K4]);
				ok = false;
				goto out;
			}
		}
		covered += (to - from) / K4;
		if (!(++leaves % 4096))
			cond_resched();
	}
	for (k = (va - RND_BASE) / K4; k < (end - RND_BASE) / K4; k++)
		present += r->model[k] & 1;
	if (covered != present) {
		KUNIT_FAIL(test, "[%llx, %llx): table maps %llu pages, model %llu",
			   va, end, covered, present);
		ok = false;
	}
out:
	mutex_unlock(&r->t->lock);
	return ok;
}

static void rnd_apply_model(struct rnd_test *r, enum t_op op, u64 va, u64 len,
			    u64 pfn, bool write, const unsigned long *frames)
{
	u64 k, first = (va - RND_BASE) / K4;

	for (k = 0; k < len / K4; k++) {
		u64 *m = &r->model[first + k];

		if (op == T_MAP && frames)
			*m = (frames[k] & ~ODP_PT_FRAME_WRITE) << 2 |
			     (frames[k] & ODP_PT_FRAME_WRITE ? 2 : 0) | 1;
		else if (op == T_MAP)
			*m = (pfn + k) << 2 | (write ? 2 : 0) | 1;
		else if (op == T_UNMAP)
			*m = 0;
		else
			*m &= ~2ULL;
	}
}

static void pt_randomized(struct kunit *test)
{
	struct pt_test *t = test->priv;
	unsigned long census[ODP_PT_NR_SIZES];
	struct rnd_test r = { .t = t };
	struct odp_pt_reserve poisoned;
	struct odp_pt_alloc alloc = { .reserve = &poisoned, .gfp = GFP_KERNEL };
	unsigned int step, s, counts[3] = {};
	u32 sd = seed ? seed : get_random_u32();

	kunit_info(test, "seed %u (load with seed=%u to repeat)\n", sd, sd);
	prandom_seed_state(&r.rnd, sd);
	r.model = vzalloc(RND_PAGES * sizeof(u64));
	KUNIT_ASSERT_NOT_NULL(test, r.model);
	r.frames = kunit_kmalloc_array(test, RND_FRAMES, sizeof(*r.frames), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r.frames);
	odp_pt_reserve_init(&poisoned);

	for (step = 0; step < RND_STEPS; step++) {
		enum t_op op = rnd_below(&r, 10) < 5 ? T_MAP :
			       rnd_below(&r, 5) < 3 ? T_UNMAP : T_PROTECT;
		static const u64 aligns[] = { K4, M2, G1 };
		u64 align = aligns[rnd_below(&r, 3)];
		u64 va = RND_BASE + ALIGN_DOWN((u64)rnd_below(&r, RND_PAGES) * K4, align);
		unsigned int lshift = 12 + rnd_below(&r, 20);
		u64 len = max_t(u64, K4, ALIGN_DOWN((1ULL << lshift) +
				 (u64)rnd_below(&r, 1U << (lshift - 12)) * K4, K4));
		u64 pfn = (u64)rnd_below(&r, 1U << 21) << 18;
		const unsigned long *frames = NULL;
		unsigned int arg = 0;
		bool write = false;
		int ret;

		switch (rnd_below(&r, 4)) {
		case 0:		/* one fixed offset: neighbours can merge */
			pfn = PFN(va) + PFN(64 * G1);
			break;
		case 1:		/* misaligned: small leaves only */
			pfn += rnd_below(&r, 1U << 18);
			break;
		default:	/* aligned like the va: huge leaves fit */
			pfn += PFN(va) & (BIT_ULL(18) - 1);
			break;
		}
		len = min(len, RND_BASE + RND_SPAN - va);
		if (op == T_MAP) {
			write = rnd_below(&r, 2);
			arg = write ? ODP_PT_WRITE : 0;
		} else if (rnd_below(&r, 2)) {
			arg = ODP_PT_MERGE;
		}
		if (op == T_MAP && !rnd_below(&r, 4)) {
			/* a frame array: the run, broken here and there */
			u64 k, wflag = write ? ODP_PT_FRAME_WRITE : 0;

			len = min(len, (u64)RND_FRAMES * K4);
			for (k = 0; k < len / K4; k++) {
				if (!rnd_below(&r, 700))
					wflag ^= ODP_PT_FRAME_WRITE;
				r.frames[k] = (rnd_below(&r, 1000) ? pfn + k :
					       rnd_below(&r, 1U << 20)) | wflag;
			}
			frames = r.frames;
		}
		t->frames = frames;
		rnd_poison_reserve(test, &poisoned, 64);
		ret = t_do(t, op, va, len, pfn, arg, &alloc, NULL);
		t->frames = NULL;
		KUNIT_ASSERT_EQ_MSG(test, ret, 0, "step %u", step);
		rnd_apply_model(&r, op, va, len, pfn, write, frames);
		counts[op]++;
		KUNIT_ASSERT_TRUE_MSG(test, rnd_check(&r, ALIGN_DOWN(va, G1), ALIGN(va + len, G1)),
				      "step %u: op %d va %llx len %llx pfn %llx",
				      step, op, va, len, pfn);
		if (step % 100 == 99)
			KUNIT_ASSERT_TRUE(test, rnd_check(&r, RND_BASE, RND_BASE + RND_SPAN));
		cond_resched();
	}
	KUNIT_ASSERT_TRUE(test, rnd_check(&r, RND_BASE, RND_BASE + RND_SPAN));
	/* nothing outside the span, and the accounting agrees with a walk */
	t_census(t, 0, odp_pgtable_va_limit(&t->pt), census);
	for (s = 0; s < ODP_PT_NR_SIZES; s++)
		KUNIT_EXPECT_EQ(test, census[s], t->pt.stats.leaves[s]);
	t_census(t, RND_BASE, RND_SPAN, census);
	for (s = 0; s < ODP_PT_NR_SIZES; s++)
		KUNIT_EXPECT_EQ(test, census[s], t->pt.stats.leaves[s]);
	KUNIT_EXPECT_EQ(test, t->pt.stats.tables,
			t->pt.stats.tables_allocated - atomic_long_read(&t->pt.stats.tables_freed));
	kunit_info(test, "%u maps, %u unmaps, %u protects; %lu splits, %lu merges; leaves now 4K %lu 2M %lu 1G %lu\n",
		   counts[T_MAP], counts[T_UNMAP], counts[T_PROTECT],
		   t->pt.stats.splits, t->pt.stats.merges,
		   census[0], census[1], census[2]);
	odp_pt_reserve_drain(&poisoned);
	/* a run that never split or merged tested too little */
	KUNIT_EXPECT_GT(test, t->pt.stats.splits, 0UL);
	KUNIT_EXPECT_GT(test, t->pt.stats.merges, 0UL);
	vfree(r.model);
}

static struct kunit_case odp_pt_cases[] = {
	KUNIT_CASE(pt_map_each_size),
	KUNIT_CASE(pt_map_mixed_census),
	KUNIT_CASE(pt_map_misaligned),
	KUNIT_CASE(pt_split_2m),
	KUNIT_CASE(pt_split_1g),
	KUNIT_CASE(pt_merge_back),
	KUNIT_CASE(pt_merge_window),
	KUNIT_CASE(pt_map_frames),
	KUNIT_CASE(pt_map_over_table),
	KUNIT_CASE(pt_boundaries),
	KUNIT_CASE(pt_reserve),
	KUNIT_CASE(pt_dirty),
	KUNIT_CASE(pt_best_shift),
	KUNIT_CASE(pt_invalid_args),
	KUNIT_CASE(pt_table_memory),
	KUNIT_CASE_SLOW(pt_randomized),
	{}
};

static struct kunit_suite odp_pt_suite = {
	.name = "odp_pgtable",
	.init = pt_test_init,
	.exit = pt_test_exit,
	.test_cases = odp_pt_cases,
};

kunit_test_suite(odp_pt_suite);

MODULE_DESCRIPTION("KUnit tests of the odp_pgtable device page table");
MODULE_LICENSE("GPL");
