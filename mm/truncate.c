/*
 * truncate.c: models mm/truncate.c and the VFS paths to it: truncate(2)
 * shrinking a file (KERNEL.md 9), with i_rwsem and the mapping's
 * invalidate_lock held for write (do_truncate, and the filesystem's
 * setattr): i_size first; then truncate_pagecache: unmap_mapping_range,
 * truncate_inode_pages_range, and unmap_mapping_range again for the
 * private COW copies a fault made meanwhile.  And fallocate's
 * PUNCH_HOLE (do_punch_hole, as ext4_punch_hole does it, same locks):
 * truncate_pagecache_range, which unmaps once, before the page cache
 * pass, and leaves i_size alone: a mapper that finds a folio before it
 * leaves the cache and maps it after that one unmap is caught only by its
 * own re-checks (KERNEL.md 8).  Not the fault side's re-checks
 * (filemap.c) nor the zap (memory.c).
 *
 * truncate_inode_pages_range, for the folios wholly past the new EOF:
 *   pass 1 (find_lock_entries): trylock each; skip one that is locked,
 *     under writeback, or no longer this mapping's; unmap what is still
 *     mapped (truncate_cleanup_folio), delete the batch from the page
 *     cache (folio->mapping = NULL), unlock.
 *   pass 2 (find_get_entries): what pass 1 skipped: lock it (sleeping),
 *     wait for its writeback, unmap and delete it; restart from the start
 *     until a scan finds nothing.
 *
 * Invariants:
 *  1. A folio leaves the page cache only locked, not under writeback, and
 *     with no PTE mapping it (truncate_cleanup_folio unmaps under the
 *     folio lock, so a fault that maps it later must hold the lock and
 *     see folio->mapping == NULL, or fault-around must re-check).
 *  2. i_size is written before any folio is unmapped or deleted: a fault
 *     that looks at i_size after truncate started sees the new one (a
 *     hole punch leaves i_size).
 *  3. While truncate runs no folio can enter the range: page cache
 *     insertion by faults and readahead holds invalidate_lock shared, by
 *     write() i_rwsem.
 *
 * Simplified: a THP straddling the new EOF stays in the cache whole (the
 * kernel's truncate_inode_partial_folio splits it if it can and zeroes
 * the tail otherwise; splitting is not modeled): its pages past EOF are
 * unmapped and faults past EOF get SIGBUS all the same.  The zeroing of
 * a partial last page's tail is not modeled: it changes bytes, not
 * locks.  Shadow (value) entries are never created, so none are removed.
 */
#include "mm/internal.h"

/* struct folio_batch: PAGEVEC_SIZE folios per batch (include/linux/pagevec.h). */
#define FOLIO_BATCH_SIZE 31u

/* Pass 2's scans: every folio a scan finds is gone after it, and no folio
 * can enter the range meanwhile (invariant 3); an empty scan ends pass 2
 * or restarts it once from the start.  Two scans per page of the file
 * are more than can happen. */
#define TRUNCATE_SCANS_MAX (2u * FILE_PAGES_MAX + 2u)

static_assert(FOLIO_BATCH_SIZE + 2 <= TASK_FOLIO_REFS_MAX,
	      "a batch's references fit a task's reference list");

/* unmap_mapping_range_tree: zap file pages [first, last) (last 0: to the
 * end of the file) in every VMA that maps them, as details says.  The
 * caller holds i_mmap_rwsem for reading, as the kernel's callers hold
 * i_mmap_lock_read.  The kernel walks the i_mmap interval tree; the
 * model's i_mmap is a short array, walked in order, which visits the same
 * VMAs. */
static void unmap_mapping_range_tree(struct address_space *mapping,
				     pgoff_t first, pgoff_t last,
				     const struct zap_details *details)
{
	SIM_ASSERT(last == 0 || first < last);
	lockdep_assert_held_read(&mapping->i_mmap_rwsem.c);
	for (uint32_t i = 0; i < mapping->i_mmap_count; i++) {
		struct vm_area_struct *vma = mapping->i_mmap[i];
		pgoff_t lo = first > vma->vm_pgoff ? first : vma->vm_pgoff;
		pgoff_t hi = vma->vm_pgoff + vma_pages(vma);
		if (last && last < hi)
			hi = last;
		if (lo >= hi)
			continue;
		zap_page_range_single(vma, vma->vm_start + (lo - vma->vm_pgoff),
				      vma->vm_start + (hi - vma->vm_pgoff),
				      details);
	}
}

void unmap_mapping_range(struct address_space *mapping, pgoff_t start,
			 pgoff_t end, bool even_cows)
{
	const struct zap_details details = { .even_cows = even_cows };

	SIM_ASSERT(end == 0 || start < end);
	SIM_ASSERT(start < FILE_PAGES_MAX);
	down_read(&mapping->i_mmap_rwsem);
	unmap_mapping_range_tree(mapping, start, end, &details);
	up_read(&mapping->i_mmap_rwsem);
}

/* unmap_mapping_folio: zap the PTEs that map this (locked) folio, and
 * only it, in every VMA of its mapping. */
static void unmap_mapping_folio(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;
	const struct zap_details details = { .single_folio = folio };
	pgoff_t first = folio->index, last = first + folio_nr_pages(folio);

	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(mapping != NULL);
	down_read(&mapping->i_mmap_rwsem);
	unmap_mapping_range_tree(mapping, first, last, &details);
	up_read(&mapping->i_mmap_rwsem);
}

/* truncate_cleanup_folio: nothing may map a folio leaving the cache
 * (invariant 1), and its dirt goes with it. */
static void truncate_cleanup_folio(struct folio *folio)
{
	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(!folio_test(folio, PG_writeback));
	if (folio_mapped(folio)) {
		SIM_MARK("truncate_cleanup_folio: still mapped, unmap it");
		unmap_mapping_folio(folio);
	}
	/* folio_cancel_dirty */
	mm_yield(TRACE_FOLIO_WRITE, folio->id);
	folio_clear(folio, PG_dirty);
}

/* The next folio at *index or after it, below end, wholly inside
 * [start, end), with a reference; *index moves past it.  NULL at end. */
static struct folio *next_entry(struct address_space *mapping, pgoff_t start,
				pgoff_t *index, pgoff_t end)
{
	struct folio *folio;

	SIM_ASSERT(start <= *index);
	SIM_ASSERT(end <= FILE_PAGES_MAX);
	while ((folio = filemap_get_next_folio(mapping, index, end))) {
		pgoff_t tail = folio->index + folio_nr_pages(folio);
		if (folio->index < start || tail > end) {
			/* A THP across the edge: left (see the top). */
			SIM_MARK("truncate: THP across EOF left in the cache");
			*index = tail;
			folio_put(folio);
			continue;
		}
		*index = tail;
		return folio;
	}
	return NULL;
}

/* find_lock_entries: up to a batch of folios wholly in [start, end) that
 * could be trylocked and are not under writeback. */
static uint32_t find_lock_entries(struct address_space *mapping, pgoff_t start,
				  pgoff_t *index, pgoff_t end,
				  struct folio **batch)
{
	uint32_t n = 0;
	struct folio *folio;

	SIM_ASSERT(start <= *index && *index <= end);
	lockdep_assert_held_write(&mapping->invalidate_lock.c);
	while (n < FOLIO_BATCH_SIZE &&
	       (folio = next_entry(mapping, start, index, end))) {
		if (!folio_trylock(folio)) {
			SIM_MARK("truncate pass 1: locked, left for pass 2");
			folio_put(folio);
			continue;
		}
		if (folio_mapping_read(folio) != mapping ||
		    folio_test_writeback(folio)) {
			SIM_MARK("truncate pass 1: writeback or moved, left for pass 2");
			folio_unlock(folio);
			folio_put(folio);
			continue;
		}
		batch[n++] = folio;
	}
	return n;
}

/* truncate_inode_folio: pass 2's removal of one locked folio. */
static void truncate_inode_folio(struct address_space *mapping,
				 struct folio *folio)
{
	SIM_ASSERT(folio->lock_owner == sim_current());
	/* Removed while we waited for its lock: the kernel's check for
	 * invalidators that do not take i_rwsem.  Reclaim cannot (our
	 * reference fails its refcount freeze), so the model has none. */
	if (folio_mapping_read(folio) != mapping)
		return;
	truncate_cleanup_folio(folio);
	filemap_remove_folio(folio);
	SIM_ASSERT(folio->mapping == NULL);
}

static void truncate_inode_pages_range(struct address_space *mapping,
				       pgoff_t start, pgoff_t end)
{
	struct folio *batch[FOLIO_BATCH_SIZE];
	pgoff_t index = start;
	uint32_t n;

	lockdep_assert_held_write(&mapping->invalidate_lock.c);
	SIM_ASSERT(start <= end && end <= FILE_PAGES_MAX);
	/* Pass 1. */
	while ((n = find_lock_entries(mapping, start, &index, end, batch))) {
		for (uint32_t i = 0; i < n; i++)
			truncate_cleanup_folio(batch[i]);
		/* delete_from_page_cache_batch: one i_pages lock for the
		 * batch, then the cache's references. */
		spin_lock(&mapping->i_pages_lock);
		for (uint32_t i = 0; i < n; i++)
			__filemap_remove_folio(batch[i]);
		spin_unlock(&mapping->i_pages_lock);
		for (uint32_t i = 0; i < n; i++)
			folio_put_refs(batch[i], (int)folio_nr_pages(batch[i]));
		for (uint32_t i = 0; i < n; i++)
			folio_unlock(batch[i]);
		/* folio_batch_release */
		for (uint32_t i = 0; i < n; i++)
			folio_put(batch[i]);
	}

	/* Pass 2.  find_get_entries moves the index only past what it
	 * found. */
	index = start;
	for (uint32_t scans = 0; index < end; scans++) {
		SIM_ASSERT(scans < TRUNCATE_SCANS_MAX);
		pgoff_t cursor = index;
		struct folio *folio;
		n = 0;
		while (n < FOLIO_BATCH_SIZE &&
		       (folio = next_entry(mapping, start, &cursor, end)))
			batch[n++] = folio;
		if (!n) {
			/* If all gone from start onwards, we're done;
			 * otherwise restart to make sure all are gone. */
			if (index == start)
				break;
			index = start;
			continue;
		}
		index = cursor;
		for (uint32_t i = 0; i < n; i++) {
			SIM_MARK("truncate pass 2: a folio pass 1 left");
			folio_lock(batch[i]);
			folio_wait_writeback(batch[i]);
			truncate_inode_folio(mapping, batch[i]);
			folio_unlock(batch[i]);
		}
		for (uint32_t i = 0; i < n; i++)
			folio_put(batch[i]);
	}
}

/* truncate_pagecache (mm/truncate.c), pages from start on. */
static void truncate_pagecache(struct inode *inode, pgoff_t start)
{
	struct address_space *mapping = &inode->i_data;

	SIM_ASSERT(start <= FILE_PAGES_MAX);
	SIM_ASSERT(start >= i_size_pages(inode));	/* invariant 2 */
	lockdep_assert_held_write(&inode->i_rwsem.c);
	if (start == FILE_PAGES_MAX)
		return;
	/* Twice: the first simply for efficiency, so that the page cache
	 * pass does fewer single-folio unmaps; the second because between
	 * them a fault may have made private COW copies of pages past the
	 * new EOF, which the page cache pass cannot see. */
	unmap_mapping_range(mapping, start, 0, true);
	truncate_inode_pages_range(mapping, start, FILE_PAGES_MAX);
	unmap_mapping_range(mapping, start, 0, true);
}

long do_punch_hole(struct file *file, pgoff_t start, pgoff_t pages)
{
	struct inode *inode = file->f_inode;
	struct address_space *mapping = file->f_mapping;
	pgoff_t end = start + pages;

	SIM_ASSERT(pages > 0 && end <= FILE_PAGES_MAX);
	SIM_ASSERT(mapping == &inode->i_data);
	sim_cost(COST_SYSCALL_NS);
	mm_yield(TRACE_SYSCALL, inode->id);
	down_write(&inode->i_rwsem);
	down_write(&mapping->invalidate_lock);
	/* truncate_pagecache_range: one unmap, file pages only (even_cows
	 * 0: a private COW copy of a hole stays), then the page cache. */
	unmap_mapping_range(mapping, start, end, false);
	truncate_inode_pages_range(mapping, start, end);
	/* The filesystem frees the blocks: the hole reads as zeroes. */
	for (pgoff_t i = start; i < end; i++)
		inode_disk_store(inode, i, 0);
	up_write(&mapping->invalidate_lock);
	up_write(&inode->i_rwsem);
	return 0;
}

long do_truncate(struct file *file, uint64_t size_bytes)
{
	struct inode *inode = file->f_inode;
	struct address_space *mapping = file->f_mapping;

	SIM_ASSERT(size_bytes <= FILE_PAGES_MAX * PAGE_SIZE_BYTES);
	SIM_ASSERT(mapping == &inode->i_data);
	sim_cost(COST_SYSCALL_NS);
	mm_yield(TRACE_SYSCALL, inode->id);
	down_write(&inode->i_rwsem);
	/* The filesystem's setattr: filemap_invalidate_lock. */
	down_write(&mapping->invalidate_lock);
	pgoff_t old_pages = i_size_pages(inode);
	i_size_write(inode, size_bytes);			/* invariant 2 */
	pgoff_t new_pages = i_size_pages(inode);
	if (new_pages < old_pages) {
		truncate_pagecache(inode, new_pages);
		/* The filesystem frees the blocks: what is past EOF reads
		 * back as zeroes if the file grows again. */
		for (pgoff_t i = new_pages; i < old_pages; i++)
			inode_disk_store(inode, i, 0);
	}
	up_write(&mapping->invalidate_lock);
	up_write(&inode->i_rwsem);
	return 0;
}
