// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites of the odp_pgtable device page table.
 */
#include <kunit/test.h>
#include <linux/mutex.h>

#include "odp_pgtable.h"

static DEFINE_MUTEX(odp_kunit_lock);

static void odp_pt_init_destroy(struct kunit *test)
{
	struct odp_pgtable pt;

	KUNIT_ASSERT_EQ(test, odp_pgtable_init(&pt, 4, SZ_4K | SZ_2M | SZ_1G,
					       &odp_kunit_lock), 0);
	KUNIT_EXPECT_EQ(test, pt.nr_tables, 1UL);
	odp_pgtable_destroy(&pt);
	KUNIT_EXPECT_EQ(test, pt.nr_tables, 0UL);
}

static void odp_pt_init_invalid(struct kunit *test)
{
	struct odp_pgtable pt;

	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt, 4, SZ_2M, &odp_kunit_lock), -EINVAL);
	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt, 4, SZ_4K | SZ_64K, &odp_kunit_lock), -EINVAL);
	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt, 5, SZ_4K, &odp_kunit_lock), -EINVAL);
	KUNIT_EXPECT_EQ(test, odp_pgtable_init(&pt, 4, SZ_4K, NULL), -EINVAL);
}

static struct kunit_case odp_pt_cases[] = {
	KUNIT_CASE(odp_pt_init_destroy),
	KUNIT_CASE(odp_pt_init_invalid),
	{}
};

static struct kunit_suite odp_pt_suite = {
	.name = "odp_pgtable",
	.test_cases = odp_pt_cases,
};

kunit_test_suite(odp_pt_suite);

MODULE_DESCRIPTION("KUnit tests of the odp_pgtable device page table");
MODULE_LICENSE("GPL");
