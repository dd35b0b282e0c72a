// SPDX-License-Identifier: GPL-2.0
/*
 * odp_demo: show odp-mirror at work through the simulated device.
 */
#include <stdio.h>

#include "odp_test_lib.h"

int main(void)
{
	struct odp_sim_version v = { .size = sizeof(v) };
	int fd = open(ODP_SIM_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror(ODP_SIM_PATH);
		return 1;
	}
	if (odp_ioctl(fd, ODP_SIM_IOC_VERSION, &v)) {
		perror("ODP_SIM_IOC_VERSION");
		return 1;
	}
	printf("%s: simulated ODP device, ABI %u, leaf sizes:%s%s%s\n",
	       ODP_SIM_PATH, v.abi_version,
	       v.pgsize_bitmap & (1ULL << 12) ? " 4K" : "",
	       v.pgsize_bitmap & (1ULL << 21) ? " 2M" : "",
	       v.pgsize_bitmap & (1ULL << 30) ? " 1G" : "");
	close(fd);
	return 0;
}
