/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the odp-mirror test programs: the devices' ioctls,
 * memory of each kind (4K, THP, hugetlb) with a check that the kernel
 * really gave that kind, physical contiguity from pagemap, and the IOMMU's
 * page table as its debugfs shows it.
 *
 * The ioctls work on any device node of the UAPI: odp_open() opens the one
 * named by the environment variable ODP_DEVICE, /dev/odp_sim by default,
 * so that a test program runs unchanged against /dev/odp_edu; a program
 * may also open a given node with odp_open_dev().
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

/*
 * kselftest_harness.h kills a test after TEST_TIMEOUT_DEFAULT, 30 s of
 * wall time. A test that takes 10 s on a quiet machine can take 30 s on a
 * guest three times slower, and nothing in this suite may fail because
 * the guest is slow: give every test 300 s, which only a hang reaches.
 * The TEST macros read the value where they expand, after this file.
 */
#ifdef TEST_TIMEOUT_DEFAULT
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT	300
#endif

#define ODP_SIM_PATH	"/dev/odp_sim"
#define ODP_EDU_PATH	"/dev/odp_edu"

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

/* The device node odp_open() opens: $ODP_DEVICE, else /dev/odp_sim */
static inline const char *odp_device_path(void)
{
	const char *path = getenv("ODP_DEVICE");

	return path && *path ? path : ODP_SIM_PATH;
}

static inline int odp_open_dev(const char *path)
{
	return open(path, O_RDWR | O_CLOEXEC);
}

static inline int odp_open(void)
{
	return odp_open_dev(odp_device_path());
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

/* The device's view of @addr: its leaf, and physical or DMA address */
static inline int odp_translate(int fd, const void *addr, struct odp_sim_translate *t)
{
	memset(t, 0, sizeof(*t));
	t->size = sizeof(*t);
	t->addr = (uintptr_t)addr;
	return odp_ioctl(fd, ODP_SIM_IOC_TRANSLATE, t);
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

/* Read one byte of @p, so that the CPU faults the page in for reading */
static inline void odp_touch(const void *p)
{
	(void)__atomic_load_n((const char *)p, __ATOMIC_RELAXED);
}

/* kB of @field in the smaps entry of the VMA holding @addr, -1 if none */
static inline long odp_smaps_kb(const void *addr, const char *field)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	size_t flen = strlen(field);
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
		if (in && !strncmp(line, field, flen) && line[flen] == ':') {
			kb = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* kB of AnonHugePages in the VMA holding @addr */
static inline long odp_anon_huge_kb(const void *addr)
{
	return odp_smaps_kb(addr, "AnonHugePages");
}

/* Write @s to the (proc or sysfs) file @path; 0 or -errno */
static inline int odp_put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : n < 0 ? -errno : -EIO;
}

/* Times odp_map_thp() compacts memory and collapses before giving up */
#define ODP_THP_TRIES	4

/*
 * @len bytes of THP-backed memory at @addr (2M-aligned, fixed) or
 * anywhere, filled with @fill. NULL unless every 2M is a PMD-mapped THP,
 * as AnonHugePages shows. On a fragmented guest the first faults may get
 * 4K pages: then compact all memory and MADV_COLLAPSE the range, which
 * keeps its contents, up to ODP_THP_TRIES times.
 */
static inline void *odp_map_thp(void *addr, size_t len, int fill)
{
	char *p = addr ? addr : odp_reserve_va(len, SZ_2M);
	int tries;

	if (!p || !odp_map_anon(p, len, MADV_HUGEPAGE))
		return NULL;
	memset(p, fill, len);
	for (tries = 0; odp_anon_huge_kb(p) < (long)(len >> 10); tries++) {
		if (tries == ODP_THP_TRIES) {
			munmap(p, len);
			return NULL;
		}
		odp_put("/proc/sys/vm/compact_memory", "1");
		madvise(p, len, MADV_COLLAPSE);
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
 * pfns of the @n pages from @addr into @pfns (0 where none), in one read
 * of /proc/self/pagemap; 0 or -errno
 */
static inline int odp_pfns(const void *addr, size_t n, __u64 *pfns)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t want = n * sizeof(*pfns), i;
	ssize_t got;

	if (fd < 0)
		return -errno;
	got = pread(fd, pfns, want, (uintptr_t)addr / SZ_4K * sizeof(*pfns));
	close(fd);
	if (got != (ssize_t)want)
		return got < 0 ? -errno : -EIO;
	for (i = 0; i < n; i++)
		pfns[i] = (pfns[i] >> 63) ? pfns[i] & ((1ULL << 55) - 1) : 0;
	return 0;
}

/* /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h) */
#define ODP_KPF_COMPOUND_HEAD	15
#define ODP_KPF_COMPOUND_TAIL	16
#define ODP_KPF_THP		22

/* The kpageflags of @pfn, or 0 if they cannot be read */
static inline __u64 odp_kpageflags(__u64 pfn)
{
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	__u64 f = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &f, sizeof(f), pfn * sizeof(f)) != sizeof(f))
		f = 0;
	close(fd);
	return f;
}

/* Is every page of [addr, addr + len) mapped, and an order-0 folio? */
static inline bool odp_order0_pages(const void *addr, size_t len)
{
	const __u64 big = 1ULL << ODP_KPF_COMPOUND_HEAD |
			  1ULL << ODP_KPF_COMPOUND_TAIL | 1ULL << ODP_KPF_THP;
	size_t off;

	for (off = 0; off < len; off += SZ_4K) {
		__u64 pfn = odp_pfn((const char *)addr + off);

		if (!pfn || (odp_kpageflags(pfn) & big))
			return false;
	}
	return true;
}

#define ODP_SPLIT_HUGE_PAGES	"/sys/kernel/debug/split_huge_pages"

/*
 * Split the THPs of [p, p + len) into order-0 folios where they are, with
 * the debugfs knob of mm/huge_memory.c ("<pid>,0x<start>,0x<end>"): the
 * pages stay mapped, by PTEs, and physically contiguous. 0 or -errno;
 * check the outcome with odp_order0_pages().
 */
static inline int odp_split_thp(const void *p, size_t len)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "%d,%#lx,%#lx", getpid(), (unsigned long)p,
		 (unsigned long)p + len);
	return odp_put(ODP_SPLIT_HUGE_PAGES, cmd);
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

/*
 * The IOMMU's page table for one PCI device, from the Intel IOMMU's debugfs
 * (CONFIG_INTEL_IOMMU_DEBUGFS, 6.2 on): domain_translation_struct lists
 * each translation as "0x<IOVA pfn> |" and the entries of its walk, top
 * level first, 3 of them (PML5E, PML4E, PDPE) always, then the PDE and the
 * PTE if the walk gets there. So a 1G superpage ends at the third entry, a
 * 2M one at the fourth, a 4K page at the fifth; a superpage entry has bit
 * 7 set.
 */
struct odp_iommu_leaf {
	__u64 iova;		/* first IOVA of the translation */
	unsigned int level;	/* 1: 4K PTE, 2: 2M PDE, 3: 1G PDPE */
	__u64 entry;		/* the leaf entry: address and flags */
};

#define ODP_VTD_SUPERPAGE	0x80ULL	/* bit 7 */
#define ODP_VTD_ADDR_MASK	0x000ffffffffff000ULL

static inline __u64 odp_iommu_leaf_size(const struct odp_iommu_leaf *l)
{
	return SZ_4K << (9 * (l->level - 1));
}

/* The debugfs file of the PCI device @bdf ("0000:00:03.0") */
static inline void odp_iommu_path(char *path, size_t size, const char *bdf)
{
	snprintf(path, size, "/sys/kernel/debug/iommu/intel/%s/domain_translation_struct",
		 bdf);
}

/*
 * Walk the IOMMU page table of @bdf: @fn (if given) sees every translation
 * in IOVA order, and stops the walk by returning false; *@tables (if
 * given) gets the number of table pages, the root included, read off the
 * walk (a table shows up as a new value of the entry pointing to it).
 * Return: translations seen, or -errno (-ENOENT without the debugfs file).
 */
static inline long odp_iommu_walk(const char *bdf,
				  bool (*fn)(const struct odp_iommu_leaf *l, void *arg),
				  void *arg, long *tables)
{
	__u64 prev[5] = { 0 };
	char path[160], line[256];
	long n = 0, t = 0;
	bool root = false;
	FILE *f;

	odp_iommu_path(path, sizeof(path), bdf);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct odp_iommu_leaf l;
		__u64 e[5] = { 0 };
		unsigned long long pfn;
		char *p = line, *end;
		int k = 0, i;

		if (sscanf(line, "0x%llx |", &pfn) != 1)
			continue;
		p = strchr(line, '|') + 1;
		while (k < 5) {
			e[k] = strtoull(p, &end, 16);
			if (end == p)
				break;
			p = end;
			k++;
		}
		if (k < 3)
			continue;
		root = true;
		/* entries before the last point to tables: a new value, a new table */
		for (i = 0; i < k - 1; i++)
			if (e[i] && e[i] != prev[i])
				t++;
		memcpy(prev, e, sizeof(prev));
		l.iova = (__u64)pfn * SZ_4K;
		l.level = 6 - k;
		l.entry = e[k - 1];
		n++;
		if (fn && !fn(&l, arg))
			break;
	}
	fclose(f);
	if (tables)
		*tables = t + root;
	return n;
}

struct odp_iommu_find {
	__u64 iova;
	struct odp_iommu_leaf leaf;
	bool found;
};

static inline bool odp_iommu_find_fn(const struct odp_iommu_leaf *l, void *arg)
{
	struct odp_iommu_find *q = arg;

	if (q->iova >= l->iova && q->iova - l->iova < odp_iommu_leaf_size(l)) {
		q->leaf = *l;
		q->found = true;
		return false;
	}
	return l->iova <= q->iova;
}

/*
 * The IOMMU's translation of @iova for @bdf. Return: 1 and *@leaf, 0 if
 * the IOMMU does not map @iova, or -errno.
 */
static inline int odp_iommu_lookup(const char *bdf, __u64 iova,
				   struct odp_iommu_leaf *leaf)
{
	struct odp_iommu_find q = { .iova = iova };
	long n = odp_iommu_walk(bdf, odp_iommu_find_fn, &q, NULL);

	if (n < 0)
		return n;
	if (q.found)
		*leaf = q.leaf;
	return q.found;
}

#endif /* ODP_TEST_LIB_H */
