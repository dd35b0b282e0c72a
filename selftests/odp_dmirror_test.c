// SPDX-License-Identifier: GPL-2.0
/*
 * test_hmm's SNAPSHOT over huge memory, through test_hmm's own UAPI, against
 * whichever module provides /dev/hmm_dmirror0: the kernel's test_hmm
 * reports the CPU's mapping size (hmm_range_fault()'s map order), and its
 * device table holds only 4K entries; odp_dmirror reports the leaf its own
 * device table holds. The guest runs this against both in one boot
 * (guest-test/hmm-guest.sh), after the kernel's hmm-tests:
 *
 *   memory                          CPU maps   test_hmm   odp_dmirror
 *   PMD-mapped THP                  2M         PMD        PMD (a 2M leaf)
 *   THP left PTE-mapped, contiguous 4K         -          PMD (a 2M leaf)
 *   hugetlb 2M                      2M         PMD        PMD (a 2M leaf)
 *   hugetlb 1G                      1G         PUD        PUD (one 1G leaf)
 *
 * Only 2M shows a difference: a 1G leaf over less than a CPU PUD mapping
 * needs 512 THPs that happen to be physically contiguous and 1G-aligned,
 * which no test can ask the allocator for; the table's 1G merges are
 * KUnit's job.
 *
 * Every case checks that it got the memory it needs (AnonHugePages, the
 * pool, pagemap contiguity) and skips with the reason otherwise.
 */
#include <dirent.h>

#include "kselftest_harness.h"
#include "odp_test_lib.h"
#include "test_hmm_uapi.h"

#define DMIRROR_PATH	"/dev/hmm_dmirror0"

FIXTURE(snap)
{
	int fd;
	bool odp;	/* odp_dmirror; else test_hmm */
};

FIXTURE_SETUP(snap)
{
	self->fd = -1;
	if (!access("/sys/module/odp_dmirror", F_OK))
		self->odp = true;
	else if (access("/sys/module/test_hmm", F_OK))
		SKIP(return, "neither odp_dmirror nor test_hmm is loaded");
	self->fd = open(DMIRROR_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", DMIRROR_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(snap)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* HMM_DMIRROR_SNAPSHOT of @npages at @p: 0 or -errno; all pages reported */
static int snapshot(int fd, const void *p, unsigned long npages, __u8 *rec)
{
	struct hmm_dmirror_cmd c = {
		.addr = (uintptr_t)p, .ptr = (uintptr_t)rec, .npages = npages,
	};

	if (ioctl(fd, HMM_DMIRROR_SNAPSHOT, &c))
		return -errno;
	return c.cpages == npages ? 0 : -ERANGE;
}

/* How many of the @npages records at @p are @want; the first other in *@other */
static unsigned long count_snap(int fd, const void *p, unsigned long npages,
				__u8 want, int *other)
{
	__u8 *rec = malloc(npages);
	unsigned long i, n = 0;
	int ret;

	*other = -1;
	if (!rec)
		return 0;
	ret = snapshot(fd, p, npages, rec);
	for (i = 0; !ret && i < npages; i++) {
		if (rec[i] == want)
			n++;
		else if (*other < 0)
			*other = rec[i];
	}
	if (ret)
		*other = ret;
	free(rec);
	return n;
}

static const char *prot_name(int prot)
{
	static char buf[64];

	if (prot < 0)
		snprintf(buf, sizeof(buf), "error %d", prot);
	else
		snprintf(buf, sizeof(buf), "%s%s%s%s%s",
			 prot & HMM_DMIRROR_PROT_WRITE ? "WRITE" :
			 prot & HMM_DMIRROR_PROT_READ ? "READ" : "NONE",
			 prot & HMM_DMIRROR_PROT_PMD ? "|PMD" : "",
			 prot & HMM_DMIRROR_PROT_PUD ? "|PUD" : "",
			 prot & HMM_DMIRROR_PROT_ZERO ? "|ZERO" : "",
			 prot == HMM_DMIRROR_PROT_ERROR ? " (ERROR)" : "");
	return buf;
}

/*
 * Leaves of odp_mirror's table of this process's mirror by size (4K, 2M,
 * 1G), from debugfs; false if it cannot be read. The fixture's fd is the
 * process's only mirror.
 */
static bool odp_debugfs_leaves(unsigned long leaves[3])
{
	const char *root = "/sys/kernel/debug/odp_mirror";
	DIR *d = opendir(root);
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char path[300], line[64];
		long pid = -1;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s/pid", root, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
		if (pid != getpid())
			continue;
		snprintf(path, sizeof(path), "%s/%s/stats", root, e->d_name);
		f = fopen(path, "r");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f)) {
			char name[32];
			unsigned long v;

			if (sscanf(line, "leaves_%31s %lu", name, &v) != 2)
				continue;
			if (!strcmp(name, "4k"))
				leaves[0] = v;
			else if (!strcmp(name, "2m"))
				leaves[1] = v;
			else if (!strcmp(name, "1g"))
				leaves[2] = v;
		}
		fclose(f);
		found = true;
	}
	closedir(d);
	return found;
}

/*
 * Untouched memory reads NONE for both (nothing mapped, nothing faulted);
 * after a CPU read, the zero page reads ZERO|READ; after a CPU write, WRITE.
 * 4K pages only: THP off for the VMA.
 */
TEST_F(snap, zero_page_and_none)
{
	char *p = odp_map_anon(NULL, 4 * SZ_4K, MADV_NOHUGEPAGE);
	__u8 rec[4];

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, snapshot(self->fd, p, 4, rec));
	EXPECT_EQ(HMM_DMIRROR_PROT_NONE, rec[0]);
	EXPECT_EQ(HMM_DMIRROR_PROT_NONE, rec[3]);
	/* a CPU read maps the zero page */
	ASSERT_EQ(0, p[SZ_4K]);
	p[2 * SZ_4K] = 1;
	ASSERT_EQ(0, snapshot(self->fd, p, 4, rec));
	EXPECT_EQ(HMM_DMIRROR_PROT_NONE, rec[0]);
	EXPECT_EQ(HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ, rec[1]);
	EXPECT_EQ(HMM_DMIRROR_PROT_WRITE, rec[2]);
	EXPECT_EQ(HMM_DMIRROR_PROT_NONE, rec[3]);
	munmap(p, 4 * SZ_4K);
}

/* A THP the CPU maps with a PMD: PMD from both. */
TEST_F(snap, thp_pmd_mapped)
{
	char *p = odp_map_thp(NULL, SZ_2M, 3);
	unsigned long n;
	int other;

	if (!p)
		SKIP(return, "no THP: AnonHugePages did not cover 2048 kB");
	n = count_snap(self->fd, p, 512, HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PMD,
		       &other);
	EXPECT_EQ(512, n) TH_LOG("first other record: %s", prot_name(other));
	munmap(p, SZ_2M);
}

/*
 * A THP left mapped by 512 PTEs of its physically contiguous folio: the
 * CPU maps 4K, so test_hmm reports WRITE alone; odp_dmirror's table holds
 * one 2M leaf and reports PMD.
 */
TEST_F(snap, thp_pte_mapped)
{
	char *p = odp_map_thp(NULL, SZ_2M, 5);
	__u8 want = HMM_DMIRROR_PROT_WRITE;
	unsigned long n, leaves[3] = { 0 };
	int other;

	if (p && !odp_thp_to_ptes(p)) {
		munmap(p, SZ_2M);
		p = NULL;
	}
	if (p) {
		/* every PTE writable: one permission over the block */
		memset(p, 6, SZ_2M);
		if (odp_anon_huge_kb(p) != 0 || !odp_phys_contiguous(p, SZ_2M)) {
			munmap(p, SZ_2M);
			p = NULL;
		}
	}
	if (!p)
		SKIP(return, "no THP left PTE-mapped and physically contiguous");
	if (self->odp)
		want |= HMM_DMIRROR_PROT_PMD;
	n = count_snap(self->fd, p, 512, want, &other);
	EXPECT_EQ(512, n) TH_LOG("want %s, first other record: %s",
				 self->odp ? "WRITE|PMD" : "WRITE", prot_name(other));
	ksft_print_msg("PTE-mapped THP: CPU maps 4K, %s reports %s\n",
		       self->odp ? "odp_dmirror" : "test_hmm", prot_name(want));
	if (self->odp && odp_debugfs_leaves(leaves))
		EXPECT_EQ(1, leaves[1]);
	munmap(p, SZ_2M);
}

/* hugetlb 2M: PMD from both; odp_dmirror's is one 2M leaf. */
TEST_F(snap, hugetlb_2m)
{
	unsigned long n, leaves[3] = { 0 };
	char *p;
	int other;

	if (odp_hugetlb_free(SZ_2M) < 1)
		SKIP(return, "no free 2M hugetlb page");
	p = odp_map_hugetlb(NULL, SZ_2M, SZ_2M);
	ASSERT_NE(NULL, p);
	memset(p, 7, SZ_2M);
	n = count_snap(self->fd, p, 512, HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PMD,
		       &other);
	EXPECT_EQ(512, n) TH_LOG("first other record: %s", prot_name(other));
	if (self->odp) {
		ASSERT_TRUE(odp_debugfs_leaves(leaves));
		EXPECT_EQ(1, leaves[1]);
		EXPECT_EQ(0, leaves[0] + leaves[2]);
	}
	/* read-only now: the device's entry is read-only, still one leaf */
	ASSERT_EQ(0, mprotect(p, SZ_2M, PROT_READ));
	n = count_snap(self->fd, p, 512, HMM_DMIRROR_PROT_READ | HMM_DMIRROR_PROT_PMD,
		       &other);
	EXPECT_EQ(512, n) TH_LOG("first other record: %s", prot_name(other));
	munmap(p, SZ_2M);
}

/*
 * hugetlb 1G: PUD from both. test_hmm's is the CPU's PUD; odp_dmirror's
 * is its table's one 1G leaf, from a snapshot of 4K in the middle. The
 * first and the last 2M of the page then read PUD too.
 */
TEST_F(snap, hugetlb_1g)
{
	unsigned long n, leaves[3] = { 0 };
	char *p;
	int other;

	if (odp_hugetlb_free(SZ_1G) < 1)
		SKIP(return, "no free 1G hugetlb page");
	p = odp_map_hugetlb(NULL, SZ_1G, SZ_1G);
	ASSERT_NE(NULL, p);
	memset(p + SZ_1G / 2, 8, SZ_4K);
	n = count_snap(self->fd, p + SZ_1G / 2, 1,
		       HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PUD, &other);
	EXPECT_EQ(1, n) TH_LOG("record: %s", prot_name(other));
	if (self->odp) {
		ASSERT_TRUE(odp_debugfs_leaves(leaves));
		EXPECT_EQ(1, leaves[2]);
		EXPECT_EQ(0, leaves[0] + leaves[1]);
	}
	n = count_snap(self->fd, p, 512, HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PUD,
		       &other);
	EXPECT_EQ(512, n) TH_LOG("first other record: %s", prot_name(other));
	n = count_snap(self->fd, p + SZ_1G - SZ_2M, 512,
		       HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PUD, &other);
	EXPECT_EQ(512, n) TH_LOG("first other record: %s", prot_name(other));
	munmap(p, SZ_1G);
}

/* Commands for device memory: test_hmm has it, odp_dmirror none. */
TEST_F(snap, device_memory_commands)
{
	char *p = odp_map_anon(NULL, SZ_4K, -1);
	char buf[SZ_4K];
	struct hmm_dmirror_cmd c = {
		.addr = (uintptr_t)p, .ptr = (uintptr_t)buf, .npages = 1,
	};

	ASSERT_NE(NULL, p);
	if (!self->odp)
		SKIP(return, "test_hmm has device memory");
	EXPECT_EQ(-1, ioctl(self->fd, HMM_DMIRROR_MIGRATE_TO_DEV, &c));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, ioctl(self->fd, HMM_DMIRROR_MIGRATE_TO_SYS, &c));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, ioctl(self->fd, HMM_DMIRROR_EXCLUSIVE, &c));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, ioctl(self->fd, HMM_DMIRROR_CHECK_EXCLUSIVE, &c));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, ioctl(self->fd, HMM_DMIRROR_RELEASE, &c));
	EXPECT_EQ(EOPNOTSUPP, errno);
	munmap(p, SZ_4K);
}

TEST_HARNESS_MAIN
