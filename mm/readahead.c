/*
 * readahead.c: which folios a page cache miss brings in.  The mmap
 * read-around of do_sync_mmap_readahead (a window of RA_PAGES centred on
 * the fault, the last quarter marked for async readahead) and the async
 * window that a hit on the marker starts.  Each new folio is allocated,
 * inserted locked, and handed to read I/O (filemap_read_folio_submit),
 * which unlocks it on completion.  Not the I/O itself (filemap.c, and the
 * device model later).
 *
 * Simplified: no ramp-up of window sizes (every window is RA_PAGES), no
 * mmap_miss heuristics, small folios only, one I/O per folio (the kernel
 * merges a window into a few bios that complete together; per-folio I/O
 * completes at the same virtual time, so waiters see the same latency).
 */
#include "mm/internal.h"

/* Read [start, start + size) of file, clamped to EOF, skipping folios
 * already cached; the folio at start + size - async_size gets
 * PG_readahead. */
static void ra_submit(struct file *file, pgoff_t start, uint32_t size,
		      uint32_t async_size)
{
	struct address_space *mapping = file->f_mapping;
	uint64_t isize = i_size_read(mapping->host);
	pgoff_t end_index = (isize + PAGE_SIZE_BYTES - 1) / PAGE_SIZE_BYTES;
	pgoff_t end = start + size;
	pgoff_t mark = start + size - async_size;

	SIM_ASSERT(async_size <= size && size <= RA_PAGES);
	file->f_ra = (struct file_ra_state){ .start = start, .size = size,
					     .async_size = async_size };
	if (end > end_index)
		end = end_index;
	if (end > FILE_PAGES_MAX)
		end = FILE_PAGES_MAX;
	for (pgoff_t i = start; i < end; i++) {
		struct folio *folio = filemap_get_folio(mapping, i);
		if (folio) {
			/* Already cached: nothing to read for this index. */
			folio_put(folio);
			continue;
		}
		folio = folio_alloc(0);
		if (!folio)
			break;
		folio_lock_new(folio);
		if (i == mark)
			folio_set(folio, PG_readahead);
		if (!filemap_add_folio(mapping, folio, i)) {
			folio_unlock(folio);
			folio_put(folio);
			continue;
		}
		filemap_read_folio_submit(folio, mapping);
		/* readahead_folio: the reader's reference goes; the page
		 * cache's keeps the folio. */
		folio_put(folio);
	}
}

void page_cache_ra_around(struct file *file, pgoff_t index)
{
	pgoff_t start = index > RA_PAGES / 2 ? index - RA_PAGES / 2 : 0;

	SIM_ASSERT(index < FILE_PAGES_MAX);
	ra_submit(file, start, RA_PAGES, RA_PAGES / 4);
}

void page_cache_async_ra(struct file *file, struct folio *folio)
{
	struct file_ra_state ra = file->f_ra;

	folio_clear_readahead(folio);
	/* The marker belongs to the last window submitted; the next window
	 * starts where it ends.  A marker from an older window starts the
	 * window after the marker itself. */
	pgoff_t start = ra.start + ra.size;
	if (folio->index < ra.start || folio->index >= start)
		start = folio->index + 1;
	if (start >= FILE_PAGES_MAX)
		return;
	ra_submit(file, start, RA_PAGES, RA_PAGES);
}
