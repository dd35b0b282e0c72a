/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The differences between the kernels odp-mirror builds against, 6.1 to
 * the newest: all of them, and only them, live here.
 */
#ifndef _ODP_COMPAT_H
#define _ODP_COMPAT_H

#include <linux/version.h>

/* KUnit test attributes, KUNIT_CASE_SLOW among them, came in 6.6. */
#if defined(_KUNIT_TEST_H) && !defined(KUNIT_CASE_SLOW)
#define KUNIT_CASE_SLOW(test_name) KUNIT_CASE(test_name)
#endif

/*
 * Two-pass interval notifiers: invalidate_start(), then, once every
 * notifier's first pass ran, invalidate_finish() for those that asked.
 * Kbuild looks for them in the kernel's own <linux/mmu_notifier.h>
 * (ODP_HAVE_TWO_PASS_NOTIFIER), which also finds backports. Two-pass ops
 * are declared as a struct odp_two_pass_ops: the kernel's ops where it
 * has them, elsewhere a stand-in that compiles and is never used.
 */
#ifdef ODP_HAVE_TWO_PASS_NOTIFIER
#define ODP_TWO_PASS_SUPPORTED	true
#define odp_two_pass_ops	mmu_interval_notifier_ops
#else
#define ODP_TWO_PASS_SUPPORTED	false
#include <linux/llist.h>

struct mmu_interval_notifier;
struct mmu_notifier_range;

struct mmu_interval_notifier_finish {
	struct llist_node link;
	struct mmu_interval_notifier *notifier;
};

struct odp_two_pass_ops {
	bool (*invalidate_start)(struct mmu_interval_notifier *interval_sub,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq,
				 struct mmu_interval_notifier_finish **finish);
	void (*invalidate_finish)(struct mmu_interval_notifier_finish *finish);
};
#endif

#endif /* _ODP_COMPAT_H */
