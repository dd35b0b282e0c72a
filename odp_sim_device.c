// SPDX-License-Identifier: GPL-2.0
/*
 * odp_sim_device: a simulated ODP device, /dev/odp_sim, over odp_mirror.
 *
 * Each open file is one device address space mirroring the opener's mm.
 * The device reads and writes user memory the way hardware would: it
 * translates every page through its own page table, under the mirror lock,
 * and takes a device page fault (odp_mirror_fault()) on a miss. It copies
 * straight between those pages and the caller's buffer, whose pages it
 * pins first, as a DMA engine would: no user memory is touched, and
 * nothing can fault, while the mirror lock is held. The UAPI is
 * include/uapi/odp_sim_device.h.
 */
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/rwsem.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "odp_mirror.h"
#include "uapi/odp_sim_device.h"

/* Pages of the caller's buffer pinned for one step of a READ or WRITE */
#define ODP_SIM_PIN_PAGES	256
/* A device fault maps up to the next 2M boundary */
#define ODP_SIM_FAULT_WINDOW	SZ_2M
/* Faults in a row at one address before giving up (racing invalidations) */
#define ODP_SIM_MAX_REFAULTS	64

static ulong pgsizes = ODP_PT_PGSIZES_ALL;
module_param(pgsizes, ulong, 0444);
MODULE_PARM_DESC(pgsizes, "default leaf sizes of the device: 4K | 2M | 1G");

struct odp_sim {
	struct mm_struct *mm;		/* the opener's; only it may use the fd */
	struct rw_semaphore sem;	/* CONFIG (write) against the rest */
	struct odp_mirror *mirror;	/* under sem */
	unsigned long pgsize_bitmap;	/* under sem */
	bool implicit;			/* under sem (write) or mirror's mr_sem */
	struct xarray mrs;		/* handle -> struct odp_mr */
};

/* Copy an ioctl argument in and check its size member. */
static int odp_sim_arg(void *karg, const void __user *uarg, u32 size)
{
	if (copy_from_user(karg, uarg, size))
		return -EFAULT;
	return *(u32 *)karg == size ? 0 : -EINVAL;
}

static long odp_sim_version(struct odp_sim *s, void __user *uarg)
{
	struct odp_sim_version v;
	int ret = odp_sim_arg(&v, uarg, sizeof(v));

	if (ret)
		return ret;
	v.abi_version = ODP_SIM_ABI_VERSION;
	v.pgsize_bitmap = s->pgsize_bitmap;
	return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
}

/* Called with s->sem held for write. */
static long odp_sim_config(struct odp_sim *s, void __user *uarg)
{
	struct odp_sim_config c;
	struct odp_mirror *m;
	int ret = odp_sim_arg(&c, uarg, sizeof(c));

	if (ret)
		return ret;
	if (c.reserve_pages > ODP_MIRROR_RESERVE_MAX)
		return -EINVAL;
	if (c.pgsize_bitmap != s->pgsize_bitmap) {
		if (!xa_empty(&s->mrs) || s->implicit)
			return -EBUSY;
		m = odp_mirror_create(s->mm, c.pgsize_bitmap);
		if (IS_ERR(m))
			return PTR_ERR(m);
		odp_mirror_destroy(s->mirror);
		s->mirror = m;
		s->pgsize_bitmap = c.pgsize_bitmap;
	}
	return odp_mirror_set_reserve(s->mirror, c.reserve_pages);
}

static long odp_sim_mr_reg(struct odp_sim *s, void __user *uarg)
{
	struct odp_sim_mr a;
	unsigned int access = ODP_MR_READ;
	struct odp_mr *mr;
	int ret = odp_sim_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.reserved || !(a.access & ODP_SIM_ACCESS_READ) ||
	    (a.access & ~(ODP_SIM_ACCESS_READ | ODP_SIM_ACCESS_WRITE)) ||
	    a.start > ULONG_MAX || a.length > ULONG_MAX)
		return -EINVAL;
	if (a.access & ODP_SIM_ACCESS_WRITE)
		access |= ODP_MR_WRITE;
	mr = odp_mr_register(s->mirror, a.start, a.length, access);
	if (IS_ERR(mr))
		return PTR_ERR(mr);
	ret = xa_alloc(&s->mrs, &a.handle, mr, xa_limit_32b, GFP_KERNEL_ACCOUNT);
	if (!ret && copy_to_user(uarg, &a, sizeof(a))) {
		xa_erase(&s->mrs, a.handle);
		ret = -EFAULT;
	}
	if (ret)
		odp_mr_unregister(mr);
	return ret;
}

static long odp_sim_mr_unreg(struct odp_sim *s, void __user *uarg)
{
	struct odp_sim_mr a;
	struct odp_mr *mr;
	int ret = odp_sim_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	mr = xa_erase(&s->mrs, a.handle);
	if (!mr)
		return -ENOENT;
	odp_mr_unregister(mr);
	return 0;
}

/* Called with s->sem held for write. */
static long odp_sim_implicit(struct odp_sim *s, void __user *uarg)
{
	struct odp_sim_implicit a;
	int ret = odp_sim_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.enable > 1)
		return -EINVAL;
	s->implicit = a.enable;
	return odp_mirror_set_implicit(s->mirror, a.enable);
}

static long odp_sim_prefetch(struct odp_sim *s, void __user *uarg, bool floor)
{
	static const enum odp_prefetch_advice advice[] = {
		[ODP_SIM_PREFETCH_READ] = ODP_PREFETCH_READ,
		[ODP_SIM_PREFETCH_WRITE] = ODP_PREFETCH_WRITE,
		[ODP_SIM_PREFETCH_NO_FAULT] = ODP_PREFETCH_NO_FAULT,
	};
	struct odp_sim_prefetch a;
	int ret = odp_sim_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.advice >= ARRAY_SIZE(advice) || a.start > ULONG_MAX ||
	    a.length > ULONG_MAX)
		return -EINVAL;
	if (floor)
		return odp_mirror_prefetch_floor(s->mirror, a.start, a.length,
						 advice[a.advice]);
	return odp_mirror_prefetch(s->mirror, a.start, a.length, advice[a.advice]);
}

/* Copy @n bytes between a page the device translated and the buffer */
static void odp_sim_copy(struct page *dev, size_t doff, struct page *buf,
			 size_t boff, size_t n, bool write)
{
	void *d = kmap_local_page(dev);
	void *b = kmap_local_page(buf);

	if (write) {
		memcpy(d + doff, b + boff, n);
		flush_dcache_page(dev);
	} else {
		memcpy(b + boff, d + doff, n);
		flush_dcache_page(buf);
	}
	kunmap_local(b);
	kunmap_local(d);
}

/*
 * The device's access to [va, va + len) through its page table, like a
 * DMA engine moving data between the mirrored memory and a buffer: each
 * translated page is copied straight to or from the caller's buffer,
 * pinned beforehand, its first byte @boff bytes into @buf[0]. A miss, or
 * a write to a read-only entry, is a device fault.
 */
static int odp_sim_access(struct odp_mirror *m, unsigned long va,
			  struct page **buf, size_t boff, size_t len,
			  bool write, u64 *faults)
{
	unsigned long miss_va = ULONG_MAX;
	unsigned int misses = 0;
	int ret;

	while (len) {
		struct odp_pt_leaf leaf;
		size_t window;

		odp_mirror_lock(m);
		while (len && odp_mirror_lookup(m, va, &leaf) &&
		       (!write || leaf.writable)) {
			unsigned long leaf_end = leaf.va + (1UL << leaf.shift);

			if (write)
				odp_mirror_set_dirty(m, va);
			do {
				struct page *page = pfn_to_page(leaf.pfn +
						((va - leaf.va) >> PAGE_SHIFT));
				size_t n = min3(len, PAGE_SIZE - offset_in_page(va),
						PAGE_SIZE - offset_in_page(boff));

				odp_sim_copy(page, offset_in_page(va), buf[boff >> PAGE_SHIFT],
					     offset_in_page(boff), n, write);
				va += n;
				boff += n;
				len -= n;
			} while (len && va < leaf_end);
		}
		odp_mirror_unlock(m);
		if (!len)
			break;

		/* a device page fault; invalidations may race it */
		if (va != miss_va) {
			miss_va = va;
			misses = 0;
		} else if (++misses > ODP_SIM_MAX_REFAULTS) {
			return -EBUSY;
		}
		(*faults)++;
		window = min_t(size_t, len, ALIGN(va + 1, ODP_SIM_FAULT_WINDOW) - va);
		ret = odp_mirror_fault(m, va, window, write ? ODP_FAULT_WRITE : 0);
		/* a failure further on must not fail this page */
		if (ret && window > PAGE_SIZE - offset_in_page(va))
			ret = odp_mirror_fault(m, va, 1, write ? ODP_FAULT_WRITE : 0);
		if (ret)
			return ret;
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

static long odp_sim_rw(struct odp_sim *s, void __user *uarg, bool write)
{
	struct odp_sim_rw a;
	struct page **pages;
	size_t done = 0;
	int ret = odp_sim_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.flags || !a.length || a.addr > ULONG_MAX || a.length > ULONG_MAX ||
	    a.addr + a.length < a.addr)
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(a.ptr), a.length))
		return -EFAULT;
	pages = kmalloc_array(ODP_SIM_PIN_PAGES, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	a.faults = 0;
	while (done < a.length) {
		unsigned long uaddr = a.ptr + done;
		size_t off = offset_in_page(uaddr);
		size_t n = min_t(u64, a.length - done,
				 ODP_SIM_PIN_PAGES * PAGE_SIZE - off);
		int npages = DIV_ROUND_UP(off + n, PAGE_SIZE);
		/* a READ writes the buffer, a WRITE reads it */
		int got = pin_user_pages_fast(uaddr - off, npages,
					      write ? 0 : FOLL_WRITE, pages);

		if (got != npages) {
			if (got > 0)
				unpin_user_pages(pages, got);
			ret = got < 0 ? got : -EFAULT;
			break;
		}
		ret = odp_sim_access(s->mirror, a.addr + done, pages, off, n, write,
				     &a.faults);
		unpin_user_pages_dirty_lock(pages, npages, !write);
		if (ret)
			break;
		done += n;
		cond_resched();
	}
	kfree(pages);
	if (copy_to_user(uarg, &a, sizeof(a)) && !ret)
		ret = -EFAULT;
	return ret;
}

/* A snapshot record of the table in the UAPI's format */
static u8 odp_sim_snap_rec(u8 rec)
{
	if (!(rec & ODP_PT_SNAP_PRESENT))
		return 0;
	return ODP_SIM_SNAP_PRESENT |
	       ((rec & ODP_PT_SNAP_WRITE) ? ODP_SIM_SNAP_WRITE : 0) |
	       ((rec & ODP_PT_SNAP_DIRTY) ? ODP_SIM_SNAP_DIRTY : 0) |
	       ((rec & ODP_PT_SNAP_SIZE_MASK) >> ODP_PT_SNAP_SIZE_SHIFT) <<
	       ODP_SIM_SNAP_SIZE_SHIFT;
}

static long odp_sim_snapshot(struct odp_sim *s, void __user *uarg)
{
	struct odp_sim_snapshot a;
	u64 i;
	u8 *recs;
	int ret = odp_sim_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.reserved || !a.npages || a.npages > ODP_SIM_SNAP_MAX_PAGES ||
	    a.addr > ULONG_MAX)
		return -EINVAL;
	recs = kvmalloc(a.npages, GFP_KERNEL);
	if (!recs)
		return -ENOMEM;
	ret = odp_mirror_snapshot(s->mirror, a.addr, a.npages, recs);
	for (i = 0; !ret && i < a.npages; i++)
		recs[i] = odp_sim_snap_rec(recs[i]);
	if (!ret && copy_to_user(u64_to_user_ptr(a.ptr), recs, a.npages))
		ret = -EFAULT;
	kvfree(recs);
	return ret;
}

static long odp_sim_stats(struct odp_sim *s, void __user *uarg)
{
	struct odp_sim_stats a;
	struct odp_mirror_stats st;
	unsigned int i;
	int ret = odp_sim_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	odp_mirror_get_stats(s->mirror, &st);
	a = (struct odp_sim_stats){
		.size = sizeof(a),
		.faults = st.faults,
		.hmm_calls = st.hmm_calls,
		.retries = st.retries,
		.pages_faulted = st.pages_faulted,
		.invalidations = st.invalidations,
		.splits = st.splits,
		.merges = st.merges,
		.fallbacks = st.fallbacks,
		.dirty_propagations = st.dirty_propagations,
		.tables = st.tables,
		.reserve = st.reserve,
		.mrs = st.mrs,
		.implicit_chunks = st.implicit_chunks,
	};
	for (i = 0; i < ODP_PT_NR_SIZES; i++) {
		a.leaves[i] = st.leaves[i];
		a.leaves_installed[i] = st.leaves_installed[i];
	}
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static long odp_sim_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct odp_sim *s = file->private_data;
	void __user *uarg = (void __user *)arg;
	bool excl = cmd == ODP_SIM_IOC_CONFIG || cmd == ODP_SIM_IOC_IMPLICIT;
	long ret;

	if (current->mm != s->mm)
		return -EPERM;
	if (excl)
		down_write(&s->sem);
	else
		down_read(&s->sem);
	switch (cmd) {
	case ODP_SIM_IOC_VERSION:
		ret = odp_sim_version(s, uarg);
		break;
	case ODP_SIM_IOC_CONFIG:
		ret = odp_sim_config(s, uarg);
		break;
	case ODP_SIM_IOC_MR_REG:
		ret = odp_sim_mr_reg(s, uarg);
		break;
	case ODP_SIM_IOC_MR_UNREG:
		ret = odp_sim_mr_unreg(s, uarg);
		break;
	case ODP_SIM_IOC_IMPLICIT:
		ret = odp_sim_implicit(s, uarg);
		break;
	case ODP_SIM_IOC_PREFETCH:
	case ODP_SIM_IOC_BENCH_FLOOR:
		ret = odp_sim_prefetch(s, uarg, cmd == ODP_SIM_IOC_BENCH_FLOOR);
		break;
	case ODP_SIM_IOC_READ:
	case ODP_SIM_IOC_WRITE:
		ret = odp_sim_rw(s, uarg, cmd == ODP_SIM_IOC_WRITE);
		break;
	case ODP_SIM_IOC_SNAPSHOT:
		ret = odp_sim_snapshot(s, uarg);
		break;
	case ODP_SIM_IOC_STATS:
		ret = odp_sim_stats(s, uarg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	if (excl)
		up_write(&s->sem);
	else
		up_read(&s->sem);
	return ret;
}

static int odp_sim_open(struct inode *inode, struct file *file)
{
	struct odp_sim *s;

	if (!current->mm)
		return -EINVAL;
	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	s->mm = current->mm;
	s->pgsize_bitmap = pgsizes;
	s->mirror = odp_mirror_create(current->mm, pgsizes);
	if (IS_ERR(s->mirror)) {
		int ret = PTR_ERR(s->mirror);

		kfree(s);
		return ret;
	}
	init_rwsem(&s->sem);
	xa_init_flags(&s->mrs, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	file->private_data = s;
	return nonseekable_open(inode, file);
}

static int odp_sim_release(struct inode *inode, struct file *file)
{
	struct odp_sim *s = file->private_data;
	struct odp_mr *mr;
	unsigned long handle;

	xa_for_each(&s->mrs, handle, mr)
		odp_mr_unregister(mr);
	xa_destroy(&s->mrs);
	odp_mirror_destroy(s->mirror);
	kfree(s);
	return 0;
}

static const struct file_operations odp_sim_fops = {
	.owner = THIS_MODULE,
	.open = odp_sim_open,
	.release = odp_sim_release,
	.unlocked_ioctl = odp_sim_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice odp_sim_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "odp_sim",
	.fops = &odp_sim_fops,
};

static int __init odp_sim_init(void)
{
	if (!(pgsizes & SZ_4K) || (pgsizes & ~ODP_PT_PGSIZES_ALL))
		return -EINVAL;
	return misc_register(&odp_sim_misc);
}

static void __exit odp_sim_exit(void)
{
	misc_deregister(&odp_sim_misc);
}

module_init(odp_sim_init);
module_exit(odp_sim_exit);
MODULE_DESCRIPTION("Simulated ODP device over odp_mirror");
MODULE_LICENSE("GPL");
