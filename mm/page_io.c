/*
 * page_io.c: swap reads and writes through the swap device (see
 * page_io.h).  Not the block device queue (blkdev.c).
 */
#include "mm/page_io.h"
#include "mm/pagemap.h"
#include "mm/swapfile.h"
#include "mm/vmstat.h"

/* end_swap_bio_read: the slot's contents are in the folio now. */
static void end_swap_bio_read(const struct blk_request *rq)
{
	struct folio *folio = rq->private;
	struct swap_info_struct *si = swp_swap_info(folio->swap);

	SIM_ASSERT(rq->op == REQ_OP_READ);
	/* The folio is locked by the I/O: nobody could have removed it from
	 * the swap cache or changed its entry. */
	SIM_ASSERT(folio_test_locked(folio) && folio->lock_owner == NULL);
	folio->data = si->slot_data[swp_offset(folio->swap)];
	folio_end_read(folio, true);
}

/* end_swap_bio_write: the slot holds the folio's contents from now on. */
static void end_swap_bio_write(const struct blk_request *rq)
{
	struct folio *folio = rq->private;
	struct swap_info_struct *si = swp_swap_info(folio->swap);

	SIM_ASSERT(rq->op == REQ_OP_WRITE);
	/* Under writeback the folio cannot leave the swap cache. */
	SIM_ASSERT(folio_test(folio, PG_swapcache));
	si->slot_data[swp_offset(folio->swap)] = folio->data;
	folio_end_writeback(folio);
}

void swap_read_folio(struct folio *folio)
{
	struct swap_info_struct *si = swp_swap_info(folio->swap);
	bool synchronous = si->flags & SWP_SYNCHRONOUS_IO;

	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(!folio_test(folio, PG_uptodate));
	if (!folio_test(folio, PG_swapcache))
		SIM_ASSERT(synchronous);
	count_vm_event(PSWPIN);
	folio_lock_to_io(folio);
	blk_submit(si->bdev, REQ_OP_READ, swp_offset(folio->swap),
		   folio_nr_pages(folio), end_swap_bio_read, folio);
}

void swap_writepage(struct folio *folio)
{
	swp_entry_t entry = folio->swap;
	struct swap_info_struct *si = swp_swap_info(entry);

	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(folio_test(folio, PG_swapcache));
	SIM_ASSERT(!folio_test(folio, PG_writeback));
	count_vm_event(PSWPOUT);
	folio_start_writeback(folio);
	folio_unlock(folio);
	blk_submit(si->bdev, REQ_OP_WRITE, swp_offset(entry),
		   folio_nr_pages(folio), end_swap_bio_write, folio);
}
