// SPDX-License-Identifier: GPL-2.0
/*
 * What a careless or hostile process cannot make the mirror do:
 *  - reach memory after munmap, even once the pages are reused;
 *  - use a mirror's fd from another address space, passed by SCM_RIGHTS;
 *  - make the module allocate without bound: MRs are capped, table pages
 *    per leaf are bounded, holes in the implicit MR cost nothing.
 *
 * Elsewhere: the device never writes through a read-only CPU mapping
 * (odp_mirror_test's read_only_mapping), a read-only MR (read_only_mr) or
 * a page COW-shared with another process (fork_cow_follows_parent); an fd
 * inherited over fork gets EPERM (odp_sim_test's other_mm_gets_eperm).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "odp_test_lib.h"

#define PAGES(len)	((len) / SZ_4K)

FIXTURE(sec)
{
	int fd;
};

FIXTURE_SETUP(sec)
{
	self->fd = odp_open();
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", ODP_SIM_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(sec)
{
	close(self->fd);
}

/*
 * Map [p, p + len) on the device, take its pages away from p, give them
 * to new memory of another generation and map the address anew: the
 * device must hold no entry in between, fail to reach the hole, and then
 * see only the new memory; a device write through p must land in p.
 *
 * The pages leave p by mremap() to @r, so that their new owner is known
 * and certain: pagemap shows that @r holds the very pages the device had
 * mapped. (Leaving it to munmap() and the page allocator to hand the
 * freed pages to new memory made the test depend on which zone and free
 * list they landed in: on one kernel they were not reused at all.) A
 * stale entry would read @r's generation 2 and write into it. munmap()
 * is then checked on its own, on entries the device faulted in through
 * the new mapping.
 */
static void unmap_and_reuse(struct __test_metadata *_metadata, int fd,
			    char *p, size_t len, int madv)
{
	size_t n = PAGES(len), i, same = 0;
	__u64 *old = calloc(n, sizeof(*old)), *now = calloc(n, sizeof(*now));
	char *buf = malloc(len), *r;
	struct odp_census c;
	__u64 faults;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, old);
	ASSERT_NE(NULL, now);
	/* populated now (not zeros: malloc + memset 0 may become calloc) */
	memset(buf, 0x5a, len);
	r = odp_reserve_va(len, SZ_2M);
	ASSERT_NE(NULL, r);
	odp_fill(p, len, 1);
	ASSERT_EQ(0, odp_mr_rw(fd, p, len, NULL));
	ASSERT_EQ(0, odp_prefetch(fd, p, len, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(fd, p, len, &c));
	ASSERT_EQ(PAGES(len), c.present);
	ASSERT_EQ(0, odp_pfns(p, n, old));

	/* the pages go to r, outside the MR: p is a hole */
	ASSERT_EQ(r, mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, r));
	ASSERT_EQ(0, odp_census(fd, p, len, &c));
	EXPECT_EQ(0, c.present);
	EXPECT_EQ(-EFAULT, odp_dev_read(fd, p, buf, len, NULL));
	EXPECT_EQ(-EFAULT, odp_dev_write(fd, p, buf, SZ_4K, NULL));
	ASSERT_EQ(0, odp_census(fd, p, len, &c));
	EXPECT_EQ(0, c.present);

	/* their new owner writes generation 2; p gets new memory, 3 */
	odp_fill(r, len, 2);
	ASSERT_EQ(0, odp_pfns(r, n, now));
	for (i = 0; i < n; i++)
		same += old[i] && old[i] == now[i];
	ASSERT_EQ(n, same) TH_LOG("mremap moved %zu of %zu pages", same, n);
	ASSERT_EQ(p, odp_map_anon(p, len, madv));
	odp_fill(p, len, 3);
	ASSERT_EQ(0, odp_census(fd, p, len, &c));
	EXPECT_EQ(0, c.present);
	EXPECT_TRUE(odp_dev_sees(fd, p, len, 3, &faults));
	EXPECT_GT(faults, 0);
	/* a device write through p lands in p, not in the pages' new owner */
	ASSERT_EQ(0, odp_dev_put(fd, p, len, 4, NULL));
	EXPECT_TRUE(odp_check(p, p, len, 4));
	EXPECT_TRUE(odp_check(r, r, len, 2));

	/* and munmap() drops what the device faulted in through p */
	ASSERT_EQ(0, odp_census(fd, p, len, &c));
	EXPECT_EQ(PAGES(len), c.present);
	ASSERT_EQ(0, munmap(p, len));
	ASSERT_EQ(0, odp_census(fd, p, len, &c));
	EXPECT_EQ(0, c.present);
	EXPECT_EQ(-EFAULT, odp_dev_read(fd, p, buf, len, NULL));
	munmap(r, len);
	free(buf);
	free(now);
	free(old);
}

TEST_F(sec, munmap_then_reuse_4k)
{
	size_t len = 64 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);

	ASSERT_NE(NULL, p);
	unmap_and_reuse(_metadata, self->fd, p, len, MADV_NOHUGEPAGE);
}

TEST_F(sec, munmap_then_reuse_thp)
{
	size_t len = 4 * SZ_2M;
	char *p = odp_map_thp(NULL, len, 0);

	if (!p)
		SKIP(return, "no THP: AnonHugePages did not cover %zu kB", len >> 10);
	unmap_and_reuse(_metadata, self->fd, p, len, MADV_HUGEPAGE);
}

/* SCM_RIGHTS: send or receive one fd and one address */
static int send_fd(int sock, int fd, uintptr_t addr)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &addr, .iov_len = sizeof(addr) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == sizeof(addr) ? 0 : -1;
}

static int recv_fd(int sock, uintptr_t *addr)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = addr, .iov_len = sizeof(*addr) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != sizeof(*addr))
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * A child opens a mirror of its own memory and passes the fd to the
 * parent: from the parent's mm every call gets EPERM, and the child's
 * memory stays as the child wrote it.
 */
TEST(scm_rights_fd_gets_eperm)
{
	size_t len = 16 * SZ_4K;
	int sv[2], fd, status;
	struct odp_sim_stats st;
	char *mine, buf[SZ_4K];
	__u8 recs[16];
	uintptr_t theirs;
	char token = 0;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
		int cfd = odp_open();

		if (!p || cfd < 0)
			_exit(10);
		odp_fill(p, len, 5);
		if (odp_mr_rw(cfd, p, len, NULL) ||
		    odp_prefetch(cfd, p, len, ODP_SIM_PREFETCH_WRITE))
			_exit(11);
		if (send_fd(sv[1], cfd, (uintptr_t)p) || read(sv[1], &token, 1) != 1)
			_exit(12);
		/* the parent tried to write through our mirror */
		_exit(odp_check(p, p, len, 5) ? 0 : 13);
	}
	fd = recv_fd(sv[0], &theirs);
	ASSERT_GE(fd, 0);
	mine = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	ASSERT_NE(NULL, mine);
	odp_pattern(buf, (void *)theirs, sizeof(buf), 6);

	EXPECT_EQ(-EPERM, odp_dev_write(fd, (void *)theirs, buf, sizeof(buf), NULL));
	EXPECT_EQ(-EPERM, odp_dev_read(fd, (void *)theirs, buf, sizeof(buf), NULL));
	EXPECT_EQ(-EPERM, odp_dev_read(fd, mine, buf, sizeof(buf), NULL));
	EXPECT_EQ(-EPERM, odp_mr_rw(fd, mine, len, NULL));
	EXPECT_EQ(-EPERM, odp_prefetch(fd, mine, len, ODP_SIM_PREFETCH_WRITE));
	EXPECT_EQ(-EPERM, odp_implicit(fd, true));
	EXPECT_EQ(-EPERM, odp_snapshot(fd, (void *)theirs, 16, recs));
	EXPECT_EQ(-EPERM, odp_stats(fd, &st));
	EXPECT_EQ(-EPERM, odp_mr_unreg(fd, 1));

	ASSERT_EQ(1, write(sv[0], &token, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* the owner is gone: still EPERM, and the last close cleans up */
	EXPECT_EQ(-EPERM, odp_stats(fd, &st));
	close(fd);
	close(sv[0]);
	close(sv[1]);
	munmap(mine, len);
}

/* One fd holds at most 4096 MRs; past that, ENOSPC until one goes */
TEST_F(sec, mr_count_is_capped)
{
	const unsigned int cap = 4096;
	size_t len = (cap + 1) * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE);
	struct odp_sim_stats st;
	__u32 first = 0, h;
	unsigned int i;

	ASSERT_NE(NULL, p);
	for (i = 0; i < cap; i++) {
		ASSERT_EQ(0, odp_mr_rw(self->fd, p + i * SZ_4K, SZ_4K, &h)) TH_LOG("MR %u", i);
		if (!i)
			first = h;
	}
	EXPECT_EQ(-ENOSPC, odp_mr_rw(self->fd, p + cap * SZ_4K, SZ_4K, NULL));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(cap, st.mrs);
	ASSERT_EQ(0, odp_mr_unreg(self->fd, first));
	EXPECT_EQ(0, odp_mr_rw(self->fd, p + cap * SZ_4K, SZ_4K, NULL));
	munmap(p, len);
}

/*
 * Table pages are bounded by the leaves: a 4K leaf per 2M costs one
 * lowest-level table each (the worst case), dense 4K leaves one table per
 * 512, plus the levels above.
 */
/* Distinct 1 << @shift blocks that [a, a + alen) and [b, b + blen) touch */
static size_t spans(const char *a, size_t alen, const char *b, size_t blen,
		    unsigned int shift)
{
	uintptr_t a0 = (uintptr_t)a >> shift, a1 = ((uintptr_t)a + alen - 1) >> shift;
	uintptr_t b0 = (uintptr_t)b >> shift, b1 = ((uintptr_t)b + blen - 1) >> shift;
	size_t n = (a1 - a0 + 1) + (b1 - b0 + 1);

	/* overlap of the two block ranges, counted once */
	if (b0 <= a1 && a0 <= b1)
		n -= (a1 < b1 ? a1 : b1) - (a0 > b0 ? a0 : b0) + 1;
	return n;
}

TEST_F(sec, table_pages_follow_leaves)
{
	const size_t n = 32, dense = 16 << 20;
	char *v = odp_reserve_va(n * SZ_2M, SZ_2M), *d;
	struct odp_sim_stats st;
	size_t i;

	ASSERT_NE(NULL, v);
	for (i = 0; i < n; i++) {
		ASSERT_NE(NULL, odp_map_anon(v + i * SZ_2M, SZ_4K, MADV_NOHUGEPAGE));
		v[i * SZ_2M] = 1;
	}
	ASSERT_EQ(0, odp_mr_rw(self->fd, v, n * SZ_2M, NULL));
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, odp_prefetch(self->fd, v + i * SZ_2M, SZ_4K,
					  ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(n, st.leaves[0]);
	/* one per leaf, one or two above them (64M may cross 1G), the root */
	EXPECT_GE(st.tables, n + 3);
	EXPECT_LE(st.tables, n + 5);

	d = odp_map_anon(odp_reserve_va(dense, SZ_2M), dense, MADV_NOHUGEPAGE);
	ASSERT_NE(NULL, d);
	memset(d, 1, dense);
	ASSERT_EQ(0, odp_mr_rw(self->fd, d, dense, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, d, dense, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_LE(st.tables, n + 5 + PAGES(dense) / 512 + 2);
	for (i = 0; i < n; i++)
		munmap(v + i * SZ_2M, SZ_4K);
	munmap(d, dense);
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(0, st.leaves[0] + st.leaves[1] + st.leaves[2]);
	/*
	 * the level-0 tables are gone; the upper ones stay for the next
	 * registration: one per 1 GiB and one per 512 GiB that held a leaf,
	 * and the root
	 */
	EXPECT_EQ(1 + spans(v, n * SZ_2M, d, dense, 39) + spans(v, n * SZ_2M, d, dense, 30),
		  st.tables);
}

/* 1 GiB chunks of the address space that hold part of a VMA */
static unsigned long vma_chunks(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi, c, last = -1UL, n = 0;
	char line[256];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) != 2 || hi > (1UL << 47))
			continue;
		for (c = lo / SZ_1G; c <= (hi - 1) / SZ_1G; c++)
			if (c != last) {
				n++;
				last = c;
			}
	}
	fclose(f);
	return n;
}

/*
 * The implicit MR creates a notifier chunk only where a VMA is: a prefetch
 * over the whole address space is cheap and creates no more chunks than
 * the VMAs touch; faulting it fails at the first hole.
 */
TEST_F(sec, implicit_holes_cost_nothing)
{
	size_t whole = (1UL << 47) - 2 * SZ_4K;
	struct odp_sim_stats st;
	unsigned long chunks;

	ASSERT_EQ(0, odp_implicit(self->fd, true));
	chunks = vma_chunks();
	ASSERT_GT(chunks, 0);
	EXPECT_EQ(0, odp_prefetch(self->fd, (void *)SZ_4K, whole, ODP_SIM_PREFETCH_NO_FAULT));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_GT(st.implicit_chunks, 0);
	EXPECT_LE(st.implicit_chunks, chunks);
	EXPECT_EQ(-EFAULT, odp_prefetch(self->fd, (void *)SZ_4K, whole, ODP_SIM_PREFETCH_READ));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_LE(st.implicit_chunks, chunks);
	EXPECT_EQ(0, odp_implicit(self->fd, false));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(0, st.implicit_chunks);
}

TEST_HARNESS_MAIN
