// SPDX-License-Identifier: GPL-2.0
/*
 * odp_pgtable: a multi-level device page table with mixed leaf sizes.
 *
 * See include/odp_pgtable.h for the interface and the locking rules.
 *
 * Entry format; nothing outside the accessors below knows a bit position:
 *   bit 0       present
 *   bit 1       writable
 *   bit 2       dirty: the device wrote through this leaf
 *   bit 3       leaf; clear at level > 0, the entry points at a table
 *   bit 4       zapped: a leaf cleared by an operation with ODP_PT_ZAP, not
 *               present any more but still holding its frame and dirty bit
 *               until odp_pgtable_sweep() reports and clears it
 *   bits 12-51  target frame number of a leaf, or the pfn of a table page
 *   bits 52-63  a zapped leaf only: the tag of the operation that zapped
 *               it, so that each sweep finishes its own operation's zaps
 *               and no other's
 *
 * Every mutating operation walks its range twice with the same recursive
 * function: once "dry", counting the table pages it will need (new tables
 * and splits), and once for real, after those pages were taken from the
 * caller's reserve or allocated. So an operation either has every page it
 * needs or fails with -ENOMEM having changed nothing. Each table page keeps
 * the number of its occupied (present or zapped) entries in page->private,
 * which makes "is it empty" and "is it full" O(1).
 */
#include <linux/bitfield.h>
#include <linux/bitops.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "odp_pgtable.h"

#define PT_SHIFT		12
#define PT_LEVEL_BITS		9
#define PT_ENTRIES		BIT(PT_LEVEL_BITS)
#define PT_MAX_LEAF_LEVEL	(ODP_PT_NR_SIZES - 1)
#define PT_FRAME_BITS		40

#define ENT_PRESENT		BIT_ULL(0)
#define ENT_WRITE		BIT_ULL(1)
#define ENT_DIRTY		BIT_ULL(2)
#define ENT_LEAF		BIT_ULL(3)
#define ENT_ZAPPED		BIT_ULL(4)
#define ENT_FRAME		GENMASK_ULL(PT_SHIFT + PT_FRAME_BITS - 1, PT_SHIFT)
#define ENT_TAG			GENMASK_ULL(63, PT_SHIFT + PT_FRAME_BITS)

static_assert((ENT_TAG >> (PT_SHIFT + PT_FRAME_BITS)) == ODP_PT_ZAP_TAG_MAX);

static_assert(PT_ENTRIES * sizeof(u64) == PAGE_SIZE);

/*
 * Pages this file allocated and has not freed, tables and reserves of
 * every table alike: an account kept apart from the tables' own, for
 * leak checks (odp_pt_live_pages()).
 */
static atomic_long_t pt_live_pages = ATOMIC_LONG_INIT(0);

/**
 * odp_pt_live_pages() - table and reserve pages allocated and not yet freed
 *
 * Counts every page the table code allocated, for any table or reserve,
 * and has not freed: tests compare it before and after to find leaks.
 *
 * Return: the number of such pages.
 */
long odp_pt_live_pages(void)
{
	return atomic_long_read(&pt_live_pages);
}
EXPORT_SYMBOL_GPL(odp_pt_live_pages);

/* --- geometry --- */

static inline unsigned int lvl_shift(unsigned int level)
{
	return PT_SHIFT + level * PT_LEVEL_BITS;
}

static inline u64 lvl_size(unsigned int level)
{
	return 1ULL << lvl_shift(level);
}

static inline unsigned int lvl_index(u64 va, unsigned int level)
{
	return (va >> lvl_shift(level)) & (PT_ENTRIES - 1);
}

/* Frames a leaf at @level spans */
static inline u64 lvl_frames(unsigned int level)
{
	return 1ULL << (level * PT_LEVEL_BITS);
}

static inline bool lvl_supported(const struct odp_pgtable *pt,
				 unsigned int level)
{
	return level <= PT_MAX_LEAF_LEVEL && (pt->pgsize_bitmap & lvl_size(level));
}

/* --- entries --- */

static inline bool ent_present(u64 e)
{
	return e & ENT_PRESENT;
}

/* Present, or zapped and waiting for odp_pgtable_sweep() */
static inline bool ent_occupied(u64 e)
{
	return e & (ENT_PRESENT | ENT_ZAPPED);
}

static inline bool ent_is_leaf(u64 e, unsigned int level)
{
	return ent_present(e) && (level == 0 || (e & ENT_LEAF));
}

static inline bool ent_is_table(u64 e, unsigned int level)
{
	return ent_present(e) && !ent_is_leaf(e, level);
}

static inline u64 ent_frame(u64 e)
{
	return FIELD_GET(ENT_FRAME, e);
}

static inline u64 *ent_table(u64 e)
{
	return page_address(pfn_to_page(ent_frame(e)));
}

static inline u64 ent_mk_leaf(u64 frame, bool write, bool dirty)
{
	return ENT_PRESENT | ENT_LEAF | FIELD_PREP(ENT_FRAME, frame) |
	       (write ? ENT_WRITE : 0) | (dirty ? ENT_DIRTY : 0);
}

static inline u64 ent_mk_table(u64 *table)
{
	return ENT_PRESENT | FIELD_PREP(ENT_FRAME, page_to_pfn(virt_to_page(table)));
}

static void ent_to_leaf(u64 e, unsigned int level, u64 va,
			struct odp_pt_leaf *leaf)
{
	leaf->va = va;
	leaf->pfn = ent_frame(e);
	leaf->shift = lvl_shift(level);
	leaf->writable = e & ENT_WRITE;
	leaf->dirty = e & ENT_DIRTY;
	leaf->gone = false;
}

/* Occupied entries of a table page, kept in its struct page */
static inline unsigned long tbl_count(u64 *table)
{
	return page_private(virt_to_page(table));
}

/* The only place that writes an entry: keeps the present count right. */
static void tbl_write(u64 *table, unsigned int i, u64 e)
{
	struct page *page = virt_to_page(table);
	u64 old = table[i];

	if (!ent_occupied(old) != !ent_occupied(e))
		set_page_private(page, page_private(page) + (ent_occupied(e) ? 1 : -1));
	WRITE_ONCE(table[i], e);
}

/* --- one operation --- */

enum pt_kind { PT_MAP, PT_CLEAR, PT_WRPROTECT, PT_SWEEP };

struct pt_op {
	struct odp_pgtable *pt;
	struct odp_pt_result *res;
	enum pt_kind kind;
	unsigned int flags;
	bool dry;		/* only count the pages needed */
	bool fallback;		/* clear whole leaves instead of splitting */
	bool zap;		/* ODP_PT_ZAP: leave releases to a sweep */
	unsigned int tag;	/* ... which finds the zapped leaves by this tag */
	bool keep;		/* ODP_PT_MAP_KEEP: never restructure leaves */
	int err;		/* a map stopped installing: why */
	unsigned int need;
	unsigned int nr_pages;
	struct list_head pages;	/* pages for new tables */
	struct odp_pt_reserve *direct;	/* or take them from this reserve */
	/* merged leaves must lie inside [merge_lo, merge_hi] */
	u64 merge_lo;
	u64 merge_hi;
	/* PT_MAP: a run from frame0, or one entry of frames[] per page */
	u64 va0;
	u64 frame0;
	bool write;
	const unsigned long *frames;
	struct odp_pt_frame_format fmt;
	unsigned int write_max_shift;	/* 0: writable leaves of any size */
	u64 *fresh;		/* the table this operation made, still empty */
};

static const struct odp_pt_frame_format pt_default_format = {
	.frame_mask = ~ODP_PT_FRAME_WRITE,
	.write_mask = ODP_PT_FRAME_WRITE,
};

static inline unsigned long op_entry(const struct pt_op *op, u64 va)
{
	return op->frames[(va - op->va0) >> PT_SHIFT];
}

static inline u64 op_frame(const struct pt_op *op, u64 va)
{
	if (op->frames)
		return op_entry(op, va) & op->fmt.frame_mask;
	return op->frame0 + ((va - op->va0) >> PT_SHIFT);
}

/*
 * Are the @n entries of the array from @va present, their frames
 * contiguous and of one permission? Frames are the low bits, so entry k
 * minus k must equal the first in every bit that matters.
 */
static bool op_frames_contiguous(const struct pt_op *op, u64 va, u64 n)
{
	const unsigned long *f = &op->frames[(va - op->va0) >> PT_SHIFT];
	unsigned long cmp = op->fmt.frame_mask | op->fmt.write_mask |
			    op->fmt.present_mask;
	u64 k;

	if ((f[0] & op->fmt.present_mask) != op->fmt.present_value)
		return false;
	for (k = n - 1; k > 0; k--)
		if (((f[k] - k) ^ f[0]) & cmp)
			return false;
	return true;
}

static u64 *op_take_table(struct pt_op *op)
{
	struct page *page;

	if (op->direct) {
		/* the reserve was seen to hold enough for the worst case */
		page = list_first_entry(&op->direct->pages, struct page, lru);
		op->direct->nr--;
	} else {
		page = list_first_entry(&op->pages, struct page, lru);
		op->nr_pages--;
	}
	list_del(&page->lru);
	set_page_private(page, 0);
	op->pt->stats.tables++;
	op->pt->stats.tables_allocated++;
	return page_address(page);
}

/* The table page is no longer linked; it is freed with the result. */
static void op_unlink_table(struct pt_op *op, u64 *table)
{
	list_add_tail(&virt_to_page(table)->lru, &op->res->freed);
	op->pt->stats.tables--;
}

/* Report a leaf that left the table (@gone) or whose dirty bit is taken. */
static void op_release(struct pt_op *op, u64 e, unsigned int level, u64 va,
		       bool gone)
{
	struct odp_pt_leaf leaf;

	if (!op->res->release)
		return;
	ent_to_leaf(e, level, va, &leaf);
	leaf.gone = gone;
	op->res->release(op->res->priv, &leaf);
}

/*
 * Clear an occupied leaf and report it; with op->zap, a present leaf is
 * only zapped, and reported by the sweep.
 */
static void op_clear_leaf(struct pt_op *op, u64 *table, unsigned int i,
			  unsigned int level, u64 va)
{
	u64 e = table[i];

	if (ent_present(e)) {
		op->pt->stats.leaves[level]--;
		op->res->cleared[level]++;
	}
	if (op->zap && ent_present(e)) {
		tbl_write(table, i, (e & ~ENT_PRESENT) | ENT_ZAPPED |
			  FIELD_PREP(ENT_TAG, op->tag));
		return;
	}
	op_release(op, e, level, va, true);
	tbl_write(table, i, 0);
}

/* Unlink and release a whole subtree below a table entry. */
static void op_drop_subtree(struct pt_op *op, u64 *table, unsigned int level,
			    u64 va)
{
	unsigned int i;

	for (i = 0; i < PT_ENTRIES && tbl_count(table); i++) {
		u64 e = table[i];
		u64 sub = va + i * lvl_size(level);

		if (ent_is_table(e, level)) {
			op_drop_subtree(op, ent_table(e), level - 1, sub);
			tbl_write(table, i, 0);
		} else if (ent_occupied(e)) {
			op_clear_leaf(op, table, i, level, sub);
		}
	}
	op_unlink_table(op, table);
}

/* Clear entry @i of @table, a leaf or a table, and report what it held. */
static void op_clear_entry(struct pt_op *op, u64 *table, unsigned int i,
			   unsigned int level, u64 va)
{
	u64 e = table[i];

	if (ent_is_table(e, level)) {
		op_drop_subtree(op, ent_table(e), level - 1, va);
		tbl_write(table, i, 0);
	} else if (ent_occupied(e)) {
		op_clear_leaf(op, table, i, level, va);
	}
}

/*
 * Give entry @i of @table (level @level > 0), which the operation works
 * on over [va, end), a child table: when the entry is a huge leaf, one
 * whose 512 leaves keep the leaf's targets and permissions (a split);
 * else an empty one. Table pages come uncleared: a split writes every
 * entry, and a new level-0 table is cleared only outside [va, end), which
 * op_set_ptes() writes whole.
 */
static u64 *op_make_child(struct pt_op *op, u64 *table, unsigned int i,
			  unsigned int level, u64 va, u64 end)
{
	u64 e = table[i];
	u64 *child = op_take_table(op);
	unsigned int k;

	/* a zapped leaf no caller swept (a map over it): report it now */
	if (ent_occupied(e) && !ent_present(e)) {
		op_clear_leaf(op, table, i, level, ALIGN_DOWN(va, lvl_size(level)));
		e = 0;
	}
	if (ent_is_leaf(e, level)) {
		u64 step = lvl_frames(level - 1);

		if (op->res->split) {
			struct odp_pt_leaf leaf;

			ent_to_leaf(e, level, ALIGN_DOWN(va, lvl_size(level)), &leaf);
			op->res->split(op->res->priv, &leaf);
		}
		for (k = 0; k < PT_ENTRIES; k++)
			WRITE_ONCE(child[k], ent_mk_leaf(ent_frame(e) + k * step,
							 e & ENT_WRITE, e & ENT_DIRTY));
		set_page_private(virt_to_page(child), PT_ENTRIES);
		op->pt->stats.leaves[level]--;
		op->pt->stats.leaves[level - 1] += PT_ENTRIES;
		op->pt->stats.splits++;
		op->res->splits++;
	} else if (level == 1) {
		unsigned int first = lvl_index(va, 0), last = lvl_index(end - 1, 0);

		memset(child, 0, first * sizeof(*child));
		memset(child + last + 1, 0, (PT_ENTRIES - 1 - last) * sizeof(*child));
		op->fresh = child;
	} else {
		clear_page(child);
	}
	tbl_write(table, i, ent_mk_table(child));
	return child;
}

/* May a leaf of @level with write permission @write be built by @op? */
static bool op_write_size_ok(const struct pt_op *op, unsigned int level,
			     bool write)
{
	return !write || !op->write_max_shift ||
	       lvl_shift(level) <= op->write_max_shift;
}

/*
 * Collapse the child table of entry @i, which maps from @va, into one leaf
 * of @level if its 512 entries are present leaves, physically contiguous
 * from an aligned frame, with one permission, and the leaf stays in the
 * operation's merge window (and, writable, within its size limit). The
 * merged leaf is dirty if any part was.
 */
static void op_try_merge(struct pt_op *op, u64 *table, unsigned int i,
			 unsigned int level, u64 va)
{
	u64 e = table[i], first, dirty = 0;
	u64 step = lvl_frames(level - 1);
	unsigned int sub = level - 1, k;
	u64 *child;

	if (op->keep || !ent_is_table(e, level) || !lvl_supported(op->pt, level) ||
	    va < op->merge_lo || va + lvl_size(level) - 1 > op->merge_hi)
		return;
	child = ent_table(e);
	if (tbl_count(child) != PT_ENTRIES)
		return;
	first = child[0];
	if (!ent_is_leaf(first, sub) || !IS_ALIGNED(ent_frame(first), lvl_frames(level)) ||
	    !op_write_size_ok(op, level, first & ENT_WRITE))
		return;
	for (k = 0; k < PT_ENTRIES; k++) {
		u64 c = child[k];

		if (!ent_is_leaf(c, sub) || ent_frame(c) != ent_frame(first) + k * step ||
		    (c & ENT_WRITE) != (first & ENT_WRITE))
			return;
		dirty |= c & ENT_DIRTY;
	}
	tbl_write(table, i, ent_mk_leaf(ent_frame(first), first & ENT_WRITE, dirty));
	op_unlink_table(op, child);
	op->pt->stats.leaves[sub] -= PT_ENTRIES;
	op->pt->stats.leaves[level]++;
	op->pt->stats.merges++;
	op->res->merges++;
	op->res->merged[level]++;
}

/* --- map --- */

/**
 * odp_pt_best_shift() - the largest leaf for the start of a run
 * @pgsize_bitmap: leaf sizes the device supports
 * @va: device address of the run
 * @pfn: target frame of @va; the run is physically contiguous from there
 * @len: bytes left in the run
 *
 * Pure function: a leaf of size S may start the run when S is supported,
 * @va and the physical address are both S-aligned, and @len >= S.
 *
 * Return: log2 of that size (12, 21 or 30), or 0 when not even 4K fits.
 */
unsigned int odp_pt_best_shift(unsigned long pgsize_bitmap, u64 va, u64 pfn,
			       u64 len)
{
	u64 sizes = pgsize_bitmap & ODP_PT_PGSIZES_ALL;
	u64 addr = va | (pfn << PT_SHIFT);

	if (addr)
		sizes &= GENMASK_ULL(__ffs64(addr), 0);
	if (!len)
		return 0;
	sizes &= GENMASK_ULL(fls64(len) - 1, 0);
	return sizes ? fls64(sizes) - 1 : 0;
}
EXPORT_SYMBOL_GPL(odp_pt_best_shift);

/* Does the map want write permission at @va? */
static inline bool op_write_at(const struct pt_op *op, u64 va)
{
	return op->frames ? op_entry(op, va) & op->fmt.write_mask : op->write;
}

static bool op_leaf_fits(const struct pt_op *op, unsigned int level, u64 va,
			 u64 next)
{
	if (!lvl_supported(op->pt, level) || next - va != lvl_size(level))
		return false;
	if (odp_pt_best_shift(op->pt->pgsize_bitmap, va, op_frame(op, va),
			      next - va) < lvl_shift(level))
		return false;
	if (op->frames && !op_frames_contiguous(op, va, lvl_frames(level)))
		return false;
	return op_write_size_ok(op, level, op_write_at(op, va));
}

/*
 * Does the present leaf @e of @level already map what the operation maps
 * in [va, next): the same frames, with at least the permission asked?
 * Then the map keeps it as it is, dirty bit included.
 */
static bool op_leaf_covers(const struct pt_op *op, u64 e, unsigned int level,
			   u64 va, u64 next)
{
	u64 first = ent_frame(e) + ((va - ALIGN_DOWN(va, lvl_size(level))) >> PT_SHIFT);
	u64 k, n = (next - va) >> PT_SHIFT;

	if (!op->frames)
		return op_frame(op, va) == first && (!op->write || (e & ENT_WRITE));
	for (k = 0; k < n; k++) {
		unsigned long q = op_entry(op, va + (k << PT_SHIFT));

		if ((q & op->fmt.present_mask) != op->fmt.present_value)
			continue;
		if ((q & op->fmt.frame_mask) != first + k ||
		    ((q & op->fmt.write_mask) && !(e & ENT_WRITE)))
			return false;
	}
	return true;
}

/* Let the caller see, and take over, a leaf about to be installed. */
static int op_install_hook(struct pt_op *op, u64 *frame, unsigned int level,
			   u64 va, bool write)
{
	struct odp_pt_leaf leaf = {
		.va = va, .pfn = *frame, .shift = lvl_shift(level), .writable = write,
	};
	int ret;

	ret = op->res->install(op->res->priv, &leaf);
	if (ret)
		return ret;
	*frame = leaf.pfn;
	return 0;
}

static void op_set_leaf(struct pt_op *op, u64 *table, unsigned int i,
			unsigned int level, u64 va)
{
	u64 e = table[i], frame = op_frame(op, va);
	bool write = op_write_at(op, va);

	/*
	 * The same leaf is there: keep it, with more permission if asked;
	 * under op->keep a leaf is never changed, so a map that needs more
	 * permission than it has stops.
	 */
	if (ent_is_leaf(e, level) && (op->keep || ent_frame(e) == frame)) {
		if (write && !(e & ENT_WRITE)) {
			if (op->keep) {
				op->err = -EEXIST;
				return;
			}
			tbl_write(table, i, e | ENT_WRITE);
			op->res->upgraded[level]++;
		}
		return;
	}
	if (op->keep && ent_occupied(e)) {
		op->err = -EEXIST;
		return;
	}
	op_clear_entry(op, table, i, level, va);
	if (op->res->install) {
		op->err = op_install_hook(op, &frame, level, va, write);
		if (op->err)
			return;
	}
	tbl_write(table, i, ent_mk_leaf(frame, write, false));
	op->pt->stats.leaves[level]++;
	op->res->installed[level]++;
}

/*
 * Level 0 of a map, the hot loop: one 4K leaf per entry of [va, end) in
 * @table, the present count and the statistics updated once. A table the
 * operation has just made holds nothing to replace, and garbage in
 * [va, end): absent entries are written too. An entry that already maps
 * the same frame is kept, its permission raised if asked.
 */
static void op_set_ptes(struct pt_op *op, u64 *table, u64 va, u64 end)
{
	u64 *ep = &table[lvl_index(va, 0)];
	u64 n = (end - va) >> PT_SHIFT, k, added = 0, mapped = 0;
	struct page *page = virt_to_page(table);
	bool fresh = table == op->fresh;

	for (k = 0; k < n; k++) {
		u64 e, old, frame;
		bool write;

		if (op->frames) {
			const struct odp_pt_frame_format *fmt = &op->fmt;
			unsigned long q = op->frames[((va - op->va0) >> PT_SHIFT) + k];

			if ((q & fmt->present_mask) != fmt->present_value || op->err) {
				if (fresh)
					WRITE_ONCE(ep[k], 0);
				continue;
			}
			frame = q & fmt->frame_mask;
			write = q & fmt->write_mask;
		} else {
			if (op->err) {
				if (fresh)
					WRITE_ONCE(ep[k], 0);
				continue;
			}
			frame = op_frame(op, va + (k << PT_SHIFT));
			write = op->write;
		}
		old = fresh ? 0 : ep[k];
		if (unlikely(ent_occupied(old))) {
			if (ent_present(old) && (op->keep || ent_frame(old) == frame)) {
				if (write && !(old & ENT_WRITE)) {
					if (op->keep) {
						op->err = -EEXIST;
						continue;
					}
					WRITE_ONCE(ep[k], old | ENT_WRITE);
					op->res->upgraded[0]++;
				}
				continue;
			}
			if (op->keep) {
				op->err = -EEXIST;
				continue;
			}
			if (ent_present(old)) {
				op->pt->stats.leaves[0]--;
				op->res->cleared[0]++;
			}
			op_release(op, old, 0, va + (k << PT_SHIFT), true);
			WRITE_ONCE(ep[k], 0);
			set_page_private(page, page_private(page) - 1);
		}
		if (op->res->install) {
			op->err = op_install_hook(op, &frame, 0, va + (k << PT_SHIFT), write);
			if (op->err) {
				WRITE_ONCE(ep[k], 0);
				continue;
			}
		}
		e = ENT_PRESENT | ENT_LEAF | FIELD_PREP(ENT_FRAME, frame) |
		    (write ? ENT_WRITE : 0);
		mapped++;
		added++;
		WRITE_ONCE(ep[k], e);
	}
	set_page_private(page, page_private(page) + added);
	op->pt->stats.leaves[0] += added;
	op->res->installed[0] += mapped;
}

/*
 * Entry @i of the table a dry pass has not made: empty for a new table
 * (@ghost 0), else entry @i of the table that splitting the huge leaf
 * @ghost of the level above will make, so that the dry pass counts what
 * the real one will find there.
 */
static inline u64 pt_ghost_entry(u64 ghost, unsigned int level, unsigned int i)
{
	if (!ghost)
		return 0;
	return ent_mk_leaf(ent_frame(ghost) + i * lvl_frames(level),
			   ghost & ENT_WRITE, ghost & ENT_DIRTY);
}

/*
 * Map [va, end) below @table of @level. Each entry gets the largest leaf
 * that fits, or a child table. In the dry pass @table may be NULL: a table
 * that does not exist yet, whose entries @ghost gives (pt_ghost_entry()).
 * A present huge leaf that already maps the range is kept; with op->keep
 * no leaf or table is ever replaced, and one that would have to be makes
 * the map stop with -EEXIST.
 */
static void pt_map_sub(struct pt_op *op, u64 *table, u64 ghost,
		       unsigned int level, u64 va, u64 end)
{
	u64 size = lvl_size(level);
	unsigned int i = lvl_index(va, level);

	/* at level 0 every entry is a 4K leaf: 4K is always supported */
	if (!level) {
		op_set_ptes(op, table, va, end);
		return;
	}
	for (; va < end && !op->err; i++) {
		u64 next = min(end, ALIGN_DOWN(va, size) + size);
		u64 e = table ? table[i] : pt_ghost_entry(ghost, level, i);
		u64 *child = NULL;

		if (ent_is_leaf(e, level) && op_leaf_covers(op, e, level, va, next)) {
			va = next;
			continue;
		}
		/*
		 * A table stays: under op->keep always, else when the new
		 * leaf is read-only, since writable leaves in the table keep
		 * their access (a merge makes the leaf if they all agree).
		 */
		if (op_leaf_fits(op, level, va, next) &&
		    !(ent_is_table(e, level) && (op->keep || !op_write_at(op, va)))) {
			if (!op->dry)
				op_set_leaf(op, table, i, level, va);
			va = next;
			continue;
		}
		if (!ent_is_table(e, level) && op->keep && ent_occupied(e)) {
			/* a huge leaf that would need a split */
			op->err = -EEXIST;
			break;
		}
		if (ent_is_table(e, level)) {
			child = ent_table(e);
		} else {
			op->need++;
			if (!op->dry)
				child = op_make_child(op, table, i, level, va, next);
		}
		/*
		 * A dry pass needs no pages below level 1; below a leaf it
		 * would split, it sees the leaf's pieces.
		 */
		if (!op->dry || level > 1)
			pt_map_sub(op, child, op->dry && ent_is_leaf(e, level) ? e : 0,
				   level - 1, va, next);
		if (op->dry) {
			va = next;
			continue;
		}
		/* a frame array may have had nothing present there */
		if (!tbl_count(child) && level - 1 < op->pt->keep_level) {
			tbl_write(table, i, 0);
			op_unlink_table(op, child);
		} else {
			op_try_merge(op, table, i, level, ALIGN_DOWN(va, size));
		}
		va = next;
	}
}

static void pt_map_level(struct pt_op *op, u64 *table, unsigned int level,
			 u64 va, u64 end)
{
	pt_map_sub(op, table, 0, level, va, end);
}

/* --- unmap, protect and sweep --- */

static void op_modify_leaf(struct pt_op *op, u64 *table, unsigned int i,
			   unsigned int level, u64 va)
{
	u64 e = table[i];

	if (op->kind == PT_CLEAR) {
		op_clear_leaf(op, table, i, level, va);
		return;
	}
	/* with op->zap the sweep reports the dirty bit, after the flush */
	if ((e & ENT_DIRTY) && !op->zap) {
		op_release(op, e, level, va, false);
		e &= ~ENT_DIRTY;
	}
	tbl_write(table, i, e & ~ENT_WRITE);
	op->res->protected[level]++;
}

/*
 * Clear or write-protect [va, end) below @table of @level. A huge leaf
 * only partly in the range is split first, or with op->fallback cleared
 * whole. A write-protect leaves read-only leaves alone: there is nothing
 * to take away. In the dry pass @table may be NULL: the table a split
 * would create, all of whose entries are writable leaves.
 */
static void pt_modify_level(struct pt_op *op, u64 *table, unsigned int level,
			    u64 va, u64 end)
{
	u64 size = lvl_size(level);
	unsigned int i = lvl_index(va, level);

	for (; va < end; i++, va = min(end, ALIGN_DOWN(va, size) + size)) {
		u64 base = ALIGN_DOWN(va, size);
		u64 next = min(end, base + size);
		u64 e = table ? table[i] : ENT_PRESENT | ENT_LEAF | ENT_WRITE;
		u64 *child = NULL;

		if (!ent_present(e))
			continue;
		if (ent_is_leaf(e, level)) {
			if (op->kind == PT_WRPROTECT && !(e & ENT_WRITE))
				continue;
			if (va == base && next == base + size) {
				if (!op->dry)
					op_modify_leaf(op, table, i, level, base);
				continue;
			}
			if (op->fallback) {
				if (!op->dry)
					op_clear_leaf(op, table, i, level, base);
				continue;
			}
			op->need++;
			if (!op->dry)
				child = op_make_child(op, table, i, level, va, next);
			else if (level == 1)
				continue;
		} else {
			child = ent_table(e);
		}
		pt_modify_level(op, child, level - 1, va, next);
		if (op->dry)
			continue;
		if (!tbl_count(child) && level - 1 < op->pt->keep_level) {
			tbl_write(table, i, 0);
			op_unlink_table(op, child);
		} else if (op->flags & ODP_PT_MERGE) {
			op_try_merge(op, table, i, level, base);
		}
	}
}

/*
 * Report and clear the zapped leaves wholly inside [va, end), and report
 * the dirty bits of read-only leaves, which only a zapping write-protect
 * leaves behind; unlink the tables that end up empty.
 */
static void pt_sweep_level(struct pt_op *op, u64 *table, unsigned int level,
			   u64 va, u64 end)
{
	u64 size = lvl_size(level);
	unsigned int i = lvl_index(va, level);

	for (; va < end; i++, va = min(end, ALIGN_DOWN(va, size) + size)) {
		u64 base = ALIGN_DOWN(va, size);
		u64 e = table[i];

		if (ent_is_table(e, level)) {
			u64 *child = ent_table(e);

			pt_sweep_level(op, child, level - 1, va, min(end, base + size));
			if (!tbl_count(child) && level - 1 < op->pt->keep_level) {
				tbl_write(table, i, 0);
				op_unlink_table(op, child);
			}
		} else if (e & ENT_ZAPPED) {
			/* another operation's zap, not flushed by this caller */
			if (base < va || base + size > end ||
			    (op->tag && FIELD_GET(ENT_TAG, e) != op->tag))
				continue;
			op_release(op, e, level, base, true);
			tbl_write(table, i, 0);
			op->res->swept[level]++;
		} else if (ent_is_leaf(e, level) && (e & ENT_DIRTY) && !(e & ENT_WRITE)) {
			op_release(op, e, level, base, false);
			tbl_write(table, i, e & ~ENT_DIRTY);
		}
	}
}

/* --- running an operation --- */

typedef void (*pt_walk_fn)(struct pt_op *op, u64 *table, unsigned int level,
			   u64 va, u64 end);

/* Most table pages a map of [va, end) can need: one per entry it spans */
static unsigned int pt_map_bound(const struct odp_pgtable *pt, u64 va, u64 end)
{
	unsigned int level, n = 0;

	for (level = 1; level < pt->levels; level++)
		n += ((end - 1) >> lvl_shift(level)) - (va >> lvl_shift(level)) + 1;
	return n;
}

/* Take op->need pages from the reserve, then from the allocator. */
static int op_get_pages(struct pt_op *op, const struct odp_pt_alloc *alloc)
{
	struct odp_pt_reserve *r = alloc ? alloc->reserve : NULL;
	gfp_t gfp = alloc ? alloc->gfp : 0;

	while (op->nr_pages < op->need) {
		struct page *page;

		if (r && r->nr) {
			page = list_first_entry(&r->pages, struct page, lru);
			list_del(&page->lru);
			r->nr--;
		} else if (gfp) {
			page = alloc_page(gfp);
			if (!page)
				return -ENOMEM;
			atomic_long_inc(&pt_live_pages);
		} else {
			return -ENOMEM;
		}
		list_add(&page->lru, &op->pages);
		op->nr_pages++;
	}
	return 0;
}

/* Return pages the operation did not use to the reserve, or free them. */
static void op_put_pages(struct pt_op *op, const struct odp_pt_alloc *alloc)
{
	struct odp_pt_reserve *r = alloc ? alloc->reserve : NULL;
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &op->pages, lru) {
		list_del(&page->lru);
		if (r) {
			list_add(&page->lru, &r->pages);
			r->nr++;
		} else {
			__free_page(page);
			atomic_long_dec(&pt_live_pages);
		}
	}
	op->nr_pages = 0;
}

static int pt_run(struct pt_op *op, pt_walk_fn walk, u64 va, u64 end,
		  const struct odp_pt_alloc *alloc, struct odp_pt_result *res)
{
	struct odp_pgtable *pt = op->pt;
	struct odp_pt_result local;
	int ret;

	lockdep_assert_held(pt->lock);
	if (!res) {
		odp_pt_result_init(&local, NULL, NULL);
		res = &local;
	}
	op->res = res;
	INIT_LIST_HEAD(&op->pages);

	if (op->kind == PT_SWEEP) {
		walk(op, pt->root, pt->levels - 1, va, end);
		goto done;
	}
	/*
	 * A map never needs more than one table per entry it spans above
	 * level 0; when the reserve holds that many, count nothing and take
	 * pages from it as tables are made.
	 */
	if (op->kind == PT_MAP && alloc && alloc->reserve &&
	    alloc->reserve->nr >= pt_map_bound(pt, va, end)) {
		unsigned int before = alloc->reserve->nr;

		op->direct = alloc->reserve;
		walk(op, pt->root, pt->levels - 1, va, end);
		res->need = before - alloc->reserve->nr;
		goto done;
	}
	op->dry = true;
	walk(op, pt->root, pt->levels - 1, va, end);
	res->need = op->need;
	/* a conflict the dry pass saw: nothing changed */
	if (op->err)
		return op->err;
	ret = op_get_pages(op, alloc);
	if (ret) {
		op_put_pages(op, alloc);
		if (!(op->flags & ODP_PT_FALLBACK))
			return ret;
		op->fallback = true;
		res->fallback = true;
		pt->stats.fallbacks++;
	}
	op->dry = false;
	walk(op, pt->root, pt->levels - 1, va, end);
	/* what the dry pass counted is used exactly, unless a map stopped */
	WARN_ON_ONCE(op->nr_pages && !op->err);
	op_put_pages(op, alloc);
done:
	if (res == &local)
		odp_pgtable_free_tables(pt, res);
	return op->err;
}

static int pt_check_range(const struct odp_pgtable *pt, u64 va, u64 len)
{
	if (!len || !IS_ALIGNED(va | len, SZ_4K) || va + len < va ||
	    va + len > odp_pgtable_va_limit(pt))
		return -EINVAL;
	return 0;
}

/**
 * odp_pgtable_map() - map a physically contiguous run
 * @pt: the table
 * @map: the run: where, what, with which permission, and where merges
 *	may build leaves
 * @alloc: where table pages come from
 * @res: what was done; may be NULL
 *
 * Installs the largest leaves that the alignment of the device address
 * and of the physical address, the length left and the supported sizes
 * allow, so sizes mix along the range; with a frame array, also only
 * where its frames are contiguous and of one permission; writable leaves
 * no larger than @map->write_max_shift allows. A leaf that already maps
 * the same frames is kept, dirty bit and all, and only gains write
 * permission if the map asks for it: a read-only map never takes write
 * access away. Other leaves in the range are replaced, and reported
 * through @res->release. Tables that end up full and contiguous are merged
 * into one leaf of the level above, when that leaf lies in the merge
 * window. With %ODP_PT_MAP_KEEP present leaves and tables are never
 * replaced, split, merged or given more permission: the map only fills
 * holes, and stops with -EEXIST where it would have to do more.
 *
 * With @res->install set, every new leaf is shown to it before it is
 * written; it may change the frame the leaf holds (to a DMA address, say)
 * or refuse the leaf with an error, which stops the map there.
 *
 * Context: the table lock is held.
 * Return: 0; -EINVAL for a bad range, pfn, prot, flag or window; -ENOMEM
 * when @alloc cannot supply the table pages needed, with nothing changed;
 * -EEXIST (%ODP_PT_MAP_KEEP) or @res->install's error when the map
 * stopped, with the leaves before that point installed.
 */
int odp_pgtable_map(struct odp_pgtable *pt, const struct odp_pt_map *map,
		    const struct odp_pt_alloc *alloc, struct odp_pt_result *res)
{
	struct pt_op op = {
		.pt = pt, .kind = PT_MAP, .va0 = map->va, .frame0 = map->pfn,
		.write = map->prot & ODP_PT_WRITE, .frames = map->frames,
		.fmt = map->format ? *map->format : pt_default_format,
		.merge_lo = map->merge_start,
		.merge_hi = map->merge_end ? map->merge_end - 1 : U64_MAX,
		.write_max_shift = map->write_max_shift,
		.keep = map->flags & ODP_PT_MAP_KEEP,
	};

	if (pt_check_range(pt, map->va, map->len) || (map->prot & ~ODP_PT_WRITE) ||
	    (map->merge_end && map->merge_end <= map->merge_start) ||
	    (map->flags & ~ODP_PT_MAP_KEEP) ||
	    (map->write_max_shift && map->write_max_shift < PT_SHIFT))
		return -EINVAL;
	/* array frames are the low bits of their entries */
	if (map->frames && (op.fmt.frame_mask & (op.fmt.frame_mask + 1)))
		return -EINVAL;
	if (!map->frames &&
	    (map->pfn >= BIT_ULL(PT_FRAME_BITS) ||
	     (map->len >> PT_SHIFT) > BIT_ULL(PT_FRAME_BITS) - map->pfn))
		return -EINVAL;
	return pt_run(&op, pt_map_level, map->va, map->va + map->len, alloc, res);
}
EXPORT_SYMBOL_GPL(odp_pgtable_map);

static int pt_modify(struct odp_pgtable *pt, enum pt_kind kind, u64 va,
		     u64 len, unsigned int flags,
		     const struct odp_pt_alloc *alloc, struct odp_pt_result *res)
{
	struct pt_op op = {
		.pt = pt, .kind = kind, .flags = flags, .merge_hi = U64_MAX,
		.zap = flags & ODP_PT_ZAP, .tag = res ? res->tag : 0,
	};

	if (pt_check_range(pt, va, len) || op.tag > ODP_PT_ZAP_TAG_MAX ||
	    (flags & ~(ODP_PT_MERGE | ODP_PT_FALLBACK | ODP_PT_ZAP)))
		return -EINVAL;
	return pt_run(&op, pt_modify_level, va, va + len, alloc, res);
}

/**
 * odp_pgtable_unmap() - clear a range
 * @pt: the table
 * @va: device address, 4K-aligned
 * @len: length in bytes, a non-zero multiple of 4K
 * @flags: %ODP_PT_MERGE, %ODP_PT_FALLBACK, %ODP_PT_ZAP
 * @alloc: where table pages for splits come from
 * @res: what was done; may be NULL
 *
 * A huge leaf only partly in the range is split into a table of the next
 * level, recursively, so that only the covered part is cleared and the
 * rest keeps its targets and permissions; @res->split sees each leaf
 * before it is split. Tables left empty are freed up to the root. Every
 * cleared leaf or part is reported through @res->release. Without the
 * table pages a split needs, -ENOMEM, unless %ODP_PT_FALLBACK asks to
 * clear every partly covered leaf whole instead (counted in
 * &odp_pt_stats.fallbacks). With %ODP_PT_ZAP the cleared leaves are only
 * zapped, with @res->tag: no longer present, but reported (and their
 * tables freed) by odp_pgtable_sweep(), once the device has stopped using
 * them.
 *
 * Context: the table lock is held.
 * Return: 0, -EINVAL for a bad range, flag or tag, or -ENOMEM with nothing
 * changed.
 */
int odp_pgtable_unmap(struct odp_pgtable *pt, u64 va, u64 len,
		      unsigned int flags, const struct odp_pt_alloc *alloc,
		      struct odp_pt_result *res)
{
	return pt_modify(pt, PT_CLEAR, va, len, flags, alloc, res);
}
EXPORT_SYMBOL_GPL(odp_pgtable_unmap);

/**
 * odp_pgtable_protect() - write-protect a range
 * @pt: the table
 * @va: device address, 4K-aligned
 * @len: length in bytes, a non-zero multiple of 4K
 * @flags: %ODP_PT_MERGE, %ODP_PT_FALLBACK, %ODP_PT_ZAP
 * @alloc: where table pages for splits come from
 * @res: what was done; may be NULL
 *
 * As odp_pgtable_unmap(), but the covered writable leaves stay present,
 * read-only and clean; dirty ones are reported through @res->release
 * first, or with %ODP_PT_ZAP by odp_pgtable_sweep(). Read-only leaves are
 * left alone, even those only partly covered. With %ODP_PT_FALLBACK and no
 * pages, partly covered leaves are cleared whole.
 *
 * Context: the table lock is held.
 * Return: 0, -EINVAL for a bad range, flag or tag, or -ENOMEM with nothing
 * changed.
 */
int odp_pgtable_protect(struct odp_pgtable *pt, u64 va, u64 len,
			unsigned int flags, const struct odp_pt_alloc *alloc,
			struct odp_pt_result *res)
{
	return pt_modify(pt, PT_WRPROTECT, va, len, flags, alloc, res);
}
EXPORT_SYMBOL_GPL(odp_pgtable_protect);

/**
 * odp_pgtable_sweep() - finish what a zapping unmap or protect began
 * @pt: the table
 * @va: device address, 4K-aligned
 * @len: length in bytes, a non-zero multiple of 4K
 * @res: what was done; may be NULL
 *
 * Reports through @res->release, with &odp_pt_leaf.gone set, and clears
 * every zapped leaf that lies wholly inside the range and carries
 * @res->tag (any tag when it is 0 or @res is NULL): a zapped leaf reaching
 * past the range or tagged otherwise belongs to another operation, which
 * sweeps it. Also reports the dirty bits that a zapping write-protect left
 * on read-only leaves. Tables left empty are unlinked into @res->freed.
 * Call it once the device no longer uses the zapped entries: after its
 * TLB flush.
 *
 * Context: the table lock is held.
 * Return: 0 or -EINVAL for a bad range or tag.
 */
int odp_pgtable_sweep(struct odp_pgtable *pt, u64 va, u64 len,
		      struct odp_pt_result *res)
{
	struct pt_op op = { .pt = pt, .kind = PT_SWEEP, .tag = res ? res->tag : 0 };

	if (pt_check_range(pt, va, len) || op.tag > ODP_PT_ZAP_TAG_MAX)
		return -EINVAL;
	return pt_run(&op, pt_sweep_level, va, va + len, NULL, res);
}
EXPORT_SYMBOL_GPL(odp_pgtable_sweep);

/**
 * odp_pgtable_free_tables() - free the table pages an operation unlinked
 * @pt: the table
 * @res: the result of the operation
 *
 * Call it once the device can no longer walk the old tables, after its
 * TLB flush. Needs no lock.
 */
void odp_pgtable_free_tables(struct odp_pgtable *pt, struct odp_pt_result *res)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &res->freed, lru) {
		list_del(&page->lru);
		set_page_private(page, 0);
		__free_page(page);
		atomic_long_dec(&pt_live_pages);
		atomic_long_inc(&pt->stats.tables_freed);
	}
}
EXPORT_SYMBOL_GPL(odp_pgtable_free_tables);

/* --- lookup, dirty, iteration --- */

/* The entry holding the leaf that maps @va, or NULL; its level in @level. */
static u64 *pt_find_leaf(struct odp_pgtable *pt, u64 va, unsigned int *level)
{
	u64 *table = pt->root;
	unsigned int l;

	if (va >= odp_pgtable_va_limit(pt))
		return NULL;
	for (l = pt->levels - 1;; l--) {
		u64 *ep = &table[lvl_index(va, l)];

		if (!ent_present(*ep))
			return NULL;
		if (ent_is_leaf(*ep, l)) {
			*level = l;
			return ep;
		}
		table = ent_table(*ep);
	}
}

/**
 * odp_pgtable_lookup() - translate one address
 * @pt: the table
 * @va: device address
 * @leaf: filled with the whole leaf that maps @va
 *
 * Context: the table lock is held.
 * Return: true if @va is mapped.
 */
bool odp_pgtable_lookup(struct odp_pgtable *pt, u64 va, struct odp_pt_leaf *leaf)
{
	unsigned int level;
	u64 *ep;

	lockdep_assert_held(pt->lock);
	ep = pt_find_leaf(pt, va, &level);
	if (!ep)
		return false;
	ent_to_leaf(*ep, level, ALIGN_DOWN(va, lvl_size(level)), leaf);
	return true;
}
EXPORT_SYMBOL_GPL(odp_pgtable_lookup);

/**
 * odp_pgtable_set_dirty() - record a device write
 * @pt: the table
 * @va: device address written
 *
 * Marks the leaf that maps @va dirty, as a device's page walker does.
 *
 * Context: the table lock is held.
 * Return: false if @va is not mapped writable.
 */
bool odp_pgtable_set_dirty(struct odp_pgtable *pt, u64 va)
{
	unsigned int level;
	u64 *ep;

	lockdep_assert_held(pt->lock);
	ep = pt_find_leaf(pt, va, &level);
	if (!ep || !(*ep & ENT_WRITE))
		return false;
	WRITE_ONCE(*ep, *ep | ENT_DIRTY);
	return true;
}
EXPORT_SYMBOL_GPL(odp_pgtable_set_dirty);

/**
 * odp_pt_iter_start() - start iterating over the leaves of a range
 * @it: the iterator
 * @pt: the table
 * @va: start of the range
 * @len: length of the range
 *
 * Use odp_pgtable_for_each_leaf() rather than calling this directly.
 *
 * Return: @it.
 */
struct odp_pt_iter *odp_pt_iter_start(struct odp_pt_iter *it,
				      struct odp_pgtable *pt, u64 va, u64 len)
{
	u64 limit = odp_pgtable_va_limit(pt);

	it->pt = pt;
	it->va = min(va, limit);
	it->end = (va + len < va) ? limit : min(va + len, limit);
	return it;
}
EXPORT_SYMBOL_GPL(odp_pt_iter_start);

/**
 * odp_pt_iter_next() - the next present leaf of the range
 * @it: the iterator
 * @leaf: filled with the whole leaf, which may start before the range
 *
 * Empty subtrees are skipped whole.
 *
 * Context: the table lock is held.
 * Return: false at the end of the range.
 */
bool odp_pt_iter_next(struct odp_pt_iter *it, struct odp_pt_leaf *leaf)
{
	struct odp_pgtable *pt = it->pt;

	lockdep_assert_held(pt->lock);
	while (it->va < it->end) {
		u64 *table = pt->root;
		unsigned int l;

		for (l = pt->levels - 1;; l--) {
			u64 e = table[lvl_index(it->va, l)];
			u64 base = ALIGN_DOWN(it->va, lvl_size(l));

			if (!ent_present(e)) {
				it->va = base + lvl_size(l);
				break;
			}
			if (ent_is_leaf(e, l)) {
				ent_to_leaf(e, l, base, leaf);
				it->va = base + lvl_size(l);
				return true;
			}
			table = ent_table(e);
		}
	}
	return false;
}
EXPORT_SYMBOL_GPL(odp_pt_iter_next);

/**
 * odp_pgtable_snapshot() - per-4K state of a range
 * @pt: the table
 * @va: start, 4K-aligned
 * @npages: number of 4K pages
 * @out: @npages records of %ODP_PT_SNAP_PRESENT, %ODP_PT_SNAP_WRITE,
 *	%ODP_PT_SNAP_DIRTY and the leaf size index at %ODP_PT_SNAP_SIZE_SHIFT
 *
 * Context: the table lock is held.
 * Return: 0, or -EINVAL for a bad range.
 */
int odp_pgtable_snapshot(struct odp_pgtable *pt, u64 va, u64 npages, u8 *out)
{
	struct odp_pt_leaf leaf;
	struct odp_pt_iter it;
	u64 end;

	lockdep_assert_held(pt->lock);
	if (!npages || npages > (U64_MAX >> PT_SHIFT) ||
	    pt_check_range(pt, va, npages << PT_SHIFT))
		return -EINVAL;
	end = va + (npages << PT_SHIFT);
	memset(out, 0, npages);
	odp_pgtable_for_each_leaf(pt, &it, va, end - va, &leaf) {
		u64 from = max(leaf.va, va);
		u64 to = min(leaf.va + BIT_ULL(leaf.shift), end);
		u8 rec = ODP_PT_SNAP_PRESENT |
			 (leaf.writable ? ODP_PT_SNAP_WRITE : 0) |
			 (leaf.dirty ? ODP_PT_SNAP_DIRTY : 0) |
			 odp_pt_size_index(leaf.shift) << ODP_PT_SNAP_SIZE_SHIFT;

		memset(out + ((from - va) >> PT_SHIFT), rec, (to - from) >> PT_SHIFT);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(odp_pgtable_snapshot);

/* --- life cycle --- */

/**
 * odp_pgtable_va_limit() - end of the device address space
 * @pt: the table
 *
 * Return: 1 << (12 + 9 * levels): 2^48 for four levels.
 */
u64 odp_pgtable_va_limit(const struct odp_pgtable *pt)
{
	return lvl_size(pt->levels);
}
EXPORT_SYMBOL_GPL(odp_pgtable_va_limit);

/**
 * odp_pgtable_init() - create an empty table
 * @pt: the table to initialise
 * @levels: number of levels, 1 to %ODP_PT_MAX_LEVELS
 * @pgsize_bitmap: leaf sizes the device supports, as an IOMMU driver's
 *	page-size bitmap: SZ_4K and any of SZ_2M and SZ_1G that @levels can
 *	hold below the root's own level limit
 * @lock: the caller's lock, held around every later call
 *
 * Context: may sleep.
 * Return: 0, -EINVAL for a bad argument, or -ENOMEM.
 */
int odp_pgtable_init(struct odp_pgtable *pt, unsigned int levels,
		     unsigned long pgsize_bitmap, struct mutex *lock)
{
	if (levels < 1 || levels > ODP_PT_MAX_LEVELS || !lock ||
	    !(pgsize_bitmap & SZ_4K) || (pgsize_bitmap & ~ODP_PT_PGSIZES_ALL) ||
	    (pgsize_bitmap & ~GENMASK_ULL(lvl_shift(levels - 1), 0)))
		return -EINVAL;
	*pt = (struct odp_pgtable){
		.levels = levels, .keep_level = levels,
		.pgsize_bitmap = pgsize_bitmap, .lock = lock,
	};
	pt->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!pt->root)
		return -ENOMEM;
	atomic_long_inc(&pt_live_pages);
	set_page_private(virt_to_page(pt->root), 0);
	pt->stats.tables = 1;
	pt->stats.tables_allocated = 1;
	return 0;
}
EXPORT_SYMBOL_GPL(odp_pgtable_init);

static void pt_free_subtree(struct odp_pgtable *pt, u64 *table,
			    unsigned int level)
{
	unsigned int i;

	for (i = 0; i < PT_ENTRIES && tbl_count(table); i++) {
		u64 e = table[i];

		if (ent_is_table(e, level))
			pt_free_subtree(pt, ent_table(e), level - 1);
		else if (ent_present(e))
			pt->stats.leaves[level]--;
		tbl_write(table, i, 0);
	}
	set_page_private(virt_to_page(table), 0);
	free_page((unsigned long)table);
	atomic_long_dec(&pt_live_pages);
	pt->stats.tables--;
	atomic_long_inc(&pt->stats.tables_freed);
}

/**
 * odp_pgtable_destroy() - free every table page
 * @pt: the table, which no one else may use any more
 *
 * Leaves still present are dropped without being reported: unmap the
 * whole address space first to see them. Afterwards
 * &odp_pt_stats.tables_allocated equals &odp_pt_stats.tables_freed.
 */
void odp_pgtable_destroy(struct odp_pgtable *pt)
{
	if (!pt->root)
		return;
	pt_free_subtree(pt, pt->root, pt->levels - 1);
	pt->root = NULL;
}
EXPORT_SYMBOL_GPL(odp_pgtable_destroy);

/* --- reserves --- */

/**
 * odp_pt_reserve_init() - an empty reserve
 * @r: the reserve
 */
void odp_pt_reserve_init(struct odp_pt_reserve *r)
{
	INIT_LIST_HEAD(&r->pages);
	r->nr = 0;
}
EXPORT_SYMBOL_GPL(odp_pt_reserve_init);

/**
 * odp_pt_reserve_fill() - top a reserve up
 * @r: the reserve
 * @nr: number of pages it should hold
 * @gfp: allocation flags, e.g. GFP_KERNEL_ACCOUNT where sleeping is fine
 *
 * Context: as @gfp allows; @r must not be used concurrently.
 * Return: 0, or -ENOMEM with the pages allocated so far kept.
 */
int odp_pt_reserve_fill(struct odp_pt_reserve *r, unsigned int nr, gfp_t gfp)
{
	while (r->nr < nr) {
		struct page *page = alloc_page(gfp);

		if (!page)
			return -ENOMEM;
		atomic_long_inc(&pt_live_pages);
		list_add(&page->lru, &r->pages);
		r->nr++;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(odp_pt_reserve_fill);

/**
 * odp_pt_reserve_splice() - move every page of one reserve to another
 * @dst: receives the pages
 * @src: left empty
 */
void odp_pt_reserve_splice(struct odp_pt_reserve *dst,
			   struct odp_pt_reserve *src)
{
	list_splice_init(&src->pages, &dst->pages);
	dst->nr += src->nr;
	src->nr = 0;
}
EXPORT_SYMBOL_GPL(odp_pt_reserve_splice);

/**
 * odp_pt_reserve_move() - move pages from one reserve to another
 * @dst: receives the pages
 * @src: gives up to @nr of its pages
 * @nr: how many to move at most
 */
void odp_pt_reserve_move(struct odp_pt_reserve *dst, struct odp_pt_reserve *src,
			 unsigned int nr)
{
	while (nr-- && src->nr) {
		list_move(src->pages.next, &dst->pages);
		src->nr--;
		dst->nr++;
	}
}
EXPORT_SYMBOL_GPL(odp_pt_reserve_move);

/**
 * odp_pt_reserve_drain() - free every page of a reserve
 * @r: the reserve
 */
void odp_pt_reserve_drain(struct odp_pt_reserve *r)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &r->pages, lru) {
		list_del(&page->lru);
		__free_page(page);
		atomic_long_dec(&pt_live_pages);
	}
	r->nr = 0;
}
EXPORT_SYMBOL_GPL(odp_pt_reserve_drain);
