// SPDX-License-Identifier: GPL-2.0
/*
 * rxe_odpm_mirror.c: every call rdma_rxe_odpm makes into odp-mirror, kept
 * in one file so that a change of the library's API touches only this.
 *
 * What rxe needs from the library, and how the current API gives it:
 *
 * - a fault that returns with the lock held and the range still mapped, as
 *   ib_umem_odp_map_dma_and_lock() does: odp_mirror_fault_and_lock(), after
 *   a look under the lock with odp_mirror_range_mapped() for the common
 *   case where everything is mapped already;
 * - MRs that may overlap (verbs allows it, one mirror does not): one mirror
 *   per verbs MR;
 * - an implicit MR that is read-only when the verbs MR is: odp-mirror's
 *   implicit MR is always read-write, so a read-only implicit verbs MR is
 *   never asked to fault for write here (rxe checks its access first).
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>

#include "odp_mirror.h"
#include "rxe_odpm_mirror.h"

/* rxe walks with the CPU: every leaf size of the table suits it */
#define RXE_ODPM_PGSIZES	(SZ_4K | SZ_2M | SZ_1G)

/**
 * rxe_odpm_mirror_init() - the mirror of a new ODP MR
 * @om: to fill
 * @start: first byte of the MR in the process; need not be page-aligned
 * @length: its length in bytes
 * @writable: the MR grants write access
 * @implicit: the MR is implicit: the whole address space, @start and
 *	@length ignored
 *
 * Binds the mirror to the calling process's mm, as ib_umem_odp_get() does.
 *
 * Context: process context of the registering process; may sleep.
 * Return: 0, -EINVAL for an empty range or one the mirror cannot hold,
 * -EOVERFLOW for a range that wraps, -ESRCH without an mm, -ENOMEM.
 */
int rxe_odpm_mirror_init(struct rxe_odpm_mirror *om, unsigned long start,
			 unsigned long length, bool writable, bool implicit)
{
	unsigned long first, end;
	int ret;

	if (!current->mm)
		return -ESRCH;
	if (!implicit) {
		if (!length)
			return -EINVAL;
		if (check_add_overflow(start, length, &end))
			return -EOVERFLOW;
		first = ALIGN_DOWN(start, PAGE_SIZE);
		end = PAGE_ALIGN(end);
		if (!end)
			return -EOVERFLOW;
	}
	om->writable = writable;
	om->mr = NULL;
	om->mirror = odp_mirror_create(current->mm, &(struct odp_mirror_desc){
		.pgsize_bitmap = RXE_ODPM_PGSIZES,
	});
	if (IS_ERR(om->mirror))
		return PTR_ERR(om->mirror);
	if (implicit) {
		ret = odp_mirror_set_implicit(om->mirror, true);
	} else {
		om->mr = odp_mr_register(om->mirror, first, end - first,
					 ODP_MR_READ | (writable ? ODP_MR_WRITE : 0), NULL);
		ret = PTR_ERR_OR_ZERO(om->mr);
	}
	if (ret) {
		odp_mirror_destroy(om->mirror);
		om->mirror = NULL;
	}
	return ret;
}

/**
 * rxe_odpm_mirror_fini() - tear down the mirror of an MR
 * @om: the mirror; nothing may use it any more
 *
 * Entries the device wrote mark their folios dirty as they go.
 *
 * Context: may sleep.
 */
void rxe_odpm_mirror_fini(struct rxe_odpm_mirror *om)
{
	if (om->mr)
		odp_mr_unregister(om->mr);
	odp_mirror_destroy(om->mirror);
	om->mirror = NULL;
	om->mr = NULL;
}

/**
 * rxe_odpm_mirror_map_and_lock() - fault a range in and take the lock
 * @om: the mirror
 * @va: first byte, in the process
 * @length: bytes, not zero
 * @write: the device will write
 *
 * On success the whole range is mapped (writable if @write) and the mirror
 * lock is held, so no invalidation can complete until
 * rxe_odpm_mirror_unlock(): the device may copy through the pages that
 * rxe_odpm_mirror_page() names.
 *
 * Context: may sleep; the mirror lock must not be held.
 * Return: 0 with the lock held; else the lock is not held and: -EACCES for
 * a write to a read-only MR, -EFAULT where the process maps nothing or
 * forbids the access, -EBUSY when invalidations kept racing the fault,
 * -ESRCH once the process has exited, -EINVAL, -EINTR, -ENOMEM.
 */
int rxe_odpm_mirror_map_and_lock(struct rxe_odpm_mirror *om, unsigned long va,
				 unsigned long length, bool write)
{
	if (write && !om->writable)
		return -EACCES;
	odp_mirror_lock(om->mirror);
	if (odp_mirror_range_mapped(om->mirror, va, length, write))
		return 0;
	odp_mirror_unlock(om->mirror);
	return odp_mirror_fault_and_lock(om->mirror, va, length,
					 write ? ODP_FAULT_WRITE : 0);
}

/**
 * rxe_odpm_mirror_page() - the page that holds a byte of a locked range
 * @om: the mirror, locked by rxe_odpm_mirror_map_and_lock() over @va
 * @va: the byte
 * @write: the device writes it: its leaf is marked dirty, and its folios
 *	become dirty when the leaf leaves the table
 *
 * Context: under the mirror lock.
 * Return: the page, or NULL if @va is not mapped as asked (a caller bug).
 */
struct page *rxe_odpm_mirror_page(struct rxe_odpm_mirror *om,
				  unsigned long va, bool write)
{
	struct odp_pt_leaf leaf;

	if (WARN_ON_ONCE(!odp_mirror_lookup(om->mirror, va, &leaf)))
		return NULL;
	if (write && WARN_ON_ONCE(!odp_mirror_set_dirty(om->mirror, va)))
		return NULL;
	return pfn_to_page(leaf.pfn + ((va - leaf.va) >> PAGE_SHIFT));
}

/**
 * rxe_odpm_mirror_unlock() - drop the lock taken by a map-and-lock
 * @om: the mirror
 */
void rxe_odpm_mirror_unlock(struct rxe_odpm_mirror *om)
{
	odp_mirror_unlock(om->mirror);
}

/**
 * rxe_odpm_mirror_prefetch() - ibv_advise_mr() on part of an MR
 * @om: the mirror
 * @va: first byte, in the process
 * @length: bytes, not zero
 * @advice: read, write, or no fault
 *
 * Context: may sleep; the mirror lock must not be held.
 * Return: 0, -EACCES for write advice on a read-only MR, or an error of
 * odp_mirror_prefetch().
 */
int rxe_odpm_mirror_prefetch(struct rxe_odpm_mirror *om, unsigned long va,
			     unsigned long length,
			     enum rxe_odpm_prefetch advice)
{
	switch (advice) {
	case RXE_ODPM_PREFETCH_READ:
		return odp_mirror_prefetch(om->mirror, va, length,
					   ODP_PREFETCH_READ);
	case RXE_ODPM_PREFETCH_WRITE:
		if (!om->writable)
			return -EACCES;
		return odp_mirror_prefetch(om->mirror, va, length,
					   ODP_PREFETCH_WRITE);
	case RXE_ODPM_PREFETCH_NO_FAULT:
		return odp_mirror_prefetch(om->mirror, va, length,
					   ODP_PREFETCH_NO_FAULT);
	}
	return -EINVAL;
}

/**
 * rxe_odpm_mirror_snapshot() - map what the CPU maps now, fault nothing
 * @om: the mirror
 * @start: first byte
 * @length: bytes
 *
 * What stock rxe does when an MR is registered: the pages the process has
 * already touched are mapped at once.
 *
 * Context: may sleep.
 * Return: 0 or an error of odp_mirror_prefetch().
 */
int rxe_odpm_mirror_snapshot(struct rxe_odpm_mirror *om, unsigned long start,
			     unsigned long length)
{
	return rxe_odpm_mirror_prefetch(om, start, length,
					RXE_ODPM_PREFETCH_NO_FAULT);
}
