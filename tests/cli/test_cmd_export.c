/*
 * test_cmd_export.c: `simrun export --format perfetto`, through the built
 * binary, parsed back with cJSON.  On the rwsem fairness deadlock and on
 * the HDD mmap_lock convoy (which does I/O and wakes tasks): the file is
 * Chrome trace-event JSON with ns display, one process per simulated CPU
 * and one per device, named threads for every track an event uses, lock
 * holds and faults as complete slices that nest on each track (never a
 * partial overlap), I/O as async begin/end pairs on the device, wake-ups
 * as flow start/finish pairs that bind to slices, and the finding as a
 * global instant event.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "tests/support.h"

#define SCENARIOS SIMRUN_SOURCE_DIR "/scenarios"

static char dir[64];

static void setup(void)
{
	test_tmpdir(dir, sizeof(dir));
}

static void teardown(void)
{
	test_rmtree(dir);
}

TestSuite(export, .init = setup, .fini = teardown);

/* Record `args` into dir/name.db, export run `run_sql`'s answer, parse. */
static cJSON *export_run(const char *name, const char *args, const char *run_sql)
{
	char db[160], out[160], *err;

	snprintf(db, sizeof(db), "%s/%s.db", dir, name);
	snprintf(out, sizeof(out), "%s/%s.json", dir, name);
	int rc = test_shf(NULL, &err, "%s %s --db %s", test_simrun_path(), args, db);
	cr_assert(rc == 0 || rc == 1, "%s: %s", args, err);
	free(err);
	int64_t run = test_sql_int(db, run_sql);
	cr_assert(run > 0, "%s", run_sql);
	rc = test_shf(NULL, &err, "%s export --db %s --run %lld --format perfetto -o %s",
		      test_simrun_path(), db, (long long)run, out);
	cr_assert_eq(rc, 0, "%s", err);
	free(err);
	char *text = test_read_file(out);
	cJSON *root = cJSON_Parse(text);
	cr_assert(root != NULL, "the file parses as JSON");
	free(text);
	return root;
}

/* Virtual ns from a trace-event microsecond value (three decimals). */
static int64_t ns_of(const cJSON *e, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);

	cr_assert(cJSON_IsNumber(v), "%s is a number", key);
	cr_assert(v->valuedouble >= 0, "%s is not negative", key);
	return (int64_t)llround(v->valuedouble * 1000.0);
}

static int64_t num(const cJSON *e, const char *key)
{
	return (int64_t)test_json_num(e, key);
}

#define TRACKS_MAX 512
#define SLICES_MAX 100000

struct track {
	int64_t pid, tid;
	char name[96];
};

struct slice {
	int64_t pid, tid, start, end;
};

struct checked {
	uint32_t processes, threads;
	char process_names[64][96];
	int64_t process_pids[64];
	struct track tracks[TRACKS_MAX];
	uint32_t slices_count;
	struct slice *slices;
	uint32_t holds, faults, waits, instants, async_pairs, flows;
	char instant_names[8][32];
};

static const struct track *track_of(const struct checked *c, int64_t pid, int64_t tid)
{
	for (uint32_t i = 0; i < c->threads; i++)
		if (c->tracks[i].pid == pid && c->tracks[i].tid == tid)
			return &c->tracks[i];
	return NULL;
}

static int slice_cmp(const void *a, const void *b)
{
	const struct slice *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end > y->end ? -1 : x->end < y->end;
}

/* A slice of track (pid, tid) with start <= ts <= end (ts == start when
 * at_start). */
static bool bound(const struct checked *c, int64_t pid, int64_t tid, int64_t ts,
		  bool at_start)
{
	for (uint32_t i = 0; i < c->slices_count; i++) {
		const struct slice *s = &c->slices[i];
		if (s->pid == pid && s->tid == tid &&
		    (at_start ? s->start == ts : s->start <= ts && ts <= s->end))
			return true;
	}
	return false;
}

static void check(const cJSON *root, struct checked *c)
{
	memset(c, 0, sizeof(*c));
	c->slices = calloc(SLICES_MAX, sizeof(*c->slices));
	cr_assert(c->slices != NULL);
	cr_assert_str_eq(test_json_str(root, "displayTimeUnit"), "ns");
	const cJSON *events = cJSON_GetObjectItemCaseSensitive(root, "traceEvents");
	cr_assert(cJSON_IsArray(events));

	/* Metadata first: names of processes and threads. */
	const cJSON *e;
	cJSON_ArrayForEach(e, events) {
		const char *ph = test_json_str(e, "ph");
		if (strcmp(ph, "M") != 0)
			continue;
		const char *what = test_json_str(e, "name");
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(e, "args");
		if (strcmp(what, "process_name") == 0) {
			cr_assert(c->processes < 64);
			c->process_pids[c->processes] = num(e, "pid");
			snprintf(c->process_names[c->processes++], 96, "%s",
				 test_json_str(args, "name"));
		} else if (strcmp(what, "thread_name") == 0) {
			cr_assert(c->threads < TRACKS_MAX);
			struct track *t = &c->tracks[c->threads++];
			t->pid = num(e, "pid");
			t->tid = num(e, "tid");
			snprintf(t->name, sizeof(t->name), "%s", test_json_str(args, "name"));
		}
	}

	/* Async slices and flows pair up by id. */
	cJSON *async = cJSON_CreateObject(), *flow = cJSON_CreateObject();
	cJSON_ArrayForEach(e, events) {
		const char *ph = test_json_str(e, "ph");
		if (strcmp(ph, "M") == 0)
			continue;
		int64_t pid = num(e, "pid"), tid = num(e, "tid");
		int64_t ts = ns_of(e, "ts");
		if (strcmp(ph, "X") == 0) {
			cr_assert(track_of(c, pid, tid), "slice on a named thread %lld/%lld",
				  (long long)pid, (long long)tid);
			cr_assert(c->slices_count < SLICES_MAX);
			c->slices[c->slices_count++] =
				(struct slice){ pid, tid, ts, ts + ns_of(e, "dur") };
			const char *cat = test_json_str(e, "cat");
			c->holds += strcmp(cat, "lock") == 0;
			c->waits += strcmp(cat, "lock_wait") == 0;
			c->faults += strcmp(cat, "fault") == 0;
		} else if (strcmp(ph, "b") == 0 || strcmp(ph, "e") == 0) {
			char key[32];
			cr_assert_str_eq(test_json_str(e, "cat"), "io");
			snprintf(key, sizeof(key), "%lld", (long long)num(e, "id"));
			cJSON *p = cJSON_GetObjectItemCaseSensitive(async, key);
			if (!p) {
				p = cJSON_AddObjectToObject(async, key);
				cJSON_AddNumberToObject(p, "pid", (double)pid);
			}
			cr_assert_eq(num(p, "pid"), pid, "begin and end on one device");
			cr_assert(!cJSON_GetObjectItemCaseSensitive(p, ph), "one %s per id", ph);
			cJSON_AddNumberToObject(p, ph, (double)ts);
		} else if (strcmp(ph, "s") == 0 || strcmp(ph, "f") == 0) {
			char key[32];
			snprintf(key, sizeof(key), "%lld", (long long)num(e, "id"));
			cJSON *p = cJSON_GetObjectItemCaseSensitive(flow, key);
			if (!p)
				p = cJSON_AddObjectToObject(flow, key);
			cr_assert(!cJSON_GetObjectItemCaseSensitive(p, ph), "one %s per flow", ph);
			cJSON_AddNumberToObject(p, ph, (double)ts);
			cJSON_AddNumberToObject(p, strcmp(ph, "s") == 0 ? "spid" : "fpid", (double)pid);
			cJSON_AddNumberToObject(p, strcmp(ph, "s") == 0 ? "stid" : "ftid", (double)tid);
			if (strcmp(ph, "f") == 0)
				cr_assert_str_eq(test_json_str(e, "bp"), "e");
			/* Bound by equal cat, pid, tid and ts too (DevTools). */
			cr_assert_str_eq(test_json_str(e, "cat"), "step");
		} else if (strcmp(ph, "i") == 0) {
			cr_assert_str_eq(test_json_str(e, "s"), "g");
			cr_assert(c->instants < 8);
			snprintf(c->instant_names[c->instants++], 32, "%s", test_json_str(e, "name"));
		} else {
			cr_assert_fail("unexpected phase %s", ph);
		}
	}

	/* Nesting: on each track, a slice that starts inside another ends
	 * inside it too. */
	qsort(c->slices, c->slices_count, sizeof(*c->slices), slice_cmp);
	int64_t stack[256];
	uint32_t depth = 0;
	for (uint32_t i = 0; i < c->slices_count; i++) {
		const struct slice *s = &c->slices[i];
		if (i == 0 || s->pid != s[-1].pid || s->tid != s[-1].tid)
			depth = 0;
		while (depth && stack[depth - 1] <= s->start)
			depth--;
		cr_assert(!depth || stack[depth - 1] >= s->end,
			  "slice [%lld, %lld] on %lld/%lld partly overlaps one ending at %lld",
			  (long long)s->start, (long long)s->end, (long long)s->pid,
			  (long long)s->tid, (long long)stack[depth - 1]);
		cr_assert(depth < 256);
		stack[depth++] = s->end;
	}

	const cJSON *p;
	cJSON_ArrayForEach(p, async) {
		cr_assert(cJSON_GetObjectItemCaseSensitive(p, "b") &&
			  cJSON_GetObjectItemCaseSensitive(p, "e"), "io %s has begin and end",
			  p->string);
		cr_assert(num(p, "e") >= num(p, "b"));
		c->async_pairs++;
	}
	cJSON_ArrayForEach(p, flow) {
		cr_assert(cJSON_GetObjectItemCaseSensitive(p, "s") &&
			  cJSON_GetObjectItemCaseSensitive(p, "f"), "flow %s has both ends",
			  p->string);
		/* The start is the start of the waker's step, the end the
		 * start of the woken task's next step. */
		cr_assert(bound(c, num(p, "spid"), num(p, "stid"), num(p, "s"), true));
		cr_assert(bound(c, num(p, "fpid"), num(p, "ftid"), num(p, "f"), true));
		cr_assert(num(p, "f") >= num(p, "s"), "a task runs after it is woken");
		c->flows++;
	}
	cJSON_Delete(async);
	cJSON_Delete(flow);
}

static bool has_process(const struct checked *c, const char *name)
{
	for (uint32_t i = 0; i < c->processes; i++)
		if (strcmp(c->process_names[i], name) == 0)
			return true;
	return false;
}

static bool has_thread(const struct checked *c, const char *name)
{
	for (uint32_t i = 0; i < c->threads; i++)
		if (strcmp(c->tracks[i].name, name) == 0)
			return true;
	return false;
}

Test(export, rwsem_deadlock_has_cpu_tracks_holds_and_the_finding)
{
	cJSON *root = export_run("rwsem",
				 SCENARIOS "/rwsem-fair-deadlock.json --variant fair",
				 "SELECT min(run_id) FROM finding WHERE kind = 'deadlock'");
	struct checked c;

	check(root, &c);
	cr_assert(has_process(&c, "CPU 0") && has_process(&c, "CPU 1") &&
		  has_process(&c, "CPU 2"));
	cr_assert(has_thread(&c, "CPU 0 steps"));
	cr_assert(has_thread(&c, "writer/0") && has_thread(&c, "reader/1") &&
		  has_thread(&c, "unmapper/2"));
	cr_assert_gt(c.holds, 10);
	cr_assert_gt(c.faults, 0);
	/* The three waits of the cycle never end. */
	cr_assert_geq(c.waits, 3);
	bool deadlock = false;
	for (uint32_t i = 0; i < c.instants; i++)
		deadlock |= strcmp(c.instant_names[i], "deadlock") == 0;
	cr_assert(deadlock, "the finding is an instant event");
	free(c.slices);
	cJSON_Delete(root);
}

Test(export, hdd_convoy_has_a_device_track_io_and_wakeups)
{
	cJSON *root = export_run("convoy",
				 SCENARIOS "/mmap-lock-convoy.json --variant old-hdd "
					   "--schedules 1 --keep-decisions",
				 "SELECT min(id) FROM run");
	struct checked c;

	check(root, &c);
	cr_assert(has_process(&c, "device hdd"), "a device track");
	cr_assert_gt(c.async_pairs, 0, "I/O as async slices");
	cr_assert_gt(c.flows, 0, "wake-ups as flows");
	cr_assert_eq(c.instants, 0, "no finding, no instant");
	free(c.slices);
	cJSON_Delete(root);
}

Test(export, errors_are_exit_2)
{
	char *err;
	int rc = test_shf(NULL, &err, "%s export --db %s/none.db --run 1", test_simrun_path(),
			  dir);

	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "no such database"), "%s", err);
	free(err);
	rc = test_shf(NULL, &err, "%s export --run 1 --format svg", test_simrun_path());
	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "the only format is perfetto"), "%s", err);
	free(err);
	rc = test_shf(NULL, &err, "%s export --db x.db", test_simrun_path());
	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "give --run ID"), "%s", err);
	free(err);
}
