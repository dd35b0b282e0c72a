// SPDX-License-Identifier: GPL-2.0
/*
 * odp_demo: odp-mirror at work through the simulated device.
 *
 * One MR over four VMAs side by side: a 1G hugetlb page, a 2M hugetlb
 * page, two THPs and 1M of 4K pages. A prefetch fills the device page
 * table with 1G, 2M and 4K leaves at once. Then a 4K MADV_DONTNEED inside
 * a 2M leaf whose pages the CPU maps with PTEs is repaired in place; a 4K
 * munmap inside the other THP drops its leaf, since the kernel invalidates
 * the whole 2M when it splits a VMA there; MADV_COLLAPSE brings the 2M
 * leaf back.
 */
#include <stdio.h>

#include "odp_test_lib.h"

static int fd;

static void census(const char *what, const void *base, size_t len)
{
	struct odp_sim_stats st;
	struct odp_census c;

	if (odp_census(fd, base, len, &c) || odp_stats(fd, &st)) {
		perror("census");
		exit(1);
	}
	printf("  %-44s 1G %3lu  2M %3lu  4K %4lu", what,
	       c.leaves[2], c.leaves[1], c.leaves[0]);
	printf(" | tables %3llu  splits %llu  merges %llu  fallbacks %llu\n",
	       (unsigned long long)st.tables, (unsigned long long)st.splits,
	       (unsigned long long)st.merges, (unsigned long long)st.fallbacks);
}

static void check(const char *what, const void *p, size_t len, __u64 gen)
{
	char *buf = malloc(len);
	__u64 faults = 0;
	bool ok = buf && !odp_dev_read(fd, p, buf, len, &faults) &&
		  odp_check(buf, p, len, gen);

	printf("  device read of %-29s %s, %llu device faults\n", what,
	       ok ? "matches the CPU" : "MISMATCH", (unsigned long long)faults);
	free(buf);
	if (!ok)
		exit(1);
}

int main(void)
{
	struct odp_sim_version v = { .size = sizeof(v) };
	size_t len = SZ_1G + 7 * SZ_2M / 2;
	char *base, *h2, *thp, *small;
	struct odp_sim_stats st;
	bool have_1g;

	fd = odp_open();
	if (fd < 0 || odp_ioctl(fd, ODP_SIM_IOC_VERSION, &v)) {
		perror(ODP_SIM_PATH);
		return 1;
	}
	printf("%s: simulated ODP device, ABI %u, leaf sizes 4K 2M 1G\n\n",
	       ODP_SIM_PATH, v.abi_version);

	base = odp_reserve_va(2 * SZ_1G, SZ_1G);
	h2 = base + SZ_1G;
	thp = h2 + SZ_2M;
	small = thp + 2 * SZ_2M;
	have_1g = odp_map_hugetlb(base, SZ_1G, SZ_1G);
	if (!have_1g && !odp_map_anon(base, SZ_1G, MADV_NOHUGEPAGE))
		return 1;
	if (!odp_map_hugetlb(h2, SZ_2M, SZ_2M) || !odp_map_thp(thp, 2 * SZ_2M, 0) ||
	    !odp_map_anon(small, SZ_2M / 2, MADV_NOHUGEPAGE)) {
		fprintf(stderr, "no hugetlb 2M page or no THP in this guest\n");
		return 1;
	}
	odp_fill(base, SZ_2M, 1);
	odp_fill(h2, small + SZ_2M / 2 - h2, 1);
	/* the first THP: the same pages, mapped by 512 PTEs */
	if (!odp_thp_to_ptes(thp)) {
		fprintf(stderr, "the THP did not stay contiguous under PTEs\n");
		return 1;
	}
	printf("one MR over: 1G %s | 2M hugetlb | THP under PTEs | THP under a PMD | 4K\n",
	       have_1g ? "hugetlb page" : "of 4K pages (no 1G page free)");
	if (odp_mr_rw(fd, base, len, NULL) ||
	    odp_prefetch(fd, base, len, ODP_SIM_PREFETCH_WRITE)) {
		perror("register and prefetch");
		return 1;
	}
	census("after a write prefetch of the MR:", base, len);
	check("the 2M hugetlb, THP, 4K:", h2, small + SZ_2M / 2 - h2, 1);

	printf("\nMADV_DONTNEED of one 4K page inside the 2M leaf of the PTE-mapped THP:\n");
	madvise(thp + 77 * SZ_4K, SZ_4K, MADV_DONTNEED);
	census("the leaf is split, 511 entries stay:", base, len);
	check("the other pages of that THP:", thp + 78 * SZ_4K, SZ_2M - 78 * SZ_4K, 1);

	printf("\nmunmap of one 4K page inside the 2M leaf of the PMD-mapped THP:\n");
	munmap(thp + SZ_2M + 5 * SZ_4K, SZ_4K);
	census("the kernel invalidates all 2M: leaf gone:", base, len);
	check("the rest of the second THP:", thp + SZ_2M + 6 * SZ_4K, SZ_2M / 2, 1);
	census("refaulted as 4K leaves:", base, len);

	printf("\nthe hole mapped again, the block written, MADV_COLLAPSE:\n");
	odp_map_anon(thp + SZ_2M + 5 * SZ_4K, SZ_4K, MADV_HUGEPAGE);
	odp_fill(thp + SZ_2M, SZ_2M, 2);
	if (madvise(thp + SZ_2M, SZ_2M, MADV_COLLAPSE)) {
		perror("  MADV_COLLAPSE");
	} else {
		check("the collapsed THP:", thp + SZ_2M, SZ_2M, 2);
		census("back to one 2M leaf:", base, len);
	}

	if (odp_stats(fd, &st))
		return 1;
	printf("\nstatistics: %llu faults, %llu hmm_range_fault calls, %llu retries, %llu pages\n",
	       (unsigned long long)st.faults, (unsigned long long)st.hmm_calls,
	       (unsigned long long)st.retries, (unsigned long long)st.pages_faulted);
	printf("  %llu invalidations, %llu splits, %llu merges, %llu fallbacks\n",
	       (unsigned long long)st.invalidations, (unsigned long long)st.splits,
	       (unsigned long long)st.merges, (unsigned long long)st.fallbacks);
	printf("  leaves installed: 1G %llu, 2M %llu, 4K %llu\n",
	       (unsigned long long)st.leaves_installed[2],
	       (unsigned long long)st.leaves_installed[1],
	       (unsigned long long)st.leaves_installed[0]);
	close(fd);
	return 0;
}
