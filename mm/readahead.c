/*
 * readahead.c: which folios a page cache miss brings in.  The mmap
 * read-around of do_sync_mmap_readahead (a window of RA_PAGES centred on
 * the fault, the last quarter marked for async readahead) and the async
 * window that a hit on the marker starts.  Each new folio is allocated,
 * inserted locked, and handed to read I/O (filemap_read_folio_submit),
 * which unlocks it on completion.  Not the I/O itself (filemap.c, and the
 * device model later).
 *
 * Like page_cache_ra_unbounded, a window is read with the mapping's
 * invalidate_lock held shared, so that truncate (which holds it for
 * write) never sees new folios appear in the range it empties.
 *
 * New folios at consecutive indices go to the device as one request, as
 * read_pages submits a window's folios in one bio (a disk serves it in
 * one service time, not one per page); a folio already cached ends the
 * request, and the next new one starts another.
 *
 * Simplified: no ramp-up of window sizes (every window is RA_PAGES), no
 * mmap_miss heuristics, small folios only.
 */
#include "mm/internal.h"

/* read_pages: submit the batch (n folios at consecutive indices, locked,
 * in the page cache) as one read; then readahead_folio drops the
 * reader's references, the page cache's keeping the folios. */
static void read_pages(struct address_space *mapping, struct folio **batch,
		       uint32_t *n)
{
	SIM_ASSERT(*n <= RA_PAGES);
	SIM_ASSERT(mapping != NULL);
	if (!*n)
		return;
	filemap_read_folios_submit(mapping, batch, *n);
	for (uint32_t i = 0; i < *n; i++)
		folio_put(batch[i]);
	*n = 0;
}

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
	struct folio *batch[RA_PAGES];
	uint32_t n = 0;

	SIM_ASSERT(async_size <= size && size <= RA_PAGES);
	file->f_ra = (struct file_ra_state){ .start = start, .size = size,
					     .async_size = async_size };
	if (end > end_index)
		end = end_index;
	if (end > FILE_PAGES_MAX)
		end = FILE_PAGES_MAX;
	filemap_invalidate_lock_shared(mapping);
	for (pgoff_t i = start; i < end; i++) {
		struct folio *folio = filemap_get_folio(mapping, i);
		if (folio) {
			/* Already cached: nothing to read for this index,
			 * and the batch so far is contiguous no more. */
			folio_put(folio);
			read_pages(mapping, batch, &n);
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
			read_pages(mapping, batch, &n);
			continue;
		}
		batch[n++] = folio;
	}
	read_pages(mapping, batch, &n);
	filemap_invalidate_unlock_shared(mapping);
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
