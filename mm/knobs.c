/*
 * knobs.c: the names and defaults of the kernel variants (see knobs.h).
 * Not their parsing (scenario_world.c) nor their effects.
 */
#include <stddef.h>

#include "mm/knobs.h"

const char *const knob_fault_retry_names[] = {
	[FAULT_RETRY_NONE] = "none",
	[FAULT_RETRY_DROP_ONCE] = "drop_once",
	[FAULT_RETRY_DROP_ALWAYS] = "drop_always",
	[KNOB_FAULT_RETRY_COUNT] = NULL,
};

const char *const knob_do_fault_locking_names[] = {
	[DO_FAULT_LOCKING_IN_DO_FAULT] = "in_do_fault",
	[DO_FAULT_LOCKING_IN_CALLERS] = "in_callers",
	[KNOB_DO_FAULT_LOCKING_COUNT] = NULL,
};

const char *const knob_fault_around_names[] = {
	[FAULT_AROUND_TRYLOCK] = "trylock",
	[FAULT_AROUND_PRIVATE_NOLOCK] = "private_nolock",
	[FAULT_AROUND_NOLOCK_NORECHECK] = "nolock_norecheck",
	[KNOB_FAULT_AROUND_COUNT] = NULL,
};

const char *const knob_filemap_map_pmd_names[] = {
	[FILEMAP_MAP_PMD_FIXED] = "fixed",
	[FILEMAP_MAP_PMD_INVERTED_SET_PMD] = "inverted_set_pmd",
	[KNOB_FILEMAP_MAP_PMD_COUNT] = NULL,
};

const char *const knob_write_path_names[] = {
	[WRITE_PATH_GENERIC_PERFORM_WRITE] = "generic_perform_write",
	[WRITE_PATH_FUSE_MULTI_LOCK] = "fuse_multi_lock",
	[KNOB_WRITE_PATH_COUNT] = NULL,
};

const char *const knob_fault_lock_names[] = {
	[FAULT_LOCK_MMAP_ONLY] = "mmap_only",
	[FAULT_LOCK_VMA_THEN_MMAP] = "vma_then_mmap",
	[KNOB_FAULT_LOCK_COUNT] = NULL,
};

const char *const knob_vma_anon_fallback_names[] = {
	[VMA_ANON_FALLBACK_TRYLOCK] = "trylock",
	[VMA_ANON_FALLBACK_LOCK] = "lock",
	[KNOB_VMA_ANON_FALLBACK_COUNT] = NULL,
};

const char *const knob_swap_vma_lock_names[] = {
	[SWAP_VMA_LOCK_RELEASE_FAULT_LOCK] = "release_fault_lock",
	[SWAP_VMA_LOCK_RETRY_ALL] = "retry_all",
	[SWAP_VMA_LOCK_UNCONTENDED_V1] = "uncontended_v1",
	[SWAP_VMA_LOCK_NAIVE] = "naive",
	[KNOB_SWAP_VMA_LOCK_COUNT] = NULL,
};

const char *const knob_speculative_names[] = {
	[SPECULATIVE_OFF] = "off",
	[SPECULATIVE_VALIDATED] = "validated",
	[SPECULATIVE_UNVALIDATED] = "unvalidated",
	[KNOB_SPECULATIVE_COUNT] = NULL,
};

const char *const knob_swapcache_fence_names[] = {
	[SWAPCACHE_FENCE_ON] = "on",
	[SWAPCACHE_FENCE_OFF] = "off",
	[KNOB_SWAPCACHE_FENCE_COUNT] = NULL,
};

const char *const knob_reclaim_order_names[] = {
	[RECLAIM_ORDER_FREEZE_THEN_DIRTY] = "freeze_then_dirty",
	[RECLAIM_ORDER_DIRTY_BEFORE_FREEZE] = "dirty_before_freeze",
	[KNOB_RECLAIM_ORDER_COUNT] = NULL,
};

const char *const knob_rwsem_names[] = {
	[RWSEM_KNOB_FAIR] = "fair",
	[RWSEM_KNOB_READER_PREFERRING] = "reader_preferring",
	[KNOB_RWSEM_COUNT] = NULL,
};

struct kernel_knobs kernel_knobs_default(void)
{
	return (struct kernel_knobs){
		.fault_retry = FAULT_RETRY_DROP_ONCE,
		.do_fault_locking = DO_FAULT_LOCKING_IN_DO_FAULT,
		.fault_around = FAULT_AROUND_TRYLOCK,
		.filemap_map_pmd = FILEMAP_MAP_PMD_FIXED,
		.write_path = WRITE_PATH_GENERIC_PERFORM_WRITE,
		.fault_lock = FAULT_LOCK_VMA_THEN_MMAP,
		.vma_anon_fallback = VMA_ANON_FALLBACK_TRYLOCK,
		.swap_vma_lock = SWAP_VMA_LOCK_RELEASE_FAULT_LOCK,
		.speculative = SPECULATIVE_OFF,
		.swapcache_fence = SWAPCACHE_FENCE_ON,
		.reclaim_order = RECLAIM_ORDER_FREEZE_THEN_DIRTY,
		.rwsem = RWSEM_KNOB_FAIR,
		.fault_around_bytes = FAULT_AROUND_BYTES_DEFAULT,
	};
}
