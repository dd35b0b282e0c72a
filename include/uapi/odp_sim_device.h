/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * odp_sim_device: the UAPI of the simulated ODP device, /dev/odp_sim.
 *
 * Every ioctl argument is a fixed-size struct whose first member, @size,
 * the caller sets to sizeof() the struct; a size the kernel does not know
 * gets -EINVAL, so the ABI can grow by new ioctl numbers.
 */
#ifndef _UAPI_ODP_SIM_DEVICE_H
#define _UAPI_ODP_SIM_DEVICE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define ODP_SIM_ABI_VERSION	1

/**
 * struct odp_sim_version - ODP_SIM_IOC_VERSION
 * @size: sizeof(struct odp_sim_version)
 * @abi_version: out: ODP_SIM_ABI_VERSION of the running module
 * @pgsize_bitmap: out: leaf sizes the device's table supports
 */
struct odp_sim_version {
	__u32 size;
	__u32 abi_version;
	__u64 pgsize_bitmap;
};

#define ODP_SIM_IOC_MAGIC	'O'
#define ODP_SIM_IOC_VERSION	_IOWR(ODP_SIM_IOC_MAGIC, 0x00, struct odp_sim_version)

#endif /* _UAPI_ODP_SIM_DEVICE_H */
