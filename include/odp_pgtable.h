/* SPDX-License-Identifier: GPL-2.0 */
/*
 * odp_pgtable: a multi-level device page table with mixed leaf sizes.
 *
 * A radix tree of 4 KiB table pages with 512 64-bit entries per level.
 * Level 0 entries map 4K; an entry at level 1 maps 2M and at level 2 maps
 * 1G, either as a leaf or by pointing at a table of the level below. Leaves
 * of every size the device supports sit side by side. Partly covered huge
 * leaves are split on unmap and protect, and full contiguous tables are
 * merged back into one leaf. The table knows nothing of mm or HMM: it maps
 * device virtual addresses to target frame numbers (pfns today; the field
 * can hold a DMA address >> PAGE_SHIFT as well).
 *
 * Locking: the table takes no lock of its own. The caller passes its lock
 * (a mutex) to odp_pgtable_init(), holds it around every call except
 * odp_pgtable_init(), odp_pgtable_destroy() and the reserve helpers, and
 * every such call checks it with lockdep_assert_held(). The table never
 * sleeps while the lock is held unless the caller passes a sleeping gfp
 * in its &struct odp_pt_alloc. A &struct odp_pt_reserve belongs to the
 * caller: odp_pt_reserve_fill() on a private reserve needs no lock, and a
 * reserve shared with table operations is protected by the table lock.
 */
#ifndef _ODP_PGTABLE_H
#define _ODP_PGTABLE_H

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/types.h>

/* Levels of a 48-bit table, as x86-64; a table may have fewer. */
#define ODP_PT_MAX_LEVELS	4
/* Leaf sizes: index 0 is 4K (level 0), 1 is 2M, 2 is 1G. */
#define ODP_PT_NR_SIZES		3
/* Every leaf size the table can hold. */
#define ODP_PT_PGSIZES_ALL	(SZ_4K | SZ_2M | SZ_1G)

/* Permission of a mapping: readable always, writable with this flag. */
#define ODP_PT_WRITE		BIT(0)

/*
 * In a frame array of the default format, the frame of each 4K page, with
 * ODP_PT_FRAME_WRITE where that page may be written.
 */
#define ODP_PT_FRAME_WRITE	BIT(63)

/**
 * struct odp_pt_frame_format - how to read the entries of a frame array
 * @frame_mask: the low bits of an entry that hold its frame
 * @write_mask: an entry with any of these bits set may be written
 * @present_mask: an entry maps a page only when (entry & @present_mask)
 *	== @present_value; the table leaves other pages as they are
 * @present_value: see @present_mask
 *
 * So a caller can hand the table the array it has, hmm_range_fault()'s
 * output or a list of DMA addresses, without converting it page by page.
 */
struct odp_pt_frame_format {
	unsigned long frame_mask;
	unsigned long write_mask;
	unsigned long present_mask;
	unsigned long present_value;
};

/**
 * struct odp_pt_stats - accounting of one table
 * @leaves: present leaves now, by size index
 * @tables: table pages now, the root included
 * @tables_allocated: table pages taken over the table's life
 * @tables_freed: table pages freed over the table's life; atomic, since
 *	odp_pgtable_free_tables() runs without the lock
 * @splits: huge leaves split into a lower-level table
 * @merges: full contiguous tables collapsed into one leaf
 * @fallbacks: operations that cleared whole leaves for want of table pages
 */
struct odp_pt_stats {
	unsigned long leaves[ODP_PT_NR_SIZES];
	unsigned long tables;
	unsigned long tables_allocated;
	atomic_long_t tables_freed;
	unsigned long splits;
	unsigned long merges;
	unsigned long fallbacks;
};

/**
 * struct odp_pgtable - a device page table
 * @root: the top-level table page
 * @levels: number of levels; the root is level @levels - 1
 * @pgsize_bitmap: leaf sizes the device supports
 * @keep_level: tables of this level or above stay when they become empty,
 *	until odp_pgtable_destroy(); @levels (as odp_pgtable_init() sets it)
 *	frees every empty table but the root. A caller that maps and clears
 *	the same areas again and again sets it lower once, after init.
 * @lock: the caller's lock, asserted by every call that reads or edits
 * @stats: accounting, read it under @lock
 *
 * Callers embed it and use only the functions below.
 */
struct odp_pgtable {
	u64 *root;
	unsigned int levels;
	unsigned int keep_level;
	unsigned long pgsize_bitmap;
	struct mutex *lock;	/* the caller's, see the locking rules above */
	struct odp_pt_stats stats;
};

/**
 * struct odp_pt_leaf - one leaf, or the part of one, as seen by a caller
 * @va: first device address of the leaf
 * @pfn: target frame number at @va; the leaf maps 1 << (@shift -
 *	PAGE_SHIFT) frames from there
 * @shift: log2 of the leaf size: 12, 21 or 30
 * @writable: the device may write
 * @dirty: the device wrote through this leaf
 * @gone: in &odp_pt_result.release only: the leaf left the table (cleared
 *	or replaced); false when it stays and only its dirty bit was taken
 *	(a write-protect)
 */
struct odp_pt_leaf {
	u64 va;
	u64 pfn;
	unsigned int shift;
	bool writable;
	bool dirty;
	bool gone;
};

/**
 * struct odp_pt_reserve - preallocated table pages (their contents do not matter)
 * @pages: the pages, linked by page->lru
 * @nr: how many
 */
struct odp_pt_reserve {
	struct list_head pages;
	unsigned int nr;
};

/**
 * struct odp_pt_map - what to map
 * @va: device address, 4K-aligned
 * @len: length in bytes, a non-zero multiple of 4K
 * @pfn: without @frames: target frame of @va of a physically contiguous
 *	run; frame @pfn + k backs @va + k * 4K
 * @prot: without @frames: 0 for read-only, %ODP_PT_WRITE for read-write
 * @frames: or NULL: one entry per 4K page, read as @format says. The
 *	table finds the stretches that are present, contiguous, aligned and
 *	of one permission and gives them huge leaves, as it does for runs.
 *	Frames must lie below 2^40 (physical addresses below 2^52, the
 *	x86-64 limit); they are not checked one by one.
 * @format: how to read @frames; NULL for the default: the frame, with
 *	%ODP_PT_FRAME_WRITE where writable, every entry present
 * @merge_start: tables that become full and contiguous merge only into
 *	leaves inside [@merge_start, @merge_end), so a caller can keep
 *	leaves inside its own bounds (a memory region, a VMA)
 * @merge_end: end of that window; 0 lets merges happen anywhere
 * @write_max_shift: writable leaves, installed or merged, are at most
 *	1 << @write_max_shift bytes; 0 for no limit. A caller whose dirty
 *	tracking is per folio passes the folio's size, so that a device
 *	write never dirties more than the folio it went to.
 * @flags: %ODP_PT_MAP_KEEP
 */
struct odp_pt_map {
	u64 va;
	u64 len;
	u64 pfn;
	unsigned int prot;
	const unsigned long *frames;
	const struct odp_pt_frame_format *format;
	u64 merge_start;
	u64 merge_end;
	unsigned int write_max_shift;
	unsigned int flags;
};

/*
 * Flag of odp_pgtable_map(): leaves and tables already present are never
 * replaced, split, merged or changed; the map only fills holes, and stops
 * with -EEXIST where a leaf would have to change, also to gain the write
 * permission it lacks. For callers whose leaves each own a resource (a DMA
 * mapping, whose direction is fixed) that a change would have to give
 * back before the device stopped using it.
 */
#define ODP_PT_MAP_KEEP		BIT(0)

/**
 * struct odp_pt_alloc - where an operation may take table pages from
 * @reserve: taken from first; may be NULL
 * @gfp: then allocate with these flags; 0 to never allocate
 *
 * An operation first counts the pages it needs. If the reserve and @gfp
 * cannot supply them all it fails with -ENOMEM and changes nothing.
 */
struct odp_pt_alloc {
	struct odp_pt_reserve *reserve;
	gfp_t gfp;
};

/**
 * struct odp_pt_result - what one map, unmap or protect did
 * @release: if set, called under the lock for each leaf, or part of a
 *	split leaf, that the operation clears or replaces, and for each dirty
 *	leaf it write-protects, with the state the leaf had; the caller can
 *	propagate dirtiness or unmap DMA there. Must not sleep.
 * @install: if set, called under the lock by a map for each new leaf
 *	before it is written; it may set the leaf's frame to what the entry
 *	should hold, or return an error (-errno) to stop the map. Must not
 *	sleep.
 * @split: if set, called with each huge leaf an unmap, protect or map is
 *	about to split. Must not sleep.
 * @priv: for the callbacks
 * @tag: input, with %ODP_PT_ZAP: the tag, 1 to %ODP_PT_ZAP_TAG_MAX, that
 *	the operation's zapped leaves carry, and in odp_pgtable_sweep() the
 *	tag whose zapped leaves it finishes (0: every zapped leaf). Callers
 *	whose zapping operations overlap give each its own tag, so that a
 *	sweep never reports another operation's leaves before that
 *	operation's flush.
 * @installed: leaves installed, by size index
 * @upgraded: leaves kept by a map and given write permission, by size
 *	index
 * @cleared: leaves or parts of leaves cleared (or zapped) or replaced, by
 *	size index
 * @protected: leaves or parts of leaves write-protected, by size index
 * @swept: zapped leaves a sweep cleared, by size index
 * @splits: huge leaves split
 * @merges: tables merged into a leaf
 * @merged: the leaves those merges made, by size index
 * @need: table pages the operation needed (also set on -ENOMEM)
 * @fallback: whole leaves were cleared instead of split
 * @freed: table pages the operation unlinked. The caller frees them with
 *	odp_pgtable_free_tables() once the device can no longer walk them.
 *
 * Zero it with odp_pt_result_init() before each operation.
 */
struct odp_pt_result {
	void (*release)(void *priv, const struct odp_pt_leaf *leaf);
	int (*install)(void *priv, struct odp_pt_leaf *leaf);
	void (*split)(void *priv, const struct odp_pt_leaf *leaf);
	void *priv;
	unsigned int tag;
	unsigned long installed[ODP_PT_NR_SIZES];
	unsigned long upgraded[ODP_PT_NR_SIZES];
	unsigned long cleared[ODP_PT_NR_SIZES];
	unsigned long protected[ODP_PT_NR_SIZES];
	unsigned long swept[ODP_PT_NR_SIZES];
	unsigned int splits;
	unsigned int merges;
	unsigned long merged[ODP_PT_NR_SIZES];
	unsigned int need;
	bool fallback;
	struct list_head freed;
};

/* Largest &odp_pt_result.tag of a zapping operation */
#define ODP_PT_ZAP_TAG_MAX	4095

/* Flags of odp_pgtable_unmap() and odp_pgtable_protect() */
enum odp_pt_flags {
	/* merge tables that become full and contiguous into one leaf */
	ODP_PT_MERGE = BIT(0),
	/* without table pages to split, clear whole leaves instead */
	ODP_PT_FALLBACK = BIT(1),
	/*
	 * zap instead of clearing: the entries stop being present at once,
	 * odp_pgtable_sweep() reports and frees them later
	 */
	ODP_PT_ZAP = BIT(2),
};

/*
 * Per-4K records of odp_pgtable_snapshot(): present, writable, dirty, and
 * the size index of the leaf in bits 4-5.
 */
#define ODP_PT_SNAP_PRESENT	BIT(0)
#define ODP_PT_SNAP_WRITE	BIT(1)
#define ODP_PT_SNAP_DIRTY	BIT(2)
#define ODP_PT_SNAP_SIZE_SHIFT	4
#define ODP_PT_SNAP_SIZE_MASK	(3 << ODP_PT_SNAP_SIZE_SHIFT)

/**
 * struct odp_pt_iter - position of odp_pgtable_for_each_leaf()
 * @pt: the table
 * @va: next address to look at
 * @end: end of the range
 */
struct odp_pt_iter {
	struct odp_pgtable *pt;
	u64 va;
	u64 end;
};

int odp_pgtable_init(struct odp_pgtable *pt, unsigned int levels,
		     unsigned long pgsize_bitmap, struct mutex *lock);
void odp_pgtable_destroy(struct odp_pgtable *pt);
u64 odp_pgtable_va_limit(const struct odp_pgtable *pt);

unsigned int odp_pt_best_shift(unsigned long pgsize_bitmap, u64 va, u64 pfn,
			       u64 len);

int odp_pgtable_map(struct odp_pgtable *pt, const struct odp_pt_map *map,
		    const struct odp_pt_alloc *alloc, struct odp_pt_result *res);
int odp_pgtable_unmap(struct odp_pgtable *pt, u64 va, u64 len,
		      unsigned int flags, const struct odp_pt_alloc *alloc,
		      struct odp_pt_result *res);
int odp_pgtable_protect(struct odp_pgtable *pt, u64 va, u64 len,
			unsigned int flags, const struct odp_pt_alloc *alloc,
			struct odp_pt_result *res);
int odp_pgtable_sweep(struct odp_pgtable *pt, u64 va, u64 len,
		      struct odp_pt_result *res);
void odp_pgtable_free_tables(struct odp_pgtable *pt, struct odp_pt_result *res);

bool odp_pgtable_lookup(struct odp_pgtable *pt, u64 va,
			struct odp_pt_leaf *leaf);
bool odp_pgtable_set_dirty(struct odp_pgtable *pt, u64 va);
int odp_pgtable_snapshot(struct odp_pgtable *pt, u64 va, u64 npages, u8 *out);

struct odp_pt_iter *odp_pt_iter_start(struct odp_pt_iter *it,
				      struct odp_pgtable *pt, u64 va, u64 len);
bool odp_pt_iter_next(struct odp_pt_iter *it, struct odp_pt_leaf *leaf);

/**
 * odp_pgtable_for_each_leaf - iterate over the present leaves of a range
 * @pt: the table
 * @it: a &struct odp_pt_iter
 * @va: start of the range
 * @len: length of the range
 * @leaf: a &struct odp_pt_leaf, filled for each leaf intersecting the range
 *
 * The table lock must be held throughout.
 */
#define odp_pgtable_for_each_leaf(pt, it, va, len, leaf)		\
	for (struct odp_pt_iter *__it = odp_pt_iter_start(it, pt, va, len); \
	     odp_pt_iter_next(__it, leaf);)

void odp_pt_reserve_init(struct odp_pt_reserve *r);
int odp_pt_reserve_fill(struct odp_pt_reserve *r, unsigned int nr, gfp_t gfp);
void odp_pt_reserve_splice(struct odp_pt_reserve *dst,
			   struct odp_pt_reserve *src);
void odp_pt_reserve_move(struct odp_pt_reserve *dst, struct odp_pt_reserve *src,
			 unsigned int nr);
void odp_pt_reserve_drain(struct odp_pt_reserve *r);
long odp_pt_live_pages(void);

/**
 * odp_pt_result_init() - prepare a result for one operation
 * @res: the result
 * @release: callback for released leaves, or NULL
 * @priv: argument of @release
 */
static inline void odp_pt_result_init(struct odp_pt_result *res,
				      void (*release)(void *priv,
						      const struct odp_pt_leaf *leaf),
				      void *priv)
{
	*res = (struct odp_pt_result){ .release = release, .priv = priv };
	INIT_LIST_HEAD(&res->freed);
}

/**
 * odp_pt_size_index() - size index of a leaf shift
 * @shift: 12, 21 or 30
 *
 * Return: 0, 1 or 2.
 */
static inline unsigned int odp_pt_size_index(unsigned int shift)
{
	return (shift - 12) / 9;
}

#endif /* _ODP_PGTABLE_H */
