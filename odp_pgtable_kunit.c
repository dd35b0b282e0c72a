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
#include <linux/timekeeping.h>
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
	unsigned int map_flags;		/* &odp_pt_map.flags of t_map() */
	long live0;			/* odp_pt_live_pages() before the test */
	struct rnd_test *rnd;		/* pt_randomized()'s, freed on exit */
};

static void rnd_free(struct rnd_test *r);

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
	t->live0 = odp_pt_live_pages();
	return odp_pgtable_init(&t->pt, 4, ODP_PT_PGSIZES_ALL, &t->lock);
}

static void pt_test_exit(struct kunit *test)
{
	struct pt_test *t = test->priv;

	/* also when a failed assertion stopped the test */
	rnd_free(t->rnd);
	odp_pgtable_destroy(&t->pt);
	KUNIT_EXPECT_EQ(test, t->pt.stats.tables, 0UL);
	KUNIT_EXPECT_EQ(test, t->pt.stats.tables_allocated,
			(unsigned long)atomic_long_read(&t->pt.stats.tables_freed));
	/* every table and reserve page the test made is freed: no leak */
	KUNIT_EXPECT_EQ(test, odp_pt_live_pages(), t->live0);
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
			.flags = t->map_flags,
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
	/*
	 * a read-only 2M map does not replace the table: the 511 writable
	 * leaves of the same frames keep their access, the other is mapped
	 * again, and with two permissions nothing merges
	 */
	KUNIT_ASSERT_EQ(test, t_map(t, va, M2, PFN(va), 0), 0);
	EXPECT_CENSUS(t, va, G1, 512, 511, 0);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + K4, PFN(va) + 1, false, 12));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + 2 * K4, PFN(va) + 2, true, 12));
	KUNIT_EXPECT_EQ(test, t_tables(t), 3UL);
	/* a writable one does, and the 1G leaf merges back */
	KUNIT_ASSERT_EQ(test, t_map(t, va, M2, PFN(va), ODP_PT_WRITE), 0);
	EXPECT_CENSUS(t, va, G1, 0, 0, 1);
	KUNIT_EXPECT_EQ(test, t_tables(t), 1UL);
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

/*
 * Write-protecting part of a leaf that is already read-only changes
 * nothing (writeback's folio_mkclean() does that, issue 11.5): no split,
 * no page taken from the reserve, no fallback clearing it, the leaf as
 * it was; for a 2M and a 1G leaf, with pages in the reserve, and with an
 * empty one and ODP_PT_FALLBACK.
 */
static void pt_protect_read_only_leaf(struct kunit *test)
{
	struct pt_test *t = test->priv;
	u64 va = 3 * G1, pfn = PFN(5 * G1);
	u64 at[] = { va + 5 * K4, va + G1 + 7 * M2 + 3 * K4 };
	struct odp_pt_reserve r, empty;
	struct odp_pt_alloc two = { .reserve = &r }, none = { .reserve = &empty };
	struct odp_pt_result res;
	struct odp_pt_stats before;
	unsigned int i;

	odp_pt_reserve_init(&r);
	odp_pt_reserve_init(&empty);
	KUNIT_ASSERT_EQ(test, odp_pt_reserve_fill(&r, 2, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, va, M2, pfn, 0), 0);
	KUNIT_ASSERT_EQ(test, t_map(t, va + G1, G1, pfn + PFN(G1), 0), 0);
	EXPECT_CENSUS(t, va, 2 * G1, 0, 1, 1);
	before = t->pt.stats;
	for (i = 0; i < 2 * ARRAY_SIZE(at); i++) {
		bool fallback = i >= ARRAY_SIZE(at);

		KUNIT_EXPECT_EQ(test, t_do(t, T_PROTECT, at[i % ARRAY_SIZE(at)], K4, 0,
					   fallback ? ODP_PT_FALLBACK : 0,
					   fallback ? &none : &two, &res), 0);
		KUNIT_EXPECT_EQ(test, res.splits, 0U);
		KUNIT_EXPECT_EQ(test, res.need, 0U);
		KUNIT_EXPECT_FALSE(test, res.fallback);
		KUNIT_EXPECT_EQ(test, r.nr, 2U);
	}
	KUNIT_EXPECT_EQ(test, memcmp(&before, &t->pt.stats, sizeof(before)), 0);
	EXPECT_CENSUS(t, va, 2 * G1, 0, 1, 1);
	KUNIT_EXPECT_TRUE(test, t_range_is(t, va, M2, pfn, false, 21));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, at[1], pfn + PFN(at[1] - va), false, 30));
	KUNIT_EXPECT_EQ(test, t->released, 0UL);
	odp_pt_reserve_drain(&r);
}

/*
 * ODP_PT_MAP_KEEP: present leaves are never replaced, split or changed,
 * not even to gain write permission (a DMA mapping's direction is fixed):
 * such a map stops with -EEXIST; it fills holes.
 */
static void pt_map_keep(struct kunit *test)
{
	struct pt_test *t = test->priv;
	u64 va = 2 * G1, pfn = PFN(7 * G1);
	struct odp_pt_stats before;

	KUNIT_ASSERT_EQ(test, t_map(t, va, M2, pfn, 0), 0);
	t->map_flags = ODP_PT_MAP_KEEP;
	before = t->pt.stats;
	/* the same leaf, read-only: kept as it is */
	KUNIT_EXPECT_EQ(test, t_map(t, va, M2, pfn, 0), 0);
	/* more permission: refused, the leaf unchanged */
	KUNIT_EXPECT_EQ(test, t_map(t, va, M2, pfn, ODP_PT_WRITE), -EEXIST);
	KUNIT_EXPECT_TRUE(test, t_range_is(t, va, M2, pfn, false, 21));
	/* ... also for part of it, which would need a split */
	KUNIT_EXPECT_EQ(test, t_map(t, va + K4, K4, pfn + 1, ODP_PT_WRITE), -EEXIST);
	KUNIT_EXPECT_EQ(test, t_map(t, va + K4, K4, pfn + 9, 0), -EEXIST);
	KUNIT_EXPECT_EQ(test, memcmp(&before, &t->pt.stats, sizeof(before)), 0);
	KUNIT_EXPECT_TRUE(test, t_range_is(t, va, M2, pfn, false, 21));
	/* 4K leaves alike, in the level-0 loop */
	KUNIT_ASSERT_EQ(test, t_map(t, va + M2, 4 * K4, pfn + 1, 0), 0);
	KUNIT_EXPECT_EQ(test, t_map(t, va + M2, 4 * K4, pfn + 1, ODP_PT_WRITE), -EEXIST);
	KUNIT_EXPECT_TRUE(test, t_range_is(t, va + M2, 4 * K4, pfn + 1, false, 12));
	/* a hole is filled, next to what is kept */
	KUNIT_EXPECT_EQ(test, t_map(t, va + M2, 8 * K4, pfn + 1, 0), 0);
	KUNIT_EXPECT_TRUE(test, t_range_is(t, va + M2, 8 * K4, pfn + 1, false, 12));
	t->map_flags = 0;
	/* without it, the permission is raised in place, dirty bit and all */
	KUNIT_EXPECT_EQ(test, t_map(t, va, M2, pfn, ODP_PT_WRITE), 0);
	KUNIT_EXPECT_TRUE(test, t_range_is(t, va, M2, pfn, true, 21));
	KUNIT_EXPECT_EQ(test, t->released, 0UL);
}

/* An install hook that moves each frame and refuses the leaf after @left */
struct t_hook {
	unsigned int left;
	unsigned int seen;
};

static int t_install(void *priv, struct odp_pt_leaf *leaf)
{
	struct t_hook *h = priv;

	if (h->seen++ == h->left)
		return -EIO;
	leaf->pfn += PFN(G1);
	return 0;
}

/*
 * The install hook (a DMA mirror maps each leaf there): it may change the
 * frame a leaf holds, and when it refuses a leaf the map stops with its
 * error. The leaves before stay installed with the hook's frames, that
 * leaf and the rest are not, the counters agree, and nothing leaks.
 */
static void pt_install_refused(struct kunit *test)
{
	struct pt_test *t = test->priv;
	static const struct odp_pt_alloc may_sleep = { .gfp = GFP_KERNEL };
	static const struct {
		u64 len;
		unsigned int shift;
	} c[] = { { 8 * M2, 21 }, { 8 * K4, 12 } };
	u64 va = 6 * G1, pfn = PFN(8 * G1);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		struct odp_pt_map map = {
			.va = va, .len = c[i].len, .pfn = pfn, .prot = ODP_PT_WRITE,
		};
		u64 step = BIT_ULL(c[i].shift);
		struct t_hook h = { .left = 5 };
		struct odp_pt_result res;
		int ret;

		odp_pt_result_init(&res, t_release, t);
		res.install = t_install;
		res.priv = &h;
		mutex_lock(&t->lock);
		ret = odp_pgtable_map(&t->pt, &map, &may_sleep, &res);
		mutex_unlock(&t->lock);
		odp_pgtable_free_tables(&t->pt, &res);
		KUNIT_EXPECT_EQ(test, ret, -EIO);
		KUNIT_EXPECT_EQ(test, h.seen, 6U);
		KUNIT_EXPECT_EQ(test, res.installed[odp_pt_size_index(c[i].shift)], 5UL);
		KUNIT_EXPECT_TRUE(test, t_range_is(t, va, 5 * step, pfn + PFN(G1), true,
						   c[i].shift));
		KUNIT_EXPECT_TRUE(test, t_range_is(t, va + 5 * step, 3 * step, 0, false, 0));
		KUNIT_EXPECT_EQ(test, t->pt.stats.leaves[odp_pt_size_index(c[i].shift)], 5UL);
		KUNIT_EXPECT_EQ(test, t_unmap(t, va, c[i].len, 0), 0);
		KUNIT_EXPECT_EQ(test, t->released, 5 * (step >> PAGE_SHIFT));
		t->released = 0;
	}
}

/* One zapping unmap: present entries become zapped, tagged @tag */
static int t_zap(struct pt_test *t, u64 va, u64 len, unsigned int tag)
{
	static const struct odp_pt_alloc may_sleep = { .gfp = GFP_KERNEL };
	struct odp_pt_result res;
	int ret;

	odp_pt_result_init(&res, t_release, t);
	res.tag = tag;
	mutex_lock(&t->lock);
	ret = odp_pgtable_unmap(&t->pt, va, len, ODP_PT_ZAP, &may_sleep, &res);
	mutex_unlock(&t->lock);
	odp_pgtable_free_tables(&t->pt, &res);
	return ret;
}

static int t_sweep(struct pt_test *t, u64 va, u64 len, unsigned int tag)
{
	struct odp_pt_result res;
	int ret;

	odp_pt_result_init(&res, t_release, t);
	res.tag = tag;
	mutex_lock(&t->lock);
	ret = odp_pgtable_sweep(&t->pt, va, len, &res);
	mutex_unlock(&t->lock);
	odp_pgtable_free_tables(&t->pt, &res);
	return ret;
}

/*
 * Zapped leaves carry their operation's tag: a sweep finishes only its
 * own, so that two overlapping invalidations never release each other's
 * leaves before their own flush; tag 0 sweeps them all.
 */
static void pt_zap_tags(struct kunit *test)
{
	struct pt_test *t = test->priv;
	u64 va = 5 * G1, pfn = PFN(9 * G1);

	/* a 2M leaf, split by the first zap: its 4K page zapped, tagged 1 */
	KUNIT_ASSERT_EQ(test, t_map(t, va, M2, pfn, ODP_PT_WRITE), 0);
	KUNIT_ASSERT_EQ(test, t_zap(t, va + 3 * K4, K4, 1), 0);
	KUNIT_ASSERT_EQ(test, t_zap(t, va + 5 * K4, 2 * K4, 2), 0);
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + 3 * K4, 0, false, 0));
	KUNIT_EXPECT_TRUE(test, t_range_is(t, va + 5 * K4, 2 * K4, 0, false, 0));
	KUNIT_EXPECT_TRUE(test, t_page_is(t, va + 4 * K4, pfn + 4, true, 12));
	KUNIT_EXPECT_EQ(test, t->released, 0UL);
	/* the first invalidation's sweep, over the whole former leaf */
	KUNIT_EXPECT_EQ(test, t_sweep(t, va, M2, 1), 0);
	KUNIT_EXPECT_EQ(test, t->released, 1UL);
	KUNIT_EXPECT_EQ(test, t_sweep(t, va, M2, 1), 0);
	KUNIT_EXPECT_EQ(test, t->released, 1UL);
	KUNIT_EXPECT_EQ(test, t_sweep(t, va, M2, 2), 0);
	KUNIT_EXPECT_EQ(test, t->released, 3UL);
	/* tag 0: any */
	KUNIT_ASSERT_EQ(test, t_zap(t, va + 9 * K4, K4, 7), 0);
	KUNIT_ASSERT_EQ(test, t_zap(t, va + 11 * K4, K4, ODP_PT_ZAP_TAG_MAX), 0);
	KUNIT_EXPECT_EQ(test, t_sweep(t, va, M2, 0), 0);
	KUNIT_EXPECT_EQ(test, t->released, 5UL);
	KUNIT_EXPECT_EQ(test, t_zap(t, va, K4, ODP_PT_ZAP_TAG_MAX + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, t_sweep(t, va, K4, ODP_PT_ZAP_TAG_MAX + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, t->pt.stats.leaves[0], 512UL - 5);
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
 * 9. Random operations against a reference model of the table: one entry
 * per 4K of the span with its frame, write and dirty bits, and the level
 * of the leaf that maps it. The model follows the table's rules its own
 * way, page by page and block by block, with no tree:
 *  - a map gives each page the largest leaf whose aligned block lies in
 *    the range, has a supported size, and holds a contiguous run of one
 *    permission from a frame aligned to that size;
 *  - a leaf an operation covers only in part is split: each page of it
 *    gets the largest level whose block lies wholly inside or wholly
 *    outside the range, and keeps its dirty bit;
 *  - then each block the range touches whose 512 children are leaves of
 *    the level below, contiguous from an aligned frame and of one
 *    permission, merges into one leaf, dirty if a child was: after a map
 *    inside its merge window, after unmap and protect with ODP_PT_MERGE;
 *  - a table exists wherever a block holds a present page of a smaller
 *    leaf, and the root always.
 * From the model follow the table pages an operation needs (hence
 * -ENOMEM, after which nothing may have changed, or with ODP_PT_FALLBACK
 * the clearing of every leaf it would have split), its splits, merges
 * and released pages, the leaf and table counts, and every leaf with its
 * dirty bit. After each step the 1G-aligned window around the operation
 * (merges and splits never reach further) is compared leaf by leaf, the
 * whole span every 100 steps; the table pages against the model and
 * against odp_pt_live_pages(), which counts what was really allocated.
 */
#define RND_BASE	(4 * G1)
#define RND_SPAN	(4 * G1)
#define RND_PAGES	(RND_SPAN / K4)
#define RND_STEPS	2000

#define RND_FRAMES	8192	/* pages of a map through a frame array */

/* A page of the model */
#define M_PRESENT	BIT_ULL(0)
#define M_WRITE		BIT_ULL(1)
#define M_DIRTY		BIT_ULL(2)
#define M_LEVEL_SHIFT	3	/* the leaf's level: 0 (4K), 1 (2M), 2 (1G) */
#define M_LEVEL		(3ULL << M_LEVEL_SHIFT)
#define M_FRAME_SHIFT	8

enum rnd_kind {
	R_MAP, R_UNMAP, R_PROTECT, R_DIRTY, R_ENOMEM, R_FALLBACK, R_WINDOW,
	R_KINDS
};

static const char *const rnd_kind_name[] = {
	"maps", "unmaps", "protects", "dirty marks", "-ENOMEM", "fallbacks",
	"maps with a window",
};

/* What the model says one operation does */
struct rnd_expect {
	u64 lo;				/* what it may change: [lo, hi) */
	u64 hi;
	int ret;
	unsigned int need;
	unsigned int splits;
	unsigned int merges;
	unsigned long released;
	unsigned long released_dirty;
	bool fallback;
};

struct rnd_test {
	struct pt_test *t;
	struct rnd_state rnd;
	u64 *model;
	unsigned long *frames;
	/* counts that follow from the model, kept by m_set() */
	unsigned long present;
	unsigned long pages_at[ODP_PT_NR_SIZES];	/* present pages by leaf level */
	u32 *present_2m;		/* per 2M: present pages */
	unsigned long small_1g[RND_SPAN / G1];	/* present pages of leaves < 1G */
	u32 *small_2m;			/* per 2M: present pages of 4K leaves */
	unsigned long tables_1g, tables_2m;	/* blocks with a table of their own */
	struct rnd_expect x;
	unsigned long counts[R_KINDS];
	struct odp_pt_reserve poisoned;	/* plenty of table pages, full of garbage */
	struct odp_pt_reserve small;	/* a few, for injected failures */
};

/* Free what pt_randomized() allocated; its exit hook calls it */
static void rnd_free(struct rnd_test *r)
{
	if (!r)
		return;
	vfree(r->model);
	vfree(r->small_2m);
	vfree(r->present_2m);
	odp_pt_reserve_drain(&r->poisoned);
	odp_pt_reserve_drain(&r->small);
}

/* One map as the model sees it */
struct m_map {
	u64 va;
	u64 end;
	u64 pfn;
	bool write;
	const unsigned long *frames;
	u64 wlo;			/* merge window, both ends inclusive */
	u64 whi;
};

static inline u64 m_idx(u64 va)
{
	return (va - RND_BASE) >> PAGE_SHIFT;
}

static inline u64 m_va(u64 idx)
{
	return RND_BASE + (idx << PAGE_SHIFT);
}

static inline unsigned int m_level(u64 e)
{
	return (e & M_LEVEL) >> M_LEVEL_SHIFT;
}

static inline u64 m_frame(u64 e)
{
	return e >> M_FRAME_SHIFT;
}

static inline u64 m_entry(u64 frame, bool write, bool dirty, unsigned int level)
{
	return frame << M_FRAME_SHIFT | (u64)level << M_LEVEL_SHIFT | M_PRESENT |
	       (write ? M_WRITE : 0) | (dirty ? M_DIRTY : 0);
}

static inline u64 blk_size(unsigned int level)
{
	return K4 << (9 * level);
}

static inline u64 blk_pages(unsigned int level)
{
	return 1ULL << (9 * level);
}

static bool m_supported(struct rnd_test *r, unsigned int level)
{
	return level < ODP_PT_NR_SIZES && (r->t->pt.pgsize_bitmap & blk_size(level));
}

static void m_count(struct rnd_test *r, u64 idx, u64 e, int d)
{
	unsigned int l = m_level(e);
	u64 b2 = idx / blk_pages(1), b1 = idx / blk_pages(2);

	if (!(e & M_PRESENT))
		return;
	r->present += d;
	r->present_2m[b2] += d;
	r->pages_at[l] += d;
	if (l == 0 && d > 0 && !r->small_2m[b2]++)
		r->tables_2m++;
	if (l == 0 && d < 0 && !--r->small_2m[b2])
		r->tables_2m--;
	if (l < 2 && d > 0 && !r->small_1g[b1]++)
		r->tables_1g++;
	if (l < 2 && d < 0 && !--r->small_1g[b1])
		r->tables_1g--;
}

static void m_set(struct rnd_test *r, u64 idx, u64 e)
{
	m_count(r, idx, r->model[idx], -1);
	r->model[idx] = e;
	m_count(r, idx, e, 1);
}

/* Table pages: the root, the one below it, those of 1G and 2M blocks */
static unsigned long m_tables(struct rnd_test *r)
{
	return 1 + !!r->present + r->tables_1g + r->tables_2m;
}

/* The operation may change [lo, hi) too */
static void m_touch(struct rnd_test *r, u64 lo, u64 hi)
{
	r->x.lo = min(r->x.lo, lo);
	r->x.hi = max(r->x.hi, hi);
}

/* Is the entry of the block of @level at @va a table? (level 3: under the root) */
static bool m_is_table(struct rnd_test *r, unsigned int level, u64 va)
{
	switch (level) {
	case 3:
		return r->present;
	case 2:
		return r->small_1g[m_idx(va) / blk_pages(2)];
	default:
		return r->small_2m[m_idx(va) / blk_pages(1)];
	}
}

static u64 mm_frame(const struct m_map *mm, u64 va)
{
	u64 k = (va - mm->va) >> PAGE_SHIFT;

	return mm->frames ? mm->frames[k] & ~ODP_PT_FRAME_WRITE : mm->pfn + k;
}

static bool mm_write(const struct m_map *mm, u64 va)
{
	u64 k = (va - mm->va) >> PAGE_SHIFT;

	return mm->frames ? mm->frames[k] & ODP_PT_FRAME_WRITE : mm->write;
}

/* May the map put a leaf of @level (> 0) at @va? */
static bool m_fits(struct rnd_test *r, const struct m_map *mm, u64 va,
		   unsigned int level)
{
	u64 n = blk_pages(level), f0 = mm_frame(mm, va), k;
	bool w = mm_write(mm, va);

	if (!m_supported(r, level) || !IS_ALIGNED(va, blk_size(level)) ||
	    va + blk_size(level) > mm->end || !IS_ALIGNED(f0, n))
		return false;
	for (k = 1; mm->frames && k < n; k++)
		if (mm_frame(mm, va + k * K4) != f0 + k || mm_write(mm, va + k * K4) != w)
			return false;
	return true;
}

/*
 * Split the leaf of @level at @xs, which [lo, hi) covers in part: each
 * page gets the largest level below whose block lies wholly inside or
 * wholly outside the range.
 */
static void m_split(struct rnd_test *r, u64 xs, unsigned int level, u64 lo, u64 hi)
{
	u64 idx, first = m_idx(xs);
	unsigned int l;

	m_touch(r, xs, xs + blk_size(level));
	for (idx = first; idx < first + blk_pages(level); idx++) {
		u64 va = m_va(idx);
		bool in = va >= lo && va < hi;

		for (l = level - 1; l > 0; l--) {
			u64 b = ALIGN_DOWN(va, blk_size(l)), be = b + blk_size(l);

			if (in ? b >= lo && be <= hi : be <= lo || b >= hi)
				break;
		}
		m_set(r, idx, (r->model[idx] & ~M_LEVEL) | (u64)l << M_LEVEL_SHIFT);
	}
}

/* The leaf holding @va if [lo, hi) covers it only in part: its start, else 0 */
static u64 m_partial_leaf(struct rnd_test *r, u64 va, u64 lo, u64 hi,
			  unsigned int *level)
{
	u64 e = r->model[m_idx(va)], xs;

	if (!(e & M_PRESENT) || !m_level(e))
		return 0;
	*level = m_level(e);
	xs = ALIGN_DOWN(va, blk_size(*level));
	return xs < lo || xs + blk_size(*level) > hi ? xs : 0;
}

/* Merge the block of @l at @b into one leaf if it can be, inside [wlo, whi] */
static void m_merge_one(struct rnd_test *r, unsigned int l, u64 b, u64 wlo, u64 whi)
{
	u64 e0 = r->model[m_idx(b)], step = blk_pages(l - 1), c, idx;
	bool dirty = false;

	if (!m_supported(r, l) || b < wlo || b + blk_size(l) - 1 > whi ||
	    !(e0 & M_PRESENT) || !IS_ALIGNED(m_frame(e0), blk_pages(l)))
		return;
	for (c = 0; c < 512; c++) {
		u64 e = r->model[m_idx(b) + c * step];

		if (!(e & M_PRESENT) || m_level(e) != l - 1 ||
		    m_frame(e) != m_frame(e0) + c * step ||
		    (e & M_WRITE) != (e0 & M_WRITE))
			return;
		dirty |= e & M_DIRTY;
	}
	for (idx = m_idx(b); idx < m_idx(b) + blk_pages(l); idx++)
		m_set(r, idx, (r->model[idx] & ~(M_LEVEL | M_DIRTY)) |
		      (u64)l << M_LEVEL_SHIFT | (dirty ? M_DIRTY : 0));
	r->x.merges++;
	m_touch(r, b, b + blk_size(l));
}

/* Merge every block of [lo, hi) that can be, inside [wlo, whi] */
static void m_merge(struct rnd_test *r, u64 lo, u64 hi, u64 wlo, u64 whi)
{
	unsigned int l;
	u64 b;

	for (l = 1; l < ODP_PT_NR_SIZES; l++)
		for (b = ALIGN_DOWN(lo, blk_size(l)); b < hi; b += blk_size(l))
			m_merge_one(r, l, b, wlo, whi);
}

/* Count what leaving [va, end) releases: every present page, or the dirty ones */
static void m_release(struct rnd_test *r, u64 idx, bool only_dirty)
{
	u64 e = r->model[idx];

	if (!(e & M_PRESENT) || (only_dirty && !(e & M_DIRTY)))
		return;
	r->x.released++;
	r->x.released_dirty += !!(e & M_DIRTY);
}

/* A page a map reaches at level 0: kept if it maps the same frame already */
static void m_map_page(struct rnd_test *r, const struct m_map *mm, u64 va)
{
	u64 idx = m_idx(va), e = r->model[idx], f = mm_frame(mm, va);
	bool w = mm_write(mm, va);

	if ((e & M_PRESENT) && m_frame(e) == f) {
		if (w && !(e & M_WRITE))
			m_set(r, idx, e | M_WRITE);
		return;
	}
	m_release(r, idx, false);
	m_set(r, idx, m_entry(f, w, false, 0));
}

/* Does the present leaf over [s, n) map it as the map would, or better? */
static bool m_covers(struct rnd_test *r, const struct m_map *mm, u64 s, u64 n)
{
	u64 va;

	for (va = s; va < n; va += K4) {
		u64 e = r->model[m_idx(va)];

		if (m_frame(e) != mm_frame(mm, va) || (mm_write(mm, va) && !(e & M_WRITE)))
			return false;
	}
	return true;
}

/* A leaf of @level over the block at @b: the same leaf is kept */
static void m_map_leaf(struct rnd_test *r, const struct m_map *mm,
		       unsigned int level, u64 b)
{
	u64 e = r->model[m_idx(b)], f = mm_frame(mm, b), idx;
	bool w = mm_write(mm, b);

	m_touch(r, b, b + blk_size(level));
	if ((e & M_PRESENT) && m_level(e) == level && m_frame(e) == f) {
		for (idx = m_idx(b); w && idx < m_idx(b) + blk_pages(level); idx++)
			m_set(r, idx, r->model[idx] | M_WRITE);
		return;
	}
	for (idx = m_idx(b); idx < m_idx(b) + blk_pages(level); idx++) {
		m_release(r, idx, false);
		m_set(r, idx, m_entry(f + (idx - m_idx(b)), w, false, level));
	}
}

/* The leaf of @level at @b becomes 512 leaves of the level below */
static void m_split_once(struct rnd_test *r, unsigned int level, u64 b)
{
	u64 idx;

	m_touch(r, b, b + blk_size(level));
	for (idx = m_idx(b); idx < m_idx(b) + blk_pages(level); idx++)
		m_set(r, idx, (r->model[idx] & ~M_LEVEL) | (u64)(level - 1) << M_LEVEL_SHIFT);
	r->x.splits++;
}

/* What the entries below one a dry pass of m_map_level() has not made hold */
enum m_below {
	M_REAL,		/* the model's own */
	M_NONE,		/* nothing: a table the map would make */
	M_SPLIT,	/* the pieces of the leaf above, which the map would split */
};

/*
 * The table's own walk of a map over [lo, hi) below an entry of @level,
 * entry by entry: a leaf that already maps the range stays; the largest
 * leaf that fits goes in, unless it is read-only and a table is there; a
 * table is entered; anything else gets a new table (a split of a leaf).
 * The dry pass only counts the tables; below a table it would make,
 * @below says what the entries hold. After its table, each entry is
 * merged if it can be.
 */
static void m_map_level(struct rnd_test *r, const struct m_map *mm,
			unsigned int level, u64 lo, u64 hi, bool dry,
			enum m_below below)
{
	u64 size = blk_size(level), b, va;

	if (!level) {
		for (va = lo; !dry && va < hi; va += K4)
			m_map_page(r, mm, va);
		return;
	}
	for (b = ALIGN_DOWN(lo, size); b < hi; b += size) {
		u64 s = max(b, lo), n = min(hi, b + size);
		u64 e = below == M_NONE ? 0 : r->model[m_idx(s)];
		/* a page of the leaf above stands for its piece at this level */
		bool leaf = (e & M_PRESENT) &&
			    m_level(e) == level + (below == M_SPLIT);
		bool table = below == M_REAL && m_is_table(r, level, s);

		if (leaf && m_covers(r, mm, s, n))
			continue;
		if (n - s == size && m_fits(r, mm, s, level) &&
		    !(table && !mm_write(mm, s))) {
			if (!dry)
				m_map_leaf(r, mm, level, b);
			continue;
		}
		if (!table) {
			if (dry)
				r->x.need++;
			else if (leaf)
				m_split_once(r, level, b);
		}
		if (!dry || level > 1)
			m_map_level(r, mm, level - 1, s, n, dry,
				    !dry || table ? M_REAL : leaf ? M_SPLIT : M_NONE);
		if (!dry)
			m_merge_one(r, level, b, mm->wlo, mm->whi);
	}
}

/* A map of @mm with @avail table pages at hand */
static void m_map(struct rnd_test *r, const struct m_map *mm, unsigned long avail)
{
	m_map_level(r, mm, 3, mm->va, mm->end, true, M_REAL);
	if (r->x.need > avail) {
		r->x.ret = -ENOMEM;
		return;
	}
	m_map_level(r, mm, 3, mm->va, mm->end, false, M_REAL);
}

/* One split for each block of @level in [xs, xs + xlen) that [va, end) cuts */
static void m_count_cuts(struct rnd_test *r, unsigned int level, u64 va, u64 end,
			 u64 xs, u64 xlen)
{
	u64 s = blk_size(level), c[2] = { ALIGN_DOWN(va, s), ALIGN_DOWN(end - 1, s) };
	unsigned int j;

	for (j = 0; j < 2 && (!j || c[1] != c[0]); j++)
		if ((c[j] < va || c[j] + s > end) && c[j] >= xs && c[j] + s <= xs + xlen)
			r->x.need++;
}

/* An unmap or protect of [va, end) with @flags and @avail table pages */
static void m_modify(struct rnd_test *r, bool protect, u64 va, u64 end,
		     unsigned int flags, unsigned long avail)
{
	u64 xs[2], idx;
	unsigned int l, xl[2], i;

	/* the leaves covered in part, unless protect leaves read-only ones alone */
	for (i = 0; i < 2; i++) {
		xs[i] = m_partial_leaf(r, i ? end - K4 : va, va, end, &xl[i]);
		if (xs[i] && protect && !(r->model[m_idx(xs[i])] & M_WRITE))
			xs[i] = 0;
	}
	if (xs[1] == xs[0])
		xs[1] = 0;
	/* a split for each block of them the range cuts, down to 2M */
	for (i = 0; i < 2; i++)
		for (l = 1; xs[i] && l <= xl[i]; l++)
			m_count_cuts(r, l, va, end, xs[i], blk_size(xl[i]));
	if (r->x.need > avail) {
		if (!(flags & ODP_PT_FALLBACK)) {
			r->x.ret = -ENOMEM;
			return;
		}
		r->x.fallback = true;
	}
	for (i = 0; i < 2; i++) {
		if (!xs[i])
			continue;
		if (!r->x.fallback) {
			m_split(r, xs[i], xl[i], va, end);
			continue;
		}
		m_touch(r, xs[i], xs[i] + blk_size(xl[i]));
		for (idx = m_idx(xs[i]); idx < m_idx(xs[i]) + blk_pages(xl[i]); idx++) {
			m_release(r, idx, false);
			m_set(r, idx, 0);
		}
	}
	if (!r->x.fallback)
		r->x.splits = r->x.need;
	for (idx = m_idx(va); idx < m_idx(end); idx++) {
		u64 e = r->model[idx];

		if (!(e & M_PRESENT))
			continue;
		m_release(r, idx, protect);
		m_set(r, idx, protect ? e & ~(M_WRITE | M_DIRTY) : 0);
	}
	if (flags & ODP_PT_MERGE)
		m_merge(r, va, end, 0, U64_MAX);
}

/* The device writes at @va: the leaf there becomes dirty if writable */
static bool m_set_dirty(struct rnd_test *r, u64 va)
{
	u64 e = r->model[m_idx(va)], idx, first;

	if (!(e & M_PRESENT) || !(e & M_WRITE))
		return false;
	first = m_idx(ALIGN_DOWN(va, blk_size(m_level(e))));
	for (idx = first; idx < first + blk_pages(m_level(e)); idx++)
		r->model[idx] |= M_DIRTY;
	return true;
}

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

/*
 * Every leaf of the table in [va, end) against the model: where, how
 * large, its frame (aligned to its size), permission and dirty bit; and
 * as many pages mapped as the model has. A model leaf is the same on all
 * its pages (m_consistent()), so its first page stands for it.
 */
static bool rnd_check(struct rnd_test *r, u64 va, u64 end)
{
	struct kunit *test = r->t->test;
	struct odp_pt_leaf leaf;
	struct odp_pt_iter it;
	u64 covered = 0, present = 0, leaves = 0, b;
	bool ok = true;

	mutex_lock(&r->t->lock);
	odp_pgtable_for_each_leaf(&r->t->pt, &it, va, end - va, &leaf) {
		unsigned int l = odp_pt_size_index(leaf.shift);
		u64 e, want;

		if (leaf.va < RND_BASE || leaf.va + BIT_ULL(leaf.shift) > RND_BASE + RND_SPAN) {
			KUNIT_FAIL(test, "leaf at %llx outside the span", leaf.va);
			ok = false;
			break;
		}
		e = r->model[m_idx(leaf.va)];
		want = m_entry(leaf.pfn, leaf.writable, leaf.dirty, l);
		if (!m_supported(r, l) || !IS_ALIGNED(leaf.pfn, blk_pages(l)) || e != want) {
			KUNIT_FAIL(test, "leaf at %llx: %s pfn %llx%s%s; model: %s%s pfn %llx%s%s",
				   leaf.va, l == 2 ? "1G" : l ? "2M" : "4K", leaf.pfn,
				   leaf.writable ? " rw" : " ro", leaf.dirty ? " dirty" : "",
				   e & M_PRESENT ? "" : "nothing, ",
				   m_level(e) == 2 ? "1G" : m_level(e) ? "2M" : "4K",
				   m_frame(e), e & M_WRITE ? " rw" : " ro",
				   e & M_DIRTY ? " dirty" : "");
			ok = false;
			break;
		}
		covered += (min(leaf.va + BIT_ULL(leaf.shift), end) - max(leaf.va, va)) / K4;
		if (!(++leaves % 4096))
			cond_resched();
	}
	mutex_unlock(&r->t->lock);
	for (b = m_idx(va) / blk_pages(1); b < m_idx(end) / blk_pages(1); b++)
		present += r->present_2m[b];
	if (ok && covered != present) {
		KUNIT_FAIL(test, "[%llx, %llx): table maps %llu pages, model %llu",
			   va, end, covered, present);
		ok = false;
	}
	return ok;
}

/* The model's own invariant: each leaf the same on every page, aligned */
static bool m_consistent(struct rnd_test *r)
{
	u64 idx;

	for (idx = 0; idx < RND_PAGES; idx++) {
		u64 e = r->model[idx], e0, first;
		unsigned int l = m_level(e);

		if (!(e & M_PRESENT)) {
			if (e)
				return false;
			continue;
		}
		first = ALIGN_DOWN(idx, blk_pages(l));
		e0 = r->model[first];
		if (!m_supported(r, l) || !IS_ALIGNED(m_frame(e0), blk_pages(l)) ||
		    e != e0 + ((idx - first) << M_FRAME_SHIFT))
			return false;
		if (!(idx % 65536))
			cond_resched();
	}
	return true;
}

/* Check one step's result, counts and table pages against the model */
static void rnd_step_check(struct rnd_test *r, const char *step, int ret,
			   const struct odp_pt_result *res,
			   const struct odp_pt_stats *before, long live_base,
			   unsigned long reserved)
{
	struct kunit *test = r->t->test;
	struct odp_pgtable *pt = &r->t->pt;
	unsigned int s;

	KUNIT_ASSERT_EQ_MSG(test, ret, r->x.ret, "%s", step);
	KUNIT_ASSERT_EQ_MSG(test, res->need, r->x.need, "%s: table pages needed", step);
	KUNIT_ASSERT_EQ_MSG(test, res->fallback, r->x.fallback, "%s: fallback", step);
	KUNIT_ASSERT_EQ_MSG(test, r->t->released, r->x.released, "%s: released", step);
	KUNIT_ASSERT_EQ_MSG(test, r->t->released_dirty, r->x.released_dirty,
			    "%s: released dirty", step);
	if (ret) {
		/* a failed operation changes nothing */
		KUNIT_ASSERT_EQ_MSG(test, memcmp(before, &pt->stats, sizeof(*before)), 0,
				    "%s: the failed operation changed the counters", step);
	} else {
		KUNIT_ASSERT_EQ_MSG(test, res->splits, r->x.splits, "%s: splits", step);
		KUNIT_ASSERT_EQ_MSG(test, res->merges, r->x.merges, "%s: merges", step);
		KUNIT_ASSERT_EQ_MSG(test, pt->stats.splits, before->splits + r->x.splits,
				    "%s", step);
		KUNIT_ASSERT_EQ_MSG(test, pt->stats.merges, before->merges + r->x.merges,
				    "%s", step);
		KUNIT_ASSERT_EQ_MSG(test, pt->stats.fallbacks,
				    before->fallbacks + r->x.fallback, "%s", step);
	}
	for (s = 0; s < ODP_PT_NR_SIZES; s++)
		KUNIT_ASSERT_EQ_MSG(test, pt->stats.leaves[s], r->pages_at[s] / blk_pages(s),
				    "%s: leaves of size %u", step, s);
	KUNIT_ASSERT_EQ_MSG(test, pt->stats.tables, m_tables(r), "%s: table pages", step);
	/* what was really allocated: the tables and the reserves held */
	KUNIT_ASSERT_EQ_MSG(test, odp_pt_live_pages() - live_base,
			    (long)(pt->stats.tables + reserved),
			    "%s: pages allocated and not freed", step);
}

static void pt_randomized(struct kunit *test)
{
	static const u64 aligns[] = { K4, M2, G1 };
	struct pt_test *t = test->priv;
	unsigned long census[ODP_PT_NR_SIZES];
	struct rnd_test *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	unsigned int step, s;
	u32 sd = seed ? seed : get_random_u32();
	u64 last_va = RND_BASE, last_len = K4, t0 = ktime_get_ns();
	long live_base;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->t = t;
	odp_pt_reserve_init(&r->poisoned);
	odp_pt_reserve_init(&r->small);
	t->rnd = r;
	kunit_info(test, "seed %u (load with seed=%u to repeat)\n", sd, sd);
	prandom_seed_state(&r->rnd, sd);
	r->model = vzalloc(RND_PAGES * sizeof(u64));
	r->small_2m = vzalloc(RND_SPAN / M2 * sizeof(u32));
	r->present_2m = vzalloc(RND_SPAN / M2 * sizeof(u32));
	r->frames = kunit_kmalloc_array(test, RND_FRAMES, sizeof(*r->frames), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, r->model && r->small_2m && r->present_2m &&
			  r->frames);
	live_base = odp_pt_live_pages() - t->pt.stats.tables;

	for (step = 0; step < RND_STEPS; step++) {
		u32 k = rnd_below(r, 20);
		enum rnd_kind kind = k < 9 ? R_MAP : k < 13 ? R_UNMAP :
				     k < 17 ? R_PROTECT : R_DIRTY;
		u64 align = aligns[rnd_below(r, 3)];
		u64 va = RND_BASE + ALIGN_DOWN((u64)rnd_below(r, RND_PAGES) * K4, align);
		unsigned int lshift = 12 + rnd_below(r, 20);
		u64 len = max_t(u64, K4, ALIGN_DOWN((1ULL << lshift) +
				 (u64)rnd_below(r, 1U << (lshift - 12)) * K4, K4));
		u64 pfn = (u64)rnd_below(r, 1U << 21) << 18;
		struct odp_pt_alloc alloc = { .reserve = &r->poisoned, .gfp = GFP_KERNEL };
		unsigned long avail = ULONG_MAX;
		struct odp_pt_stats before;
		struct odp_pt_result res;
		struct m_map mm = {};
		char what[160];
		unsigned int arg = 0, pnr;
		bool write = false;
		int ret;

		switch (rnd_below(r, 4)) {
		case 0:		/* one fixed offset: neighbours can merge */
			pfn = PFN(va) + PFN(64 * G1);
			break;
		case 1:		/* misaligned: small leaves only */
			pfn += rnd_below(r, 1U << 18);
			break;
		default:	/* aligned like the va: huge leaves fit */
			pfn += PFN(va) & (BIT_ULL(18) - 1);
			break;
		}
		len = min(len, RND_BASE + RND_SPAN - va);
		r->x = (struct rnd_expect){ .lo = va, .hi = va + len };
		t->released = 0;
		t->released_dirty = 0;

		if (kind == R_DIRTY) {
			/* the device writes here and there, often where the last step was */
			for (k = 0; k < 8; k++) {
				u64 at = rnd_below(r, 2) ?
					 RND_BASE + (u64)rnd_below(r, RND_PAGES) * K4 :
					 last_va + (u64)rnd_below(r, last_len / K4) * K4;
				bool got;

				mutex_lock(&t->lock);
				got = odp_pgtable_set_dirty(&t->pt, at);
				mutex_unlock(&t->lock);
				KUNIT_ASSERT_EQ_MSG(test, got, m_set_dirty(r, at),
						    "step %u: set_dirty(%llx)", step, at);
				KUNIT_ASSERT_TRUE(test, rnd_check(r, ALIGN_DOWN(at, M2),
								  ALIGN_DOWN(at, M2) + M2));
			}
			r->counts[R_DIRTY]++;
			continue;
		}

		if (kind == R_MAP) {
			write = rnd_below(r, 2);
			arg = write ? ODP_PT_WRITE : 0;
		} else {
			arg = (rnd_below(r, 2) ? ODP_PT_MERGE : 0) |
			      (rnd_below(r, 4) ? 0 : ODP_PT_FALLBACK);
		}
		if (kind == R_MAP && !rnd_below(r, 4)) {
			/* a frame array: the run, broken here and there */
			u64 j, wflag = write ? ODP_PT_FRAME_WRITE : 0;

			len = min(len, (u64)RND_FRAMES * K4);
			for (j = 0; j < len / K4; j++) {
				if (!rnd_below(r, 700))
					wflag ^= ODP_PT_FRAME_WRITE;
				r->frames[j] = (rnd_below(r, 1000) ? pfn + j :
						rnd_below(r, 1U << 20)) | wflag;
			}
			mm.frames = r->frames;
		}
		/* table pages: plenty, or a few and no allocation, or none */
		switch (rnd_below(r, 10)) {
		case 0:
			KUNIT_ASSERT_EQ(test, odp_pt_reserve_fill(&r->small, rnd_below(r, 3),
								  GFP_KERNEL), 0);
			alloc = (struct odp_pt_alloc){ .reserve = &r->small };
			avail = r->small.nr;
			break;
		case 1:
			if (kind == R_MAP)
				break;
			alloc = (struct odp_pt_alloc){ .reserve = &r->small };
			avail = 0;
			arg |= ODP_PT_FALLBACK;
			break;
		}
		rnd_poison_reserve(test, &r->poisoned, 64);

		mm.va = va;
		mm.end = va + len;
		mm.pfn = pfn;
		mm.write = write;
		mm.wlo = 0;
		mm.whi = U64_MAX;
		if (kind == R_MAP) {
			/* merges only inside a window, as for an MR or a VMA */
			switch (rnd_below(r, 4)) {
			case 0:
				t->merge_start = va;
				t->merge_end = va + len;
				break;
			case 1:
				t->merge_start = ALIGN_DOWN(va, M2);
				t->merge_end = ALIGN(va + len, M2);
				break;
			}
			if (t->merge_end) {
				mm.wlo = t->merge_start;
				mm.whi = t->merge_end - 1;
				r->counts[R_WINDOW]++;
			}
			m_map(r, &mm, avail);
		} else {
			m_modify(r, kind == R_PROTECT, va, va + len, arg, avail);
		}

		before = t->pt.stats;
		pnr = r->poisoned.nr;
		t->frames = mm.frames;
		ret = t_do(t, kind == R_MAP ? T_MAP : kind == R_UNMAP ? T_UNMAP : T_PROTECT,
			   va, len, pfn, arg, &alloc, &res);
		t->frames = NULL;
		scnprintf(what, sizeof(what),
			  "step %u: %s va %llx len %llx pfn %llx arg %x%s%s, %lu pages at hand",
			  step, rnd_kind_name[kind], va, len, pfn, arg,
			  mm.frames ? ", frame array" : "", t->merge_end ? ", window" : "",
			  alloc.reserve == &r->poisoned ? (unsigned long)pnr : avail);
		rnd_step_check(r, what, ret, &res, &before, live_base,
			       r->poisoned.nr + r->small.nr);
		t->merge_start = 0;
		t->merge_end = 0;
		/* pages come from the reserve first, and go back on failure */
		if (alloc.reserve == &r->poisoned)
			KUNIT_ASSERT_EQ(test, pnr - r->poisoned.nr, min(pnr, res.need));
		else if (ret == 0 && !res.fallback)
			KUNIT_ASSERT_EQ(test, r->small.nr, avail - res.need);
		else
			KUNIT_ASSERT_EQ(test, r->small.nr, avail);
		odp_pt_reserve_drain(&r->small);
		r->counts[kind]++;
		r->counts[R_ENOMEM] += ret == -ENOMEM;
		r->counts[R_FALLBACK] += res.fallback;
		/* where the model says it acted; the whole span every 100 steps */
		KUNIT_ASSERT_TRUE_MSG(test, rnd_check(r, ALIGN_DOWN(r->x.lo, M2),
						      ALIGN(r->x.hi, M2)), "%s", what);
		if (step % 100 == 99) {
			KUNIT_ASSERT_TRUE(test, rnd_check(r, RND_BASE, RND_BASE + RND_SPAN));
			KUNIT_ASSERT_TRUE_MSG(test, m_consistent(r), "step %u: the model", step);
		}
		last_va = va;
		last_len = len;
		cond_resched();
	}
	KUNIT_ASSERT_TRUE(test, rnd_check(r, RND_BASE, RND_BASE + RND_SPAN));
	/* nothing outside the span, and the accounting agrees with a walk */
	t_census(t, 0, odp_pgtable_va_limit(&t->pt), census);
	for (s = 0; s < ODP_PT_NR_SIZES; s++)
		KUNIT_EXPECT_EQ(test, census[s], t->pt.stats.leaves[s]);
	KUNIT_EXPECT_EQ(test, t->pt.stats.tables,
			t->pt.stats.tables_allocated - atomic_long_read(&t->pt.stats.tables_freed));
	for (s = 0; s < R_KINDS; s++)
		kunit_info(test, "%-20s %lu\n", rnd_kind_name[s], r->counts[s]);
	kunit_info(test, "%lu splits, %lu merges, %lu fallbacks; leaves now 4K %lu 2M %lu 1G %lu, %lu table pages\n",
		   t->pt.stats.splits, t->pt.stats.merges, t->pt.stats.fallbacks,
		   census[0], census[1], census[2], t->pt.stats.tables);
	kunit_info(test, "%u steps in %llu ms\n", RND_STEPS,
		   (ktime_get_ns() - t0) / NSEC_PER_MSEC);
	/* a run that never split, merged or failed tested too little */
	KUNIT_EXPECT_GT(test, t->pt.stats.splits, 0UL);
	KUNIT_EXPECT_GT(test, t->pt.stats.merges, 0UL);
	for (s = 0; s < R_KINDS; s++)
		KUNIT_EXPECT_GT(test, r->counts[s], 0UL);
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
	KUNIT_CASE(pt_protect_read_only_leaf),
	KUNIT_CASE(pt_map_keep),
	KUNIT_CASE(pt_install_refused),
	KUNIT_CASE(pt_zap_tags),
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
