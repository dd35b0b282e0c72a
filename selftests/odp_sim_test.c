// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of odp-mirror through the simulated device, /dev/odp_sim.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "odp_test_lib.h"

FIXTURE(sim)
{
	int fd;
};

FIXTURE_SETUP(sim)
{
	self->fd = open(ODP_SIM_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->fd, 0) TH_LOG("open %s: %s", ODP_SIM_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(sim)
{
	close(self->fd);
}

TEST(device_node_is_char_device)
{
	struct stat st;

	ASSERT_EQ(stat(ODP_SIM_PATH, &st), 0);
	EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(sim, version)
{
	struct odp_sim_version v = { .size = sizeof(v) };

	ASSERT_EQ(odp_ioctl(self->fd, ODP_SIM_IOC_VERSION, &v), 0);
	EXPECT_EQ(v.abi_version, ODP_SIM_ABI_VERSION);
	EXPECT_EQ(v.pgsize_bitmap, (1ULL << 12) | (1ULL << 21) | (1ULL << 30));
}

TEST_F(sim, version_bad_size)
{
	struct odp_sim_version v = { .size = sizeof(v) - 1 };

	EXPECT_EQ(odp_ioctl(self->fd, ODP_SIM_IOC_VERSION, &v), -EINVAL);
}

TEST_F(sim, unknown_ioctl)
{
	EXPECT_EQ(odp_ioctl(self->fd, _IO(ODP_SIM_IOC_MAGIC, 0xff), NULL), -ENOTTY);
}

TEST_HARNESS_MAIN
