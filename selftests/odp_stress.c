// SPDX-License-Identifier: GPL-2.0
/*
 * odp_stress: odp-mirror while the address space changes from every side.
 *
 *   odp_stress [--seconds N] [--seed S]
 *
 * One MR over 2M chunks of 4K, THP and hugetlb memory. At once, for N
 * seconds (10 by default):
 *   - device readers READ random ranges and check every word;
 *   - writers, two on the CPU and one through the device, each own a third
 *     of the pages and write the pattern of a page's next generation;
 *   - mutators zero (MADV_DONTNEED), remap (munmap + mmap), protect and
 *     unprotect, collapse and migrate chunks, and fork children that
 *     write their own copies and exit.
 *
 * The oracle: every 8-byte word holds odp_word(address, generation), or 0
 * after the page was zeroed. Generations only grow: zeroing a page starts
 * a generation whose content is 0. A reader samples each page's state and
 * its chunk's mutation sequence before and after its READ; each word must
 * then be of a generation in that window, or zero where the window holds
 * a zeroing. A stale device
 * translation shows up as another address, an older generation or a
 * child's marker. Mutators exclude writers only (a per-chunk lock), never
 * readers, so device reads race every invalidation.
 *
 * Output is TAP; the last line is "0 mismatches" when all went well.
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

enum kind { K_4K, K_THP, K_HUGE };
static const char *const kind_name[] = { "4K", "THP", "hugetlb" };

struct chunk {
	enum kind kind;
	pthread_rwlock_t lock;		/* writers read, mutators write */
	atomic_ulong seq;		/* odd while a mutator zeroes it */
};

enum counter {
	C_READS, C_READ_ERRORS, C_WORDS, C_MISMATCHES, C_CPU_WRITES, C_DEV_WRITES,
	C_DEV_WRITE_ERRORS, C_DONTNEED, C_REMAP, C_MPROTECT, C_COLLAPSE, C_FORK,
	C_MIGRATE, C_COUNTERS
};

static const char *const counter_name[] = {
	"device reads", "device read errors while mutated", "words checked",
	"mismatches", "CPU writes", "device writes", "device write errors",
	"MADV_DONTNEED", "munmap+mmap", "mprotect round trips", "MADV_COLLAPSE",
	"forks", "move_pages",
};

static atomic_ulong counters[C_COUNTERS];
/* per page: last completed generation << 1 | 1 if its content is zero */
static atomic_ulong *state;
static struct chunk *chunks;
static char *base;
static size_t nchunks, npages;
static int fd, nodes;
static atomic_bool stop;
static atomic_ulong hot;		/* the chunk a mutator touched last */
static unsigned int seed;

static void count(enum counter c)
{
	atomic_fetch_add(&counters[c], 1);
}

static unsigned int rnd(unsigned int *state, unsigned int n)
{
	return rand_r(state) % n;
}

static char *page_addr(size_t page)
{
	return base + page * SZ_4K;
}

/* --- writers: page p belongs to writer p % 3 (0, 1: CPU; 2: device) --- */

static void write_page(int who, size_t p, __u64 *buf)
{
	struct chunk *c = &chunks[p / CHUNK_PAGES];
	__u64 g;

	pthread_rwlock_rdlock(&c->lock);
	g = (atomic_load(&state[p]) >> 1) + 1;
	if (who < 2) {
		odp_pattern(page_addr(p), page_addr(p), SZ_4K, g);
		count(C_CPU_WRITES);
	} else {
		odp_pattern(buf, page_addr(p), SZ_4K, g);
		if (odp_dev_write(fd, page_addr(p), buf, SZ_4K, NULL)) {
			count(C_DEV_WRITE_ERRORS);
			pthread_rwlock_unlock(&c->lock);
			return;
		}
		count(C_DEV_WRITES);
	}
	atomic_store(&state[p], g << 1);
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

/* Check one page the device read against the oracle's states around it */
static void check_page(const __u64 *words, uintptr_t a, unsigned long v1,
		       unsigned long v2, bool changed, enum kind kind)
{
	__u64 g1 = v1 >> 1, g2 = v2 >> 1;
	bool zero_ok = (v1 & 1) || changed;
	size_t w;

	for (w = 0; w < SZ_4K / 8; w++) {
		__u64 v = words[w];
		uintptr_t at = a + w * 8;

		count(C_WORDS);
		if ((v == 0 && zero_ok) || word_of(v, at, g1, g2, 0))
			continue;
		if (atomic_fetch_add(&counters[C_MISMATCHES], 1) < 10)
			printf("# mismatch at %#lx (%s chunk): %#llx, generations %llu..%llu%s\n",
			       (unsigned long)at, kind_name[kind], (unsigned long long)v,
			       (unsigned long long)g1, (unsigned long long)g2,
			       word_of(v, at, 0, g2 + 1, CHILD_MARK) ?
			       ": a forked child's write" : "");
		return;
	}
}

static void *reader(void *arg)
{
	static __thread __u64 buf[MAX_READ_PAGES * SZ_4K / 8];
	unsigned int st = seed * 17 + (unsigned int)(long)arg;
	unsigned long v1[MAX_READ_PAGES], v2[MAX_READ_PAGES];
	unsigned long s1[MAX_READ_PAGES], s2[MAX_READ_PAGES];

	while (!atomic_load(&stop)) {
		size_t n = 1 + rnd(&st, MAX_READ_PAGES), first = rnd(&st, npages - n), i;
		bool mutated = false;
		int ret;

		/* half the reads where the mutators are: refaults race them */
		if (rnd(&st, 2))
			first = atomic_load(&hot) * CHUNK_PAGES + rnd(&st, CHUNK_PAGES - n);
		for (i = 0; i < n; i++) {
			s1[i] = atomic_load(&chunks[(first + i) / CHUNK_PAGES].seq);
			v1[i] = atomic_load(&state[first + i]);
		}
		ret = odp_dev_read(fd, page_addr(first), buf, n * SZ_4K, NULL);
		for (i = 0; i < n; i++) {
			v2[i] = atomic_load(&state[first + i]);
			s2[i] = atomic_load(&chunks[(first + i) / CHUNK_PAGES].seq);
			mutated |= s1[i] != s2[i] || (s1[i] & 1);
		}
		count(C_READS);
		if (ret) {
			/* only a chunk being changed may be out of reach */
			if (mutated) {
				count(C_READ_ERRORS);
				continue;
			}
			count(C_MISMATCHES);
			printf("# read of %zu pages at %p: %s, nothing mutated\n", n,
			       page_addr(first), strerror(-ret));
			continue;
		}
		for (i = 0; i < n; i++)
			check_page(buf + i * SZ_4K / 8, (uintptr_t)page_addr(first + i),
				   v1[i], v2[i], s1[i] != s2[i] || (s1[i] & 1),
				   chunks[(first + i) / CHUNK_PAGES].kind);
	}
	return NULL;
}

/* --- mutators --- */

static void map_chunk_part(struct chunk *c, char *p, size_t len)
{
	if (c->kind == K_HUGE)
		odp_map_hugetlb(p, len, SZ_2M);
	else
		odp_map_anon(p, len, c->kind == K_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

/* The kernel zeroed @n pages from @first: a new generation, all zeros */
static void zeroed(size_t first, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		atomic_store(&state[first + i],
			     ((atomic_load(&state[first + i]) >> 1) + 1) << 1 | 1);
}

static sigjmp_buf child_env;

static void child_segv(int sig)
{
	siglongjmp(child_env, 1);
}

static void mutate(unsigned int *st)
{
	size_t ci = rnd(st, nchunks), first = ci * CHUNK_PAGES, off, n;
	struct chunk *c = &chunks[ci];
	char *p = page_addr(first);
	unsigned int op = rnd(st, 7);
	bool huge = c->kind == K_HUGE;

	/* a sub-range for 4K and THP chunks; hugetlb works on whole pages */
	n = huge ? CHUNK_PAGES : 1 + rnd(st, CHUNK_PAGES);
	off = huge ? 0 : rnd(st, CHUNK_PAGES - n + 1);
	atomic_store(&hot, ci);

	if (op == 5) {			/* fork: the child writes its copies */
		pid_t pid = fork();

		if (!pid) {
			size_t i;

			/* a protected or remapped page, or no huge page for COW */
			signal(SIGSEGV, child_segv);
			signal(SIGBUS, child_segv);
			if (!sigsetjmp(child_env, 1))
				for (i = 0; i < 64; i++) {
					size_t q = rnd(st, npages);
					__u64 gen = (atomic_load(&state[q]) >> 1) + 1;

					odp_pattern(page_addr(q), page_addr(q), SZ_4K,
						    gen | CHILD_MARK);
				}
			_exit(0);
		}
		if (pid > 0) {
			waitpid(pid, NULL, 0);
			count(C_FORK);
		}
		return;
	}
	pthread_rwlock_wrlock(&c->lock);
	switch (op) {
	case 0:				/* MADV_DONTNEED */
		atomic_fetch_add(&c->seq, 1);
		if (!madvise(p + off * SZ_4K, n * SZ_4K, MADV_DONTNEED))
			zeroed(first + off, n);
		atomic_fetch_add(&c->seq, 1);
		count(C_DONTNEED);
		break;
	case 1:				/* munmap and mmap again */
		atomic_fetch_add(&c->seq, 1);
		munmap(p + off * SZ_4K, n * SZ_4K);
		map_chunk_part(c, p + off * SZ_4K, n * SZ_4K);
		zeroed(first + off, n);
		atomic_fetch_add(&c->seq, 1);
		count(C_REMAP);
		break;
	case 2:				/* mprotect read-only and back */
		atomic_fetch_add(&c->seq, 1);
		mprotect(p + off * SZ_4K, n * SZ_4K, PROT_READ);
		usleep(100);
		mprotect(p + off * SZ_4K, n * SZ_4K, PROT_READ | PROT_WRITE);
		atomic_fetch_add(&c->seq, 1);
		count(C_MPROTECT);
		break;
	case 3:				/* collapse (content kept) */
		if (c->kind == K_THP && !madvise(p, CHUNK, MADV_COLLAPSE))
			count(C_COLLAPSE);
		break;
	default:			/* move pages to the other node */
		if (nodes > 1) {
			void *pages[CHUNK_PAGES];
			int dst[CHUNK_PAGES], status[CHUNK_PAGES];
			size_t i, m = huge ? 1 : n;

			for (i = 0; i < m; i++) {
				pages[i] = p + (off + i) * SZ_4K;
				dst[i] = rnd(st, nodes);
			}
			if (!syscall(__NR_move_pages, 0, m, pages, dst, status, 1 << 1))
				count(C_MIGRATE);
		}
		break;
	}
	pthread_rwlock_unlock(&c->lock);
}

static void *mutator(void *arg)
{
	unsigned int st = seed * 7 + (unsigned int)(long)arg;

	while (!atomic_load(&stop)) {
		mutate(&st);
		usleep(rnd(&st, 2000));
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'r' },
		{}
	};
	size_t counts[] = { [K_4K] = 6, [K_THP] = 6, [K_HUGE] = 4 };
	pthread_t threads[8];
	int seconds = 10, opt, nt = 0, i, k;
	size_t ci = 0;
	bool ok;

	seed = time(NULL);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 's')
			seconds = atoi(optarg);
		else if (opt == 'r')
			seed = strtoul(optarg, NULL, 0);
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
	fd = odp_open();
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
	zeroed(0, npages);
	if (odp_mr_rw(fd, base, nchunks * CHUNK, NULL) ||
	    odp_prefetch(fd, base, nchunks * CHUNK, ODP_SIM_PREFETCH_WRITE)) {
		printf("not ok 1 stress # MR: %s\n", strerror(errno));
		return 1;
	}

	for (i = 0; i < 2; i++)
		pthread_create(&threads[nt++], NULL, reader, (void *)(long)i);
	for (i = 0; i < 3; i++)
		pthread_create(&threads[nt++], NULL, writer, (void *)(long)i);
	for (i = 0; i < 2; i++)
		pthread_create(&threads[nt++], NULL, mutator, (void *)(long)i);
	sleep(seconds);
	atomic_store(&stop, true);
	for (i = 0; i < nt; i++)
		pthread_join(threads[i], NULL);

	for (i = 0; i < C_COUNTERS; i++)
		printf("# %-34s %lu\n", counter_name[i], atomic_load(&counters[i]));
	ok = !atomic_load(&counters[C_MISMATCHES]) && atomic_load(&counters[C_READS]) &&
	     atomic_load(&counters[C_DEV_WRITES]) && atomic_load(&counters[C_DONTNEED]);
	printf("%s 1 stress\n", ok ? "ok" : "not ok");
	printf("# %lu mismatches\n", atomic_load(&counters[C_MISMATCHES]));
	close(fd);
	return ok ? 0 : 1;
}
