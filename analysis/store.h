/*
 * store.h: the result database.  One SQLite file (WAL mode) holding
 * campaigns, their runs, the runs' findings and the campaigns' metrics, so
 * that kernel developers can query results with plain SQL and `simrun
 * replay` can rebuild any recorded run from the file alone.  Not the
 * command line (which picks the path, default simrun.db) and not the
 * checkers or metrics that produce what is stored here.
 *
 * The schema, every column's unit, and example queries are in README.md,
 * "The result database"; the SQL itself is at the top of store.c.
 *
 * Writing: a store records one campaign at a time.
 *
 *     store_open -> store_campaign_begin -> (store_run_add | store_metric_add)*
 *                -> store_campaign_end -> ... -> store_close
 *
 * The campaign row is committed at once.  Runs, findings and metric counts
 * are staged in memory and committed in batches of STORE_BATCH_RUNS runs
 * (or STORE_BATCH_BYTES of staged data), at store_flush, and at
 * store_campaign_end; SQLite's write lock is held only while a batch is
 * written.  A process that dies loses at most its staged batch: every
 * committed batch stays.  A batch that fails to commit (disk full, another
 * process holding the lock) stays staged and is retried by the next flush.
 *
 * Errors: functions return a store_rc; on anything but STORE_OK,
 * store_error() is a message that names the database file and says what a
 * user can do ("simrun.db: database is locked by another process ...").
 * Programmer errors (a run for a campaign that is not open, a NULL name) are
 * SIM_ASSERTs.
 *
 * Reading (replay, regress): store_load_run, store_find_run and
 * store_runs_with_findings read what is committed, not what is staged.
 * To replay a loaded run: scenario_load_text(info.scenario_json, ...,
 * info.variant), a STRATEGY_REPLAY strategy of info.decisions, and
 * campaign_run_schedule(e, sc, replay, checkers, info.seed, 0, ...): schedule 0 runs
 * with its base seed, so this is the recorded run seed whatever strategy
 * (dfs included) chose it.
 */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/campaign.h"
#include "engine/engine.h"

/* PRAGMA user_version of the schema this simrun writes.  A database with a
 * lower version is migrated on open; a higher one is refused. */
#define STORE_SCHEMA_VERSION 2
/* PRAGMA application_id: "SMRN", so that `file simrun.db` and store_open
 * can tell a simrun database from another program's SQLite file. */
#define STORE_APPLICATION_ID 0x534d524e

enum store_rc {
	STORE_OK = 0,
	STORE_ERR_OPEN,		/* the file cannot be opened or created */
	STORE_ERR_NOT_DB,	/* not a SQLite database, or another program's */
	STORE_ERR_LOCKED,	/* another process held the lock too long */
	STORE_ERR_NEWER,	/* written by a newer simrun */
	STORE_ERR_READONLY,	/* the file or its directory is not writable */
	STORE_ERR_FULL,		/* the disk or quota is full */
	STORE_ERR_IO,		/* the operating system reported an I/O error */
	STORE_ERR_CORRUPT,	/* the file, or a row in it, is damaged */
	STORE_ERR_NOT_FOUND,	/* no such run or campaign */
	STORE_ERR_RANGE,	/* a value the database cannot hold exactly */
	STORE_ERR_NOMEM,	/* out of memory */
	STORE_ERR_SQLITE,	/* any other SQLite failure (a simrun bug) */
	STORE_RC_COUNT,
};

/* "ok", "open", "not_db", "locked", ...: for logs and tests. */
const char *store_rc_name(enum store_rc rc);

/* campaign.status.  A campaign is `running` from store_campaign_begin until
 * store_campaign_end; one left `running` belongs to a live simrun or to one
 * that died. */
enum store_status {
	STORE_RUNNING = 0,
	STORE_DONE,		/* every requested schedule ran */
	STORE_INTERRUPTED,	/* stopped early: by the user, or the store
				 * was closed before the campaign ended */
	STORE_FAILED,		/* stopped by an error */
	STORE_STATUS_COUNT,
};

const char *store_status_name(enum store_status st);

struct store;

struct store_opts {
	/* Keep the decision log of every run.  By default only runs worth
	 * replaying keep theirs: those with a finding or an outcome other
	 * than ok.  The run row is kept either way. */
	bool keep_all_decisions;
	/* Runs per committed batch (--commit-every); 0: STORE_BATCH_RUNS. */
	uint32_t batch_runs;
};

/*
 * Open the database at `path`, creating it (and its schema) when the file
 * does not exist or is empty, migrating an older schema, and taking no
 * lock afterwards.  opts may be NULL for the defaults.  On success *out is
 * the store; on failure *out is NULL and err holds a message naming the
 * path: cannot open, not a database, locked by another process (after
 * STORE_BUSY_TIMEOUT_MS), schema newer than this simrun, read-only.
 */
enum store_rc store_open(const char *path, const struct store_opts *opts,
			 struct store **out, char *err, size_t err_len);

/*
 * Commit what is staged and close.  A campaign still open is recorded as
 * `interrupted`.  Returns the commit's result; the store is freed whatever
 * it returns, and on failure err (may be NULL) says what was lost.
 */
enum store_rc store_close(struct store *s, char *err, size_t err_len);

/* The message of the most recent call on s that failed ("" if none). */
const char *store_error(const struct store *s);
const char *store_path(const struct store *s);

/* ------------------------------------------------------------ writing */

struct store_campaign {
	const char *scenario_name;
	const char *scenario_json;	/* the file as read (struct scenario
					 * json_text), for replay */
	size_t scenario_json_len;
	const char *variant;		/* NULL or "" for the base scenario */
	const char *strategy;		/* "timed", "random", "pct", "dfs" */
	const char *params_json;	/* a JSON object of the strategy's and
					 * budgets' parameters; NULL for {} */
	uint64_t base_seed;
	uint64_t schedules;		/* schedules requested */
	/* The slice this process runs: schedule i when i % shard_count ==
	 * shard_index.  0 of 1 (or 0 of 0) is the whole campaign. */
	uint32_t shard_index;
	uint32_t shard_count;
};

/*
 * Record the start of a campaign (committed at once, with started_at from
 * SQLite's CURRENT_TIMESTAMP and scenario_sha256 computed here) and make it
 * the store's open campaign.  No other campaign may be open.
 */
enum store_rc store_campaign_begin(struct store *s,
				   const struct store_campaign *c,
				   int64_t *campaign_id);

/* One finished run, as store_run_add records it. */
struct store_run {
	uint64_t idx;			/* schedule index in the campaign */
	uint64_t seed;			/* run_result.seed: what replay needs */
	enum run_outcome outcome;
	uint64_t steps;
	uint64_t virtual_ns;
	uint64_t trace_hash;
	uint64_t decisions_count;	/* entries in the decision log */
	const uint8_t *decisions;	/* engine_decisions(): LEB128 varints */
	size_t decisions_len;
	/* Keep the decision log even when the run looks clean: a shard's
	 * run whose lock-graph events may close a cycle once merged. */
	bool keep_decisions;
	/* The run's lock-graph events (checkers_lock_events), kept in
	 * lock_event for merge and resume. */
	const struct lockdep_event *lock_events;
	uint32_t lock_events_count;
};

/* Fill a store_run from campaign_run_schedule's result and the engine that
 * still holds the run (its decision log). */
void store_run_fill(struct store_run *out, const struct run_result *r,
		    const struct engine *e);

/*
 * Stage one run of the open campaign with its findings (the engine's
 * e->findings, e->findings_count).  Runs of a campaign come in increasing
 * idx order.  STORE_OK means the run is recorded: staged, and committed
 * with its batch.  Any error means this run was not recorded; runs staged
 * before it stay staged, runs committed before stay committed.  When the
 * staged batch is full, this commits it first.
 */
enum store_rc store_run_add(struct store *s, int64_t campaign_id,
			    const struct store_run *r,
			    const struct finding *findings,
			    uint32_t findings_count);

/*
 * Add `count` to metric `name` of the open campaign: to the histogram
 * bucket whose lower bound is *bucket (in the metric's unit, ns for names
 * ending in _ns), or to the counter when bucket is NULL.  Counts accumulate
 * (an SQL upsert), so callers may add per run or per batch.
 */
enum store_rc store_metric_add(struct store *s, int64_t campaign_id,
			       const char *name, const uint64_t *bucket,
			       uint64_t count);

/*
 * Histogram buckets in the metric table are analysis/histogram.h's: exact
 * below 16, then 8 per power of two; `bucket` is hist_bucket_lower() of the
 * bucket, so every histogram row can be rebuilt into a struct hist.
 */

/* True when the next store_run_add would commit the staged batch first:
 * the moment for a caller to add the batch's metric counts and flush, so
 * that committed runs and committed metrics go together. */
bool store_batch_full(const struct store *s);

/* Commit what is staged; the campaign stays open. */
enum store_rc store_flush(struct store *s);

/*
 * Commit what is staged and set the campaign's status (not STORE_RUNNING)
 * and ended_at, in one transaction.  On failure the campaign stays open
 * and staged, so the call can be retried, or store_close can record it as
 * interrupted.
 */
enum store_rc store_campaign_end(struct store *s, int64_t campaign_id,
				 enum store_status status);

/* ------------------------------------------------------------ reading */

/* A finding as read back; strings are owned by the store_run_info. */
struct store_finding {
	char *kind;
	uint64_t signature;
	char *summary;
	char *detail_json;
	uint64_t step;
	uint64_t time_ns;
	uint32_t task;			/* TRACE_NO_TASK when none */
	uint32_t hits;
};

/* Everything replay needs about one run; free with store_run_info_free. */
struct store_run_info {
	int64_t run_id;
	int64_t campaign_id;

	/* The campaign's. */
	char *simrun_version;
	char *scenario_name;
	char *scenario_json;
	size_t scenario_json_len;
	char scenario_sha256[65];
	char *variant;			/* "" for the base scenario */
	char *strategy;
	char *params_json;
	uint64_t base_seed;
	enum store_status status;

	/* The run's. */
	uint64_t idx;
	uint64_t seed;
	enum run_outcome outcome;
	uint64_t steps;
	uint64_t virtual_ns;
	uint64_t trace_hash;
	uint64_t decisions_count;
	bool has_decisions;		/* false: the log was not kept */
	uint8_t *decisions;		/* NULL when none or not kept */
	size_t decisions_len;
	uint32_t findings_count;
	struct store_finding *findings;
};

/* Load run `run_id` with its campaign and findings.  STORE_ERR_NOT_FOUND
 * when there is no such run; *out is zeroed on any failure. */
enum store_rc store_load_run(struct store *s, int64_t run_id,
			     struct store_run_info *out);
void store_run_info_free(struct store_run_info *info);

/* The run id of schedule `idx` of a campaign (STORE_ERR_NOT_FOUND if
 * none). */
enum store_rc store_find_run(struct store *s, int64_t campaign_id,
			     uint64_t idx, int64_t *run_id);

/* A run worth replaying, as store_runs_with_findings reports it. */
struct store_run_ref {
	int64_t run_id;
	int64_t campaign_id;
	uint64_t idx;
	uint64_t seed;
	enum run_outcome outcome;
	uint32_t findings_count;
};

/* Return false to stop the iteration. */
typedef bool (*store_run_fn)(void *ctx, const struct store_run_ref *ref);

/*
 * Call fn for every run with at least one finding or an outcome other than
 * ok (a deadlocked run is worth replaying even before a checker names the
 * cycle), of campaign `campaign_id`, or of every campaign when it is 0, in
 * run id order.  fn may call store_load_run; it may not start another
 * iteration.  STORE_ERR_NOT_FOUND when the campaign does not exist.
 */
enum store_rc store_runs_with_findings(struct store *s, int64_t campaign_id,
				       store_run_fn fn, void *ctx);

/*
 * Read-only SQL over the documented schema (README, "The result
 * database"), for reports (simrun show, report): run `sql` with args[0..n)
 * bound to ?1..?n, and call row(ctx, ncol, values) for each row, every
 * value as text (NULL for SQL NULL), valid only during the call.  row
 * returns false to stop.  Reads what is committed.  A statement that
 * writes is refused (STORE_ERR_RANGE).
 */
typedef bool (*store_row_fn)(void *ctx, int ncol, const char *const *values);
enum store_rc store_query(struct store *s, const char *sql,
			  const int64_t *args, int nargs, store_row_fn row,
			  void *ctx);

/* ------------------------------------------- campaigns across processes */

/* A campaign's row, as merge and resume read it; free with
 * store_campaign_info_free. */
struct store_campaign_info {
	int64_t campaign_id;
	char *simrun_version;
	char *scenario_name;
	char *scenario_json;
	size_t scenario_json_len;
	char scenario_sha256[65];
	char *variant;
	char *strategy;
	char *params_json;
	uint64_t base_seed;
	uint64_t schedules;
	enum store_status status;
	uint32_t shard_index;
	uint32_t shard_count;
	bool keep_decisions;
	uint64_t runs;			/* runs committed */
};

enum store_rc store_campaign_info(struct store *s, int64_t campaign_id,
				  struct store_campaign_info *out);
void store_campaign_info_free(struct store_campaign_info *info);

/* The campaigns in the file, in id order: up to max ids, *count of them
 * in all. */
enum store_rc store_campaign_ids(struct store *s, int64_t *ids, uint32_t max,
				 uint32_t *count);

/* The newest campaign whose status is running or interrupted
 * (STORE_ERR_NOT_FOUND if none): what --resume continues. */
enum store_rc store_campaign_unfinished(struct store *s, int64_t *campaign_id);

/*
 * Make campaign `campaign_id` the store's open campaign again, status
 * running, as if store_campaign_begin had just returned it (resume).  Its
 * committed runs stay; runs added now must have indices it has not
 * recorded.
 */
enum store_rc store_campaign_reopen(struct store *s, int64_t campaign_id);

/* One committed run with its findings and lock-graph events. */
struct store_cursor_run {
	int64_t run_id;
	struct store_run run;		/* run.decisions: valid until the next
					 * call; NULL when not kept */
	bool has_decisions;
	uint32_t findings_count;
	struct finding findings[FINDINGS_PER_RUN_MAX];
	struct lockdep_event lock_events[LOCKDEP_RUN_EVENTS_MAX];
};

/*
 * Read the committed runs of a campaign in schedule order: open, then
 * next until *done.  One cursor per store at a time; the store may not be
 * written while it is open.
 */
enum store_rc store_cursor_open(struct store *s, int64_t campaign_id);
enum store_rc store_cursor_next(struct store *s, struct store_cursor_run *out,
				bool *done);
void store_cursor_close(struct store *s);

/* The same over the runs that can matter to a campaign's summary and
 * lock_order: schedule 0, and runs with an outcome other than ok, a
 * finding or a lock-graph event.  (The others only count as ok.) */
enum store_rc store_cursor_open_notable(struct store *s, int64_t campaign_id);

/* Runs per outcome of a campaign, committed. */
enum store_rc store_outcome_counts(struct store *s, int64_t campaign_id,
				   uint64_t counts[RUN_OUTCOMES_COUNT]);

/*
 * Several processes writing one campaign (--jobs): attach makes campaign
 * campaign_id, begun by another process, this store's open campaign
 * without changing its row; runs added must have indices nobody else
 * adds.  With id_base >= 0 (from store_reserve_run_ids), schedule i is
 * stored with run id id_base + i + 1; -1: ids as usual.  detach commits what is staged and closes it without setting its
 * status (the process that began it ends it).
 */
enum store_rc store_campaign_attach(struct store *s, int64_t campaign_id,
				    int64_t id_base);
enum store_rc store_campaign_detach(struct store *s);

/* One run whose findings or decision log the lock_order pass of a
 * campaign written by workers changes. */
struct store_refind {
	int64_t run_id;
	bool drop_decisions;		/* forget its decision log */
	uint32_t count;
	struct finding *findings;	/* its findings, in order; NULL: keep */
};

/* Apply the changes in one transaction. */
enum store_rc store_runs_refind(struct store *s, const struct store_refind *list,
				uint32_t count);

/* Reserve run ids (base, base + count] for a campaign's workers, so that
 * its runs get the ids one process would give them (schedule order) while
 * several processes write them; every writer allocates above a reserved
 * range.  release drops the reservation (when the campaign ends). */
enum store_rc store_reserve_run_ids(struct store *s, int64_t campaign_id,
				    uint64_t count, int64_t *id_base);
enum store_rc store_release_run_ids(struct store *s, int64_t campaign_id);

/* Every metric row of a campaign, in the order written. */
typedef bool (*store_metric_fn)(void *ctx, const char *name,
				const uint64_t *bucket, uint64_t count);
enum store_rc store_campaign_metrics(struct store *s, int64_t campaign_id,
				     store_metric_fn fn, void *ctx);

/* Assert the store's invariants (see store.c). */
void store_check_invariants(const struct store *s);

#endif /* SIM_STORE_H */
