// SPDX-License-Identifier: GPL-2.0
/*
 * odp-mirror with real DMA: QEMU's edu PCI device, behind the emulated
 * VT-d IOMMU, reads and writes the mirrored memory with its DMA engine at
 * the DMA addresses of the mirror's leaves (/dev/odp_edu, drivers/odp_edu.c).
 *
 * - Data: device reads of the first, a middle and the last bytes of 4K,
 *   2M (THP and hugetlb) and 1G leaves return what the CPU wrote, through
 *   the engine (its transfer counter says so); device writes reach the CPU.
 * - The IOMMU's page table, read from its debugfs, maps a 2M or 1G leaf
 *   with one superpage of the same physical memory. Booted with
 *   intel_iommu=sp_off (make check's negative control), the same test
 *   expects and finds 4K pages instead.
 * - After munmap, MADV_DONTNEED or mprotect(PROT_NONE) of a page the device
 *   had mapped, a DMA to its old address does not return the old data, and
 *   the IOMMU logs a DMAR fault there. The test waits for that line in the
 *   kernel log and announces it ("# ODP-DMAR-EXPECTED <address>"):
 *   report.sh fails the run on any DMAR fault nobody announced.
 * - A 4K invalidation inside a 2M leaf leaves the other 511 pages reachable.
 * - Once every MR is unregistered and every fd closed, the IOMMU maps
 *   nothing of the mirror's, DMA API debugging tracks nothing of it, and it
 *   reported no error.
 *
 * A DMA takes 100 ms of QEMU's clock, so the tests sample bytes rather than
 * sweep memory. The IOMMU ratelimits its fault messages (10 lines per
 * 5 s, 3 per fault): expected faults are spaced by ODP_DMAR_GAP_MS.
 */
#include <linux/capability.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>

#include "kselftest_harness.h"
#include "odp_test_lib.h"

#define RAW_PARAM	"/sys/module/odp_edu/parameters/raw_dma"
#define DMA_API		"/sys/kernel/debug/dma-api"
#define DMAR_STAMP	"/tmp/odp_edu_dmar_last"
#define ODP_DMAR_GAP_MS	2000
#define WIN		64	/* bytes of one sample */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool cmdline_has(const char *word)
{
	char line[2048] = "";
	FILE *f = fopen("/proc/cmdline", "r");
	bool has;

	if (!f)
		return false;
	has = fgets(line, sizeof(line), f) && strstr(line, word);
	fclose(f);
	return has;
}

/* Does the IOMMU use superpages? Not when booted with intel_iommu=sp_off */
static bool superpages(void)
{
	return !cmdline_has("sp_off");
}

static int edu_info(int fd, struct odp_edu_info *i)
{
	memset(i, 0, sizeof(*i));
	i->size = sizeof(*i);
	return odp_ioctl(fd, ODP_EDU_IOC_INFO, i);
}

static int edu_raw(int fd, __u64 dma, void *buf, size_t len, __u8 fill)
{
	struct odp_edu_raw a = {
		.size = sizeof(a), .fill = fill, .dma = dma, .length = len,
		.ptr = (uintptr_t)buf,
	};

	return odp_ioctl(fd, ODP_EDU_IOC_RAW_READ, &a);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Lines of DMA API debugging's dump that name @bdf, -1 without it */
static long dma_api_entries(const char *bdf)
{
	FILE *f = fopen(DMA_API "/dump", "r");
	char line[512];
	long n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, bdf);
	fclose(f);
	return n;
}

static bool all_bytes(const void *p, size_t len, int c)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return false;
	return true;
}

/* --- the kernel log: DMAR faults --- */

/* /dev/kmsg, read from what comes next */
static int kmsg_open(void)
{
	int k = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (k >= 0)
		lseek(k, 0, SEEK_END);
	return k;
}

/* Wait up to @secs for a kernel log record that contains @needle */
static bool kmsg_wait(int k, const char *needle, int secs)
{
	double end = now_ms() + secs * 1e3;
	char rec[2048];

	for (;;) {
		ssize_t n = read(k, rec, sizeof(rec) - 1);

		if (n > 0) {
			rec[n] = 0;
			if (strstr(rec, needle))
				return true;
			continue;
		}
		if (n < 0 && errno == EPIPE)	/* records overwritten: go on */
			continue;
		if (now_ms() > end)
			return false;
		usleep(20000);
	}
}

/*
 * Before a DMA that must fault: let ODP_DMAR_GAP_MS pass since the last
 * one (tests run in child processes, so the time is kept in a file), so
 * that the IOMMU driver's ratelimit never swallows the message.
 */
static void dmar_gap(void)
{
	FILE *f = fopen(DMAR_STAMP, "r");
	double last = 0, wait;

	if (f) {
		if (fscanf(f, "%lf", &last) != 1)
			last = 0;
		fclose(f);
	}
	wait = last + ODP_DMAR_GAP_MS - now_ms();
	if (last && wait > 0)
		usleep(wait * 1e3);
}

static void dmar_expected(__u64 dma)
{
	FILE *f = fopen(DMAR_STAMP, "w");

	if (f) {
		fprintf(f, "%f\n", now_ms());
		fclose(f);
	}
	printf("# ODP-DMAR-EXPECTED 0x%llx\n", (unsigned long long)dma);
	fflush(stdout);
}

/*
 * @dma, whose page held @old (WIN bytes), must be out of the device's
 * reach: a DMA there gives the device's buffer nothing of @old (QEMU
 * fills it with zeros when the IOMMU refuses, or leaves it as it was),
 * and the IOMMU logs a fault at that page.
 */
static void expect_unreachable(struct __test_metadata *_metadata, int fd,
			       __u64 dma, const void *old)
{
	char got[WIN], needle[64];
	int k = kmsg_open();

	ASSERT_LE(0, k);
	dmar_gap();
	ASSERT_EQ(0, edu_raw(fd, dma, got, WIN, 0xa5));
	dmar_expected(dma);
	EXPECT_NE(0, memcmp(got, old, WIN));
	EXPECT_TRUE(all_bytes(got, WIN, 0) || all_bytes(got, WIN, 0xa5))
		TH_LOG("the device read %#llx at %#llx", *(unsigned long long *)got,
		       (unsigned long long)dma);
	snprintf(needle, sizeof(needle), "fault addr %#llx [",
		 (unsigned long long)(dma & ~(SZ_4K - 1)));
	EXPECT_TRUE(kmsg_wait(k, needle, 60))
		TH_LOG("no DMAR fault \"%s\" in the kernel log", needle);
	close(k);
}

/* --- IOMMU page table --- */

struct span_census {
	__u64 lo, hi;		/* IOVA range */
	__u64 phys;		/* physical address expected at lo */
	unsigned long pages[4];	/* translations inside, by level */
	unsigned long wrong;	/* ... that map the wrong physical address */
	unsigned long outside;	/* ... that reach past the range */
};

static bool span_census_fn(const struct odp_iommu_leaf *l, void *arg)
{
	struct span_census *c = arg;
	__u64 size = odp_iommu_leaf_size(l);

	if (l->iova + size <= c->lo)
		return true;
	if (l->iova >= c->hi)
		return false;
	if (l->iova < c->lo || l->iova + size > c->hi) {
		c->outside++;
		return true;
	}
	c->pages[l->level]++;
	if ((l->entry & ODP_VTD_ADDR_MASK) != c->phys + (l->iova - c->lo))
		c->wrong++;
	return true;
}

static long iommu_census(const char *bdf, __u64 iova, __u64 len, __u64 phys,
			 struct span_census *c)
{
	memset(c, 0, sizeof(*c));
	c->lo = iova;
	c->hi = iova + len;
	c->phys = phys;
	return odp_iommu_walk(bdf, span_census_fn, c, NULL);
}

static bool pages_fn(const struct odp_iommu_leaf *l, void *arg)
{
	*(__u64 *)arg += odp_iommu_leaf_size(l) / SZ_4K;
	return true;
}

/* 4K pages the IOMMU maps for @bdf, -errno without its debugfs */
static long long iommu_mapped_pages(const char *bdf)
{
	__u64 pages = 0;
	long n = odp_iommu_walk(bdf, pages_fn, &pages, NULL);

	return n < 0 ? n : (long long)pages;
}

static bool iommu_debugfs(const char *bdf)
{
	char path[160];

	odp_iommu_path(path, sizeof(path), bdf);
	return !access(path, R_OK);
}

/* --- the device: what every test starts from --- */

FIXTURE(edu)
{
	int fd;
	struct odp_edu_info info;
	char bdf[32];
	bool raw;
};

/* Open /dev/odp_edu; false (the test skipped or failed) if it cannot */
static bool edu_open_info(struct __test_metadata *_metadata, int *fd,
			  struct odp_edu_info *info, char *bdf, size_t size)
{
	*fd = odp_open_dev(ODP_EDU_PATH);
	if (*fd < 0)
		SKIP(return false, "%s: %s (a guest without QEMU's edu device?)",
		     ODP_EDU_PATH, strerror(errno));
	EXPECT_EQ(0, edu_info(*fd, info));
	if (_metadata->exit_code)
		return false;
	snprintf(bdf, size, "%04x:%02x:%02x.%x", info->pci_domain, info->pci_bus,
		 info->pci_devfn >> 3, info->pci_devfn & 7);
	return true;
}

FIXTURE_SETUP(edu)
{
	self->fd = -1;
	if (!edu_open_info(_metadata, &self->fd, &self->info, self->bdf, sizeof(self->bdf)))
		return;
}

FIXTURE_TEARDOWN(edu)
{
	if (self->raw)
		odp_put(RAW_PARAM, "0");
	close(self->fd);
}

TEST_F(edu, device_and_iommu)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/module", self->bdf);
	EXPECT_EQ(0, access(path, F_OK)) TH_LOG("%s: not bound", self->bdf);
	/* the guest runs with intel_iommu=on */
	if (!access("/sys/class/iommu/dmar0", F_OK))
		EXPECT_TRUE(self->info.flags & ODP_EDU_INFO_IOMMU);
	EXPECT_FALSE(self->info.flags & ODP_EDU_INFO_RAW);
	TH_LOG("edu at %s, %s", self->bdf,
	       !(self->info.flags & ODP_EDU_INFO_IOMMU) ? "no IOMMU" :
	       self->info.flags & ODP_EDU_INFO_IOVA ? "one IOVA range per MR" :
	       "one dma_map_page() per leaf");
}

struct nocap {
	int fd;
	struct odp_edu_raw *r;
	int capset;
	int ret;
};

/* RAW_READ from a thread that dropped every capability (capset is per thread) */
static void *raw_without_caps(void *arg)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};
	struct nocap *n = arg;

	n->capset = syscall(SYS_capset, &h, d) ? -errno : 0;
	n->ret = odp_ioctl(n->fd, ODP_EDU_IOC_RAW_READ, n->r);
	return NULL;
}

TEST_F(edu, edu_ioctl_errors)
{
	struct odp_edu_raw r = { .size = sizeof(r), .length = 8 };
	struct odp_edu_info i = { .size = sizeof(i) - 1 };
	struct nocap nocap = {};
	char buf[16];
	pthread_t th;
	int sim;

	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_EDU_IOC_INFO, &i));
	EXPECT_EQ(-EFAULT, odp_ioctl(self->fd, ODP_EDU_IOC_INFO, NULL));
	/* off by default */
	r.ptr = (uintptr_t)buf;
	EXPECT_EQ(-EPERM, odp_ioctl(self->fd, ODP_EDU_IOC_RAW_READ, &r));
	ASSERT_EQ(0, odp_put(RAW_PARAM, "1"));
	self->raw = true;
	r.length = 0;
	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_EDU_IOC_RAW_READ, &r));
	r.length = ODP_EDU_RAW_MAX + 1;
	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_EDU_IOC_RAW_READ, &r));
	r.length = 8;
	r.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_EDU_IOC_RAW_READ, &r));
	r.reserved[1] = 0;
	r.size = 8;
	EXPECT_EQ(-EINVAL, odp_ioctl(self->fd, ODP_EDU_IOC_RAW_READ, &r));
	/* without CAP_SYS_ADMIN, even when allowed (same mm: a thread) */
	r.size = sizeof(r);
	nocap.fd = self->fd;
	nocap.r = &r;
	ASSERT_EQ(0, pthread_create(&th, NULL, raw_without_caps, &nocap));
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, nocap.capset);
	EXPECT_EQ(-EPERM, nocap.ret);
	/* the simulated device knows neither */
	sim = odp_open_dev(ODP_SIM_PATH);
	if (sim >= 0) {
		r.size = sizeof(r);
		i.size = sizeof(i);
		EXPECT_EQ(-ENOTTY, odp_ioctl(sim, ODP_EDU_IOC_INFO, &i));
		EXPECT_EQ(-ENOTTY, odp_ioctl(sim, ODP_EDU_IOC_RAW_READ, &r));
		close(sim);
	}
}

/* --- data and IOMMU mappings, per kind of memory --- */

enum kind { K_4K, K_THP, K_H2M, K_H1G };

FIXTURE(mem)
{
	int fd;
	struct odp_edu_info info;
	char bdf[32];
	char *p;
	size_t len;
	size_t leaf;
};

FIXTURE_VARIANT(mem)
{
	enum kind kind;
	unsigned int shift;	/* of the leaves the device must get */
	size_t leaves;		/* leaves of the region */
};

FIXTURE_VARIANT_ADD(mem, pages_4k) { .kind = K_4K, .shift = 12, .leaves = 4 };
FIXTURE_VARIANT_ADD(mem, thp) { .kind = K_THP, .shift = 21, .leaves = 2 };
FIXTURE_VARIANT_ADD(mem, hugetlb_2m) { .kind = K_H2M, .shift = 21, .leaves = 2 };
FIXTURE_VARIANT_ADD(mem, hugetlb_1g) { .kind = K_H1G, .shift = 30, .leaves = 1 };

/* Where the samples of one leaf of @leaf bytes start: first, middle, last */
static size_t sample_off(size_t leaf, int i)
{
	return i == 0 ? 0 : i == 1 ? leaf / 2 - WIN / 2 : leaf - WIN;
}

FIXTURE_SETUP(mem)
{
	size_t l, i;

	self->fd = -1;
	self->p = NULL;
	if (!edu_open_info(_metadata, &self->fd, &self->info, self->bdf, sizeof(self->bdf)))
		return;
	self->leaf = 1UL << variant->shift;
	self->len = self->leaf * variant->leaves;
	switch (variant->kind) {
	case K_4K:
		self->p = odp_map_anon(NULL, self->len, MADV_NOHUGEPAGE);
		break;
	case K_THP:
		self->p = odp_map_thp(NULL, self->len, 0);
		break;
	default:
		if (odp_hugetlb_free(self->leaf) < (long)variant->leaves)
			SKIP(return, "%zu free hugetlb pages of %zu KiB needed",
			     variant->leaves, self->leaf >> 10);
		self->p = odp_map_hugetlb(NULL, self->len, self->leaf);
		break;
	}
	if (!self->p)
		SKIP(return, "no such memory in this guest");
	ASSERT_EQ(0, (uintptr_t)self->p % self->leaf);
	/* the pattern around each sample, zeros elsewhere */
	for (l = 0; l < variant->leaves; l++)
		for (i = 0; i < 3; i++) {
			char *at = self->p + l * self->leaf + sample_off(self->leaf, i);

			odp_fill(at, WIN, 1);
		}
	if (variant->kind == K_THP)
		ASSERT_LE((long)(self->len >> 10), odp_anon_huge_kb(self->p));
	ASSERT_EQ(0, odp_mr_rw(self->fd, self->p, self->len, NULL));
}

FIXTURE_TEARDOWN(mem)
{
	if (self->p)
		munmap(self->p, self->len);
	close(self->fd);
}

TEST_F(mem, read_first_middle_last)
{
	struct odp_edu_info i0, i1;
	struct odp_sim_translate t;
	char buf[2 * WIN];
	size_t l, i;

	for (l = 0; l < variant->leaves; l++)
		for (i = 0; i < 3; i++) {
			char *at = self->p + l * self->leaf + sample_off(self->leaf, i);

			ASSERT_EQ(0, edu_info(self->fd, &i0));
			ASSERT_EQ(0, odp_dev_read(self->fd, at, buf, WIN, NULL));
			ASSERT_EQ(0, edu_info(self->fd, &i1));
			EXPECT_TRUE(odp_check(buf, at, WIN, 1))
				TH_LOG("leaf %zu, offset %#zx", l, sample_off(self->leaf, i));
			/* by DMA: leaf -> edu buffer -> coherent buffer */
			EXPECT_EQ(2, i1.transfers - i0.transfers);
			EXPECT_EQ(2 * WIN, i1.bytes - i0.bytes);
			ASSERT_EQ(0, odp_translate(self->fd, at, &t));
			EXPECT_EQ(variant->shift, t.shift);
		}
	/* across two leaves: two transfers from memory, one out */
	if (variant->leaves > 1) {
		char *at = self->p + self->leaf - WIN;

		odp_fill(at, 2 * WIN, 1);
		ASSERT_EQ(0, edu_info(self->fd, &i0));
		ASSERT_EQ(0, odp_dev_read(self->fd, at, buf, 2 * WIN, NULL));
		ASSERT_EQ(0, edu_info(self->fd, &i1));
		EXPECT_TRUE(odp_check(buf, at, 2 * WIN, 1));
		EXPECT_EQ(3, i1.transfers - i0.transfers);
	}
}

TEST_F(mem, write_first_middle_last)
{
	char buf[WIN];
	size_t l, i;

	for (l = 0; l < variant->leaves; l++)
		for (i = 0; i < 3; i++) {
			char *at = self->p + l * self->leaf + sample_off(self->leaf, i);

			/* 8 bytes of it, and the words next to it stay */
			odp_pattern(buf, at, WIN, 2);
			ASSERT_EQ(0, odp_dev_write(self->fd, at + 8, buf + 8, WIN - 16, NULL));
			EXPECT_TRUE(odp_check(at, at, 8, 1));
			EXPECT_TRUE(odp_check(at + 8, at + 8, WIN - 16, 2))
				TH_LOG("leaf %zu, offset %#zx", l, sample_off(self->leaf, i));
			EXPECT_TRUE(odp_check(at + WIN - 8, at + WIN - 8, 8, 1));
		}
}

/*
 * A leaf mapped for DMA read-only (a read prefetch) cannot gain write
 * access in place: its mapping's direction lets the device only read. A
 * device write faults, the mirror maps the leaf again for both ways
 * (STATS refreshes), and the write lands; an upgrade in place would leave
 * the IOMMU mapping read-only, the write lost and a DMAR fault logged.
 */
TEST_F(mem, write_after_read_prefetch)
{
	struct odp_sim_stats s0, s1;
	struct odp_sim_translate t;
	char buf[WIN];
	size_t l;

	ASSERT_EQ(0, odp_prefetch(self->fd, self->p, self->len, ODP_SIM_PREFETCH_READ));
	ASSERT_EQ(0, odp_translate(self->fd, self->p, &t));
	ASSERT_EQ(ODP_SIM_SNAP_PRESENT, t.flags & (ODP_SIM_SNAP_PRESENT | ODP_SIM_SNAP_WRITE));
	ASSERT_EQ(0, odp_stats(self->fd, &s0));
	for (l = 0; l < variant->leaves; l++) {
		char *at = self->p + l * self->leaf + sample_off(self->leaf, 1);

		odp_pattern(buf, at, WIN, 3);
		ASSERT_EQ(0, odp_dev_write(self->fd, at, buf, WIN, NULL));
		EXPECT_TRUE(odp_check(at, at, WIN, 3)) TH_LOG("leaf %zu", l);
		ASSERT_EQ(0, odp_translate(self->fd, at, &t));
		EXPECT_EQ(ODP_SIM_SNAP_PRESENT | ODP_SIM_SNAP_WRITE,
			  t.flags & (ODP_SIM_SNAP_PRESENT | ODP_SIM_SNAP_WRITE));
		EXPECT_EQ(variant->shift, t.shift);
	}
	ASSERT_EQ(0, odp_stats(self->fd, &s1));
	EXPECT_EQ(variant->leaves, s1.refreshes - s0.refreshes);
}

/*
 * The IOMMU maps each leaf the way the mirror mapped it for DMA: one
 * superpage of the leaf's physical memory at its DMA address, or with
 * intel_iommu=sp_off, 4K pages of that memory.
 */
TEST_F(mem, iommu_superpage)
{
	bool sp = superpages();
	size_t l;

	if (!(self->info.flags & ODP_EDU_INFO_IOMMU))
		SKIP(return, "no IOMMU translates the device's DMA");
	if (!iommu_debugfs(self->bdf))
		SKIP(return, "no IOMMU page table per device in debugfs (INTEL_IOMMU_DEBUGFS)");
	ASSERT_EQ(0, odp_prefetch(self->fd, self->p, self->len, ODP_SIM_PREFETCH_WRITE));
	for (l = 0; l < variant->leaves; l++) {
		char *at = self->p + l * self->leaf;
		struct odp_sim_translate t;
		struct odp_iommu_leaf il;
		struct span_census c;
		__u64 phys = odp_pfn(at) * SZ_4K;
		unsigned int level = 1;

		ASSERT_NE(0, phys);
		ASSERT_EQ(0, odp_translate(self->fd, at, &t));
		ASSERT_EQ(variant->shift, t.shift);
		EXPECT_EQ(0, t.target % self->leaf) TH_LOG("DMA address %#llx",
							   (unsigned long long)t.target);
		ASSERT_EQ(1, odp_iommu_lookup(self->bdf, t.target, &il));
		if (sp)
			level = variant->shift == 30 ? 3 : variant->shift == 21 ? 2 : 1;
		EXPECT_EQ(level, il.level) TH_LOG("IOVA %#llx, entry %#llx",
						  (unsigned long long)t.target,
						  (unsigned long long)il.entry);
		EXPECT_EQ(t.target, il.iova);
		EXPECT_EQ(phys, il.entry & ODP_VTD_ADDR_MASK);
		if (level > 1)
			EXPECT_TRUE(il.entry & ODP_VTD_SUPERPAGE);
		/* the whole leaf, and nothing around it */
		ASSERT_LE(0, iommu_census(self->bdf, t.target, self->leaf, phys, &c));
		EXPECT_EQ(self->leaf >> (12 + 9 * (level - 1)), c.pages[level]);
		EXPECT_EQ(0, c.wrong);
		EXPECT_EQ(0, c.outside);
		TH_LOG("leaf %zu: DMA %#llx, IOMMU: %lu %s, %s", l,
		       (unsigned long long)t.target, c.pages[level],
		       level == 3 ? "1G superpage" : level == 2 ? "2M superpage(s)" : "4K page(s)",
		       sp ? "superpages on" : "intel_iommu=sp_off");
	}
}

/* --- what the device can reach once the CPU mapping changed --- */

/* The device with raw DMA on, behind an IOMMU */
FIXTURE(stale)
{
	int fd;
	struct odp_edu_info info;
	char bdf[32];
};

FIXTURE_SETUP(stale)
{
	self->fd = -1;
	if (!edu_open_info(_metadata, &self->fd, &self->info, self->bdf, sizeof(self->bdf)))
		return;
	if (!(self->info.flags & ODP_EDU_INFO_IOMMU))
		SKIP(return, "no IOMMU translates its DMA: a stale address reaches memory");
	ASSERT_EQ(0, odp_put(RAW_PARAM, "1"));
}

FIXTURE_TEARDOWN(stale)
{
	odp_put(RAW_PARAM, "0");
	close(self->fd);
}

enum stale_op { OP_MUNMAP, OP_DONTNEED, OP_PROT_NONE };

/*
 * A page the device mapped as a 4K leaf: after @op its old DMA address
 * gives nothing, the DMA mapping is gone, and the device itself faults on
 * the page again.
 */
static void stale_4k(struct __test_metadata *_metadata, int fd, enum stale_op op)
{
	size_t len = 4 * SZ_4K;
	char *p = odp_map_anon(NULL, len, MADV_NOHUGEPAGE), *page;
	struct odp_sim_stats s0, s1;
	struct odp_sim_translate t;
	char old[WIN], got[WIN];
	__u64 faults;

	ASSERT_NE(NULL, p);
	page = p + SZ_4K;
	odp_fill(p, len, 1);
	memcpy(old, page, WIN);
	ASSERT_EQ(0, odp_mr_rw(fd, p, len, NULL));
	ASSERT_EQ(0, odp_dev_read(fd, page, got, WIN, NULL));
	ASSERT_EQ(0, odp_translate(fd, page, &t));
	ASSERT_EQ(12, t.shift);
	/* the raw DMA reaches the page while it is mapped */
	ASSERT_EQ(0, edu_raw(fd, t.target, got, WIN, 0xa5));
	ASSERT_EQ(0, memcmp(got, old, WIN));
	ASSERT_EQ(0, odp_stats(fd, &s0));

	switch (op) {
	case OP_MUNMAP:
		ASSERT_EQ(0, munmap(page, SZ_4K));
		break;
	case OP_DONTNEED:
		ASSERT_EQ(0, madvise(page, SZ_4K, MADV_DONTNEED));
		break;
	case OP_PROT_NONE:
		ASSERT_EQ(0, mprotect(page, SZ_4K, PROT_NONE));
		break;
	}
	ASSERT_EQ(0, odp_stats(fd, &s1));
	EXPECT_EQ(s0.dma_unmaps + 1, s1.dma_unmaps);
	EXPECT_EQ(s1.dma_maps, s1.dma_unmaps);
	expect_unreachable(_metadata, fd, t.target, old);

	/* the device's own access faults and sees what the CPU sees */
	if (op == OP_DONTNEED) {
		EXPECT_EQ(0, odp_dev_read(fd, page, got, WIN, &faults));
		EXPECT_EQ(1, faults);
		EXPECT_TRUE(all_bytes(got, WIN, 0));
	} else {
		EXPECT_EQ(-EFAULT, odp_dev_read(fd, page, got, WIN, NULL));
	}
	munmap(p, len);
}

TEST_F(stale, after_munmap)
{
	stale_4k(_metadata, self->fd, OP_MUNMAP);
}

TEST_F(stale, after_dontneed)
{
	stale_4k(_metadata, self->fd, OP_DONTNEED);
}

TEST_F(stale, after_prot_none)
{
	stale_4k(_metadata, self->fd, OP_PROT_NONE);
}

/*
 * munmap of 4K inside a PMD-mapped THP: the kernel invalidates the whole
 * 2M, so the device loses the whole leaf; the munmapped page's old DMA
 * address gives nothing, the rest refaults.
 */
TEST_F(stale, after_munmap_in_thp)
{
	char *p, *page, old[WIN], got[WIN];
	struct odp_sim_translate t;
	__u64 faults;

	p = odp_map_thp(NULL, SZ_2M, 0);
	if (!p)
		SKIP(return, "no THP");
	page = p + 5 * SZ_4K;
	odp_fill(p, SZ_2M, 1);
	memcpy(old, page, WIN);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_translate(self->fd, page, &t));
	ASSERT_EQ(21, t.shift);
	ASSERT_EQ(0, edu_raw(self->fd, t.target, got, WIN, 0xa5));
	ASSERT_EQ(0, memcmp(got, old, WIN));
	ASSERT_EQ(0, munmap(page, SZ_4K));
	expect_unreachable(_metadata, self->fd, t.target, old);
	EXPECT_EQ(0, odp_dev_read(self->fd, page + SZ_4K, got, WIN, &faults));
	EXPECT_EQ(1, faults);
	EXPECT_TRUE(odp_check(got, page + SZ_4K, WIN, 1));
	munmap(p, SZ_2M);
}

/* Pages of the PTE-mapped THP that the split test samples */
static const size_t split_pages[] = { 0, 99, 101, 300, 511 };
#define SPLIT_HOLE	100

struct hole_census {
	__u64 base, hole;
	unsigned long in, at_hole, not_4k;
};

static bool hole_fn(const struct odp_iommu_leaf *l, void *arg)
{
	struct hole_census *c = arg;

	if (l->iova < c->base)
		return true;
	if (l->iova >= c->base + SZ_2M)
		return false;
	c->in++;
	c->at_hole += l->iova == c->hole;
	c->not_4k += l->level != 1;
	return true;
}

/*
 * MADV_DONTNEED of 4K inside a 2M leaf built from a PTE-mapped THP: a
 * partial invalidation. The device can no longer reach the page, and still
 * reaches the other 511. With one IOVA range per MR (7.x) they keep their
 * DMA addresses, which the IOMMU still maps, and nothing refaults; with
 * one dma_map_page() per leaf the whole leaf goes, and the device refaults
 * the rest. With @implicit, the MR lies in an implicit chunk that exists
 * (a page next to it was faulted through the implicit MR): the chunk's
 * notifier, which covers the MR too, must leave the MR's leaves, and its
 * IOVA range, to the MR's own notifier.
 */
static void split_keeps_rest(struct __test_metadata *_metadata,
			     struct _test_data_stale *self, bool implicit)
{
	bool iova = self->info.flags & ODP_EDU_INFO_IOVA;
	char *p, *hole, *q, old[WIN], got[WIN];
	struct odp_sim_stats s0, s1, s2;
	struct odp_sim_translate t;
	struct odp_census cen;
	__u64 base, faults = 0;
	size_t i;

	/* 4M-aligned: the THP and the page after it share a 1G chunk */
	p = odp_reserve_va(2 * SZ_2M, 2 * SZ_2M);
	ASSERT_NE(NULL, p);
	q = p + SZ_2M;
	if (!odp_map_thp(p, SZ_2M, 0)) {
		munmap(p, 2 * SZ_2M);
		SKIP(return, "no THP");
	}
	ASSERT_NE(NULL, odp_map_anon(q, SZ_4K, MADV_NOHUGEPAGE));
	odp_fill(p, SZ_2M, 1);
	odp_fill(q, SZ_4K, 2);
	if (!odp_thp_to_ptes(p)) {
		munmap(p, 2 * SZ_2M);
		SKIP(return, "no PTE-mapped, physically contiguous THP");
	}
	hole = p + SPLIT_HOLE * SZ_4K;
	memcpy(old, hole, WIN);
	if (implicit) {
		ASSERT_EQ(0, odp_implicit(self->fd, true));
		ASSERT_EQ(0, odp_prefetch(self->fd, q, SZ_4K, ODP_SIM_PREFETCH_WRITE));
		ASSERT_EQ(0, odp_stats(self->fd, &s0));
		ASSERT_EQ(1, s0.implicit_chunks);
	}
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_translate(self->fd, p, &t));
	ASSERT_EQ(21, t.shift);
	base = t.target;
	ASSERT_EQ(0, edu_raw(self->fd, base + 300 * SZ_4K, got, WIN, 0xa5));
	ASSERT_TRUE(odp_check(got, p + 300 * SZ_4K, WIN, 1));
	ASSERT_EQ(0, odp_stats(self->fd, &s0));

	ASSERT_EQ(0, madvise(hole, SZ_4K, MADV_DONTNEED));
	ASSERT_EQ(0, odp_stats(self->fd, &s1));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &cen));
	/* one DMA mapping per leaf left in the table, and the implicit page's */
	EXPECT_EQ(cen.present + implicit, s1.dma_maps - s1.dma_unmaps);
	if (iova) {
		EXPECT_EQ(s0.splits + 1, s1.splits);
		EXPECT_EQ(s0.dma_relinks + 1, s1.dma_relinks);
		EXPECT_EQ(511, cen.present);
	} else {
		/* dma_map_page() cannot unmap a part: the leaf goes whole */
		EXPECT_EQ(0, cen.present);
		EXPECT_EQ(s0.dma_unmaps + 1, s1.dma_unmaps);
	}
	expect_unreachable(_metadata, self->fd, base + SPLIT_HOLE * SZ_4K, old);

	if (iova) {
		/* the old DMA addresses of the others still reach them */
		for (i = 0; i < ARRAY_SIZE(split_pages); i++) {
			char *at = p + split_pages[i] * SZ_4K;

			ASSERT_EQ(0, odp_translate(self->fd, at, &t));
			EXPECT_EQ(base + split_pages[i] * SZ_4K, t.target);
			ASSERT_EQ(0, edu_raw(self->fd, base + split_pages[i] * SZ_4K, got,
					     WIN, 0xa5));
			EXPECT_TRUE(odp_check(got, at, WIN, 1)) TH_LOG("page %zu", split_pages[i]);
		}
		/* all 511 of them, in the IOMMU's page table */
		if (iommu_debugfs(self->bdf)) {
			struct hole_census hc = {
				.base = base, .hole = base + SPLIT_HOLE * SZ_4K,
			};

			ASSERT_LE(0, odp_iommu_walk(self->bdf, hole_fn, &hc, NULL));
			EXPECT_EQ(511, hc.in);
			EXPECT_EQ(0, hc.at_hole);
			EXPECT_EQ(0, hc.not_4k);
		}
	}
	/* the device's own reads: the others as the CPU wrote them */
	for (i = 0; i < ARRAY_SIZE(split_pages); i++) {
		char *at = p + split_pages[i] * SZ_4K;
		__u64 f;

		EXPECT_EQ(0, odp_dev_read(self->fd, at, got, WIN, &f));
		EXPECT_TRUE(odp_check(got, at, WIN, 1)) TH_LOG("page %zu", split_pages[i]);
		faults += f;
	}
	ASSERT_EQ(0, odp_stats(self->fd, &s2));
	/* none with the IOVA API, one or more without */
	EXPECT_EQ(!iova, faults > 0);
	EXPECT_EQ(0, odp_dev_read(self->fd, hole, got, WIN, NULL));
	EXPECT_TRUE(all_bytes(got, WIN, 0));
	/* the implicit MR's page is untouched by it all */
	if (implicit)
		EXPECT_TRUE(odp_dev_sees(self->fd, q, SZ_4K, 2, NULL));
	munmap(p, 2 * SZ_2M);
}

TEST_F(stale, split_keeps_rest)
{
	split_keeps_rest(_metadata, self, false);
}

TEST_F(stale, split_keeps_rest_under_implicit)
{
	split_keeps_rest(_metadata, self, true);
}

/* --- nothing left behind --- */

/*
 * Each leaf is one DMA mapping while it is in the table, and nothing stays
 * mapped once its MR is unregistered or its fd closed: counted in the
 * IOMMU's page table (the mirror's leaves exactly) and, where DMA API
 * debugging tracks the mappings (dma_map_page(), not IOVA links), there.
 */
TEST_F(edu, nothing_left_mapped)
{
	bool iommu = iommu_debugfs(self->bdf), iova = self->info.flags & ODP_EDU_INFO_IOVA;
	long long pages0 = iommu_mapped_pages(self->bdf), pages;
	long dma0 = dma_api_entries(self->bdf);
	size_t l4 = 64 * SZ_4K, leaves = 64;
	size_t npages = 64;
	struct odp_sim_stats st;
	char *a, *b, *c = NULL;
	__u32 ha;
	int fd;

	/* without either (a stock kernel), the mirror's own counters only */
	fd = odp_open_dev(ODP_EDU_PATH);
	ASSERT_LE(0, fd);
	a = odp_map_anon(NULL, l4, MADV_NOHUGEPAGE);
	b = odp_map_thp(NULL, SZ_2M, 1);
	ASSERT_NE(NULL, a);
	memset(a, 1, l4);
	ASSERT_EQ(0, odp_mr_rw(fd, a, l4, &ha));
	ASSERT_EQ(0, odp_prefetch(fd, a, l4, ODP_SIM_PREFETCH_WRITE));
	if (b) {
		ASSERT_EQ(0, odp_mr_rw(fd, b, SZ_2M, NULL));
		ASSERT_EQ(0, odp_prefetch(fd, b, SZ_2M, ODP_SIM_PREFETCH_WRITE));
		leaves++;
		npages += 512;
	}
	if (odp_hugetlb_free(SZ_2M) >= 1) {
		c = odp_map_hugetlb(NULL, SZ_2M, SZ_2M);
		ASSERT_NE(NULL, c);
		memset(c, 1, SZ_2M);
		ASSERT_EQ(0, odp_mr_rw(fd, c, SZ_2M, NULL));
		ASSERT_EQ(0, odp_prefetch(fd, c, SZ_2M, ODP_SIM_PREFETCH_WRITE));
		leaves++;
		npages += 512;
	}
	ASSERT_EQ(0, odp_stats(fd, &st));
	EXPECT_EQ(leaves, st.dma_maps - st.dma_unmaps);
	if (iommu) {
		pages = iommu_mapped_pages(self->bdf);
		EXPECT_EQ(pages0 + npages, pages);
	}
	if (dma0 >= 0 && !iova)
		EXPECT_EQ(dma0 + leaves, dma_api_entries(self->bdf));
	TH_LOG("%zu leaves mapped: IOMMU %lld -> %lld pages, DMA API debug %ld -> %ld entries",
	       leaves, pages0, iommu ? iommu_mapped_pages(self->bdf) : -1, dma0,
	       dma_api_entries(self->bdf));

	/* one MR unregistered: its 64 mappings go */
	ASSERT_EQ(0, odp_mr_unreg(fd, ha));
	ASSERT_EQ(0, odp_stats(fd, &st));
	EXPECT_EQ(leaves - 64, st.dma_maps - st.dma_unmaps);
	if (iommu)
		EXPECT_EQ(pages0 + npages - 64, iommu_mapped_pages(self->bdf));
	/* the fd closed with its MRs still registered: the rest go */
	close(fd);
	if (iommu)
		EXPECT_EQ(pages0, iommu_mapped_pages(self->bdf));
	if (dma0 >= 0)
		EXPECT_EQ(dma0, dma_api_entries(self->bdf));
	munmap(a, l4);
	if (b)
		munmap(b, SZ_2M);
	if (c)
		munmap(c, SZ_2M);
}

/* Last (fixtures run in order, plain TESTs first): DMA API debugging saw no error */
FIXTURE(last) {};
FIXTURE_SETUP(last) {}
FIXTURE_TEARDOWN(last) {}

TEST_F(last, dma_api_no_errors)
{
	long err = read_long(DMA_API "/error_count");

	if (err < 0)
		SKIP(return, "no DMA API debugging (CONFIG_DMA_API_DEBUG)");
	EXPECT_EQ(0, err);
	TH_LOG("dma-api: error_count %ld, num_free_entries %ld of %ld, min_free_entries %ld",
	       err, read_long(DMA_API "/num_free_entries"),
	       read_long(DMA_API "/nr_total_entries"), read_long(DMA_API "/min_free_entries"));
}

TEST_HARNESS_MAIN
