/*
 * scenario_world.c: the loader's kernel-model sections: `kernel` (the
 * variants of knobs.h), `files`, `vmas`, and the operations that act on
 * them (fault, write, mmap, munmap, mprotect).  Every error names its JSON
 * path and what was expected.  Not the world itself (world.c builds it).
 *
 *   kernel: { fault_retry, do_fault_locking, fault_around, filemap_map_pmd,
 *             write_path, fault_lock, vma_anon_fallback, fault_around_bytes,
 *             swap_vma_lock, speculative, swapcache_fence, reclaim_order,
 *             rwsem }
 *   files:  [ { name, size, cached, thp, fuse, no_map_pages, read_latency,
 *               device } ]
 *           size: bytes (a number), or a string "64 pages", "256 KiB",
 *           "2 MiB"; cached: page ranges, or "all"; device: a disk of
 *           `devices` (instead of read_latency)
 *   vmas:   [ { name, start, pages, kind, file, pgoff, anon_vma, thp,
 *               write, populated, swapped, swapcache, device_private } ]
 *           (start, pages, pgoff in pages)
 *   ranges: a list of N (page N) or [A, B] (pages A to B-1), or "all"
 *   ops:    { "fault": { vma, page, write, user } }
 *           { "write": { file, offset_pages, pages, source_vma,
 *                        source_page } }
 *           { "mmap": { <a vma without populated> } }
 *           { "munmap": { vma } }
 *           { "mprotect": { vma, write } }
 *           { "reclaim": { scan, target, mode, vma | file, pages,
 *                          ignore_references, wait_writeback } }
 *           { "truncate": { file, size } }
 *           { "punch_hole": { file, offset_pages, pages } }
 *           { "store": { vma, page } }
 *           { "gup_write": { vma, page, hold } }
 *           { "migrate": { vma, page } }
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/mm.h"
#include "mm/scenario_int.h"
#include "mm/types.h"

static_assert(SCENARIO_FILES_MAX == FILES_MAX, "one file struct each");
static_assert(SCENARIO_VMAS_MAX == VMA_STRUCTS_MAX, "one VMA struct each");
static_assert(SCENARIO_OBJ_NAME_MAX <= sizeof(((struct inode *)0)->name),
	      "file names fit the inode");

const char *const scenario_mm_op_names[] = { "fault", "write", "mmap",
					     "munmap", "mprotect", "reclaim",
					     "truncate", "store", "gup_write",
					     "migrate", "punch_hole", NULL };

static const char *const vma_kind_names[] = {
	[VMA_KIND_ANON] = "anon",
	[VMA_KIND_FILE_PRIVATE] = "file_private",
	[VMA_KIND_FILE_SHARED] = "file_shared",
	[VMA_KINDS_COUNT] = NULL,
};

/* ---------------------------------------------------------------- kernel */

static bool read_kernel(struct jread *r, const cJSON *doc, struct scenario *s)
{
	static const char *const keys[] = {
		"fault_retry", "do_fault_locking", "fault_around",
		"filemap_map_pmd", "write_path", "fault_lock",
		"vma_anon_fallback", "fault_around_bytes", "swap_vma_lock",
		"speculative", "swapcache_fence", "reclaim_order", "rwsem",
		NULL
	};
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(doc, "kernel");
	struct kernel_knobs *kn = &s->knobs;
	int v[12] = { 0 };

	*kn = kernel_knobs_default();
	if (!k)
		return true;
	size_t at = jread_push_key(r, "kernel");
	v[0] = (int)kn->fault_retry;
	v[1] = (int)kn->do_fault_locking;
	v[2] = (int)kn->fault_around;
	v[3] = (int)kn->filemap_map_pmd;
	v[4] = (int)kn->write_path;
	v[5] = (int)kn->fault_lock;
	v[6] = (int)kn->vma_anon_fallback;
	v[7] = (int)kn->swap_vma_lock;
	v[8] = (int)kn->speculative;
	v[9] = (int)kn->swapcache_fence;
	v[10] = (int)kn->reclaim_order;
	v[11] = (int)kn->rwsem;
	bool ok = jread_object(r, k, keys) &&
		  jread_enum(r, k, "fault_retry", false, knob_fault_retry_names, &v[0]) &&
		  jread_enum(r, k, "do_fault_locking", false, knob_do_fault_locking_names, &v[1]) &&
		  jread_enum(r, k, "fault_around", false, knob_fault_around_names, &v[2]) &&
		  jread_enum(r, k, "filemap_map_pmd", false, knob_filemap_map_pmd_names, &v[3]) &&
		  jread_enum(r, k, "write_path", false, knob_write_path_names, &v[4]) &&
		  jread_enum(r, k, "fault_lock", false, knob_fault_lock_names, &v[5]) &&
		  jread_enum(r, k, "vma_anon_fallback", false, knob_vma_anon_fallback_names, &v[6]) &&
		  jread_enum(r, k, "swap_vma_lock", false, knob_swap_vma_lock_names, &v[7]) &&
		  jread_enum(r, k, "speculative", false, knob_speculative_names, &v[8]) &&
		  jread_enum(r, k, "swapcache_fence", false, knob_swapcache_fence_names, &v[9]) &&
		  jread_enum(r, k, "reclaim_order", false, knob_reclaim_order_names, &v[10]) &&
		  jread_enum(r, k, "rwsem", false, knob_rwsem_names, &v[11]) &&
		  jread_u64(r, k, "fault_around_bytes", false, 0, 512 * 4096,
			    &kn->fault_around_bytes);
	if (ok) {
		kn->fault_retry = (enum knob_fault_retry)v[0];
		kn->do_fault_locking = (enum knob_do_fault_locking)v[1];
		kn->fault_around = (enum knob_fault_around)v[2];
		kn->filemap_map_pmd = (enum knob_filemap_map_pmd)v[3];
		kn->write_path = (enum knob_write_path)v[4];
		kn->fault_lock = (enum knob_fault_lock)v[5];
		kn->vma_anon_fallback = (enum knob_vma_anon_fallback)v[6];
		kn->swap_vma_lock = (enum knob_swap_vma_lock)v[7];
		kn->speculative = (enum knob_speculative)v[8];
		kn->swapcache_fence = (enum knob_swapcache_fence)v[9];
		kn->reclaim_order = (enum knob_reclaim_order)v[10];
		kn->rwsem = (enum knob_rwsem)v[11];
	}
	/* The per-VMA lock falls back to mmap_lock by returning
	 * VM_FAULT_RETRY; a kernel without ALLOW_RETRY has no such path
	 * (and predates the per-VMA lock by thirteen years). */
	if (ok && kn->fault_retry == FAULT_RETRY_NONE &&
	    kn->fault_lock == FAULT_LOCK_VMA_THEN_MMAP)
		ok = jread_fail_at(r, "fault_retry",
				   "\"none\" needs \"fault_lock\": \"mmap_only\" (the per-VMA lock falls back through VM_FAULT_RETRY, which a kernel without ALLOW_RETRY does not have)");
	/* The same holds for a speculative fault's fallback. */
	if (ok && kn->fault_retry == FAULT_RETRY_NONE &&
	    kn->speculative != SPECULATIVE_OFF)
		ok = jread_fail_at(r, "speculative",
				   "\"%s\" needs a \"fault_retry\" other than \"none\" (a speculative fault falls back through VM_FAULT_RETRY)",
				   knob_speculative_names[kn->speculative]);
	jread_pop(r, at);
	return ok;
}

/* ---------------------------------------------------------------- ranges */

/* A list of pages: "all", or [ N | [A, B], ... ], within [0, limit). */
static bool read_ranges(struct jread *r, const cJSON *obj, const char *key,
			uint64_t limit, const char *limit_what,
			struct scenario_range *out, uint32_t *count)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*count = 0;
	if (!v)
		return true;
	size_t at = jread_push_key(r, key);
	bool ok = true;
	if (cJSON_IsString(v)) {
		if (strcmp(v->valuestring, "all") != 0)
			ok = jread_fail(r, "expected \"all\" or a list of pages and [first, end) ranges, found \"%s\"",
					v->valuestring);
		else if (limit > 0) {
			out[0] = (struct scenario_range){ 0, limit };
			*count = 1;
		}
		jread_pop(r, at);
		return ok;
	}
	int n;
	if (!jread_array(r, v, &n)) {
		jread_pop(r, at);
		return false;
	}
	if (n > SCENARIO_RANGES_MAX) {
		ok = jread_fail(r, "%d ranges; at most %d", n, SCENARIO_RANGES_MAX);
		n = 0;
	}
	for (int i = 0; ok && i < n; i++) {
		const cJSON *e = cJSON_GetArrayItem(v, i);
		size_t at2 = jread_push_index(r, i);
		struct scenario_range rg = { 0, 0 };
		if (jread_whole(e, SCENARIO_PAGE_NUMBER_MAX, &rg.first)) {
			rg.end = rg.first + 1;
		} else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 &&
			   jread_whole(cJSON_GetArrayItem(e, 0), SCENARIO_PAGE_NUMBER_MAX,
				       &rg.first) &&
			   jread_whole(cJSON_GetArrayItem(e, 1), SCENARIO_PAGE_NUMBER_MAX,
				       &rg.end)) {
			if (rg.end <= rg.first)
				ok = jread_fail(r, "[%llu, %llu] is empty: a range is [first, end) with end > first",
						(unsigned long long)rg.first,
						(unsigned long long)rg.end);
		} else {
			ok = jread_fail(r, "expected a page number or a [first, end) pair");
		}
		if (ok && rg.end > limit)
			ok = jread_fail(r, "pages up to %llu are past the end of %s (%llu pages)",
					(unsigned long long)rg.end - 1, limit_what,
					(unsigned long long)limit);
		out[i] = rg;
		jread_pop(r, at2);
	}
	if (ok)
		*count = (uint32_t)n;
	jread_pop(r, at);
	return ok;
}

static bool in_ranges(const struct scenario_range *rg, uint32_t n, uint64_t p)
{
	for (uint32_t i = 0; i < n; i++)
		if (p >= rg[i].first && p < rg[i].end)
			return true;
	return false;
}

/* ----------------------------------------------------------------- files */

/* A size: bytes as a number, or a string "<n> pages|KiB|MiB|bytes". */
static bool read_size(struct jread *r, const cJSON *obj, uint64_t *bytes)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "size");
	const uint64_t max = FILE_PAGES_MAX * PAGE_SIZE_BYTES;

	if (!v)
		return jread_fail(r, "missing required key \"size\"");
	if (cJSON_IsNumber(v))
		return jread_u64(r, obj, "size", true, 0, max, bytes);
	if (!cJSON_IsString(v))
		return jread_fail_at(r, "size", "expected bytes (a number) or a string such as \"64 pages\" or \"2 MiB\"");
	char *end;
	double n = strtod(v->valuestring, &end);
	while (isspace((unsigned char)*end))
		end++;
	double unit = 0;
	if (strcmp(end, "pages") == 0 || strcmp(end, "page") == 0)
		unit = (double)PAGE_SIZE_BYTES;
	else if (strcmp(end, "KiB") == 0)
		unit = 1024;
	else if (strcmp(end, "MiB") == 0)
		unit = 1024 * 1024;
	else if (strcmp(end, "bytes") == 0 || *end == '\0')
		unit = 1;
	if (end == v->valuestring || unit == 0 || n < 0 || n != n)
		return jread_fail_at(r, "size", "\"%s\" is not a size (a number of bytes, or \"<n> pages\", \"<n> KiB\", \"<n> MiB\")",
				     v->valuestring);
	double b = n * unit;
	if (b > (double)max)
		return jread_fail_at(r, "size", "\"%s\" is larger than the largest file modeled (%d pages)",
				     v->valuestring, FILE_PAGES_MAX);
	*bytes = (uint64_t)b;
	return true;
}

static bool read_file_entry(struct jread *r, const cJSON *v, struct scenario *s,
			    struct scenario_file *f, int index)
{
	static const char *const keys[] = { "name", "size", "cached", "thp",
					    "fuse", "no_map_pages",
					    "read_latency", "device", NULL };
	char device[DEVICE_NAME_MAX] = "";

	f->device = -1;
	if (!jread_object(r, v, keys) ||
	    !jread_str(r, v, "name", true, f->name, sizeof(f->name)) ||
	    !read_size(r, v, &f->size_bytes))
		return false;
	for (int j = 0; j < index; j++)
		if (strcmp(s->files[j].name, f->name) == 0)
			return jread_fail_at(r, "name", "file name \"%s\" is already used by files[%d]",
					     f->name, j);
	/* 50 us: an NVMe 4 KiB random read at queue depth 1 (KERNEL.md 10). */
	f->read_latency_ns = 50000;
	if (!jread_str(r, v, "device", false, device, sizeof(device)))
		return false;
	if (device[0]) {
		f->device = scenario_device_find(&s->devices, device);
		if (f->device < 0)
			return jread_fail_at(r, "device", "no device \"%s\" in devices",
					     device);
		if (cJSON_GetObjectItemCaseSensitive(v, "read_latency"))
			return jread_fail_at(r, "read_latency",
					     "the file lives on device \"%s\", whose latency applies; read_latency is for a file without a device",
					     device);
	}
	uint64_t pages = (f->size_bytes + PAGE_SIZE_BYTES - 1) / PAGE_SIZE_BYTES;
	char what[64];
	snprintf(what, sizeof(what), "file \"%s\"", f->name);
	return jread_bool(r, v, "thp", false, &f->thp) &&
	       jread_bool(r, v, "fuse", false, &f->fuse) &&
	       jread_bool(r, v, "no_map_pages", false, &f->no_map_pages) &&
	       jread_duration(r, v, "read_latency", false, &f->read_latency_ns) &&
	       read_ranges(r, v, "cached", pages, what, f->cached,
			   &f->cached_count);
}

static bool read_files(struct jread *r, const cJSON *doc, struct scenario *s)
{
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(doc, "files");
	int n;

	if (!files)
		return true;
	size_t at = jread_push_key(r, "files");
	if (!jread_array(r, files, &n))
		return false;
	if (n > SCENARIO_FILES_MAX)
		return jread_fail(r, "%d files; at most %d", n, SCENARIO_FILES_MAX);
	for (int i = 0; i < n; i++) {
		size_t at2 = jread_push_index(r, i);
		if (!read_file_entry(r, cJSON_GetArrayItem(files, i), s,
				     &s->files[i], i))
			return false;
		s->files_count = (uint32_t)i + 1;
		jread_pop(r, at2);
	}
	jread_pop(r, at);
	return true;
}

/* ------------------------------------------------------------------ vmas */

static bool vma_overlaps(const struct scenario *s, const struct scenario_vma *v,
			 uint32_t upto, int *other)
{
	for (uint32_t i = 0; i < upto; i++) {
		const struct scenario_vma *o = &s->vmas[i];
		if (!o->at_start || !v->at_start)
			continue;
		if (v->start < o->start + o->pages && o->start < v->start + v->pages) {
			*other = (int)i;
			return true;
		}
	}
	return false;
}

/* The checks that populated pages of a file VMA are cached and that a
 * populated anon VMA has its anon_vma. */
static bool check_populated(struct jread *r, const struct scenario *s,
			    const struct scenario_vma *v)
{
	if (v->populated_count == 0)
		return true;
	if (v->kind == VMA_KIND_ANON && !v->anon_vma)
		return jread_fail_at(r, "populated",
				     "anonymous pages were written, so vma \"%s\" has an anon_vma: set \"anon_vma\": true",
				     v->name);
	if (v->kind == VMA_KIND_ANON)
		return true;
	const struct scenario_file *f = &s->files[v->file];
	for (uint32_t i = 0; i < v->populated_count; i++) {
		for (uint64_t p = v->populated[i].first; p < v->populated[i].end; p++) {
			uint64_t idx = v->pgoff + p;
			if (!in_ranges(f->cached, f->cached_count, idx))
				return jread_fail_at(r, "populated",
						     "page %llu of vma \"%s\" maps page %llu of file \"%s\", which is not cached",
						     (unsigned long long)p, v->name,
						     (unsigned long long)idx, f->name);
		}
	}
	return true;
}

/* Pages of v in ranges (a, na) that are also in (b, nb): the first, or
 * UINT64_MAX when none. */
static uint64_t ranges_overlap(const struct scenario_range *a, uint32_t na,
			       const struct scenario_range *b, uint32_t nb)
{
	SIM_ASSERT(na <= SCENARIO_RANGES_MAX);
	SIM_ASSERT(nb <= SCENARIO_RANGES_MAX);
	for (uint32_t i = 0; i < na; i++)
		for (uint64_t p = a[i].first; p < a[i].end; p++)
			if (in_ranges(b, nb, p))
				return p;
	return UINT64_MAX;
}

static uint64_t ranges_pages(const struct scenario_range *a, uint32_t n)
{
	uint64_t pages = 0;

	SIM_ASSERT(n <= SCENARIO_RANGES_MAX);
	for (uint32_t i = 0; i < n; i++)
		for (uint64_t p = a[i].first; p < a[i].end; p++)
			pages += !in_ranges(a, i, p);	/* ranges may overlap */
	SIM_ASSERT(pages <= MM_PAGES_MAX);
	return pages;
}

/* The states a page can start in besides populated: swapped out (and
 * maybe still in the swap cache), or in device memory.  Anonymous pages
 * only, of a VMA with an anon_vma, each page in one state. */
static bool check_page_states(struct jread *r, const struct scenario *s,
			      const struct scenario_vma *v)
{
	static const char *const keys[] = { "swapped", "swapcache",
					    "device_private" };
	uint32_t counts[] = { v->swapped_count, v->swapcache_count,
			      v->device_private_count };
	uint64_t p;

	SIM_ASSERT(v->swapcache_count <= SCENARIO_RANGES_MAX);
	SIM_ASSERT(v->kind == VMA_KIND_ANON || v->file >= 0);
	for (int i = 0; i < 3; i++) {
		if (!counts[i])
			continue;
		if (v->kind != VMA_KIND_ANON)
			return jread_fail_at(r, keys[i], "only anonymous pages can be %s; vma \"%s\" maps a file",
					     i == 2 ? "in device memory" : "swapped out",
					     v->name);
		if (!v->anon_vma)
			return jread_fail_at(r, keys[i], "these pages were anonymous pages before, so vma \"%s\" has an anon_vma: set \"anon_vma\": true",
					     v->name);
	}
	if (v->swapped_count && !s->devices.swap.configured)
		return jread_fail_at(r, "swapped", "pages are swapped out, but the scenario has no \"swap\" section");
	for (uint32_t i = 0; i < v->swapcache_count; i++)
		for (p = v->swapcache[i].first; p < v->swapcache[i].end; p++)
			if (!in_ranges(v->swapped, v->swapped_count, p))
				return jread_fail_at(r, "swapcache", "page %llu of vma \"%s\" is in the swap cache but not in \"swapped\"",
						     (unsigned long long)p, v->name);
	p = ranges_overlap(v->swapped, v->swapped_count, v->populated,
			   v->populated_count);
	if (p == UINT64_MAX)
		p = ranges_overlap(v->device_private, v->device_private_count,
				   v->populated, v->populated_count);
	if (p == UINT64_MAX)
		p = ranges_overlap(v->device_private, v->device_private_count,
				   v->swapped, v->swapped_count);
	if (p != UINT64_MAX)
		return jread_fail(r, "page %llu of vma \"%s\" is in two of \"populated\", \"swapped\" and \"device_private\"",
				  (unsigned long long)p, v->name);
	return true;
}

/* One VMA description; `mmap_op` for the body of an mmap operation, which
 * has no `populated` (pages appear by faulting). */
static bool read_vma_entry(struct jread *r, const cJSON *v, struct scenario *s,
			   struct scenario_vma *m, bool mmap_op)
{
	static const char *const keys[] = { "name", "start", "pages", "kind",
					    "file", "pgoff", "anon_vma", "thp",
					    "write", "populated", "swapped",
					    "swapcache", "device_private",
					    NULL };
	static const char *const mmap_keys[] = { "name", "start", "pages",
						 "kind", "file", "pgoff",
						 "anon_vma", "thp", "write",
						 NULL };
	char file[SCENARIO_OBJ_NAME_MAX] = "";
	int kind = VMA_KIND_ANON;

	m->write = true;
	m->file = -1;
	m->at_start = !mmap_op;
	if (!jread_object(r, v, mmap_op ? mmap_keys : keys) ||
	    !jread_str(r, v, "name", true, m->name, sizeof(m->name)) ||
	    !jread_u64(r, v, "start", true, 0, MM_PAGES_MAX - 1, &m->start) ||
	    !jread_u64(r, v, "pages", true, 1, MM_PAGES_MAX, &m->pages) ||
	    !jread_enum(r, v, "kind", true, vma_kind_names, &kind) ||
	    !jread_str(r, v, "file", false, file, sizeof(file)) ||
	    !jread_u64(r, v, "pgoff", false, 0, FILE_PAGES_MAX - 1, &m->pgoff) ||
	    !jread_bool(r, v, "anon_vma", false, &m->anon_vma) ||
	    !jread_bool(r, v, "thp", false, &m->thp) ||
	    !jread_bool(r, v, "write", false, &m->write))
		return false;
	m->kind = (enum scenario_vma_kind)kind;
	if (scenario_vma_index(s, m->name) >= 0)
		return jread_fail_at(r, "name", "vma name \"%s\" is already used",
				     m->name);
	if (m->start + m->pages > MM_PAGES_MAX)
		return jread_fail_at(r, "pages", "vma \"%s\" ends at page %llu, past the modeled address space (%llu pages)",
				     m->name,
				     (unsigned long long)(m->start + m->pages),
				     (unsigned long long)MM_PAGES_MAX);
	if (m->kind == VMA_KIND_ANON) {
		if (file[0])
			return jread_fail_at(r, "file", "an \"anon\" vma maps no file");
		if (m->thp)
			return jread_fail_at(r, "thp", "anonymous THP faults are not modeled; THPs come from a file's page cache (files[].thp)");
	} else {
		if (!file[0])
			return jread_fail(r, "missing required key \"file\" (kind \"%s\" maps a file)",
					  vma_kind_names[kind]);
		m->file = scenario_file_index(s, file);
		if (m->file < 0)
			return jread_fail_at(r, "file", "no file named \"%s\" in files", file);
		if (m->pgoff + m->pages > FILE_PAGES_MAX)
			return jread_fail_at(r, "pgoff", "vma \"%s\" maps file pages up to %llu, past the largest file modeled (%d pages)",
					     m->name,
					     (unsigned long long)(m->pgoff + m->pages - 1),
					     FILE_PAGES_MAX);
	}
	if (mmap_op)
		return true;
	char what[64];
	snprintf(what, sizeof(what), "vma \"%s\"", m->name);
	return read_ranges(r, v, "populated", m->pages, what, m->populated,
			   &m->populated_count) &&
	       read_ranges(r, v, "swapped", m->pages, what, m->swapped,
			   &m->swapped_count) &&
	       read_ranges(r, v, "swapcache", m->pages, what, m->swapcache,
			   &m->swapcache_count) &&
	       read_ranges(r, v, "device_private", m->pages, what,
			   m->device_private, &m->device_private_count) &&
	       check_populated(r, s, m) && check_page_states(r, s, m);
}

static bool read_vmas(struct jread *r, const cJSON *doc, struct scenario *s)
{
	const cJSON *vmas = cJSON_GetObjectItemCaseSensitive(doc, "vmas");
	uint64_t swapped = 0;
	int n, other;

	if (!vmas)
		return true;
	size_t at = jread_push_key(r, "vmas");
	if (!jread_array(r, vmas, &n))
		return false;
	if (n > VMAS_MAX)
		return jread_fail(r, "%d vmas; at most %d", n, VMAS_MAX);
	for (int i = 0; i < n; i++) {
		size_t at2 = jread_push_index(r, i);
		struct scenario_vma *m = &s->vmas[s->vmas_count];
		if (!read_vma_entry(r, cJSON_GetArrayItem(vmas, i), s, m, false))
			return false;
		if (vma_overlaps(s, m, s->vmas_count, &other))
			return jread_fail(r, "vma \"%s\" (pages %llu-%llu) overlaps vma \"%s\"",
					  m->name, (unsigned long long)m->start,
					  (unsigned long long)(m->start + m->pages - 1),
					  s->vmas[other].name);
		swapped += ranges_pages(m->swapped, m->swapped_count);
		if (swapped > s->devices.swap.slots)
			return jread_fail_at(r, "swapped", "%llu pages swapped out in all; the swap device has %u slots",
					     (unsigned long long)swapped,
					     s->devices.swap.slots);
		s->vmas_count++;
		jread_pop(r, at2);
	}
	jread_pop(r, at);
	return true;
}

/* The VMAs of mmap operations, in task and operation order. */
static bool read_mmap_vmas(struct jread *r, const cJSON *doc,
			   struct scenario *s)
{
	const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(doc, "tasks");
	int t = 0;

	if (!cJSON_IsArray(tasks))
		return true;	/* read_scenario reports it */
	for (const cJSON *task = tasks->child; task; task = task->next, t++) {
		const cJSON *ops = cJSON_GetObjectItemCaseSensitive(task, "ops");
		int o = 0;
		if (!cJSON_IsArray(ops))
			continue;
		for (const cJSON *op = ops->child; op; op = op->next, o++) {
			const cJSON *body = cJSON_GetObjectItemCaseSensitive(op, "mmap");
			if (!body)
				continue;
			size_t at = jread_push_key(r, "tasks");
			jread_push_index(r, t);
			jread_push_key(r, "ops");
			jread_push_index(r, o);
			jread_push_key(r, "mmap");
			if (s->vmas_count >= SCENARIO_VMAS_MAX)
				return jread_fail(r, "more than %d vmas with the mmap operations",
						  SCENARIO_VMAS_MAX);
			if (!read_vma_entry(r, body, s, &s->vmas[s->vmas_count], true))
				return false;
			s->vmas_count++;
			jread_pop(r, at);
		}
	}
	return true;
}

bool scenario_read_world(struct jread *r, const cJSON *doc, struct scenario *s)
{
	return read_kernel(r, doc, s) && read_files(r, doc, s) &&
	       read_vmas(r, doc, s) && read_mmap_vmas(r, doc, s);
}

/* ------------------------------------------------------------ operations */

/* A VMA by name (key `key` of obj); its index in *out. */
static bool read_vma_ref(struct jread *r, const cJSON *obj, const char *key,
			 const struct scenario *s, int *out)
{
	char name[SCENARIO_OBJ_NAME_MAX];

	if (!jread_str(r, obj, key, true, name, sizeof(name)))
		return false;
	*out = scenario_vma_index(s, name);
	if (*out < 0)
		return jread_fail_at(r, key, "no vma named \"%s\" (in vmas or made by an mmap operation)",
				     name);
	return true;
}

static bool read_page_in(struct jread *r, const cJSON *obj, const char *key,
			 const struct scenario_vma *v, uint64_t *page)
{
	if (!jread_u64(r, obj, key, true, 0, MM_PAGES_MAX, page))
		return false;
	if (*page >= v->pages)
		return jread_fail_at(r, key, "%llu is past the end of vma \"%s\" (%llu pages)",
				     (unsigned long long)*page, v->name,
				     (unsigned long long)v->pages);
	return true;
}

static bool read_fault_op(struct jread *r, const cJSON *b, struct scenario *s,
			  struct scenario_op *op)
{
	static const char *const keys[] = { "vma", "page", "write", "user",
					    NULL };
	int vma;
	uint64_t page;

	op->kind = OP_FAULT;
	op->u.fault.user = true;
	if (!jread_object(r, b, keys) || !read_vma_ref(r, b, "vma", s, &vma) ||
	    !read_page_in(r, b, "page", &s->vmas[vma], &page) ||
	    !jread_bool(r, b, "write", false, &op->u.fault.write) ||
	    !jread_bool(r, b, "user", false, &op->u.fault.user))
		return false;
	op->u.fault.address = s->vmas[vma].start + page;
	return true;
}

static bool read_write_op(struct jread *r, const cJSON *b, struct scenario *s,
			  struct scenario_op *op)
{
	static const char *const keys[] = { "file", "offset_pages", "pages",
					    "source_vma", "source_page", NULL };
	char file[SCENARIO_OBJ_NAME_MAX];
	int vma;
	uint64_t page = 0;
	uint32_t pages = 1;

	op->kind = OP_WRITE;
	if (!jread_object(r, b, keys) ||
	    !jread_str(r, b, "file", true, file, sizeof(file)))
		return false;
	int f = scenario_file_index(s, file);
	if (f < 0)
		return jread_fail_at(r, "file", "no file named \"%s\" in files", file);
	if (!jread_u64(r, b, "offset_pages", true, 0, FILE_PAGES_MAX - 1,
		       &op->u.write.index) ||
	    !jread_u32(r, b, "pages", false, 1, SCENARIO_WRITE_PAGES_MAX, &pages) ||
	    !read_vma_ref(r, b, "source_vma", s, &vma) ||
	    !read_page_in(r, b, "source_page", &s->vmas[vma], &page))
		return false;
	if (op->u.write.index + pages > FILE_PAGES_MAX)
		return jread_fail_at(r, "pages", "the write ends past the largest file modeled (%d pages)",
				     FILE_PAGES_MAX);
	if (page + pages > s->vmas[vma].pages)
		return jread_fail_at(r, "pages", "the source runs past the end of vma \"%s\" (%llu pages)",
				     s->vmas[vma].name,
				     (unsigned long long)s->vmas[vma].pages);
	op->u.write.file = (uint32_t)f;
	op->u.write.pages = pages;
	op->u.write.src = s->vmas[vma].start + page;
	return true;
}

/* `key` of obj: one page N or one range [first, end), within
 * [0, limit); absent, the whole [0, limit). */
static bool read_one_range(struct jread *r, const cJSON *obj, const char *key,
			   uint64_t limit, const char *limit_what,
			   uint64_t *first, uint64_t *end)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON *a = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, 0) : NULL;
	const cJSON *b = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, 1) : NULL;

	SIM_ASSERT(limit > 0);
	SIM_ASSERT(first != NULL && end != NULL);
	*first = 0;
	*end = limit;
	if (!v)
		return true;
	if (jread_whole(v, SCENARIO_PAGE_NUMBER_MAX, first)) {
		*end = *first + 1;
	} else if (cJSON_GetArraySize(v) == 2 &&
		   jread_whole(a, SCENARIO_PAGE_NUMBER_MAX, first) &&
		   jread_whole(b, SCENARIO_PAGE_NUMBER_MAX, end) && *end > *first) {
		/* [first, end) */
	} else {
		*first = 0;
		*end = limit;
		return jread_fail_at(r, key, "expected a page number or one [first, end) range with end > first");
	}
	if (*end > limit)
		return jread_fail_at(r, key, "pages up to %llu are past the end of %s (%llu pages)",
				     (unsigned long long)*end - 1, limit_what,
				     (unsigned long long)limit);
	return true;
}

static const char *const reclaim_target_names[] = {
	[RECLAIM_TARGET_ALL] = "all",
	[RECLAIM_TARGET_ANON] = "anon",
	[RECLAIM_TARGET_FILE] = "file",
	[RECLAIM_TARGETS_COUNT] = NULL,
};

static bool read_reclaim_op(struct jread *r, const cJSON *b, struct scenario *s,
			    struct scenario_op *op)
{
	static const char *const keys[] = { "scan", "target", "mode", "vma",
					    "file", "pages",
					    "ignore_references",
					    "wait_writeback", NULL };
	static const char *const modes[] = { "kswapd", "direct", NULL };
	char file[SCENARIO_OBJ_NAME_MAX] = "";
	int target = RECLAIM_TARGET_ALL, mode = 0, vma = -1;
	uint64_t first, end;

	SIM_ASSERT(b != NULL);
	SIM_ASSERT(RECLAIM_TARGETS_COUNT == 3);
	op->kind = OP_RECLAIM;
	op->u.reclaim.nr_to_scan = 32;	/* SWAP_CLUSTER_MAX */
	op->u.reclaim.file = -1;
	if (!jread_object(r, b, keys) ||
	    !jread_u32(r, b, "scan", false, 1, FOLIOS_MAX, &op->u.reclaim.nr_to_scan) ||
	    !jread_enum(r, b, "target", false, reclaim_target_names, &target) ||
	    !jread_enum(r, b, "mode", false, modes, &mode) ||
	    !jread_bool(r, b, "ignore_references", false,
			&op->u.reclaim.ignore_references) ||
	    !jread_bool(r, b, "wait_writeback", false,
			&op->u.reclaim.wait_writeback) ||
	    !jread_str(r, b, "file", false, file, sizeof(file)))
		return false;
	op->u.reclaim.target = (uint8_t)target;
	op->u.reclaim.kswapd = mode == 0;
	if (op->u.reclaim.wait_writeback && op->u.reclaim.kswapd)
		return jread_fail_at(r, "wait_writeback", "only direct reclaim of a legacy memcg waits for writeback: set \"mode\": \"direct\"");
	bool has_vma = cJSON_GetObjectItemCaseSensitive(b, "vma") != NULL;
	if (has_vma && file[0])
		return jread_fail_at(r, "file", "name a \"vma\" or a \"file\", not both");
	if (!has_vma && !file[0]) {
		if (cJSON_GetObjectItemCaseSensitive(b, "pages"))
			return jread_fail_at(r, "pages", "pages of what? name a \"vma\" or a \"file\"");
		return true;
	}
	op->u.reclaim.filtered = true;
	if (has_vma) {
		if (!read_vma_ref(r, b, "vma", s, &vma))
			return false;
		const struct scenario_vma *v = &s->vmas[vma];
		char what[64];
		snprintf(what, sizeof(what), "vma \"%s\"", v->name);
		if (!read_one_range(r, b, "pages", v->pages, what, &first, &end))
			return false;
		/* Anonymous folios there (an anonymous VMA's, or a private
		 * file mapping's COW copies), and the file's pages it maps. */
		op->u.reclaim.anon_first = v->start + first;
		op->u.reclaim.anon_end = v->start + end;
		if (v->file >= 0) {
			op->u.reclaim.file = v->file;
			op->u.reclaim.file_first = v->pgoff + first;
			op->u.reclaim.file_end = v->pgoff + end;
		}
		return true;
	}
	int f = scenario_file_index(s, file);
	if (f < 0)
		return jread_fail_at(r, "file", "no file named \"%s\" in files", file);
	char what[64];
	snprintf(what, sizeof(what), "file \"%s\"", file);
	if (!read_one_range(r, b, "pages", FILE_PAGES_MAX, what, &first, &end))
		return false;
	op->u.reclaim.file = f;
	op->u.reclaim.file_first = first;
	op->u.reclaim.file_end = end;
	return true;
}

/* store, gup_write, migrate: a page of a VMA. */
static bool read_access_op(struct jread *r, const cJSON *b, struct scenario *s,
			   struct scenario_op *op, enum op_kind kind)
{
	static const char *const keys[] = { "vma", "page", NULL };
	static const char *const gup_keys[] = { "vma", "page", "hold", NULL };
	int vma;
	uint64_t page;

	SIM_ASSERT(kind == OP_STORE || kind == OP_GUP_WRITE || kind == OP_MIGRATE);
	SIM_ASSERT(b != NULL);
	op->kind = kind;
	if (!jread_object(r, b, kind == OP_GUP_WRITE ? gup_keys : keys) ||
	    !read_vma_ref(r, b, "vma", s, &vma) ||
	    !read_page_in(r, b, "page", &s->vmas[vma], &page) ||
	    !jread_duration(r, b, "hold", false, &op->u.access.hold_ns))
		return false;
	if (kind == OP_MIGRATE && s->vmas[vma].kind != VMA_KIND_ANON)
		return jread_fail_at(r, "vma", "migration is modeled for anonymous pages; vma \"%s\" maps a file",
				     s->vmas[vma].name);
	op->u.access.address = s->vmas[vma].start + page;
	return true;
}

bool scenario_read_mm_op(struct jread *r, const cJSON *b, struct scenario *s,
			 struct scenario_op *op)
{
	const char *name = b->string;
	int vma;

	if (strcmp(name, "fault") == 0)
		return read_fault_op(r, b, s, op);
	if (strcmp(name, "write") == 0)
		return read_write_op(r, b, s, op);
	if (strcmp(name, "mmap") == 0) {
		/* Read by read_mmap_vmas already; find it by name. */
		char vname[SCENARIO_OBJ_NAME_MAX];
		op->kind = OP_MMAP;
		if (!jread_str(r, b, "name", true, vname, sizeof(vname)))
			return false;
		vma = scenario_vma_index(s, vname);
		SIM_ASSERT(vma >= 0 && !s->vmas[vma].at_start);
		op->u.mmap.vma = (uint32_t)vma;
		return true;
	}
	if (strcmp(name, "munmap") == 0) {
		static const char *const keys[] = { "vma", NULL };
		op->kind = OP_MUNMAP;
		if (!jread_object(r, b, keys) || !read_vma_ref(r, b, "vma", s, &vma))
			return false;
		op->u.range.start = s->vmas[vma].start;
		op->u.range.pages = s->vmas[vma].pages;
		return true;
	}
	if (strcmp(name, "reclaim") == 0)
		return read_reclaim_op(r, b, s, op);
	if (strcmp(name, "truncate") == 0) {
		static const char *const keys[] = { "file", "size", NULL };
		char file[SCENARIO_OBJ_NAME_MAX];
		op->kind = OP_TRUNCATE;
		if (!jread_object(r, b, keys) ||
		    !jread_str(r, b, "file", true, file, sizeof(file)) ||
		    !read_size(r, b, &op->u.truncate.size_bytes))
			return false;
		int f = scenario_file_index(s, file);
		if (f < 0)
			return jread_fail_at(r, "file", "no file named \"%s\" in files", file);
		op->u.truncate.file = (uint32_t)f;
		return true;
	}
	if (strcmp(name, "punch_hole") == 0) {
		static const char *const keys[] = { "file", "offset_pages",
						    "pages", NULL };
		char file[SCENARIO_OBJ_NAME_MAX];
		op->kind = OP_PUNCH_HOLE;
		op->u.punch.pages = 1;
		if (!jread_object(r, b, keys) ||
		    !jread_str(r, b, "file", true, file, sizeof(file)) ||
		    !jread_u64(r, b, "offset_pages", true, 0, FILE_PAGES_MAX - 1,
			       &op->u.punch.index) ||
		    !jread_u64(r, b, "pages", false, 1, FILE_PAGES_MAX,
			       &op->u.punch.pages))
			return false;
		int f = scenario_file_index(s, file);
		if (f < 0)
			return jread_fail_at(r, "file", "no file named \"%s\" in files", file);
		if (op->u.punch.index + op->u.punch.pages > FILE_PAGES_MAX)
			return jread_fail_at(r, "pages", "the hole ends past the largest file modeled (%d pages)",
					     FILE_PAGES_MAX);
		op->u.punch.file = (uint32_t)f;
		return true;
	}
	if (strcmp(name, "store") == 0)
		return read_access_op(r, b, s, op, OP_STORE);
	if (strcmp(name, "gup_write") == 0)
		return read_access_op(r, b, s, op, OP_GUP_WRITE);
	if (strcmp(name, "migrate") == 0)
		return read_access_op(r, b, s, op, OP_MIGRATE);
	if (strcmp(name, "mprotect") == 0) {
		static const char *const keys[] = { "vma", "write", NULL };
		op->kind = OP_MPROTECT;
		if (!jread_object(r, b, keys) || !read_vma_ref(r, b, "vma", s, &vma) ||
		    !jread_bool(r, b, "write", true, &op->u.range.write))
			return false;
		op->u.range.start = s->vmas[vma].start;
		op->u.range.pages = s->vmas[vma].pages;
		return true;
	}
	return jread_fail(r, "unknown operation \"%s\"", name);
}
