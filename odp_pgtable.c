// SPDX-License-Identifier: GPL-2.0
/*
 * odp_pgtable: a multi-level device page table with mixed leaf sizes.
 */
#include <linux/gfp.h>
#include <linux/module.h>

#include "odp_pgtable.h"

/**
 * odp_pgtable_init() - create an empty table
 * @pt: the table to initialise
 * @levels: number of levels, 2 to %ODP_PT_MAX_LEVELS
 * @pgsize_bitmap: leaf sizes the device supports; must include SZ_4K and
 *	only sizes the levels can hold
 * @lock: the caller's lock that serialises every mutating call
 *
 * Return: 0, -EINVAL for a bad argument, or -ENOMEM.
 */
int odp_pgtable_init(struct odp_pgtable *pt, unsigned int levels,
		     unsigned long pgsize_bitmap, struct mutex *lock)
{
	if (levels < 2 || levels > ODP_PT_MAX_LEVELS || !lock ||
	    !(pgsize_bitmap & SZ_4K) || (pgsize_bitmap & ~ODP_PT_PGSIZES_ALL))
		return -EINVAL;
	pt->root = (u64 *)get_zeroed_page(GFP_KERNEL);
	if (!pt->root)
		return -ENOMEM;
	pt->levels = levels;
	pt->pgsize_bitmap = pgsize_bitmap;
	pt->lock = lock;
	pt->nr_tables = 1;
	return 0;
}
EXPORT_SYMBOL_GPL(odp_pgtable_init);

/**
 * odp_pgtable_destroy() - free every table page
 * @pt: the table
 */
void odp_pgtable_destroy(struct odp_pgtable *pt)
{
	free_page((unsigned long)pt->root);
	pt->root = NULL;
	pt->nr_tables--;
}
EXPORT_SYMBOL_GPL(odp_pgtable_destroy);
