/*
 * test_waitq.c: wait queues (engine/waitq.c).  Waiters wake in FIFO order;
 * wake_all wakes everyone; a waker can wake a chosen waiter from the middle;
 * flags travel with the waiter.
 */
#include <criterion/criterion.h>

#include "engine/engine.h"
#include "engine/waitq.h"
#include "tests/support.h"

static struct waitq *wq;
static uint32_t order[8], order_n;

static void w(void *arg)
{
	/* Staggered so that they queue in creation order. */
	sim_sleep((uintptr_t)arg * 10);
	waitq_wait(wq, (uint32_t)(uintptr_t)arg, 0);
	order[order_n++] = (uint32_t)(uintptr_t)arg;
}

static void wake_fifo(void *arg)
{
	(void)arg;
	sim_sleep(1000);
	SIM_ASSERT(wq->count == 4);
	/* Flags say who waits for what: the third waiter was created with
	 * flag 3. */
	struct task *t = waitq_next(waitq_next(waitq_first(wq)));
	SIM_ASSERT(t->wait_flags == 3);
	waitq_wake(wq, t);
	waitq_wake_one(wq);
	sim_sleep(1000);
	SIM_ASSERT(waitq_wake_all(wq) == 2);
}

static void build(struct engine *e, void *arg)
{
	(void)arg;
	order_n = 0;
	wq = arena_new(&e->arena, struct waitq);
	waitq_init(wq, 7, NULL);
	for (uintptr_t i = 1; i <= 4; i++)
		task_create(e, "w", (uint16_t)(i - 1), w, (void *)i);
	task_create(e, "waker", 4, wake_fifo, NULL);
}

Test(waitq, fifo_and_chosen_wakeups)
{
	struct engine *e = test_engine(5);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build, NULL), RUN_OK);
	cr_assert_eq(order_n, 4);
	/* 3 and 1 woke at 1000 (ordered by the timed rule's tie-break), then
	 * 2 and 4 at 2000. */
	cr_assert_eq(order[0] + order[1], 4);
	cr_assert(order[2] == 2 || order[2] == 4);
	cr_assert_eq(order[2] + order[3], 6);
	test_engine_done(e);
}
