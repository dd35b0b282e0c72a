// SPDX-License-Identifier: GPL-2.0
/*
 * rxe_odpm_test: rdma_rxe_odpm (soft-RoCE with its ODP on odp-mirror) seen
 * through verbs, as a user of libibverbs sees it, in the rxe guest.
 *
 * Two RC QPs on one device (RXE_DEV, RoCE v2 GID index RXE_GID) are
 * connected to each other; rxe carries their packets through its loopback.
 * The "requester" posts RDMA WRITE and READ from a pinned buffer to an ODP
 * MR of the "responder". Leaf sizes, implicit chunks and dirty
 * propagations are read from odp-mirror's debugfs directory of the MR's
 * mirror (each ODP MR of rdma_rxe_odpm is a mirror of its own; the newest
 * mirror of this process is the last MR registered).
 *
 *   huge_2m, huge_1g, thp   2M and 1G leaves for hugetlb and THP memory,
 *                           and device reads and writes through them
 *   implicit                an implicit MR on ours (refused by stock rxe)
 *   dirty                   device writes mark pages dirty, reads do not
 *   dereg, exit             no mirror outlives its MR or its process
 *   stress                  10 s: RDMA writes and reads by a client process
 *                           into an ODP MR while its owner munmaps and
 *                           remaps, MADV_DONTNEEDs, collapses and writes it,
 *                           also the very slot the device is working on;
 *                           every completed write must be what the owner
 *                           reads, and every read what the owner wrote, up
 *                           to the packet the race cut the request at
 *
 * The stress test prints its seed; RXE_STRESS_SEED=N repeats it and
 * RXE_STRESS_SECONDS=N changes its length.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <linux/types.h>

#include "kselftest_harness.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB (30 << 26)
#endif

#define SZ_2M	(512 * 4096UL)
#define SZ_1G	(512 * SZ_2M)
#define ODPM_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define DEBUGFS "/sys/kernel/debug/odp_mirror"

struct end {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	union ibv_gid gid;
	int gidx;
};

static const char *env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/* Bring @e's QP from RESET to INIT; 0 or -1 */
static int end_init(struct end *e)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = 1,
		.qp_access_flags = ODPM_ACCESS,
	};

	return ibv_modify_qp(e->qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS) ? -1 : 0;
}

/* An RC QP in state INIT on device @dev, or -1 */
static int end_open(struct end *e, const char *dev, int gidx)
{
	struct ibv_qp_init_attr ia = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 16, .max_recv_wr = 16,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_device **list;
	int i;

	memset(e, 0, sizeof(*e));
	e->gidx = gidx;
	list = ibv_get_device_list(NULL);
	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), dev))
			e->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!e->ctx)
		return -1;
	e->pd = ibv_alloc_pd(e->ctx);
	e->cq = e->pd ? ibv_create_cq(e->ctx, 64, NULL, NULL, 0) : NULL;
	if (!e->cq)
		return -1;
	ia.send_cq = e->cq;
	ia.recv_cq = e->cq;
	e->qp = ibv_create_qp(e->pd, &ia);
	if (!e->qp || ibv_query_gid(e->ctx, 1, gidx, &e->gid))
		return -1;
	return end_init(e);
}

/* Bring @e's QP to RTS, connected to QP @qpn at GID @dgid */
static int end_connect(struct end *e, __u32 qpn, const union ibv_gid *dgid)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = qpn,
		.max_dest_rd_atomic = 16,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.port_num = 1,
			.grh = { .dgid = *dgid, .sgid_index = e->gidx, .hop_limit = 1 },
		},
	};

	if (ibv_modify_qp(e->qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		return -1;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 16;
	return ibv_modify_qp(e->qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			     IBV_QP_MAX_QP_RD_ATOMIC) ? -1 : 0;
}

/*
 * A QP that an error took to the ERROR state, back to RTS: through RESET
 * and INIT, connected to QP @qpn at @dgid again. 0 or -1.
 */
static int end_reset(struct end *e, __u32 qpn, const union ibv_gid *dgid)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_RESET };

	if (ibv_modify_qp(e->qp, &a, IBV_QP_STATE) || end_init(e))
		return -1;
	return end_connect(e, qpn, dgid);
}

static void end_close(struct end *e)
{
	if (e->qp)
		ibv_destroy_qp(e->qp);
	if (e->cq)
		ibv_destroy_cq(e->cq);
	if (e->pd)
		ibv_dealloc_pd(e->pd);
	if (e->ctx)
		ibv_close_device(e->ctx);
}

/* What rdma() returns when no completion came: never an ibv_wc_status */
#define RDMA_NOT_POSTED	-1	/* ibv_post_send() refused the request */
#define RDMA_POLL_ERROR	-2	/* ibv_poll_cq() failed */
#define RDMA_TIMEOUT	-3	/* no completion within 60 s */

/*
 * One signaled RDMA WRITE or READ between local [@laddr, +@len) (@lkey)
 * and remote @raddr (@rkey): the status of its completion (IBV_WC_SUCCESS
 * or an error), or one of the negative RDMA_* above when none came.
 */
static int rdma(struct end *e, enum ibv_wr_opcode op, void *laddr, __u32 lkey,
		size_t len, __u64 raddr, __u32 rkey)
{
	struct ibv_sge sge = { .addr = (uintptr_t)laddr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;
	time_t t0 = time(NULL);
	struct ibv_wc wc;
	int n, spins = 0;

	if (ibv_post_send(e->qp, &wr, &bad))
		return RDMA_NOT_POSTED;
	while (!(n = ibv_poll_cq(e->cq, 1, &wc))) {
		if (time(NULL) - t0 > 60)
			return RDMA_TIMEOUT;
		if (++spins > 100)
			usleep(200);
	}
	return n < 0 ? RDMA_POLL_ERROR : (int)wc.status;
}

/* The newest odp-mirror of this process: its debugfs directory id */
static int newest_mirror(void)
{
	struct dirent *de;
	int best = -1;
	DIR *d = opendir(DEBUGFS);
	char path[300];

	while (d && (de = readdir(d))) {
		int id = atoi(de->d_name), pid = -1;
		FILE *f;

		if (id <= 0)
			continue;
		snprintf(path, sizeof(path), DEBUGFS "/%d/pid", id);
		f = fopen(path, "r");
		if (f && fscanf(f, "%d", &pid) == 1 && pid == getpid() && id > best)
			best = id;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return best;
}

static bool mirror_exists(int id)
{
	char path[300];

	snprintf(path, sizeof(path), DEBUGFS "/%d", id);
	return !access(path, F_OK);
}

/* One counter of mirror @id's stats file, or -1 */
static long stat_of(int id, const char *key)
{
	char path[300], name[64];
	long v, ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), DEBUGFS "/%d/stats", id);
	f = fopen(path, "r");
	while (f && fscanf(f, "%63s %ld", name, &v) == 2)
		if (!strcmp(name, key))
			ret = v;
	if (f)
		fclose(f);
	return ret;
}

/* kB of AnonHugePages in the VMA holding @p */
static long thp_kb(void *p)
{
	unsigned long lo, hi, addr = (unsigned long)p;
	char line[256];
	bool in = false;
	long kb = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = addr >= lo && addr < hi;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	if (f)
		fclose(f);
	return kb;
}

/* @len bytes of memory aligned to @align, from a larger anonymous mapping */
static void *map_aligned(size_t len, size_t align)
{
	char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((char *)a + len, (uintptr_t)p + align - a);
	return (void *)a;
}

static void fill(void *p, size_t len, __u64 seed)
{
	__u64 *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = seed ^ (i * 0x9e3779b97f4a7c15ULL);
}

FIXTURE(rxe) {
	struct end req, resp;
	char *buf;		/* the requester's pinned buffer */
	struct ibv_mr *buf_mr;
	size_t buf_len;
};

FIXTURE_SETUP(rxe)
{
	const char *dev = env("RXE_DEV", "rxe_odpm0");
	int gidx = atoi(env("RXE_GID", "1"));

	ASSERT_EQ(0, end_open(&self->req, dev, gidx)) TH_LOG("no device %s", dev);
	ASSERT_EQ(0, end_open(&self->resp, dev, gidx));
	ASSERT_EQ(0, end_connect(&self->req, self->resp.qp->qp_num, &self->resp.gid));
	ASSERT_EQ(0, end_connect(&self->resp, self->req.qp->qp_num, &self->req.gid));
	self->buf_len = SZ_2M;
	self->buf = mmap(NULL, self->buf_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->buf_mr = ibv_reg_mr(self->req.pd, self->buf, self->buf_len,
				  IBV_ACCESS_LOCAL_WRITE);
	ASSERT_NE(NULL, self->buf_mr);
}

FIXTURE_TEARDOWN(rxe)
{
	if (self->buf_mr)
		ibv_dereg_mr(self->buf_mr);
	end_close(&self->req);
	end_close(&self->resp);
}

/*
 * Device writes then reads of @len bytes at offsets @off of the ODP MR
 * @mr over @base: the CPU must see each write, and each read must return
 * what the CPU wrote there.
 */
static void probe(struct __test_metadata *_metadata, struct _test_data_rxe *self,
		  struct ibv_mr *mr, char *base, const size_t *off, int n,
		  size_t len)
{
	int i;

	for (i = 0; i < n; i++) {
		char *dst = base + off[i];

		fill(self->buf, len, 0x1000 + i);
		ASSERT_EQ(IBV_WC_SUCCESS, rdma(&self->req, IBV_WR_RDMA_WRITE, self->buf,
					       self->buf_mr->lkey, len,
					       (uintptr_t)dst, mr->rkey));
		ASSERT_EQ(0, memcmp(dst, self->buf, len)) TH_LOG("write at +%#zx", off[i]);
		fill(dst, len, 0x2000 + i);
		memset(self->buf, 0, len);
		ASSERT_EQ(IBV_WC_SUCCESS, rdma(&self->req, IBV_WR_RDMA_READ, self->buf,
					       self->buf_mr->lkey, len,
					       (uintptr_t)dst, mr->rkey));
		ASSERT_EQ(0, memcmp(dst, self->buf, len)) TH_LOG("read at +%#zx", off[i]);
	}
}

static int prefetch_write(struct ibv_pd *pd, struct ibv_mr *mr, void *addr, size_t len)
{
	struct ibv_sge sge = { .addr = (uintptr_t)addr, .length = len, .lkey = mr->lkey };

	return ibv_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			     IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
}

/* An ODP MR over [p, p + len) of hugetlb or THP memory: its leaves */
static void huge_case(struct __test_metadata *_metadata, struct _test_data_rxe *self,
		      char *p, size_t len, const char *leaf_key, long leaves)
{
	size_t off[] = { 0, len / 2 - 64, len - 4096 };
	struct ibv_mr *mr;
	int id;

	memset(p, 0x5a, len);
	mr = ibv_reg_mr(self->resp.pd, p, len, ODPM_ACCESS | IBV_ACCESS_ON_DEMAND);
	ASSERT_NE(NULL, mr);
	id = newest_mirror();
	ASSERT_LT(0, id) TH_LOG("no odp_mirror debugfs directory of this process");
	ASSERT_EQ(0, prefetch_write(self->resp.pd, mr, p, len));
	EXPECT_EQ(leaves, stat_of(id, leaf_key));
	EXPECT_EQ(0, stat_of(id, "leaves_4k"));
	probe(_metadata, self, mr, p, off, 3, 4096);
	/* the device's writes and reads took no further fault */
	EXPECT_EQ(leaves, stat_of(id, leaf_key));
	EXPECT_EQ(0, stat_of(id, "leaves_4k"));
	ibv_dereg_mr(mr);
	EXPECT_FALSE(mirror_exists(id));
}

TEST_F(rxe, huge_2m)
{
	size_t len = 2 * SZ_2M;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	if (p == MAP_FAILED)
		SKIP(return, "no 2M hugetlb pages");
	huge_case(_metadata, self, p, len, "leaves_2m", 2);
	munmap(p, len);
}

TEST_F(rxe, huge_1g)
{
	char *p = mmap(NULL, SZ_1G, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_1GB, -1, 0);

	if (p == MAP_FAILED)
		SKIP(return, "no 1G hugetlb page");
	huge_case(_metadata, self, p, SZ_1G, "leaves_1g", 1);
	munmap(p, SZ_1G);
}

TEST_F(rxe, thp)
{
	size_t len = 2 * SZ_2M;
	char *p = map_aligned(len, SZ_2M);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, len, MADV_HUGEPAGE));
	memset(p, 1, len);
	if (thp_kb(p) < (long)(len >> 10))
		SKIP(munmap(p, len); return, "no THP (AnonHugePages %ld kB)", thp_kb(p));
	huge_case(_metadata, self, p, len, "leaves_2m", 2);
	munmap(p, len);
}

/*
 * Implicit ODP: an MR over the whole address space, on ours only. Its time
 * limit is above rdma()'s 60 s, so that a request that never completes
 * ends as RDMA_TIMEOUT, judged below, rather than as the harness's kill.
 */
TEST_F_TIMEOUT(rxe, implicit, 300)
{
	size_t off[] = { 0, SZ_2M + 8192, 4 * SZ_2M - 4096 };
	size_t len = 4 * SZ_2M;
	const char *stock = env("RXE_STOCK_DEV", "");
	struct ibv_mr *mr;
	struct end s;
	int id, st;
	char *p;

	if (*stock) {
		/* stock rxe has no implicit ODP: it refuses the MR */
		ASSERT_EQ(0, end_open(&s, stock, atoi(env("RXE_STOCK_GID", "1"))));
		mr = ibv_reg_mr(s.pd, NULL, SIZE_MAX, ODPM_ACCESS | IBV_ACCESS_ON_DEMAND);
		EXPECT_EQ(NULL, mr);
		if (mr)
			ibv_dereg_mr(mr);
		end_close(&s);
	}
	mr = ibv_reg_mr(self->resp.pd, NULL, SIZE_MAX, ODPM_ACCESS | IBV_ACCESS_ON_DEMAND);
	ASSERT_NE(NULL, mr) TH_LOG("implicit MR: %s", strerror(errno));
	id = newest_mirror();
	ASSERT_LT(0, id);
	EXPECT_EQ(0, stat_of(id, "implicit_chunks"));
	/* memory mapped after the MR was registered, 4K and THP */
	p = map_aligned(len, SZ_2M);
	ASSERT_NE(NULL, p);
	madvise(p + SZ_2M, 3 * SZ_2M, MADV_HUGEPAGE);
	memset(p, 0, len);
	probe(_metadata, self, mr, p, off, 3, 4096);
	EXPECT_LE(1, stat_of(id, "implicit_chunks"));
	if (thp_kb(p + SZ_2M) >= 2048)
		EXPECT_LE(1, stat_of(id, "leaves_2m"));
	/*
	 * and the device gets no further than the process's mappings: the
	 * write completes, with the NAK of a remote access error (rxe's
	 * responder answers a failed fault with an rkey violation). No
	 * completion at all (a hang, RDMA_TIMEOUT) is a failure, not a pass.
	 */
	munmap(p, len);
	fill(self->buf, 4096, 3);
	st = rdma(&self->req, IBV_WR_RDMA_WRITE, self->buf, self->buf_mr->lkey,
		  4096, (uintptr_t)p, mr->rkey);
	ASSERT_LE(0, st) TH_LOG("a write past the mappings never completed (%d)", st);
	EXPECT_EQ(IBV_WC_REM_ACCESS_ERR, st) TH_LOG("status %s", ibv_wc_status_str(st));
	ibv_dereg_mr(mr);
	EXPECT_FALSE(mirror_exists(id));
}

/* The device's writes mark pages dirty when their leaves go; reads do not */
TEST_F(rxe, dirty)
{
	size_t len = SZ_2M;
	char *w = map_aligned(len, SZ_2M), *r = map_aligned(len, SZ_2M);
	struct ibv_mr *wmr, *rmr;
	int wid, rid;

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, r);
	madvise(w, len, MADV_NOHUGEPAGE);
	madvise(r, len, MADV_NOHUGEPAGE);
	memset(w, 1, len);
	memset(r, 1, len);
	wmr = ibv_reg_mr(self->resp.pd, w, len, ODPM_ACCESS | IBV_ACCESS_ON_DEMAND);
	ASSERT_NE(NULL, wmr);
	wid = newest_mirror();
	rmr = ibv_reg_mr(self->resp.pd, r, len, ODPM_ACCESS | IBV_ACCESS_ON_DEMAND);
	ASSERT_NE(NULL, rmr);
	rid = newest_mirror();
	ASSERT_NE(wid, rid);
	ASSERT_EQ(0, rdma(&self->req, IBV_WR_RDMA_WRITE, self->buf, self->buf_mr->lkey,
			  4096, (uintptr_t)w + 8192, wmr->rkey));
	ASSERT_EQ(0, rdma(&self->req, IBV_WR_RDMA_READ, self->buf, self->buf_mr->lkey,
			  4096, (uintptr_t)r + 8192, rmr->rkey));
	EXPECT_EQ(0, stat_of(wid, "dirty_propagations"));
	/* the leaves leave the table: the written one marks its folio dirty */
	ASSERT_EQ(0, madvise(w, len, MADV_DONTNEED));
	ASSERT_EQ(0, madvise(r, len, MADV_DONTNEED));
	EXPECT_LE(1, stat_of(wid, "dirty_propagations"));
	EXPECT_EQ(0, stat_of(rid, "dirty_propagations"));
	ibv_dereg_mr(wmr);
	ibv_dereg_mr(rmr);
	munmap(w, len);
	munmap(r, len);
}

/* Deregistration, and a process that exits with its MRs registered */
TEST_F(rxe, dereg_and_exit)
{
	int fd[2], id = -1, status;
	pid_t pid;

	ASSERT_EQ(0, pipe(fd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct end e;
		char *p = map_aligned(SZ_2M, SZ_2M);
		struct ibv_mr *mr;

		if (!p || end_open(&e, env("RXE_DEV", "rxe_odpm0"), atoi(env("RXE_GID", "1"))))
			_exit(1);
		memset(p, 1, SZ_2M);
		mr = ibv_reg_mr(e.pd, p, SZ_2M, ODPM_ACCESS | IBV_ACCESS_ON_DEMAND);
		if (!mr || prefetch_write(e.pd, mr, p, SZ_2M))
			_exit(2);
		id = newest_mirror();
		if (write(fd[1], &id, sizeof(id)) != sizeof(id))
			_exit(3);
		_exit(0);	/* with the MR, the QP and the device open */
	}
	close(fd[1]);
	ASSERT_EQ((ssize_t)sizeof(id), read(fd[0], &id, sizeof(id)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_LT(0, id);
	/* uverbs tears the context down at exit, so the mirror is gone */
	EXPECT_FALSE(mirror_exists(id));
	close(fd[0]);
}

/* --- the stress test --- */

/*
 * The owner maps a 32 MiB THP region, registers it as an ODP MR, and hands
 * its client process one 256 KiB slot at a time, for an RDMA WRITE of a new
 * pattern or an RDMA READ of what the owner says the slot holds. While the
 * device works on that slot, the owner munmaps and remaps, MADV_DONTNEEDs,
 * writes and collapses the others; after each change the slot must hold
 * what the owner expects, and after each device write what the device
 * wrote.
 *
 * One request in four also races a change of its own slot, the one the
 * device is working on, at a random moment within a typical request's
 * time: MADV_DONTNEED, an mmap(MAP_FIXED) over it (replaced in one
 * mmap_lock section: the device never sees a hole), or munmap, a pause,
 * and mmap (a hole the device may run into). Each change zeroes the slot.
 * rxe copies a message one packet (ST_MTU bytes) at a time, in order, each
 * under the mirror lock, and an invalidation takes that lock, so each
 * packet lands wholly before the change or wholly after it. The oracle:
 *
 * - a write that completes leaves its first k packets lost (zero: they
 *   went to the pages the change dropped) and the others landed (the new
 *   pattern, in the new pages), for some k from 0 to all: a packet that
 *   landed before one that was lost, or anything else in the slot, is a
 *   device write through a stale translation;
 * - a read that completes returns, for some k, k packets of the old
 *   contents and then zeros;
 * - only the munmap hole may make the request fail, with a remote access
 *   error (rxe NAKs a fault it cannot resolve); a failed write has written
 *   nothing that survives, so the slot reads zero. The two QPs are then in
 *   the ERROR state and are reset and connected again;
 * - the next request after a race is a read of that slot: the device must
 *   see what the CPU sees now, not the pages it mapped before.
 *
 * Which k a request gets depends on timing and is not judged; "split"
 * counts those whose k was neither 0 nor all, that is, races that landed
 * mid-message. What the oracle cannot tell: a packet copied into the old
 * pages just after the change (a stale translation used once more) looks
 * like one copied just before it. The read that follows each race catches
 * a stale translation that outlives the request.
 */
#define ST_LEN		(16 * SZ_2M)
#define ST_SLOT		(64 * 4096UL)
#define ST_SLOTS	(ST_LEN / ST_SLOT)
#define ST_MTU		1024		/* end_connect()'s IBV_MTU_1024 */
#define ST_PACKETS	((int)(ST_SLOT / ST_MTU))
/* races that must have been made while the device worked on the slot */
#define ST_MIN_RACES	8

enum st_op { ST_WRITE, ST_READ, ST_RESET, ST_STOP };

/* The change of the busy slot a request races, if any */
enum st_race { ST_RACE_NONE, ST_RACE_DONTNEED, ST_RACE_REPLACE, ST_RACE_HOLE, ST_RACES };

static const char * const st_race_name[] = {
	[ST_RACE_NONE] = "nothing", [ST_RACE_DONTNEED] = "MADV_DONTNEED",
	[ST_RACE_REPLACE] = "mmap over it", [ST_RACE_HOLE] = "munmap, mmap",
};

struct st_msg {
	int op;
	int slot;
	__u64 seed;
	__u64 addr;
	__u32 rkey;
	__u32 qpn;
	union ibv_gid gid;
	int race;	/* the owner may change the slot meanwhile */
	int status;
	int split;	/* a raced read: packets of the old contents, or -1 */
};

/* @len bytes of the pattern @seed, or zeros for seed 0 */
static void st_pattern(char *p, size_t len, __u64 seed)
{
	if (seed)
		fill(p, len, seed);
	else
		memset(p, 0, len);
}

/*
 * Is slot contents @p the first k packets of pattern @first followed by
 * pattern @then? The largest such k, or -1 if there is none.
 */
static int st_split(const char *p, __u64 first, __u64 then)
{
	char *a = malloc(ST_SLOT), *b = malloc(ST_SLOT);
	int k = 0, i;

	st_pattern(a, ST_SLOT, first);
	st_pattern(b, ST_SLOT, then);
	while (k < ST_PACKETS && !memcmp(p + k * ST_MTU, a + k * ST_MTU, ST_MTU))
		k++;
	for (i = k; i < ST_PACKETS; i++)
		if (memcmp(p + i * ST_MTU, b + i * ST_MTU, ST_MTU))
			k = -1;
	free(a);
	free(b);
	return k;
}

/* The client: RDMA writes and reads at the owner's request */
static int st_client(int sock, const char *dev, int gidx)
{
	struct st_msg m, hello;
	struct end e;
	struct ibv_mr *mr;
	char *buf = mmap(NULL, ST_SLOT, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED || end_open(&e, dev, gidx))
		return 1;
	mr = ibv_reg_mr(e.pd, buf, ST_SLOT, IBV_ACCESS_LOCAL_WRITE);
	if (!mr || read(sock, &hello, sizeof(hello)) != sizeof(hello))
		return 2;
	m = (struct st_msg){ .qpn = e.qp->qp_num, .gid = e.gid };
	if (write(sock, &m, sizeof(m)) != sizeof(m) ||
	    end_connect(&e, hello.qpn, &hello.gid))
		return 3;
	while (read(sock, &m, sizeof(m)) == sizeof(m) && m.op != ST_STOP) {
		if (m.op == ST_RESET) {
			/* after a failed request: the owner's QP is back in RTS */
			m.status = end_reset(&e, hello.qpn, &hello.gid);
		} else if (m.op == ST_WRITE) {
			fill(buf, ST_SLOT, m.seed);
			m.status = rdma(&e, IBV_WR_RDMA_WRITE, buf, mr->lkey, ST_SLOT,
					m.addr, m.rkey);
		} else {
			memset(buf, 0xee, ST_SLOT);
			m.status = rdma(&e, IBV_WR_RDMA_READ, buf, mr->lkey, ST_SLOT,
					m.addr, m.rkey);
			/* old contents, then what the change left: zeros */
			m.split = st_split(buf, m.seed, m.race ? 0 : m.seed);
			if (!m.status && m.split < 0)
				m.status = 1000;	/* the device read stale data */
		}
		if (write(sock, &m, sizeof(m)) != sizeof(m))
			return 4;
	}
	ibv_dereg_mr(mr);
	end_close(&e);
	return 0;
}

/* Does slot @s of @base hold what @seed (0: zeros) says? */
static bool st_holds(char *base, int s, __u64 seed, char *scratch)
{
	st_pattern(scratch, ST_SLOT, seed);
	return !memcmp(base + s * ST_SLOT, scratch, ST_SLOT);
}

static __u64 now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* Change @slot under the device's feet as @race says; the slot reads zero */
static int st_race(char *slot, int race, __u64 hole_us)
{
	if (race == ST_RACE_DONTNEED)
		return madvise(slot, ST_SLOT, MADV_DONTNEED);
	if (race == ST_RACE_HOLE) {
		if (munmap(slot, ST_SLOT))
			return -1;
		usleep(hole_us);
	}
	/* a new mapping, over the old one or into the hole */
	return mmap(slot, ST_SLOT, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == slot ? 0 : -1;
}

/*
 * The loop runs for RXE_STRESS_SECONDS, then on until ST_MIN_RACES races
 * are done, however slow the machine: hence a time limit far above both.
 * It uses its own QPs, not the fixture's.
 */
TEST_F_TIMEOUT(rxe, stress, 600)
{
	const char *dev = env("RXE_DEV", "rxe_odpm0");
	int gidx = atoi(env("RXE_GID", "1"));
	int seconds = atoi(env("RXE_STRESS_SECONDS", "10"));
	unsigned int seed = strtoul(env("RXE_STRESS_SEED", "0"), NULL, 0);
	__u64 want[ST_SLOTS] = { 0 }, gen = 0;
	unsigned long n_write = 0, n_read = 0, n_remap = 0, n_dontneed = 0;
	unsigned long n_cpu = 0, n_collapse = 0, n_collapse_ok = 0, mismatches = 0;
	unsigned long n_race[ST_RACES] = { 0 }, n_split = 0, n_hole_fail = 0;
	unsigned long n_inflight = 0, lat_n = 0;
	__u64 sent = 0, race_at = 0, lat_sum = 0;
	char *base, *scratch = malloc(ST_SLOT);
	struct st_msg m = { 0 }, peer;
	int sv[2], status, busy = -1, follow = -1, race = ST_RACE_NONE;
	bool raced = false;
	const char *op;
	struct ibv_mr *mr;
	struct end e;
	time_t end_time;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(sv[0]);
		_exit(st_client(sv[1], dev, gidx));
	}
	close(sv[1]);
	if (!seed)
		seed = time(NULL);
	srand(seed);
	TH_LOG("seed %u, %d s", seed, seconds);

	base = map_aligned(ST_LEN, SZ_2M);
	ASSERT_NE(NULL, base);
	madvise(base, ST_LEN, MADV_HUGEPAGE);
	memset(base, 0, ST_LEN);
	ASSERT_EQ(0, end_open(&e, dev, gidx));
	mr = ibv_reg_mr(e.pd, base, ST_LEN, ODPM_ACCESS | IBV_ACCESS_ON_DEMAND);
	ASSERT_NE(NULL, mr);
	m = (struct st_msg){ .qpn = e.qp->qp_num, .gid = e.gid };
	ASSERT_EQ((ssize_t)sizeof(m), write(sv[0], &m, sizeof(m)));
	ASSERT_EQ((ssize_t)sizeof(peer), read(sv[0], &peer, sizeof(peer)));
	ASSERT_EQ(0, end_connect(&e, peer.qpn, &peer.gid));

	/* for the time given, then until the races are done and read back */
	end_time = time(NULL) + seconds;
	for (;;) {
		bool more = time(NULL) < end_time || n_inflight < ST_MIN_RACES ||
			    follow >= 0;
		int s = rand() % ST_SLOTS, r, k;
		char *slot = base + s * ST_SLOT;
		__u64 lat = lat_n ? lat_sum / lat_n : 0;

		if (busy < 0 && !more)
			break;
		if (busy < 0) {
			/*
			 * hand the client a slot: a write of a new pattern, or a
			 * read; right after a race, a read of the raced slot
			 */
			if (follow >= 0) {
				s = follow;
				slot = base + s * ST_SLOT;
				m.op = ST_READ;
				race = ST_RACE_NONE;
				follow = -1;
			} else {
				m.op = rand() % 3 ? ST_WRITE : ST_READ;
				race = rand() % 4 ? ST_RACE_NONE : 1 + rand() % (ST_RACES - 1);
			}
			m.slot = s;
			m.seed = m.op == ST_WRITE ? ++gen << 8 | 1 : want[s];
			m.addr = (uintptr_t)slot;
			m.rkey = mr->rkey;
			m.race = race;
			sent = now_us();
			/* at a random moment of a typical request's time */
			race_at = sent + (lat ? (__u64)rand() % lat : 0);
			raced = false;
			ASSERT_EQ((ssize_t)sizeof(m), write(sv[0], &m, sizeof(m)));
			busy = s;
			continue;
		}
		/* the race: the busy slot itself changes */
		if (race && !raced && now_us() >= race_at) {
			ASSERT_EQ(0, st_race(base + busy * ST_SLOT, race,
					     (__u64)rand() % (lat / 8 + 1)));
			want[busy] = 0;
			raced = true;
			continue;
		}
		/* meanwhile, change another slot, or a 2M block */
		if (s != busy) {
			switch (rand() % 4) {
			case 0:
				ASSERT_EQ(0, munmap(slot, ST_SLOT));
				ASSERT_EQ(slot, mmap(slot, ST_SLOT, PROT_READ | PROT_WRITE,
						     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
						     -1, 0));
				want[s] = 0;
				n_remap++;
				break;
			case 1:
				ASSERT_EQ(0, madvise(slot, ST_SLOT, MADV_DONTNEED));
				want[s] = 0;
				n_dontneed++;
				break;
			case 2:
				want[s] = ++gen << 8 | 2;
				fill(slot, ST_SLOT, want[s]);
				n_cpu++;
				break;
			case 3:
				/* may hold the busy slot: a collapse keeps contents */
				r = madvise((void *)((uintptr_t)slot & ~(SZ_2M - 1)), SZ_2M,
					    MADV_COLLAPSE);
				n_collapse++;
				n_collapse_ok += !r;
				break;
			}
			if (!st_holds(base, s, want[s], scratch)) {
				mismatches++;
				TH_LOG("slot %d differs after a CPU change", s);
			}
		}
		/* has the client finished? */
		if (recv(sv[0], &m, sizeof(m), MSG_DONTWAIT) != sizeof(m))
			continue;
		ASSERT_EQ(busy, m.slot);
		slot = base + busy * ST_SLOT;
		op = m.op == ST_WRITE ? "write" : "read";
		if (m.op == ST_WRITE)
			n_write++;
		else
			n_read++;
		if (!raced) {
			/* not raced, or the client was quicker than the race */
			ASSERT_EQ(0, m.status) TH_LOG("%s of slot %d: status %d",
						      op, busy, m.status);
			if (m.op == ST_WRITE) {
				want[busy] = m.seed;
			} else if (m.split != ST_PACKETS) {
				/* a read the client judged leniently: it was not raced */
				mismatches++;
				TH_LOG("read of slot %d: not what the owner wrote", busy);
			}
			if (!race) {
				lat_sum += now_us() - sent;
				lat_n++;
			}
		} else if (m.status == IBV_WC_REM_ACCESS_ERR && race == ST_RACE_HOLE) {
			/* the device ran into the hole: nothing of it survives */
			n_hole_fail++;
			if (!st_holds(base, busy, 0, scratch)) {
				mismatches++;
				TH_LOG("slot %d: a %s that failed in a hole left data", busy, op);
				ASSERT_EQ(0, madvise(slot, ST_SLOT, MADV_DONTNEED));
			}
			/* both QPs are in the ERROR state: back to RTS */
			ASSERT_EQ(0, end_reset(&e, peer.qpn, &peer.gid));
			m.op = ST_RESET;
			ASSERT_EQ((ssize_t)sizeof(m), write(sv[0], &m, sizeof(m)));
			ASSERT_EQ((ssize_t)sizeof(m), read(sv[0], &m, sizeof(m)));
			ASSERT_EQ(0, m.status) TH_LOG("the client's QP did not come back");
		} else {
			/* 1000: the client found the read's data wrong */
			ASSERT_TRUE(m.status == 0 || (m.status == 1000 && m.op == ST_READ))
				TH_LOG("%s of slot %d racing %s: status %d", op, busy,
				       st_race_name[race], m.status);
			k = m.op == ST_WRITE ? st_split(slot, 0, m.seed) : m.split;
			if (k < 0) {
				mismatches++;
				TH_LOG("slot %d: a %s racing %s: not k packets lost, then landed",
				       busy, op, st_race_name[race]);
			}
			n_split += k > 0 && k < ST_PACKETS;
			/* what the slot holds now, as one pattern */
			if (m.op == ST_WRITE && k == 0) {
				want[busy] = m.seed;
			} else if (m.op == ST_WRITE && k != ST_PACKETS) {
				ASSERT_EQ(0, madvise(slot, ST_SLOT, MADV_DONTNEED));
				want[busy] = 0;
			}
		}
		if (raced) {
			n_race[race]++;
			n_inflight++;
			follow = busy;
		}
		if (!st_holds(base, busy, want[busy], scratch)) {
			mismatches++;
			TH_LOG("slot %d is not what the device wrote", busy);
		}
		busy = -1;
	}
	m.op = ST_STOP;
	ASSERT_EQ((ssize_t)sizeof(m), write(sv[0], &m, sizeof(m)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	for (int s = 0; s < (int)ST_SLOTS; s++)
		if (!st_holds(base, s, want[s], scratch))
			mismatches++;
	ksft_print_msg("device: %lu writes, %lu reads; owner: %lu munmap+mmap, %lu DONTNEED,\n",
		       n_write, n_read, n_remap, n_dontneed);
	ksft_print_msg("  %lu CPU writes, %lu MADV_COLLAPSE (%lu collapsed): %lu mismatches\n",
		       n_cpu, n_collapse, n_collapse_ok, mismatches);
	ksft_print_msg("  raced on their own slot: %lu DONTNEED, %lu mmap over, %lu munmap+mmap:\n",
		       n_race[ST_RACE_DONTNEED], n_race[ST_RACE_REPLACE], n_race[ST_RACE_HOLE]);
	ksft_print_msg("  %lu split mid-message, %lu failed in the hole\n", n_split, n_hole_fail);
	EXPECT_EQ(0UL, mismatches);
	EXPECT_LT(0UL, n_write);
	EXPECT_LT(0UL, n_read);
	EXPECT_LE((unsigned long)ST_MIN_RACES, n_inflight);
	ibv_dereg_mr(mr);
	end_close(&e);
	munmap(base, ST_LEN);
	free(scratch);
}

TEST_HARNESS_MAIN
