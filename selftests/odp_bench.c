// SPDX-License-Identifier: GPL-2.0
/*
 * odp_bench: odp-mirror against two floors and against test_hmm's dmirror,
 * measured side by side in one boot; and the cost of DMA mapping: the edu
 * PCI device's mirror (one DMA mapping per leaf, through the IOMMU) against
 * the simulated device's (none).
 *
 * The true floor (ODP_SIM_IOC_BENCH_HMM) is hmm_range_fault() alone, one
 * call per GiB, installing nothing; the loop floor (ODP_SIM_IOC_BENCH_FLOOR)
 * is the mirror's own fault loop with the install skipped, so that the
 * install's cost stays visible.
 *
 * Every figure is the median of REPS runs, with min and max; the two sides
 * of a comparison run alternately. Ratios are speed ratios, baseline time /
 * odp-mirror time: above 1, odp-mirror is faster. Absolute times under TCG
 * mean little; the ratios do. Missed targets are listed at the end.
 *
 *   odp_bench [--quick] [--json FILE]
 */
#include <getopt.h>
#include <stdarg.h>
#include <sys/utsname.h>
#include <time.h>

#include "odp_test_lib.h"
#include "test_hmm_uapi.h"

#define REPS		9
#define RANDOM_READS	2000
#define SPLIT_BLOCKS	32
#define MAX_RECORDS	1024

static const char *dmirror_path = "/dev/hmm_dmirror0";

enum mem_type { M_4K, M_THP, M_H2M, M_H1G, M_TYPES };
static const char *const type_name[M_TYPES] = { "4K", "THP", "hugetlb-2M", "hugetlb-1G" };

/* --- measurements and their report --- */

struct record {
	char key[96];		/* e.g. "prefetch.THP.1024M.odp" */
	double med, min, max;	/* milliseconds, or the value of a ratio */
	bool ratio;
	double target;		/* ratios: the target, 0 if none */
	bool higher_is_better;
};

static struct record records[MAX_RECORDS];
static int nrecords;
static bool quick;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * The next record. Past MAX_RECORDS, the last one is reused, and its
 * figures are garbage: say so, loudly, once.
 */
static struct record *record_next(void)
{
	static bool full;

	if (nrecords < MAX_RECORDS - 1)
		return &records[nrecords++];
	if (!full)
		printf("# more than %d records: raise MAX_RECORDS; the last figures are wrong\n",
		       MAX_RECORDS - 1);
	full = true;
	nrecords = MAX_RECORDS;
	return &records[MAX_RECORDS - 1];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct record *record_time(const double *v, int n, const char *fmt, ...)
{
	struct record *r = record_next();
	double s[REPS];
	va_list ap;

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	va_start(ap, fmt);
	vsnprintf(r->key, sizeof(r->key), fmt, ap);
	va_end(ap);
	r->med = s[n / 2];
	r->min = s[0];
	r->max = s[n - 1];
	r->ratio = false;
	return r;
}

static struct record *record_ratio(double value, double target, bool higher,
				   const char *fmt, ...)
{
	struct record *r = record_next();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->key, sizeof(r->key), fmt, ap);
	va_end(ap);
	r->med = value;
	r->min = value;
	r->max = value;
	r->ratio = true;
	r->target = target;
	r->higher_is_better = higher;
	return r;
}

static const char *verdict(const struct record *r)
{
	if (!r->target)
		return "";
	if (r->higher_is_better ? r->med >= r->target : r->med <= r->target)
		return "  met";
	return "  MISSED";
}

static void print_pair(const char *what, const struct record *odp,
		       const struct record *base, const struct record *ratio)
{
	printf("  %-26s %9.2f (%8.2f..%8.2f)  %9.2f (%8.2f..%8.2f)  %6.2fx%s\n",
	       what, odp->med, odp->min, odp->max, base->med, base->min, base->max,
	       ratio->med, verdict(ratio));
}

/* --- memory --- */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* 4 GiB of huge memory, 2 GiB of 4K pages; munmap and first touch to 1 GiB */
static const size_t sizes_mb[M_TYPES][5] = {
	[M_4K] = { 64, 256, 1024, 2048 },
	[M_THP] = { 64, 256, 1024, 4096 },
	[M_H2M] = { 64, 256, 1024, 4096 },
	[M_H1G] = { 1024, 2048, 4096 },
};

#define MAX_PHASE_MB	1024

static bool set_hugetlb_pool(size_t pgsize, long pages)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-%zukB/nr_hugepages", pgsize >> 10);
	f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "%ld\n", pages);
	fclose(f);
	return odp_hugetlb_free(pgsize) >= pages;
}

/*
 * @len bytes of @t memory, aligned to min(@len, 1G) so that table figures
 * do not depend on where mmap() put it, every page touched if @populate;
 * NULL if the kernel refused.
 */
static char *region(enum mem_type t, size_t len, bool populate)
{
	char *p = odp_reserve_va(len, len < SZ_1G ? len : SZ_1G);
	size_t i;

	if (!p)
		return NULL;
	switch (t) {
	case M_4K:
		p = odp_map_anon(p, len, MADV_NOHUGEPAGE);
		break;
	case M_THP:
		p = odp_map_anon(p, len, MADV_HUGEPAGE);
		break;
	default:
		if (!odp_map_hugetlb(p, len, t == M_H2M ? SZ_2M : SZ_1G)) {
			munmap(p, len);
			p = NULL;
		}
		break;
	}
	if (!p || !populate)
		return p;
	for (i = 0; i < len; i += SZ_4K)
		p[i] = 1;
	if (t == M_THP && odp_anon_huge_kb(p) < (long)(len >> 10)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

/* --- the two devices --- */

enum how { PREFETCH, LOOP_FLOOR, TRUE_FLOOR };

static int odp_prefetch_timed(int fd, const void *p, size_t len, enum how how,
			      double *ms)
{
	static const unsigned long cmd[] = {
		[PREFETCH] = ODP_SIM_IOC_PREFETCH,
		[LOOP_FLOOR] = ODP_SIM_IOC_BENCH_FLOOR,
		[TRUE_FLOOR] = ODP_SIM_IOC_BENCH_HMM,
	};
	struct odp_sim_prefetch a = {
		.size = sizeof(a), .advice = ODP_SIM_PREFETCH_WRITE,
		.start = (uintptr_t)p, .length = len,
	};
	double t0 = now_ms();
	int ret = odp_ioctl(fd, cmd[how], &a);

	*ms = now_ms() - t0;
	return ret;
}

/* A fresh MR over [p, p + len): drops whatever the device had mapped */
static int remr(int fd, const void *p, size_t len, __u32 *h)
{
	if (*h && odp_mr_unreg(fd, *h))
		return -1;
	*h = 0;
	return odp_mr_rw(fd, p, len, h);
}

static int dmirror_read(int dfd, const void *p, void *buf, size_t len)
{
	struct hmm_dmirror_cmd cmd = {
		.addr = (uintptr_t)p, .ptr = (uintptr_t)buf, .npages = len / SZ_4K,
	};

	return ioctl(dfd, HMM_DMIRROR_READ, &cmd) ? -errno : 0;
}

/* --- the measurements --- */

static double per_gib_ms[M_TYPES][8];
static size_t per_gib_mb[M_TYPES][8];
static int per_gib_n[M_TYPES];

/* The prefetch's target against the true floor, 0 for none */
static double prefetch_target(enum mem_type t, size_t mb)
{
	switch (t) {
	case M_4K:
		return 0.9;
	case M_H1G:
		return 100;
	default:
		return mb >= 256 ? 5 : 0;
	}
}

/* Time munmap of [*p, +len), then map it again, populated */
static int munmap_timed(enum mem_type t, char **p, size_t len, double *ms)
{
	double t0 = now_ms();

	munmap(*p, len);
	*ms = now_ms() - t0;
	*p = region(t, len, true);
	return *p ? 0 : -1;
}

/*
 * munmap of a mirrored range: odp-mirror's MR against dmirror, which
 * mirrors every 4K page of the range after one HMM_DMIRROR_READ, and
 * against no mirror at all. dmirror's notifier covers the whole address
 * space while its file is open, so it is opened for its side only; the
 * MR is unregistered before the other two.
 */
static int bench_munmap(int fd, enum mem_type t, size_t mb, char **p, char *buf,
			__u32 *h)
{
	double odp[REPS], dm[REPS], none[REPS];
	size_t len = mb << 20;
	struct record *ro, *rb, *rr;
	const char *ty = type_name[t];
	int r, dfd = -1;

	for (r = 0; r < REPS; r++) {
		if (remr(fd, *p, len, h) || odp_prefetch(fd, *p, len, ODP_SIM_PREFETCH_WRITE) ||
		    munmap_timed(t, p, len, &odp[r]) || odp_mr_unreg(fd, *h))
			return -1;
		*h = 0;
		dfd = open(dmirror_path, O_RDWR | O_CLOEXEC);
		if (dfd >= 0) {
			if (dmirror_read(dfd, *p, buf, len) || munmap_timed(t, p, len, &dm[r]))
				return -1;
			close(dfd);
		}
		if (munmap_timed(t, p, len, &none[r]))
			return -1;
	}
	ro = record_time(odp, REPS, "munmap.%s.%zuM.odp", ty, mb);
	rb = record_time(none, REPS, "munmap.%s.%zuM.unmirrored", ty, mb);
	rr = record_ratio(rb->med / ro->med, 0, true, "munmap.%s.%zuM.unmirrored_over_odp",
			  ty, mb);
	print_pair("munmap, vs no mirror", ro, rb, rr);
	if (dfd < 0) {
		printf("  %s: %s, no dmirror comparison\n", dmirror_path, strerror(errno));
		return 0;
	}
	rb = record_time(dm, REPS, "munmap.%s.%zuM.dmirror", ty, mb);
	rr = record_ratio(rb->med / ro->med, mb == 1024 ? (t == M_4K ? 2 : 10) : 0, true,
			  "munmap.%s.%zuM.dmirror_over_odp", ty, mb);
	print_pair("munmap, vs dmirror", ro, rb, rr);
	return 0;
}

static int bench_one(enum mem_type t, size_t mb, char *buf)
{
	/* device reads cover at most the first GiB */
	size_t len = mb << 20, rlen = len < SZ_1G ? len : SZ_1G;
	size_t npages = rlen / SZ_4K, i;
	double odp[REPS], base[REPS], loop[REPS];
	struct record *ro, *rb, *rr;
	const char *ty = type_name[t];
	struct odp_sim_stats st;
	int fd = odp_open(), dfd, r;
	__u32 h = 0;
	char *p;

	p = region(t, len, true);
	if (fd < 0 || !p) {
		printf("  %s %zuM: no such memory in this guest, skipped\n", ty, mb);
		if (p)
			munmap(p, len);
		close(fd);
		return 0;
	}
	odp_fill(p, len, 1);
	printf("%s, %zu MiB\n", ty, mb);

	/* 1. prefetch of populated memory, against both floors in turn */
	for (r = 0; r < REPS; r++) {
		if (remr(fd, p, len, &h) || odp_prefetch_timed(fd, p, len, PREFETCH, &odp[r]) ||
		    odp_prefetch_timed(fd, p, len, TRUE_FLOOR, &base[r]) ||
		    odp_prefetch_timed(fd, p, len, LOOP_FLOOR, &loop[r]))
			return -1;
	}
	ro = record_time(odp, REPS, "prefetch.%s.%zuM.odp", ty, mb);
	rb = record_time(base, REPS, "prefetch.%s.%zuM.true_floor", ty, mb);
	rr = record_ratio(rb->med / ro->med, prefetch_target(t, mb), true,
			  "prefetch.%s.%zuM.true_floor_over_odp", ty, mb);
	print_pair("prefetch, vs true floor", ro, rb, rr);
	rb = record_time(loop, REPS, "prefetch.%s.%zuM.loop_floor", ty, mb);
	rr = record_ratio(rb->med / ro->med, 0, true, "prefetch.%s.%zuM.loop_floor_over_odp",
			  ty, mb);
	print_pair("prefetch, vs loop floor", ro, rb, rr);
	per_gib_ms[t][per_gib_n[t]] = ro->med * 1024 / mb;
	per_gib_mb[t][per_gib_n[t]++] = mb;

	/* 6. table memory and leaves */
	if (odp_stats(fd, &st))
		return -1;
	record_ratio(st.tables * 4096.0 * 1024 / mb, 0, false, "table_bytes_per_gib.%s.%zuM",
		     ty, mb);
	record_ratio(st.leaves[0], 0, false, "leaves_4k.%s.%zuM", ty, mb);
	record_ratio(st.leaves[1], 0, false, "leaves_2m.%s.%zuM", ty, mb);
	record_ratio(st.leaves[2], 0, false, "leaves_1g.%s.%zuM", ty, mb);
	printf("  %-26s %llu table pages (%.0f KiB per GiB), leaves 1G %llu 2M %llu 4K %llu\n",
	       "table after prefetch", (unsigned long long)st.tables,
	       st.tables * 4.0 * 1024 / mb, (unsigned long long)st.leaves[2],
	       (unsigned long long)st.leaves[1], (unsigned long long)st.leaves[0]);
	if (mb == 1024 && t != M_4K) {
		/* 1 GiB of 2M: 512 leaves, 8 KiB of tables below the root; of 1G: 1 leaf */
		struct record *rl = t == M_H1G ?
			record_ratio(st.leaves[0] + st.leaves[1] + st.leaves[2], 1, false,
				     "leaves.%s.1024M", ty) :
			record_ratio(st.leaves[1], 512, true, "leaves_2m.%s.1024M", ty);
		struct record *rt = record_ratio((st.tables - 1) * 4.0, 8, false,
						 "table_kib_below_root.%s.1024M", ty);

		printf("  %-26s %.0f leaves%s, %.0f KiB of tables below the root%s\n",
		       "1 GiB target", rl->med, verdict(rl), rt->med, verdict(rt));
	}

	/* 3. device read of the first GiB: mapped (warm), then cold */
	dfd = open(dmirror_path, O_RDWR | O_CLOEXEC);
	if (dfd < 0) {
		printf("  %s: %s, no dmirror comparison\n", dmirror_path, strerror(errno));
	} else {
		/* both sides warm: every page mapped before the first timed read */
		if (odp_dev_read(fd, p, buf, rlen, NULL) || !odp_check(buf, p, rlen, 1) ||
		    dmirror_read(dfd, p, buf, rlen))
			return -1;
		for (r = 0; r < REPS; r++) {
			double t0 = now_ms();

			if (odp_dev_read(fd, p, buf, rlen, NULL))
				return -1;
			odp[r] = now_ms() - t0;
			t0 = now_ms();
			if (dmirror_read(dfd, p, buf, rlen))
				return -1;
			base[r] = now_ms() - t0;
		}
		ro = record_time(odp, REPS, "read_warm.%s.%zuM.odp", ty, mb);
		rb = record_time(base, REPS, "read_warm.%s.%zuM.dmirror", ty, mb);
		rr = record_ratio(rb->med / ro->med, t == M_THP ? 3 : 0, true,
				  "read_warm.%s.%zuM.dmirror_over_odp", ty, mb);
		print_pair("device read, mapped", ro, rb, rr);

		for (r = 0; r < REPS; r++) {
			double t0;

			if (remr(fd, p, len, &h))
				return -1;
			t0 = now_ms();
			if (odp_dev_read(fd, p, buf, rlen, NULL))
				return -1;
			odp[r] = now_ms() - t0;
			close(dfd);
			dfd = open(dmirror_path, O_RDWR | O_CLOEXEC);
			t0 = now_ms();
			if (dmirror_read(dfd, p, buf, rlen))
				return -1;
			base[r] = now_ms() - t0;
		}
		ro = record_time(odp, REPS, "read_cold.%s.%zuM.odp", ty, mb);
		rb = record_time(base, REPS, "read_cold.%s.%zuM.dmirror", ty, mb);
		rr = record_ratio(rb->med / ro->med, 0, true,
				  "read_cold.%s.%zuM.dmirror_over_odp", ty, mb);
		print_pair("device read, faulting", ro, rb, rr);

		/* 4. steady state: random 4K reads of mapped memory */
		srand(42);
		for (r = 0; r < REPS; r++) {
			double t0 = now_ms();

			for (i = 0; i < RANDOM_READS; i++) {
				char *at = p + (rand() % npages) * SZ_4K;

				if (odp_dev_read(fd, at, buf, SZ_4K, NULL))
					return -1;
			}
			odp[r] = now_ms() - t0;
			t0 = now_ms();
			for (i = 0; i < RANDOM_READS; i++)
				if (dmirror_read(dfd, p + (rand() % npages) * SZ_4K, buf, SZ_4K))
					return -1;
			base[r] = now_ms() - t0;
		}
		ro = record_time(odp, REPS, "random_4k_reads.%s.%zuM.odp", ty, mb);
		rb = record_time(base, REPS, "random_4k_reads.%s.%zuM.dmirror", ty, mb);
		rr = record_ratio(rb->med / ro->med, 2, true,
				  "random_4k_reads.%s.%zuM.dmirror_over_odp", ty, mb);
		print_pair("2000 random 4K reads", ro, rb, rr);
		close(dfd);
	}
	if (mb > MAX_PHASE_MB) {
		munmap(p, len);
		close(fd);
		return 0;
	}

	/* 5. munmap of the whole mapped range: against dmirror and no mirror */
	if (bench_munmap(fd, t, mb, &p, buf, &h))
		return -1;

	/* 2. first touch: the fault allocates and zeroes */
	for (r = 0; r < REPS; r++) {
		munmap(p, len);
		p = region(t, len, false);
		if (!p || remr(fd, p, len, &h) ||
		    odp_prefetch_timed(fd, p, len, PREFETCH, &odp[r]))
			return -1;
		munmap(p, len);
		p = region(t, len, false);
		if (!p || odp_prefetch_timed(fd, p, len, TRUE_FLOOR, &base[r]))
			return -1;
	}
	ro = record_time(odp, REPS, "first_touch.%s.%zuM.odp", ty, mb);
	rb = record_time(base, REPS, "first_touch.%s.%zuM.true_floor", ty, mb);
	rr = record_ratio(rb->med / ro->med, t == M_THP ? 0.9 : 0, true,
			  "first_touch.%s.%zuM.true_floor_over_odp", ty, mb);
	print_pair("first touch, vs true floor", ro, rb, rr);

	munmap(p, len);
	close(fd);
	return 0;
}

/*
 * 5. A 4K invalidation inside a 2M leaf (a split) against one in a region
 * the device maps with 4K leaves. MADV_DONTNEED of 4K inside a PTE-mapped,
 * contiguous THP is the partial invalidation; SPLIT_BLOCKS of them are
 * timed together.
 */
static int split_round(bool huge_leaves, double *ms, __u64 *splits)
{
	size_t len = SPLIT_BLOCKS * SZ_2M, b;
	int fd = odp_open();
	struct odp_sim_stats st0, st1;
	char *p = region(M_THP, len, true);
	double t0;

	if (fd < 0 || !p)
		return -1;
	for (b = 0; b < SPLIT_BLOCKS; b++)
		if (!odp_thp_to_ptes(p + b * SZ_2M))
			return -1;
	/* a reserve for every split of the burst, none may fall back */
	if (odp_config(fd, huge_leaves ? SZ_4K | SZ_2M | SZ_1G : SZ_4K, SPLIT_BLOCKS) ||
	    odp_mr_rw(fd, p, len, NULL) ||
	    odp_prefetch(fd, p, len, ODP_SIM_PREFETCH_WRITE) || odp_stats(fd, &st0))
		return -1;
	if (st0.leaves[1] != (huge_leaves ? SPLIT_BLOCKS : 0))
		return -1;
	t0 = now_ms();
	for (b = 0; b < SPLIT_BLOCKS; b++)
		madvise(p + b * SZ_2M + 100 * SZ_4K, SZ_4K, MADV_DONTNEED);
	*ms = now_ms() - t0;
	if (odp_stats(fd, &st1))
		return -1;
	*splits = st1.splits - st0.splits;
	munmap(p, len);
	close(fd);
	return 0;
}

static int bench_split(void)
{
	double in2m[REPS], in4k[REPS];
	struct record *ro, *rb, *rr;
	__u64 splits = 0, none;
	int r;

	for (r = 0; r < REPS; r++) {
		if (split_round(true, &in2m[r], &splits) || split_round(false, &in4k[r], &none)) {
			printf("  no PTE-mapped contiguous THPs: split benchmark skipped\n");
			return 0;
		}
		in2m[r] /= SPLIT_BLOCKS;
		in4k[r] /= SPLIT_BLOCKS;
	}
	ro = record_time(in2m, REPS, "invalidate_4k.in_2m_leaf");
	rb = record_time(in4k, REPS, "invalidate_4k.in_4k_leaves");
	rr = record_ratio(ro->med / rb->med, 4, false, "invalidate_4k.in_2m_over_in_4k");
	printf("4K MADV_DONTNEED, per call: in a 2M leaf (%llu splits of %d) and among 4K leaves\n",
	       (unsigned long long)splits, SPLIT_BLOCKS);
	printf("  %-26s %9.4f (%8.4f..%8.4f)  %9.4f (%8.4f..%8.4f)  %6.2fx of 4K%s\n",
	       "ms, 2M leaf / 4K leaves", ro->med, ro->min, ro->max, rb->med, rb->min, rb->max,
	       rr->med, verdict(rr));
	return splits == SPLIT_BLOCKS ? 0 : -1;
}

/*
 * DMA mapping: 1 GiB of THP and of 4K memory prefetched through /dev/odp_edu,
 * whose mirror maps every leaf for DMA through the IOMMU, against
 * /dev/odp_sim, which maps nothing; then the DMA mappings that makes (one
 * per leaf) and the IOMMU page-table pages that hold them, from debugfs.
 */
static int bench_dma(void)
{
	static const enum mem_type types[] = { M_THP, M_4K };
	double edu[REPS], sim[REPS];
	__u64 maps[ARRAY_SIZE(types)] = { 0 };
	struct odp_edu_info info = { .size = sizeof(info) };
	size_t len = SZ_1G;
	char bdf[32];
	unsigned int k;
	int fe, fs, r;

	fe = odp_open_dev(ODP_EDU_PATH);
	if (fe < 0 || odp_ioctl(fe, ODP_EDU_IOC_INFO, &info)) {
		printf("DMA mapping: %s: %s, skipped\n\n", ODP_EDU_PATH, strerror(errno));
		if (fe >= 0)
			close(fe);
		return 0;
	}
	snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", info.pci_domain, info.pci_bus,
		 info.pci_devfn >> 3, info.pci_devfn & 7);
	printf("DMA mapping, 1 GiB: prefetch through edu (%s) and through the simulated device\n",
	       !(info.flags & ODP_EDU_INFO_IOMMU) ? "no IOMMU" :
	       info.flags & ODP_EDU_INFO_IOVA ? "IOMMU, IOVA API" : "IOMMU, dma_map_page()");
	printf("  %-26s %-31s %-31s %s\n", "ms", "with DMA (edu)", "without (sim)", "ratio");
	fs = odp_open_dev(ODP_SIM_PATH);
	if (fs < 0)
		return -1;
	for (k = 0; k < ARRAY_SIZE(types); k++) {
		enum mem_type t = types[k];
		const char *ty = type_name[t];
		struct record *re, *rs, *rr;
		struct odp_sim_stats st;
		long tables0 = 0, tables = 0, xl;
		__u32 he = 0, hs = 0;
		char *p = region(t, len, true);

		if (!p) {
			printf("  %s: no such memory in this guest, skipped\n", ty);
			continue;
		}
		/* the IOMMU's tables before: the edu driver's own buffer */
		odp_iommu_walk(bdf, NULL, NULL, &tables0);
		for (r = 0; r < REPS; r++) {
			if (remr(fe, p, len, &he) || odp_prefetch_timed(fe, p, len, false, &edu[r]))
				return -1;
			if (remr(fs, p, len, &hs) || odp_prefetch_timed(fs, p, len, false, &sim[r]))
				return -1;
		}
		re = record_time(edu, REPS, "dma_prefetch.%s.1024M.edu", ty);
		rs = record_time(sim, REPS, "dma_prefetch.%s.1024M.sim", ty);
		rr = record_ratio(rs->med / re->med, 0, true, "dma_prefetch.%s.1024M.sim_over_edu",
				  ty);
		print_pair(t == M_THP ? "prefetch, THP" : "prefetch, 4K pages", re, rs, rr);
		if (odp_stats(fe, &st))
			return -1;
		maps[k] = st.dma_maps - st.dma_unmaps;
		xl = odp_iommu_walk(bdf, NULL, NULL, &tables);
		record_ratio(maps[k], 0, false, "dma_mappings.%s.1024M", ty);
		printf("  %-26s %llu live (%llu made in all), %llu leaves of 2M, %llu of 4K\n",
		       "DMA mappings", (unsigned long long)maps[k],
		       (unsigned long long)st.dma_maps, (unsigned long long)st.leaves[1],
		       (unsigned long long)st.leaves[0]);
		if (xl >= 0) {
			record_ratio(tables - tables0, 0, false, "iommu_table_pages.%s.1024M", ty);
			printf("  %-26s %ld for this GiB (%ld in all, %ld translations)\n",
			       "IOMMU page-table pages", tables - tables0, tables, xl);
		} else {
			printf("  %-26s no IOMMU debugfs: %s\n", "IOMMU page-table pages",
			       strerror((int)-xl));
		}
		odp_mr_unreg(fe, he);
		odp_mr_unreg(fs, hs);
		munmap(p, len);
	}
	if (maps[0] && maps[1]) {
		struct record *rm = record_ratio((double)maps[1] / maps[0], 512, true,
						 "dma_mappings.4K_over_THP.1024M");

		printf("  %-26s %.0fx fewer for THP than for 4K pages%s\n", "DMA mappings",
		       rm->med, verdict(rm));
	}
	printf("\n");
	close(fs);
	close(fe);
	return 0;
}

/* The targets this run missed, all together at the end */
static void print_missed(void)
{
	int i, n = 0, with = 0;

	for (i = 0; i < nrecords; i++) {
		const struct record *r = &records[i];

		if (!r->ratio || !r->target)
			continue;
		with++;
		if (!strcmp(verdict(r), "  met"))
			continue;
		if (!n++)
			printf("\ntargets missed:\n");
		printf("  %-52s %8.2f, target %s %.2f\n", r->key, r->med,
		       r->higher_is_better ? ">=" : "<=", r->target);
	}
	printf("\n%d of %d targets met%s\n", with - n, with,
	       n ? "; the README says where the time of the others goes" : "");
}

static void write_json(const char *path, const char *kernel, const char *accel, long cpus)
{
	FILE *f = fopen(path, "w");
	int i;

	if (!f)
		return;
	fprintf(f, "{\n  \"kernel\": \"%s\",\n  \"accel\": \"%s\",\n  \"cpus\": %ld,\n",
		kernel, accel, cpus);
	fprintf(f, "  \"repetitions\": %d,\n  \"unit\": \"ms\",\n  \"results\": {\n", REPS);
	for (i = 0; i < nrecords; i++) {
		const struct record *r = &records[i];

		if (r->ratio && r->target) {
			fprintf(f, "    \"%s\": {\"value\": %.4f, ", r->key, r->med);
			fprintf(f, "\"target\": \"%s %.2f\", \"met\": %s}",
				r->higher_is_better ? ">=" : "<=", r->target,
				strcmp(verdict(r), "  met") ? "false" : "true");
		} else if (r->ratio) {
			fprintf(f, "    \"%s\": {\"value\": %.4f}", r->key, r->med);
		} else {
			fprintf(f, "    \"%s\": {\"median\": %.4f, \"min\": %.4f, \"max\": %.4f}",
				r->key, r->med, r->min, r->max);
		}
		fprintf(f, "%s\n", i + 1 < nrecords ? "," : "");
	}
	fprintf(f, "  }\n}\n");
	fclose(f);
}

static const char *cmdline_accel(void)
{
	static char accel[16] = "unknown";
	char line[1024], *a;
	FILE *f = fopen("/proc/cmdline", "r");

	a = f && fgets(line, sizeof(line), f) ? strstr(line, "odp.accel=") : NULL;
	if (a)
		sscanf(a + 10, "%15s", accel);
	if (f)
		fclose(f);
	return accel;
}

int main(int argc, char **argv)
{
	const char *json = "/tmp/odp_bench.json";
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{}
	};
	size_t maxlen = SZ_1G, s;
	struct utsname u;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char *buf;
	int opt, t;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'q')
			quick = true;
		else if (opt == 'j')
			json = optarg;
		else
			return 2;
	}
	uname(&u);
	printf("odp-mirror benchmark: kernel %s, accel %s, %ld CPUs;", u.release,
	       cmdline_accel(), cpus);
	printf(" median of %d runs (min..max)\n", REPS);
	printf("ratio = baseline time / odp-mirror time: above 1, odp-mirror is faster\n\n");
	printf("  %-26s %-31s %-31s %s\n", "ms", "odp-mirror", "baseline", "ratio");
	buf = mmap(NULL, maxlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	memset(buf, 0, maxlen);

	for (t = 0; t < M_TYPES; t++) {
		for (s = 0; s < ARRAY_SIZE(sizes_mb[t]) && sizes_mb[t][s]; s++) {
			size_t mb = sizes_mb[t][s];

			/* --quick: 1 GiB of each */
			if (quick && mb != 1024)
				continue;
			if (t == M_H2M && !set_hugetlb_pool(SZ_2M, mb / 2 + 8)) {
				printf("  hugetlb-2M %zuM: the pool could not grow, skipped\n", mb);
				continue;
			}
			if (t == M_H1G && odp_hugetlb_free(SZ_1G) < (long)(mb >> 10)) {
				printf("  hugetlb-1G %zuM: %ld free 1G pages, skipped\n", mb,
				       odp_hugetlb_free(SZ_1G));
				continue;
			}
			if (bench_one(t, mb, buf)) {
				printf("%s %zuM: failed: %s\n", type_name[t], mb, strerror(errno));
				return 1;
			}
		}
		if (t == M_H2M)
			set_hugetlb_pool(SZ_2M, 64);
		if (per_gib_n[t] > 1) {
			int last = per_gib_n[t] - 1;
			struct record *rs;

			rs = record_ratio(per_gib_ms[t][last] / per_gib_ms[t][0], 1.3, false,
					  "scaling.%s.largest_over_smallest_per_gib", type_name[t]);
			printf("  %-26s %.3f ms/GiB at %zu MiB, %.3f at %zu MiB: %.2fx%s\n",
			       "prefetch scaling", per_gib_ms[t][0], per_gib_mb[t][0],
			       per_gib_ms[t][last], per_gib_mb[t][last], rs->med, verdict(rs));
		}
		printf("\n");
	}
	if (bench_dma()) {
		printf("DMA mapping: failed: %s\n", strerror(errno));
		return 1;
	}
	if (bench_split())
		return 1;
	print_missed();
	write_json(json, u.release, cmdline_accel(), cpus);
	printf("\njson: %s\n", json);
	return 0;
}
