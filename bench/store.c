/*
 * bench/store.c: how fast the result database records runs.  Stages and
 * commits N runs of one campaign through store.h, the way runner_run
 * does, into a fresh file, and prints runs per second (committed, the
 * campaign's end included).  The runs look like a deadlock hunt's: one in
 * 20 has two findings (a deadlock and a lock_order, with summaries and
 * JSON details of the usual length) and keeps its 300-byte decision log;
 * the others have none and keep only their row.  Prints runs per second of
 * wall time (writes and their waits included) and of CPU time.  A figure,
 * never a pass/fail.
 *
 *     bench/store DB_PATH [RUNS]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis/store.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fill_finding(struct finding *f, const char *kind, uint64_t sig,
			 uint64_t i)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->kind, sizeof(f->kind), "%s", kind);
	f->signature = sig;
	f->step = 100 + i % 200;
	f->time_ns = 20000 + i % 5000;
	f->task = (uint32_t)(i % 3);
	f->hits = 1;
	snprintf(f->summary, sizeof(f->summary),
		 "deadlock: reader waits in folio_lock "
		 "(lock_folio_maybe_drop_mmap) for writer; writer waits in "
		 "mmap_read_lock (lock_mm_and_find_vma) behind queued writer "
		 "unmapper; unmapper waits in mmap_write_lock (do_munmap) for "
		 "reader");
	snprintf(f->detail, sizeof(f->detail),
		 "{\"cycle\":[{\"task\":\"reader\",\"waits\":\"folio_lock\","
		 "\"at\":\"lock_folio_maybe_drop_mmap\",\"holds\":[\"mmap_lock\"]},"
		 "{\"task\":\"writer\",\"waits\":\"mmap_lock\",\"at\":"
		 "\"lock_mm_and_find_vma\",\"holds\":[\"i_rwsem\",\"folio_lock\"]},"
		 "{\"task\":\"unmapper\",\"waits\":\"mmap_lock\",\"at\":"
		 "\"do_munmap\",\"holds\":[]}],\"step\":%" PRIu64 "}",
		 f->step);
}

int main(int argc, char **argv)
{
	char err[1024];
	struct store *st;
	int64_t cid;
	uint64_t runs = argc > 2 ? strtoull(argv[2], NULL, 0) : 200000;
	static const char scenario[] = "{\"name\":\"bench-store\"}";
	struct finding f[2];
	uint8_t log[300];

	if (argc < 2 || argc > 3 || runs == 0) {
		fprintf(stderr, "usage: bench/store DB_PATH [RUNS]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(log); i++)
		log[i] = (uint8_t)(i * 7 % 128);	/* one-byte varints */
	unlink(argv[1]);
	double t0 = clock_s(CLOCK_MONOTONIC);
	double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	if (store_open(argv[1], NULL, &st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "bench/store: %s\n", err);
		return 2;
	}
	struct store_campaign c = {
		.scenario_name = "bench-store",
		.scenario_json = scenario,
		.scenario_json_len = sizeof(scenario) - 1,
		.strategy = "pct",
		.params_json = "{\"pct_depth\":3}",
		.base_seed = 42,
		.schedules = runs,
	};
	if (store_campaign_begin(st, &c, &cid) != STORE_OK)
		goto failed;
	for (uint64_t i = 0; i < runs; i++) {
		bool bad = i % 20 == 19;
		struct store_run r = {
			.idx = i,
			.seed = 0x9e3779b97f4a7c15ull * (i + 1),
			.outcome = bad ? RUN_DEADLOCK : RUN_OK,
			.steps = 300 + i % 100,
			.virtual_ns = 24000 + i % 1000,
			.trace_hash = 0xd1b54a32d192ed03ull * (i + 7),
			.decisions_count = sizeof(log),
			.decisions = log,
			.decisions_len = sizeof(log),
		};
		if (bad) {
			fill_finding(&f[0], "deadlock", 0xec097bbffff24f4full, i);
			fill_finding(&f[1], "lock_order", 0xae56e58523346d6full, i);
		}
		if (store_run_add(st, cid, &r, f, bad ? 2 : 0) != STORE_OK)
			goto failed;
	}
	if (store_campaign_end(st, cid, STORE_DONE) != STORE_OK)
		goto failed;
	if (store_close(st, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "bench/store: %s\n", err);
		return 3;
	}
	double dt = clock_s(CLOCK_MONOTONIC) - t0;
	double dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("store: %" PRIu64 " runs (%" PRIu64 " with 2 findings) in %.3f s "
	       "wall, %.3f s CPU: %.0f runs/s, %.0f runs per CPU second\n",
	       runs, runs / 20, dt, dc, (double)runs / dt, (double)runs / dc);
	return 0;

failed:
	fprintf(stderr, "bench/store: %s\n", store_error(st));
	store_close(st, NULL, 0);
	return 3;
}
