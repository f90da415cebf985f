/*
 * world.c: builds a schedule's world from a scenario (the mm, its files
 * with their page cache and backing store, its VMAs with their populated,
 * swapped-out and device-private pages, the tasks) and runs each scenario
 * task's operations in order.  Building runs
 * before any task, so it writes state directly, without locks or yields;
 * everything after goes through the model's kernel functions.  Not the
 * loader (scenario.c) nor the model.
 */
#include "engine/engine.h"
#include "mm/internal.h"
#include "mm/devices.h"
#include "mm/locks.h"
#include "mm/swap_state.h"
#include "mm/vmstat.h"
#include "mm/world.h"

struct mm_world *mm_world;

struct task_ctx {
	struct world *world;
	const struct scenario_task *st;
};

/* ----------------------------------------------------------- operations */

static void run_op(struct world *w, const struct scenario_op *op)
{
	const struct scenario *s = w->scenario;

	switch (op->kind) {
	case OP_SLEEP:
		sim_sleep(op->u.sleep.ns);
		break;
	case OP_FAULT:
		do_user_addr_fault(op->u.fault.address, op->u.fault.write,
				   op->u.fault.user);
		break;
	case OP_WRITE:
		ksys_write(mm_world->files[op->u.write.file], op->u.write.index,
			   op->u.write.pages, op->u.write.src);
		break;
	case OP_MMAP: {
		const struct scenario_vma *v = &s->vmas[op->u.mmap.vma];
		struct vma_desc d;
		world_vma_desc(v, &d);
		do_mmap(&d, NULL);
		break;
	}
	case OP_MUNMAP:
		do_munmap(op->u.range.start, op->u.range.pages);
		break;
	case OP_MPROTECT:
		do_mprotect(op->u.range.start, op->u.range.pages,
			    op->u.range.write);
		break;
	case OP_RECLAIM: {
		struct scan_control sc = {
			.nr_to_scan = op->u.reclaim.nr_to_scan,
			.target = (enum reclaim_target)op->u.reclaim.target,
			.kswapd = op->u.reclaim.kswapd,
			.ignore_references = op->u.reclaim.ignore_references,
			.wait_writeback = op->u.reclaim.wait_writeback,
			.filtered = op->u.reclaim.filtered,
			.anon_first = op->u.reclaim.anon_first,
			.anon_end = op->u.reclaim.anon_end,
			.file = op->u.reclaim.file,
			.file_first = op->u.reclaim.file_first,
			.file_end = op->u.reclaim.file_end,
		};
		shrink_inactive_list(&sc);
		break;
	}
	case OP_TRUNCATE:
		do_truncate(mm_world->files[op->u.truncate.file],
			    op->u.truncate.size_bytes);
		break;
	case OP_PUNCH_HOLE:
		do_punch_hole(mm_world->files[op->u.punch.file],
			      op->u.punch.index, op->u.punch.pages);
		break;
	case OP_STORE:
		user_store(op->u.access.address);
		break;
	case OP_GUP_WRITE:
		gup_write(op->u.access.address, op->u.access.hold_ns);
		break;
	case OP_MIGRATE:
		migrate_folio_at(op->u.access.address);
		break;
	case OP_KINDS_COUNT:
		SIM_ASSERT(!"not an operation");
	}
	/* An operation that returns holding a folio reference has leaked it:
	 * no code path will put it. */
	task_folio_refs_orphan();
	SIM_ASSERT(current_mm_state()->fault == NULL);
}

static void scenario_task_main(void *arg)
{
	struct task_ctx *c = arg;

	for (uint32_t i = 0; i < c->st->ops_count; i++)
		run_op(c->world, &c->st->ops[i]);
}

struct task *mm_task_create(struct engine *e, const char *name, uint16_t cpu,
			    void (*fn)(void *arg), void *arg)
{
	struct task *t = task_create(e, name, cpu, fn, arg);

	t->priv = arena_new(&e->arena, struct task_mm);
	return t;
}

void mm_world_reset(void)
{
	mm_obj_ids_reset();
	vm_events_reset();
	mm_world = NULL;
	rwsem_policy_set(RWSEM_FAIR);
}

/* ----------------------------------------------------------- mm world */

struct mm_world *mm_world_create(struct engine *e,
				 const struct kernel_knobs *knobs)
{
	struct mm_world *w = arena_new(&e->arena, struct mm_world);
	struct mm_struct *mm = arena_new(&e->arena, struct mm_struct);

	w->knobs = *knobs;
	rwsem_policy_set(knobs->rwsem == RWSEM_KNOB_READER_PREFERRING
				 ? RWSEM_READER_PREFERRING : RWSEM_FAIR);
	mm->id = mm_obj_id();
	spin_lock_init(&w->lru_lock, LC_LRU_LOCK, mm->id);
	mmap_init_lock(mm);
	spin_lock_init(&mm->page_table_lock, LC_PAGE_TABLE_LOCK, mm->id);
	spin_lock_init(&mm->pmd_lock, LC_PMD_LOCK, mm->id);
	w->mm = mm;
	mm_world = w;
	return w;
}

static struct file *file_build(struct engine *e, const struct scenario_file *sf,
			       const struct world_devices *wd)
{
	struct inode *inode = arena_new(&e->arena, struct inode);
	struct file *file = arena_new(&e->arena, struct file);
	struct address_space *m = &inode->i_data;

	inode->id = mm_obj_id();
	snprintf(inode->name, sizeof(inode->name), "%s", sf->name);
	inode->i_size = sf->size_bytes;
	inode->fuse = sf->fuse;
	inode->no_map_pages = sf->no_map_pages;
	inode->thp = sf->thp;
	inode->read_latency_ns = sf->read_latency_ns;
	init_rwsem(&inode->i_rwsem, LC_I_RWSEM, inode->id);
	m->id = inode->id;
	m->host = inode;
	if (sf->device >= 0) {
		SIM_ASSERT((uint32_t)sf->device < wd->count);
		m->bdev = wd->bdev[sf->device];
	}
	spin_lock_init(&m->i_pages_lock, LC_I_PAGES, m->id);
	init_rwsem(&m->i_mmap_rwsem, LC_I_MMAP_RWSEM, m->id);
	init_rwsem(&m->invalidate_lock, LC_INVALIDATE_LOCK, m->id);
	file->f_inode = inode;
	file->f_mapping = m;
	return file;
}

static bool range_cached(const struct scenario_file *sf, uint64_t first,
			 uint64_t end)
{
	for (uint64_t p = first; p < end; p++) {
		bool in = false;
		for (uint32_t i = 0; i < sf->cached_count && !in; i++)
			in = p >= sf->cached[i].first && p < sf->cached[i].end;
		if (!in)
			return false;
	}
	return true;
}

/* A cached, uptodate, clean folio at index: in the page cache, holding
 * only the cache's references, its contents those of the backing store. */
static void page_cache_build(struct address_space *m, pgoff_t index,
			     unsigned int order)
{
	struct folio *folio = folio_alloc(order);
	uint32_t nr = folio_nr_pages(folio);

	SIM_ASSERT(folio != NULL);
	folio_set(folio, PG_uptodate);
	folio->mapping = m;
	folio->index = index;
	folio->data = ++mm_world->data_versions;
	folio_ref_add(folio, (int)nr);
	for (uint32_t i = 0; i < nr; i++) {
		xa_slot_store(m, index + i)->folio = folio;
		inode_disk_store(m->host, index + i, folio->data);
	}
	m->nrpages += nr;
	folio_add_lru(folio);
	folio_put(folio);
}

static void cache_build(const struct scenario_file *sf, struct file *file)
{
	uint64_t pages = (sf->size_bytes + PAGE_SIZE_BYTES - 1) / PAGE_SIZE_BYTES;

	for (uint64_t p = 0; p < pages;) {
		if (sf->thp && p % HPAGE_PMD_NR == 0 && p + HPAGE_PMD_NR <= pages &&
		    range_cached(sf, p, p + HPAGE_PMD_NR)) {
			page_cache_build(file->f_mapping, p, HPAGE_PMD_ORDER);
			p += HPAGE_PMD_NR;
			continue;
		}
		if (range_cached(sf, p, p + 1))
			page_cache_build(file->f_mapping, p, 0);
		p++;
	}
}

void world_vma_desc(const struct scenario_vma *v, struct vma_desc *d)
{
	*d = (struct vma_desc){
		.name = v->name,
		.start = v->start,
		.pages = v->pages,
		.vm_flags = (v->write ? VM_WRITE : 0) |
			    (v->kind == VMA_KIND_FILE_SHARED ? VM_SHARED : 0) |
			    (v->thp ? VM_HUGEPAGE : VM_NOHUGEPAGE),
		.file = v->file >= 0 ? mm_world->files[v->file] : NULL,
		.pgoff = v->pgoff,
		.anon_vma = v->anon_vma,
	};
}

static struct pte_table *pt_of(struct mm_struct *mm, uint64_t addr)
{
	pmd_t *pmd = pmd_of(mm, addr);

	if (pmd->kind == PMD_NONE) {
		pmd->kind = PMD_TABLE;
		pmd->table = pte_alloc_one(mm);
	}
	SIM_ASSERT(pmd->kind == PMD_TABLE);
	return pmd->table;
}

/* A populated page: as if faulted in before the run (anon: written; file:
 * read, mapped read-only; a whole cached THP in a THP VMA: one PMD).  Long
 * enough before that an aging pass cleared the accessed bits: reclaim
 * finds the PTEs old. */
static uint64_t populate_build(struct vm_area_struct *vma, uint64_t addr,
			       uint64_t end)
{
	struct mm_struct *mm = vma->vm_mm;

	if (vma_is_anonymous(vma)) {
		struct folio *folio = folio_alloc(0);
		SIM_ASSERT(folio != NULL);
		folio_set(folio, PG_uptodate);
		folio_set(folio, PG_anon);
		folio->anon_vma = vma->anon_vma;
		folio->index = addr;
		folio->data = ++mm_world->data_versions;
		folio->mapcount = 1;
		folio_add_lru(folio);
		pt_of(mm, addr)->ptes[pte_index(addr)] = (pte_t){
			.kind = PTE_PRESENT, .folio = folio, .dirty = true,
			.write = (vma->vm_flags & VM_WRITE) != 0 };
		return addr + 1;
	}
	struct address_space *m = vma->vm_file->f_mapping;
	pgoff_t idx = vma->vm_pgoff + (addr - vma->vm_start);
	struct folio *folio = xa_slot_load(m, idx)->folio;
	SIM_ASSERT(folio != NULL);	/* the loader checked it is cached */
	pmd_t *pmd = pmd_of(mm, addr);
	if (folio->order == HPAGE_PMD_ORDER && (vma->vm_flags & VM_HUGEPAGE) &&
	    addr % HPAGE_PMD_NR == 0 && addr + HPAGE_PMD_NR <= end &&
	    idx == folio->index && pmd->kind == PMD_NONE &&
	    (vma->vm_start - vma->vm_pgoff) % HPAGE_PMD_NR == 0) {
		*pmd = (pmd_t){ .kind = PMD_HUGE, .folio = folio };
		folio->refcount++;
		folio->mapcount++;
		return addr + HPAGE_PMD_NR;
	}
	pt_of(mm, addr)->ptes[pte_index(addr)] = (pte_t){
		.kind = PTE_PRESENT, .folio = folio,
		.subpage = (uint16_t)(idx - folio->index) };
	folio->refcount++;
	folio->mapcount++;
	return addr + 1;
}

/* A page swapped out before the run: a swap PTE for a slot holding its
 * contents, and, if it is in the swap cache, the folio there (clean,
 * unmapped, unlocked, on the LRU), as reclaim leaves one after writeback
 * and before it gets to free it. */
static void swapped_build(struct vm_area_struct *vma, uint64_t addr,
			  bool cached)
{
	swp_entry_t entry = swap_slot_build(++mm_world->data_versions);

	SIM_ASSERT(entry.val != 0);	/* the loader counted the slots */
	SIM_ASSERT(vma->anon_vma != NULL);
	pt_of(vma->vm_mm, addr)->ptes[pte_index(addr)] =
		(pte_t){ .kind = PTE_SWAP, .swp = entry };
	if (!cached)
		return;
	struct folio *folio = folio_alloc(0);
	SIM_ASSERT(folio != NULL);
	folio_set(folio, PG_anon);
	folio_set(folio, PG_uptodate);
	folio->anon_vma = vma->anon_vma;
	folio->index = addr;
	swap_cache_build(folio, entry);
	folio_add_lru(folio);
}

/* A page in device memory (HMM): a device-private entry holding a
 * reference and a mapcount on a ZONE_DEVICE folio. */
static void device_private_build(struct vm_area_struct *vma, uint64_t addr)
{
	struct folio *folio = folio_alloc(0);

	SIM_ASSERT(folio != NULL);
	SIM_ASSERT(vma->anon_vma != NULL);
	folio_set(folio, PG_anon);
	folio_set(folio, PG_device);
	folio_set(folio, PG_uptodate);
	folio->anon_vma = vma->anon_vma;
	folio->index = addr;
	folio->data = ++mm_world->data_versions;
	folio->mapcount = 1;
	pt_of(vma->vm_mm, addr)->ptes[pte_index(addr)] = (pte_t){
		.kind = PTE_DEVICE_PRIVATE, .folio = folio,
		.write = (vma->vm_flags & VM_WRITE) != 0 };
}

static bool in_scenario_ranges(const struct scenario_range *rg, uint32_t n,
			       uint64_t p)
{
	SIM_ASSERT(n <= SCENARIO_RANGES_MAX);
	SIM_ASSERT(n == 0 || rg != NULL);
	for (uint32_t i = 0; i < n; i++)
		if (p >= rg[i].first && p < rg[i].end)
			return true;
	return false;
}

static void vmas_build(const struct scenario *s)
{
	for (uint32_t i = 0; i < s->vmas_count; i++) {
		const struct scenario_vma *v = &s->vmas[i];
		struct vma_desc d;
		if (!v->at_start)
			continue;
		world_vma_desc(v, &d);
		struct vm_area_struct *vma = vma_build(mm_world->mm, &d);
		for (uint32_t r = 0; r < v->populated_count; r++) {
			uint64_t end = v->start + v->populated[r].end;
			for (uint64_t a = v->start + v->populated[r].first; a < end;)
				a = populate_build(vma, a, end);
		}
		/* Page by page in address order, so slots are handed out in
		 * that order too. */
		for (uint64_t p = 0; p < v->pages; p++) {
			if (in_scenario_ranges(v->swapped, v->swapped_count, p))
				swapped_build(vma, v->start + p,
					      in_scenario_ranges(v->swapcache,
								 v->swapcache_count, p));
			else if (in_scenario_ranges(v->device_private,
						    v->device_private_count, p))
				device_private_build(vma, v->start + p);
		}
	}
}

struct world *world_build(struct engine *e, const struct scenario *s)
{
	struct world *w = arena_new(&e->arena, struct world);

	mm_world_reset();
	struct world_devices *wd = devices_build(e, &s->devices);
	SIM_ASSERT(s->cpus <= e->params.cpus);
	SIM_ASSERT(s->files_count <= FILES_MAX);
	w->scenario = s;
	w->mm = mm_world_create(e, &s->knobs);
	for (uint32_t i = 0; i < s->files_count; i++) {
		w->mm->files[i] = file_build(e, &s->files[i], wd);
		w->mm->inodes[i] = w->mm->files[i]->f_inode;
		cache_build(&s->files[i], w->mm->files[i]);
	}
	w->mm->files_count = s->files_count;
	vmas_build(s);
	for (uint32_t i = 0; i < s->tasks_count; i++) {
		struct task_ctx *c = arena_new(&e->arena, struct task_ctx);
		c->world = w;
		c->st = &s->tasks[i];
		w->tasks[i] = mm_task_create(e, s->tasks[i].name, s->tasks[i].cpu,
					  scenario_task_main, c);
	}
	w->tasks_count = s->tasks_count;
	return w;
}
