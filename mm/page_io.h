/*
 * page_io.h: swap I/O, as mm/page_io.c does it: reading a folio from its
 * swap slot and writing one out, through the swap device's block device.
 * A synchronous device (zram) completes in the caller's context; a disk
 * completes later, in an event.  Not the swap cache (swap_state.c) nor the
 * device models (blkdev.c, zram.c).
 *
 * Contents: the slot keeps the content version (folio->data) last written
 * to it (si->slot_data), stored when the write completes; a read sets the
 * folio's version from the slot when it completes.  A swap-in of a slot
 * whose write has not completed, or of a reused slot, reads old contents
 * and shows as a version mismatch.
 */
#ifndef SIM_MM_PAGE_IO_H
#define SIM_MM_PAGE_IO_H

#include "mm/types.h"

/*
 * swap_read_folio: read folio from slot folio->swap.  The folio is locked
 * by the current task and not uptodate; it is in the swap cache, or the
 * device is synchronous (do_swap_page's skip-swapcache path, which sets
 * folio->swap itself).  The lock passes to the I/O; the completion marks
 * the folio uptodate and unlocks it (folio_end_read).  Counts PSWPIN.
 */
void swap_read_folio(struct folio *folio);

/*
 * swap_writepage: write folio (locked by the current task, in the swap
 * cache, not under writeback) to its slot.  Starts writeback and unlocks
 * the folio, as the kernel's does; the completion ends writeback.  Counts
 * PSWPOUT.  Clearing the dirty bit first is the caller's (pageout's
 * folio_clear_dirty_for_io).
 */
void swap_writepage(struct folio *folio);

#endif /* SIM_MM_PAGE_IO_H */
