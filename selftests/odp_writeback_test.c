// SPDX-License-Identifier: GPL-2.0
/*
 * odp_writeback_test: device writes and dirty tracking on a real
 * filesystem with writeback (ext4 on a brd RAM disk, mounted by the
 * guest's init at /mnt/ext4), and the folio bound of writable leaves.
 *
 * - device_writes_reach_disk: what the device wrote through an MR over a
 *   shared file mapping is on disk after msync, unmap and a dropped page
 *   cache; a device write to a page writeback cleaned faults again, so
 *   the kernel sees the page dirty (MMU_NOTIFY_PROTECTION_PAGE
 *   write-protected the device's writable entry).
 * - writable_leaf_stays_in_its_folio: 512 order-0 folios that are
 *   physically contiguous (a THP split in place) give a 2M leaf when read
 *   and 4K leaves when written, so one device write dirties one folio.
 * - large_folio_written_whole and wrprotect_leaves_readonly_leaf_alone:
 *   with large page-cache folios (ext4 on 7.x), a 4K device write dirties
 *   exactly the folio it went to, and writeback's write-protect of 4K
 *   inside a read-only 2M leaf leaves the leaf alone (0 splits).
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "kselftest_harness.h"
#include "odp_test_lib.h"

#define MNT		"/mnt/ext4"
#define EXT4_MAGIC	0xEF53
#define PAGES(len)	((len) / SZ_4K)

/* kB of the VMA at @addr whose pages are dirty (smaps splits by mapcount) */
static long dirty_kb(const void *addr)
{
	return odp_smaps_kb(addr, "Shared_Dirty") + odp_smaps_kb(addr, "Private_Dirty");
}

static void drop_page_cache(void)
{
	sync();
	odp_put("/proc/sys/vm/drop_caches", "3");
}

/* Split the folios of [start, end) in place into order-0 folios */
static int split_anon(void *start, size_t len)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "%d,0x%lx,0x%lx", getpid(), (unsigned long)start,
		 (unsigned long)start + len);
	return odp_put("/sys/kernel/debug/split_huge_pages", cmd);
}

static int split_file(const char *path, size_t first_page, size_t npages)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "%s,0x%zx,0x%zx", path, first_page,
		 first_page + npages);
	return odp_put("/sys/kernel/debug/split_huge_pages", cmd);
}

static bool on_ext4(void)
{
	struct statfs st;

	return !statfs(MNT, &st) && st.f_type == EXT4_MAGIC;
}

/* A file of @len bytes of generation @gen on the ext4, written back */
static int make_file(const char *path, size_t len, __u64 gen)
{
	char *buf = malloc(len);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || !buf || ftruncate(fd, len)) {
		free(buf);
		return -1;
	}
	/* the pattern of the file's offsets, from address 0 */
	odp_pattern(buf, NULL, len, gen);
	if (pwrite(fd, buf, len, 0) != (ssize_t)len || fsync(fd)) {
		close(fd);
		fd = -1;
	}
	free(buf);
	return fd;
}

/* Does the file at offset @off hold generation @gen for @len bytes? */
static bool file_is(int fd, size_t off, size_t len, __u64 gen)
{
	char *buf = malloc(len);
	bool ok;

	ok = buf && pread(fd, buf, len, off) == (ssize_t)len &&
	     odp_check(buf, (void *)off, len, gen);
	free(buf);
	return ok;
}

/* Device write of generation @gen (of the file's offsets) to one page */
static int dev_put_file_page(int fd, char *map, size_t page, __u64 gen,
			     __u64 *faults)
{
	char buf[SZ_4K];

	odp_pattern(buf, (void *)(page * SZ_4K), SZ_4K, gen);
	return odp_dev_write(fd, map + page * SZ_4K, buf, SZ_4K, faults);
}

FIXTURE(wb)
{
	int fd;
};

FIXTURE_SETUP(wb)
{
	self->fd = odp_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(wb)
{
	close(self->fd);
}

TEST_F(wb, device_writes_reach_disk)
{
	static const size_t written[] = { 0, 511, 512, 1023 };
	const char *path = MNT "/reach";
	size_t len = 2 * SZ_2M, i, resident = 0;
	unsigned char vec[PAGES(2 * SZ_2M)];
	__u64 faults;
	char *p;
	int f;

	if (!on_ext4())
		SKIP(return, "no ext4 at " MNT);
	f = make_file(path, len, 1);
	ASSERT_LE(0, f);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	for (i = 0; i < ARRAY_SIZE(written); i++)
		ASSERT_EQ(0, dev_put_file_page(self->fd, p, written[i], 2, NULL));
	EXPECT_LE(16, dirty_kb(p));
	/* writeback cleans the pages and write-protects the device's entries */
	ASSERT_EQ(0, msync(p, len, MS_SYNC));
	EXPECT_EQ(0, dirty_kb(p));
	ASSERT_EQ(0, dev_put_file_page(self->fd, p, 511, 3, &faults));
	EXPECT_EQ(1, faults);
	EXPECT_LT(0, dirty_kb(p));
	ASSERT_EQ(0, msync(p, len, MS_SYNC));
	ASSERT_EQ(0, munmap(p, len));
	close(f);

	/* from the disk: the page cache is gone */
	drop_page_cache();
	f = open(path, O_RDWR);
	ASSERT_LE(0, f);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, f, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mincore(p, len, vec));
	for (i = 0; i < PAGES(len); i++)
		resident += vec[i] & 1;
	munmap(p, len);
	EXPECT_EQ(0, resident);
	for (i = 0; i < PAGES(len); i++) {
		__u64 gen = 1;
		size_t k;

		for (k = 0; k < ARRAY_SIZE(written); k++)
			if (written[k] == i)
				gen = 2;
		if (i == 511)
			gen = 3;
		EXPECT_TRUE(file_is(f, i * SZ_4K, SZ_4K, gen))
			TH_LOG("page %zu of the file is not generation %llu", i,
			       (unsigned long long)gen);
	}
	close(f);
	unlink(path);
}

TEST_F(wb, writable_leaf_stays_in_its_folio)
{
	struct odp_sim_stats st;
	struct odp_census c;
	__u32 h;
	char *p;

	p = odp_map_thp(NULL, SZ_2M, 1);
	if (!p)
		SKIP(return, "no THP");
	if (split_anon(p, SZ_2M) || odp_anon_huge_kb(p) != 0 ||
	    !odp_phys_contiguous(p, SZ_2M)) {
		munmap(p, SZ_2M);
		SKIP(return, "the THP did not split into contiguous 4K folios in place");
	}
	odp_fill(p, SZ_2M, 1);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, &h));
	/* read-only, one leaf may span the 512 folios */
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_READ));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(1, c.leaves[1]);
	/* writable, each leaf stays in its folio */
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(0, c.leaves[1]);
	EXPECT_EQ(512, c.leaves[0]);
	EXPECT_EQ(512, c.writable);
	/* so one device write dirties one folio */
	ASSERT_EQ(0, odp_dev_put(self->fd, p + 7 * SZ_4K, SZ_4K, 2, NULL));
	ASSERT_EQ(0, odp_mr_unreg(self->fd, h));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(1, st.dirty_propagations);
	EXPECT_TRUE(odp_check(p + 7 * SZ_4K, p + 7 * SZ_4K, SZ_4K, 2));
	munmap(p, SZ_2M);
}

/* 2M of a file on the ext4 in one 2M folio, mapped at a 2M-aligned address */
static char *map_file_large(int f, size_t len)
{
	char *p = odp_reserve_va(len, SZ_2M);

	if (!p || mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f, 0) != p)
		return NULL;
	madvise(p, len, MADV_HUGEPAGE);
	odp_touch(p);
	if (odp_smaps_kb(p, "FilePmdMapped") < 2048 || !odp_phys_contiguous(p, SZ_2M)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

TEST_F(wb, large_folio_written_whole)
{
	const char *path = MNT "/large";
	size_t len = 2 * SZ_2M;
	struct odp_census c;
	__u64 faults;
	char *p;
	int f;

	if (!on_ext4())
		SKIP(return, "no ext4 at " MNT);
	f = make_file(path, len, 1);
	ASSERT_LE(0, f);
	drop_page_cache();
	p = map_file_large(f, len);
	if (!p) {
		close(f);
		unlink(path);
		SKIP(return, "ext4 gave no PMD-mapped 2M page-cache folio");
	}
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_READ));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(1, c.leaves[1]);
	EXPECT_EQ(0, dirty_kb(p));
	ASSERT_EQ(0, dev_put_file_page(self->fd, p, 9, 2, &faults));
	EXPECT_EQ(1, faults);
	/* the folio the device wrote, and nothing else */
	EXPECT_EQ(2048, dirty_kb(p));
	ASSERT_EQ(0, msync(p, len, MS_SYNC));
	munmap(p, len);
	close(f);
	unlink(path);
}

TEST_F(wb, wrprotect_leaves_readonly_leaf_alone)
{
	const char *path = MNT "/wrprotect";
	size_t len = 2 * SZ_2M;
	struct odp_sim_stats before, after;
	struct odp_census c;
	__u64 faults;
	size_t i;
	char *p;
	int f;

	if (!on_ext4())
		SKIP(return, "no ext4 at " MNT);
	f = make_file(path, len, 1);
	ASSERT_LE(0, f);
	drop_page_cache();
	p = map_file_large(f, len);
	if (!p) {
		close(f);
		unlink(path);
		SKIP(return, "ext4 gave no PMD-mapped 2M page-cache folio");
	}
	/* 512 order-0 page-cache folios, physically contiguous */
	ASSERT_EQ(0, split_file(path, 0, PAGES(SZ_2M)));
	for (i = 0; i < PAGES(SZ_2M); i++)
		odp_touch(p + i * SZ_4K);
	ASSERT_EQ(0, odp_smaps_kb(p, "FilePmdMapped"));
	ASSERT_TRUE(odp_phys_contiguous(p, SZ_2M));
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_READ));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	ASSERT_EQ(1, c.leaves[1]);
	ASSERT_EQ(0, c.writable);
	ASSERT_EQ(0, odp_stats(self->fd, &before));
	/* the CPU dirties one page; writeback write-protects just that page */
	p[20 * SZ_4K] ^= 1;
	ASSERT_EQ(0, msync(p, len, MS_SYNC));
	ASSERT_EQ(0, odp_stats(self->fd, &after));
	EXPECT_LT(before.invalidations, after.invalidations);
	EXPECT_EQ(before.splits, after.splits);
	EXPECT_EQ(before.fallbacks, after.fallbacks);
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(1, c.leaves[1]);
	/* a device write now dirties one folio of the 512 */
	ASSERT_EQ(0, dev_put_file_page(self->fd, p, 30, 2, &faults));
	EXPECT_EQ(1, faults);
	EXPECT_EQ(4, dirty_kb(p));
	ASSERT_EQ(0, msync(p, len, MS_SYNC));
	munmap(p, len);
	close(f);
	unlink(path);
}

TEST_HARNESS_MAIN
