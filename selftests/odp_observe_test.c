// SPDX-License-Identifier: GPL-2.0
/*
 * Watching the mirror at work: its tracepoints through tracefs, and its
 * debugfs directory (statistics and the dump of leaves). The module always
 * has both and the guest mounts tracefs and debugfs, so their absence is a
 * failure, not a reason to skip.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "odp_test_lib.h"

#define TRACEFS		"/sys/kernel/tracing"
#define DEBUGFS		"/sys/kernel/debug/odp_mirror"

static int put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : n < 0 ? -errno : -EIO;
}

/* The whole of a (pseudo) file, NUL-terminated; free() it */
static char *slurp(const char *path)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			char *more = realloc(buf, cap *= 2);

			if (!more)
				break;
			buf = more;
		}
	}
	buf[len] = 0;
	close(fd);
	return buf;
}

/* The trace line of @event whose text holds every one of @want, or NULL */
static bool traced(const char *trace, const char *event, const char *const *want)
{
	const char *line = trace;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char *l = strndup(line, len);
		bool all = l && strstr(l, event);
		int i;

		for (i = 0; all && want[i]; i++)
			all = strstr(l, want[i]);
		free(l);
		if (all)
			return true;
		line = eol ? eol + 1 : NULL;
	}
	return false;
}

static const char *range_of(char *buf, size_t size, const void *p, size_t len)
{
	snprintf(buf, size, "range=%#lx-%#lx", (unsigned long)p,
		 (unsigned long)p + len);
	return buf;
}

FIXTURE(observe)
{
	int fd;
	bool tracing;
};

FIXTURE_SETUP(observe)
{
	self->fd = odp_open();
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", ODP_SIM_PATH, strerror(errno));
	self->tracing = !access(TRACEFS "/events/odp_mirror/enable", W_OK) &&
			!put(TRACEFS "/events/odp_mirror/enable", "1") &&
			!put(TRACEFS "/trace", "") && !put(TRACEFS "/tracing_on", "1");
}

FIXTURE_TEARDOWN(observe)
{
	if (self->tracing)
		put(TRACEFS "/events/odp_mirror/enable", "0");
	close(self->fd);
}

/* A THP prefetch logs its 2M leaves; a munmap of one logs its clearing */
TEST_F(observe, trace_thp_prefetch_and_unmap)
{
	size_t len = 2 * SZ_2M;
	char *p = odp_map_thp(NULL, len, 1), *trace, r1[64], r2[64];

	ASSERT_TRUE(self->tracing) TH_LOG("no odp_mirror events in " TRACEFS);
	if (!p)
		SKIP(return, "no THP: AnonHugePages did not cover %zu kB", len >> 10);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, len, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, len, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, munmap(p, SZ_2M));
	const char *const fault[] = {
		/* one pfn is enough to map a PMD-mapped THP whole */
		range_of(r1, sizeof(r1), p, len), "write=1", "pfns=2",
		"leaves_4k=0", "leaves_2m=2", "leaves_1g=0", "ret=0", NULL
	};
	const char *const unmap[] = {
		range_of(r2, sizeof(r2), p, SZ_2M), "event=unmap cleared",
		"leaves_4k=0", "leaves_2m=1", "splits=0", "fallback=0", NULL
	};

	trace = slurp(TRACEFS "/trace");
	ASSERT_NE(NULL, trace);
	EXPECT_TRUE(traced(trace, "odp_fault:", fault))
		TH_LOG("no 2M fault event in:\n%s", trace);
	EXPECT_TRUE(traced(trace, "odp_invalidate:", unmap))
		TH_LOG("no 2M invalidate event in:\n%s", trace);
	free(trace);
	munmap(p + SZ_2M, SZ_2M);
}

/*
 * A THP mapped by PTEs, prefetched one 4K page at a time: the 512th page
 * fills the table, which merges into one 2M leaf, and the event says so.
 */
TEST_F(observe, trace_merge)
{
	char *p = odp_map_thp(NULL, SZ_2M, 1), *trace, r[64];
	struct odp_census c;
	size_t i;

	ASSERT_TRUE(self->tracing) TH_LOG("no odp_mirror events in " TRACEFS);
	if (!p || !odp_thp_to_ptes(p))
		SKIP(goto out, "no THP left PTE-mapped and contiguous");
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, NULL));
	for (i = 0; i < 511; i++)
		ASSERT_EQ(0, odp_prefetch(self->fd, p + i * SZ_4K, SZ_4K,
					  ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(511, c.leaves[0]);
	ASSERT_EQ(0, put(TRACEFS "/trace", ""));
	ASSERT_EQ(0, odp_prefetch(self->fd, p + 511 * SZ_4K, SZ_4K,
				  ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_census(self->fd, p, SZ_2M, &c));
	EXPECT_EQ(1, c.leaves[1]);
	EXPECT_EQ(0, c.leaves[0]);
	const char *const merge[] = {
		range_of(r, sizeof(r), p + 511 * SZ_4K, SZ_4K), "leaves_2m=1",
		"leaves_1g=0", NULL
	};

	trace = slurp(TRACEFS "/trace");
	ASSERT_NE(NULL, trace);
	EXPECT_TRUE(traced(trace, "odp_merge:", merge))
		TH_LOG("no merge event in:\n%s", trace);
	free(trace);
out:
	if (p)
		munmap(p, SZ_2M);
}

/* This process's mirror directory in debugfs, or "" */
static void my_dir(char *dir, size_t size)
{
	DIR *d = opendir(DEBUGFS);
	struct dirent *e;
	char path[sizeof(DEBUGFS) + 256 + 8];
	long pid;
	FILE *f;

	dir[0] = 0;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), DEBUGFS "/%s/pid", e->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%ld", &pid) == 1 && pid == getpid())
			snprintf(dir, size, DEBUGFS "/%s", e->d_name);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
}

static long stat_of(const char *stats, const char *key)
{
	const char *s = stats;
	size_t n = strlen(key);

	while (s && *s) {
		if (!strncmp(s, key, n) && s[n] == ' ')
			return atol(s + n + 1);
		s = strchr(s, '\n');
		s = s ? s + 1 : NULL;
	}
	return -1;
}

/* The counters and the leaves of a 2M THP and 16 4K pages, then gone */
TEST_F(observe, debugfs_stats_and_leaves)
{
	char *p = odp_map_thp(NULL, SZ_2M, 1), *small, *stats, *leaves;
	char dir[320], path[360], range[64];
	int lines = 0;
	char *l;

	my_dir(dir, sizeof(dir));
	ASSERT_NE(0, dir[0]) TH_LOG("no mirror of pid %d in " DEBUGFS, getpid());
	if (!p)
		SKIP(return, "no THP: AnonHugePages did not cover 2048 kB");
	small = odp_map_anon(NULL, 16 * SZ_4K, MADV_NOHUGEPAGE);
	ASSERT_NE(NULL, small);
	memset(small, 1, 16 * SZ_4K);
	ASSERT_EQ(0, odp_mr_rw(self->fd, p, SZ_2M, NULL));
	ASSERT_EQ(0, odp_mr_rw(self->fd, small, 16 * SZ_4K, NULL));
	ASSERT_EQ(0, odp_prefetch(self->fd, p, SZ_2M, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, odp_prefetch(self->fd, small, 16 * SZ_4K, ODP_SIM_PREFETCH_READ));

	snprintf(path, sizeof(path), "%s/stats", dir);
	stats = slurp(path);
	ASSERT_NE(NULL, stats);
	EXPECT_EQ(1, stat_of(stats, "leaves_2m"));
	EXPECT_EQ(16, stat_of(stats, "leaves_4k"));
	/* one pfn of the THP, all 16 of the 4K pages */
	EXPECT_EQ(1 + 16, stat_of(stats, "pages_faulted"));
	EXPECT_EQ(2, stat_of(stats, "mrs"));
	free(stats);

	snprintf(path, sizeof(path), "%s/range", dir);
	EXPECT_EQ(-EINVAL, put(path, "0x2000 0x1000"));
	EXPECT_EQ(-EINVAL, put(path, "0x1001 0x2000"));
	EXPECT_EQ(-EINVAL, put(path, "nonsense"));
	snprintf(range, sizeof(range), "%#lx %#lx", (unsigned long)p,
		 (unsigned long)p + SZ_2M);
	ASSERT_EQ(0, put(path, range));
	snprintf(path, sizeof(path), "%s/leaves", dir);
	leaves = slurp(path);
	ASSERT_NE(NULL, leaves);
	snprintf(range, sizeof(range), "%#lx-%#lx 2M pfn ", (unsigned long)p,
		 (unsigned long)p + SZ_2M);
	EXPECT_EQ(leaves, strstr(leaves, range)) TH_LOG("leaves: %s", leaves);
	EXPECT_NE(NULL, strstr(leaves, " rw"));
	for (l = leaves; (l = strchr(l, '\n')); l++)
		lines++;
	EXPECT_EQ(1, lines);
	free(leaves);

	close(self->fd);
	self->fd = odp_open();
	EXPECT_NE(0, access(path, F_OK));
	munmap(small, 16 * SZ_4K);
	munmap(p, SZ_2M);
}

#define SINGLE_PASS	"/sys/module/odp_mirror/parameters/single_pass"

/*
 * Map 16 pages on the device and munmap them: the counters of @fd's
 * mirror tell whether that invalidation went through two passes.
 */
static void unmap_and_count(struct __test_metadata *_metadata, int fd,
			    long *two_pass, long *invalidations, long *finishes)
{
	char *p = odp_map_anon(NULL, 16 * SZ_4K, MADV_NOHUGEPAGE), *stats;
	char dir[320], path[360];

	ASSERT_NE(NULL, p);
	memset(p, 1, 16 * SZ_4K);
	ASSERT_EQ(0, odp_mr_rw(fd, p, 16 * SZ_4K, NULL));
	ASSERT_EQ(0, odp_prefetch(fd, p, 16 * SZ_4K, ODP_SIM_PREFETCH_WRITE));
	ASSERT_EQ(0, munmap(p, 16 * SZ_4K));
	my_dir(dir, sizeof(dir));
	ASSERT_NE(0, dir[0]);
	snprintf(path, sizeof(path), "%s/stats", dir);
	stats = slurp(path);
	ASSERT_NE(NULL, stats);
	*two_pass = stat_of(stats, "two_pass_notifier");
	*invalidations = stat_of(stats, "invalidations");
	*finishes = stat_of(stats, "finish_passes");
	free(stats);
}

/*
 * Where the kernel has two-pass interval notifiers, MRs use them (the
 * tables are freed in the second pass) unless the single_pass parameter
 * is set; elsewhere every invalidation is single-pass.
 */
TEST_F(observe, notifier_passes)
{
	long two_pass, inval, fin;

	ASSERT_EQ(0, access(DEBUGFS, F_OK)) TH_LOG("no %s", DEBUGFS);
	unmap_and_count(_metadata, self->fd, &two_pass, &inval, &fin);
	ASSERT_GE(two_pass, 0);
	EXPECT_GT(inval, 0);
	EXPECT_EQ(two_pass ? inval : 0, fin);
	if (!two_pass)
		SKIP(return, "this kernel has no two-pass interval notifiers");

	/* the same kernel, single pass: new MRs of a new mirror */
	ASSERT_EQ(0, put(SINGLE_PASS, "1"));
	close(self->fd);
	self->fd = odp_open();
	ASSERT_GE(self->fd, 0);
	unmap_and_count(_metadata, self->fd, &two_pass, &inval, &fin);
	EXPECT_EQ(0, put(SINGLE_PASS, "0"));
	EXPECT_EQ(0, two_pass);
	EXPECT_GT(inval, 0);
	EXPECT_EQ(0, fin);
}

TEST_HARNESS_MAIN
