/* SPDX-License-Identifier: GPL-2.0 */
/*
 * odp_pgtable: a multi-level device page table with mixed leaf sizes.
 */
#ifndef _ODP_PGTABLE_H
#define _ODP_PGTABLE_H

#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/types.h>

#define ODP_PT_MAX_LEVELS	4
/* Every leaf size the table can hold: 4K, 2M and 1G */
#define ODP_PT_PGSIZES_ALL	(SZ_4K | SZ_2M | SZ_1G)

/**
 * struct odp_pgtable - a device page table
 * @root: the top-level table page
 * @levels: number of levels; level 0 holds 4K entries
 * @pgsize_bitmap: leaf sizes the device supports
 * @lock: the caller's lock, asserted by every mutating call
 * @nr_tables: table pages currently allocated, root included
 */
struct odp_pgtable {
	u64 *root;
	unsigned int levels;
	unsigned long pgsize_bitmap;
	struct mutex *lock;	/* the caller's */
	unsigned long nr_tables;
};

int odp_pgtable_init(struct odp_pgtable *pt, unsigned int levels,
		     unsigned long pgsize_bitmap, struct mutex *lock);
void odp_pgtable_destroy(struct odp_pgtable *pt);

#endif /* _ODP_PGTABLE_H */
