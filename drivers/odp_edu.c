// SPDX-License-Identifier: GPL-2.0
/*
 * odp_edu: QEMU's edu PCI device (1234:11e8) as an ODP device, /dev/odp_edu.
 *
 * A real DMA path for odp-mirror: the mirror's leaves hold DMA addresses of
 * the PCI device (one mapping per leaf, through the IOMMU when there is
 * one), and every byte READ and WRITE move goes through edu's DMA engine
 * at the leaf's DMA address. Nothing here touches the mirrored memory with
 * the CPU. The UAPI is the simulated device's (odp_uapi.c), plus
 * ODP_EDU_IOC_INFO and, for tests, ODP_EDU_IOC_RAW_READ.
 *
 * The engine. edu has a 4 KiB buffer at device address 0x40000 and one
 * engine that copies between it and a DMA address, one transfer at a time,
 * each finishing on a 100 ms timer of QEMU's virtual clock; the driver
 * polls the command register. A transfer of the whole 4096 bytes aborts
 * QEMU 7.2 (an off-by-one in its range check), so at most 4095 bytes move
 * at once; READ and WRITE move ODP_EDU_XFER_MAX, whole 8-byte words. The
 * buffer cannot be read over MMIO, so data bounces through it and a
 * coherent buffer:
 *   READ:  leaf -> edu buffer -> coherent buffer -> the caller's pages;
 *   WRITE: the caller's pages -> coherent buffer -> edu buffer -> leaf.
 *
 * Locking. engine (one per device) is taken first, then the file's mirror
 * lock, and only around the transfers between a leaf and the edu buffer:
 * the device uses a leaf's DMA address only while the mirror lock keeps
 * the leaf in place, and finds it through its TLB, or the mirror's table
 * on a miss, or odp_mirror_fault_and_lock() on a device fault. The mirror's
 * callbacks never take engine, so the order cannot invert.
 *
 * The TLB is the device's own copy of translations, like an IOTLB or ATC
 * of real hardware, kept by the mirror's callbacks: install loads what a
 * fault mapped, invalidate_start zaps what an invalidation covers. Since
 * transfers run only under the mirror lock, which the invalidation holds,
 * none is in flight when the callbacks run: invalidate_finish has nothing
 * to wait for. A translation kept too long would send the engine to a DMA
 * address the mirror unmapped, which the IOMMU refuses and logs as a DMAR
 * fault: the tests count those.
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/iopoll.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "odp_compat.h"
#include "odp_uapi.h"

#define ODP_EDU_VENDOR		0x1234
#define ODP_EDU_DEVICE		0x11e8

/* BAR0 registers */
#define ODP_EDU_REG_ID		0x00	/* 0xRRrr00ed: major, minor, 0xed */
#define ODP_EDU_REG_DMA_SRC	0x80
#define ODP_EDU_REG_DMA_DST	0x88
#define ODP_EDU_REG_DMA_CNT	0x90
#define ODP_EDU_REG_DMA_CMD	0x98
#define ODP_EDU_ID_MAGIC	0xed
#define ODP_EDU_CMD_RUN		BIT(0)	/* set to start, clears when done */
#define ODP_EDU_CMD_TO_RAM	BIT(1)	/* buffer -> RAM; clear: RAM -> buffer */

/* The engine's buffer, in device address space */
#define ODP_EDU_BUF		0x40000
/*
 * Bytes of one READ or WRITE transfer: below 4096, and whole 8-byte words,
 * so that an aligned word moves at one moment, never half in each of two
 * transfers (a CPU write in between would tear it)
 */
#define ODP_EDU_XFER_MAX	ALIGN_DOWN(ODP_EDU_RAW_MAX, 8)
#define ODP_EDU_POLL_US		1000
#define ODP_EDU_TIMEOUT_US	(10 * USEC_PER_SEC)

/* A device fault maps up to the next 2M boundary */
#define ODP_EDU_FAULT_WINDOW	SZ_2M

static bool raw_dma;
module_param(raw_dma, bool, 0644);
MODULE_PARM_DESC(raw_dma,
		 "allow ODP_EDU_IOC_RAW_READ (CAP_SYS_ADMIN): the device reads any DMA address; for tests");

/**
 * struct odp_edu - the bound edu device
 * @pdev: its PCI device
 * @regs: BAR0
 * @engine: the DMA engine, its buffer and @bounce
 * @bounce: coherent buffer of PAGE_SIZE bytes
 * @bounce_dma: its DMA address
 * @broken: a transfer did not finish; the engine is not used again
 * @transfers: transfers made, under @engine
 * @bytes: bytes they moved, under @engine
 * @files: open files, which hold DMA mappings of @pdev
 * @gone: woken when @files drops to 0
 */
struct odp_edu {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct mutex engine;		/* the engine, its buffer and bounce */
	void *bounce;
	dma_addr_t bounce_dma;
	bool broken;
	u64 transfers;
	u64 bytes;
	atomic_t files;
	wait_queue_head_t gone;
};

/* The one device this driver binds: /dev/odp_edu is a single node */
static struct odp_edu *odp_edu;
static DEFINE_MUTEX(odp_edu_bind);

/* Per open file: the device's TLB and its counters, under the mirror lock */
struct odp_edu_file {
	struct odp_uapi_tlb tlb;
};

/* --- the engine --- */

/*
 * One transfer of @cnt bytes from @src to @dst, one of them the engine's
 * buffer; under edu->engine. -EIO if it does not finish.
 */
static int odp_edu_xfer(struct odp_edu *edu, u64 src, u64 dst, size_t cnt,
			bool to_ram)
{
	u64 cmd;
	int ret;

	lockdep_assert_held(&edu->engine);
	if (edu->broken)
		return -EIO;
	if (WARN_ON_ONCE(!cnt || cnt > ODP_EDU_RAW_MAX))
		return -EINVAL;
	writeq(src, edu->regs + ODP_EDU_REG_DMA_SRC);
	writeq(dst, edu->regs + ODP_EDU_REG_DMA_DST);
	writeq(cnt, edu->regs + ODP_EDU_REG_DMA_CNT);
	writeq(ODP_EDU_CMD_RUN | (to_ram ? ODP_EDU_CMD_TO_RAM : 0),
	       edu->regs + ODP_EDU_REG_DMA_CMD);
	ret = readq_poll_timeout(edu->regs + ODP_EDU_REG_DMA_CMD, cmd,
				 !(cmd & ODP_EDU_CMD_RUN), ODP_EDU_POLL_US,
				 ODP_EDU_TIMEOUT_US);
	if (ret) {
		edu->broken = true;
		dev_err(&edu->pdev->dev, "DMA of %zu bytes %llx -> %llx did not finish\n",
			cnt, src, dst);
		return -EIO;
	}
	edu->transfers++;
	edu->bytes += cnt;
	return 0;
}

/* Copy @n bytes between the bounce buffer and the caller's pinned pages */
static void odp_edu_copy(struct odp_edu *edu, struct page **buf, size_t boff,
			 size_t n, bool to_bounce)
{
	size_t done = 0;

	while (done < n) {
		struct page *page = buf[(boff + done) >> PAGE_SHIFT];
		size_t off = offset_in_page(boff + done);
		size_t c = min(n - done, PAGE_SIZE - off);
		void *p = kmap_local_page(page);

		if (to_bounce) {
			memcpy(edu->bounce + done, p + off, c);
		} else {
			memcpy(p + off, edu->bounce + done, c);
			flush_dcache_page(page);
		}
		kunmap_local(p);
		done += c;
	}
}

/* --- the mirror's callbacks --- */

/*
 * Entries of the range left the mirror's table: zap the translations that
 * overlap it, or take write access away from them. No transfer is running
 * (they run under the mirror lock, which the caller holds).
 */
static void odp_edu_invalidate_start(struct odp_mirror *m, const struct odp_inval *inv)
{
	struct odp_edu_file *s = odp_uapi_priv(odp_mirror_priv(m));

	odp_uapi_tlb_invalidate(&s->tlb, inv, true);
}

/*
 * The TLB flush is complete once invalidate_start() returned, and no
 * transfer can be in flight: after this the mirror may unmap the DMA
 * addresses.
 */
static void odp_edu_invalidate_finish(struct odp_mirror *m, const struct odp_inval *inv)
{
}

/* A fault mapped [start, end): load the TLB with its first leaves */
static void odp_edu_install(struct odp_mirror *m, struct odp_mr *mr,
			    unsigned long start, unsigned long end)
{
	struct odp_edu_file *s = odp_uapi_priv(odp_mirror_priv(m));

	odp_uapi_tlb_install(&s->tlb, m, start, end);
}

static const struct odp_mirror_ops odp_edu_ops = {
	.invalidate_start = odp_edu_invalidate_start,
	.invalidate_finish = odp_edu_invalidate_finish,
	.install = odp_edu_install,
};

/* --- READ and WRITE --- */

/*
 * Move [va, va + n) between the mirrored memory and the engine's buffer,
 * leaf by leaf, at the leaves' DMA addresses; a miss, or a write to a
 * read-only entry, is a device fault that maps up to @window bytes.
 */
static int odp_edu_move(struct odp_uapi_file *f, struct odp_edu *edu,
			unsigned long va, size_t n, size_t window, bool write,
			u64 *faults)
{
	struct odp_mirror *m = odp_uapi_mirror(f);
	struct odp_edu_file *s = odp_uapi_priv(f);
	unsigned int flags = write ? ODP_FAULT_WRITE : 0;
	bool locked = false;
	size_t off = 0;
	int ret = 0;

	while (off < n) {
		unsigned long at = va + off;
		struct odp_pt_leaf leaf;
		size_t c;

		if (!locked) {
			odp_mirror_lock(m);
			locked = true;
		}
		if (!odp_uapi_tlb_translate(&s->tlb, m, at, &leaf) || (write && !leaf.writable)) {
			odp_mirror_unlock(m);
			locked = false;
			(*faults)++;
			c = min_t(size_t, window - off, ALIGN(at + 1, ODP_EDU_FAULT_WINDOW) - at);
			ret = odp_mirror_fault_and_lock(m, at, c, flags);
			/* a failure further on must not fail this page */
			if (ret && c > PAGE_SIZE - offset_in_page(at))
				ret = odp_mirror_fault_and_lock(m, at, 1, flags);
			if (ret)
				return ret;
			locked = true;
			continue;
		}
		if (write)
			odp_mirror_set_dirty(m, at);
		c = min_t(size_t, n - off, leaf.va + BIT(leaf.shift) - at);
		if (write)
			ret = odp_edu_xfer(edu, ODP_EDU_BUF + off, odp_mirror_leaf_dma(&leaf, at),
					   c, true);
		else
			ret = odp_edu_xfer(edu, odp_mirror_leaf_dma(&leaf, at), ODP_EDU_BUF + off,
					   c, false);
		if (ret)
			break;
		off += c;
	}
	if (locked)
		odp_mirror_unlock(m);
	return ret;
}

/*
 * The device's access to [va, va + len), in pieces of at most
 * ODP_EDU_XFER_MAX bytes, each bounced through the engine's buffer and the
 * coherent buffer. The access stops at the first page it cannot reach.
 */
static int odp_edu_access(struct odp_uapi_file *f, unsigned long va,
			  struct page **buf, size_t boff, size_t len,
			  bool write, u64 *faults)
{
	struct odp_edu *edu = odp_edu;
	int ret = 0;

	while (len) {
		size_t n = min_t(size_t, len, ODP_EDU_XFER_MAX);

		if (mutex_lock_killable(&edu->engine))
			return -EINTR;
		if (write) {
			odp_edu_copy(edu, buf, boff, n, true);
			ret = odp_edu_xfer(edu, edu->bounce_dma, ODP_EDU_BUF, n, false);
		}
		if (!ret)
			ret = odp_edu_move(f, edu, va, n, len, write, faults);
		if (!ret && !write) {
			ret = odp_edu_xfer(edu, ODP_EDU_BUF, edu->bounce_dma, n, true);
			if (!ret)
				odp_edu_copy(edu, buf, boff, n, false);
		}
		mutex_unlock(&edu->engine);
		if (ret)
			return ret;
		va += n;
		boff += n;
		len -= n;
		if (fatal_signal_pending(current))
			return -EINTR;
	}
	return 0;
}

/* --- the UAPI of this device alone --- */

/* Does the device's DMA go through an IOMMU that translates? */
static bool odp_edu_translated(struct device *dev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	return domain && (domain->type & __IOMMU_DOMAIN_PAGING);
}

/* Will a mirror use one IOVA range per MR? Its choice, odp_mirror_create() */
static bool odp_edu_iova_mode(struct device *dev)
{
	return odp_edu_translated(dev) && odp_iova_usable(dev);
}

static long odp_edu_info(struct odp_edu *edu, void __user *uarg)
{
	struct odp_edu_info a;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	a.flags = 0;
	if (odp_edu_translated(&edu->pdev->dev))
		a.flags |= ODP_EDU_INFO_IOMMU;
	if (odp_edu_iova_mode(&edu->pdev->dev))
		a.flags |= ODP_EDU_INFO_IOVA;
	if (READ_ONCE(raw_dma) && capable(CAP_SYS_ADMIN))
		a.flags |= ODP_EDU_INFO_RAW;
	a.pci_domain = pci_domain_nr(edu->pdev->bus);
	a.pci_bus = edu->pdev->bus->number;
	a.pci_devfn = edu->pdev->devfn;
	mutex_lock(&edu->engine);
	a.transfers = edu->transfers;
	a.bytes = edu->bytes;
	mutex_unlock(&edu->engine);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

/*
 * The device reads a.dma into its buffer, which held a.fill before, and the
 * buffer goes to the caller: what the device reached there, if anything.
 */
static long odp_edu_raw_read(struct odp_edu *edu, void __user *uarg)
{
	struct odp_edu_raw a;
	void *out;
	int ret = odp_uapi_arg(&a, uarg, sizeof(a));

	if (ret)
		return ret;
	if (!READ_ONCE(raw_dma) || !capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (memchr_inv(a.reserved, 0, sizeof(a.reserved)) || !a.length ||
	    a.length > ODP_EDU_RAW_MAX)
		return -EINVAL;
	out = kmalloc(a.length, GFP_KERNEL);
	if (!out)
		return -ENOMEM;
	if (mutex_lock_killable(&edu->engine)) {
		kfree(out);
		return -EINTR;
	}
	memset(edu->bounce, a.fill, a.length);
	ret = odp_edu_xfer(edu, edu->bounce_dma, ODP_EDU_BUF, a.length, false);
	if (!ret)
		ret = odp_edu_xfer(edu, a.dma, ODP_EDU_BUF, a.length, false);
	if (!ret)
		ret = odp_edu_xfer(edu, ODP_EDU_BUF, edu->bounce_dma, a.length, true);
	if (!ret)
		memcpy(out, edu->bounce, a.length);
	mutex_unlock(&edu->engine);
	if (!ret && copy_to_user(u64_to_user_ptr(a.ptr), out, a.length))
		ret = -EFAULT;
	kfree(out);
	return ret;
}

static long odp_edu_ioctl(struct odp_uapi_file *f, unsigned int cmd, void __user *uarg)
{
	switch (cmd) {
	case ODP_EDU_IOC_INFO:
		return odp_edu_info(odp_edu, uarg);
	case ODP_EDU_IOC_RAW_READ:
		return odp_edu_raw_read(odp_edu, uarg);
	default:
		return -ENOTTY;
	}
}

static void odp_edu_stats(struct odp_uapi_file *f, struct odp_sim_stats *st)
{
	struct odp_edu_file *s = odp_uapi_priv(f);

	odp_uapi_tlb_stats(&s->tlb, st);
}

static int odp_edu_open(struct odp_uapi_file *f)
{
	atomic_inc(&odp_edu->files);
	return 0;
}

static void odp_edu_release(struct odp_uapi_file *f)
{
	struct odp_edu *edu = odp_edu;

	if (atomic_dec_and_test(&edu->files))
		wake_up(&edu->gone);
}

static struct odp_uapi_driver odp_edu_driver = {
	.name = "odp_edu",
	.owner = THIS_MODULE,
	.ops = &odp_edu_ops,
	.pgsize_bitmap = ODP_PT_PGSIZES_ALL,
	.file_priv_size = sizeof(struct odp_edu_file),
	.access = odp_edu_access,
	.stats = odp_edu_stats,
	.ioctl = odp_edu_ioctl,
	.open = odp_edu_open,
	.release = odp_edu_release,
};

/* --- the PCI driver --- */

static int odp_edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct odp_edu *edu;
	u32 ident;
	int ret;

	mutex_lock(&odp_edu_bind);
	if (odp_edu) {
		dev_info(&pdev->dev, "/dev/odp_edu is taken by %s\n",
			 pci_name(odp_edu->pdev));
		ret = -EBUSY;
		goto out_unlock;
	}
	edu = kzalloc(sizeof(*edu), GFP_KERNEL);
	if (!edu) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	edu->pdev = pdev;
	mutex_init(&edu->engine);
	atomic_set(&edu->files, 0);
	init_waitqueue_head(&edu->gone);

	ret = pci_enable_device(pdev);
	if (ret)
		goto out_free;
	ret = pci_request_region(pdev, 0, "odp_edu");
	if (ret)
		goto out_disable;
	edu->regs = pci_iomap(pdev, 0, 0);
	if (!edu->regs) {
		ret = -ENOMEM;
		goto out_release;
	}
	ident = readl(edu->regs + ODP_EDU_REG_ID);
	if ((ident & 0xff) != ODP_EDU_ID_MAGIC) {
		dev_err(&pdev->dev, "not an edu device: id %#x\n", ident);
		ret = -ENODEV;
		goto out_unmap;
	}
	/* QEMU's dma_mask property must allow it: -device edu,dma_mask=... */
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto out_unmap;
	edu->bounce = dma_alloc_coherent(&pdev->dev, PAGE_SIZE, &edu->bounce_dma,
					 GFP_KERNEL);
	if (!edu->bounce) {
		ret = -ENOMEM;
		goto out_unmap;
	}
	pci_set_master(pdev);
	pci_set_drvdata(pdev, edu);
	odp_edu = edu;
	odp_edu_driver.dma_dev = &pdev->dev;
	ret = odp_uapi_register(&odp_edu_driver);
	if (ret)
		goto out_clear;
	mutex_unlock(&odp_edu_bind);
	dev_info(&pdev->dev, "edu %u.%u as /dev/odp_edu, %s\n", ident >> 24,
		 (ident >> 16) & 0xff,
		 !odp_edu_translated(&pdev->dev) ? "no translating IOMMU" :
		 odp_edu_iova_mode(&pdev->dev) ? "IOMMU, one IOVA range per MR" :
		 "IOMMU, one dma_map_page() per leaf");
	return 0;

out_clear:
	odp_edu = NULL;
	pci_clear_master(pdev);
	dma_free_coherent(&pdev->dev, PAGE_SIZE, edu->bounce, edu->bounce_dma);
out_unmap:
	pci_iounmap(pdev, edu->regs);
out_release:
	pci_release_region(pdev, 0);
out_disable:
	pci_disable_device(pdev);
out_free:
	kfree(edu);
out_unlock:
	mutex_unlock(&odp_edu_bind);
	return ret;
}

/*
 * Open files hold DMA mappings of the device (the module cannot go while
 * they are open, but the device can be unbound): wait for them to close.
 */
static void odp_edu_remove(struct pci_dev *pdev)
{
	struct odp_edu *edu = pci_get_drvdata(pdev);

	/* no open runs or starts after this (misc_mtx) */
	odp_uapi_unregister(&odp_edu_driver);
	wait_event(edu->gone, !atomic_read(&edu->files));
	mutex_lock(&odp_edu_bind);
	odp_edu = NULL;
	mutex_unlock(&odp_edu_bind);
	pci_clear_master(pdev);
	dma_free_coherent(&pdev->dev, PAGE_SIZE, edu->bounce, edu->bounce_dma);
	pci_iounmap(pdev, edu->regs);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
	mutex_destroy(&edu->engine);
	kfree(edu);
}

static const struct pci_device_id odp_edu_ids[] = {
	{ PCI_DEVICE(ODP_EDU_VENDOR, ODP_EDU_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, odp_edu_ids);

static struct pci_driver odp_edu_pci_driver = {
	.name = "odp_edu",
	.id_table = odp_edu_ids,
	.probe = odp_edu_probe,
	.remove = odp_edu_remove,
};
module_pci_driver(odp_edu_pci_driver);

MODULE_DESCRIPTION("QEMU edu PCI device as an ODP device over odp_mirror, with real DMA");
MODULE_LICENSE("GPL");
