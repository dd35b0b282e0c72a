/* SPDX-License-Identifier: GPL-2.0 */
/*
 * odp_uapi: the ioctl front end that the test devices share.
 *
 * /dev/odp_sim (odp_sim_device.c) and /dev/odp_edu (odp_edu.c) speak one
 * UAPI, include/uapi/odp_sim_device.h: MRs, prefetch, snapshot, counters.
 * This module implements it over odp_mirror once; a device driver gives
 * only what differs: how its device reaches memory (its DMA device, its
 * mirror callbacks) and how it moves data (the access callback).
 */
#ifndef _ODP_UAPI_H
#define _ODP_UAPI_H

#include <linux/miscdevice.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "odp_mirror.h"
#include "uapi/odp_sim_device.h"

struct odp_uapi_file;

/**
 * struct odp_uapi_driver - one device node and its driver
 * @name: the node's name under /dev
 * @owner: the driver's module
 * @dma_dev: the device whose DMA the mirrors map for, or NULL
 * @ops: the mirrors' callbacks (odp_mirror_priv() is the open file), or
 *	NULL
 * @pgsize_bitmap: leaf sizes of a new file's mirror
 * @file_priv_size: bytes of per-file driver state, zeroed at open
 * @access: the device reads (@write false) or writes [@va, @va + @len) of
 *	the mirrored memory, copying from or to the pinned buffer @buf,
 *	whose first byte is @boff bytes into @buf[0]; it faults through the
 *	mirror on a miss and counts device faults in *@faults. Called with
 *	the file's semaphore held for read and the mirror lock not held.
 * @stats: adds the driver's own counters to a STATS reply, under the
 *	mirror lock
 * @ioctl: commands of this driver alone, or NULL
 * @open: called at the end of a successful open, or NULL; an error
 *	fails the open (the file's mirror is destroyed again)
 * @release: called when an opened file goes, after its mirror and every
 *	DMA mapping of it are gone, or NULL
 * @misc: the misc device, filled in by odp_uapi_register()
 */
struct odp_uapi_driver {
	const char *name;
	struct module *owner;
	struct device *dma_dev;
	const struct odp_mirror_ops *ops;
	unsigned long pgsize_bitmap;
	size_t file_priv_size;
	int (*access)(struct odp_uapi_file *f, unsigned long va, struct page **buf,
		      size_t boff, size_t len, bool write, u64 *faults);
	void (*stats)(struct odp_uapi_file *f, struct odp_sim_stats *st);
	long (*ioctl)(struct odp_uapi_file *f, unsigned int cmd, void __user *uarg);
	int (*open)(struct odp_uapi_file *f);
	void (*release)(struct odp_uapi_file *f);
	struct miscdevice misc;
};

int odp_uapi_register(struct odp_uapi_driver *drv);
void odp_uapi_unregister(struct odp_uapi_driver *drv);
struct odp_mirror *odp_uapi_mirror(struct odp_uapi_file *f);
void *odp_uapi_priv(struct odp_uapi_file *f);
int odp_uapi_arg(void *karg, const void __user *uarg, u32 size);

/* Entries of a test device's TLB: direct-mapped by 2M block */
#define ODP_UAPI_TLB_SIZE	64

/**
 * struct odp_uapi_tlb - the translation cache of a test device
 * @leaf: cached translations, slot (va >> PMD_SHIFT) % %ODP_UAPI_TLB_SIZE
 * @valid: which slots hold one
 * @zaps: invalidations seen
 * @zap_mr: odp_mr_priv() of the last invalidation's MR
 * @installs: faults that loaded it
 * @hits: translations it answered
 * @misses: translations taken from the mirror's table
 *
 * Both test devices model their hardware's TLB with it, as a driver of
 * real hardware would keep its own: filled from the mirror's table,
 * emptied from the mirror's invalidate_start() callback. All of it is
 * under the mirror lock.
 */
struct odp_uapi_tlb {
	struct odp_pt_leaf leaf[ODP_UAPI_TLB_SIZE];
	bool valid[ODP_UAPI_TLB_SIZE];
	u64 zaps;
	u64 zap_mr;
	u64 installs;
	u64 hits;
	u64 misses;
};

bool odp_uapi_tlb_translate(struct odp_uapi_tlb *t, struct odp_mirror *m,
			    unsigned long va, struct odp_pt_leaf *leaf);
void odp_uapi_tlb_invalidate(struct odp_uapi_tlb *t, const struct odp_inval *inv,
			     bool keep_read);
void odp_uapi_tlb_install(struct odp_uapi_tlb *t, struct odp_mirror *m,
			  unsigned long start, unsigned long end);
void odp_uapi_tlb_stats(const struct odp_uapi_tlb *t, struct odp_sim_stats *st);

#endif /* _ODP_UAPI_H */
