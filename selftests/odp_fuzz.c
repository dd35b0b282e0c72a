// SPDX-License-Identifier: GPL-2.0
/*
 * odp_fuzz: every ioctl of /dev/odp_sim with random and boundary
 * arguments. The guest's kernel log must stay clean (the harness checks),
 * and each result must be one the UAPI (include/uapi/odp_sim_device.h)
 * documents for that input:
 *   - an input the UAPI says fails (a wrong size, a reserved member or
 *     flag that is not zero, an unknown advice or access, a bad range, a
 *     handle this fd does not have, an address no MR covers, ...) must
 *     fail, with the errno documented for it, never succeed;
 *   - any other input succeeds or fails with an errno documented for the
 *     ioctl.
 * To know which is which, the fuzzer keeps its own account of the
 * device: its MRs and their handles, the implicit MR, the leaf sizes.
 *
 *   odp_fuzz [--iterations N] [--seed S]	(100000 and 1 by default)
 *
 * Arguments mix zero, negative and huge lengths, wrap-around, unaligned,
 * unmapped, PROT_NONE and read-only addresses, stale handles and handles
 * of another fd, wrong struct sizes, reserved bits; calls also come from a
 * forked child, and an fd is closed by another thread in mid-call. Device
 * writes only ever target the fuzzer's own scratch memory.
 *
 * ODP_SIM_IOC_BENCH_HMM is the one ioctl not fuzzed with arguments: it is
 * for benchmarks only, documents no errnos, and is bounded by no MR (it
 * runs hmm_range_fault() over whatever range it is given, faulting in
 * what the process maps, 1 GiB per call up to 2^48). The random ioctl
 * numbers still reach it, with a zeroed argument, which must get EINVAL.
 */
#include <getopt.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "odp_test_lib.h"

#define SCRATCH		(16 * SZ_4K)
#define HANDLES		64
#define MAX_MRS		4096	/* ODP_MIRROR_MAX_MRS: then ENOSPC */
#define MAX_RESERVE	64	/* ODP_MIRROR_RESERVE_MAX */
#define PGSIZES_ALL	(SZ_4K | SZ_2M | SZ_1G)
#define ERRNOS		1024	/* errnos counted; larger ones count as ERRNOS - 1 */

/* A set of errnos, 0 for success; no bit mask, errnos pass 64 (ENOTSUPP 524) */
struct errset {
	int e[8];	/* ended by -1 */
};

#define ERRS(...)	((struct errset){ { __VA_ARGS__, -1 } })

static unsigned int st;
static char *rw, *ro, *none, *hole;	/* scratch: read-write, read-only, ... */
static __u32 handles[HANDLES], foreign[HANDLES];
static unsigned long calls, successes, errors[ERRNOS], bad, must_fail;
static bool admin;	/* CAP_SYS_ADMIN, which TRANSLATE needs */
static struct { const char *name; unsigned long n; double total, max; } ops[16];
/* undocumented results, by call, reason and result */
static struct { const char *what, *why; int ret; unsigned long n; } wrong[32];
static __u64 limit;	/* end of the addresses an MR or a fault may reach */

/*
 * Every ioctl of /dev/odp_sim, which the random numbers may hit exactly,
 * and how often they did. BENCH_HMM gets only those calls (see the top).
 */
#define IOC(c)	{ .cmd = ODP_SIM_IOC_##c, .name = #c }
static struct { unsigned long cmd; const char *name; unsigned long hits; } known[] = {
	IOC(VERSION), IOC(CONFIG), IOC(MR_REG), IOC(MR_UNREG), IOC(IMPLICIT),
	IOC(PREFETCH), IOC(READ), IOC(WRITE), IOC(SNAPSHOT), IOC(STATS),
	IOC(BENCH_FLOOR), IOC(TRANSLATE), IOC(BENCH_HMM),
};

/* The device as the fuzzer knows it */
static struct { __u32 handle; __u64 start, end; } mrs[MAX_MRS + 64];
static unsigned int nr_mrs;
static bool implicit;
static __u64 pgsizes = PGSIZES_ALL;

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

/*
 * The mirror's address limit: the process's task size, at most the
 * table's 2^48. With 5-level paging the task size passes 2^48, and an
 * address above 2^47 can be mapped.
 */
static __u64 find_limit(void)
{
	void *want = (void *)(1UL << 50);
	void *p = mmap(want, SZ_4K, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED_NOREPLACE, -1, 0);

	if (p != MAP_FAILED)
		munmap(p, SZ_4K);
	return p == want ? 1ULL << 48 : (1ULL << 47) - SZ_4K;
}

/* An address: mostly in or around the scratch areas, sometimes anything */
static __u64 any_addr(bool writable_only)
{
	static const __u64 odd[] = { 0, 1, 4095, 4096, -4096ULL, -1ULL, 1ULL << 47,
				     (1ULL << 47) - 4096, 1ULL << 48, (1ULL << 48) - 4096,
				     1ULL << 56 };
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

/* --- the fuzzer's account of the device --- */

static int mr_find(__u32 handle)
{
	unsigned int i;

	for (i = 0; i < nr_mrs; i++)
		if (mrs[i].handle == handle)
			return i;
	return -1;
}

static bool mr_overlaps(__u64 start, __u64 end)
{
	unsigned int i;

	for (i = 0; i < nr_mrs; i++)
		if (start < mrs[i].end && mrs[i].start < end)
			return true;
	return false;
}

/* Is the page of @va reachable: in an MR, or under the implicit MR? */
static bool covered(__u64 va)
{
	return (implicit && va < limit) ||
	       mr_overlaps(va & ~4095ULL, (va & ~4095ULL) + 4096);
}

static void mr_add(__u32 handle, __u64 start, __u64 end)
{
	if (nr_mrs < ARRAY_SIZE(mrs))
		mrs[nr_mrs++] = (typeof(mrs[0])){ handle, start, end };
}

static void mr_del(__u32 handle)
{
	int i = mr_find(handle);

	if (i >= 0)
		mrs[i] = mrs[--nr_mrs];
}

/* --- checking --- */

/* "success", "EINVAL", or "errno 524" for one libc has no name for */
static const char *errname(int e)
{
	static char buf[4][24];
	static unsigned int n;

	if (!e)
		return "success";
	if (strerrorname_np(e))
		return strerrorname_np(e);
	snprintf(buf[++n % 4], sizeof(buf[0]), "errno %d", e);
	return buf[n % 4];
}

static bool in_set(struct errset set, int e)
{
	int i;

	for (i = 0; set.e[i] >= 0; i++)
		if (set.e[i] == e)
			return true;
	return false;
}

static void print_set(struct errset set)
{
	int i;

	for (i = 0; set.e[i] >= 0; i++)
		printf(" %s", errname(set.e[i]));
}

static double t_call;

/*
 * @ret of @what must be in @allowed; @why names what made the input one
 * that must fail, or is NULL
 */
static void check(const char *what, int ret, struct errset allowed, const char *why)
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
	must_fail += !!why;
	if (!ret)
		successes++;
	else
		errors[-ret < ERRNOS ? -ret : ERRNOS - 1]++;
	if (ret > 0 || ret < -4095 || !in_set(allowed, -ret)) {
		bad++;
		for (i = 0; i < 32 && wrong[i].what; i++)
			if (!strcmp(wrong[i].what, what) && wrong[i].why == why &&
			    wrong[i].ret == ret)
				break;
		if (i < 32) {
			wrong[i].what = what;
			wrong[i].why = why;
			wrong[i].ret = ret;
			wrong[i].n++;
		}
		if (bad <= 10) {
			printf("# %s%s%s%s: got %s (%d), want", what, why ? " (" : "",
			       why ?: "", why ? ")" : "",
			       errname(-ret), ret);
			print_set(allowed);
			printf("\n");
		}
	}
}

/* A call of @what succeeded but returned what the UAPI rules out: @why */
static void bad_output(const char *what, const char *why)
{
	int i;

	bad++;
	for (i = 0; i < 32 && wrong[i].what; i++)
		if (!strcmp(wrong[i].what, what) && wrong[i].why == why && !wrong[i].ret)
			break;
	if (i < 32) {
		wrong[i].what = what;
		wrong[i].why = why;
		wrong[i].ret = 0;
		wrong[i].n++;
	}
	if (bad <= 10)
		printf("# %s: succeeded, but %s\n", what, why);
}

/* The output of a TRANSLATE that succeeded: what the UAPI rules out, or NULL */
static const char *translate_wrong(const struct odp_sim_translate *t)
{
	const __u32 known = ODP_SIM_SNAP_PRESENT | ODP_SIM_SNAP_WRITE | ODP_SIM_SNAP_DIRTY;

	if (!(t->flags & ODP_SIM_SNAP_PRESENT))
		return t->flags ? "WRITE or DIRTY without PRESENT" : NULL;
	if (t->flags & ~known)
		return "unknown flags out";
	if (!covered(t->addr))
		return "an entry outside every MR, implicit MR off";
	if ((t->shift != 12 && t->shift != 21 && t->shift != 30) ||
	    !(pgsizes & (1ULL << t->shift)))
		return "a leaf size the device does not use";
	if (t->target & 4095)
		return "a target that is not a page's";
	return NULL;
}

/* A call that must fail with exactly @e because of @why */
#define MUST(e, why_)	do { allowed = ERRS(e); why = (why_); } while (0)

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
		struct odp_sim_translate tr;
		char raw[256];
	} a;
	static __u8 recs[SCRATCH / 4096 * 4];
	static char buf[SCRATCH];
	const char *why = NULL;
	struct errset allowed;
	int ret;

	memset(&a, 0, sizeof(a));
	t_call = now();
	switch (rnd(13)) {
	case 0:
		a.v.size = any_size(sizeof(a.v));
		allowed = ERRS(0);
		if (a.v.size != sizeof(a.v))
			MUST(EINVAL, "wrong size");
		check("VERSION", odp_ioctl(fd, ODP_SIM_IOC_VERSION, &a), allowed, why);
		break;
	case 1: {
		bool valid;

		a.c.size = any_size(sizeof(a.c));
		a.c.reserve_pages = rnd(3) ? rnd(70) : rand_r(&st);
		a.c.pgsize_bitmap = PGSIZES_ALL;
		if (rnd(2))
			a.c.pgsize_bitmap = rnd64() & (a.c.pgsize_bitmap | 0xff000);
		valid = (a.c.pgsize_bitmap & SZ_4K) && !(a.c.pgsize_bitmap & ~PGSIZES_ALL);
		allowed = ERRS(0, ENOMEM);
		if (a.c.size != sizeof(a.c))
			MUST(EINVAL, "wrong size");
		else if (a.c.reserve_pages > MAX_RESERVE)
			MUST(EINVAL, "reserve_pages > 64");
		else if (a.c.pgsize_bitmap != pgsizes && (nr_mrs || implicit))
			/* a change needs an empty device; a bad one is EINVAL too */
			allowed = valid ? ERRS(EBUSY) : ERRS(EBUSY, EINVAL),
			why = "leaf sizes changed with MRs";
		else if (!valid)
			MUST(EINVAL, "bad pgsize_bitmap");
		else if (a.c.pgsize_bitmap == pgsizes)
			allowed = ERRS(0);
		ret = odp_ioctl(fd, ODP_SIM_IOC_CONFIG, &a);
		check("CONFIG", ret, allowed, why);
		if (!ret)
			pgsizes = a.c.pgsize_bitmap;
		break;
	}
	case 2: {
		__u64 end;

		a.mr.size = any_size(sizeof(a.mr));
		a.mr.access = rnd(4) ? 1 + rnd(3) : rand_r(&st);
		a.mr.start = any_addr(false);
		a.mr.length = any_len();
		a.mr.reserved = !rnd(10);
		end = a.mr.start + a.mr.length;
		allowed = ERRS(0, ENOMEM);
		if (a.mr.size != sizeof(a.mr))
			MUST(EINVAL, "wrong size");
		else if (a.mr.reserved)
			MUST(EINVAL, "reserved set");
		else if (!(a.mr.access & ODP_SIM_ACCESS_READ) ||
			 (a.mr.access & ~(ODP_SIM_ACCESS_READ | ODP_SIM_ACCESS_WRITE)))
			MUST(EINVAL, "bad access");
		else if (!a.mr.length || ((a.mr.start | a.mr.length) & 4095))
			MUST(EINVAL, "empty or unaligned range");
		else if (end < a.mr.start || end > limit)
			MUST(EINVAL, "range past the address space");
		else if (mr_overlaps(a.mr.start, end))
			MUST(EEXIST, "overlaps an MR");
		else if (nr_mrs >= MAX_MRS)
			MUST(ENOSPC, "4096 MRs");
		ret = odp_ioctl(fd, ODP_SIM_IOC_MR_REG, &a);
		check("MR_REG", ret, allowed, why);
		if (!ret) {
			handles[rnd(HANDLES)] = a.mr.handle;
			mr_add(a.mr.handle, a.mr.start, end);
		}
		break;
	}
	case 3:
		a.mr.size = any_size(sizeof(a.mr));
		a.mr.handle = any_handle();
		a.mr.reserved = !rnd(10);
		allowed = ERRS(0);
		if (a.mr.size != sizeof(a.mr))
			MUST(EINVAL, "wrong size");
		else if (a.mr.reserved)
			MUST(EINVAL, "reserved set");
		else if (mr_find(a.mr.handle) < 0)
			MUST(ENOENT, "a handle this fd does not have");
		ret = odp_ioctl(fd, ODP_SIM_IOC_MR_UNREG, &a);
		check("MR_UNREG", ret, allowed, why);
		if (!ret)
			mr_del(a.mr.handle);
		break;
	case 4:
		a.im.size = any_size(sizeof(a.im));
		a.im.enable = rnd(3) ? rnd(2) : rand_r(&st);
		allowed = ERRS(0, ENOMEM);
		if (a.im.size != sizeof(a.im))
			MUST(EINVAL, "wrong size");
		else if (a.im.enable > 1)
			MUST(EINVAL, "enable > 1");
		ret = odp_ioctl(fd, ODP_SIM_IOC_IMPLICIT, &a);
		check("IMPLICIT", ret, allowed, why);
		if (!ret)
			implicit = a.im.enable;
		break;
	case 5:
	case 6: {
		bool floor = !rnd(4);
		__u64 end;

		a.pf.size = any_size(sizeof(a.pf));
		a.pf.advice = rnd(5);
		a.pf.start = any_addr(false);
		a.pf.length = rnd(2) ? any_len() : SCRATCH;
		end = a.pf.start + a.pf.length;
		allowed = a.pf.advice == ODP_SIM_PREFETCH_WRITE ?
			  ERRS(0, EFAULT, EACCES, EBUSY, ENOMEM, EINTR) :
			  ERRS(0, EFAULT, EBUSY, ENOMEM, EINTR);
		if (a.pf.size != sizeof(a.pf))
			MUST(EINVAL, "wrong size");
		else if (a.pf.advice > ODP_SIM_PREFETCH_NO_FAULT)
			MUST(EINVAL, "unknown advice");
		else if (!a.pf.length || end < a.pf.start || end > limit)
			MUST(EINVAL, "empty range or past the address space");
		else if (!covered(a.pf.start))
			MUST(EFAULT, "no MR");
		check("PREFETCH", odp_ioctl(fd, floor ? ODP_SIM_IOC_BENCH_FLOOR :
					    ODP_SIM_IOC_PREFETCH, &a), allowed, why);
		break;
	}
	case 7:
	case 8: {
		bool write = rnd(2), ptr_ok;
		__u64 end;

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
		end = a.rw.addr + a.rw.length;
		/* the buffer: ours, or read-only memory the device may read */
		ptr_ok = (a.rw.ptr == (uintptr_t)buf && a.rw.length <= sizeof(buf)) ||
			 (write && a.rw.ptr >= (uintptr_t)rw &&
			  a.rw.ptr + a.rw.length <= (uintptr_t)ro + SCRATCH);
		if (a.rw.size != sizeof(a.rw)) {
			MUST(EINVAL, "wrong size");
		} else if (a.rw.flags) {
			MUST(EINVAL, "flags set");
		} else if (!a.rw.length || end < a.rw.addr) {
			MUST(EINVAL, "empty or wrapping range");
		} else if (!ptr_ok) {
			allowed = ERRS(EFAULT, ENOMEM);
			why = "a buffer the device cannot use";
		} else if (!covered(a.rw.addr)) {
			/* the first fault's own range may pass the limit */
			allowed = end > limit ? ERRS(EFAULT, EINVAL) : ERRS(EFAULT);
			why = "no MR";
		} else if (end > limit) {
			allowed = write ? ERRS(EINVAL, EFAULT, EACCES, EBUSY, ENOMEM, EINTR) :
				  ERRS(EINVAL, EFAULT, EBUSY, ENOMEM, EINTR);
			why = "past the address space";
		} else {
			allowed = write ? ERRS(0, EFAULT, EACCES, EBUSY, ENOMEM, EINTR) :
				  ERRS(0, EFAULT, EBUSY, ENOMEM, EINTR);
		}
		check(write ? "WRITE" : "READ",
		      odp_ioctl(fd, write ? ODP_SIM_IOC_WRITE : ODP_SIM_IOC_READ, &a),
		      allowed, why);
		break;
	}
	case 9: {
		bool ours;

		a.sn.size = any_size(sizeof(a.sn));
		a.sn.reserved = !rnd(10);
		a.sn.addr = any_addr(false);
		a.sn.npages = rnd(2) ? rnd(sizeof(recs)) : rnd64() >> rnd(64);
		a.sn.ptr = rnd(4) ? (uintptr_t)recs : any_addr(false);
		if (a.sn.ptr == (uintptr_t)recs && a.sn.npages > sizeof(recs))
			a.sn.ptr = (uintptr_t)none;
		if (a.sn.ptr != (uintptr_t)recs)
			a.sn.ptr = (uintptr_t)(rnd(2) ? ro : none);
		ours = a.sn.ptr == (uintptr_t)recs;
		allowed = ours ? ERRS(0, ENOMEM) : ERRS(EFAULT, ENOMEM);
		why = ours ? NULL : "a buffer the device may not write";
		if (a.sn.size != sizeof(a.sn))
			MUST(EINVAL, "wrong size");
		else if (a.sn.reserved)
			MUST(EINVAL, "reserved set");
		else if (!a.sn.npages || a.sn.npages > ODP_SIM_SNAP_MAX_PAGES)
			MUST(EINVAL, "npages out of range");
		else if ((a.sn.addr & 4095) || a.sn.addr + a.sn.npages * SZ_4K < a.sn.addr ||
			 a.sn.addr + a.sn.npages * SZ_4K > 1ULL << 48)
			MUST(EINVAL, "unaligned or past the device address space");
		check("SNAPSHOT", odp_ioctl(fd, ODP_SIM_IOC_SNAPSHOT, &a), allowed, why);
		break;
	}
	case 10:
		a.st.size = any_size(sizeof(a.st));
		a.st.reserved = !rnd(10);
		allowed = ERRS(0);
		if (a.st.size != sizeof(a.st))
			MUST(EINVAL, "wrong size");
		else if (a.st.reserved)
			MUST(EINVAL, "reserved set");
		check("STATS", odp_ioctl(fd, ODP_SIM_IOC_STATS, &a), allowed, why);
		break;
	case 11: {
		const char *out;

		a.tr.size = any_size(sizeof(a.tr));
		a.tr.flags = rnd(10) ? 0 : 1U << rnd(32);
		a.tr.addr = any_addr(false);
		a.tr.target = rnd64();		/* out only: ignored */
		a.tr.shift = rand_r(&st);	/* out only: ignored */
		a.tr.reserved = !rnd(10);
		allowed = ERRS(0);
		/* the UAPI does not order EPERM before the other errnos */
		if (!admin && (a.tr.size != sizeof(a.tr) || a.tr.flags || a.tr.reserved))
			allowed = ERRS(EPERM, EINVAL), why = "no CAP_SYS_ADMIN, bad input";
		else if (!admin)
			MUST(EPERM, "no CAP_SYS_ADMIN");
		else if (a.tr.size != sizeof(a.tr))
			MUST(EINVAL, "wrong size");
		else if (a.tr.flags)
			MUST(EINVAL, "flags set");
		else if (a.tr.reserved)
			MUST(EINVAL, "reserved set");
		ret = odp_ioctl(fd, ODP_SIM_IOC_TRANSLATE, &a);
		check("TRANSLATE", ret, allowed, why);
		out = ret ? NULL : translate_wrong(&a.tr);
		if (out)
			bad_output("TRANSLATE", out);
		break;
	}
	default: {
		unsigned long cmd = _IOC(rnd(4), rnd(2) ? ODP_SIM_IOC_MAGIC : rnd(256),
					 rnd(2) ? rnd(16) : rnd(256), rnd(sizeof(a)));
		unsigned int i;

		/*
		 * Our numbers with another size or direction are unknown too.
		 * One of ours exactly gets a zeroed argument: size 0.
		 */
		allowed = ERRS(ENOTTY);
		why = "unknown ioctl";
		for (i = 0; i < ARRAY_SIZE(known); i++)
			if (cmd == known[i].cmd)
				break;
		if (i < ARRAY_SIZE(known)) {
			MUST(EINVAL, "size 0");
			known[i].hits++;
		}
		check("unknown ioctl", odp_ioctl(rnd(10) ? fd : other, cmd, &a), allowed, why);
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

/* CAP_SYS_ADMIN in the effective set, asked of the kernel, not the device */
static bool has_sys_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN);
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
	limit = find_limit();
	admin = has_sys_admin();
	printf("TAP version 13\n1..1\n# seed %u, %lu iterations, address limit %#llx%s\n",
	       seed, iterations, (unsigned long long)limit,
	       admin ? "" : ", no CAP_SYS_ADMIN (TRANSLATE: EPERM)");
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

	printf("# %lu calls, %lu succeeded, %lu inputs the UAPI says must fail; errors:",
	       calls, successes, must_fail);
	for (i = 0; i < ERRNOS; i++)
		if (errors[i])
			printf(" %s %lu,", errname(i), errors[i]);
	printf("\n# random ioctl numbers that were one of ours:");
	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (known[i].hits)
			printf(" %s %lu,", known[i].name, known[i].hits);
	printf("\n");
	for (i = 0; i < 16 && ops[i].name; i++)
		printf("# %-14s %6lu calls, %8.3f s in all, slowest %.3f s\n", ops[i].name,
		       ops[i].n, ops[i].total, ops[i].max);
	for (i = 0; i < 32 && wrong[i].what; i++)
		printf("# undocumented: %lu x %s%s%s%s got %s\n", wrong[i].n, wrong[i].what,
		       wrong[i].why ? " (" : "", wrong[i].why ?: "", wrong[i].why ? ")" : "",
		       errname(-wrong[i].ret));
	printf("%s 1 fuzz\n# %lu undocumented results\n", bad ? "not ok" : "ok", bad);
	return bad ? 1 : 0;
}
