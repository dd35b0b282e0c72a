/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * odp_sim_device: the UAPI of the simulated ODP device, /dev/odp_sim, and
 * of the edu DMA device, /dev/odp_edu, which speaks it too.
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

#define ODP_SIM_ABI_VERSION	3

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
 * @retries_unrelated: of @retries, those hmm_range_fault() forced although
 *	no invalidation touched the batch
 * @seq_unrelated: sequence changes that forced no retry, the invalidation
 *	being elsewhere in the MR
 * @dma_maps: DMA mappings made, one per leaf (DMA devices)
 * @dma_unmaps: DMA mappings removed
 * @dma_relinks: huge IOVA links rebuilt after a split
 * @refreshes: faults that had to clear and map again leaves of a DMA
 *	device
 * @dev_zaps: invalidations the device's driver was told of
 * @dev_installs: faults the device's driver was told of
 * @dev_tlb_hits: device translations served by its TLB
 * @dev_tlb_misses: device translations that walked the table
 * @dev_zap_mr: the MR of the last invalidation the driver was told of,
 *	as its callbacks see it (odp_mr_priv()): its handle, 0 for the
 *	implicit MR
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
	__u64 retries_unrelated;
	__u64 seq_unrelated;
	__u64 dma_maps;
	__u64 dma_unmaps;
	__u64 dma_relinks;
	__u64 refreshes;
	__u64 dev_zaps;
	__u64 dev_installs;
	__u64 dev_tlb_hits;
	__u64 dev_tlb_misses;
	__u64 dev_zap_mr;
};

/**
 * struct odp_sim_translate - ODP_SIM_IOC_TRANSLATE: one address, as the
 *	device sees it (CAP_SYS_ADMIN only, else EPERM, as pagemap's pfns)
 * @size: sizeof(struct odp_sim_translate)
 * @flags: out: ODP_SIM_SNAP_PRESENT, _WRITE, _DIRTY of the leaf
 * @addr: the address
 * @target: out: the physical address of @addr's page, or its DMA address
 *	on a DMA device (/dev/odp_edu)
 * @shift: out: log2 of the leaf's size
 * @reserved: zero
 */
struct odp_sim_translate {
	__u32 size;
	__u32 flags;
	__u64 addr;
	__u64 target;
	__u32 shift;
	__u32 reserved;
};

/*
 * /dev/odp_edu only (a QEMU edu PCI device moving data by DMA); the
 * simulated device answers these with ENOTTY.
 */

/* Flags of struct odp_edu_info */
#define ODP_EDU_INFO_IOMMU	(1 << 0)	/* DMA goes through an IOMMU */
#define ODP_EDU_INFO_IOVA	(1 << 1)	/* one IOVA range per MR (7.x) */
#define ODP_EDU_INFO_RAW	(1 << 2)	/* RAW_READ is allowed */

/**
 * struct odp_edu_info - ODP_EDU_IOC_INFO: the device behind this fd
 * @size: sizeof(struct odp_edu_info)
 * @flags: out: ODP_EDU_INFO_*. Without ODP_EDU_INFO_IOVA, each leaf is
 *	its own DMA mapping, and a partial invalidation of a huge leaf
 *	unmaps all of it.
 * @pci_domain: out: PCI domain of the device
 * @pci_bus: out: its bus
 * @pci_devfn: out: its device and function, (slot << 3) | function
 * @transfers: out: DMA transfers the device's engine made since it was
 *	bound, by every fd
 * @bytes: out: bytes those transfers moved
 */
struct odp_edu_info {
	__u32 size;
	__u32 flags;
	__u32 pci_domain;
	__u16 pci_bus;
	__u16 pci_devfn;
	__u64 transfers;
	__u64 bytes;
};

#define ODP_EDU_RAW_MAX		4095

/**
 * struct odp_edu_raw - ODP_EDU_IOC_RAW_READ: the device reads a DMA address
 *	(CAP_SYS_ADMIN and the module parameter raw_dma=1, else EPERM)
 * @size: sizeof(struct odp_edu_raw)
 * @fill: the byte the device's buffer is filled with before the read,
 *	so that a read the IOMMU blocks shows as such
 * @reserved: zero
 * @dma: the DMA address (IOVA) the device reads, for instance one that
 *	ODP_SIM_IOC_TRANSLATE gave before an invalidation
 * @length: 1 to ODP_EDU_RAW_MAX bytes (EINVAL otherwise)
 * @ptr: user buffer of @length bytes: what reached the device's buffer
 *
 * Meant for tests of what the device can still reach: a DMA address the
 * mirror unmapped must not give the old data, and the IOMMU logs a fault.
 */
struct odp_edu_raw {
	__u32 size;
	__u8 fill;
	__u8 reserved[3];
	__u64 dma;
	__u64 length;
	__u64 ptr;
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
#define ODP_SIM_IOC_TRANSLATE	_IOWR(ODP_SIM_IOC_MAGIC, 0x0b, struct odp_sim_translate)
/*
 * For benchmarks only, /dev/odp_sim: the true floor of a prefetch,
 * hmm_range_fault() over the whole range in the largest pieces its pfn
 * array allows (1 GiB), under a notifier of its own, installing nothing.
 */
#define ODP_SIM_IOC_BENCH_HMM	_IOW(ODP_SIM_IOC_MAGIC, 0x20, struct odp_sim_prefetch)
/* Numbers from 0x40 on belong to one device alone */
#define ODP_EDU_IOC_INFO	_IOWR(ODP_SIM_IOC_MAGIC, 0x40, struct odp_edu_info)
#define ODP_EDU_IOC_RAW_READ	_IOW(ODP_SIM_IOC_MAGIC, 0x41, struct odp_edu_raw)

#endif /* _UAPI_ODP_SIM_DEVICE_H */
