/*
 * fuse_file.c: models fs/fuse/file.c's buffered write as it was in
 * October 2020 (fuse_perform_write, fuse_fill_write_pages,
 * fuse_send_write_pages), the write path of KERNEL.md 8's self-deadlock:
 * every folio of one request stays locked while the source of the next
 * page is faulted in.  Not the rest of fuse: the daemon is a fixed
 * round-trip latency.
 */
#include <errno.h>

#include "mm/internal.h"

/* Pages in one WRITE request (fc->max_pages for a default mount,
 * FUSE_DEFAULT_MAX_PAGES_PER_REQ). */
#define FUSE_WRITE_PAGES_MAX 32u

static_assert(FUSE_WRITE_PAGES_MAX + 2 <= TASK_FOLIO_REFS_MAX,
	      "a request's folios plus a fault's fit a task's references");

/*
 * fuse_fill_write_pages: for each page, fault the source in, lock the
 * page cache folio (creating it), copy with page faults disabled; keep it
 * locked and go on to the next.  If the source of page k is an mmap of a
 * folio this task locked for page j < k, the fault-in sleeps on our own
 * lock: the task waits for itself.
 */
static uint32_t fuse_fill_write_pages(struct address_space *mapping,
				      pgoff_t index, uint32_t pages,
				      uint64_t src, struct folio **folios)
{
	uint32_t n = 0;

	while (n < pages) {
		if (fault_in_readable(src + n, 1))
			break;
		struct folio *folio = filemap_get_folio(mapping, index + n);
		if (folio) {
			folio_lock(folio);
			if (folio_mapping_read(folio) != mapping) {
				folio_unlock(folio);
				folio_put(folio);
				continue;
			}
		} else {
			folio = folio_alloc(0);
			if (!folio)
				break;
			folio_lock_new(folio);
			if (!filemap_add_folio(mapping, folio, index + n)) {
				folio_unlock(folio);
				folio_put(folio);
				continue;
			}
		}
		if (!copy_page_from_user_atomic(folio, src + n)) {
			SIM_MARK("fuse_fill_write_pages: short copy, again");
			folio_unlock(folio);
			folio_put(folio);
			continue;
		}
		folios[n++] = folio;
	}
	return n;
}

/* fuse_send_write_pages: the WRITE round trip with the folios locked,
 * then mark them uptodate (whole pages were written), unlock, put. */
static void fuse_send_write_pages(struct inode *inode, pgoff_t index,
				  struct folio **folios, uint32_t n)
{
	sim_sleep(COST_FUSE_WRITE_NS);
	for (uint32_t i = 0; i < n; i++) {
		folio_mark_uptodate(folios[i]);
		folio_unlock(folios[i]);
		folio_put(folios[i]);
	}
	uint64_t end = (index + n) * PAGE_SIZE_BYTES;
	if (n && end > i_size_read(inode))
		inode->i_size = end;
}

long fuse_perform_write(struct file *file, pgoff_t index, uint32_t pages,
			uint64_t src)
{
	struct inode *inode = file->f_inode;
	struct folio *folios[FUSE_WRITE_PAGES_MAX];
	long written = 0;

	SIM_ASSERT(inode->fuse);
	SIM_ASSERT(pages > 0);
	/* fuse_cache_write_iter */
	down_write(&inode->i_rwsem);
	while ((uint32_t)written < pages) {
		uint32_t want = pages - (uint32_t)written;
		if (want > FUSE_WRITE_PAGES_MAX)
			want = FUSE_WRITE_PAGES_MAX;
		uint32_t n = fuse_fill_write_pages(file->f_mapping,
						   index + (pgoff_t)written,
						   want, src + (uint64_t)written,
						   folios);
		if (n == 0)
			break;
		fuse_send_write_pages(inode, index + (pgoff_t)written, folios, n);
		written += n;
	}
	up_write(&inode->i_rwsem);
	return written ? written : -EFAULT;
}
