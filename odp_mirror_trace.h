/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of odp-mirror, under events/odp_mirror/ in tracefs. Every
 * event names its mirror by the id that its debugfs directory carries.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM odp_mirror

#if !defined(_ODP_MIRROR_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _ODP_MIRROR_TRACE_H

#include <linux/mmu_notifier.h>
#include <linux/tracepoint.h>

TRACE_DEFINE_ENUM(MMU_NOTIFY_UNMAP);
TRACE_DEFINE_ENUM(MMU_NOTIFY_CLEAR);
TRACE_DEFINE_ENUM(MMU_NOTIFY_PROTECTION_VMA);
TRACE_DEFINE_ENUM(MMU_NOTIFY_PROTECTION_PAGE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_SOFT_DIRTY);
TRACE_DEFINE_ENUM(MMU_NOTIFY_RELEASE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_MIGRATE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_EXCLUSIVE);

/* any other value, an event newer kernels add, prints as a number */
#define odp_show_event(e)						\
	__print_symbolic(e,						\
			 { MMU_NOTIFY_UNMAP, "unmap" },			\
			 { MMU_NOTIFY_CLEAR, "clear" },			\
			 { MMU_NOTIFY_PROTECTION_VMA, "protection_vma" }, \
			 { MMU_NOTIFY_PROTECTION_PAGE, "protection_page" }, \
			 { MMU_NOTIFY_SOFT_DIRTY, "soft_dirty" },	\
			 { MMU_NOTIFY_RELEASE, "release" },		\
			 { MMU_NOTIFY_MIGRATE, "migrate" },		\
			 { MMU_NOTIFY_EXCLUSIVE, "exclusive" })

/*
 * One odp_mirror_fault() or odp_mirror_prefetch() call: its range, whether
 * it faulted for write, the pages hmm_range_fault() returned valid, the
 * leaves installed by size, the batches redone, the result.
 */
TRACE_EVENT(odp_fault,
	    TP_PROTO(unsigned int id, unsigned long start, unsigned long end,
		     bool write, unsigned long pages, const unsigned long *installed,
		     unsigned long retries, int ret),
	    TP_ARGS(id, start, end, write, pages, installed, retries, ret),
	    TP_STRUCT__entry(__field(unsigned int, id)
			     __field(unsigned long, start)
			     __field(unsigned long, end)
			     __field(bool, write)
			     __field(unsigned long, pages)
			     __field(unsigned long, leaves_4k)
			     __field(unsigned long, leaves_2m)
			     __field(unsigned long, leaves_1g)
			     __field(unsigned long, retries)
			     __field(int, ret)),
	    TP_fast_assign(__entry->id = id;
			   __entry->start = start;
			   __entry->end = end;
			   __entry->write = write;
			   __entry->pages = pages;
			   __entry->leaves_4k = installed[0];
			   __entry->leaves_2m = installed[1];
			   __entry->leaves_1g = installed[2];
			   __entry->retries = retries;
			   __entry->ret = ret;),
	    TP_printk("mirror=%u range=%#lx-%#lx write=%d pfns=%lu leaves_4k=%lu leaves_2m=%lu leaves_1g=%lu retries=%lu ret=%d",
		      __entry->id, __entry->start, __entry->end, __entry->write,
		      __entry->pages, __entry->leaves_4k, __entry->leaves_2m,
		      __entry->leaves_1g, __entry->retries, __entry->ret)
);

/*
 * One invalidation that reached the table: the part of the range inside
 * the MR, the notifier event, whether it only write-protected, the leaves
 * (or parts of split leaves) cleared or write-protected by size, the
 * splits, and whether it had to drop whole leaves for want of reserve.
 */
TRACE_EVENT(odp_invalidate,
	    TP_PROTO(unsigned int id, unsigned long start, unsigned long end,
		     int event, bool protect, const unsigned long *leaves,
		     unsigned int splits, bool fallback),
	    TP_ARGS(id, start, end, event, protect, leaves, splits, fallback),
	    TP_STRUCT__entry(__field(unsigned int, id)
			     __field(unsigned long, start)
			     __field(unsigned long, end)
			     __field(int, event)
			     __field(bool, protect)
			     __field(unsigned long, leaves_4k)
			     __field(unsigned long, leaves_2m)
			     __field(unsigned long, leaves_1g)
			     __field(unsigned int, splits)
			     __field(bool, fallback)),
	    TP_fast_assign(__entry->id = id;
			   __entry->start = start;
			   __entry->end = end;
			   __entry->event = event;
			   __entry->protect = protect;
			   __entry->leaves_4k = leaves[0];
			   __entry->leaves_2m = leaves[1];
			   __entry->leaves_1g = leaves[2];
			   __entry->splits = splits;
			   __entry->fallback = fallback;),
	    TP_printk("mirror=%u range=%#lx-%#lx event=%s %s leaves_4k=%lu leaves_2m=%lu leaves_1g=%lu splits=%u fallback=%d",
		      __entry->id, __entry->start, __entry->end,
		      odp_show_event(__entry->event),
		      __entry->protect ? "protected" : "cleared",
		      __entry->leaves_4k, __entry->leaves_2m, __entry->leaves_1g,
		      __entry->splits, __entry->fallback)
);

/*
 * Tables merged back into single leaves while mapping [start, end), and
 * the leaves the merges made by size.
 */
TRACE_EVENT(odp_merge,
	    TP_PROTO(unsigned int id, unsigned long start, unsigned long end,
		     const unsigned long *merged),
	    TP_ARGS(id, start, end, merged),
	    TP_STRUCT__entry(__field(unsigned int, id)
			     __field(unsigned long, start)
			     __field(unsigned long, end)
			     __field(unsigned long, leaves_2m)
			     __field(unsigned long, leaves_1g)),
	    TP_fast_assign(__entry->id = id;
			   __entry->start = start;
			   __entry->end = end;
			   __entry->leaves_2m = merged[1];
			   __entry->leaves_1g = merged[2];),
	    TP_printk("mirror=%u range=%#lx-%#lx leaves_2m=%lu leaves_1g=%lu",
		      __entry->id, __entry->start, __entry->end,
		      __entry->leaves_2m, __entry->leaves_1g)
);

#endif /* _ODP_MIRROR_TRACE_H */

/* This part must be outside the include guard */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE odp_mirror_trace
#include <trace/define_trace.h>
