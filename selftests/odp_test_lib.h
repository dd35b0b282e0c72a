/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the odp-mirror test programs: the simulated device's
 * ioctls, memory of each kind (4K, THP, hugetlb) with a check that the
 * kernel really gave that kind, and physical contiguity from pagemap.
 */
#ifndef ODP_TEST_LIB_H
#define ODP_TEST_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/types.h>

#include "odp_sim_device.h"

#define ODP_SIM_PATH	"/dev/odp_sim"

#define SZ_4K		(4096UL)
#define SZ_2M		(512 * SZ_4K)
#define SZ_1G		(512 * SZ_2M)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT	26
#endif
#define MAP_HUGE_2M	(21 << MAP_HUGE_SHIFT)
#define MAP_HUGE_1G	(30 << MAP_HUGE_SHIFT)

/* ioctl() that returns 0 or -errno, so tests can compare errnos directly */
static inline int odp_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int odp_open(void)
{
	return open(ODP_SIM_PATH, O_RDWR | O_CLOEXEC);
}

static inline int odp_config(int fd, __u64 pgsizes, __u32 reserve)
{
	struct odp_sim_config c = {
		.size = sizeof(c), .pgsize_bitmap = pgsizes, .reserve_pages = reserve,
	};

	return odp_ioctl(fd, ODP_SIM_IOC_CONFIG, &c);
}

static inline int odp_mr_reg(int fd, const void *start, size_t len,
			     __u32 access, __u32 *handle)
{
	struct odp_sim_mr a = {
		.size = sizeof(a), .access = access,
		.start = (uintptr_t)start, .length = len,
	};
	int ret = odp_ioctl(fd, ODP_SIM_IOC_MR_REG, &a);

	if (!ret && handle)
		*handle = a.handle;
	return ret;
}

static inline int odp_mr_rw(int fd, const void *start, size_t len,
			    __u32 *handle)
{
	return odp_mr_reg(fd, start, len, ODP_SIM_ACCESS_READ | ODP_SIM_ACCESS_WRITE,
			  handle);
}

static inline int odp_mr_unreg(int fd, __u32 handle)
{
	struct odp_sim_mr a = { .size = sizeof(a), .handle = handle };

	return odp_ioctl(fd, ODP_SIM_IOC_MR_UNREG, &a);
}

static inline int odp_implicit(int fd, bool on)
{
	struct odp_sim_implicit a = { .size = sizeof(a), .enable = on };

	return odp_ioctl(fd, ODP_SIM_IOC_IMPLICIT, &a);
}

static inline int odp_prefetch(int fd, const void *start, size_t len,
			       __u32 advice)
{
	struct odp_sim_prefetch a = {
		.size = sizeof(a), .advice = advice,
		.start = (uintptr_t)start, .length = len,
	};

	return odp_ioctl(fd, ODP_SIM_IOC_PREFETCH, &a);
}

/* Device access; *faults (if given) gets the device faults it took */
static inline int odp_dev_rw(int fd, bool write, const void *addr, void *buf,
			     size_t len, __u64 *faults)
{
	struct odp_sim_rw a = {
		.size = sizeof(a), .addr = (uintptr_t)addr,
		.ptr = (uintptr_t)buf, .length = len,
	};
	int ret = odp_ioctl(fd, write ? ODP_SIM_IOC_WRITE : ODP_SIM_IOC_READ, &a);

	if (faults)
		*faults = a.faults;
	return ret;
}

static inline int odp_dev_read(int fd, const void *addr, void *buf, size_t len,
			       __u64 *faults)
{
	return odp_dev_rw(fd, false, addr, buf, len, faults);
}

static inline int odp_dev_write(int fd, void *addr, const void *buf, size_t len,
				__u64 *faults)
{
	return odp_dev_rw(fd, true, addr, (void *)buf, len, faults);
}

static inline int odp_snapshot(int fd, const void *addr, size_t npages,
			       __u8 *recs)
{
	struct odp_sim_snapshot a = {
		.size = sizeof(a), .addr = (uintptr_t)addr, .npages = npages,
		.ptr = (uintptr_t)recs,
	};

	return odp_ioctl(fd, ODP_SIM_IOC_SNAPSHOT, &a);
}

static inline int odp_stats(int fd, struct odp_sim_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return odp_ioctl(fd, ODP_SIM_IOC_STATS, st);
}

/* Per-4K state of [addr, addr + len) */
struct odp_census {
	unsigned long present;		/* 4K pages mapped by the device */
	unsigned long writable;
	unsigned long dirty;
	unsigned long leaves[3];	/* whole leaves of 4K, 2M, 1G inside */
	unsigned long pages_in[3];	/* pages mapped by leaves of each size */
};

static inline int odp_census(int fd, const void *addr, size_t len,
			     struct odp_census *c)
{
	size_t n = len / SZ_4K, i;
	__u8 *recs = malloc(n);
	int ret;

	memset(c, 0, sizeof(*c));
	if (!recs)
		return -ENOMEM;
	ret = odp_snapshot(fd, addr, n, recs);
	for (i = 0; !ret && i < n; i++) {
		unsigned int s = (recs[i] & ODP_SIM_SNAP_SIZE_MASK) >> ODP_SIM_SNAP_SIZE_SHIFT;

		if (!(recs[i] & ODP_SIM_SNAP_PRESENT))
			continue;
		c->present++;
		c->writable += !!(recs[i] & ODP_SIM_SNAP_WRITE);
		c->dirty += !!(recs[i] & ODP_SIM_SNAP_DIRTY);
		c->pages_in[s]++;
	}
	c->leaves[0] = c->pages_in[0];
	c->leaves[1] = c->pages_in[1] / 512;
	c->leaves[2] = c->pages_in[2] / (512 * 512);
	free(recs);
	return ret;
}

/* An address range of @len aligned to @align, reserved PROT_NONE */
static inline void *odp_reserve_va(size_t len, size_t align)
{
	char *p = mmap(NULL, len + align, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + align - 1) & ~(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((char *)a + len, (uintptr_t)p + align - a);
	return (void *)a;
}

/* Anonymous read-write memory at @addr (fixed) or anywhere (NULL) */
static inline void *odp_map_anon(void *addr, size_t len, int madv)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (addr ? MAP_FIXED : 0), -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madv >= 0 && madvise(p, len, madv)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

/* kB of AnonHugePages in the VMA holding @addr, from /proc/self/smaps */
static inline long odp_anon_huge_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo, hi;
	char line[256];
	bool in = false;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/*
 * @len bytes of THP-backed memory at @addr (2M-aligned, fixed) or
 * anywhere, filled with @fill. NULL unless every 2M is a PMD-mapped THP,
 * as AnonHugePages shows.
 */
static inline void *odp_map_thp(void *addr, size_t len, int fill)
{
	char *p = addr ? addr : odp_reserve_va(len, SZ_2M);

	if (!p || !odp_map_anon(p, len, MADV_HUGEPAGE))
		return NULL;
	memset(p, fill, len);
	if (odp_anon_huge_kb(p) < (long)(len >> 10)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

/* hugetlb memory of pages of @pgsize (SZ_2M or SZ_1G) at @addr or anywhere */
static inline void *odp_map_hugetlb(void *addr, size_t len, size_t pgsize)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
		       (pgsize == SZ_1G ? MAP_HUGE_1G : MAP_HUGE_2M) |
		       (addr ? MAP_FIXED : 0), -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Free huge pages of the pool of @pgsize */
static inline long odp_hugetlb_free(size_t pgsize)
{
	char path[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-%lukB/free_hugepages",
		 pgsize >> 10);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* pfn of the page at @addr from /proc/self/pagemap (root), 0 if none */
static inline __u64 odp_pfn(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	__u64 e = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (uintptr_t)addr / SZ_4K * sizeof(e)) != sizeof(e))
		e = 0;
	close(fd);
	return (e >> 63) ? e & ((1ULL << 55) - 1) : 0;
}

/* Is [addr, addr + len) backed by consecutive pfns, aligned like addr? */
static inline bool odp_phys_contiguous(const void *addr, size_t len)
{
	__u64 first = odp_pfn(addr);
	size_t off;

	if (!first || (first * SZ_4K - (uintptr_t)addr) % len)
		return false;
	for (off = SZ_4K; off < len; off += SZ_4K)
		if (odp_pfn((const char *)addr + off) != first + off / SZ_4K)
			return false;
	return true;
}

/*
 * The test pattern: every 8 bytes hold their address ^ a generation, so a
 * page shown at the wrong address or from the wrong time never matches.
 * odp_pattern() writes into @buf the pattern of the memory at @at.
 */
static inline __u64 odp_word(uintptr_t addr, __u64 gen)
{
	return addr ^ (gen * 0x9e3779b97f4a7c15ULL);
}

static inline void odp_pattern(void *buf, const void *at, size_t len,
			       __u64 gen)
{
	__u64 *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = odp_word((uintptr_t)at + i * 8, gen);
}

static inline void odp_fill(void *p, size_t len, __u64 gen)
{
	odp_pattern(p, p, len, gen);
}

/* Does @buf hold the pattern of the memory at @at? */
static inline bool odp_check(const void *buf, const void *at, size_t len,
			     __u64 gen)
{
	const __u64 *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != odp_word((uintptr_t)at + i * 8, gen))
			return false;
	return true;
}

/* Is [addr, addr + len) inside a single VMA? (from /proc/self/maps) */
static inline bool odp_one_vma(const void *addr, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char line[256];
	bool one = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    (uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
			one = (uintptr_t)addr + len <= hi;
			break;
		}
	fclose(f);
	return one;
}

/*
 * Leave a PMD-mapped THP at @p mapped by 512 PTEs of the same, physically
 * contiguous folio, in one VMA: an mprotect() round trip on one page
 * splits the PMD and the VMAs merge back. True if that is what came out.
 */
static inline bool odp_thp_to_ptes(char *p)
{
	long kb = odp_anon_huge_kb(p);

	if (kb < 2048 || mprotect(p + 7 * SZ_4K, SZ_4K, PROT_READ) ||
	    mprotect(p + 7 * SZ_4K, SZ_4K, PROT_READ | PROT_WRITE))
		return false;
	return odp_anon_huge_kb(p) == kb - 2048 && odp_one_vma(p, SZ_2M) &&
	       odp_phys_contiguous(p, SZ_2M);
}

/* Read [p, p + len) through the device and compare with generation @gen */
static inline bool odp_dev_sees(int fd, const void *p, size_t len, __u64 gen,
				__u64 *faults)
{
	void *buf = malloc(len);
	bool ok;

	if (faults)
		*faults = 0;
	ok = buf && !odp_dev_read(fd, p, buf, len, faults) &&
	     odp_check(buf, p, len, gen);
	free(buf);
	return ok;
}

/* Write generation @gen to [p, p + len) through the device */
static inline int odp_dev_put(int fd, void *p, size_t len, __u64 gen,
			      __u64 *faults)
{
	void *buf = malloc(len);
	int ret;

	if (faults)
		*faults = 0;
	if (!buf)
		return -ENOMEM;
	odp_pattern(buf, p, len, gen);
	ret = odp_dev_write(fd, p, buf, len, faults);
	free(buf);
	return ret;
}

#endif /* ODP_TEST_LIB_H */
