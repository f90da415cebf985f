/*
 * evq.c: the event queue, a binary min-heap ordered by due time and then by
 * event id (creation order), so equal times never compare by address.
 * Events come from a fixed pool.  Not the firing of events (engine.c): any
 * pending event may be chosen, so removal works at any heap position.
 */
#include "engine/engine_int.h"

static inline bool ev_before(const struct event *a, const struct event *b)
{
	if (a->time_ns != b->time_ns)
		return a->time_ns < b->time_ns;
	return a->id < b->id;
}

static inline void heap_set(struct engine *e, uint32_t i, struct event *ev)
{
	e->heap[i] = ev;
	ev->heap_idx = i;
}

static void sift_up(struct engine *e, uint32_t i)
{
	struct event *ev = e->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!ev_before(ev, e->heap[parent]))
			break;
		heap_set(e, i, e->heap[parent]);
		i = parent;
	}
	heap_set(e, i, ev);
}

static void sift_down(struct engine *e, uint32_t i)
{
	struct event *ev = e->heap[i];
	uint32_t n = e->heap_count;

	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		const struct event *best = ev;
		if (l < n && ev_before(e->heap[l], best)) {
			m = l;
			best = e->heap[l];
		}
		if (r < n && ev_before(e->heap[r], best))
			m = r;
		if (m == i)
			break;
		heap_set(e, i, e->heap[m]);
		i = m;
	}
	heap_set(e, i, ev);
}

/* The pool is handed out in two parts: events freed during this run (a
 * LIFO list), then the never-used tail of events[] from events_used up, in
 * index order.  That is the order a fully threaded free list would give,
 * but a reset touches no event: a run uses a handful of the EVENTS_MAX, and
 * rebuilding the whole list twice per schedule cost more than the run. */
void evq_reset(struct engine *e)
{
	e->heap_count = 0;
	e->events_next_id = 1;
	e->events_free = NULL;
	e->events_used = 0;
}

struct event *evq_alloc(struct engine *e)
{
	struct event *ev = e->events_free;

	if (ev) {
		e->events_free = ev->next_free;
	} else {
		/* EVENTS_MAX bounds devices' queues plus one timer per task;
		 * running out means a model bug queued events without
		 * bound. */
		SIM_ASSERT(e->events_used < EVENTS_MAX);
		ev = &e->events[e->events_used++];
	}
	*ev = (struct event){ .heap_idx = UINT32_MAX };
	SIM_ASSERT(ev->next_free == NULL);
	return ev;
}

void evq_push(struct engine *e, struct event *ev)
{
	SIM_ASSERT(e->heap_count < EVENTS_MAX);
	heap_set(e, e->heap_count++, ev);
	sift_up(e, ev->heap_idx);
}

void evq_remove(struct engine *e, struct event *ev)
{
	uint32_t i = ev->heap_idx;

	SIM_ASSERT(i < e->heap_count);
	SIM_ASSERT(e->heap[i] == ev);
	e->heap_count--;
	if (i != e->heap_count) {
		heap_set(e, i, e->heap[e->heap_count]);
		sift_down(e, i);
		sift_up(e, e->heap[i]->heap_idx);
	}
	ev->heap_idx = UINT32_MAX;
	ev->next_free = e->events_free;
	e->events_free = ev;
}

struct event *evq_by_id(struct engine *e, uint32_t id)
{
	for (uint32_t i = 0; i < e->heap_count; i++)
		if (e->heap[i]->id == id)
			return e->heap[i];
	return NULL;
}

void evq_check(const struct engine *e)
{
	for (uint32_t i = 0; i < e->heap_count; i++) {
		SIM_ASSERT(e->heap[i]->heap_idx == i);
		if (i > 0)
			SIM_ASSERT(!ev_before(e->heap[i], e->heap[(i - 1) / 2]));
	}
}

struct event *evq_add(struct engine *e, uint64_t time_ns, uint16_t kind,
		      uint32_t obj, event_fn fn, void *arg)
{
	struct event *ev = evq_alloc(e);

	SIM_ASSERT(fn != NULL);
	ev->time_ns = time_ns;
	ev->id = e->events_next_id++;
	SIM_ASSERT(ev->id != 0);
	ev->kind = kind;
	ev->owner = TRACE_NO_TASK;
	ev->obj = obj;
	ev->fn = fn;
	ev->arg = arg;
	evq_push(e, ev);
	return ev;
}

uint32_t sim_event_add(uint64_t time_ns, uint16_t kind, uint32_t obj,
		       event_fn fn, void *arg)
{
	return evq_add(sim, time_ns, kind, obj, fn, arg)->id;
}

bool sim_event_cancel(uint32_t id)
{
	struct event *ev = evq_by_id(sim, id);

	if (!ev)
		return false;
	evq_remove(sim, ev);
	return true;
}
