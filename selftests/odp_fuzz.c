// SPDX-License-Identifier: GPL-2.0
/*
 * odp_fuzz: every ioctl of /dev/odp_sim with random and boundary
 * arguments. Each call must succeed or fail with an errno documented for
 * that ioctl; the guest's kernel log must stay clean (the harness checks).
 *
 *   odp_fuzz [--iterations N] [--seed S]	(100000 and 1 by default)
 *
 * Arguments mix zero, negative and huge lengths, wrap-around, unaligned,
 * unmapped, PROT_NONE and read-only addresses, stale handles and handles
 * of another fd, wrong struct sizes, reserved bits; calls also come from a
 * forked child, and an fd is closed by another thread in mid-call. Device
 * writes only ever target the fuzzer's own scratch memory.
 */
#include <getopt.h>
#include <pthread.h>
#include <sys/wait.h>

#include "odp_test_lib.h"

#define SCRATCH		(16 * SZ_4K)
#define HANDLES		64

static unsigned int st;
static char *rw, *ro, *none, *hole;	/* scratch: read-write, read-only, ... */
static __u32 handles[HANDLES], foreign[HANDLES];
static unsigned long calls, successes, errors[256], bad;
static struct { const char *name; unsigned long n; double total, max; } ops[16];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned int rnd(unsigned int n)
{
	return rand_r(&st) % n;
}

static __u64 rnd64(void)
{
	return (__u64)rand_r(&st) << 33 ^ (__u64)rand_r(&st) << 11 ^ rand_r(&st);
}

/* An address: mostly in or around the scratch areas, sometimes anything */
static __u64 any_addr(bool writable_only)
{
	static const __u64 odd[] = { 0, 1, 4095, 4096, -4096ULL, -1ULL, 1ULL << 47,
				     (1ULL << 47) - 4096, 1ULL << 56 };
	char *const areas[] = { rw, ro, none, hole };

	if (writable_only)
		return (uintptr_t)rw + (rnd(2) ? rnd(SCRATCH) & ~4095UL : rnd(SCRATCH));
	switch (rnd(4)) {
	case 0:
		return odd[rnd(ARRAY_SIZE(odd))];
	case 1:
		return rnd64();
	default:
		return (uintptr_t)areas[rnd(4)] + (rnd(2) ? rnd(SCRATCH) & ~4095UL : rnd(SCRATCH));
	}
}

static __u64 any_len(void)
{
	static const __u64 odd[] = { 0, 1, 8, 4095, 4096, 4097, SCRATCH, SZ_2M, SZ_1G,
				     -1ULL, -4096ULL, 1ULL << 47 };

	switch (rnd(3)) {
	case 0:
		return odd[rnd(ARRAY_SIZE(odd))];
	case 1:
		return rnd64() >> rnd(64);
	default:
		return (1 + rnd(SCRATCH / 4096)) * 4096ULL;
	}
}

static __u32 any_size(__u32 right)
{
	switch (rnd(20)) {
	case 0:
		return 0;
	case 1:
		return right - 1;
	case 2:
		return right + 8;
	case 3:
		return rand_r(&st);
	default:
		return right;
	}
}

static __u32 any_handle(void)
{
	switch (rnd(4)) {
	case 0:
		return foreign[rnd(HANDLES)];
	case 1:
		return rnd(3) ? rnd(100) : rand_r(&st);
	default:
		return handles[rnd(HANDLES)];
	}
}

/* errno sets, one bit per errno */
#define E(e)	(1ULL << (e))
static const __u64 common = E(0) | E(EINVAL) | E(EFAULT);
static const __u64 faulting = E(EACCES) | E(EBUSY) | E(ENOMEM) | E(EINTR);

static double t_call;

static void check(const char *what, int ret, __u64 allowed)
{
	double t = now() - t_call;
	int i;

	for (i = 0; i < 16 && ops[i].name && strcmp(ops[i].name, what); i++)
		;
	if (i < 16) {
		ops[i].name = what;
		ops[i].n++;
		ops[i].total += t;
		if (t > ops[i].max)
			ops[i].max = t;
	}
	calls++;
	if (!ret) {
		successes++;
		return;
	}
	errors[-ret & 255]++;
	if (!(allowed & E(-ret))) {
		bad++;
		if (bad <= 10)
			printf("# %s: undocumented %s (%d)\n", what, strerror(-ret), ret);
	}
}

static void one_call(int fd, int other)
{
	union {
		struct odp_sim_version v;
		struct odp_sim_config c;
		struct odp_sim_mr mr;
		struct odp_sim_implicit im;
		struct odp_sim_prefetch pf;
		struct odp_sim_rw rw;
		struct odp_sim_snapshot sn;
		struct odp_sim_stats st;
		char raw[256];
	} a;
	static __u8 recs[SCRATCH / 4096 * 4];
	static char buf[SCRATCH];
	int ret;

	memset(&a, 0, sizeof(a));
	t_call = now();
	switch (rnd(12)) {
	case 0:
		a.v.size = any_size(sizeof(a.v));
		check("VERSION", odp_ioctl(fd, ODP_SIM_IOC_VERSION, &a), common);
		break;
	case 1:
		a.c.size = any_size(sizeof(a.c));
		a.c.reserve_pages = rnd(3) ? rnd(70) : rand_r(&st);
		a.c.pgsize_bitmap = SZ_4K | SZ_2M | SZ_1G;
		if (rnd(2))
			a.c.pgsize_bitmap = rnd64() & (a.c.pgsize_bitmap | 0xff000);
		check("CONFIG", odp_ioctl(fd, ODP_SIM_IOC_CONFIG, &a),
		      common | E(EBUSY) | E(ENOMEM));
		break;
	case 2:
		a.mr.size = any_size(sizeof(a.mr));
		a.mr.access = rnd(4) ? 1 + rnd(3) : rand_r(&st);
		a.mr.start = any_addr(false);
		a.mr.length = any_len();
		a.mr.reserved = !rnd(10);
		ret = odp_ioctl(fd, ODP_SIM_IOC_MR_REG, &a);
		check("MR_REG", ret, common | E(EEXIST) | E(ENOSPC) | E(ENOMEM));
		if (!ret)
			handles[rnd(HANDLES)] = a.mr.handle;
		break;
	case 3:
		a.mr.size = any_size(sizeof(a.mr));
		a.mr.handle = any_handle();
		check("MR_UNREG", odp_ioctl(fd, ODP_SIM_IOC_MR_UNREG, &a), common | E(ENOENT));
		break;
	case 4:
		a.im.size = any_size(sizeof(a.im));
		a.im.enable = rnd(3) ? rnd(2) : rand_r(&st);
		check("IMPLICIT", odp_ioctl(fd, ODP_SIM_IOC_IMPLICIT, &a), common | E(ENOMEM));
		break;
	case 5:
	case 6:
		a.pf.size = any_size(sizeof(a.pf));
		a.pf.advice = rnd(5);
		a.pf.start = any_addr(false);
		a.pf.length = rnd(2) ? any_len() : SCRATCH;
		check("PREFETCH", odp_ioctl(fd, rnd(4) ? ODP_SIM_IOC_PREFETCH :
					    ODP_SIM_IOC_BENCH_FLOOR, &a), common | faulting);
		break;
	case 7:
	case 8: {
		bool write = rnd(2);

		a.rw.size = any_size(sizeof(a.rw));
		a.rw.flags = !rnd(10);
		a.rw.addr = any_addr(write);
		a.rw.length = rnd(2) ? any_len() : rnd(SCRATCH);
		if (write && a.rw.addr + a.rw.length > (uintptr_t)rw + SCRATCH)
			a.rw.length = (uintptr_t)rw + SCRATCH - a.rw.addr;
		a.rw.ptr = rnd(3) ? (uintptr_t)buf : any_addr(false);
		if (!write && a.rw.ptr == (uintptr_t)buf && a.rw.length > sizeof(buf))
			a.rw.length = sizeof(buf);
		if (!write && a.rw.ptr != (uintptr_t)buf)
			a.rw.ptr = (uintptr_t)(rnd(2) ? ro : none);	/* never our own state */
		check(write ? "WRITE" : "READ",
		      odp_ioctl(fd, write ? ODP_SIM_IOC_WRITE : ODP_SIM_IOC_READ, &a),
		      common | faulting);
		break;
	}
	case 9:
		a.sn.size = any_size(sizeof(a.sn));
		a.sn.reserved = !rnd(10);
		a.sn.addr = any_addr(false);
		a.sn.npages = rnd(2) ? rnd(sizeof(recs)) : rnd64() >> rnd(64);
		a.sn.ptr = rnd(4) ? (uintptr_t)recs : any_addr(false);
		if (a.sn.ptr == (uintptr_t)recs && a.sn.npages > sizeof(recs))
			a.sn.ptr = (uintptr_t)none;
		if (a.sn.ptr != (uintptr_t)recs)
			a.sn.ptr = (uintptr_t)(rnd(2) ? ro : none);
		check("SNAPSHOT", odp_ioctl(fd, ODP_SIM_IOC_SNAPSHOT, &a), common | E(ENOMEM));
		break;
	case 10:
		a.st.size = any_size(sizeof(a.st));
		check("STATS", odp_ioctl(fd, ODP_SIM_IOC_STATS, &a), common);
		break;
	default: {
		unsigned long cmd = _IOC(rnd(4), rnd(2) ? ODP_SIM_IOC_MAGIC : rnd(256),
					 rnd(2) ? rnd(16) : rnd(256), rnd(sizeof(a)));
		bool ours = _IOC_TYPE(cmd) == ODP_SIM_IOC_MAGIC && _IOC_NR(cmd) <= 0x0a;

		/* our numbers with another size or direction are unknown too */
		if (ours && (cmd == ODP_SIM_IOC_WRITE || cmd == ODP_SIM_IOC_READ))
			break;
		check("unknown ioctl", odp_ioctl(rnd(10) ? fd : other, cmd, &a),
		      E(ENOTTY) | (ours ? common | faulting | E(EBUSY) | E(EEXIST) |
				   E(ENOENT) | E(ENOSPC) : 0));
		break;
	}
	}
}

/* Close an fd while another thread is in the middle of ioctls on it */
struct closer {
	int fd;
	unsigned long unexpected;
	char buf[SCRATCH];
};

static void *busy_reader(void *arg)
{
	struct closer *c = arg;
	int i, ret;

	for (i = 0; i < 200; i++) {
		struct odp_sim_rw a = {
			.size = sizeof(a), .addr = (uintptr_t)rw, .ptr = (uintptr_t)c->buf,
			.length = SCRATCH,
		};

		ret = odp_ioctl(c->fd, ODP_SIM_IOC_READ, &a);
		if (ret == -EBADF)
			break;
		c->unexpected += ret != 0;
	}
	return NULL;
}

static void close_mid_call(void)
{
	static struct closer c;
	pthread_t t;

	c.fd = odp_open();
	c.unexpected = 0;
	if (c.fd < 0 || odp_implicit(c.fd, true))
		return;
	pthread_create(&t, NULL, busy_reader, &c);
	usleep(rnd(2000));
	close(c.fd);
	pthread_join(t, NULL);
	calls++;
	if (c.unexpected) {
		bad++;
		printf("# READ racing close: %lu failures\n", c.unexpected);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'i' },
		{ "seed", required_argument, NULL, 's' },
		{}
	};
	unsigned long iterations = 100000, i;
	unsigned int seed = 1;
	int fd, other, opt, status;
	pid_t pid;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'i')
			iterations = strtoul(optarg, NULL, 0);
		else if (opt == 's')
			seed = strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	st = seed;
	printf("TAP version 13\n1..1\n# seed %u, %lu iterations\n", seed, iterations);
	rw = odp_reserve_va(4 * SCRATCH, SZ_2M);
	ro = rw + SCRATCH;
	none = ro + SCRATCH;
	hole = none + SCRATCH;
	if (!rw || !odp_map_anon(rw, 2 * SCRATCH, MADV_NOHUGEPAGE)) {
		printf("not ok 1 fuzz # no memory\n");
		return 1;
	}
	memset(rw, 0x5a, 2 * SCRATCH);
	mprotect(ro, SCRATCH, PROT_READ);
	fd = odp_open();
	other = odp_open();
	if (fd < 0 || other < 0) {
		printf("not ok 1 fuzz # %s: %s\n", ODP_SIM_PATH, strerror(errno));
		return 1;
	}
	for (i = 0; i < HANDLES; i++)
		odp_mr_rw(other, rw + (i % 16) * SZ_4K, SZ_4K, &foreign[i]);

	for (i = 0; i < iterations; i++) {
		one_call(fd, other);
		if (i % 5000 == 4999)
			close_mid_call();
	}
	/* and from another address space */
	pid = fork();
	if (!pid) {
		unsigned long n = 0;

		for (i = 0; i < 200; i++) {
			struct odp_sim_stats s = { .size = sizeof(s) };

			n += odp_ioctl(fd, ODP_SIM_IOC_STATS, &s) != -EPERM;
			n += odp_mr_rw(fd, rw, SZ_4K, NULL) != -EPERM;
		}
		_exit(n ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("# a forked child's calls did not all get EPERM\n");
		bad++;
	}
	close(other);
	close(fd);

	printf("# %lu calls, %lu succeeded; errors:", calls, successes);
	for (i = 0; i < 256; i++)
		if (errors[i])
			printf(" %s %lu,", strerrorname_np(i) ?: "?", errors[i]);
	printf("\n");
	for (i = 0; i < 16 && ops[i].name; i++)
		printf("# %-14s %6lu calls, %8.3f s in all, slowest %.3f s\n", ops[i].name,
		       ops[i].n, ops[i].total, ops[i].max);
	printf("%s 1 fuzz\n# %lu undocumented results\n", bad ? "not ok" : "ok", bad);
	return bad ? 1 : 0;
}
