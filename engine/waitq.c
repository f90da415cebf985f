/*
 * waitq.c: FIFO wait queues (see waitq.h).  Blocking ends the step; waking
 * moves a task to RUNNABLE at the waker's present (invariant 5 of engine.h).
 */
#include "engine/engine_int.h"
#include "engine/waitq.h"

void waitq_init(struct waitq *wq, uint32_t obj, void *owner)
{
	wq->head = wq->tail = NULL;
	wq->count = 0;
	wq->obj = obj;
	wq->owner = owner;
}

void waitq_wait(struct waitq *wq, uint32_t flags, uintptr_t data)
{
	struct engine *e = sim;
	struct task *t = e->current;

	SIM_ASSERT(t != NULL);
	SIM_ASSERT(t->wq == NULL);
	t->wq = wq;
	t->wait_flags = flags;
	t->wait_data = data;
	t->wq_next = NULL;
	t->wq_prev = wq->tail;
	if (wq->tail)
		wq->tail->wq_next = t;
	else
		wq->head = t;
	wq->tail = t;
	wq->count++;
	t->state = TASK_BLOCKED;
	t->blocked_ns = sim_now();
	for (uint32_t i = 0; i < e->hooks_count; i++)
		if (e->hooks[i].block)
			e->hooks[i].block(e->hooks[i].ctx, t, wq);
	e->yield_kind = TRACE_BLOCK;
	e->yield_obj = wq->obj;
	task_switch_out(e, t);
	SIM_ASSERT(t->wq == NULL);
}

void waitq_wake(struct waitq *wq, struct task *t)
{
	struct engine *e = sim;

	SIM_ASSERT(t->wq == wq);
	SIM_ASSERT(wq->count > 0);
	if (t->wq_prev)
		t->wq_prev->wq_next = t->wq_next;
	else
		wq->head = t->wq_next;
	if (t->wq_next)
		t->wq_next->wq_prev = t->wq_prev;
	else
		wq->tail = t->wq_prev;
	wq->count--;
	t->wq = NULL;
	t->wq_next = t->wq_prev = NULL;
	task_make_runnable(e, t, sim_now());
	for (uint32_t i = 0; i < e->hooks_count; i++)
		if (e->hooks[i].wake)
			e->hooks[i].wake(e->hooks[i].ctx, t, wq);
}

struct task *waitq_wake_one(struct waitq *wq)
{
	struct task *t = wq->head;

	if (t)
		waitq_wake(wq, t);
	return t;
}

uint32_t waitq_wake_all(struct waitq *wq)
{
	uint32_t n = 0;

	while (wq->head) {
		waitq_wake(wq, wq->head);
		n++;
	}
	return n;
}
