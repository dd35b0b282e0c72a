// SPDX-License-Identifier: GPL-2.0
/*
 * The simulated device's UAPI: every ioctl's errors for bad input, and
 * that an fd serves only the address space that opened it. The same cases
 * run against any device of that UAPI: ODP_DEVICE=/dev/odp_edu odp_sim_test.
 */
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "odp_test_lib.h"

FIXTURE(sim)
{
	int fd;
	char *p;	/* 16 pages of read-write memory */
	size_t len;
};

FIXTURE_SETUP(sim)
{
	self->fd = odp_open();
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", odp_device_path(), strerror(errno));
	self->len = 16 * SZ_4K;
	self->p = odp_map_anon(NULL, self->len, MADV_NOHUGEPAGE);
	ASSERT_NE(NULL, self->p);
	memset(self->p, 1, self->len);
}

FIXTURE_TEARDOWN(sim)
{
	munmap(self->p, self->len);
	close(self->fd);
}

TEST(device_node_is_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat(odp_device_path(), &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(sim, version)
{
	struct odp_sim_version v = { .size = sizeof(v) };

	ASSERT_EQ(0, odp_ioctl(self->fd, ODP_SIM_IOC_VERSION, &v));
	EXPECT_EQ(ODP_SIM_ABI_VERSION, v.abi_version);
	EXPECT_EQ(SZ_4K | SZ_2M | SZ_1G, v.pgsize_bitmap);
}

TEST_F(sim, wrong_struct_size)
{
	struct odp_sim_version v = { .size = sizeof(v) - 1 };
	struct odp_sim_mr mr = { .size = 8, .access = ODP_SIM_ACCESS_READ,
				 .start = (uintptr_t)self->p, .length = SZ_4K };

	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_SIM_IOC_VERSION, &v));
	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_SIM_IOC_MR_REG, &mr));
	EXPECT_EQ(-EFAULT, odp_ioctl(self->fd, ODP_SIM_IOC_VERSION, NULL));
}

TEST_F(sim, unknown_ioctl)
{
	EXPECT_EQ(-ENOTTY, odp_ioctl(self->fd, _IO(ODP_SIM_IOC_MAGIC, 0xff), NULL));
	EXPECT_EQ(-ENOTTY, odp_ioctl(self->fd, _IOW('x', 0x02, struct odp_sim_mr), NULL));
}

TEST_F(sim, mr_bad_ranges)
{
	char *p = self->p;

	EXPECT_EQ(-EINVAL, odp_mr_rw(self->fd, p, 0, NULL));
	EXPECT_EQ(-EINVAL, odp_mr_rw(self->fd, p + 1, SZ_4K, NULL));
	EXPECT_EQ(-EINVAL, odp_mr_rw(self->fd, p, SZ_4K + 1, NULL));
	EXPECT_EQ(-EINVAL, odp_mr_rw(self->fd, (void *)-SZ_4K, 2 * SZ_4K, NULL));
	EXPECT_EQ(-EINVAL, odp_mr_rw(self->fd, (void *)(1UL << 62), SZ_4K, NULL));
	EXPECT_EQ(-EINVAL, odp_mr_reg(self->fd, p, SZ_4K, 0, NULL));
	EXPECT_EQ(-EINVAL, odp_mr_reg(self->fd, p, SZ_4K, ODP_SIM_ACCESS_WRITE, NULL));
	EXPECT_EQ(-EINVAL, odp_mr_reg(self->fd, p, SZ_4K, 1 << 5, NULL));
}

TEST_F(sim, mr_reserved_member)
{
	struct odp_sim_mr a = {
		.size = sizeof(a), .access = ODP_SIM_ACCESS_READ,
		.start = (uintptr_t)self->p, .length = SZ_4K, .reserved = 1,
	};

	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_SIM_IOC_MR_REG, &a));
}

TEST_F(sim, mr_unreg_reserved_member)
{
	struct odp_sim_mr a = { .size = sizeof(a), .reserved = 1 };
	__u32 h;

	ASSERT_EQ(0, odp_mr_reg(self->fd, self->p, SZ_4K, ODP_SIM_ACCESS_READ, &h));
	a.handle = h;
	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_SIM_IOC_MR_UNREG, &a));
	EXPECT_EQ(0, odp_mr_unreg(self->fd, h));
}

/*
 * The driver's pointer of each MR reaches its callbacks: this UAPI gives
 * each MR its handle as odp_mr_priv(), and the device's invalidate
 * callback records the last one it was told of (STATS dev_zap_mr); the
 * implicit MR's chunks have none.
 */
TEST_F(sim, mr_priv_reaches_the_driver)
{
	struct odp_sim_stats st;
	__u32 h[2];
	int i;

	ASSERT_EQ(0, odp_mr_rw(self->fd, self->p, 4 * SZ_4K, &h[0]));
	ASSERT_EQ(0, odp_mr_rw(self->fd, self->p + 8 * SZ_4K, 4 * SZ_4K, &h[1]));
	ASSERT_NE(h[0], h[1]);
	ASSERT_EQ(0, odp_implicit(self->fd, true));
	ASSERT_EQ(0, odp_prefetch(self->fd, self->p, self->len, ODP_SIM_PREFETCH_WRITE));
	for (i = 1; i >= 0; i--) {
		ASSERT_EQ(0, madvise(self->p + 8 * SZ_4K * i + SZ_4K, SZ_4K, MADV_DONTNEED));
		ASSERT_EQ(0, odp_stats(self->fd, &st));
		EXPECT_EQ(h[i], st.dev_zap_mr) TH_LOG("MR %d", i);
	}
	/* page 5 lies between the MRs: the implicit MR's */
	ASSERT_EQ(0, madvise(self->p + 5 * SZ_4K, SZ_4K, MADV_DONTNEED));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(0, st.dev_zap_mr);
	EXPECT_EQ(0, odp_mr_unreg(self->fd, h[0]));
	EXPECT_EQ(0, odp_mr_unreg(self->fd, h[1]));
}

struct reg_call {
	int fd;
	struct odp_sim_mr *arg;
	int ret;
};

static void *reg_thread(void *arg)
{
	struct reg_call *c = arg;

	c->ret = odp_ioctl(c->fd, ODP_SIM_IOC_MR_REG, c->arg);
	return NULL;
}

/*
 * MR_REG reserves its handle before it writes the reply, and publishes it
 * only once the reply is written: here the reply's page is
 * write-protected with userfaultfd, and while MR_REG waits on it another
 * thread tries to unregister the (predictable) handle, and finds nothing;
 * then the page goes away, and MR_REG unregisters its MR itself. When the
 * handle was public before the reply, that thread's MR_UNREG and MR_REG's
 * cleanup unregistered one MR twice: a use-after-free.
 */
TEST_F(sim, mr_reg_reply_fails_after_unreg)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	struct uffdio_range wake;
	struct pollfd pfd;
	struct uffd_msg msg;
	struct reg_call call = { .fd = self->fd };
	struct odp_sim_stats st;
	pthread_t t;
	char *page;
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	if (ioctl(uffd, UFFDIO_API, &api) ||
	    !(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		close(uffd);
		SKIP(return, "userfaultfd has no write-protect here");
	}
	page = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	call.arg = (struct odp_sim_mr *)page;
	*call.arg = (struct odp_sim_mr){
		.size = sizeof(*call.arg), .access = ODP_SIM_ACCESS_READ,
		.start = (uintptr_t)self->p, .length = SZ_4K,
	};
	reg.range.start = (uintptr_t)page;
	reg.range.len = SZ_4K;
	wp.range = reg.range;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));

	ASSERT_EQ(0, pthread_create(&t, NULL, reg_thread, &call));
	pfd = (struct pollfd){ .fd = uffd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, -1));
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_TRUE(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
	/* MR_REG waits in its reply: its handle, the first of the fd, is 1 */
	EXPECT_EQ(-ENOENT, odp_mr_unreg(self->fd, 1));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(1, st.mrs);
	ASSERT_EQ(0, munmap(page, SZ_4K));
	wake.start = (uintptr_t)page;
	wake.len = SZ_4K;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WAKE, &wake));
	pthread_join(t, NULL);
	EXPECT_EQ(-EFAULT, call.ret);
	EXPECT_EQ(-ENOENT, odp_mr_unreg(self->fd, 1));
	ASSERT_EQ(0, odp_stats(self->fd, &st));
	EXPECT_EQ(0, st.mrs);
	close(uffd);
	/* the fixture closes the fd: it must find nothing twice freed */
}

TEST_F(sim, mr_overlap)
{
	char *p = self->p;

	ASSERT_EQ(0, odp_mr_rw(self->fd, p + 4 * SZ_4K, 4 * SZ_4K, NULL));
	EXPECT_EQ(-EEXIST, odp_mr_rw(self->fd, p + 4 * SZ_4K, SZ_4K, NULL));
	EXPECT_EQ(-EEXIST, odp_mr_rw(self->fd, p, 5 * SZ_4K, NULL));
	EXPECT_EQ(-EEXIST, odp_mr_rw(self->fd, p + 7 * SZ_4K, 2 * SZ_4K, NULL));
	EXPECT_EQ(0, odp_mr_rw(self->fd, p, 4 * SZ_4K, NULL));
	EXPECT_EQ(0, odp_mr_rw(self->fd, p + 8 * SZ_4K, SZ_4K, NULL));
}

/* MRs may cover unmapped addresses: only a fault there fails. */
TEST_F(sim, fault_where_nothing_is_mapped)
{
	char *hole = self->p + 3 * SZ_4K;
	char buf[16];

	ASSERT_EQ(0, munmap(hole, SZ_4K));
	ASSERT_EQ(0, odp_mr_rw(self->fd, self->p, self->len, NULL));
	EXPECT_EQ(-EFAULT, odp_prefetch(self->fd, hole, SZ_4K, ODP_SIM_PREFETCH_READ));
	EXPECT_EQ(-EFAULT, odp_dev_read(self->fd, hole, buf, sizeof(buf), NULL));
	/* an access running into the hole stops there */
	EXPECT_EQ(-EFAULT, odp_dev_read(self->fd, hole - 8, buf, sizeof(buf), NULL));
	EXPECT_EQ(0, odp_dev_read(self->fd, hole - 16, buf, sizeof(buf), NULL));
	/* NO_FAULT maps what is there and skips the rest */
	EXPECT_EQ(0, odp_prefetch(self->fd, self->p, self->len, ODP_SIM_PREFETCH_NO_FAULT));
}

TEST_F(sim, fault_outside_any_mr)
{
	char buf[16];

	ASSERT_EQ(0, odp_mr_rw(self->fd, self->p, SZ_4K, NULL));
	EXPECT_EQ(-EFAULT, odp_dev_read(self->fd, self->p + SZ_4K, buf, sizeof(buf), NULL));
	EXPECT_EQ(-EFAULT, odp_prefetch(self->fd, self->p, 2 * SZ_4K, ODP_SIM_PREFETCH_READ));
}

TEST_F(sim, prot_none)
{
	char buf[16];

	ASSERT_EQ(0, mprotect(self->p, SZ_4K, PROT_NONE));
	ASSERT_EQ(0, odp_mr_rw(self->fd, self->p, self->len, NULL));
	EXPECT_EQ(-EFAULT, odp_dev_read(self->fd, self->p, buf, sizeof(buf), NULL));
	EXPECT_EQ(-EFAULT, odp_prefetch(self->fd, self->p, SZ_4K, ODP_SIM_PREFETCH_READ));
	EXPECT_EQ(0, odp_dev_read(self->fd, self->p + SZ_4K, buf, sizeof(buf), NULL));
}

TEST_F(sim, bad_prefetch)
{
	ASSERT_EQ(0, odp_mr_rw(self->fd, self->p, self->len, NULL));
	EXPECT_EQ(-EINVAL, odp_prefetch(self->fd, self->p, SZ_4K, 3));
	EXPECT_EQ(-EINVAL, odp_prefetch(self->fd, self->p, 0, ODP_SIM_PREFETCH_READ));
	EXPECT_EQ(-EINVAL, odp_prefetch(self->fd, (void *)-SZ_4K, 2 * SZ_4K,
					ODP_SIM_PREFETCH_READ));
}

TEST_F(sim, bad_rw)
{
	struct odp_sim_rw a = {
		.size = sizeof(a), .addr = (uintptr_t)self->p, .length = 8,
	};
	char buf[8];

	ASSERT_EQ(0, odp_mr_rw(self->fd, self->p, self->len, NULL));
	a.ptr = (uintptr_t)buf;
	a.flags = 1;
	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_SIM_IOC_READ, &a));
	a.flags = 0;
	a.length = 0;
	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_SIM_IOC_READ, &a));
	a.length = 8;
	a.ptr = 0;
	EXPECT_EQ(-EFAULT, odp_ioctl(self->fd, ODP_SIM_IOC_READ, &a));
	a.ptr = (uintptr_t)-4096;
	EXPECT_EQ(-EFAULT, odp_ioctl(self->fd, ODP_SIM_IOC_WRITE, &a));
	a.ptr = (uintptr_t)buf;
	a.addr = (__u64)-4;
	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_SIM_IOC_READ, &a));
	/* the memory is untouched by the failed write */
	EXPECT_EQ(1, self->p[0]);
}

TEST_F(sim, bad_snapshot)
{
	__u8 rec;

	EXPECT_EQ(-EINVAL, odp_snapshot(self->fd, self->p, 0, &rec));
	EXPECT_EQ(-EINVAL, odp_snapshot(self->fd, self->p + 1, 1, &rec));
	EXPECT_EQ(-EINVAL, odp_snapshot(self->fd, self->p, ODP_SIM_SNAP_MAX_PAGES + 1, &rec));
	EXPECT_EQ(-EFAULT, odp_snapshot(self->fd, self->p, 1, NULL));
	EXPECT_EQ(0, odp_snapshot(self->fd, self->p, 1, &rec));
	EXPECT_EQ(0, rec);
}

TEST_F(sim, handles_are_per_fd)
{
	int other = odp_open();
	__u32 h;

	ASSERT_GE(other, 0);
	ASSERT_EQ(0, odp_mr_rw(other, self->p, SZ_4K, &h));
	EXPECT_EQ(-ENOENT, odp_mr_unreg(self->fd, h));
	EXPECT_EQ(-ENOENT, odp_mr_unreg(self->fd, 0));
	EXPECT_EQ(-ENOENT, odp_mr_unreg(self->fd, 12345));
	/* each fd is its own device: the same range registers again */
	EXPECT_EQ(0, odp_mr_rw(self->fd, self->p, SZ_4K, NULL));
	EXPECT_EQ(0, odp_mr_unreg(other, h));
	close(other);
}

TEST_F(sim, bad_config)
{
	EXPECT_EQ(-EINVAL, odp_config(self->fd, SZ_2M, 4));
	EXPECT_EQ(-EINVAL, odp_config(self->fd, SZ_4K | (1UL << 16), 4));
	EXPECT_EQ(-EINVAL, odp_config(self->fd, SZ_4K | SZ_2M | SZ_1G, 65));
	ASSERT_EQ(0, odp_config(self->fd, SZ_4K | SZ_2M, 8));
	ASSERT_EQ(0, odp_mr_rw(self->fd, self->p, SZ_4K, NULL));
	EXPECT_EQ(-EBUSY, odp_config(self->fd, SZ_4K, 8));
	EXPECT_EQ(0, odp_config(self->fd, SZ_4K | SZ_2M, 0));
}

TEST_F(sim, bad_implicit)
{
	struct odp_sim_implicit a = { .size = sizeof(a), .enable = 2 };

	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_SIM_IOC_IMPLICIT, &a));
}

/* An fd is bound to the address space that opened it. */
TEST_F(sim, other_mm_gets_eperm)
{
	int status;
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (!pid) {
		struct odp_sim_version v = { .size = sizeof(v) };
		char buf[8];
		int bad = 0;

		bad |= odp_ioctl(self->fd, ODP_SIM_IOC_VERSION, &v) != -EPERM;
		bad |= (odp_mr_rw(self->fd, self->p, SZ_4K, NULL) != -EPERM) << 1;
		bad |= (odp_dev_read(self->fd, self->p, buf, 8, NULL) != -EPERM) << 2;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
