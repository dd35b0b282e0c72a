// SPDX-License-Identifier: GPL-2.0
/*
 * odp_dmirror: the test device of lib/test_hmm.c (dmirror) rebuilt on
 * odp_mirror, so that the kernel's own hmm-tests run against a device
 * whose page table is odp-mirror's.
 *
 * It registers test_hmm's nodes, /dev/hmm_dmirror0 and /dev/hmm_dmirror1,
 * and speaks test_hmm's UAPI, lib/test_hmm_uapi.h, which Kbuild takes from
 * the kernel source at build time. Each open file is one device address
 * space mirroring the opener's mm through the implicit MR, with 4K, 2M and
 * 1G leaves.
 *
 * READ and WRITE are the device's accesses: it translates each page through
 * its own table under the mirror lock and copies it through a bounce
 * buffer; on a miss it takes one device fault over all of the rest of the
 * command, as test_hmm's device does, so that hmm-tests' count of faults
 * holds. SNAPSHOT first mirrors what the CPU maps now, faulting nothing,
 * then reports the device table's own entries, leaf size included; it
 * never reads the CPU page table itself. odp_mirror owns no device memory:
 * migration, device-private, device-exclusive and device-coherent commands
 * return -EOPNOTSUPP. test_hmm and odp_dmirror cannot be loaded at once.
 */
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <lib/test_hmm_uapi.h>

#include "odp_mirror.h"

#define ODP_DMIRROR_NDEV	2
/* Bytes of a READ or WRITE moved per step through the bounce buffer */
#define ODP_DMIRROR_BOUNCE	SZ_64K
/* SNAPSHOT records made per step under the mirror lock */
#define ODP_DMIRROR_SNAP_PAGES	4096
/* Pages inserted per step by mmap() */
#define ODP_DMIRROR_MMAP_PAGES	512
/* Faults in a row at one address before giving up (racing invalidations) */
#define ODP_DMIRROR_MAX_REFAULTS	64

struct odp_dmirror {
	struct mm_struct *mm;		/* the opener's; only it may use the fd */
	struct odp_mirror *mirror;
};

/* --- the device's use of odp_mirror: binding and faults --- */

/*
 * The mirror of @mm as test_hmm's device sees memory: every address of the
 * process (the implicit MR), read-write, with every leaf size the table
 * has.
 */
static struct odp_mirror *odp_dmirror_bind(struct mm_struct *mm)
{
	const struct odp_mirror_desc desc = { .pgsize_bitmap = ODP_PT_PGSIZES_ALL };
	struct odp_mirror *m = odp_mirror_create(mm, &desc);
	int ret;

	if (IS_ERR(m))
		return m;
	ret = odp_mirror_set_implicit(m, true);
	if (ret) {
		odp_mirror_destroy(m);
		return ERR_PTR(ret);
	}
	return m;
}

/*
 * One device fault over [va, end). odp_mirror_fault() reports a write to a
 * read-only CPU mapping as -EFAULT, like a hole or PROT_NONE; test_hmm's
 * UAPI returns hmm_range_fault()'s -EPERM there (hmm-tests' anon_write_prot
 * expects it). So a failed write narrows the range down to its first page
 * that cannot be faulted for write, by bisection, and returns -EPERM when
 * that page can be faulted for read.
 */
static int odp_dmirror_fault(struct odp_mirror *m, unsigned long va,
			     unsigned long end, bool write)
{
	unsigned long lo = va, hi = end, mid;
	int ret;

	ret = odp_mirror_fault(m, va, end - va, write ? ODP_FAULT_WRITE : 0);
	if (ret != -EFAULT || !write)
		return ret;
	/* [lo, hi) fails for write; its first failing page is what counts */
	while (hi - lo > PAGE_SIZE) {
		mid = lo + ALIGN_DOWN((hi - lo) / 2, PAGE_SIZE);
		if (odp_mirror_fault(m, lo, mid - lo, ODP_FAULT_WRITE))
			hi = mid;
		else
			lo = mid;
	}
	return odp_mirror_fault(m, lo, PAGE_SIZE, 0) ? -EFAULT : -EPERM;
}

/* --- READ and WRITE --- */

/*
 * Copy [va, va + len) between the device's view of memory and @buf, page
 * by page through the device table, faulting on a miss (or, for a write,
 * on a read-only entry) over all of [va, end). Every fault the device took
 * is added to *@faults.
 */
static int odp_dmirror_copy(struct odp_mirror *m, unsigned long va,
			    unsigned long len, unsigned long end, void *buf,
			    bool write, u64 *faults)
{
	unsigned long miss_va = ULONG_MAX;
	unsigned int misses = 0;
	int ret;

	while (len) {
		struct odp_pt_leaf leaf;

		odp_mirror_lock(m);
		while (len && odp_mirror_lookup(m, va, &leaf) &&
		       (!write || leaf.writable)) {
			unsigned long stop = min_t(u64, leaf.va + BIT(leaf.shift), va + len);

			if (write)
				odp_mirror_set_dirty(m, va);
			for (; va < stop; va += PAGE_SIZE, buf += PAGE_SIZE) {
				struct page *page = pfn_to_page(leaf.pfn +
						((va - leaf.va) >> PAGE_SHIFT));

				if (write)
					memcpy_to_page(page, 0, buf, PAGE_SIZE);
				else
					memcpy_from_page(buf, page, 0, PAGE_SIZE);
				len -= PAGE_SIZE;
			}
		}
		odp_mirror_unlock(m);
		if (!len)
			break;

		/* a device page fault; invalidations may race it */
		if (va != miss_va) {
			miss_va = va;
			misses = 0;
		} else if (++misses > ODP_DMIRROR_MAX_REFAULTS) {
			return -EBUSY;
		}
		ret = odp_dmirror_fault(m, va, end, write);
		if (ret)
			return ret;
		(*faults)++;
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

/* READ (device to @c->ptr) or WRITE (@c->ptr to device) of @c->npages */
static int odp_dmirror_rw(struct odp_dmirror *d, struct hmm_dmirror_cmd *c,
			  bool write)
{
	unsigned long va = c->addr, end = c->addr + (c->npages << PAGE_SHIFT);
	char __user *uptr = u64_to_user_ptr(c->ptr);
	void *bounce;
	int ret = 0;

	bounce = kvmalloc(ODP_DMIRROR_BOUNCE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	while (va < end) {
		unsigned long n = min_t(unsigned long, end - va, ODP_DMIRROR_BOUNCE);

		if (write && copy_from_user(bounce, uptr, n)) {
			ret = -EFAULT;
			break;
		}
		ret = odp_dmirror_copy(d->mirror, va, n, end, bounce, write,
				       &c->faults);
		if (ret)
			break;
		if (!write && copy_to_user(uptr, bounce, n)) {
			ret = -EFAULT;
			break;
		}
		va += n;
		uptr += n;
		c->cpages += n >> PAGE_SHIFT;
		cond_resched();
	}
	kvfree(bounce);
	return ret;
}

/* --- SNAPSHOT --- */

/* test_hmm's record of the device table's entry for each of @n pages at @va */
static void odp_dmirror_records(struct odp_mirror *m, unsigned long va,
				unsigned long n, u8 *rec)
{
	while (n) {
		struct odp_pt_leaf leaf;
		unsigned long k, run;
		u8 prot;

		if (!odp_mirror_lookup(m, va, &leaf)) {
			*rec++ = HMM_DMIRROR_PROT_NONE;
			va += PAGE_SIZE;
			n--;
			continue;
		}
		prot = leaf.writable ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
		if (leaf.shift == PUD_SHIFT)
			prot |= HMM_DMIRROR_PROT_PUD;
		else if (leaf.shift == PMD_SHIFT)
			prot |= HMM_DMIRROR_PROT_PMD;
		run = min_t(u64, n, (leaf.va + BIT(leaf.shift) - va) >> PAGE_SHIFT);
		for (k = 0; k < run; k++) {
			unsigned long pfn = leaf.pfn + ((va - leaf.va) >> PAGE_SHIFT) + k;

			rec[k] = prot | (is_zero_pfn(pfn) ? HMM_DMIRROR_PROT_ZERO : 0);
		}
		rec += run;
		va += run << PAGE_SHIFT;
		n -= run;
	}
}

static int odp_dmirror_snapshot(struct odp_dmirror *d, struct hmm_dmirror_cmd *c)
{
	unsigned long va = c->addr, end = c->addr + (c->npages << PAGE_SHIFT);
	u8 __user *uptr = u64_to_user_ptr(c->ptr);
	u8 *rec;
	int ret;

	/* what the CPU maps now, with its permissions; nothing is faulted */
	ret = odp_mirror_prefetch(d->mirror, va, end - va, ODP_PREFETCH_NO_FAULT);
	if (ret)
		return ret;
	rec = kmalloc(ODP_DMIRROR_SNAP_PAGES, GFP_KERNEL);
	if (!rec)
		return -ENOMEM;
	while (va < end) {
		unsigned long n = min_t(unsigned long, (end - va) >> PAGE_SHIFT,
					 ODP_DMIRROR_SNAP_PAGES);

		odp_mirror_lock(d->mirror);
		odp_dmirror_records(d->mirror, va, n, rec);
		odp_mirror_unlock(d->mirror);
		if (copy_to_user(uptr, rec, n)) {
			ret = -EFAULT;
			break;
		}
		va += n << PAGE_SHIFT;
		uptr += n;
		c->cpages += n;
		cond_resched();
	}
	kfree(rec);
	return ret;
}

/* --- the file --- */

static long odp_dmirror_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct odp_dmirror *d = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct hmm_dmirror_cmd c;
	u64 size, end;
	int ret;

	switch (cmd) {
	case HMM_DMIRROR_READ:
	case HMM_DMIRROR_WRITE:
	case HMM_DMIRROR_SNAPSHOT:
		break;
	/* odp_mirror owns no device memory */
	case HMM_DMIRROR_MIGRATE_TO_DEV:
	case HMM_DMIRROR_MIGRATE_TO_SYS:
	case HMM_DMIRROR_EXCLUSIVE:
	case HMM_DMIRROR_CHECK_EXCLUSIVE:
	case HMM_DMIRROR_RELEASE:
#ifdef HMM_DMIRROR_FLAGS
	case HMM_DMIRROR_FLAGS:
#endif
		return -EOPNOTSUPP;
	default:
		return -ENOTTY;
	}
	if (current->mm != d->mm)
		return -EPERM;
	if (copy_from_user(&c, uarg, sizeof(c)))
		return -EFAULT;
	if (!PAGE_ALIGNED(c.addr) || !c.npages ||
	    check_shl_overflow(c.npages, PAGE_SHIFT, &size) ||
	    check_add_overflow(c.addr, size, &end))
		return -EINVAL;
	c.cpages = 0;
	c.faults = 0;
	if (cmd == HMM_DMIRROR_SNAPSHOT)
		ret = odp_dmirror_snapshot(d, &c);
	else
		ret = odp_dmirror_rw(d, &c, cmd == HMM_DMIRROR_WRITE);
	if (ret)
		return ret;
	return copy_to_user(uarg, &c, sizeof(c)) ? -EFAULT : 0;
}

/*
 * mmap() of the device gives fresh zeroed pages, inserted as normal pages
 * of a VM_MIXEDMAP mapping, as test_hmm's device does: hmm-tests' mixedmap
 * mirrors such a mapping. The mapping holds the only references.
 */
static int odp_dmirror_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long addr = vma->vm_start;
	struct page **pages;
	int ret = 0;

	pages = kmalloc_array(ODP_DMIRROR_MMAP_PAGES, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	while (!ret && addr < vma->vm_end) {
		unsigned long n = min_t(unsigned long, (vma->vm_end - addr) >> PAGE_SHIFT,
					ODP_DMIRROR_MMAP_PAGES);
		unsigned long i, left = n;

		for (i = 0; i < n; i++) {
			pages[i] = alloc_page(GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT);
			if (!pages[i])
				break;
		}
		if (i == n)
			ret = vm_insert_pages(vma, addr, pages, &left);
		else
			ret = -ENOMEM;
		while (i--)
			put_page(pages[i]);
		if (!ret && left)
			ret = -EFAULT;
		addr += n << PAGE_SHIFT;
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	kfree(pages);
	return ret;
}

static int odp_dmirror_open(struct inode *inode, struct file *file)
{
	struct odp_dmirror *d;

	if (!current->mm)
		return -EINVAL;
	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return -ENOMEM;
	d->mm = current->mm;
	d->mirror = odp_dmirror_bind(current->mm);
	if (IS_ERR(d->mirror)) {
		int ret = PTR_ERR(d->mirror);

		kfree(d);
		return ret;
	}
	file->private_data = d;
	return nonseekable_open(inode, file);
}

static int odp_dmirror_release(struct inode *inode, struct file *file)
{
	struct odp_dmirror *d = file->private_data;

	odp_mirror_destroy(d->mirror);
	kfree(d);
	return 0;
}

static const struct file_operations odp_dmirror_fops = {
	.owner = THIS_MODULE,
	.open = odp_dmirror_open,
	.release = odp_dmirror_release,
	.mmap = odp_dmirror_mmap,
	.unlocked_ioctl = odp_dmirror_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice odp_dmirror_devs[ODP_DMIRROR_NDEV] = {
	{ .minor = MISC_DYNAMIC_MINOR, .name = "hmm_dmirror0", .fops = &odp_dmirror_fops },
	{ .minor = MISC_DYNAMIC_MINOR, .name = "hmm_dmirror1", .fops = &odp_dmirror_fops },
};

static int __init odp_dmirror_init(void)
{
	int i, ret;

	for (i = 0; i < ODP_DMIRROR_NDEV; i++) {
		ret = misc_register(&odp_dmirror_devs[i]);
		if (ret) {
			while (i--)
				misc_deregister(&odp_dmirror_devs[i]);
			return ret;
		}
	}
	return 0;
}

static void __exit odp_dmirror_exit(void)
{
	int i;

	for (i = ODP_DMIRROR_NDEV - 1; i >= 0; i--)
		misc_deregister(&odp_dmirror_devs[i]);
}

module_init(odp_dmirror_init);
module_exit(odp_dmirror_exit);
MODULE_DESCRIPTION("test_hmm's dmirror device and UAPI over odp_mirror");
MODULE_LICENSE("GPL");
