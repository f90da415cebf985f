/*
 * waitfor.c: what a blocked task waits for, as the deadlock, hung-task and
 * livelock checkers all need to say it: the edges of the wait-for graph
 * out of one task, and the names and JSON of locks held and waited for.
 * Reads model state, never changes it.  Not the cycle search (deadlock.c).
 */
#include <stddef.h>
#include <stdio.h>

#include "analysis/checkers_int.h"
#include "mm/types.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct lock_common *waitfor_lock(const struct task *t)
{
	const struct task_mm *tm = checked_task_mm(t);

	if (!tm || t->state != TASK_BLOCKED)
		return NULL;
	struct lock_common *l = tm->waiting_on;
	if (!l || t->wq != &l->wq)
		return NULL;
	return l;
}

struct edges {
	struct waitfor_edge *out;
	uint32_t n;
	uint64_t seen[(TASKS_MAX + 63) / 64];
};

static void edge_add(struct edges *ed, struct task *to, enum waitfor_why why)
{
	SIM_ASSERT(to->id < TASKS_MAX);
	uint64_t bit = 1ull << (to->id % 64);
	if (ed->seen[to->id / 64] & bit)
		return;
	ed->seen[to->id / 64] |= bit;
	SIM_ASSERT(ed->n < TASKS_MAX);
	ed->out[ed->n++] = (struct waitfor_edge){ .to = to, .why = why };
}

/* Every task whose held list has l (in `mode`, 0 for any), by task id.
 * Tasks that exited holding it count: nobody will release it. */
static void add_holders(const struct engine *e, struct edges *ed,
			const struct lock_common *l, enum lock_mode mode)
{
	for (uint32_t i = 0; i < e->tasks_count; i++) {
		struct task *h = (struct task *)&e->tasks[i];
		const struct task_mm *tm = checked_task_mm(h);
		if (!tm || h->state == TASK_FREE)
			continue;
		for (uint32_t k = 0; k < tm->held_count; k++) {
			if (tm->held[k].lock == l &&
			    (!mode || tm->held[k].mode == mode)) {
				edge_add(ed, h, WAITFOR_HOLDER);
				break;
			}
		}
	}
}

/*
 * rw_semaphore (locks.h's state machine): a wakeup gives the lock to the
 * writer at the head of the FIFO, or to every queued reader at once when
 * the head is a reader.  So a queued writer waits for the holders; a
 * queued reader waits for a writer holder and for the writers queued at
 * the head, which go before it; only with no writer queued ahead does it
 * wait for the readers that hold the lock (the wakeup comes when the last
 * leaves).
 */
static void add_rwsem_edges(const struct engine *e, struct edges *ed,
			    const struct task *t, struct lock_common *l,
			    enum lock_mode mode)
{
	struct rw_semaphore *sem = container_of(l, struct rw_semaphore, c);

	SIM_ASSERT(l->cls->kind == LOCK_KIND_RWSEM);
	if (mode == LOCK_WRITE) {
		add_holders(e, ed, l, 0);
		if (sem->writer)
			edge_add(ed, sem->writer, WAITFOR_HOLDER);
		return;
	}
	bool writers_ahead = sem->head && sem->head->mode == LOCK_WRITE;
	add_holders(e, ed, l, writers_ahead ? LOCK_WRITE : 0);
	if (sem->writer)
		edge_add(ed, sem->writer, WAITFOR_HOLDER);
	for (const struct rwsem_waiter *w = sem->head;
	     w && w->mode == LOCK_WRITE; w = w->next)
		if (w->task != t)
			edge_add(ed, w->task, WAITFOR_QUEUED_WRITER);
}

uint32_t waitfor_edges(const struct engine *e, const struct task *t,
		       struct waitfor_edge *out)
{
	struct lock_common *l = waitfor_lock(t);
	struct edges ed = { .out = out };

	if (!l)
		return 0;
	switch (l->cls->kind) {
	case LOCK_KIND_SPIN: {
		spinlock_t *s = container_of(l, spinlock_t, c);
		if (s->owner)
			edge_add(&ed, s->owner, WAITFOR_HOLDER);
		break;
	}
	case LOCK_KIND_BIT: {
		/* The folio lock is the one bit lock: its owner, or nobody
		 * while read I/O owns it (the completion unlocks it). */
		SIM_ASSERT(l->cls->id == LC_FOLIO_LOCK);
		struct folio *f = container_of(l, struct folio, lock);
		if (f->lock_owner)
			edge_add(&ed, f->lock_owner, WAITFOR_HOLDER);
		break;
	}
	case LOCK_KIND_RWSEM:
		add_rwsem_edges(e, &ed, t, l, checked_task_mm(t)->waiting_mode);
		break;
	}
	return ed.n;
}

const char *lock_mode_name(enum lock_mode mode)
{
	return mode == LOCK_READ ? "read" : mode == LOCK_WRITE ? "write" : "any";
}

const char *lock_op_name(const struct lock_class *cls, enum lock_mode mode)
{
	bool rd = mode == LOCK_READ;

	switch (cls->id) {
	case LC_MMAP_LOCK:
		return rd ? "mmap_read_lock" : "mmap_write_lock";
	case LC_VMA_LOCK:
		/* vm_lock is only ever waited for as a writer, by
		 * vma_start_write (mmap_lock.c); readers only trylock. */
		return rd ? "vma_start_read" : "vma_start_write";
	case LC_FOLIO_LOCK:
		/* A folio "read" wait takes nothing: folio_wait_locked. */
		return rd ? "folio_wait_locked" : "folio_lock";
	default:
		break;
	}
	if (cls->kind == LOCK_KIND_SPIN)
		return "spin_lock";
	return rd ? "down_read" : "down_write";
}

void where_copy(char *dst, const char *where)
{
	snprintf(dst, WHERE_NAME_MAX, "%s", where ? where : "?");
}

void json_held_lock(struct jw *w, const struct held_lock *h)
{
	jw_obj_begin(w, NULL);
	jw_str(w, "lock", h->lock->cls->name);
	jw_u64(w, "lock_id", h->lock->id);
	jw_u64(w, "object", h->lock->owner_obj);
	jw_str(w, "mode", lock_mode_name(h->mode));
	jw_str(w, "where", h->where);
	jw_u64(w, "since_ns", h->since_ns);
	if (h->trylock)
		jw_bool(w, "trylock", true);
	jw_obj_end(w);
}

void json_held_locks(struct jw *w, const char *key, const struct task *t)
{
	const struct task_mm *tm = checked_task_mm(t);

	jw_arr_begin(w, key);
	for (uint32_t i = 0; tm && i < tm->held_count; i++)
		json_held_lock(w, &tm->held[i]);
	jw_arr_end(w);
}

void json_wait(struct jw *w, const char *key, const struct task *t)
{
	const struct task_mm *tm = checked_task_mm(t);

	if (tm && tm->waiting_on) {
		const struct lock_common *l = tm->waiting_on;
		jw_obj_begin(w, key);
		jw_str(w, "lock", l->cls->name);
		jw_u64(w, "lock_id", l->id);
		jw_u64(w, "object", l->owner_obj);
		jw_str(w, "op", lock_op_name(l->cls, tm->waiting_mode));
		jw_str(w, "mode", lock_mode_name(tm->waiting_mode));
		jw_str(w, "where", tm->waiting_where);
		jw_u64(w, "since_ns", tm->waiting_since_ns);
		jw_obj_end(w);
	} else if (t->wq) {
		/* A wait queue that is not a lock's (writeback, say). */
		jw_obj_begin(w, key);
		jw_u64(w, "waitq", t->wq->obj);
		jw_u64(w, "since_ns", t->blocked_ns);
		jw_obj_end(w);
	} else {
		jw_null(w, key);
	}
}

void text_held_locks(struct strbuf *b, const struct task *t)
{
	const struct task_mm *tm = checked_task_mm(t);

	if (!tm || tm->held_count == 0) {
		strbuf_puts(b, "nothing");
		return;
	}
	for (uint32_t i = 0; i < tm->held_count; i++) {
		const struct held_lock *h = &tm->held[i];
		strbuf_printf(b, "%s%s (%s, taken in %s)", i ? ", " : "",
			      h->lock->cls->name, lock_mode_name(h->mode),
			      h->where);
	}
}
