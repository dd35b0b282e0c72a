// SPDX-License-Identifier: GPL-2.0
/*
 * odp-mirror on anonymous 4K, THP and hugetlb memory, through the
 * simulated device: the data the device reads and writes against what the
 * CPU sees, and the device page table's leaves through SNAPSHOT.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "odp_test_lib.h"

#define PAGES(len)	((len) / SZ_4K)

FIXTURE(mirror)
{
	int fd;
};

FIXTURE_SETUP(mirror)
{
	self->fd = odp_open();
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", ODP_SIM_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(mirror)
{
	close(self->fd);
}

/* Why a test cannot run: NULL if it can */
static const char *no_thp(const void *p, size_t len)
{
	static char why[96];

	if (p)
		return NULL;
	snprintf(why, sizeof(why), "no THP: AnonHugePages did not cover %zu kB", len >> 10);
	return why;
}

static const char *no_hugetlb(size_t pgsize, long n)
{
	long free_pages = odp_hugetlb_free(pgsize);
	static char why[96];

	if (free_pages >= n)
		return NULL;
	snprintf(why, sizeof(why), "hugetlb pool of %zu kB pages has %ld free, need %ld",
		 pgsize >> 10, free_pages, n);
	return why;
}

static const char *no_pte_thp(const void *p)
{
	return p ? NULL : "no THP left PTE-mapped and contiguous";
}

/* 1. Anonymous 4K memory: the device reads what the CPU wrote and back. */
TEST_F(mirror, anon_4k_read_write)
{
	size_t len = 64 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	struct odp_census c;
	__u64 faults;

	ASSERT_NE(NULL, p);
	odp_fill(p, len, 1);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_TRUE(odp_dev_sees(self->fd, p, len, 1, &faults));
	EXPECT_GT(faults, 0);
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(PAGES(len), c.present);
	EXPECT_EQ(PAGES(len), c.pages_in[0]);
	EXPECT_EQ(PAGES(len), c.writable);
	EXPECT_EQ(0, c.dirty);
	/* mapped now: no more faults */
	ASSERT_TRUE(odp_dev_sees(self->fd, p, len, 1, &faults));
	EXPECT_EQ(0, faults);

	ASSERT_EQ(0, odp_dev_put(self->fd, p, len, 2, &faults));
	EXPECT_EQ(0, faults);
	EXPECT_TRUE(odp_check(p, p, len, 2));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(PAGES(len), c.dirty);
	/* and an unaligned, page-crossing access */
	ASSERT_EQ(0, odp_dev_put(self->fd, p + 100, 2 * SZ_4K, 3, NULL));
	EXPECT_TRUE(odp_check(p + 100, p + 100, 2 * SZ_4K, 3));
	EXPECT_TRUE(odp_check(p, p, 96, 2));
	munmap(p, len);
}

/*
 * 2M-aligned blocks of 4K pages, order-0 folios all. The contiguity rule:
 * a read-only prefetch maps a block with one 2M leaf exactly where its
 * pages are physically contiguous and aligned, with 4K leaves otherwise.
 * The folio rule: a writable leaf never spans more than one folio, so
 * once prefetched for write every block is 512 writable 4K leaves,
 * contiguous or not, and a device write dirties one of them.
 *   - block 0 is faulted in address order: on a fresh guest it often comes
 *     out contiguous, but need not; its leaves must follow what pagemap
 *     says;
 *   - block 1 is faulted in reverse, each page after a page of another
 *     mapping, so it is not contiguous: 4K leaves, every time;
 *   - block 2 is a THP split in place into 512 order-0 folios, so it is
 *     contiguous: a read-only 2M leaf, every time, then writable 4K ones.
 */
TEST_F(mirror, anon_4k_aligned_blocks)
{
	char *p = odp_reserve_va(3 * SZ_2M, SZ_2M), *b;
	char *other = odp_map_anon(NULL, SZ_2M, MADV_NOHUGEPAGE);
	bool contiguous[3];
	struct odp_census c;
	__u64 faults;
	long i;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, other);
	ASSERT_NE(NULL, odp_map_anon(p, 2 * SZ_2M, MADV_NOHUGEPAGE));
	b = odp_map_thp(p + 2 * SZ_2M, SZ_2M, 0);
	if (no_thp(b, SZ_2M))
		SKIP(return, "%s", no_thp(b, SZ_2M));
	for (i = 0; i < (long)PAGES(SZ_2M); i++)
		p[i * SZ_4K] = 1;
	for (i = PAGES(SZ_2M) - 1; i >= 0; i--) {
		other[i * SZ_4K] = 1;
		p[SZ_2M + i * SZ_4K] = 1;
	}
	/* not zeros: a split may map zero-filled pages to the zero page */
	odp_fill(p, 3 * SZ_2M, 38);
	ASSERT_EQ(0, odp_split_thp(b, SZ_2M)) TH_LOG("%s", ODP_SPLIT_HUGE_PAGES);
	ASSERT_TRUE(odp_order0_pages(p, 3 * SZ_2M));
	for (i = 0; i < 3; i++)
		contiguous[i] = odp_phys_contiguous(p + i * SZ_2M, SZ_2M);
	ASSERT_FALSE(contiguous[1]);
	ASSERT_TRUE(contiguous[2]);
	TH_LOG("block 0 %s", contiguous[0] ? "contiguous" : "not contiguous");
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, 3 * SZ_2M, NULL));

	/* read-only: a 2M leaf wherever the block is contiguous */
	ASSERT_EQ(0, odp_prefetch(self->fd, p, 3 * SZ_2M, ODP_SIM_PREFETCH_READ));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, odp_census(self->fd, p + i * SZ_2M, SZ_2M, &c));
		EXPECT_EQ(contiguous[i] ? 1 : 0, c.leaves[1]) TH_LOG("block %ld", i);
		EXPECT_EQ(contiguous[i] ? 0 : 512, c.leaves[0]) TH_LOG("block %ld", i);
		EXPECT_EQ(0, c.writable) TH_LOG("block %ld", i);
	}
	EXPECT_TRUE(odp_dev_sees(self->fd, p, 3 * SZ_2M, 38, &faults));
	EXPECT_EQ(0, faults);

	/* writable: one leaf per folio, so 4K leaves, contiguous or not */
	ASSERT_EQ(0, odp_prefetch(self->fd, p, 3 * SZ_2M, ODP_SIM_PREFETCH_WRITE));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, odp_census(self->fd, p + i * SZ_2M, SZ_2M, &c));
		EXPECT_EQ(0, c.leaves[1]) TH_LOG("block %ld", i);
		EXPECT_EQ(512, c.leaves[0]) TH_LOG("block %ld", i);
		EXPECT_EQ(512, c.writable) TH_LOG("block %ld", i);
		EXPECT_EQ(0, c.dirty) TH_LOG("block %ld", i);
	}
	EXPECT_TRUE(odp_dev_sees(self->fd, p, 3 * SZ_2M, 38, NULL));
	/* a device write dirties the leaf of its folio alone */
	for (i = 0; i < 3; i++) {
		b = p + i * SZ_2M + SZ_4K;
		ASSERT_EQ(0, odp_dev_put(self->fd, b, SZ_4K, 39, &faults));
		EXPECT_EQ(0, faults);
		EXPECT_TRUE(odp_check(b, b, SZ_4K, 39));
		ASSERT_EQ(0, odp_census(self->fd, p + i * SZ_2M, SZ_2M, &c));
		EXPECT_EQ(1, c.dirty) TH_LOG("block %ld", i);
		EXPECT_EQ(512, c.leaves[0]) TH_LOG("block %ld", i);
	}
	munmap(p, 3 * SZ_2M);
	munmap(other, SZ_2M);
}

/*
 * Split the THP at @p in place into 512 order-0 folios, through debugfs
 * split_huge_pages: they stay mapped, by PTEs, physically contiguous and
 * 2M-aligned. True if that is what came out.
 */
static bool split_in_place(struct __test_metadata *_metadata, char *p)
{
	EXPECT_EQ(0, odp_split_thp(p, SZ_2M)) TH_LOG("%s", ODP_SPLIT_HUGE_PAGES);
	EXPECT_EQ(0, odp_anon_huge_kb(p));
	EXPECT_TRUE(odp_order0_pages(p, SZ_2M));
	EXPECT_TRUE(odp_phys_contiguous(p, SZ_2M));
	return !odp_anon_huge_kb(p) && odp_order0_pages(p, SZ_2M) &&
	       odp_phys_contiguous(p, SZ_2M);
}

/*
 * 512 order-0 folios, contiguous and aligned: a read prefetch maps them
 * with one 2M leaf. A read-only leaf may span folios; only the contiguity
 * rule, reading the pfns page by page, can build this one.
 */
TEST_F(mirror, split_thp_read_prefetch_2m_leaf)
{
	char *p = odp_map_thp(NULL, SZ_2M, 0);
	struct odp_census c;
	__u64 faults;

	if (no_thp(p, SZ_2M))
		SKIP(return, "%s", no_thp(p, SZ_2M));
	/* not zeros: a split may map zero-filled pages to the zero page */
	odp_fill(p, SZ_2M, 39);
	ASSERT_TRUE(split_in_place(_metadata, p));
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_READ));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(1, c.leaves[1]);
	EXPECT_EQ(0, c.leaves[0]);
	EXPECT_EQ(0, c.writable);
	EXPECT_TRUE(odp_dev_sees(self->fd, p, SZ_2M, 39, &faults));
	EXPECT_EQ(0, faults);
	munmap(p, SZ_2M);
}

/*
 * The same pages, prefetched for write: a writable leaf never spans more
 * than one folio (a device write would dirty folios it never wrote), so
 * 512 4K leaves.
 */
TEST_F(mirror, split_thp_write_prefetch_4k_leaves)
{
	char *p = odp_map_thp(NULL, SZ_2M, 0);
	struct odp_census c;

	if (no_thp(p, SZ_2M))
		SKIP(return, "%s", no_thp(p, SZ_2M));
	/* not zeros: a split may map zero-filled pages to the zero page */
	odp_fill(p, SZ_2M, 40);
	ASSERT_TRUE(split_in_place(_metadata, p));
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(0, c.leaves[1]);
	EXPECT_EQ(512, c.leaves[0]);
	EXPECT_EQ(512, c.writable);
	EXPECT_TRUE(odp_dev_sees(self->fd, p, SZ_2M, 40, NULL));
	munmap(p, SZ_2M);
}

/* Untouched memory reads as zeros through the read-only zero page. */
TEST_F(mirror, zero_page_then_write)
{
	size_t len = 16 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	char *zero = calloc(1, len), *buf = malloc(len);
	struct odp_census c;
	__u64 faults;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_EQ(0, odp_dev_read(self->fd, p, buf, len, NULL));
	EXPECT_EQ(0, memcmp(buf, zero, len));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(PAGES(len), c.present);
	EXPECT_EQ(0, c.writable);
	/* the device must not write the shared zero page: it faults a copy */
	ASSERT_EQ(0, odp_dev_put(self->fd, p, len, 4, &faults));
	EXPECT_GT(faults, 0);
	EXPECT_TRUE(odp_check(p, p, len, 4));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(PAGES(len), c.writable);
	free(zero);
	free(buf);
	munmap(p, len);
}

/* A read-only MR refuses device writes, whatever the CPU mapping allows. */
TEST_F(mirror, read_only_mr)
{
	size_t len = 8 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	struct odp_census c;

	ASSERT_NE(NULL, p);
	odp_fill(p, len, 5);
	ASSERT_EQ(0, odp_mr_reg(self->fd, p, len, ODP_SIM_ACCESS_READ, NULL));
	EXPECT_TRUE(odp_dev_sees(self->fd, p, len, 5, NULL));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(PAGES(len), c.present);
	EXPECT_EQ(0, c.writable);
	EXPECT_EQ(-EACCES, odp_dev_put(self->fd, p, SZ_4K, 6, NULL));
	EXPECT_EQ(-EACCES, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_WRITE));
	EXPECT_TRUE(odp_check(p, p, len, 5));
	munmap(p, len);
}

/* Writing through a read-only CPU mapping fails and writes nothing. */
TEST_F(mirror, read_only_mapping)
{
	size_t len = 8 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	__u64 faults;

	ASSERT_NE(NULL, p);
	odp_fill(p, len, 7);
	ASSERT_EQ(0, mprotect(p, len, PROT_READ));
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	EXPECT_TRUE(odp_dev_sees(self->fd, p, len, 7, NULL));
	EXPECT_EQ(-EFAULT, odp_dev_put(self->fd, p + 2 * SZ_4K, SZ_4K, 8, &faults));
	EXPECT_EQ(1, faults);
	EXPECT_EQ(-EFAULT, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_WRITE));
	EXPECT_TRUE(odp_check(p, p, len, 7));
	munmap(p, len);
}

/*
 * A read prefetch over what the device wrote keeps the entries writable
 * and dirty: the next device write must not fault, and the dirty bit must
 * still reach the folio.
 */
TEST_F(mirror, read_prefetch_keeps_write_and_dirty)
{
	size_t len = 8 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	__u8 recs[8];
	__u64 faults;
	size_t i;

	ASSERT_NE(NULL, p);
	odp_fill(p, len, 1);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_EQ(0, odp_dev_put(self->fd, p, len, 2, &faults));
	ASSERT_EQ(0, odp_snapshot(self->fd, p, 8, recs));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(ODP_SIM_SNAP_PRESENT | ODP_SIM_SNAP_WRITE | ODP_SIM_SNAP_DIRTY,
			  recs[i] & ~ODP_SIM_SNAP_SIZE_MASK);
	ASSERT_EQ(0, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_READ));
	ASSERT_EQ(0, odp_snapshot(self->fd, p, 8, recs));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(ODP_SIM_SNAP_PRESENT | ODP_SIM_SNAP_WRITE | ODP_SIM_SNAP_DIRTY,
			  recs[i] & ~ODP_SIM_SNAP_SIZE_MASK);
	ASSERT_EQ(0, odp_dev_put(self->fd, p, len, 3, &faults));
	EXPECT_EQ(0, faults);
	EXPECT_TRUE(odp_check(p, p, len, 3));
	munmap(p, len);
}

/*
 * Prefetch advices: READ maps read-only what is not mapped yet, NO_FAULT
 * maps only what exists.
 */
TEST_F(mirror, prefetch_advice)
{
	size_t len = 32 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	struct odp_sim_stats st;
	struct odp_census c;
	size_t i;

	ASSERT_NE(NULL, p);
	for (i = 0; i < len; i += 2 * SZ_4K)	/* touch every other page */
		p[i] = 1;
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_NO_FAULT));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(PAGES(len) / 2, c.present);
	EXPECT_EQ(PAGES(len) / 2, c.writable);
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(PAGES(len) / 2, st.pages_faulted);

	/* READ maps the rest read-only, and takes no write access away */
	ASSERT_EQ(0, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_READ));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(PAGES(len), c.present);
	EXPECT_EQ(PAGES(len) / 2, c.writable);

	ASSERT_EQ(0, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(PAGES(len), c.writable);
	munmap(p, len);
}

/* 2. THP: PMD-mapped huge pages become 2M leaves. */
TEST_F(mirror, thp_2m_leaves)
{
	size_t len = 4 * SZ_2M;
	char *p = odp_map_thp(NULL, len, 0);
	struct odp_sim_stats st;
	struct odp_census c;
	__u64 faults;

	if (no_thp(p, len))
		SKIP(return, "%s", no_thp(p, len));
	odp_fill(p, len, 9);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(4, c.leaves[1]);
	EXPECT_EQ(0, c.pages_in[0]);
	EXPECT_EQ(PAGES(len), c.present);
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(4, st.leaves[1]);
	EXPECT_EQ(0, st.leaves[0]);
	EXPECT_TRUE(odp_dev_sees(self->fd, p, len, 9, &faults));
	EXPECT_EQ(0, faults);
	ASSERT_EQ(0, odp_dev_put(self->fd, p + SZ_2M - 64, 128, 10, &faults));
	EXPECT_EQ(0, faults);
	EXPECT_TRUE(odp_check(p + SZ_2M - 64, p + SZ_2M - 64, 128, 10));
	munmap(p, len);
}

/* 3. hugetlb 2M pages become 2M leaves. */
TEST_F(mirror, hugetlb_2m_leaves)
{
	size_t len = 2 * SZ_2M;
	struct odp_census c;
	__u64 faults;
	char *p;

	if (no_hugetlb(SZ_2M, 2))
		SKIP(return, "%s", no_hugetlb(SZ_2M, 2));
	p = odp_map_hugetlb(NULL, len, SZ_2M);
	ASSERT_NE(NULL, p);
	odp_fill(p, len, 11);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	EXPECT_TRUE(odp_dev_sees(self->fd, p, len, 11, &faults));
	EXPECT_EQ(2, faults);
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(2, c.leaves[1]);
	EXPECT_EQ(PAGES(len), c.pages_in[1]);
	ASSERT_EQ(0, odp_dev_put(self->fd, p + 12345 * 8, 4096, 12, &faults));
	EXPECT_EQ(0, faults);
	EXPECT_TRUE(odp_check(p + 12345 * 8, p + 12345 * 8, 4096, 12));
	munmap(p, len);
}

/*
 * One pfn per huge mapping: after a batch that began with a huge block,
 * the next asks hmm_range_fault() for one pfn first. A PMD-mapped THP
 * next to a PTE-mapped one, both ways round: both become 2M leaves, and
 * the calls are exactly those the probe predicts.
 */
TEST_F(mirror, pmd_thp_next_to_pte_thp)
{
	struct odp_sim_stats st;
	struct odp_census c;
	int order;

	for (order = 0; order < 2; order++) {
		/* inside one 8M-aligned batch of the mirror's */
		char *p = odp_map_thp(odp_reserve_va(2 * SZ_2M, 4 * SZ_2M), 2 * SZ_2M, 0);
		char *pte = p + (order ? 0 : SZ_2M);
		int fd = odp_open();

		if (!p || !odp_thp_to_ptes(pte) || odp_anon_huge_kb(p) != 2048) {
			if (p)
				munmap(p, 2 * SZ_2M);
			close(fd);
			SKIP(return, "no PMD-mapped THP next to a PTE-mapped one");
		}
		odp_fill(p, 2 * SZ_2M, 60 + order);
		ASSERT_EQ(0, odp_mr_rw(fd, p, 2 * SZ_2M, NULL));
		ASSERT_EQ(0, odp_prefetch(fd, p, 2 * SZ_2M, ODP_SIM_PREFETCH_WRITE));
		ASSERT_EQ(0, odp_census(fd, p, 2 * SZ_2M, &c));
		EXPECT_EQ(2, c.leaves[1]);
		ASSERT_EQ(0, odp_stats(fd, &st));
		/*
		 * PMD first: its probe maps it, the next probe finds PTEs and
		 * the batch is faulted whole (3 calls). PTEs first: the probe
		 * finds PTEs, one batch covers both blocks (2 calls).
		 */
		EXPECT_EQ(order ? 2 : 3, st.hmm_calls) TH_LOG("order %d", order);
		EXPECT_EQ(order ? 1024 : 1 + 512, st.pages_faulted) TH_LOG("order %d", order);
		EXPECT_TRUE(odp_dev_sees(fd, p, 2 * SZ_2M, 60 + order, NULL));
		close(fd);
		munmap(p, 2 * SZ_2M);
	}
}

/*
 * A hugetlb page cut by the MR's edges: the probe's one pfn is enough to
 * map the part of the page inside the MR, as 4K leaves (its alignment
 * allows no more), and nothing outside it.
 */
TEST_F(mirror, hugetlb_at_mr_edge)
{
	struct odp_sim_stats st;
	struct odp_census c;
	char *p;

	if (no_hugetlb(SZ_2M, 2))
		SKIP(return, "%s", no_hugetlb(SZ_2M, 2));
	p = odp_map_hugetlb(NULL, 2 * SZ_2M, SZ_2M);
	ASSERT_NE(NULL, p);
	odp_fill(p, 2 * SZ_2M, 62);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p + SZ_4K, 2 * SZ_2M - 2 * SZ_4K, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p + SZ_4K, 2 * SZ_2M - 2 * SZ_4K,
				  ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, 2 * SZ_2M, &c));
	EXPECT_EQ(0, c.leaves[1]);
	EXPECT_EQ(2 * 512 - 2, c.leaves[0]);
	EXPECT_EQ(2 * 512 - 2, c.present);
	EXPECT_TRUE(odp_dev_sees(self->fd, p + SZ_4K, 2 * SZ_2M - 2 * SZ_4K, 62, NULL));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(2, st.hmm_calls);
	munmap(p, 2 * SZ_2M);
}

struct split_race {
	char *p;
	pthread_barrier_t go;
	unsigned int seed;
};

/*
 * One change to the block, a moment into the prefetch that runs at the
 * same time: a split, a collapse, or a zap and refault; the last two give
 * the block new pages, so a leaf installed from pfns read before them
 * would show the device old pages.
 */
static void *split_thread(void *arg)
{
	struct split_race *r = arg;
	unsigned int op = rand_r(&r->seed) % 3;

	pthread_barrier_wait(&r->go);
	usleep(rand_r(&r->seed) % 300);
	if (op == 0) {
		mprotect(r->p + 5 * SZ_4K, SZ_4K, PROT_READ);
		mprotect(r->p + 5 * SZ_4K, SZ_4K, PROT_READ | PROT_WRITE);
	} else if (op == 1) {
		madvise(r->p, SZ_2M, MADV_COLLAPSE);
	} else {
		madvise(r->p, SZ_2M, MADV_DONTNEED);
		memset(r->p, 1, SZ_2M);
	}
	return NULL;
}

/*
 * A THP split (or replaced) between the probe and the install must not
 * leave a stale leaf: a prefetch races one change to the block, and then
 * every page the device maps is the page the CPU maps (sampled every
 * 128K). 200 rounds; the time limit is for a KASAN guest on a slow host.
 */
TEST_F_TIMEOUT(mirror, thp_split_races_probe, 600)
{
	struct split_race r = { .seed = 7 };
	struct odp_sim_translate t = { .size = sizeof(t) };
	unsigned int round, bad = 0;
	pthread_t th;
	size_t i;

	r.p = odp_map_thp(NULL, SZ_2M, 1);
	if (!r.p)
		SKIP(return, "%s", no_thp(NULL, SZ_2M));
	ASSERT_EQ(0, odp_mr_rw(self->fd, r.p, SZ_2M, NULL));
	for (round = 0; round < 200 && !bad; round++) {
		int ret;

		pthread_barrier_init(&r.go, NULL, 2);
		ASSERT_EQ(0, pthread_create(&th, NULL, split_thread, &r));
		pthread_barrier_wait(&r.go);
		/* EFAULT while the page is read-only */
		ret = odp_prefetch(self->fd, r.p, SZ_2M, round & 1 ?
				   ODP_SIM_PREFETCH_WRITE : ODP_SIM_PREFETCH_READ);
		ASSERT_TRUE(!ret || ret == -EFAULT) TH_LOG("prefetch: %d", ret);
		pthread_join(th, NULL);
		pthread_barrier_destroy(&r.go);
		for (i = 0; i < SZ_2M; i += 32 * SZ_4K) {
			t.addr = (uintptr_t)r.p + i;
			t.flags = 0;
			ASSERT_EQ(0, odp_ioctl(self->fd, ODP_SIM_IOC_TRANSLATE, &t));
			if ((t.flags & ODP_SIM_SNAP_PRESENT) &&
			    t.target / SZ_4K != odp_pfn(r.p + i))
				bad++;
		}
	}
	EXPECT_EQ(0, bad) TH_LOG("round %u: %u stale pages", round, bad);
	munmap(r.p, SZ_2M);
}

/*
 * hugetlb 1G: one 4K prefetch maps the whole 1G page as one leaf, since
 * the CPU maps it with one PUD inside the MR and the VMA.
 */
TEST_F(mirror, hugetlb_1g_leaf)
{
	struct odp_sim_stats st;
	struct odp_census c;
	__u64 faults;
	char *p;

	if (no_hugetlb(SZ_1G, 1))
		SKIP(return, "%s", no_hugetlb(SZ_1G, 1));
	p = odp_map_hugetlb(NULL, SZ_1G, SZ_1G);
	ASSERT_NE(NULL, p);
	odp_fill(p, SZ_2M, 13);
	odp_fill(p + SZ_1G / 2, SZ_2M, 13);
	odp_fill(p + SZ_1G - SZ_2M, SZ_2M, 13);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_1G, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p + SZ_1G / 2, SZ_4K, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(1, st.leaves[2]);
	EXPECT_EQ(0, st.leaves[1] + st.leaves[0]);
	EXPECT_EQ(1, st.hmm_calls);
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_1G, &c));
	EXPECT_EQ(1, c.leaves[2]);
	EXPECT_TRUE(odp_dev_sees(self->fd, p, SZ_2M, 13, &faults));
	EXPECT_EQ(0, faults);
	EXPECT_TRUE(odp_dev_sees(self->fd, p + SZ_1G - SZ_2M, SZ_2M, 13, &faults));
	EXPECT_EQ(0, faults);
	/* a prefetch of the whole page: one batch maps it all */
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_1G, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(2, st.hmm_calls);
	EXPECT_EQ(1, st.leaves[2]);
	munmap(p, SZ_1G);
}

/* An MR cutting into a 1G page: 2M leaves inside, 4K at unaligned edges. */
TEST_F(mirror, hugetlb_1g_clamped_to_mr)
{
	struct odp_census c;
	char *p;

	if (no_hugetlb(SZ_1G, 1))
		SKIP(return, "%s", no_hugetlb(SZ_1G, 1));
	p = odp_map_hugetlb(NULL, SZ_1G, SZ_1G);
	ASSERT_NE(NULL, p);
	odp_fill(p, SZ_2M, 14);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p + SZ_4K, SZ_1G - 2 * SZ_4K, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p + SZ_4K, SZ_1G - 2 * SZ_4K,
				  ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_1G, &c));
	EXPECT_EQ(0, c.leaves[2]);
	EXPECT_EQ(510, c.leaves[1]);
	EXPECT_EQ(2 * 511, c.leaves[0]);
	EXPECT_EQ(PAGES(SZ_1G) - 2, c.present);
	EXPECT_TRUE(odp_dev_sees(self->fd, p + SZ_4K, SZ_2M - SZ_4K, 14, NULL));
	munmap(p, SZ_1G);
}

/* The device's size bitmap: no leaf larger than it supports. */
TEST_F(mirror, device_sizes_clamp)
{
	size_t len = 2 * SZ_2M;
	char *p = odp_map_thp(NULL, len, 0);
	struct odp_census c;

	if (no_thp(p, len))
		SKIP(return, "%s", no_thp(p, len));
	ASSERT_EQ(0, odp_config(self->fd, SZ_4K, 4));
	odp_fill(p, len, 15);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	EXPECT_TRUE(odp_dev_sees(self->fd, p, len, 15, NULL));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(PAGES(len), c.leaves[0]);
	EXPECT_EQ(0, c.leaves[1]);
	munmap(p, len);
}

/* 1G page on a device that stops at 2M: 512 2M leaves */
TEST_F(mirror, device_sizes_clamp_1g)
{
	struct odp_census c;
	char *p;

	if (no_hugetlb(SZ_1G, 1))
		SKIP(return, "%s", no_hugetlb(SZ_1G, 1));
	ASSERT_EQ(0, odp_config(self->fd, SZ_4K | SZ_2M, 4));
	p = odp_map_hugetlb(NULL, SZ_1G, SZ_1G);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_1G, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_4K, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_1G, &c));
	EXPECT_EQ(512, c.leaves[1]);
	EXPECT_EQ(0, c.leaves[2]);
	munmap(p, SZ_1G);
}

/* 4. One MR over a hugetlb, a THP and a 4K VMA: the exact mixed census. */
TEST_F(mirror, mixed_vma_census)
{
	size_t len = 7 * SZ_2M / 2;	/* 2M hugetlb, 4M THP, 1M of 4K */
	char *base, *t, *a;
	struct odp_census c;

	if (no_hugetlb(SZ_2M, 1))
		SKIP(return, "%s", no_hugetlb(SZ_2M, 1));
	base = odp_reserve_va(4 * SZ_2M, SZ_2M);
	ASSERT_NE(NULL, base);
	ASSERT_NE(NULL, odp_map_hugetlb(base, SZ_2M, SZ_2M));
	t = odp_map_thp(base + SZ_2M, 2 * SZ_2M, 0);
	if (no_thp(t, 2 * SZ_2M))
		SKIP(return, "%s", no_thp(t, 2 * SZ_2M));
	a = odp_map_anon(base + 3 * SZ_2M, SZ_2M / 2, MADV_NOHUGEPAGE);
	ASSERT_NE(NULL, a);
	odp_fill(base, len, 16);

	ASSERT_EQ(0, odp_mr_rw(self->fd, base, len, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, base, len, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, base, len, &c));
	EXPECT_EQ(3, c.leaves[1]);
	EXPECT_EQ(256, c.leaves[0]);
	EXPECT_EQ(0, c.leaves[2]);
	EXPECT_EQ(PAGES(len), c.present);
	EXPECT_TRUE(odp_dev_sees(self->fd, base, len, 16, NULL));
	munmap(base, 4 * SZ_2M);
}

/* 5. An MR whose ends cut through THPs: 4K leaves at the cuts, 2M inside */
TEST_F(mirror, thp_clamped_to_mr)
{
	size_t len = 3 * SZ_2M;
	char *p = odp_map_thp(NULL, len, 0);
	char *mr;
	struct odp_census c;

	if (no_thp(p, len))
		SKIP(return, "%s", no_thp(p, len));
	odp_fill(p, len, 17);
	mr = p + SZ_2M / 2;
	ASSERT_EQ(0, odp_mr_rw(self->fd, mr, 2 * SZ_2M, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, mr, 2 * SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(1, c.leaves[1]);
	EXPECT_EQ(512, c.leaves[0]);
	EXPECT_EQ(PAGES(2 * SZ_2M), c.present);
	EXPECT_TRUE(odp_dev_sees(self->fd, mr, 2 * SZ_2M, 17, NULL));
	munmap(p, len);
}

/*
 * A VMA boundary inside a 2M block of contiguous pages: 4K leaves. Once
 * the VMAs merge again, the same pages give one 2M leaf.
 */
TEST_F(mirror, thp_clamped_to_vma)
{
	char *p = odp_map_thp(NULL, SZ_2M, 0);
	struct odp_census c;

	if (no_thp(p, SZ_2M))
		SKIP(return, "%s", no_thp(p, SZ_2M));
	odp_fill(p, SZ_2M, 18);
	ASSERT_EQ(0, madvise(p + SZ_2M / 2, SZ_2M / 2, MADV_DONTFORK));
	if (odp_one_vma(p, SZ_2M) || !odp_phys_contiguous(p, SZ_2M))
		SKIP(goto out, "no VMA split over contiguous pages");
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(0, c.leaves[1]);
	EXPECT_EQ(512, c.leaves[0]);

	ASSERT_EQ(0, madvise(p + SZ_2M / 2, SZ_2M / 2, MADV_DOFORK));
	if (!odp_one_vma(p, SZ_2M))
		SKIP(goto out, "the VMAs did not merge back");
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(1, c.leaves[1]);
	EXPECT_EQ(0, c.leaves[0]);
	EXPECT_TRUE(odp_dev_sees(self->fd, p, SZ_2M, 18, NULL));
out:
	munmap(p, SZ_2M);
}

/*
 * @n THPs faulted block by block from the last to the first, so that an
 * allocator handing out descending addresses gives them ascending ones;
 * NULL unless every block is a THP.
 */
static char *map_thps_backwards(size_t n)
{
	char *p = odp_reserve_va(n * SZ_2M, SZ_2M);
	size_t i;

	if (!p || !odp_map_anon(p, n * SZ_2M, MADV_HUGEPAGE))
		return NULL;
	for (i = n; i-- > 0;)
		memset(p + i * SZ_2M, 0, SZ_2M);
	if (odp_anon_huge_kb(p) < (long)(n * SZ_2M >> 10)) {
		munmap(p, n * SZ_2M);
		return NULL;
	}
	return p;
}

/* Two THPs of [p, p + n * 2M), adjacent in VA order and physically, or NULL */
static char *adjacent_thps(char *p, size_t n)
{
	size_t i;

	for (i = 0; p && i + 1 < n; i++)
		if (odp_pfn(p + (i + 1) * SZ_2M) == odp_pfn(p + i * SZ_2M) + 512)
			return p + i * SZ_2M;
	return NULL;
}

/*
 * Two THPs that are physically adjacent, moved together by mremap() to
 * 4K below a 2M boundary: the 2M-aligned VA block then maps contiguous
 * pages whose physical address is 4K off 2M alignment, and the pages from
 * the start are contiguous but their VA is off. Neither may become a 2M
 * leaf. The THPs are faulted in address order, then, if no two came out
 * adjacent in that order, backwards.
 */
TEST_F(mirror, thp_clamped_to_va_pa_alignment)
{
	size_t n = 32, len = n * SZ_2M;
	char *p = odp_map_thp(NULL, len, 0), *dst, *u, *pair = adjacent_thps(p, n);
	struct odp_census c;

	if (no_thp(p, len))
		SKIP(return, "%s", no_thp(p, len));
	if (!pair) {
		munmap(p, len);
		p = map_thps_backwards(n);
		pair = adjacent_thps(p, n);
	}
	if (!pair) {
		TH_LOG("pfns of the THPs: %#llx %#llx %#llx %#llx ... %#llx", odp_pfn(p),
		       odp_pfn(p + SZ_2M), odp_pfn(p + 2 * SZ_2M), odp_pfn(p + 3 * SZ_2M),
		       odp_pfn(p + len - SZ_2M));
		SKIP(goto out, "no two THPs physically adjacent and in VA order");
	}
	dst = odp_reserve_va(4 * SZ_2M, SZ_2M);
	ASSERT_NE(NULL, dst);
	u = dst + SZ_2M;
	ASSERT_EQ(u - SZ_4K, mremap(pair, 2 * SZ_2M, 2 * SZ_2M,
				    MREMAP_MAYMOVE | MREMAP_FIXED, u - SZ_4K));
	odp_fill(u - SZ_4K, 2 * SZ_2M, 37);
	ASSERT_TRUE(odp_one_vma(u - SZ_4K, 2 * SZ_2M));
	ASSERT_EQ(odp_pfn(u - SZ_4K) + 512, odp_pfn(u + SZ_2M - SZ_4K));

	ASSERT_EQ(0, odp_mr_rw(self->fd, u - SZ_4K, 2 * SZ_2M, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, u - SZ_4K, 2 * SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, u - SZ_4K, 2 * SZ_2M, &c));
	EXPECT_EQ(0, c.leaves[1]);
	EXPECT_EQ(1024, c.leaves[0]);
	EXPECT_TRUE(odp_dev_sees(self->fd, u - SZ_4K, 2 * SZ_2M, 37, NULL));
	munmap(dst, 4 * SZ_2M);
out:
	if (p)
		munmap(p, len);
}

/*
 * A 2M leaf over a PTE-mapped, physically contiguous THP (the contiguity
 * rule, not the CPU map order, built it).
 */
static char *pte_mapped_2m_leaf(struct __test_metadata *_metadata, int fd,
				__u64 gen)
{
	char *p = odp_map_thp(NULL, SZ_2M, 0);
	struct odp_census c;

	if (!p)
		return NULL;
	odp_fill(p, SZ_2M, gen);
	if (!odp_thp_to_ptes(p)) {
		munmap(p, SZ_2M);
		return NULL;
	}
	EXPECT_EQ(0, odp_mr_rw(fd, p, SZ_2M, NULL));
	EXPECT_EQ(0, odp_prefetch(fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	EXPECT_EQ(0, odp_census(fd, p, SZ_2M, &c));
	EXPECT_EQ(1, c.leaves[1]);
	return p;
}

/*
 * After every fault the notifier's reserve is back at its target, even
 * after the target shrank and the pages came from the fault path's spare:
 * eight splits in a row, each followed by a fault, keep 511 entries each
 * and never fall back to dropping the leaf.
 */
TEST_F(mirror, reserve_refilled_after_shrink)
{
	const __u64 sizes = SZ_4K | SZ_2M | SZ_1G;
	struct odp_sim_stats st;
	char *p[8];
	int i;

	for (i = 0; i < 8; i++) {
		p[i] = pte_mapped_2m_leaf(_metadata, self->fd, 40 + i);
		if (no_pte_thp(p[i])) {
			while (i--)
				munmap(p[i], SZ_2M);
			SKIP(return, "%s", no_pte_thp(NULL));
		}
	}
	ASSERT_EQ(0, odp_config(self->fd, sizes, 64));
	ASSERT_EQ(0, odp_prefetch(self->fd, p[0], SZ_4K, ODP_SIM_PREFETCH_NO_FAULT));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	ASSERT_EQ(64, st.reserve);
	ASSERT_EQ(0, odp_config(self->fd, sizes, 4));
	ASSERT_EQ(0, odp_prefetch(self->fd, p[0], SZ_4K, ODP_SIM_PREFETCH_NO_FAULT));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	ASSERT_EQ(4, st.reserve);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, madvise(p[i] + 3 * SZ_4K, SZ_4K, MADV_DONTNEED));
		ASSERT_EQ(0, odp_prefetch(self->fd, p[i] + 8 * SZ_4K, SZ_4K,
					  ODP_SIM_PREFETCH_NO_FAULT));
		ASSERT_EQ(0, odp_stats(self->fd, &st));
		EXPECT_EQ(4, st.reserve) TH_LOG("after split %d", i + 1);
		EXPECT_EQ(i + 1, st.splits);
		EXPECT_EQ(0, st.fallbacks);
	}
	for (i = 0; i < 8; i++) {
		struct odp_census c;

		ASSERT_EQ(0, odp_census(self->fd, p[i], SZ_2M, &c));
		EXPECT_EQ(511, c.present);
		munmap(p[i], SZ_2M);
	}
}

#define FAIL_PAGE_ALLOC	"/sys/kernel/debug/fail_page_alloc"

static bool fail_page_alloc_present(void)
{
	return !access(FAIL_PAGE_ALLOC "/probability", W_OK);
}

/*
 * Failing this task's page allocations, and stopping it. Stopping must not
 * allocate, or it fails too and leaves the task failing (an open() that
 * needs a new slab page does): the two files it writes are opened before
 * the failing starts, and written from the stack.
 */
struct fail_allocs {
	int task_fd;	/* /proc/self/make-it-fail */
	int prob_fd;	/* fail_page_alloc's probability */
};

static int fail_allocs_stop(struct fail_allocs *fa)
{
	char zero[2] = "0";
	int ret = 0;

	if (fa->task_fd >= 0 && write(fa->task_fd, zero, 1) != 1)
		ret = -errno;
	if (fa->prob_fd >= 0 && write(fa->prob_fd, zero, 1) != 1 && !ret)
		ret = -errno;
	if (fa->task_fd >= 0)
		close(fa->task_fd);
	if (fa->prob_fd >= 0)
		close(fa->prob_fd);
	fa->task_fd = -1;
	fa->prob_fd = -1;
	return ret;
}

/* Make every page allocation of this task fail, from now on; 0 or -errno */
static int fail_allocs_start(struct fail_allocs *fa)
{
	static const char *const attr[][2] = {
		{ "task-filter", "Y" }, { "interval", "1" }, { "times", "-1" },
		{ "ignore-gfp-wait", "N" }, { "min-order", "0" }, { "verbose", "0" },
		{ "probability", "100" },
	};
	char path[128];
	size_t i;
	int ret;

	fa->task_fd = open("/proc/self/make-it-fail", O_WRONLY | O_CLOEXEC);
	fa->prob_fd = open(FAIL_PAGE_ALLOC "/probability", O_WRONLY | O_CLOEXEC);
	if (fa->task_fd < 0 || fa->prob_fd < 0) {
		ret = -errno;
		fail_allocs_stop(fa);
		return ret;
	}
	for (i = 0; i < ARRAY_SIZE(attr); i++) {
		snprintf(path, sizeof(path), FAIL_PAGE_ALLOC "/%s", attr[i][0]);
		ret = odp_put(path, attr[i][1]);
		if (ret)
			goto fail;
	}
	if (write(fa->task_fd, "1", 1) == 1)
		return 0;
	ret = -errno;
fail:
	fail_allocs_stop(fa);
	return ret;
}

/*
 * A fault that mapped everything succeeds even when the refill of the
 * notifier's reserve, the last thing it does, cannot allocate: the refill
 * is best effort (an empty reserve only makes splits fall back). The
 * kernel's fail_page_alloc fails every page allocation of this task
 * (make-it-fail) while a prefetch maps 4K pages in a 1 GiB block the table
 * has not reached yet: the batch takes its two new tables from the pages
 * the last fault left, so only the refill at the end allocates.
 */
TEST_F(mirror, fault_succeeds_when_refill_fails)
{
	char *a, *b;
	struct odp_census c;
	struct fail_allocs fa;
	int ret;

	if (!fail_page_alloc_present())
		SKIP(return, "no fail_page_alloc in debugfs (CONFIG_FAIL_PAGE_ALLOC)");
	/* two blocks 1 GiB apart, so that the second needs new tables */
	a = odp_reserve_va(2 * SZ_1G, SZ_1G);
	ASSERT_NE(NULL, a);
	b = a + SZ_1G;
	ASSERT_NE(NULL, odp_map_anon(a, 8 * SZ_4K, MADV_NOHUGEPAGE));
	ASSERT_NE(NULL, odp_map_anon(b, 8 * SZ_4K, MADV_NOHUGEPAGE));
	memset(a, 1, 8 * SZ_4K);
	memset(b, 2, 8 * SZ_4K);
	ASSERT_EQ(0, odp_mr_rw(self->fd, a, SZ_1G + 8 * SZ_4K, NULL));
	/* leaves the reserve and the fault path's spare full */
	ASSERT_EQ(0, odp_prefetch(self->fd, a, 8 * SZ_4K, ODP_SIM_PREFETCH_NO_FAULT));
	ret = fail_allocs_start(&fa);
	if (!ret)
		ret = odp_prefetch(self->fd, b, 8 * SZ_4K, ODP_SIM_PREFETCH_NO_FAULT);
	ASSERT_EQ(0, fail_allocs_stop(&fa));
	EXPECT_EQ(0, ret);
	ASSERT_EQ(0, odp_census(self->fd, b, 8 * SZ_4K, &c));
	EXPECT_EQ(8, c.present);
	munmap(a, 8 * SZ_4K);
	munmap(b, 8 * SZ_4K);
}

/*
 * Short of memory, a fault takes the table pages it needs from the fault
 * path's spare before the notifier's reserve takes its share: with the
 * reserve's target raised and every allocation failing, the fault that
 * needs new tables still maps everything from the pages at hand.
 */
TEST_F(mirror, fault_short_of_memory_uses_the_spare)
{
	char *a, *b;
	struct odp_sim_stats st;
	struct odp_census c;
	struct fail_allocs fa;
	int ret;

	if (!fail_page_alloc_present())
		SKIP(return, "no fail_page_alloc in debugfs (CONFIG_FAIL_PAGE_ALLOC)");
	a = odp_reserve_va(2 * SZ_1G, SZ_1G);
	ASSERT_NE(NULL, a);
	b = a + SZ_1G;
	ASSERT_NE(NULL, odp_map_anon(a, 8 * SZ_4K, MADV_NOHUGEPAGE));
	ASSERT_NE(NULL, odp_map_anon(b, 8 * SZ_4K, MADV_NOHUGEPAGE));
	memset(a, 1, 8 * SZ_4K);
	memset(b, 2, 8 * SZ_4K);
	ASSERT_EQ(0, odp_mr_rw(self->fd, a, SZ_1G + 8 * SZ_4K, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, a, 8 * SZ_4K, ODP_SIM_PREFETCH_NO_FAULT));
	/* the reserve now lacks 60 pages, more than the spare holds */
	ASSERT_EQ(0, odp_config(self->fd, SZ_4K | SZ_2M | SZ_1G, 64));
	ret = fail_allocs_start(&fa);
	if (!ret)
		ret = odp_prefetch(self->fd, b, 8 * SZ_4K, ODP_SIM_PREFETCH_NO_FAULT);
	ASSERT_EQ(0, fail_allocs_stop(&fa));
	EXPECT_EQ(0, ret);
	ASSERT_EQ(0, odp_census(self->fd, b, 8 * SZ_4K, &c));
	EXPECT_EQ(8, c.present);
	/* and the next fault that can allocate fills the reserve */
	ASSERT_EQ(0, odp_prefetch(self->fd, a, SZ_4K, ODP_SIM_PREFETCH_NO_FAULT));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(64, st.reserve);
	munmap(a, 8 * SZ_4K);
	munmap(b, 8 * SZ_4K);
}

/*
 * A write fault that maps a writable 2M leaf over a table of read-only 4K
 * leaves frees that table: the device's walker may still read it, so the
 * driver is told (its invalidate callback, STATS dev_zaps) before the
 * table page goes, as after a merge.
 */
TEST_F(mirror, leaf_over_table_tells_the_driver)
{
	char *p = odp_map_thp(NULL, SZ_2M, 0);
	struct odp_sim_stats s0, s1;
	struct odp_census c;
	int i;

	if (p && !odp_thp_to_ptes(p)) {
		munmap(p, SZ_2M);
		p = NULL;
	}
	if (!p)
		SKIP(return, "%s", no_pte_thp(p));
	odp_fill(p, SZ_2M, 23);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, NULL));
	/* 511 read-only 4K leaves, one table: not full, so not merged */
	for (i = 0; i < 511; i++)
		ASSERT_EQ(0, odp_prefetch(self->fd, p + i * SZ_4K, SZ_4K,
					  ODP_SIM_PREFETCH_READ));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	ASSERT_EQ(511, c.leaves[0]);
	ASSERT_EQ(0, odp_stats(self->fd, &s0));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_stats(self->fd, &s1));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(1, c.leaves[1]);
	EXPECT_EQ(0, c.leaves[0]);
	EXPECT_EQ(s0.tables - 1, s1.tables);
	EXPECT_EQ(s0.merges, s1.merges);
	EXPECT_EQ(s0.dev_zaps + 1, s1.dev_zaps);
	EXPECT_TRUE(odp_dev_sees(self->fd, p, SZ_2M, 23, NULL));
	munmap(p, SZ_2M);
}

/*
 * 6. A partial invalidation inside a 2M leaf: MADV_DONTNEED of one 4K page
 * splits the leaf, clears that page only, and the other 511 stay mapped:
 * read without a single device fault.
 */
TEST_F(mirror, dontneed_4k_splits_leaf)
{
	char *p = pte_mapped_2m_leaf(_metadata, self->fd, 19);
	char *gone = p + 100 * SZ_4K;
	char *buf = malloc(SZ_4K), *zero = calloc(1, SZ_4K);
	struct odp_sim_stats before, after;
	struct odp_census c;
	__u64 faults;

	if (no_pte_thp(p))
		SKIP(return, "%s", no_pte_thp(p));
	ASSERT_EQ(0, odp_stats(self->fd, &before));
	ASSERT_EQ(0, madvise(gone, SZ_4K, MADV_DONTNEED));
	ASSERT_EQ(0, odp_stats(self->fd, &after));
	EXPECT_EQ(before.splits + 1, after.splits);
	EXPECT_EQ(before.fallbacks, after.fallbacks);
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(511, c.present);
	EXPECT_EQ(511, c.leaves[0]);
	EXPECT_TRUE(odp_dev_sees(self->fd, p, gone - p, 19, &faults));
	EXPECT_EQ(0, faults);
	EXPECT_TRUE(odp_dev_sees(self->fd, gone + SZ_4K, p + SZ_2M - gone - SZ_4K, 19, &faults));
	EXPECT_EQ(0, faults);
	ASSERT_EQ(0, odp_stats(self->fd, &after));
	EXPECT_EQ(before.faults, after.faults);
	/* the page itself reads zeros after one refault */
	ASSERT_EQ(0, odp_dev_read(self->fd, gone, buf, SZ_4K, &faults));
	EXPECT_EQ(1, faults);
	EXPECT_EQ(0, memcmp(buf, zero, SZ_4K));
	free(buf);
	free(zero);
	munmap(p, SZ_2M);
}

/* Without reserve pages the whole leaf is dropped, and that is counted. */
TEST_F(mirror, dontneed_4k_fallback_without_reserve)
{
	struct odp_sim_stats before, after;
	struct odp_census c;
	__u64 faults;
	char *p;

	ASSERT_EQ(0, odp_config(self->fd, SZ_4K | SZ_2M | SZ_1G, 0));
	p = pte_mapped_2m_leaf(_metadata, self->fd, 20);
	if (no_pte_thp(p))
		SKIP(return, "%s", no_pte_thp(p));
	ASSERT_EQ(0, odp_stats(self->fd, &before));
	EXPECT_EQ(0, before.reserve);
	ASSERT_EQ(0, madvise(p + 5 * SZ_4K, SZ_4K, MADV_DONTNEED));
	ASSERT_EQ(0, odp_stats(self->fd, &after));
	EXPECT_EQ(before.fallbacks + 1, after.fallbacks);
	EXPECT_EQ(before.splits, after.splits);
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(0, c.present);
	/* correct all the same, after refaults */
	EXPECT_TRUE(odp_dev_sees(self->fd, p + 6 * SZ_4K, SZ_2M / 2, 20, &faults));
	EXPECT_GT(faults, 0);
	munmap(p, SZ_2M);
}

/*
 * munmap of 4K inside a 2M leaf. Splitting the VMA, the kernel invalidates
 * the whole 2M block first (__split_huge_pmd() does, even when the block
 * is PTE-mapped), so the whole leaf goes: no split is expected here. The
 * device sees the hole, and the rest again after refaults.
 */
TEST_F(mirror, munmap_4k_clears_whole_leaf)
{
	char *p = pte_mapped_2m_leaf(_metadata, self->fd, 21);
	char *hole = p + 100 * SZ_4K;
	struct odp_sim_stats before, after;
	struct odp_census c;
	__u64 faults;
	char buf[64];

	if (no_pte_thp(p))
		SKIP(return, "%s", no_pte_thp(p));
	ASSERT_EQ(0, odp_stats(self->fd, &before));
	ASSERT_EQ(0, munmap(hole, SZ_4K));
	ASSERT_EQ(0, odp_stats(self->fd, &after));
	EXPECT_EQ(before.splits, after.splits);
	EXPECT_EQ(before.fallbacks, after.fallbacks);
	EXPECT_GT(after.invalidations, before.invalidations);
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(0, c.present);
	EXPECT_EQ(-EFAULT, odp_dev_read(self->fd, hole, buf, sizeof(buf), NULL));
	EXPECT_TRUE(odp_dev_sees(self->fd, p, hole - p, 21, &faults));
	EXPECT_GT(faults, 0);
	EXPECT_TRUE(odp_dev_sees(self->fd, hole + SZ_4K, p + SZ_2M - hole - SZ_4K, 21, NULL));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(511, c.leaves[0]);
	munmap(p, SZ_2M);
}

/* The same for a PMD-mapped THP: the CPU order built the leaf. */
TEST_F(mirror, thp_pmd_munmap_clears_whole)
{
	char *p = odp_map_thp(NULL, SZ_2M, 0);
	struct odp_sim_stats before, after;
	struct odp_census c;

	if (no_thp(p, SZ_2M))
		SKIP(return, "%s", no_thp(p, SZ_2M));
	odp_fill(p, SZ_2M, 21);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_stats(self->fd, &before));
	ASSERT_EQ(1, before.leaves[1]);
	ASSERT_EQ(0, munmap(p + SZ_4K, SZ_4K));
	ASSERT_EQ(0, odp_stats(self->fd, &after));
	EXPECT_EQ(before.splits, after.splits);
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(0, c.present);
	EXPECT_TRUE(odp_dev_sees(self->fd, p + 2 * SZ_4K, SZ_2M - 2 * SZ_4K, 21, NULL));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(510, c.leaves[0]);
	munmap(p, SZ_2M);
}

/*
 * 7. mprotect(PROT_READ) of 4K inside a 2M leaf: device writes fail there
 * only. PROTECTION_VMA clears, never just downgrades; the VMA split
 * invalidates the whole block, as for munmap.
 */
TEST_F(mirror, mprotect_4k_inside_leaf)
{
	char *p = pte_mapped_2m_leaf(_metadata, self->fd, 22);
	char *ro = p + 200 * SZ_4K;
	struct odp_census c;
	__u64 faults;

	if (no_pte_thp(p))
		SKIP(return, "%s", no_pte_thp(p));
	ASSERT_EQ(0, mprotect(ro, SZ_4K, PROT_READ));
	ASSERT_EQ(0, odp_census(self->fd, ro, SZ_4K, &c));
	EXPECT_EQ(0, c.present);
	EXPECT_EQ(-EFAULT, odp_dev_put(self->fd, ro, SZ_4K, 23, &faults));
	EXPECT_EQ(1, faults);
	EXPECT_TRUE(odp_check(ro, ro, SZ_4K, 22));
	ASSERT_EQ(0, odp_dev_put(self->fd, ro - SZ_4K, SZ_4K, 23, NULL));
	ASSERT_EQ(0, odp_dev_put(self->fd, ro + SZ_4K, SZ_4K, 23, NULL));
	EXPECT_TRUE(odp_check(ro - SZ_4K, ro - SZ_4K, SZ_4K, 23));
	EXPECT_TRUE(odp_check(ro + SZ_4K, ro + SZ_4K, SZ_4K, 23));
	/* readable, and mapped read-only for the device */
	EXPECT_TRUE(odp_dev_sees(self->fd, ro, SZ_4K, 22, &faults));
	EXPECT_EQ(1, faults);
	ASSERT_EQ(0, odp_census(self->fd, ro, SZ_4K, &c));
	EXPECT_EQ(1, c.present);
	EXPECT_EQ(0, c.writable);
	/* a device write through the whole range stops at that page */
	EXPECT_EQ(-EFAULT, odp_dev_put(self->fd, p, SZ_2M, 24, NULL));
	EXPECT_TRUE(odp_check(p, p, ro - p, 24));
	EXPECT_TRUE(odp_check(ro, ro, SZ_4K, 22));
	munmap(p, SZ_2M);
}

/* 8. MADV_COLLAPSE after a hole was refilled: back to one 2M leaf. */
TEST_F(mirror, collapse_back_to_2m)
{
	char *p = pte_mapped_2m_leaf(_metadata, self->fd, 25);
	char *gone = p + 300 * SZ_4K;
	struct odp_census c;
	int tries, ret;

	if (no_pte_thp(p))
		SKIP(return, "%s", no_pte_thp(p));
	ASSERT_EQ(0, madvise(gone, SZ_4K, MADV_DONTNEED));
	odp_fill(gone, SZ_4K, 25);	/* a new page, elsewhere */
	EXPECT_TRUE(odp_dev_sees(self->fd, p, SZ_2M, 25, NULL));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(0, c.leaves[1]);
	EXPECT_EQ(512, c.leaves[0]);

	for (tries = 0; tries < 10; tries++) {
		ret = madvise(p, SZ_2M, MADV_COLLAPSE);
		if (!ret || errno != EAGAIN)
			break;
	}
	if (ret && errno == EINVAL)
		SKIP(goto out, "this kernel has no MADV_COLLAPSE");
	ASSERT_EQ(0, ret) TH_LOG("MADV_COLLAPSE: %s", strerror(errno));
	ASSERT_EQ(2048, odp_anon_huge_kb(p));
	EXPECT_TRUE(odp_dev_sees(self->fd, p, SZ_2M, 25, NULL));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(1, c.leaves[1]);
	EXPECT_EQ(0, c.leaves[0]);
out:
	munmap(p, SZ_2M);
}

/*
 * 9. fork: the parent's entries are write-protected, not dropped; a device
 * write then breaks COW in the parent only; the child keeps its data.
 */
TEST_F(mirror, fork_cow_follows_parent)
{
	size_t len = 16 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	int to_child[2], to_parent[2], status;
	struct odp_census c;
	__u64 faults;
	char token = 0;
	pid_t pid;

	ASSERT_NE(NULL, p);
	odp_fill(p, len, 26);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		struct odp_sim_version v = { .size = sizeof(v) };
		int bad = 0;

		/* the fd is the parent's address space, not ours */
		if (odp_ioctl(self->fd, ODP_SIM_IOC_VERSION, &v) != -EPERM)
			bad |= 1;
		odp_fill(p, len, 27);
		if (write(to_parent[1], &token, 1) != 1 ||
		    read(to_child[0], &token, 1) != 1)
			bad |= 2;
		if (!odp_check(p, p, len, 27))
			bad |= 4;
		_exit(bad);
	}
	ASSERT_EQ(1, read(to_parent[0], &token, 1));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(PAGES(len), c.present);
	EXPECT_EQ(0, c.writable);
	EXPECT_TRUE(odp_dev_sees(self->fd, p, len, 26, &faults));
	EXPECT_EQ(0, faults);
	ASSERT_EQ(0, odp_dev_put(self->fd, p, len, 28, &faults));
	EXPECT_GT(faults, 0);
	EXPECT_TRUE(odp_check(p, p, len, 28));
	ASSERT_EQ(1, write(to_child[1], &token, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	munmap(p, len);
}

/* 10. migration between NUMA nodes: entries repaired, data intact */
static int numa_nodes(void)
{
	int n = 0;
	char path[64];

	for (;;) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
		if (access(path, F_OK))
			return n;
		n++;
	}
}

static long move_pages_raw(unsigned long count, void **pages, const int *nodes,
			   int *status)
{
	return syscall(__NR_move_pages, 0, count, pages, nodes, status, 1 << 1);
}

static void migrate_and_check(struct __test_metadata *_metadata, int fd,
			      char *p, size_t len, __u64 gen)
{
	unsigned long n = PAGES(len), i;
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(int)), *status = calloc(n, sizeof(int));
	struct odp_sim_stats before, after;
	struct odp_census c;
	__u64 pfn0 = odp_pfn(p), faults;

	ASSERT_TRUE(pages && nodes && status);
	for (i = 0; i < n; i++)
		pages[i] = p + i * SZ_4K;
	/* querying our own pages fails only without CONFIG_NUMA_MIGRATION */
	if (move_pages_raw(n, pages, NULL, status))
		SKIP(return, "move_pages(): %s", strerror(errno));
	for (i = 0; i < n; i++)
		nodes[i] = !status[0];
	ASSERT_EQ(0, odp_stats(fd, &before));
	ASSERT_EQ(0, move_pages_raw(n, pages, nodes, status));
	ASSERT_EQ(0, move_pages_raw(n, pages, NULL, status));
	for (i = 0; i < n; i++)
		ASSERT_EQ(nodes[0], status[i]);
	EXPECT_NE(pfn0, odp_pfn(p));
	ASSERT_EQ(0, odp_stats(fd, &after));
	EXPECT_GT(after.invalidations, before.invalidations);
	ASSERT_EQ(0, odp_census(fd, p, len, &c));
	EXPECT_EQ(0, c.present);
	EXPECT_TRUE(odp_dev_sees(fd, p, len, gen, &faults));
	EXPECT_GT(faults, 0);
	ASSERT_EQ(0, odp_census(fd, p, len, &c));
	EXPECT_EQ(n, c.present);
	free(pages);
	free(nodes);
	free(status);
}

TEST_F(mirror, migrate_4k_between_nodes)
{
	size_t len = 32 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);

	if (numa_nodes() < 2)
		SKIP(return, "one NUMA node");
	ASSERT_NE(NULL, p);
	odp_fill(p, len, 29);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_WRITE));
	migrate_and_check(_metadata, self->fd, p, len, 29);
	munmap(p, len);
}

TEST_F(mirror, migrate_thp_between_nodes)
{
	char *p = odp_map_thp(NULL, SZ_2M, 0);
	struct odp_census c;

	if (numa_nodes() < 2)
		SKIP(return, "one NUMA node");
	if (no_thp(p, SZ_2M))
		SKIP(return, "%s", no_thp(p, SZ_2M));
	odp_fill(p, SZ_2M, 30);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	migrate_and_check(_metadata, self->fd, p, SZ_2M, 30);
	/* the leaf follows what the CPU maps after migration */
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	if (odp_anon_huge_kb(p) == 2048)
		EXPECT_EQ(1, c.leaves[1]);
	munmap(p, SZ_2M);
}

/* Dirty entries mark their pages dirty when they leave the table. */
TEST_F(mirror, dirty_propagates_on_unmap)
{
	size_t len = 16 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	struct odp_sim_stats before, after;

	ASSERT_NE(NULL, p);
	odp_fill(p, len, 31);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_EQ(0, odp_dev_put(self->fd, p, len / 2, 32, NULL));
	ASSERT_TRUE(odp_dev_sees(self->fd, p + len / 2, len / 2, 31, NULL));
	ASSERT_EQ(0, odp_stats(self->fd, &before));
	ASSERT_EQ(0, munmap(p, len));
	ASSERT_EQ(0, odp_stats(self->fd, &after));
	EXPECT_EQ(before.dirty_propagations + PAGES(len) / 2, after.dirty_propagations);
}

/* Unregistering an MR clears its entries; the device loses access. */
TEST_F(mirror, unregister_clears)
{
	size_t len = 16 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	struct odp_census c;
	__u32 h;
	char buf[8];

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, &h));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_mr_unreg(self->fd, h));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(0, c.present);
	EXPECT_EQ(-EFAULT, odp_dev_read(self->fd, p, buf, sizeof(buf), NULL));
	EXPECT_EQ(-ENOENT, odp_mr_unreg(self->fd, h));
	munmap(p, len);
}

/* The implicit MR reaches everything outside explicit MRs, read-write. */
TEST_F(mirror, implicit_mr)
{
	size_t len = 16 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	char *ro = p + 4 * SZ_4K;
	struct odp_sim_stats st;
	struct odp_census c;
	char buf[8];

	ASSERT_NE(NULL, p);
	odp_fill(p, len, 33);
	EXPECT_EQ(-EFAULT, odp_dev_read(self->fd, p, buf, sizeof(buf), NULL));
	ASSERT_EQ(0, odp_implicit(self->fd, true));
	EXPECT_TRUE(odp_dev_sees(self->fd, p, len, 33, NULL));
	ASSERT_EQ(0, odp_dev_put(self->fd, p, len, 34, NULL));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_GE(st.implicit_chunks, 1);
	/* an explicit read-only MR inside takes its range over */
	ASSERT_EQ(0, odp_mr_reg(self->fd, ro, 2 * SZ_4K, ODP_SIM_ACCESS_READ, NULL));
	ASSERT_EQ(0, odp_census(self->fd, ro, 2 * SZ_4K, &c));
	EXPECT_EQ(0, c.present);
	EXPECT_EQ(-EACCES, odp_dev_put(self->fd, ro, SZ_4K, 35, NULL));
	EXPECT_TRUE(odp_dev_sees(self->fd, ro, 2 * SZ_4K, 34, NULL));
	ASSERT_EQ(0, odp_dev_put(self->fd, ro + 2 * SZ_4K, SZ_4K, 35, NULL));
	EXPECT_TRUE(odp_check(ro + 2 * SZ_4K, ro + 2 * SZ_4K, SZ_4K, 35));
	/* off: only the explicit MR stays reachable */
	ASSERT_EQ(0, odp_implicit(self->fd, false));
	ASSERT_EQ(0, odp_census(self->fd, p, len, &c));
	EXPECT_EQ(2, c.present);
	EXPECT_EQ(-EFAULT, odp_dev_read(self->fd, p, buf, sizeof(buf), NULL));
	EXPECT_TRUE(odp_dev_sees(self->fd, ro, 2 * SZ_4K, 34, NULL));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(0, st.implicit_chunks);
	munmap(p, len);
}

/* 11. Exit and close with MRs live and the device busy. */
struct reader {
	int fd;
	char *p;
	size_t len;
};

static void *read_forever(void *arg)
{
	struct reader *r = arg;
	char *buf = malloc(r->len);

	for (;;)
		odp_dev_read(r->fd, r->p, buf, r->len, NULL);
	return NULL;
}

TEST(exit_with_device_busy)
{
	int round;

	for (round = 0; round < 4; round++) {
		int status;
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (!pid) {
			struct reader r = { .fd = odp_open(), .len = 4 * SZ_2M };
			pthread_t t;

			r.p = odp_map_anon(NULL, r.len, MADV_HUGEPAGE);
			if (r.fd < 0 || !r.p)
				_exit(1);
			memset(r.p, round, r.len);
			if (odp_mr_rw(r.fd, r.p, r.len / 2, NULL) || odp_implicit(r.fd, true))
				_exit(2);
			if (pthread_create(&t, NULL, read_forever, &r))
				_exit(3);
			usleep(20000 * (round + 1));
			if (round & 1)
				munmap(r.p, r.len);
			_exit(0);	/* with the reader mid-ioctl */
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
}

TEST(close_with_mrs_live)
{
	size_t len = 2 * SZ_2M;
	char *p = odp_map_anon(NULL, len, MADV_HUGEPAGE);
	int fd = odp_open(), round;

	ASSERT_NE(NULL, p);
	ASSERT_GE(fd, 0);
	memset(p, 1, len);
	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, odp_mr_rw(fd, p, SZ_2M, NULL));
		ASSERT_EQ(0, odp_mr_reg(fd, p + SZ_2M, SZ_4K, ODP_SIM_ACCESS_READ, NULL));
		ASSERT_EQ(0, odp_implicit(fd, true));
		ASSERT_EQ(0, odp_prefetch(fd, p, len, ODP_SIM_PREFETCH_READ));
		ASSERT_EQ(0, odp_dev_put(fd, p, SZ_4K, 36, NULL));
		close(fd);
		fd = odp_open();
		ASSERT_GE(fd, 0);
	}
	close(fd);
	munmap(p, len);
}

TEST_HARNESS_MAIN
