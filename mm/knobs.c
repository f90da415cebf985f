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
		.fault_around_bytes = FAULT_AROUND_BYTES_DEFAULT,
	};
}
