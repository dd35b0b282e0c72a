// SPDX-License-Identifier: GPL-2.0
/*
 * odp_mirror: mirror a process address space into a device page table.
 */
#include <linux/module.h>

static int __init odp_mirror_init(void)
{
	return 0;
}

static void __exit odp_mirror_exit(void)
{
}

module_init(odp_mirror_init);
module_exit(odp_mirror_exit);
MODULE_DESCRIPTION("On-demand paging mirror with mixed-size device page tables");
MODULE_LICENSE("GPL");
