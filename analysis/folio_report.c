/*
 * folio_report.c: what the leak and stale-PTE checkers say about a folio,
 * in the kernel's terms: which folio (id, order, file and index, or anon),
 * its reference log oldest first, and the function that installed its
 * latest mapping.  Read-only: nothing here changes or yields.  Not the
 * checks themselves (leak.c, stale.c).
 */
#include <string.h>

#include "analysis/checkers_int.h"

const char *folio_kind_name(const struct folio *f)
{
	bool thp = f->order == HPAGE_PMD_ORDER;

	if (!folio_test(f, PG_anon))
		return thp ? "THP file" : "small file";
	if (folio_test(f, PG_swapcache))
		return thp ? "THP anon swapcache" : "small anon swapcache";
	return thp ? "THP anon" : "small anon";
}

/* The file a page cache folio belongs to, or NULL once it left it. */
static const char *folio_file_name(const struct folio *f)
{
	if (!f->mapping || !f->mapping->host)
		return NULL;
	return f->mapping->host->name;
}

void text_folio(struct strbuf *b, const struct folio *f)
{
	const char *file = folio_file_name(f);

	strbuf_printf(b, "folio #%u (%s, ", f->id, folio_kind_name(f));
	if (folio_test(f, PG_anon))
		strbuf_printf(b, "page %llu)", (unsigned long long)f->index);
	else if (file)
		strbuf_printf(b, "%s index %llu)", file,
			      (unsigned long long)f->index);
	else
		strbuf_printf(b, "index %llu, mapping NULL)",
			      (unsigned long long)f->index);
}

void json_folio(struct jw *w, const struct folio *f)
{
	const char *file = folio_file_name(f);

	jw_u64(w, "folio", f->id);
	jw_u64(w, "order", f->order);
	jw_str(w, "folio_kind", folio_kind_name(f));
	jw_bool(w, "anon", folio_test(f, PG_anon));
	if (file)
		jw_str(w, "mapping", file);
	else
		jw_null(w, "mapping");
	jw_u64(w, "index", f->index);
	jw_bool(w, "locked", folio_test(f, PG_locked));
	jw_bool(w, "swapcache", folio_test(f, PG_swapcache));
}

const char *checked_task_name(uint16_t id)
{
	if (id == TRACE_NO_TASK || id >= sim->tasks_count)
		return NULL;
	return sim->tasks[id].name;
}

static void json_task(struct jw *w, uint16_t id)
{
	const char *name = checked_task_name(id);

	/* World building and I/O completions run outside any task. */
	if (name) {
		jw_str(w, "task", name);
		jw_u64(w, "task_id", id);
	} else {
		jw_null(w, "task");
	}
}

uint32_t ref_log_count(const struct folio *f)
{
	return f->ref_log_next < FOLIO_REF_LOG_MAX ? f->ref_log_next
						   : FOLIO_REF_LOG_MAX;
}

const struct folio_ref_change *ref_log_entry(const struct folio *f,
					     uint32_t i)
{
	uint32_t n = ref_log_count(f);

	SIM_ASSERT(i < n);
	return &f->ref_log[(f->ref_log_next - n + i) % FOLIO_REF_LOG_MAX];
}

void json_ref_log(struct jw *w, const struct folio *f)
{
	uint32_t n = ref_log_count(f);

	jw_arr_begin(w, "last_changes");
	for (uint32_t i = 0; i < n; i++) {
		const struct folio_ref_change *c = ref_log_entry(f, i);
		jw_obj_begin(w, NULL);
		jw_str(w, "function", c->where);
		jw_i64(w, "ref", c->ref_delta);
		jw_i64(w, "map", c->map_delta);
		jw_i64(w, "refcount", c->refcount);
		jw_i64(w, "mapcount", c->mapcount);
		json_task(w, c->task);
		jw_u64(w, "step", c->step);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	/* Changes older than the log's window. */
	jw_u64(w, "earlier_changes", f->ref_log_next - n);
}

void text_ref_log(struct strbuf *b, const struct folio *f)
{
	uint32_t n = ref_log_count(f);

	for (uint32_t i = 0; i < n; i++) {
		const struct folio_ref_change *c = ref_log_entry(f, i);
		const char *task = checked_task_name(c->task);
		strbuf_printf(b, "%s%s", i ? ", " : "", c->where);
		if (c->ref_delta)
			strbuf_printf(b, " ref %+d", c->ref_delta);
		if (c->map_delta)
			strbuf_printf(b, " map %+d", c->map_delta);
		if (task)
			strbuf_printf(b, " (%s/%u, step %llu)", task, c->task,
				      (unsigned long long)c->step);
	}
}

/*
 * The model hands every new mapping a reference right after the rmap
 * change (mm.h: "each PTE or PMD mapping: one ref (and one mapcount),
 * handed over from the mapper's own reference (folio_ref_to_mapping) or
 * added (folio_ref_add)"), and the rmap helpers log under their own names
 * (folio_add_file_rmap_ptes) while the reference change logs under the
 * mapper's (finish_fault, do_set_pmd, filemap_map_folio_range).  So the
 * mapper is the first change after the latest mapcount increase, by the
 * same task, that adds or hands over a reference.  NULL when the log no
 * longer holds it, or the mapping was made before the run (populated).
 */
const struct folio_ref_change *ref_log_installer(const struct folio *f)
{
	uint32_t n = ref_log_count(f);

	for (uint32_t i = n; i-- > 0;) {
		const struct folio_ref_change *map = ref_log_entry(f, i);
		if (map->map_delta <= 0)
			continue;
		for (uint32_t j = i + 1; j < n; j++) {
			const struct folio_ref_change *c = ref_log_entry(f, j);
			if (c->task != map->task)
				continue;
			/* Taken back before any PTE got set (fault-around's
			 * re-check failed): look at the increase before. */
			if (c->map_delta < 0)
				break;
			if (c->map_delta == 0 && c->ref_delta >= 0)
				return c;
		}
	}
	return NULL;
}

void sort_names(const char **names, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		const char *x = names[i];
		uint32_t at = i;
		while (at > 0 && strcmp(names[at - 1], x) > 0) {
			names[at] = names[at - 1];
			at--;
		}
		names[at] = x;
	}
}
