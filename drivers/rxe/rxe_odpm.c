// SPDX-License-Identifier: GPL-2.0
/*
 * rxe_odpm.c: on-demand paging of rdma_rxe_odpm on odp-mirror, in place of
 * the kernel's rxe_odp.c (which is built on ib_umem_odp). It defines the
 * functions rxe_loc.h declares for rxe_odp.c, with the same contracts, and
 * is linked with the kernel's other rxe objects, which call them.
 *
 * An ODP MR keeps rxe's shape: mr->umem points at a struct ib_umem with
 * is_odp set, so that is_odp_mr(), the rereg check and the ODP branches of
 * rxe_mr.c and rxe_resp.c work unchanged. That umem is embedded in a
 * struct rxe_odpm_mr, which also holds the MR's mirror; no ib_umem_odp is
 * ever made. The build-time edit of rxe_mr_cleanup() hands it back here.
 *
 * Data path: every copy, atomic and flush maps its range and takes the
 * mirror lock (rxe_odpm_mirror_map_and_lock()), works through
 * kmap_local_page() on the pages the table names, and drops the lock. An
 * invalidation takes the same lock, so it waits for the copy, and the
 * copy never sees a page the process no longer maps.
 *
 * Beyond stock rxe: implicit ODP (start 0, length U64_MAX) on odp-mirror's
 * implicit MR, and 2M and 1G leaves for THP and hugetlb memory, which the
 * data path walks one leaf at a time.
 */
#include <linux/highmem.h>
#include <linux/libnvdimm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "rxe.h"
#include "rxe_loc.h"
#include "rxe_odpm_mirror.h"

/**
 * struct rxe_odpm_mr - what an ODP MR of rdma_rxe_odpm owns
 * @umem: mr->umem points here: is_odp, writable, address and length are
 *	set; the rest stays zero
 * @om: the MR's mirror
 */
struct rxe_odpm_mr {
	struct ib_umem umem;
	struct rxe_odpm_mirror om;
};

static struct rxe_odpm_mirror *rxe_odpm_om(struct rxe_mr *mr)
{
	return &container_of(mr->umem, struct rxe_odpm_mr, umem)->om;
}

/*
 * The process address of @iova. rxe_mr_copy() has checked it with
 * mr_check_range(); iova and address share their offset in the page.
 */
static unsigned long rxe_odpm_va(struct rxe_mr *mr, u64 iova)
{
	return mr->umem->address + (iova - mr->ibmr.iova);
}

/**
 * rxe_odp_mr_init_user() - register an ODP MR
 * @rxe: the device
 * @start: first byte in the process; 0 with @length U64_MAX for an
 *	implicit MR over the whole address space
 * @length: bytes
 * @iova: the MR's first I/O virtual address; 0 for an implicit MR
 * @access_flags: IB_ACCESS_*
 * @mr: the rxe MR to set up
 *
 * Like the stock driver, it maps at once what the process has already
 * touched in the range, and faults the rest on first use.
 *
 * Return: 0, -EINVAL for an implicit MR with a non-zero iova, or an error
 * of rxe_odpm_mirror_init() or of the first snapshot; -ENOMEM.
 */
int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			 u64 iova, int access_flags, struct rxe_mr *mr)
{
	bool implicit = !start && length == U64_MAX;
	struct rxe_odpm_mr *omr;
	int err;

	rxe_mr_init(access_flags, mr);
	if (implicit &&
	    (iova || !(rxe->attr.odp_caps.general_caps & IB_ODP_SUPPORT_IMPLICIT)))
		return -EINVAL;

	omr = kzalloc(sizeof(*omr), GFP_KERNEL_ACCOUNT);
	if (!omr)
		return -ENOMEM;
	omr->umem.ibdev = &rxe->ib_dev;
	omr->umem.address = start;
	omr->umem.length = length;
	omr->umem.writable = ib_access_writable(access_flags);
	omr->umem.is_odp = 1;
	err = rxe_odpm_mirror_init(&omr->om, start, length,
				   omr->umem.writable, implicit);
	if (err) {
		rxe_dbg_mr(mr, "no mirror for the mr, err = %d\n", err);
		kfree(omr);
		return err;
	}
	if (!implicit) {
		err = rxe_odpm_mirror_snapshot(&omr->om, start, length);
		if (err) {
			rxe_odpm_mirror_fini(&omr->om);
			kfree(omr);
			return err;
		}
	}

	mr->umem = &omr->umem;
	mr->access = access_flags;
	mr->ibmr.length = length;
	mr->ibmr.iova = iova;
	mr->ibmr.type = IB_MR_TYPE_USER;
	mr->state = RXE_MR_STATE_VALID;
	return 0;
}

/**
 * rxe_odpm_umem_release() - release an MR's umem, whichever kind
 * @umem: NULL, an ODP umem of this module, or a pinned one
 *
 * The build-time edit of rxe_mr_cleanup() calls this in place of
 * ib_umem_release(): an ODP MR's mirror goes away here (its dirty pages
 * are marked dirty as it goes); other umems go to ib_umem_release().
 * rxe_mr_cleanup() runs once the MR has no users left, in process context.
 */
void rxe_odpm_umem_release(struct ib_umem *umem)
{
	struct rxe_odpm_mr *omr;

	if (!umem || !umem->is_odp) {
		ib_umem_release(umem);
		return;
	}
	omr = container_of(umem, struct rxe_odpm_mr, umem);
	rxe_odpm_mirror_fini(&omr->om);
	kfree(omr);
}

/**
 * rxe_odp_mr_copy() - copy between an ODP MR and a kernel buffer
 * @mr: the MR
 * @iova: first I/O virtual address, inside the MR
 * @addr: the kernel buffer
 * @length: bytes
 * @dir: %RXE_TO_MR_OBJ writes the MR, %RXE_FROM_MR_OBJ reads it
 *
 * Faults in what is missing, then copies under the mirror lock, one page
 * at a time through kmap_local_page(). A write marks the leaves dirty.
 *
 * Return: 0, -EOPNOTSUPP for a non-ODP MR, -EINVAL for an unknown @dir,
 * or an error of rxe_odpm_mirror_map_and_lock().
 */
int rxe_odp_mr_copy(struct rxe_mr *mr, u64 iova, void *addr, int length,
		    enum rxe_mr_copy_dir dir)
{
	bool write = dir == RXE_TO_MR_OBJ;
	struct rxe_odpm_mirror *om;
	unsigned long va;
	int err;

	if (length <= 0)
		return 0;
	if (unlikely(!is_odp_mr(mr)))
		return -EOPNOTSUPP;
	if (dir != RXE_TO_MR_OBJ && dir != RXE_FROM_MR_OBJ)
		return -EINVAL;

	om = rxe_odpm_om(mr);
	va = rxe_odpm_va(mr, iova);
	err = rxe_odpm_mirror_map_and_lock(om, va, length, write);
	if (err)
		return err;
	while (length > 0) {
		unsigned int off = offset_in_page(va);
		unsigned int bytes = min_t(unsigned int, length, PAGE_SIZE - off);
		struct page *page = rxe_odpm_mirror_page(om, va, write);
		u8 *kaddr;

		if (!page) {
			err = -EFAULT;
			break;
		}
		kaddr = kmap_local_page(page);
		if (write)
			memcpy(kaddr + off, addr, bytes);
		else
			memcpy(addr, kaddr + off, bytes);
		kunmap_local(kaddr);
		addr += bytes;
		va += bytes;
		length -= bytes;
	}
	rxe_odpm_mirror_unlock(om);
	return err;
}

/* The atomic itself, under the mirror lock */
static enum resp_states rxe_odpm_atomic_locked(struct rxe_mr *mr, u64 iova,
					       int opcode, u64 compare,
					       u64 swap_add, u64 *orig_val)
{
	unsigned long va = rxe_odpm_va(mr, iova);
	struct page *page;
	u64 *kaddr, *p;

	if (unlikely(mr->state != RXE_MR_STATE_VALID)) {
		rxe_dbg_mr(mr, "mr not in valid state\n");
		return RESPST_ERR_RKEY_VIOLATION;
	}
	if (mr_check_range(mr, iova, sizeof(u64))) {
		rxe_dbg_mr(mr, "iova out of range\n");
		return RESPST_ERR_RKEY_VIOLATION;
	}
	if (unlikely(va & (sizeof(u64) - 1))) {
		rxe_dbg_mr(mr, "iova not aligned\n");
		return RESPST_ERR_MISALIGNED_ATOMIC;
	}
	page = rxe_odpm_mirror_page(rxe_odpm_om(mr), va, true);
	if (!page)
		return RESPST_ERR_RKEY_VIOLATION;

	kaddr = kmap_local_page(page);
	p = kaddr + offset_in_page(va) / sizeof(u64);
	spin_lock_bh(&atomic_ops_lock);
	*orig_val = *p;
	if (opcode == IB_OPCODE_RC_COMPARE_SWAP) {
		if (*p == compare)
			*p = swap_add;
	} else {
		*p += swap_add;
	}
	spin_unlock_bh(&atomic_ops_lock);
	kunmap_local(kaddr);
	return RESPST_NONE;
}

/**
 * rxe_odp_atomic_op() - compare-and-swap or fetch-and-add on an ODP MR
 * @mr: the MR
 * @iova: address of the 8-byte operand
 * @opcode: %IB_OPCODE_RC_COMPARE_SWAP or fetch-and-add
 * @compare: the value compared with
 * @swap_add: the value swapped in, or added
 * @orig_val: the operand before the operation
 *
 * Return: %RESPST_NONE; %RESPST_ERR_RKEY_VIOLATION when the page cannot be
 * faulted in for write, the MR is not valid or @iova is out of range;
 * %RESPST_ERR_MISALIGNED_ATOMIC when it is not 8-byte aligned.
 */
enum resp_states rxe_odp_atomic_op(struct rxe_mr *mr, u64 iova, int opcode,
				   u64 compare, u64 swap_add, u64 *orig_val)
{
	struct rxe_odpm_mirror *om = rxe_odpm_om(mr);
	enum resp_states ret;

	if (rxe_odpm_mirror_map_and_lock(om, rxe_odpm_va(mr, iova),
					 sizeof(u64), true))
		return RESPST_ERR_RKEY_VIOLATION;
	ret = rxe_odpm_atomic_locked(mr, iova, opcode, compare, swap_add,
				     orig_val);
	rxe_odpm_mirror_unlock(om);
	return ret;
}

/**
 * rxe_odp_do_atomic_write() - the 8-byte atomic write on an ODP MR
 * @mr: the MR
 * @iova: address of the operand
 * @value: the value written, after every earlier operation (release)
 *
 * Return: %RESPST_NONE, %RESPST_ERR_RKEY_VIOLATION or
 * %RESPST_ERR_MISALIGNED_ATOMIC, as rxe_odp_atomic_op().
 */
enum resp_states rxe_odp_do_atomic_write(struct rxe_mr *mr, u64 iova, u64 value)
{
	struct rxe_odpm_mirror *om = rxe_odpm_om(mr);
	unsigned long va = rxe_odpm_va(mr, iova);
	struct page *page;
	u64 *kaddr;

	if (unlikely(mr_check_range(mr, iova, sizeof(value)))) {
		rxe_dbg_mr(mr, "iova out of range\n");
		return RESPST_ERR_RKEY_VIOLATION;
	}
	if (rxe_odpm_mirror_map_and_lock(om, va, sizeof(value), true))
		return RESPST_ERR_RKEY_VIOLATION;
	if (unlikely(va & (sizeof(value) - 1))) {
		rxe_odpm_mirror_unlock(om);
		rxe_dbg_mr(mr, "misaligned address\n");
		return RESPST_ERR_MISALIGNED_ATOMIC;
	}
	page = rxe_odpm_mirror_page(om, va, true);
	if (!page) {
		rxe_odpm_mirror_unlock(om);
		return RESPST_ERR_RKEY_VIOLATION;
	}
	kaddr = kmap_local_page(page);
	/* ordered after every earlier operation of the QP (IBA A19.4.2) */
	smp_store_release(&kaddr[offset_in_page(va) / sizeof(value)], value);
	kunmap_local(kaddr);
	rxe_odpm_mirror_unlock(om);
	return RESPST_NONE;
}

/**
 * rxe_odp_flush_pmem_iova() - write persistent memory back, for FLUSH
 * @mr: the MR
 * @iova: first byte
 * @length: bytes
 *
 * A flush reads nothing and writes nothing, so the range is faulted in
 * for read only.
 *
 * Return: 0 or an error of rxe_odpm_mirror_map_and_lock().
 */
int rxe_odp_flush_pmem_iova(struct rxe_mr *mr, u64 iova, unsigned int length)
{
	struct rxe_odpm_mirror *om = rxe_odpm_om(mr);
	unsigned long va = rxe_odpm_va(mr, iova);
	int err;

	err = rxe_odpm_mirror_map_and_lock(om, va, length, false);
	if (err)
		return err;
	while (length) {
		unsigned int off = offset_in_page(va);
		unsigned int bytes = min_t(unsigned int, length, PAGE_SIZE - off);
		struct page *page = rxe_odpm_mirror_page(om, va, false);
		u8 *kaddr;

		if (!page) {
			err = -EFAULT;
			break;
		}
		kaddr = kmap_local_page(page);
		arch_wb_cache_pmem(kaddr + off, bytes);
		kunmap_local(kaddr);
		va += bytes;
		length -= bytes;
	}
	rxe_odpm_mirror_unlock(om);
	return err;
}

/* --- ibv_advise_mr() --- */

/* Prefetch one scatter-gather element of an ODP MR */
static int rxe_odpm_prefetch_sge(struct rxe_mr *mr, u64 iova, u32 length,
				 enum rxe_odpm_prefetch advice)
{
	if (!length)
		return 0;
	if (mr_check_range(mr, iova, length))
		return -EFAULT;
	return rxe_odpm_mirror_prefetch(rxe_odpm_om(mr), rxe_odpm_va(mr, iova),
					length, advice);
}

/*
 * The MR of a prefetch element, with a reference: by lkey, in @pd, with
 * local write access as stock rxe asks, and ODP.
 */
static struct rxe_mr *rxe_odpm_prefetch_mr(struct rxe_pd *pd, u32 lkey)
{
	struct rxe_mr *mr = lookup_mr(pd, IB_ACCESS_LOCAL_WRITE, lkey,
				      RXE_LOOKUP_LOCAL);

	if (!mr) {
		rxe_dbg_pd(pd, "mr with lkey %x not found\n", lkey);
		return NULL;
	}
	if (!is_odp_mr(mr)) {
		rxe_dbg_mr(mr, "not an odp mr\n");
		rxe_put(mr);
		return NULL;
	}
	return mr;
}

/**
 * struct rxe_odpm_prefetch_work - an asynchronous prefetch
 * @work: on rxe_wq
 * @advice: what to do
 * @num_sge: elements in @sge
 * @sge: the elements, each with a reference on its MR
 * @sge.mr: the MR
 * @sge.iova: first byte
 * @sge.length: bytes
 */
struct rxe_odpm_prefetch_work {
	struct work_struct work;
	enum rxe_odpm_prefetch advice;
	u32 num_sge;
	struct {
		struct rxe_mr *mr;
		u64 iova;
		u32 length;
	} sge[] __counted_by(num_sge);
};

static void rxe_odpm_prefetch_work(struct work_struct *w)
{
	struct rxe_odpm_prefetch_work *work =
		container_of(w, struct rxe_odpm_prefetch_work, work);
	u32 i;

	/* best effort: an error only means the pages fault later */
	for (i = 0; i < work->num_sge; i++) {
		int err = rxe_odpm_prefetch_sge(work->sge[i].mr, work->sge[i].iova,
						work->sge[i].length, work->advice);

		if (err)
			rxe_dbg_mr(work->sge[i].mr, "prefetch failed, err = %d\n", err);
		rxe_put(work->sge[i].mr);
	}
	kvfree(work);
}

static int rxe_odpm_prefetch_async(struct rxe_pd *pd,
				   enum rxe_odpm_prefetch advice,
				   struct ib_sge *sg_list, u32 num_sge)
{
	struct rxe_odpm_prefetch_work *work;
	u32 i;

	work = kvzalloc(struct_size(work, sge, num_sge), GFP_KERNEL);
	if (!work)
		return -ENOMEM;
	INIT_WORK(&work->work, rxe_odpm_prefetch_work);
	work->advice = advice;
	work->num_sge = num_sge;
	for (i = 0; i < num_sge; i++) {
		work->sge[i].mr = rxe_odpm_prefetch_mr(pd, sg_list[i].lkey);
		if (!work->sge[i].mr) {
			while (i--)
				rxe_put(work->sge[i].mr);
			kvfree(work);
			return -EINVAL;
		}
		work->sge[i].iova = sg_list[i].addr;
		work->sge[i].length = sg_list[i].length;
	}
	queue_work(rxe_wq, &work->work);
	return 0;
}

static int rxe_odpm_prefetch_sync(struct rxe_pd *pd,
				  enum rxe_odpm_prefetch advice,
				  struct ib_sge *sg_list, u32 num_sge)
{
	u32 i;

	for (i = 0; i < num_sge; i++) {
		struct rxe_mr *mr = rxe_odpm_prefetch_mr(pd, sg_list[i].lkey);
		int err;

		if (!mr)
			return -EINVAL;
		if (advice == RXE_ODPM_PREFETCH_WRITE && !mr->umem->writable) {
			rxe_dbg_mr(mr, "missing write permission\n");
			rxe_put(mr);
			return -EPERM;
		}
		err = rxe_odpm_prefetch_sge(mr, sg_list[i].addr,
					    sg_list[i].length, advice);
		rxe_put(mr);
		if (err)
			return err;
	}
	return 0;
}

/**
 * rxe_ib_advise_mr() - ibv_advise_mr(): prefetch parts of ODP MRs
 * @ibpd: the protection domain of the MRs
 * @advice: PREFETCH (read), PREFETCH_WRITE or PREFETCH_NO_FAULT
 * @flags: %IB_UVERBS_ADVISE_MR_FLAG_FLUSH for a synchronous prefetch
 * @sg_list: the ranges, by lkey, address and length
 * @num_sge: how many
 * @attrs: unused
 *
 * Synchronous: done when it returns, and its first error is returned.
 * Asynchronous: queued on rxe_wq with a reference on each MR, best effort.
 *
 * Return: 0; -EOPNOTSUPP for another advice; -EINVAL for an lkey that is
 * not an ODP MR of @ibpd with local write access; -EPERM for write advice
 * on a read-only MR (synchronous); an error of the prefetch; -ENOMEM.
 */
int rxe_ib_advise_mr(struct ib_pd *ibpd, enum ib_uverbs_advise_mr_advice advice,
		     u32 flags, struct ib_sge *sg_list, u32 num_sge,
		     struct uverbs_attr_bundle *attrs)
{
	struct rxe_pd *pd = to_rpd(ibpd);
	enum rxe_odpm_prefetch how;

	switch (advice) {
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH:
		how = RXE_ODPM_PREFETCH_READ;
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE:
		how = RXE_ODPM_PREFETCH_WRITE;
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT:
		how = RXE_ODPM_PREFETCH_NO_FAULT;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (flags & IB_UVERBS_ADVISE_MR_FLAG_FLUSH)
		return rxe_odpm_prefetch_sync(pd, how, sg_list, num_sge);
	return rxe_odpm_prefetch_async(pd, how, sg_list, num_sge);
}
