/*
 * test_locks.c: the model's locks (mm/locks.c, mm/mmap_lock.c and the
 * folio lock in mm/filemap.c).  Small worlds of tasks on separate CPUs take
 * and release locks at chosen virtual times; the tests check the kernel
 * semantics the seeds' bugs depend on: a queued writer blocks new readers,
 * wakeups grant all queued readers or one writer, handoff stops stealing,
 * trylocks fail with waiters, the VMA lock's sequence protocol, folio lock
 * handoff, and that misuse (sleeping under a spinlock, unlocking a lock not
 * held, vma_start_write without mmap_lock) is reported as a finding; and
 * what the lock hooks tell lockdep: whether an acquisition could have
 * waited (trylocks, new folios), and that downgrade_write keeps the held
 * entry in its place.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/engine.h"
#include "mm/mmap_lock.h"
#include "mm/pagemap.h"
#include "mm/world.h"
#include "tests/support.h"

/* Acquisition order, recorded through the lock hooks. */
static char order[64][TASK_NAME_MAX];
static uint64_t order_ns[64];
static uint32_t order_n;

static void on_acquired(void *ctx, struct task *t, const struct held_lock *h)
{
	(void)ctx;
	(void)h;
	if (order_n < 64) {
		snprintf(order[order_n], sizeof(order[0]), "%s", t->name);
		order_ns[order_n++] = sim_now();
	}
}

static struct lock_hooks rec_hooks = { .ctx = order, .acquired = on_acquired };

static void rec_start(void)
{
	order_n = 0;
	lock_hooks_unsubscribe(order);
	cr_assert(lock_hooks_subscribe(&rec_hooks));
}

static int pos(const char *name, const struct rw_semaphore *only)
{
	(void)only;
	for (uint32_t i = 0; i < order_n; i++)
		if (strcmp(order[i], name) == 0)
			return (int)i;
	return -1;
}

static uint32_t findings_of(struct engine *e, const char *kind)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < e->findings_count; i++)
		n += strcmp(e->findings[i].kind, kind) == 0;
	return n;
}

/* ------------------------------------------ a queued writer blocks readers */

static struct rw_semaphore *sem;
static struct task *t_r2;
static bool r2_blocked_while_r1_held;
static uint32_t waiters_seen;

static void r1_fn(void *a)
{
	(void)a;
	down_read(sem);
	sim_sleep(1000);
	r2_blocked_while_r1_held = t_r2->state == TASK_BLOCKED;
	waiters_seen = sem->waiters;
	up_read(sem);
}

/* A fresh world with one rw_semaphore of the mmap_lock class in `sem`. */
static void new_world_sem(struct engine *e)
{
	mm_world_reset();
	sem = arena_new(&e->arena, struct rw_semaphore);
	init_rwsem(sem, LC_MMAP_LOCK, 0);
}

static void w_fn(void *a)
{
	sim_sleep((uintptr_t)a);
	down_write(sem);
	sim_cost(50);
	up_write(sem);
}

static void r_fn(void *a)
{
	sim_sleep((uintptr_t)a);
	down_read(sem);
	sim_cost(50);
	up_read(sem);
}

static void build_queued_writer(struct engine *e, void *arg)
{
	(void)arg;
	new_world_sem(e);
	mm_task_create(e, "R1", 0, r1_fn, NULL);
	mm_task_create(e, "W", 1, w_fn, (void *)100);
	t_r2 = mm_task_create(e, "R2", 2, r_fn, (void *)200);
}

Test(rwsem, reader_blocked_behind_queued_writer)
{
	struct engine *e = test_engine(3);
	for (uint64_t seed = 1; seed <= 20; seed++) {
		rec_start();
		cr_assert_eq(test_run(e, STRATEGY_TIMED, seed,
				      build_queued_writer, NULL), RUN_OK);
		cr_assert(r2_blocked_while_r1_held,
			  "R2 must queue behind W although R1 only reads");
		cr_assert_eq(waiters_seen, 2);
		cr_assert_eq(pos("R1", sem), 0);
		cr_assert_eq(pos("W", sem), 1);
		cr_assert_eq(pos("R2", sem), 2);
		cr_assert_geq(order_ns[2], 1000);
		cr_assert_eq(e->findings_count, 0);
		rwsem_check(sem);
		engine_end(e);
	}
	lock_hooks_unsubscribe(order);
	test_engine_done(e);
}

static void build_queued_writer_reader_preferring(struct engine *e, void *arg)
{
	build_queued_writer(e, arg);
	rwsem_policy_set(RWSEM_READER_PREFERRING);
}

Test(rwsem, reader_preferring_policy_lets_readers_pass_a_queued_writer)
{
	struct engine *e = test_engine(3);
	rec_start();
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1,
			      build_queued_writer_reader_preferring, NULL),
		     RUN_OK);
	cr_assert_not(r2_blocked_while_r1_held,
		      "without the queued-writer rule R2 joins R1");
	cr_assert_eq(pos("R1", sem), 0);
	cr_assert_eq(pos("R2", sem), 1);
	cr_assert_eq(pos("W", sem), 2);
	engine_end(e);
	/* A new world is fair again. */
	mm_world_reset();
	cr_assert_eq(rwsem_policy_get(), RWSEM_FAIR);
	lock_hooks_unsubscribe(order);
	test_engine_done(e);
}

/* ---------------------------- a wakeup grants every queued reader (5.3+) */

static void w1_fn(void *a)
{
	(void)a;
	down_write(sem);
	sim_sleep(1000);
	up_write(sem);
}

static void build_phase_fair(struct engine *e, void *arg)
{
	(void)arg;
	new_world_sem(e);
	mm_task_create(e, "W1", 0, w1_fn, NULL);
	mm_task_create(e, "R1", 1, r_fn, (void *)100);
	mm_task_create(e, "W2", 2, w_fn, (void *)200);
	mm_task_create(e, "R2", 3, r_fn, (void *)300);
}

Test(rwsem, wakeup_grants_all_queued_readers_before_the_writer)
{
	struct engine *e = test_engine(4);
	rec_start();
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_phase_fair, NULL),
		     RUN_OK);
	cr_assert_eq(order_n, 4);
	cr_assert_str_eq(order[0], "W1");
	/* R2 queued behind W2, yet both readers get the lock at W1's
	 * release, as rwsem_mark_wake grants every queued reader. */
	cr_assert_eq(pos("W2", sem), 3);
	cr_assert_eq(order_ns[1], order_ns[2] > order_ns[1] ? order_ns[1] : order_ns[2]);
	lock_hooks_unsubscribe(order);
	test_engine_done(e);
}

/* ------------------------------------- trylock fails when waiters queue */

static bool trylock_result;

static void tryer_fn(void *a)
{
	(void)a;
	sim_sleep(500);
	trylock_result = down_read_trylock(sem);
	if (trylock_result)
		up_read(sem);
}

static void build_trylock(struct engine *e, void *arg)
{
	(void)arg;
	new_world_sem(e);
	mm_task_create(e, "R1", 0, r1_fn, NULL);
	mm_task_create(e, "W", 1, w_fn, (void *)100);
	t_r2 = mm_task_create(e, "T", 2, tryer_fn, NULL);
}

Test(rwsem, read_trylock_fails_with_a_queued_writer)
{
	struct engine *e = test_engine(3);
	trylock_result = true;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_trylock, NULL),
		     RUN_OK);
	cr_assert_not(trylock_result);
	test_engine_done(e);
}

/* ------------------------------------------ handoff stops reader stealing */

static uint32_t steals_before_writer, steals_after_handoff;
static bool writer_done, handoff_seen;

static void long_reader_fn(void *a)
{
	(void)a;
	down_read(sem);
	sim_sleep(5000000);
	up_read(sem);
}

static void handoff_writer_fn(void *a)
{
	(void)a;
	sim_sleep(1000);
	down_write(sem);
	writer_done = true;
	sim_cost(100);
	up_write(sem);
}

static void stealer_fn(void *a)
{
	(void)a;
	/* Start once the writer is queued, whatever the strategy picks. */
	while (sem->waiters == 0 && !writer_done)
		sim_yield(TRACE_YIELD, 0);
	for (int i = 0; i < 40; i++) {
		handoff_seen |= sem->handoff;
		down_read(sem);
		/* Holding it while the writer is still queued: a steal. */
		if (!writer_done && sem->waiters > 0) {
			steals_before_writer++;
			if (handoff_seen)
				steals_after_handoff++;
		}
		sim_sleep(100);
		up_read(sem);
	}
}

static void build_handoff(struct engine *e, void *arg)
{
	(void)arg;
	new_world_sem(e);
	steals_before_writer = steals_after_handoff = 0;
	writer_done = handoff_seen = false;
	mm_task_create(e, "R0", 0, long_reader_fn, NULL);
	mm_task_create(e, "W", 1, handoff_writer_fn, NULL);
	mm_task_create(e, "S", 2, stealer_fn, NULL);
}

Test(rwsem, handoff_after_4ms_stops_stealing)
{
	struct engine *e = test_engine(3);
	uint32_t steals_total = 0;
	sim_marks_reset();
	for (uint64_t seed = 1; seed <= 200; seed++) {
		enum run_outcome o = test_run(e, STRATEGY_RANDOM, seed,
					      build_handoff, NULL);
		cr_assert_eq(o, RUN_OK, "seed %llu: %s, findings %u: %s",
			     (unsigned long long)seed, run_outcome_name(o),
			     e->findings_count,
			     e->findings_count ? e->findings[0].summary : "");
		cr_assert(writer_done);
		/* Once the writer that waited 4 ms has set the handoff flag,
		 * no reader steals the lock from it again. */
		cr_assert_eq(steals_after_handoff, 0, "seed %llu: %u steals",
			     (unsigned long long)seed, steals_after_handoff);
		steals_total += steals_before_writer;
		engine_end(e);
	}
	cr_assert_gt(steals_total, 0, "some schedule let the reader steal");
	cr_assert_gt(sim_mark_hits("rwsem: writer set handoff"), 0);
	test_engine_done(e);
}

/* ---------------------------------------- misuse is reported as findings */

static spinlock_t *spin;

static void sleeper_under_spin_fn(void *a)
{
	(void)a;
	spin_lock(spin);
	down_read(sem);
	up_read(sem);
	spin_unlock(spin);
}

static void build_sleep_in_atomic(struct engine *e, void *arg)
{
	(void)arg;
	new_world_sem(e);
	spin = arena_new(&e->arena, spinlock_t);
	spin_lock_init(spin, LC_PTL, 0);
	mm_task_create(e, "T", 0, sleeper_under_spin_fn, NULL);
}

Test(locks, sleeping_under_a_spinlock_is_a_finding)
{
	struct engine *e = test_engine(1);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_sleep_in_atomic,
			      NULL), RUN_OK);
	cr_assert_eq(findings_of(e, "sleep_in_atomic"), 1);
	cr_assert(strstr(e->findings[0].summary, "ptl") != NULL, "%s",
		  e->findings[0].summary);
	test_engine_done(e);
}

static void bad_unlocker_fn(void *a)
{
	(void)a;
	up_read(sem);
	down_read(sem);
	up_read(sem);
}

static void build_unlock_not_held(struct engine *e, void *arg)
{
	(void)arg;
	new_world_sem(e);
	mm_task_create(e, "T", 0, bad_unlocker_fn, NULL);
}

Test(locks, unlocking_a_lock_not_held_is_a_finding)
{
	struct engine *e = test_engine(1);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_unlock_not_held,
			      NULL), RUN_OK);
	cr_assert_eq(findings_of(e, "unlock_not_held"), 1);
	/* The bad unlock changed nothing: the later lock/unlock pair works. */
	cr_assert_eq(sem->readers, 0);
	test_engine_done(e);
}

static void spin_fifo_fn(void *a)
{
	sim_sleep((uintptr_t)a);
	spin_lock(spin);
	sim_cost(1000);
	spin_unlock(spin);
}

static void build_spin_fifo(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	spin = arena_new(&e->arena, spinlock_t);
	spin_lock_init(spin, LC_PTL, 0);
	mm_task_create(e, "A", 0, spin_fifo_fn, (void *)0);
	mm_task_create(e, "B", 1, spin_fifo_fn, (void *)100);
	mm_task_create(e, "C", 2, spin_fifo_fn, (void *)200);
}

Test(locks, spinlock_hands_over_in_fifo_order)
{
	struct engine *e = test_engine(3);
	rec_start();
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_spin_fifo, NULL),
		     RUN_OK);
	cr_assert_eq(order_n, 3);
	cr_assert_str_eq(order[0], "A");
	cr_assert_str_eq(order[1], "B");
	cr_assert_str_eq(order[2], "C");
	cr_assert_eq(e->findings_count, 0);
	lock_hooks_unsubscribe(order);
	test_engine_done(e);
}

/* -------------------------------------------------------- per-VMA lock */

static struct mm_struct *mm;
static struct vm_area_struct *vma;
static bool read_ok_while_write_locked, read_ok_after_unlock;
static uint64_t write_locked_at, reader_released_at;

static void build_mm(struct engine *e)
{
	mm_world_reset();
	mm = arena_new(&e->arena, struct mm_struct);
	mm->id = mm_obj_id();
	mmap_init_lock(mm);
	vma = arena_new(&e->arena, struct vm_area_struct);
	vma->id = mm_obj_id();
	vma->vm_mm = mm;
	vma->vm_start = 0;
	vma->vm_end = 16;
	vma_lock_init(vma);
}

static void unlocked_writer_fn(void *a)
{
	(void)a;
	vma_start_write(vma);
}

static void build_vma_no_mmap(struct engine *e, void *arg)
{
	(void)arg;
	build_mm(e);
	mm_task_create(e, "T", 0, unlocked_writer_fn, NULL);
}

Test(vma_lock, start_write_without_mmap_write_lock_is_a_finding)
{
	struct engine *e = test_engine(1);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_vma_no_mmap, NULL),
		     RUN_OK);
	cr_assert_eq(findings_of(e, "assert_locked"), 1);
	cr_assert(strstr(e->findings[0].summary, "mmap_lock") != NULL);
	cr_assert_not(vma_is_write_locked(vma));
	test_engine_done(e);
}

static void vma_writer_fn(void *a)
{
	(void)a;
	mmap_write_lock(mm);
	vma_start_write(vma);
	write_locked_at = sim_now();
	sim_sleep(1000);
	mmap_write_unlock(mm);
}

static void vma_reader_fn(void *a)
{
	(void)a;
	/* Holds the VMA read lock first: the writer must wait for it. */
	bool ok = vma_start_read(mm, vma);
	SIM_ASSERT(ok);
	sim_sleep(500);
	reader_released_at = sim_now();
	vma_end_read(vma);
	sim_sleep(1000);
	read_ok_while_write_locked = vma_start_read(mm, vma);
	if (read_ok_while_write_locked)
		vma_end_read(vma);
	sim_sleep(2000);
	read_ok_after_unlock = vma_start_read(mm, vma);
	if (read_ok_after_unlock)
		vma_end_read(vma);
}

static void build_vma_protocol(struct engine *e, void *arg)
{
	(void)arg;
	build_mm(e);
	mm_task_create(e, "reader", 0, vma_reader_fn, NULL);
	mm_task_create(e, "writer", 1, (void (*)(void *))vma_writer_fn, NULL);
}

static void writer_later_fn(void *a)
{
	sim_sleep(100);
	vma_writer_fn(a);
}

static void build_vma_protocol_ordered(struct engine *e, void *arg)
{
	(void)arg;
	build_mm(e);
	mm_task_create(e, "reader", 0, vma_reader_fn, NULL);
	mm_task_create(e, "writer", 1, writer_later_fn, NULL);
}

Test(vma_lock, write_waits_for_readers_and_unlock_ends_it)
{
	struct engine *e = test_engine(2);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_vma_protocol_ordered,
			      NULL), RUN_OK);
	cr_assert_geq(write_locked_at, reader_released_at,
		      "vma_start_write waits for the VMA's reader");
	cr_assert_not(read_ok_while_write_locked);
	cr_assert(read_ok_after_unlock,
		  "mmap_write_unlock ends the VMA write lock");
	cr_assert_eq(e->findings_count, 0);
	(void)build_vma_protocol;
	test_engine_done(e);
}

/* ----------------------------------------------------------- folio lock */

static struct folio *folio;
static bool waiter_took_lock, exclusive_owned;

static void folio_holder_fn(void *a)
{
	(void)a;
	folio_lock(folio);
	sim_sleep(1000);
	folio_unlock(folio);
}

static void folio_locker_fn(void *a)
{
	(void)a;
	sim_sleep(100);
	folio_lock(folio);
	exclusive_owned = folio->lock_owner == sim_current();
	sim_sleep(100);
	folio_unlock(folio);
}

static void folio_waiter_fn(void *a)
{
	(void)a;
	sim_sleep(200);
	folio_wait_locked(folio);
	waiter_took_lock = folio->lock_owner == sim_current();
}

static void build_folio(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	folio = arena_new(&e->arena, struct folio);
	folio->id = mm_obj_id();
	folio_lock_init(folio);
	mm_task_create(e, "holder", 0, folio_holder_fn, NULL);
	mm_task_create(e, "locker", 1, folio_locker_fn, NULL);
	mm_task_create(e, "waiter", 2, folio_waiter_fn, NULL);
}

Test(folio_lock, unlock_hands_over_to_the_first_exclusive_waiter)
{
	struct engine *e = test_engine(3);
	rec_start();
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_folio, NULL), RUN_OK);
	cr_assert(exclusive_owned);
	cr_assert_not(waiter_took_lock, "folio_wait_locked does not lock");
	cr_assert_eq(order_n, 2);
	cr_assert_str_eq(order[1], "locker");
	cr_assert_not(folio_test_locked(folio));
	cr_assert_eq(e->findings_count, 0);
	lock_hooks_unsubscribe(order);
	test_engine_done(e);
}

/* ------------------------------------ what the hooks tell lockdep */

struct acq_rec {
	uint32_t lock_id;
	enum lock_mode mode;
	bool trylock;
	uint32_t index;		/* position in the held list */
	uint32_t held_count;
};
static struct acq_rec acqs[32];
static uint32_t acqs_n, rels_n;

static void on_acq_rec(void *ctx, struct task *t, const struct held_lock *h)
{
	(void)ctx;
	struct task_mm *tm = task_mm(t);
	if (acqs_n < 32)
		acqs[acqs_n++] = (struct acq_rec){
			.lock_id = h->lock->id, .mode = h->mode,
			.trylock = h->trylock,
			.index = (uint32_t)(h - tm->held),
			.held_count = tm->held_count };
}

static void on_rel_rec(void *ctx, struct task *t, const struct held_lock *h,
		       uint64_t now)
{
	(void)ctx;
	(void)t;
	(void)h;
	(void)now;
	rels_n++;
}

static struct lock_hooks acq_hooks = { .ctx = acqs, .acquired = on_acq_rec,
				       .released = on_rel_rec };
static struct rw_semaphore *sem2;

static void trylocker_fn(void *a)
{
	(void)a;
	spin_lock(spin);			/* 0: waits if it must */
	spin_unlock(spin);
	SIM_ASSERT(spin_trylock(spin));		/* 1 */
	spin_unlock(spin);
	SIM_ASSERT(down_read_trylock(sem));	/* 2 */
	up_read(sem);
	SIM_ASSERT(down_write_trylock(sem));	/* 3 */
	up_write(sem);
	SIM_ASSERT(folio_trylock(folio));	/* 4 */
	folio_unlock(folio);
	folio_lock(folio);			/* 5 */
	folio_unlock(folio);
	folio_lock_new(folio);			/* 6: nobody can see it yet */
	folio_unlock(folio);
	/* 7, 8, 9: write, then an inner lock, then the downgrade. */
	down_write(sem);
	down_read(sem2);
	downgrade_write(sem);
	up_read(sem2);
	up_read(sem);
}

static void build_trylocks(struct engine *e, void *arg)
{
	(void)arg;
	new_world_sem(e);
	sem2 = arena_new(&e->arena, struct rw_semaphore);
	init_rwsem(sem2, LC_I_MMAP_RWSEM, 0);
	spin = arena_new(&e->arena, spinlock_t);
	spin_lock_init(spin, LC_PTL, 0);
	folio = arena_new(&e->arena, struct folio);
	folio->id = mm_obj_id();
	folio_lock_init(folio);
	mm_task_create(e, "T", 0, trylocker_fn, NULL);
}

Test(locks, hooks_say_which_acquisitions_could_not_wait)
{
	struct engine *e = test_engine(1);
	acqs_n = rels_n = 0;
	lock_hooks_unsubscribe(acqs);
	cr_assert(lock_hooks_subscribe(&acq_hooks));
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_trylocks, NULL),
		     RUN_OK);
	lock_hooks_unsubscribe(acqs);
	cr_assert_eq(acqs_n, 10);
	static const bool want[7] = { false, true, true, true, true, false,
				      true };
	for (uint32_t i = 0; i < 7; i++)
		cr_assert_eq(acqs[i].trylock, want[i], "acquisition %u", i);
	/* The downgrade: the read entry stays at index 0, below the lock
	 * taken after the write, and is announced as an acquisition. */
	cr_assert_eq(acqs[9].lock_id, sem->c.id);
	cr_assert_eq(acqs[9].mode, LOCK_READ);
	cr_assert_eq(acqs[9].index, 0);
	cr_assert_eq(acqs[9].held_count, 2);
	cr_assert_not(acqs[9].trylock);
	/* Every acquisition is released once, the write before the read. */
	cr_assert_eq(rels_n, 10);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(sem->readers, 0);
	cr_assert_null(sem->writer);
	test_engine_done(e);
}
