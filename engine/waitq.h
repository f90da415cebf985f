/*
 * waitq.h: wait queues, the one blocking primitive of simrun.  Every model
 * lock that sleeps (rw_semaphore, folio lock, VMA lock, writeback wait) and
 * every spinning wait is built on these.  FIFO; the waker decides who wakes
 * and, for locks with hand-off, grants the lock before waking.  Not a lock:
 * it knows no holders; `owner` points back at the model object for the
 * analysis layer's wait-for graph.
 */
#ifndef SIM_WAITQ_H
#define SIM_WAITQ_H

#include <stdint.h>

#include "engine/engine.h"

struct waitq {
	struct task *head;
	struct task *tail;
	uint32_t count;
	uint32_t obj;		/* trace object of the thing waited for */
	void *owner;		/* the model object this queue belongs to */
};

void waitq_init(struct waitq *wq, uint32_t obj, void *owner);

/*
 * Block the current task at the tail of wq until a waker removes it.  flags
 * and data say what it waits for (a reader or a writer, exclusive or not)
 * and are read by wakers from task->wait_flags / wait_data.  Ends the step.
 */
void waitq_wait(struct waitq *wq, uint32_t flags, uintptr_t data);

/* Remove t from wq and make it runnable at the waker's present. */
void waitq_wake(struct waitq *wq, struct task *t);
/* Wake the head; returns it, or NULL when the queue is empty. */
struct task *waitq_wake_one(struct waitq *wq);
/* Wake every waiter in FIFO order; returns how many. */
uint32_t waitq_wake_all(struct waitq *wq);

static inline struct task *waitq_first(const struct waitq *wq)
{
	return wq->head;
}

static inline struct task *waitq_next(const struct task *t)
{
	return t->wq_next;
}

#endif /* SIM_WAITQ_H */
