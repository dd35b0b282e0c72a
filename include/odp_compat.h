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

#endif /* _ODP_COMPAT_H */
