/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * odp_sim_device: the UAPI of the simulated ODP device, /dev/odp_sim.
 *
 * Opening the device creates a mirror of the opener's address space: a
 * device page table that the device fills on demand. Every ioctl must come
 * from that same address space; from any other (a forked child, a process
 * the fd was passed to) it fails with EPERM.
 *
 * Every argument is a fixed-size struct whose first member, @size, the
 * caller sets to sizeof() the struct. Another size gets EINVAL, and so does
 * a reserved member or flag bit that is not zero: the ABI can grow with new
 * ioctl numbers. Addresses and lengths are in bytes.
 */
#ifndef _UAPI_ODP_SIM_DEVICE_H
#define _UAPI_ODP_SIM_DEVICE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define ODP_SIM_ABI_VERSION	1

/**
 * struct odp_sim_version - ODP_SIM_IOC_VERSION
 * @size: sizeof(struct odp_sim_version)
 * @abi_version: out: ODP_SIM_ABI_VERSION of the running module
 * @pgsize_bitmap: out: leaf sizes this fd's device page table uses
 */
struct odp_sim_version {
	__u32 size;
	__u32 abi_version;
	__u64 pgsize_bitmap;
};

/**
 * struct odp_sim_config - ODP_SIM_IOC_CONFIG: shape of this fd's device
 * @size: sizeof(struct odp_sim_config)
 * @reserve_pages: table pages kept for splits in the notifier, 0 to 64
 *	(default 4); 0 makes every split inside a huge leaf a fallback
 * @pgsize_bitmap: leaf sizes the device supports: 4K plus any of 2M and
 *	1G; changing it needs an empty device (no MR, implicit MR off), else
 *	EBUSY
 */
struct odp_sim_config {
	__u32 size;
	__u32 reserve_pages;
	__u64 pgsize_bitmap;
};

#define ODP_SIM_ACCESS_READ	(1 << 0)
#define ODP_SIM_ACCESS_WRITE	(1 << 1)

/**
 * struct odp_sim_mr - ODP_SIM_IOC_MR_REG and ODP_SIM_IOC_MR_UNREG
 * @size: sizeof(struct odp_sim_mr)
 * @access: ODP_SIM_ACCESS_READ, optionally | ODP_SIM_ACCESS_WRITE
 * @start: first address, page-aligned (2M alignment is not needed)
 * @length: non-zero multiple of the page size
 * @handle: out of MR_REG, in of MR_UNREG: the MR of this fd
 * @reserved: zero
 *
 * MR_REG: EINVAL for a bad range or access, EEXIST if the range overlaps an
 * MR, ENOSPC past 4096 MRs. MR_UNREG: ENOENT for a handle this fd does not
 * have.
 */
struct odp_sim_mr {
	__u32 size;
	__u32 access;
	__u64 start;
	__u64 length;
	__u32 handle;
	__u32 reserved;
};

/**
 * struct odp_sim_implicit - ODP_SIM_IOC_IMPLICIT
 * @size: sizeof(struct odp_sim_implicit)
 * @enable: 1 to let the device reach every address outside explicit MRs,
 *	read-write; 0 to stop it and clear what it mapped
 */
struct odp_sim_implicit {
	__u32 size;
	__u32 enable;
};

#define ODP_SIM_PREFETCH_READ		0	/* fault, map read-only */
#define ODP_SIM_PREFETCH_WRITE		1	/* fault for write */
#define ODP_SIM_PREFETCH_NO_FAULT	2	/* map what the CPU maps */

/**
 * struct odp_sim_prefetch - ODP_SIM_IOC_PREFETCH
 * @size: sizeof(struct odp_sim_prefetch)
 * @advice: ODP_SIM_PREFETCH_*
 * @start: first address
 * @length: non-zero length
 *
 * Errors: EINVAL for a bad range or advice; EFAULT where no MR or VMA
 * covers the range or the CPU mapping forbids the access; EACCES for WRITE
 * in a read-only MR; EBUSY when invalidations kept racing the fault.
 */
struct odp_sim_prefetch {
	__u32 size;
	__u32 advice;
	__u64 start;
	__u64 length;
};

/**
 * struct odp_sim_rw - ODP_SIM_IOC_READ and ODP_SIM_IOC_WRITE
 * @size: sizeof(struct odp_sim_rw)
 * @flags: zero
 * @addr: device address, that is, address in the mirrored process
 * @ptr: user buffer the device copies to (READ) or from (WRITE)
 * @length: non-zero length
 * @faults: out: device page faults this access took (table misses)
 *
 * The device translates every page through its own page table and faults
 * on a miss, as hardware would. A write needs a writable CPU mapping:
 * through a read-only one it fails with EFAULT and writes nothing there.
 * Errors as for PREFETCH; also EINTR on a fatal signal. The access stops
 * at the first page it cannot reach.
 */
struct odp_sim_rw {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u64 ptr;
	__u64 length;
	__u64 faults;
};

/* Per-page records of ODP_SIM_IOC_SNAPSHOT */
#define ODP_SIM_SNAP_PRESENT	(1 << 0)
#define ODP_SIM_SNAP_WRITE	(1 << 1)
#define ODP_SIM_SNAP_DIRTY	(1 << 2)
#define ODP_SIM_SNAP_SIZE_SHIFT	4	/* 0: 4K leaf, 1: 2M, 2: 1G */
#define ODP_SIM_SNAP_SIZE_MASK	(3 << ODP_SIM_SNAP_SIZE_SHIFT)
#define ODP_SIM_SNAP_MAX_PAGES	(1 << 20)

/**
 * struct odp_sim_snapshot - ODP_SIM_IOC_SNAPSHOT
 * @size: sizeof(struct odp_sim_snapshot)
 * @reserved: zero
 * @addr: page-aligned start
 * @npages: 1 to ODP_SIM_SNAP_MAX_PAGES
 * @ptr: user buffer of @npages bytes, one ODP_SIM_SNAP_* record per 4K
 *	page: what the device page table holds, without faulting
 */
struct odp_sim_snapshot {
	__u32 size;
	__u32 reserved;
	__u64 addr;
	__u64 npages;
	__u64 ptr;
};

/**
 * struct odp_sim_stats - ODP_SIM_IOC_STATS: the mirror's counters
 * @size: sizeof(struct odp_sim_stats)
 * @reserved: zero
 * @faults: fault and prefetch calls
 * @hmm_calls: hmm_range_fault() calls
 * @retries: batches redone after -EBUSY or a racing invalidation
 * @pages_faulted: pages hmm_range_fault() returned valid
 * @leaves: leaves in the table now: 4K, 2M, 1G
 * @leaves_installed: leaves installed so far: 4K, 2M, 1G
 * @invalidations: notifier invalidations that reached the table
 * @splits: huge leaves split
 * @merges: tables merged back into one leaf
 * @fallbacks: invalidations that cleared whole leaves, out of reserve
 * @dirty_propagations: folios marked dirty after device writes
 * @tables: table pages now
 * @reserve: reserve pages now
 * @mrs: explicit MRs now
 * @implicit_chunks: implicit MR chunks (1 GiB each) now
 */
struct odp_sim_stats {
	__u32 size;
	__u32 reserved;
	__u64 faults;
	__u64 hmm_calls;
	__u64 retries;
	__u64 pages_faulted;
	__u64 leaves[3];
	__u64 leaves_installed[3];
	__u64 invalidations;
	__u64 splits;
	__u64 merges;
	__u64 fallbacks;
	__u64 dirty_propagations;
	__u64 tables;
	__u64 reserve;
	__u64 mrs;
	__u64 implicit_chunks;
};

#define ODP_SIM_IOC_MAGIC	'O'
#define ODP_SIM_IOC_VERSION	_IOWR(ODP_SIM_IOC_MAGIC, 0x00, struct odp_sim_version)
#define ODP_SIM_IOC_CONFIG	_IOW(ODP_SIM_IOC_MAGIC, 0x01, struct odp_sim_config)
#define ODP_SIM_IOC_MR_REG	_IOWR(ODP_SIM_IOC_MAGIC, 0x02, struct odp_sim_mr)
#define ODP_SIM_IOC_MR_UNREG	_IOW(ODP_SIM_IOC_MAGIC, 0x03, struct odp_sim_mr)
#define ODP_SIM_IOC_IMPLICIT	_IOW(ODP_SIM_IOC_MAGIC, 0x04, struct odp_sim_implicit)
#define ODP_SIM_IOC_PREFETCH	_IOW(ODP_SIM_IOC_MAGIC, 0x05, struct odp_sim_prefetch)
#define ODP_SIM_IOC_READ	_IOWR(ODP_SIM_IOC_MAGIC, 0x06, struct odp_sim_rw)
#define ODP_SIM_IOC_WRITE	_IOWR(ODP_SIM_IOC_MAGIC, 0x07, struct odp_sim_rw)
#define ODP_SIM_IOC_SNAPSHOT	_IOW(ODP_SIM_IOC_MAGIC, 0x08, struct odp_sim_snapshot)
#define ODP_SIM_IOC_STATS	_IOWR(ODP_SIM_IOC_MAGIC, 0x09, struct odp_sim_stats)
/*
 * For benchmarks only: PREFETCH's fault loop, hmm_range_fault() included,
 * that installs nothing in the device page table.
 */
#define ODP_SIM_IOC_BENCH_FLOOR	_IOW(ODP_SIM_IOC_MAGIC, 0x0a, struct odp_sim_prefetch)

#endif /* _UAPI_ODP_SIM_DEVICE_H */
