/*
 * timeline.c: the recorder behind timeline.h.  Hooks append to growing
 * arrays; finish() turns what was recorded into what the renderers need
 * (closed slices, lanes, resolved wake-ups).  Only replays of one run
 * attach it (cli's show, export and report), never a campaign, so the
 * step loop of a campaign stays allocation-free.  Not a renderer.
 *
 * Lanes: a track in a trace viewer shows slices that nest, never ones that
 * partly overlap, but a task's lock holds do overlap (the fault path takes
 * mmap_lock, then the folio lock, and drops mmap_lock first).  Each task's
 * slices are therefore dealt into lanes: in order of start (longest first
 * on ties), each goes to the first lane where it nests inside what is open
 * there or starts after it ended.  Every lane is then a properly nested
 * stack of slices.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/timeline.h"
#include "engine/waitq.h"
#include "mm/blkdev.h"
#include "mm/locks.h"
#include "mm/vmstat.h"

/* Open slices at once, over every task: each task's held locks, a wait and
 * a fault. */
#define TL_OPEN_MAX (TASKS_MAX * (HELD_LOCKS_MAX + 2))

struct recorder {
	struct timeline *tl;
	uint32_t open_count;
	uint64_t open[TL_OPEN_MAX];	/* indices into tl->slices */
};

/* ------------------------------------------------------------ storage */

static bool grow(struct timeline *tl, void **arr, uint64_t *cap,
		 uint64_t count, size_t elem)
{
	if (count < *cap)
		return true;
	if (count >= TIMELINE_RECORDS_MAX) {
		tl->truncated = true;
		return false;
	}
	uint64_t want = *cap ? *cap * 2 : 1024;
	if (want > TIMELINE_RECORDS_MAX)
		want = TIMELINE_RECORDS_MAX;
	void *p = realloc(*arr, want * elem);
	if (!p) {
		tl->nomem = true;
		return false;
	}
	*arr = p;
	*cap = want;
	return true;
}

static struct tl_note *note_add(struct timeline *tl, enum tl_note_kind kind,
				const struct task *t)
{
	if (!grow(tl, (void **)&tl->notes, &tl->notes_cap, tl->notes_count,
		  sizeof(*tl->notes)))
		return NULL;
	struct tl_note *n = &tl->notes[tl->notes_count++];
	memset(n, 0, sizeof(*n));
	n->step = tl->engine->steps;
	n->time_ns = sim_now();
	n->task = t ? t->id : TRACE_NO_TASK;
	n->other = TRACE_NO_TASK;
	n->kind = (uint8_t)kind;
	return n;
}

static struct tl_slice *slice_add(struct recorder *r, enum tl_slice_kind kind,
				  const struct task *t, uint64_t start_ns,
				  bool open)
{
	struct timeline *tl = r->tl;

	if (open && r->open_count >= TL_OPEN_MAX)
		return NULL;
	if (!grow(tl, (void **)&tl->slices, &tl->slices_cap, tl->slices_count,
		  sizeof(*tl->slices)))
		return NULL;
	struct tl_slice *s = &tl->slices[tl->slices_count];
	memset(s, 0, sizeof(*s));
	s->kind = (uint8_t)kind;
	s->task = t->id;
	s->start_ns = start_ns;
	s->end_ns = start_ns;
	s->start_step = tl->engine->steps;
	if (open)
		r->open[r->open_count++] = tl->slices_count;
	tl->slices_count++;
	return s;
}

/* Close the latest open slice of `kind` of task t on lock l (mode 0:
 * any) at end_ns. */
static void slice_close(struct recorder *r, enum tl_slice_kind kind,
			const struct task *t, const void *l, uint8_t mode,
			uint64_t end_ns)
{
	for (uint32_t i = r->open_count; i-- > 0;) {
		struct tl_slice *s = &r->tl->slices[r->open[i]];
		if (s->kind != kind || s->task != t->id || s->lock != l ||
		    (mode && s->mode != mode))
			continue;
		SIM_ASSERT(end_ns >= s->start_ns);
		s->end_ns = end_ns;
		r->open[i] = r->open[--r->open_count];
		return;
	}
}

/* --------------------------------------------------------------- hooks */

static void rec_block(void *ctx, struct task *t, struct waitq *wq)
{
	struct recorder *r = ctx;
	const struct task_mm *tm = task_mm(t);

	/* A lock wait is noted by wait_begin, with the lock's name. */
	if (wq && tm && tm->waiting_on && wq == &tm->waiting_on->wq)
		return;
	struct tl_note *n = note_add(r->tl, TL_BLOCK, t);
	if (n)
		n->value = wq ? wq->obj : 0;
}

static void rec_wake(void *ctx, struct task *t, struct waitq *wq)
{
	struct recorder *r = ctx;
	struct timeline *tl = r->tl;

	(void)wq;
	struct tl_note *n = note_add(tl, TL_WAKE, tl->engine->current);
	if (n)
		n->other = t->id;
	if (!grow(tl, (void **)&tl->flows, &tl->flows_cap, tl->flows_count,
		  sizeof(*tl->flows)))
		return;
	tl->flows[tl->flows_count++] = (struct tl_flow){
		.from_step = tl->engine->steps,
		.to_task = t->id,
		.to_step = UINT64_MAX,
	};
}

static void rec_step(void *ctx, const struct trace_rec *rec)
{
	struct recorder *r = ctx;
	struct timeline *tl = r->tl;
	struct engine *e = tl->engine;

	SIM_ASSERT(rec->step == tl->steps_count || tl->truncated || tl->nomem);
	if (!grow(tl, (void **)&tl->steps, &tl->steps_cap, tl->steps_count,
		  sizeof(*tl->steps)))
		return;
	tl->steps[tl->steps_count++] = (struct tl_step){
		.step = rec->step,
		.start_ns = e->step_start_ns,
		.end_ns = rec->time_ns,
		.task = rec->task,
		.cpu = rec->cpu,
		.kind = rec->kind,
		.obj = rec->obj,
		.next_same_task = UINT64_MAX,
	};
	if (rec->task == TRACE_NO_TASK)
		return;
	/* A lock can leave a task's held list without a release the hooks
	 * see (a folio locked for read I/O passes to the I/O): end its hold
	 * when the step that gave it away ends. */
	const struct task *t = &e->tasks[rec->task];
	if (!task_mm(t))
		return;
	for (uint32_t i = r->open_count; i-- > 0;) {
		struct tl_slice *s = &tl->slices[r->open[i]];
		if (s->task != t->id || s->kind != TL_SLICE_HOLD)
			continue;
		if (lock_is_held_by(t, s->lock, 0))
			continue;
		s->end_ns = rec->time_ns;
		r->open[i] = r->open[--r->open_count];
	}
}

static void rec_task_exit(void *ctx, struct task *t)
{
	struct recorder *r = ctx;

	note_add(r->tl, TL_EXIT, t);
}

static void rec_acquired(void *ctx, struct task *t, const struct held_lock *h)
{
	struct recorder *r = ctx;
	struct tl_note *n = note_add(r->tl, TL_ACQUIRED, t);

	if (n) {
		n->cls = h->lock->cls->name;
		n->lock_id = h->lock->id;
		n->mode = (uint8_t)h->mode;
		n->where = h->where;
		n->trylock = h->trylock;
	}
	struct tl_slice *s = slice_add(r, TL_SLICE_HOLD, t, h->since_ns, true);
	if (s) {
		s->cls = h->lock->cls->name;
		s->lock_id = h->lock->id;
		s->mode = (uint8_t)h->mode;
		s->where = h->where;
		s->lock = h->lock;
	}
}

static void rec_released(void *ctx, struct task *t, const struct held_lock *h,
			 uint64_t now_ns)
{
	struct recorder *r = ctx;
	struct tl_note *n = note_add(r->tl, TL_RELEASED, t);

	if (n) {
		n->cls = h->lock->cls->name;
		n->lock_id = h->lock->id;
		n->mode = (uint8_t)h->mode;
		n->where = h->where;
	}
	slice_close(r, TL_SLICE_HOLD, t, h->lock, (uint8_t)h->mode, now_ns);
}

static void rec_wait_begin(void *ctx, struct task *t, struct lock_common *l,
			   enum lock_mode mode, const char *where)
{
	struct recorder *r = ctx;
	struct tl_note *n = note_add(r->tl, TL_WAIT, t);

	if (n) {
		n->cls = l->cls->name;
		n->lock_id = l->id;
		n->mode = (uint8_t)mode;
		n->where = where;
	}
	struct tl_slice *s = slice_add(r, TL_SLICE_WAIT, t, sim_now(), true);
	if (s) {
		s->cls = l->cls->name;
		s->lock_id = l->id;
		s->mode = (uint8_t)mode;
		s->where = where;
		s->lock = l;
	}
}

static void rec_wait_end(void *ctx, struct task *t, struct lock_common *l,
			 enum lock_mode mode, uint64_t waited_ns)
{
	struct recorder *r = ctx;
	struct tl_note *n = note_add(r->tl, TL_WAIT_END, t);

	if (n) {
		n->cls = l->cls->name;
		n->lock_id = l->id;
		n->mode = (uint8_t)mode;
		n->value = waited_ns;
	}
	slice_close(r, TL_SLICE_WAIT, t, l, 0, sim_now());
}

static void rec_fault_done(void *ctx, const struct fault_record *f)
{
	struct recorder *r = ctx;
	struct tl_note *n = note_add(r->tl, TL_FAULT, f->task);

	if (n) {
		n->value = f->address;
		n->where = fault_kind_name(f->kind);
	}
	struct tl_slice *s = slice_add(r, TL_SLICE_FAULT, f->task, f->start_ns,
				       false);
	if (s) {
		s->end_ns = f->end_ns;
		s->fault_kind = (uint32_t)f->kind;
		s->address = f->address;
		s->attempts = f->attempts;
	}
}

static void rec_fault_retry(void *ctx, struct task *t, uint64_t address,
			    uint32_t attempt, const char *why)
{
	struct recorder *r = ctx;
	struct tl_note *n = note_add(r->tl, TL_RETRY, t);

	(void)attempt;
	if (n) {
		n->value = address;
		n->where = why;
	}
}

static uint32_t device_index(struct timeline *tl,
			     const struct block_device *bdev)
{
	for (uint32_t i = 0; i < tl->devices_count; i++)
		if (tl->device_ids[i] == bdev->id)
			return i;
	SIM_ASSERT(tl->devices_count < DEVICES_MAX);
	uint32_t i = tl->devices_count++;
	tl->device_ids[i] = bdev->id;
	snprintf(tl->device_names[i], DEVICE_NAME_MAX, "%s", bdev->name);
	return i;
}

static void rec_io_done(void *ctx, const struct blk_request *rq)
{
	struct recorder *r = ctx;
	struct timeline *tl = r->tl;

	if (!grow(tl, (void **)&tl->ios, &tl->ios_cap, tl->ios_count,
		  sizeof(*tl->ios)))
		return;
	tl->ios[tl->ios_count] = (struct tl_io){
		.device = device_index(tl, rq->bdev),
		.seq = rq->seq,
		.op = (uint8_t)rq->op,
		.nr_pages = rq->nr_pages,
		.pgoff = rq->pgoff,
		.task = rq->task,
		.submit_ns = rq->submit_ns,
		.start_ns = rq->start_ns,
		.complete_ns = rq->complete_ns,
		.done_step = tl->engine->steps,
	};
	struct tl_note *n = note_add(tl, TL_IO, tl->engine->current);
	if (n)
		n->value = tl->ios_count;
	tl->ios_count++;
}

/* -------------------------------------------------------------- finish */

struct lane_key {
	uint64_t start;
	uint64_t end;
	uint8_t kind;
	uint64_t idx;
};

static int lane_cmp(const void *pa, const void *pb)
{
	const struct lane_key *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end > b->end ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Deal each task's slices into lanes (see the top of this file). */
static bool assign_lanes(struct timeline *tl)
{
	struct lane_key *keys = malloc((tl->slices_count + 1) * sizeof(*keys));
	/* Per lane, the ends of the slices open there, innermost last. */
	uint64_t stack[TIMELINE_LANES_MAX][TIMELINE_DEPTH_MAX];
	uint32_t depth[TIMELINE_LANES_MAX];

	if (!keys)
		return false;
	for (uint32_t t = 0; t < tl->tasks_count; t++) {
		uint64_t n = 0;
		for (uint64_t i = 0; i < tl->slices_count; i++) {
			const struct tl_slice *s = &tl->slices[i];
			if (s->task == t)
				keys[n++] = (struct lane_key){ s->start_ns, s->end_ns,
							      s->kind, i };
		}
		qsort(keys, n, sizeof(*keys), lane_cmp);
		memset(depth, 0, sizeof(depth));
		uint16_t used = 0;
		for (uint64_t k = 0; k < n; k++) {
			struct tl_slice *s = &tl->slices[keys[k].idx];
			uint32_t lane = 0;
			for (; lane < TIMELINE_LANES_MAX; lane++) {
				while (depth[lane] && stack[lane][depth[lane] - 1] <= s->start_ns)
					depth[lane]--;
				if (depth[lane] == TIMELINE_DEPTH_MAX)
					continue;
				if (!depth[lane] || stack[lane][depth[lane] - 1] >= s->end_ns)
					break;
			}
			/* A pathological run: the slice stays in the record
			 * (show prints it) but no track gets it. */
			if (lane == TIMELINE_LANES_MAX) {
				s->lane = UINT16_MAX;
				continue;
			}
			stack[lane][depth[lane]++] = s->end_ns;
			s->lane = (uint16_t)lane;
			if (lane + 1 > used)
				used = (uint16_t)(lane + 1);
		}
		SIM_ASSERT(used <= TIMELINE_LANES_MAX);
		SIM_ASSERT(n == 0 || used >= 1 || tl->slices[keys[0].idx].lane == UINT16_MAX);
		tl->task_lanes[t] = used;
	}
	free(keys);
	return true;
}

static void rec_finish(void *ctx, struct engine *e, const struct run_result *res)
{
	struct recorder *r = ctx;
	struct timeline *tl = r->tl;

	tl->run = *res;
	tl->cpus = e->params.cpus;
	tl->tasks_count = e->tasks_count;
	for (uint32_t i = 0; i < e->tasks_count; i++) {
		snprintf(tl->task_names[i], TASK_NAME_MAX, "%s", e->tasks[i].name);
		tl->task_cpu[i] = (uint8_t)e->tasks[i].cpu;
	}
	/* What was still held or waited for when the run ended. */
	for (uint32_t i = 0; i < r->open_count; i++) {
		struct tl_slice *s = &tl->slices[r->open[i]];
		s->unfinished = true;
		s->end_ns = res->virtual_ns > s->start_ns ? res->virtual_ns
							  : s->start_ns;
	}
	r->open_count = 0;
	for (uint64_t i = 0; i < tl->slices_count; i++)
		tl->slices[i].lock = NULL;
	/* Each step's next step of the same task, then the wake-ups. */
	uint64_t next[TASKS_MAX];
	for (uint32_t t = 0; t < TASKS_MAX; t++)
		next[t] = UINT64_MAX;
	for (uint64_t i = tl->steps_count; i-- > 0;) {
		struct tl_step *s = &tl->steps[i];
		if (s->task == TRACE_NO_TASK)
			continue;
		s->next_same_task = next[s->task];
		next[s->task] = i;
	}
	uint64_t first[TASKS_MAX];
	memcpy(first, next, sizeof(first));
	for (uint64_t i = 0; i < tl->flows_count; i++) {
		struct tl_flow *f = &tl->flows[i];
		/* The woken task's first step after the waker's. */
		uint64_t at = first[f->to_task];
		while (at != UINT64_MAX && at <= f->from_step)
			at = tl->steps[at].next_same_task;
		f->to_step = at;
	}
	tl->findings_count = e->findings_count;
	if (e->findings_count) {
		tl->findings = calloc(e->findings_count, sizeof(*tl->findings));
		if (tl->findings)
			memcpy(tl->findings, e->findings,
			       e->findings_count * sizeof(*tl->findings));
		else
			tl->nomem = true, tl->findings_count = 0;
	}
	if (!assign_lanes(tl))
		tl->nomem = true;
}

static bool rec_attach(void *ctx, struct engine *e)
{
	struct recorder *r = ctx;
	struct engine_hooks eh = {
		.ctx = r, .block = rec_block, .wake = rec_wake,
		.step = rec_step, .task_exit = rec_task_exit,
	};
	struct lock_hooks lh = {
		.ctx = r, .acquired = rec_acquired, .released = rec_released,
		.wait_begin = rec_wait_begin, .wait_end = rec_wait_end,
	};
	struct vmstat_hooks vh = {
		.ctx = r, .fault_done = rec_fault_done,
		.fault_retry = rec_fault_retry,
	};
	struct blk_hooks bh = { .ctx = r, .done = rec_io_done };

	r->tl->engine = e;
	if (!engine_subscribe(e, &eh))
		return false;
	if (lock_hooks_subscribe(&lh) && vmstat_hooks_subscribe(&vh) &&
	    blk_hooks_subscribe(&bh))
		return true;
	engine_unsubscribe(e, r);
	lock_hooks_unsubscribe(r);
	vmstat_hooks_unsubscribe(r);
	blk_hooks_unsubscribe(r);
	return false;
}

static void rec_detach(void *ctx, struct engine *e)
{
	struct recorder *r = ctx;

	engine_unsubscribe(e, r);
	lock_hooks_unsubscribe(r);
	vmstat_hooks_unsubscribe(r);
	blk_hooks_unsubscribe(r);
	r->tl->engine = NULL;
}

/* ------------------------------------------------------------- the API */

struct timeline_box {
	struct timeline tl;
	struct recorder rec;
};

struct timeline *timeline_create(void)
{
	struct timeline_box *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->rec.tl = &b->tl;
	return &b->tl;
}

void timeline_destroy(struct timeline *tl)
{
	if (!tl)
		return;
	free(tl->steps);
	free(tl->notes);
	free(tl->slices);
	free(tl->ios);
	free(tl->flows);
	free(tl->findings);
	free((struct timeline_box *)(void *)tl);
}

struct runner_observer timeline_observer(struct timeline *tl)
{
	struct timeline_box *b = (struct timeline_box *)(void *)tl;

	SIM_ASSERT(b->rec.tl == tl);
	return (struct runner_observer){
		.ctx = &b->rec,
		.attach = rec_attach,
		.finish = rec_finish,
		.detach = rec_detach,
	};
}

const char *timeline_task_name(const struct timeline *tl, uint16_t task)
{
	if (task == TRACE_NO_TASK || task >= tl->tasks_count)
		return "event";
	return tl->task_names[task];
}

void timeline_mark(struct timeline *tl, uint64_t step)
{
	if (step < tl->steps_count)
		tl->steps[step].marked = true;
}

uint64_t timeline_last_step(const struct timeline *tl, uint16_t task)
{
	for (uint64_t i = tl->steps_count; i-- > 0;)
		if (tl->steps[i].task == task)
			return i;
	return UINT64_MAX;
}

uint64_t timeline_find_note(const struct timeline *tl, uint16_t task,
			    uint32_t kinds_mask, const char *cls,
			    const char *where, uint64_t before)
{
	for (uint64_t i = tl->notes_count; i-- > 0;) {
		const struct tl_note *n = &tl->notes[i];
		if (n->step > before || n->task != task ||
		    !(kinds_mask & (1u << n->kind)))
			continue;
		if (cls && (!n->cls || strcmp(cls, n->cls) != 0))
			continue;
		if (where && (!n->where || strcmp(where, n->where) != 0))
			continue;
		return n->step;
	}
	return UINT64_MAX;
}

static const char *mode_text(uint8_t mode)
{
	return mode == LOCK_READ ? "read" : "write";
}

void timeline_note_text(const struct timeline *tl, const struct tl_note *n,
			char *buf, size_t len)
{
	const char *where = n->where ? n->where : "?";

	switch ((enum tl_note_kind)n->kind) {
	case TL_ACQUIRED:
		snprintf(buf, len, "%s(#%u) acquired (%s%s) in %s", n->cls,
			 n->lock_id, mode_text(n->mode),
			 n->trylock ? ", trylock" : "", where);
		break;
	case TL_RELEASED:
		snprintf(buf, len, "%s(#%u) released (%s, taken in %s)", n->cls,
			 n->lock_id, mode_text(n->mode), where);
		break;
	case TL_WAIT:
		snprintf(buf, len, "%s(#%u) waits (%s) in %s", n->cls,
			 n->lock_id, mode_text(n->mode), where);
		break;
	case TL_WAIT_END:
		snprintf(buf, len, "%s(#%u) wait over (%s) after %llu ns", n->cls,
			 n->lock_id, mode_text(n->mode),
			 (unsigned long long)n->value);
		break;
	case TL_BLOCK:
		snprintf(buf, len, "sleeps on wait queue #%llu",
			 (unsigned long long)n->value);
		break;
	case TL_WAKE:
		snprintf(buf, len, "wakes %s/%u", timeline_task_name(tl, n->other),
			 n->other);
		break;
	case TL_EXIT:
		snprintf(buf, len, "exits");
		break;
	case TL_FAULT:
		snprintf(buf, len, "fault done (%s) at page %llu", where,
			 (unsigned long long)n->value);
		break;
	case TL_RETRY:
		snprintf(buf, len, "fault at page %llu retries (VM_FAULT_RETRY from %s)",
			 (unsigned long long)n->value, where);
		break;
	case TL_IO: {
		SIM_ASSERT(n->value < tl->ios_count);
		const struct tl_io *io = &tl->ios[n->value];
		snprintf(buf, len, "%s %s #%u done: %u page%s at %llu, submitted at %llu ns",
			 tl->device_names[io->device],
			 io->op == REQ_OP_READ ? "read" : "write", io->seq,
			 io->nr_pages, io->nr_pages == 1 ? "" : "s",
			 (unsigned long long)io->pgoff,
			 (unsigned long long)io->submit_ns);
		break;
	}
	case TL_NOTE_KINDS_COUNT:
		SIM_ASSERT(!"note kind");
		break;
	}
}
