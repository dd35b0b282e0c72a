/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the odp-mirror test programs.
 */
#ifndef ODP_TEST_LIB_H
#define ODP_TEST_LIB_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "odp_sim_device.h"

#define ODP_SIM_PATH	"/dev/odp_sim"

/* ioctl() that returns 0 or -errno, so tests can compare errnos directly */
static inline int odp_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

#endif /* ODP_TEST_LIB_H */
