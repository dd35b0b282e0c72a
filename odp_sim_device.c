// SPDX-License-Identifier: GPL-2.0
/*
 * odp_sim_device: a simulated ODP device, /dev/odp_sim, over odp_mirror.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "odp_pgtable.h"
#include "uapi/odp_sim_device.h"

static long odp_sim_version(void __user *uarg)
{
	struct odp_sim_version v;

	if (copy_from_user(&v, uarg, sizeof(v)))
		return -EFAULT;
	if (v.size != sizeof(v))
		return -EINVAL;
	v.abi_version = ODP_SIM_ABI_VERSION;
	v.pgsize_bitmap = ODP_PT_PGSIZES_ALL;
	return copy_to_user(uarg, &v, sizeof(v)) ? -EFAULT : 0;
}

static long odp_sim_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case ODP_SIM_IOC_VERSION:
		return odp_sim_version(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations odp_sim_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = odp_sim_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice odp_sim_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "odp_sim",
	.fops = &odp_sim_fops,
};

module_misc_device(odp_sim_misc);
MODULE_DESCRIPTION("Simulated ODP device over odp_mirror");
MODULE_LICENSE("GPL");
