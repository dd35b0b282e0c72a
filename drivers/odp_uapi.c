// SPDX-License-Identifier: GPL-2.0
/*
 * odp_uapi: the ioctl front end of the test devices, see odp_uapi.h.
 *
 * Each open file is one device address space mirroring the opener's mm;
 * every ioctl must come from that mm. The front end copies the fixed-size
 * argument in, checks it, calls the mirror, and copies the result out; it
 * never holds the mirror lock across user memory. READ and WRITE pin the
 * caller's buffer and hand it to the driver's access callback, which
 * moves the data as its device does. The UAPI is
 * include/uapi/odp_sim_device.h.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "odp_uapi.h"

/* Pages of the caller's buffer pinned for one step of a READ or WRITE */
#define ODP_UAPI_PIN_PAGES	256

struct odp_uapi_file {
	const struct odp_uapi_driver *drv;
	struct mm_struct *mm;		/* the opener's; only it may use the fd */
	struct rw_semaphore sem;	/* CONFIG and IMPLICIT (write) against the rest */
	struct odp_mirror *mirror;	/* under sem */
	unsigned long pgsize_bitmap;	/* under sem */
	bool implicit;			/* under sem */
	struct xarray mrs;		/* handle -> struct odp_mr */
	u8 priv[] __aligned(sizeof(long));	/* the driver's */
};

/**
 * odp_uapi_mirror() - the mirror of an open file
 * @f: the file
 *
 * Return: its mirror; stable while the driver's callbacks run.
 */
struct odp_mirror *odp_uapi_mirror(struct odp_uapi_file *f)
{
	return f->mirror;
}
EXPORT_SYMBOL_GPL(odp_uapi_mirror);

/**
 * odp_uapi_priv() - the driver's state of an open file
 * @f: the file
 *
 * Return: &odp_uapi_driver.file_priv_size bytes, zeroed at open.
 */
void *odp_uapi_priv(struct odp_uapi_file *f)
{
	return f->priv;
}
EXPORT_SYMBOL_GPL(odp_uapi_priv);

/**
 * odp_uapi_arg() - copy an ioctl argument in and check its size member
 * @karg: where to
 * @uarg: the user's struct, whose first member is its size
 * @size: sizeof() the struct
 *
 * Return: 0, -EFAULT, or -EINVAL for another size.
 */
int odp_uapi_arg(void *karg, const void __user *uarg, u32 size)
{
	if (copy_from_user(karg, uarg, size))
		return -EFAULT;
	return *(u32 *)karg == size ? 0 : -EINVAL;
}
EXPORT_SYMBOL_GPL(odp_uapi_arg);

/* --- the device TLB of both test devices --- */

static inline unsigned int odp_uapi_tlb_slot(unsigned long va)
{
	return (va >> PMD_SHIFT) % ODP_UAPI_TLB_SIZE;
}

static void odp_uapi_tlb_load(struct odp_uapi_tlb *t, const struct odp_pt_leaf *leaf)
{
	unsigned int i = odp_uapi_tlb_slot(leaf->va);

	t->leaf[i] = *leaf;
	t->valid[i] = true;
}

/**
 * odp_uapi_tlb_translate() - the device's translation of an address
 * @t: the device's TLB
 * @m: its mirror, locked
 * @va: the address
 * @leaf: the translation
 *
 * Return: true with @leaf from the TLB or, on a miss, from the mirror's
 * table (and then cached); false if the mirror does not map @va.
 */
bool odp_uapi_tlb_translate(struct odp_uapi_tlb *t, struct odp_mirror *m,
			    unsigned long va, struct odp_pt_leaf *leaf)
{
	unsigned int i = odp_uapi_tlb_slot(va);

	if (t->valid[i] && va >= t->leaf[i].va && va - t->leaf[i].va < BIT(t->leaf[i].shift)) {
		*leaf = t->leaf[i];
		t->hits++;
		return true;
	}
	t->misses++;
	if (!odp_mirror_lookup(m, va, leaf))
		return false;
	odp_uapi_tlb_load(t, leaf);
	return true;
}
EXPORT_SYMBOL_GPL(odp_uapi_tlb_translate);

/**
 * odp_uapi_tlb_invalidate() - drop the translations an invalidation covers
 * @t: the device's TLB
 * @inv: the invalidation, from the mirror's invalidate_start() callback
 * @keep_read: for a write-protect (@inv->protect), keep the translations
 *	and take only write access away; otherwise zap them all
 */
void odp_uapi_tlb_invalidate(struct odp_uapi_tlb *t, const struct odp_inval *inv,
			     bool keep_read)
{
	unsigned int i;

	t->zaps++;
	t->zap_mr = (uintptr_t)odp_mr_priv(inv->mr);
	for (i = 0; i < ODP_UAPI_TLB_SIZE; i++) {
		if (!t->valid[i] || t->leaf[i].va >= inv->end ||
		    inv->start >= t->leaf[i].va + BIT(t->leaf[i].shift))
			continue;
		if (keep_read && inv->protect)
			t->leaf[i].writable = false;
		else
			t->valid[i] = false;
	}
}
EXPORT_SYMBOL_GPL(odp_uapi_tlb_invalidate);

/**
 * odp_uapi_tlb_install() - load the TLB after a fault
 * @t: the device's TLB
 * @m: its mirror, locked (from the install() callback)
 * @start: start of what the fault mapped
 * @end: its end
 *
 * Loads the first %ODP_UAPI_TLB_SIZE leaves of [@start, @end).
 */
void odp_uapi_tlb_install(struct odp_uapi_tlb *t, struct odp_mirror *m,
			  unsigned long start, unsigned long end)
{
	struct odp_pt_leaf leaf;
	struct odp_pt_iter it;
	unsigned int n = 0;

	t->installs++;
	odp_mirror_for_each_leaf(m, &it, start, end - start, &leaf) {
		odp_uapi_tlb_load(t, &leaf);
		if (++n == ODP_UAPI_TLB_SIZE)
			break;
	}
}
EXPORT_SYMBOL_GPL(odp_uapi_tlb_install);

/**
 * odp_uapi_tlb_stats() - report the TLB's counters in a STATS reply
 * @t: the device's TLB
 * @st: the reply
 */
void odp_uapi_tlb_stats(const struct odp_uapi_tlb *t, struct odp_sim_stats *st)
{
	st->dev_zaps = t->zaps;
	st->dev_zap_mr = t->zap_mr;
	st->dev_installs = t->installs;
	st->dev_tlb_hits = t->hits;
	st->dev_tlb_misses = t->misses;
}
EXPORT_SYMBOL_GPL(odp_uapi_tlb_stats);

static struct odp_mirror *odp_uapi_new_mirror(struct odp_uapi_file *f,
					      unsigned long pgsizes)
{
	const struct odp_mirror_desc desc = {
		.pgsize_bitmap = pgsizes,
		.dma_dev = f->drv->dma_dev,
		.ops = f->drv->ops,
		.priv = f,
	};

	return odp_mirror_create(f->mm, &desc);
}

static long odp_uapi_version(struct odp_uapi_file *f, void __user *uarg)
{
	struct odp_sim_version v;
	int ret = odp_uapi_arg(&v, uarg, sizeof(v));

	if (ret)
		return ret;
	v.abi_version = ODP_SIM_ABI_VERSION;
	v.pgsize_bitmap = f->pgsize_bitmap;
	return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
}

/* Called with f->sem held for write. */
static long odp_uapi_config(struct odp_uapi_file *f, void __user *uarg)
{
	struct odp_sim_config c;
	struct odp_mirror *m;
	int ret = odp_uapi_arg(&c, uarg, sizeof(c));

	if (ret)
		return ret;
	if (c.reserve_pages > ODP_MIRROR_RESERVE_MAX)
		return -EINVAL;
	if (c.pgsize_bitmap != f->pgsize_bitmap) {
		if (!xa_empty(&f->mrs) || f->implicit)
			return -EBUSY;
		m = odp_uapi_new_mirror(f, c.pgsize_bitmap);
		if (IS_ERR(m))
			return PTR_ERR(m);
		odp_mirror_destroy(f->mirror);
		f->mirror = m;
		f->pgsize_bitmap = c.pgsize_bitmap;
	}
	return odp_mirror_set_reserve(f->mirror, c.reserve_pages);
}

static long odp_uapi_mr_reg(struct odp_uapi_file *f, void __user *uarg)
{
	struct odp_sim_mr a;
	unsigned int access = ODP_MR_READ;
	struct odp_mr *mr;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.reserved || !(a.access & ODP_SIM_ACCESS_READ) ||
	    (a.access & ~(ODP_SIM_ACCESS_READ | ODP_SIM_ACCESS_WRITE)) ||
	    a.start > ULONG_MAX || a.length > ULONG_MAX)
		return -EINVAL;
	if (a.access & ODP_SIM_ACCESS_WRITE)
		access |= ODP_MR_WRITE;
	/*
	 * The handle is only reserved until the caller has it: MR_UNREG of
	 * it meanwhile finds nothing, so the MR stays this call's alone, to
	 * publish or to unregister. It is the MR's driver pointer too, so
	 * that the drivers' callbacks can tell the MRs apart.
	 */
	ret = xa_alloc(&f->mrs, &a.handle, NULL, xa_limit_32b, GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret;
	mr = odp_mr_register(f->mirror, a.start, a.length, access,
			     (void *)(uintptr_t)a.handle);
	if (IS_ERR(mr)) {
		xa_erase(&f->mrs, a.handle);
		return PTR_ERR(mr);
	}
	if (copy_to_user(uarg, &a, sizeof(a))) {
		xa_erase(&f->mrs, a.handle);
		odp_mr_unregister(mr);
		return -EFAULT;
	}
	/* a reserved entry has its slot: storing there allocates nothing */
	WARN_ON_ONCE(xa_err(xa_store(&f->mrs, a.handle, mr, GFP_KERNEL_ACCOUNT)));
	return 0;
}

static long odp_uapi_mr_unreg(struct odp_uapi_file *f, void __user *uarg)
{
	struct odp_sim_mr a;
	struct odp_mr *mr;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.reserved)
		return -EINVAL;
	mr = xa_erase(&f->mrs, a.handle);
	if (!mr)
		return -ENOENT;
	odp_mr_unregister(mr);
	return 0;
}

/* Called with f->sem held for write. */
static long odp_uapi_implicit(struct odp_uapi_file *f, void __user *uarg)
{
	struct odp_sim_implicit a;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.enable > 1)
		return -EINVAL;
	f->implicit = a.enable;
	return odp_mirror_set_implicit(f->mirror, a.enable);
}

static long odp_uapi_prefetch(struct odp_uapi_file *f, void __user *uarg,
			      bool floor)
{
	static const enum odp_prefetch_advice advice[] = {
		[ODP_SIM_PREFETCH_READ] = ODP_PREFETCH_READ,
		[ODP_SIM_PREFETCH_WRITE] = ODP_PREFETCH_WRITE,
		[ODP_SIM_PREFETCH_NO_FAULT] = ODP_PREFETCH_NO_FAULT,
	};
	struct odp_sim_prefetch a;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.advice >= ARRAY_SIZE(advice) || a.start > ULONG_MAX ||
	    a.length > ULONG_MAX)
		return -EINVAL;
	if (floor)
		return odp_mirror_prefetch_floor(f->mirror, a.start, a.length,
						 advice[a.advice]);
	return odp_mirror_prefetch(f->mirror, a.start, a.length, advice[a.advice]);
}

static long odp_uapi_rw(struct odp_uapi_file *f, void __user *uarg, bool write)
{
	struct odp_sim_rw a;
	struct page **pages;
	size_t done = 0;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.flags || !a.length || a.addr > ULONG_MAX || a.length > ULONG_MAX ||
	    a.addr + a.length < a.addr)
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(a.ptr), a.length))
		return -EFAULT;
	pages = kmalloc_array(ODP_UAPI_PIN_PAGES, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	a.faults = 0;
	while (done < a.length) {
		unsigned long uaddr = a.ptr + done;
		size_t off = offset_in_page(uaddr);
		size_t n = min_t(u64, a.length - done,
				 ODP_UAPI_PIN_PAGES * PAGE_SIZE - off);
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
		ret = f->drv->access(f, a.addr + done, pages, off, n, write, &a.faults);
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
static u8 odp_uapi_snap_rec(u8 rec)
{
	if (!(rec & ODP_PT_SNAP_PRESENT))
		return 0;
	return ODP_SIM_SNAP_PRESENT |
	       ((rec & ODP_PT_SNAP_WRITE) ? ODP_SIM_SNAP_WRITE : 0) |
	       ((rec & ODP_PT_SNAP_DIRTY) ? ODP_SIM_SNAP_DIRTY : 0) |
	       ((rec & ODP_PT_SNAP_SIZE_MASK) >> ODP_PT_SNAP_SIZE_SHIFT) <<
	       ODP_SIM_SNAP_SIZE_SHIFT;
}

static long odp_uapi_snapshot(struct odp_uapi_file *f, void __user *uarg)
{
	struct odp_sim_snapshot a;
	u64 i;
	u8 *recs;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.reserved || !a.npages || a.npages > ODP_SIM_SNAP_MAX_PAGES ||
	    a.addr > ULONG_MAX)
		return -EINVAL;
	recs = kvmalloc(a.npages, GFP_KERNEL);
	if (!recs)
		return -ENOMEM;
	ret = odp_mirror_snapshot(f->mirror, a.addr, a.npages, recs);
	for (i = 0; !ret && i < a.npages; i++)
		recs[i] = odp_uapi_snap_rec(recs[i]);
	if (!ret && copy_to_user(u64_to_user_ptr(a.ptr), recs, a.npages))
		ret = -EFAULT;
	kvfree(recs);
	return ret;
}

static long odp_uapi_stats(struct odp_uapi_file *f, void __user *uarg)
{
	struct odp_sim_stats a;
	struct odp_mirror_stats st;
	unsigned int i;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (a.reserved)
		return -EINVAL;
	odp_mirror_get_stats(f->mirror, &st);
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
		.retries_unrelated = st.retries_unrelated,
		.seq_unrelated = st.seq_unrelated,
		.dma_maps = st.dma_maps,
		.dma_unmaps = st.dma_unmaps,
		.dma_relinks = st.dma_relinks,
		.refreshes = st.refreshes,
	};
	for (i = 0; i < ODP_PT_NR_SIZES; i++) {
		a.leaves[i] = st.leaves[i];
		a.leaves_installed[i] = st.leaves_installed[i];
	}
	if (f->drv->stats) {
		odp_mirror_lock(f->mirror);
		f->drv->stats(f, &a);
		odp_mirror_unlock(f->mirror);
	}
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static long odp_uapi_translate(struct odp_uapi_file *f, void __user *uarg)
{
	struct odp_sim_translate a;
	struct odp_pt_leaf leaf;
	unsigned long va;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (a.flags || a.reserved || a.addr > ULONG_MAX)
		return -EINVAL;
	va = ALIGN_DOWN(a.addr, PAGE_SIZE);
	a.target = 0;
	a.shift = 0;
	odp_mirror_lock(f->mirror);
	if (odp_mirror_lookup(f->mirror, va, &leaf)) {
		a.flags = ODP_SIM_SNAP_PRESENT | (leaf.writable ? ODP_SIM_SNAP_WRITE : 0) |
			  (leaf.dirty ? ODP_SIM_SNAP_DIRTY : 0);
		a.target = f->drv->dma_dev ? odp_mirror_leaf_dma(&leaf, va) :
			   PFN_PHYS(leaf.pfn + ((va - leaf.va) >> PAGE_SHIFT));
		a.shift = leaf.shift;
	}
	odp_mirror_unlock(f->mirror);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

static long odp_uapi_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct odp_uapi_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;
	bool excl = cmd == ODP_SIM_IOC_CONFIG || cmd == ODP_SIM_IOC_IMPLICIT;
	long ret;

	if (current->mm != f->mm)
		return -EPERM;
	if (excl)
		down_write(&f->sem);
	else
		down_read(&f->sem);
	switch (cmd) {
	case ODP_SIM_IOC_VERSION:
		ret = odp_uapi_version(f, uarg);
		break;
	case ODP_SIM_IOC_CONFIG:
		ret = odp_uapi_config(f, uarg);
		break;
	case ODP_SIM_IOC_MR_REG:
		ret = odp_uapi_mr_reg(f, uarg);
		break;
	case ODP_SIM_IOC_MR_UNREG:
		ret = odp_uapi_mr_unreg(f, uarg);
		break;
	case ODP_SIM_IOC_IMPLICIT:
		ret = odp_uapi_implicit(f, uarg);
		break;
	case ODP_SIM_IOC_PREFETCH:
	case ODP_SIM_IOC_BENCH_FLOOR:
		ret = odp_uapi_prefetch(f, uarg, cmd == ODP_SIM_IOC_BENCH_FLOOR);
		break;
	case ODP_SIM_IOC_READ:
	case ODP_SIM_IOC_WRITE:
		ret = odp_uapi_rw(f, uarg, cmd == ODP_SIM_IOC_WRITE);
		break;
	case ODP_SIM_IOC_SNAPSHOT:
		ret = odp_uapi_snapshot(f, uarg);
		break;
	case ODP_SIM_IOC_STATS:
		ret = odp_uapi_stats(f, uarg);
		break;
	case ODP_SIM_IOC_TRANSLATE:
		ret = odp_uapi_translate(f, uarg);
		break;
	default:
		ret = f->drv->ioctl ? f->drv->ioctl(f, cmd, uarg) : -ENOTTY;
		break;
	}
	if (excl)
		up_write(&f->sem);
	else
		up_read(&f->sem);
	return ret;
}

static int odp_uapi_open(struct inode *inode, struct file *file)
{
	struct odp_uapi_driver *drv = container_of(file->private_data,
						   struct odp_uapi_driver, misc);
	struct odp_uapi_file *f;
	int ret;

	if (!current->mm)
		return -EINVAL;
	/* the file holds the driver's module, whose callbacks it calls */
	if (!try_module_get(drv->owner))
		return -ENODEV;
	f = kzalloc(struct_size(f, priv, drv->file_priv_size), GFP_KERNEL_ACCOUNT);
	if (!f) {
		module_put(drv->owner);
		return -ENOMEM;
	}
	f->drv = drv;
	f->mm = current->mm;
	f->pgsize_bitmap = drv->pgsize_bitmap;
	init_rwsem(&f->sem);
	xa_init_flags(&f->mrs, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	f->mirror = odp_uapi_new_mirror(f, drv->pgsize_bitmap);
	if (IS_ERR(f->mirror)) {
		ret = PTR_ERR(f->mirror);
		goto out_free;
	}
	ret = drv->open ? drv->open(f) : 0;
	if (ret) {
		odp_mirror_destroy(f->mirror);
		goto out_free;
	}
	file->private_data = f;
	return nonseekable_open(inode, file);
out_free:
	kfree(f);
	module_put(drv->owner);
	return ret;
}

static int odp_uapi_release(struct inode *inode, struct file *file)
{
	struct odp_uapi_file *f = file->private_data;
	struct odp_mr *mr;
	unsigned long handle;

	xa_for_each(&f->mrs, handle, mr)
		odp_mr_unregister(mr);
	xa_destroy(&f->mrs);
	odp_mirror_destroy(f->mirror);
	if (f->drv->release)
		f->drv->release(f);
	module_put(f->drv->owner);
	kfree(f);
	return 0;
}

static const struct file_operations odp_uapi_fops = {
	.owner = THIS_MODULE,
	.open = odp_uapi_open,
	.release = odp_uapi_release,
	.unlocked_ioctl = odp_uapi_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/**
 * odp_uapi_register() - create a driver's device node
 * @drv: the driver; it stays registered until odp_uapi_unregister()
 *
 * Context: may sleep.
 * Return: 0 or misc_register()'s error.
 */
int odp_uapi_register(struct odp_uapi_driver *drv)
{
	drv->misc = (struct miscdevice){
		.minor = MISC_DYNAMIC_MINOR, .name = drv->name, .fops = &odp_uapi_fops,
	};
	return misc_register(&drv->misc);
}
EXPORT_SYMBOL_GPL(odp_uapi_register);

/**
 * odp_uapi_unregister() - remove a driver's device node
 * @drv: the driver
 *
 * Files still open keep working: each holds the driver's module
 * (&odp_uapi_driver.owner), so its callbacks stay.
 */
void odp_uapi_unregister(struct odp_uapi_driver *drv)
{
	misc_deregister(&drv->misc);
}
EXPORT_SYMBOL_GPL(odp_uapi_unregister);

MODULE_DESCRIPTION("ioctl front end of odp-mirror's test devices");
MODULE_LICENSE("GPL");
