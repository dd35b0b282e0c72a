// SPDX-License-Identifier: GPL-2.0
/*
 * odp_stress: odp-mirror while the address space changes from every side.
 *
 *   odp_stress [--seconds N] [--seed S] [--device PATH] [--read-pages N]
 *
 * One MR over 2M chunks of 4K, THP and hugetlb memory. At once, for N
 * seconds (10 by default), and then until every kind of operation below
 * reached its minimum count (in all at most 6 N s or 240 s, the longer):
 *   - device readers READ random ranges and check every word;
 *   - writers, two on the CPU and one through the device, each own a third
 *     of the pages and write the pattern of a page's next generation;
 *   - mutators zero (MADV_DONTNEED), remap (munmap + mmap), protect and
 *     unprotect, collapse and migrate chunks, and fork children that
 *     write their own copies and exit.
 * Then, with everything stopped, the device reads every page once more.
 *
 * The oracle: every 8-byte word holds odp_word(address, generation), or 0
 * where the page was zeroed. Generations only grow: zeroing a page starts
 * a generation whose content is 0. A reader samples each page's state
 * before and after its READ; each word must then be of a generation in
 * that window, and may be zero only if the page was zero at the start or
 * a zeroing of that very page (MADV_DONTNEED, munmap + mmap) overlapped
 * the READ. mprotect, collapse, migration and fork keep the contents. A
 * stale device translation shows up as another address, an older
 * generation, zeros where none may be, or a forked child's marker. After
 * the mutators stop, every page must read back as exactly its last
 * generation.
 *
 * Errors: wrong data is always a mismatch. A device write holds its
 * chunk's lock, so no mutation can excuse its failure: any failed write
 * fails the run. A READ may fail with EFAULT only where a page it covers
 * was being unmapped and mapped again. A READ that gets EBUSY (the fault
 * gave up while invalidations raced it) is a liveness event, counted on
 * its own with the mutations that overlapped it in time: those of the
 * chunks it reads, and every fork, which write-protects the whole parent.
 * An EBUSY that no mutation overlapped fails the run, and so do EBUSYs on
 * more than 1% of the READs and more than 3 (the edu run makes ~25 READs).
 *
 * Mutators exclude writers only (a per-chunk lock), never readers, so
 * device reads race every invalidation.
 *
 * --device runs it against another device node of the UAPI (/dev/odp_edu,
 * whose DMA engine is slow), --read-pages bounds the pages of one
 * device read (MAX_READ_PAGES by default), and --final-sample N makes the
 * final pass check N pages, not all of them.
 *
 * Output is TAP, with every counter printed; the last line is
 * "0 mismatches" when all went well.
 */
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "odp_test_lib.h"

#define CHUNK		SZ_2M
#define CHUNK_PAGES	(CHUNK / SZ_4K)
#define MAX_READ_PAGES	16
#define CHILD_MARK	((__u64)1 << 40)	/* generations no parent page ever has */
#define MIN_EACH	10	/* of every kind of mutation, for a pass */
#define MIN_COLLAPSE	3	/* tried on THP chunks only, and it may fail */
/*
 * Waiting for the minimums: at most 6 N s, and never less than 240 s, so
 * that only a hang ends a run short: on a slow guest one move_pages()
 * took 36 s, and 60 s saw 8 of 10 MADV_DONTNEEDs.
 */
#define MAX_RUN_FACTOR	6
#define MIN_RUN_CAP	240
#define EBUSY_PERCENT	1	/* more EBUSY READs than this fail the run, */
#define EBUSY_FLOOR	3	/* ... and more than this many */
#define REPORTS		10	/* details printed per kind of problem */

/*
 * A page's state, one word so that a reader samples all of it at once:
 *   bit 0       the last completed generation is all zeros
 *   bit 1       a zeroing of the page (DONTNEED or remap) is under way
 *   bit 2       a remap of the page is under way: it may be a hole
 *   bits 3-17   zeroings completed, modulo 2^15
 *   bits 18-32  remaps completed, modulo 2^15
 *   bits 33-63  the generation
 */
#define ST_ZERO		0x1UL
#define ST_ZEROING	0x2UL
#define ST_REMAPPING	0x4UL
#define ST_ZC_SHIFT	3
#define ST_RC_SHIFT	18
#define ST_CNT_MASK	0x7fffUL
#define ST_GEN_SHIFT	33

static inline __u64 st_gen(unsigned long v)
{
	return v >> ST_GEN_SHIFT;
}

static inline unsigned long st_zc(unsigned long v)
{
	return (v >> ST_ZC_SHIFT) & ST_CNT_MASK;
}

static inline unsigned long st_rc(unsigned long v)
{
	return (v >> ST_RC_SHIFT) & ST_CNT_MASK;
}

enum kind { K_4K, K_THP, K_HUGE };
static const char *const kind_name[] = { "4K", "THP", "hugetlb" };

struct chunk {
	enum kind kind;
	pthread_rwlock_t lock;		/* writers read, mutators write */
	atomic_ulong seq;		/* +1 as a mutation starts and as it ends */
};

enum counter {
	C_READS, C_WORDS, C_MISMATCHES, C_READ_EFAULT, C_READ_EBUSY,
	C_EBUSY_OVERLAPS, C_EBUSY_ALONE, C_READ_ERRORS, C_CPU_WRITES,
	C_DEV_WRITES, C_DEV_WRITE_ERRORS, C_DONTNEED, C_REMAP, C_MPROTECT,
	C_COLLAPSE, C_COLLAPSE_FAILED, C_FORK, C_MIGRATE, C_MUTATE_ERRORS, C_FINAL_PAGES,
	C_FINAL_MISMATCHES, C_FINAL_ERRORS, C_COUNTERS
};

static const char *const counter_name[] = {
	[C_READS] = "device reads",
	[C_WORDS] = "words checked",
	[C_MISMATCHES] = "mismatches",
	[C_READ_EFAULT] = "read EFAULT, a page being remapped",
	[C_READ_EBUSY] = "read EBUSY",
	[C_EBUSY_OVERLAPS] = "  mutations overlapping them",
	[C_EBUSY_ALONE] = "  EBUSY without a mutation (fails)",
	[C_READ_ERRORS] = "read errors otherwise (fail)",
	[C_CPU_WRITES] = "CPU writes",
	[C_DEV_WRITES] = "device writes",
	[C_DEV_WRITE_ERRORS] = "device write errors (fail)",
	[C_DONTNEED] = "MADV_DONTNEED",
	[C_REMAP] = "munmap+mmap",
	[C_MPROTECT] = "mprotect round trips",
	[C_COLLAPSE] = "MADV_COLLAPSE",
	[C_COLLAPSE_FAILED] = "  failed (allowed)",
	[C_FORK] = "forks",
	[C_MIGRATE] = "move_pages",
	[C_MUTATE_ERRORS] = "failed mutation syscalls (fail)",
	[C_FINAL_PAGES] = "final pass: pages read",
	[C_FINAL_MISMATCHES] = "final pass: mismatches",
	[C_FINAL_ERRORS] = "final pass: read errors",
};

static atomic_ulong counters[C_COUNTERS];
/* the slowest mutation of each kind, in seconds: a starved run says why */
static double slowest[C_COUNTERS];
static pthread_mutex_t slowest_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong *state;
static struct chunk *chunks;
static char *base;
static size_t nchunks, npages;
static int fd, nodes;
static atomic_bool stop;
static atomic_ulong hot;		/* the chunk a mutator touched last */
static atomic_ulong fork_seq;		/* +1 before a fork, +1 once its child is gone */
static unsigned int seed;
static const char *device;
static size_t read_pages = MAX_READ_PAGES;
static size_t final_sample;	/* 0: the final pass reads every page */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long count(enum counter c)
{
	return atomic_fetch_add(&counters[c], 1);
}

static unsigned long counter(enum counter c)
{
	return atomic_load(&counters[c]);
}

static unsigned int rnd(unsigned int *state, unsigned int n)
{
	return rand_r(state) % n;
}

static char *page_addr(size_t page)
{
	return base + page * SZ_4K;
}

/* Mutations of a sequence that overlapped [s1, s2]: started by s2, not ended by s1 */
static unsigned long overlapping(unsigned long s1, unsigned long s2)
{
	return (s2 + 1) / 2 - s1 / 2;
}

/* --- writers: page p belongs to writer p % 3 (0, 1: CPU; 2: device) --- */

static void write_page(int who, size_t p, __u64 *buf)
{
	struct chunk *c = &chunks[p / CHUNK_PAGES];
	unsigned long v;
	__u64 g;
	int ret;

	pthread_rwlock_rdlock(&c->lock);
	v = atomic_load(&state[p]);
	g = st_gen(v) + 1;
	if (who < 2) {
		odp_pattern(page_addr(p), page_addr(p), SZ_4K, g);
		count(C_CPU_WRITES);
	} else {
		odp_pattern(buf, page_addr(p), SZ_4K, g);
		ret = odp_dev_write(fd, page_addr(p), buf, SZ_4K, NULL);
		if (ret) {
			/* the chunk lock excludes every mutation but fork */
			if (count(C_DEV_WRITE_ERRORS) < REPORTS)
				printf("# device write of page %p (%s chunk): %s\n", page_addr(p),
				       kind_name[c->kind], strerror(-ret));
			pthread_rwlock_unlock(&c->lock);
			return;
		}
		count(C_DEV_WRITES);
	}
	/* a new generation, not zero; the counters stay */
	atomic_store(&state[p], (v & ((1UL << ST_GEN_SHIFT) - 1) & ~ST_ZERO) |
			g << ST_GEN_SHIFT);
	pthread_rwlock_unlock(&c->lock);
}

static void *writer(void *arg)
{
	int who = (int)(long)arg;
	unsigned int st = seed * 31 + who;
	__u64 buf[SZ_4K / 8];

	while (!atomic_load(&stop))
		write_page(who, rnd(&st, npages / 3) * 3 + who, buf);
	return NULL;
}

/* --- readers --- */

/* Is @w the word at @addr of a generation in [g1, g2 + 1], ORed with @mark? */
static bool word_of(__u64 w, uintptr_t addr, __u64 g1, __u64 g2, __u64 mark)
{
	__u64 g;

	for (g = g1; g <= g2 + 1; g++)
		if (w == odp_word(addr, g | mark))
			return true;
	return false;
}

/*
 * Check one page the device read against its states before (@v1) and
 * after (@v2) the READ. Zeros are fine only where the page was zero, or
 * a zeroing of this page overlapped the READ.
 */
static void check_page(const __u64 *words, uintptr_t a, unsigned long v1,
		       unsigned long v2, enum kind kind)
{
	__u64 g1 = st_gen(v1), g2 = st_gen(v2);
	bool zero_ok = (v1 & (ST_ZERO | ST_ZEROING)) || (v2 & ST_ZEROING) ||
		       st_zc(v1) != st_zc(v2);
	size_t w;

	for (w = 0; w < SZ_4K / 8; w++) {
		__u64 v = words[w];
		uintptr_t at = a + w * 8;

		count(C_WORDS);
		if ((v == 0 && zero_ok) || word_of(v, at, g1, g2, 0))
			continue;
		if (count(C_MISMATCHES) < REPORTS)
			printf("# mismatch at %#lx (%s chunk): %#llx, generations %llu..%llu%s%s\n",
			       (unsigned long)at, kind_name[kind], (unsigned long long)v,
			       (unsigned long long)g1, (unsigned long long)g2,
			       v ? "" : ", zero where no zeroing was",
			       word_of(v, at, 0, g2 + 1, CHILD_MARK) ?
			       ": a forked child's write" : "");
		return;
	}
}

/* May a READ fail with EFAULT? Only where a page was being remapped. */
static bool hole_possible(const unsigned long *v1, const unsigned long *v2,
			  size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (((v1[i] | v2[i]) & ST_REMAPPING) || st_rc(v1[i]) != st_rc(v2[i]))
			return true;
	return false;
}

/* A READ gave up: liveness, not correctness, so bounded and explained */
static void read_ebusy(size_t n, size_t first, unsigned long overlaps,
		       unsigned long forks)
{
	atomic_fetch_add(&counters[C_EBUSY_OVERLAPS], overlaps);
	if (!overlaps)
		count(C_EBUSY_ALONE);
	if (count(C_READ_EBUSY) < REPORTS)
		printf("# read of %zu pages at %p: EBUSY; %lu mutations overlap, %lu forks\n",
		       n, page_addr(first), overlaps, forks);
}

static void *reader(void *arg)
{
	static __thread __u64 buf[MAX_READ_PAGES * SZ_4K / 8];
	unsigned int st = seed * 17 + (unsigned int)(long)arg;
	unsigned long v1[MAX_READ_PAGES], v2[MAX_READ_PAGES];

	while (!atomic_load(&stop)) {
		size_t n = 1 + rnd(&st, read_pages), first = rnd(&st, npages - n), i;
		size_t c0, c1;
		unsigned long s1[2], s2[2], f1, f2, overlaps;
		int ret;

		/* half the reads where the mutators are: refaults race them */
		if (rnd(&st, 2))
			first = atomic_load(&hot) * CHUNK_PAGES + rnd(&st, CHUNK_PAGES - n);
		c0 = first / CHUNK_PAGES;
		c1 = (first + n - 1) / CHUNK_PAGES;
		f1 = atomic_load(&fork_seq);
		s1[0] = atomic_load(&chunks[c0].seq);
		s1[1] = atomic_load(&chunks[c1].seq);
		for (i = 0; i < n; i++)
			v1[i] = atomic_load(&state[first + i]);
		ret = odp_dev_read(fd, page_addr(first), buf, n * SZ_4K, NULL);
		for (i = 0; i < n; i++)
			v2[i] = atomic_load(&state[first + i]);
		s2[0] = atomic_load(&chunks[c0].seq);
		s2[1] = atomic_load(&chunks[c1].seq);
		f2 = atomic_load(&fork_seq);
		count(C_READS);
		overlaps = overlapping(s1[0], s2[0]) + overlapping(f1, f2) +
			   (c1 != c0 ? overlapping(s1[1], s2[1]) : 0);

		if (ret == -EBUSY) {
			read_ebusy(n, first, overlaps, overlapping(f1, f2));
			continue;
		}
		if (ret == -EFAULT && hole_possible(v1, v2, n)) {
			count(C_READ_EFAULT);
			continue;
		}
		if (ret) {
			if (count(C_READ_ERRORS) < REPORTS)
				printf("# read of %zu pages at %p: %s, %lu overlapping mutations\n",
				       n, page_addr(first), strerror(-ret), overlaps);
			continue;
		}
		for (i = 0; i < n; i++)
			check_page(buf + i * SZ_4K / 8, (uintptr_t)page_addr(first + i),
				   v1[i], v2[i], chunks[(first + i) / CHUNK_PAGES].kind);
	}
	return NULL;
}

/* --- mutators --- */

static bool map_chunk_part(struct chunk *c, char *p, size_t len)
{
	if (c->kind == K_HUGE)
		return odp_map_hugetlb(p, len, SZ_2M);
	return odp_map_anon(p, len, c->kind == K_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

/* Pages [first, first + n) are about to be zeroed; @bits says how */
static void zeroing(size_t first, size_t n, unsigned long bits)
{
	size_t i;

	for (i = 0; i < n; i++)
		atomic_fetch_or(&state[first + i], bits);
}

/*
 * The kernel zeroed @n pages from @first (if @done): a new generation,
 * all zeros, one more zeroing and, for a remap, one more remap. The
 * caller holds the chunk lock: no writer changes these pages meanwhile.
 */
static void zeroed(size_t first, size_t n, bool remap, bool done)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned long v = atomic_load(&state[first + i]);
		unsigned long zc = st_zc(v), rc = st_rc(v);
		__u64 g = st_gen(v);

		if (done) {
			zc = (zc + 1) & ST_CNT_MASK;
			if (remap)
				rc = (rc + 1) & ST_CNT_MASK;
			g++;
		}
		atomic_store(&state[first + i], g << ST_GEN_SHIFT | rc << ST_RC_SHIFT |
			     zc << ST_ZC_SHIFT | (done ? ST_ZERO : v & ST_ZERO));
	}
}

static void mutate_failed(const char *what, void *p, size_t len)
{
	if (count(C_MUTATE_ERRORS) < REPORTS)
		printf("# %s of %zu bytes at %p: %s\n", what, len, p, strerror(errno));
}

static sigjmp_buf child_env;

static void child_segv(int sig)
{
	siglongjmp(child_env, 1);
}

/* One mutation; returns its counter, or C_COUNTERS if it did nothing */
static enum counter mutate(unsigned int *st)
{
	size_t ci = rnd(st, nchunks), first = ci * CHUNK_PAGES, off, n;
	struct chunk *c = &chunks[ci];
	char *p = page_addr(first), *q;
	unsigned int op = rnd(st, 7);
	bool huge = c->kind == K_HUGE, ok;

	/* a sub-range for 4K and THP chunks; hugetlb works on whole pages */
	n = huge ? CHUNK_PAGES : 1 + rnd(st, CHUNK_PAGES);
	off = huge ? 0 : rnd(st, CHUNK_PAGES - n + 1);
	q = p + off * SZ_4K;
	atomic_store(&hot, ci);

	if (op == 5) {			/* fork: the child writes its copies */
		pid_t pid;

		/* write-protects every page of the parent, COW until the child is gone */
		atomic_fetch_add(&fork_seq, 1);
		pid = fork();
		if (!pid) {
			size_t i;

			/* a protected or remapped page, or no huge page for COW */
			signal(SIGSEGV, child_segv);
			signal(SIGBUS, child_segv);
			if (!sigsetjmp(child_env, 1))
				for (i = 0; i < 64; i++) {
					size_t r = rnd(st, npages);
					__u64 gen = st_gen(atomic_load(&state[r])) + 1;

					odp_pattern(page_addr(r), page_addr(r), SZ_4K,
						    gen | CHILD_MARK);
				}
			_exit(0);
		}
		if (pid > 0) {
			waitpid(pid, NULL, 0);
			count(C_FORK);
		} else {
			mutate_failed("fork", NULL, 0);
		}
		atomic_fetch_add(&fork_seq, 1);
		return C_FORK;
	}
	if (op == 3 && c->kind != K_THP)
		return C_COUNTERS;
	pthread_rwlock_wrlock(&c->lock);
	atomic_fetch_add(&c->seq, 1);
	switch (op) {
	case 0:				/* MADV_DONTNEED */
		zeroing(first + off, n, ST_ZEROING);
		ok = !madvise(q, n * SZ_4K, MADV_DONTNEED);
		zeroed(first + off, n, false, ok);
		if (ok)
			count(C_DONTNEED);
		else
			mutate_failed("MADV_DONTNEED", q, n * SZ_4K);
		break;
	case 1:				/* munmap and mmap again */
		zeroing(first + off, n, ST_ZEROING | ST_REMAPPING);
		ok = !munmap(q, n * SZ_4K);
		if (!ok)
			mutate_failed("munmap", q, n * SZ_4K);
		else if (!map_chunk_part(c, q, n * SZ_4K))
			mutate_failed("mmap", q, n * SZ_4K);
		else
			count(C_REMAP);
		zeroed(first + off, n, true, ok);
		break;
	case 2:				/* mprotect read-only and back: no zeroing */
		if (mprotect(q, n * SZ_4K, PROT_READ))
			mutate_failed("mprotect", q, n * SZ_4K);
		usleep(100);
		if (mprotect(q, n * SZ_4K, PROT_READ | PROT_WRITE))
			mutate_failed("mprotect", q, n * SZ_4K);
		else
			count(C_MPROTECT);
		break;
	case 3:				/* collapse (content kept); it may fail */
		count(madvise(p, CHUNK, MADV_COLLAPSE) ? C_COLLAPSE_FAILED : C_COLLAPSE);
		break;
	default:			/* move pages to the other node */
		if (nodes > 1) {
			void *pages[CHUNK_PAGES];
			int dst[CHUNK_PAGES], status[CHUNK_PAGES];
			size_t i, m = huge ? 1 : n;

			for (i = 0; i < m; i++) {
				pages[i] = q + i * SZ_4K;
				dst[i] = rnd(st, nodes);
			}
			if (!syscall(__NR_move_pages, 0, m, pages, dst, status, 1 << 1))
				count(C_MIGRATE);
		}
		break;
	}
	atomic_fetch_add(&c->seq, 1);
	pthread_rwlock_unlock(&c->lock);
	return op == 0 ? C_DONTNEED : op == 1 ? C_REMAP : op == 2 ? C_MPROTECT :
	       op == 3 ? C_COLLAPSE : C_MIGRATE;
}

static void *mutator(void *arg)
{
	unsigned int st = seed * 7 + (unsigned int)(long)arg;

	while (!atomic_load(&stop)) {
		double t0 = now(), t;
		enum counter k = mutate(&st);

		t = now() - t0;
		pthread_mutex_lock(&slowest_lock);
		if (k < C_COUNTERS && t > slowest[k])
			slowest[k] = t;
		pthread_mutex_unlock(&slowest_lock);
		usleep(rnd(&st, 2000));
	}
	return NULL;
}

/* --- the end --- */

/* Has every kind of operation run often enough to call the run a test? */
static bool enough(bool verbose)
{
	static const enum counter need[] = {
		C_DEV_WRITES, C_CPU_WRITES, C_DONTNEED, C_REMAP, C_MPROTECT,
		C_COLLAPSE, C_FORK, C_MIGRATE,
	};
	bool ok = counter(C_WORDS) > 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(need); i++) {
		unsigned long min = need[i] == C_COLLAPSE ? MIN_COLLAPSE : MIN_EACH;

		if (need[i] == C_MIGRATE && nodes < 2)
			continue;
		if (counter(need[i]) < min) {
			if (verbose)
				printf("# too few %s: %lu, want %lu\n", counter_name[need[i]],
				       counter(need[i]), min);
			ok = false;
		}
	}
	if (verbose && !counter(C_WORDS))
		printf("# no word was checked\n");
	return ok;
}

/* The device read @words of page @p: its last generation, exactly? */
static void final_page(size_t p, const __u64 *words)
{
	unsigned long v = atomic_load(&state[p]);
	uintptr_t a = (uintptr_t)page_addr(p);
	size_t w;

	count(C_FINAL_PAGES);
	for (w = 0; w < SZ_4K / 8; w++) {
		__u64 want = v & ST_ZERO ? 0 : odp_word(a + w * 8, st_gen(v));

		if (words[w] == want)
			continue;
		if (count(C_FINAL_MISMATCHES) < REPORTS)
			printf("# final pass: %#lx (%s chunk): %#llx, want %#llx (gen %llu)\n",
			       (unsigned long)(a + w * 8), kind_name[chunks[p / CHUNK_PAGES].kind],
			       (unsigned long long)words[w], (unsigned long long)want,
			       (unsigned long long)st_gen(v));
		return;
	}
}

/* The device reads @n pages from page @first: each its last generation? */
static void final_read(size_t first, size_t n)
{
	static __u64 buf[MAX_READ_PAGES * SZ_4K / 8];
	int ret = odp_dev_read(fd, page_addr(first), buf, n * SZ_4K, NULL);
	size_t i;

	if (ret) {
		if (count(C_FINAL_ERRORS) < REPORTS)
			printf("# final read of %p: %s\n", page_addr(first), strerror(-ret));
		return;
	}
	for (i = 0; i < n; i++)
		final_page(first + i, buf + i * SZ_4K / 8);
}

/*
 * Everything stopped: every page reads back as its last generation, exactly.
 * A slow device (edu: 100 ms a transfer) checks a sample of final_sample
 * pages instead: the first and last page of every chunk, the rest at random.
 * Returns how many pages it checked.
 */
static size_t final_pass(void)
{
	unsigned int st = seed ^ 0x5eed;
	size_t i;

	if (!final_sample) {
		for (i = 0; i < npages; i += MAX_READ_PAGES)
			final_read(i, MAX_READ_PAGES);
		return npages;
	}
	for (i = 0; i < final_sample; i++) {
		size_t round = i / nchunks;

		final_read((i % nchunks) * CHUNK_PAGES +
			   (round == 0 ? 0 : round == 1 ? CHUNK_PAGES - 1 :
			    rnd(&st, CHUNK_PAGES)), 1);
	}
	return final_sample;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'r' },
		{ "device", required_argument, NULL, 'd' },
		{ "read-pages", required_argument, NULL, 'p' },
		{ "final-sample", required_argument, NULL, 'f' },
		{}
	};
	size_t counts[] = { [K_4K] = 6, [K_THP] = 6, [K_HUGE] = 4 };
	pthread_t threads[8];
	int seconds = 10, opt, nt = 0, i, k;
	unsigned long ebusy, reads;
	size_t ci = 0, final_want;
	double t0, cap;
	struct odp_sim_stats st;
	bool ok;

	seed = time(NULL);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 's')
			seconds = atoi(optarg);
		else if (opt == 'r')
			seed = strtoul(optarg, NULL, 0);
		else if (opt == 'd')
			device = optarg;
		else if (opt == 'p' && atoi(optarg) >= 1 && atoi(optarg) <= MAX_READ_PAGES)
			read_pages = atoi(optarg);
		else if (opt == 'f' && atoi(optarg) >= 1)
			final_sample = atoi(optarg);
		else
			return 2;
	}
	printf("TAP version 13\n1..1\n");
	printf("# seed %u (run with --seed %u to repeat), %d seconds\n", seed, seed, seconds);
	for (nodes = 0; ; nodes++) {
		char path[64];

		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", nodes);
		if (access(path, F_OK))
			break;
	}
	if (odp_hugetlb_free(SZ_2M) < (long)counts[K_HUGE]) {
		printf("# hugetlb pool too small: no hugetlb chunks\n");
		counts[K_HUGE] = 0;
	}
	nchunks = counts[K_4K] + counts[K_THP] + counts[K_HUGE];
	npages = nchunks * CHUNK_PAGES;
	base = odp_reserve_va(nchunks * CHUNK, SZ_2M);
	chunks = calloc(nchunks, sizeof(*chunks));
	state = calloc(npages, sizeof(*state));
	fd = device ? odp_open_dev(device) : odp_open();
	if (!base || !chunks || !state || fd < 0) {
		printf("not ok 1 stress # setup: %s\n", strerror(errno));
		return 1;
	}
	for (k = K_4K; k <= K_HUGE; k++)
		for (i = 0; i < (int)counts[k]; i++, ci++) {
			chunks[ci].kind = k;
			pthread_rwlock_init(&chunks[ci].lock, NULL);
		}
	/* one VMA per kind */
	for (ci = 0; ci < nchunks; ci += counts[chunks[ci].kind])
		map_chunk_part(&chunks[ci], page_addr(ci * CHUNK_PAGES),
			       counts[chunks[ci].kind] * CHUNK);
	memset(base, 0, nchunks * CHUNK);
	zeroed(0, npages, false, true);
	if (odp_mr_rw(fd, base, nchunks * CHUNK, NULL) ||
	    odp_prefetch(fd, base, nchunks * CHUNK, ODP_SIM_PREFETCH_WRITE)) {
		printf("not ok 1 stress # MR: %s\n", strerror(errno));
		return 1;
	}

	t0 = now();
	for (i = 0; i < 2; i++)
		pthread_create(&threads[nt++], NULL, reader, (void *)(long)i);
	for (i = 0; i < 3; i++)
		pthread_create(&threads[nt++], NULL, writer, (void *)(long)i);
	for (i = 0; i < 2; i++)
		pthread_create(&threads[nt++], NULL, mutator, (void *)(long)i);
	sleep(seconds);
	/* a slow guest runs longer, not less: until every minimum is met */
	cap = MAX_RUN_FACTOR * seconds > MIN_RUN_CAP ? MAX_RUN_FACTOR * seconds : MIN_RUN_CAP;
	while (!enough(false) && now() - t0 < cap)
		sleep(1);
	atomic_store(&stop, true);
	for (i = 0; i < nt; i++)
		pthread_join(threads[i], NULL);
	printf("# ran %.1f s\n", now() - t0);
	final_want = final_pass();

	for (i = 0; i < C_COUNTERS; i++)
		if (slowest[i] > 0)
			printf("# %-36s %lu, the slowest %.3f s\n", counter_name[i],
			       counter(i), slowest[i]);
		else
			printf("# %-36s %lu\n", counter_name[i], counter(i));
	/* the mirror's side: how often invalidations elsewhere cost a retry */
	if (!odp_stats(fd, &st)) {
		printf("# mirror: %llu faults, %llu hmm_range_fault calls, %llu retries",
		       (unsigned long long)st.faults, (unsigned long long)st.hmm_calls,
		       (unsigned long long)st.retries);
		printf(" (%llu forced by invalidations elsewhere in the MR),",
		       (unsigned long long)st.retries_unrelated);
		printf(" %llu sequence changes that needed none,",
		       (unsigned long long)st.seq_unrelated);
		printf(" %llu invalidations, %llu splits, %llu fallbacks\n",
		       (unsigned long long)st.invalidations,
		       (unsigned long long)st.splits, (unsigned long long)st.fallbacks);
	}
	reads = counter(C_READS);
	ebusy = counter(C_READ_EBUSY);
	ok = enough(true);
	if (ebusy * 100 > reads * EBUSY_PERCENT && ebusy > EBUSY_FLOOR) {
		printf("# EBUSY on %lu of %lu reads: more than %d%% and more than %d\n", ebusy,
		       reads, EBUSY_PERCENT, EBUSY_FLOOR);
		ok = false;
	}
	if (counter(C_FINAL_PAGES) != final_want) {
		printf("# final pass checked %lu of %zu pages\n", counter(C_FINAL_PAGES),
		       final_want);
		ok = false;
	}
	for (i = 0; i < C_COUNTERS; i++)
		switch (i) {
		case C_MISMATCHES: case C_EBUSY_ALONE: case C_READ_ERRORS:
		case C_DEV_WRITE_ERRORS: case C_MUTATE_ERRORS:
		case C_FINAL_MISMATCHES: case C_FINAL_ERRORS:
			ok &= !counter(i);
			break;
		}
	printf("%s 1 stress\n", ok ? "ok" : "not ok");
	printf("# %lu mismatches\n", counter(C_MISMATCHES) + counter(C_FINAL_MISMATCHES));
	close(fd);
	return ok ? 0 : 1;
}
