/*
 * store.c: the SQLite result database behind store.h: the schema and its
 * migrations, staging and batched commits, error messages, and reading runs
 * back for replay.  Not a query tool: users query the file with sqlite3.
 *
 * A store's states and the functions that move it between them:
 *
 *     IDLE    --store_campaign_begin-->                   CAMPAIGN
 *     CAMPAIGN --store_run_add, store_metric_add-->       CAMPAIGN (staged)
 *     CAMPAIGN --store_flush, a full batch-->             CAMPAIGN (committed)
 *     CAMPAIGN --store_campaign_end-->                    IDLE
 *     either  --store_close-->                            (freed)
 *
 * Staging: the connection attaches an in-memory database `stage` with
 * tables shaped like run, finding and metric.  store_run_add and
 * store_metric_add write only there, so they take no lock on the file and
 * cannot fail for disk or lock reasons.  commit_batch() copies the stage
 * into the file and empties it in one transaction: if the copy fails, the
 * rollback restores the stage too, and the next commit tries again.
 *
 * Run ids: a staged run has a stage id (1, 2, ...).  Inside the write
 * transaction no other process can add runs, so the file's id of a staged
 * run is its stage id plus the file's largest run id, and a staged
 * finding's run_id maps the same way.
 *
 * Invariants (store_check_invariants asserts them):
 *  1. staged_runs <= batch_runs: store_run_add commits a full batch
 *     before it stages another run.
 *  2. Something is staged only while a campaign is open: staged_runs > 0 or
 *     stage_dirty implies campaign_id > 0 (store_campaign_end commits before
 *     it closes the campaign).
 *  3. staged_runs == 0 implies staged_bytes == 0.
 *  4. Between calls no transaction is open on the connection: every
 *     function that begins one commits it or rolls it back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "analysis/sha256.h"
#include "analysis/store.h"

/* -------------------------------------------------------------- schema */

/* A seed as exact decimal text: 1 to 20 digits, no sign, no leading zero.
 * SQLite's INTEGER is signed 64-bit, so a seed of 2^63 or more would show as
 * a negative number; as TEXT every seed reads as simrun printed it, and
 * `WHERE seed = 42` still matches (TEXT affinity converts the 42). */
#define SEED_CHECK(col)                                                     \
	"CHECK (typeof(" col ") = 'text' AND length(" col ") BETWEEN 1 AND 20" \
	" AND " col " NOT GLOB '*[^0-9]*' AND (" col " = '0' OR " col        \
	" NOT GLOB '0*'))"
/* A 64-bit hash as 16 lowercase hex digits. */
#define HEX16_CHECK(col)                                                    \
	"CHECK (length(" col ") = 16 AND " col " NOT GLOB '*[^0-9a-f]*')"

/* Version 1.  Column units and meanings are documented in README.md, "The
 * result database"; keep the two in step. */
static const char schema_v1[] =
	"CREATE TABLE campaign ("
	" id INTEGER PRIMARY KEY,"
	" started_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
	" ended_at TEXT,"
	" simrun_version TEXT NOT NULL,"
	" scenario_name TEXT NOT NULL,"
	" scenario_sha256 TEXT NOT NULL CHECK (length(scenario_sha256) = 64"
	"  AND scenario_sha256 NOT GLOB '*[^0-9a-f]*'),"
	" scenario_json TEXT NOT NULL,"
	" variant TEXT NOT NULL DEFAULT '',"
	" strategy TEXT NOT NULL,"
	" params_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params_json)),"
	" base_seed TEXT NOT NULL " SEED_CHECK("base_seed") ","
	" schedules INTEGER NOT NULL CHECK (schedules >= 0),"
	" status TEXT NOT NULL DEFAULT 'running'"
	"  CHECK (status IN ('running', 'done', 'interrupted', 'failed')));"

	"CREATE TABLE run ("
	" id INTEGER PRIMARY KEY,"
	" campaign_id INTEGER NOT NULL REFERENCES campaign(id),"
	" idx INTEGER NOT NULL CHECK (idx >= 0),"
	" seed TEXT NOT NULL " SEED_CHECK("seed") ","
	" outcome TEXT NOT NULL,"
	" steps INTEGER NOT NULL CHECK (steps >= 0),"
	" virtual_ns INTEGER NOT NULL CHECK (virtual_ns >= 0),"
	" trace_hash TEXT NOT NULL " HEX16_CHECK("trace_hash") ","
	" decisions_count INTEGER NOT NULL CHECK (decisions_count >= 0),"
	" decisions BLOB CHECK (decisions IS NULL OR typeof(decisions) = 'blob'),"
	" UNIQUE (campaign_id, idx));"
	/* "Runs of campaign C with outcome O" and the deadlocks view's
	 * outcome = 'deadlock' branch. */
	"CREATE INDEX run_outcome ON run (outcome, campaign_id);"

	"CREATE TABLE finding ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES run(id),"
	" kind TEXT NOT NULL,"
	" signature TEXT NOT NULL " HEX16_CHECK("signature") ","
	" summary TEXT NOT NULL,"
	" detail_json TEXT NOT NULL,"
	" step INTEGER NOT NULL CHECK (step >= 0),"
	" time_ns INTEGER NOT NULL CHECK (time_ns >= 0),"
	" task INTEGER CHECK (task >= 0),"
	" hits INTEGER NOT NULL CHECK (hits >= 1));"
	/* A run's findings (replay, joins from run) and the views' test for
	 * a deadlock finding of a run. */
	"CREATE INDEX finding_run ON finding (run_id, kind);"
	/* The views' kind = 'deadlock' and grouping by signature. */
	"CREATE INDEX finding_signature ON finding (kind, signature);"

	"CREATE TABLE metric ("
	" campaign_id INTEGER NOT NULL REFERENCES campaign(id),"
	" name TEXT NOT NULL,"
	" bucket INTEGER CHECK (bucket >= 0),"
	" count INTEGER NOT NULL CHECK (typeof(count) = 'integer' AND count >= 0));"
	/* One row per (campaign, name, bucket), counters (bucket NULL)
	 * included: a plain UNIQUE would treat NULLs as distinct.  It is also
	 * the upsert's conflict target. */
	"CREATE UNIQUE INDEX metric_key ON metric (campaign_id, name, ifnull(bucket, -1));"

	/* One row per deadlock finding, and one per run that ended with
	 * outcome deadlock without a deadlock finding (no checker named the
	 * cycle): both are deadlocks a user asks for. */
	"CREATE VIEW deadlocks AS"
	" SELECT f.id AS finding_id, c.id AS campaign_id, c.scenario_name AS scenario,"
	"  c.variant AS variant, r.id AS run_id, r.idx AS idx, r.seed AS seed,"
	"  f.signature AS signature, f.summary AS summary"
	" FROM finding f JOIN run r ON r.id = f.run_id JOIN campaign c ON c.id = r.campaign_id"
	" WHERE f.kind = 'deadlock'"
	" UNION ALL"
	" SELECT NULL, c.id, c.scenario_name, c.variant, r.id, r.idx, r.seed, NULL,"
	"  'every remaining task is blocked and nothing is enabled'"
	"  || ' (outcome deadlock; no checker named the cycle)'"
	" FROM run r JOIN campaign c ON c.id = r.campaign_id"
	" WHERE r.outcome = 'deadlock' AND NOT EXISTS"
	"  (SELECT 1 FROM finding f WHERE f.run_id = r.id AND f.kind = 'deadlock')"
	" ORDER BY run_id, finding_id;"

	/* One row per distinct (kind, signature) over the whole file.  Finding
	 * ids grow in commit order, so the smallest is the first recorded. */
	"CREATE VIEW findings_by_signature AS"
	" WITH g AS (SELECT f.kind AS kind, f.signature AS signature,"
	"   count(DISTINCT f.run_id) AS runs, count(DISTINCT r.campaign_id) AS campaigns,"
	"   min(f.id) AS first_id"
	"  FROM finding f JOIN run r ON r.id = f.run_id GROUP BY f.kind, f.signature)"
	" SELECT g.kind AS kind, g.signature AS signature, g.runs AS runs,"
	"  g.campaigns AS campaigns, f.run_id AS first_run_id, r.seed AS first_seed,"
	"  f.summary AS summary"
	" FROM g JOIN finding f ON f.id = g.first_id JOIN run r ON r.id = f.run_id"
	" ORDER BY g.kind, g.runs DESC, g.signature;";

/*
 * The migration hook: schema_steps[v] takes a database from version v to
 * v + 1, and step 0 creates version 1 in an empty file, so a new file and
 * an old one go through the same code.  A later simrun appends a step (and
 * bumps STORE_SCHEMA_VERSION); it never edits one, because files written
 * by this version exist.
 */
/* Version 2: campaigns split over processes.  A campaign row says which
 * slice of the schedule indices it ran (schedule i belongs to shard
 * i % shard_count; a whole campaign is shard 0 of 1) and whether every
 * run's decision log was kept.  lock_event holds, per run, the changes to
 * the lock-dependency graph that were new to the process that ran it (see
 * analysis/lockdep.c, "Events"), so that `simrun merge`, --jobs and
 * --resume compute the campaign's lock_order findings from the union, as
 * one process would have. */
static const char schema_v2[] =
	"ALTER TABLE campaign ADD COLUMN shard_index INTEGER NOT NULL DEFAULT 0"
	" CHECK (shard_index >= 0);"
	"ALTER TABLE campaign ADD COLUMN shard_count INTEGER NOT NULL DEFAULT 1"
	" CHECK (shard_count >= 1);"
	"ALTER TABLE campaign ADD COLUMN keep_decisions INTEGER NOT NULL DEFAULT 0"
	" CHECK (keep_decisions IN (0, 1));"
	"CREATE TABLE lock_event ("
	" run_id INTEGER NOT NULL REFERENCES run(id),"
	" seq INTEGER NOT NULL CHECK (seq >= 0),"
	" event TEXT NOT NULL,"
	" PRIMARY KEY (run_id, seq));"
	/* Run ids a --jobs campaign's workers are writing: (id_base,
	 * last_id], schedule i at id_base + i + 1, so that its ids follow
	 * schedule order as one process's would.  Every writer allocates
	 * above it; the row goes when the campaign ends. */
	"CREATE TABLE run_id_reserved ("
	" campaign_id INTEGER PRIMARY KEY REFERENCES campaign(id),"
	" last_id INTEGER NOT NULL);";

static const char *const schema_steps[] = {
	schema_v1,
	schema_v2,
};

static_assert(sizeof(schema_steps) / sizeof(schema_steps[0]) ==
		      STORE_SCHEMA_VERSION,
	      "one migration step per schema version");

/* The staging tables, in the attached in-memory database `stage`: shaped
 * like the file's, without foreign keys (they cannot cross databases); the
 * copy into the file checks them. */
static const char stage_schema[] =
	"CREATE TABLE stage.staged_run ("
	" id INTEGER PRIMARY KEY, campaign_id INTEGER NOT NULL,"
	" idx INTEGER NOT NULL, seed TEXT NOT NULL, outcome TEXT NOT NULL,"
	" steps INTEGER NOT NULL, virtual_ns INTEGER NOT NULL,"
	" trace_hash TEXT NOT NULL, decisions_count INTEGER NOT NULL,"
	" decisions BLOB, UNIQUE (campaign_id, idx));"
	"CREATE TABLE stage.staged_finding ("
	" id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, kind TEXT NOT NULL,"
	" signature TEXT NOT NULL, summary TEXT NOT NULL,"
	" detail_json TEXT NOT NULL, step INTEGER NOT NULL,"
	" time_ns INTEGER NOT NULL, task INTEGER, hits INTEGER NOT NULL);"
	"CREATE TABLE stage.staged_metric ("
	" campaign_id INTEGER NOT NULL, name TEXT NOT NULL, bucket INTEGER,"
	" count INTEGER NOT NULL CHECK (typeof(count) = 'integer'));"
	"CREATE TABLE stage.staged_lock_event ("
	" run_id INTEGER NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL);"
	"CREATE UNIQUE INDEX stage.staged_metric_key"
	" ON staged_metric (campaign_id, name, ifnull(bucket, -1));";

/* ---------------------------------------------------------- statements */

enum stmt {
	ST_BEGIN,
	ST_BEGIN_IMMEDIATE,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_CAMPAIGN_INSERT,
	ST_STAGE_RUN,
	ST_STAGE_FINDING,
	ST_STAGE_METRIC,
	ST_STAGE_LOCK_EVENT,
	ST_MAX_RUN_ID,
	ST_COPY_RUNS,
	ST_COPY_FINDINGS,
	ST_COPY_METRICS,
	ST_COPY_LOCK_EVENTS,
	ST_CAMPAIGN_END,
	ST_CLEAR_RUNS,
	ST_CLEAR_FINDINGS,
	ST_CLEAR_METRICS,
	ST_CLEAR_LOCK_EVENTS,
	ST_LOAD_RUN,
	ST_LOAD_FINDINGS,
	ST_FIND_RUN,
	ST_CAMPAIGN_EXISTS,
	ST_RUNS_WITH_FINDINGS,
	ST_CAMPAIGN_REOPEN,
	ST_CAMPAIGN_INFO,
	ST_CURSOR_RUNS,
	ST_CURSOR_FINDINGS,
	ST_CURSOR_EVENTS,
	ST_CAMPAIGN_METRICS,
	ST_COUNT,
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN",
	[ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_CAMPAIGN_INSERT] =
		"INSERT INTO main.campaign (simrun_version, scenario_name,"
		" scenario_sha256, scenario_json, variant, strategy, params_json,"
		" base_seed, schedules, shard_index, shard_count, keep_decisions)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_STAGE_RUN] =
		"INSERT INTO stage.staged_run (campaign_id, idx, seed, outcome,"
		" steps, virtual_ns, trace_hash, decisions_count, decisions)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	/* A detail that is not valid JSON (a checker's bug, or text cut at
	 * FINDING_DETAIL_MAX) is kept as a string inside an object, so that
	 * json_extract over the column never fails a user's query. */
	[ST_STAGE_FINDING] =
		"INSERT INTO stage.staged_finding (run_id, kind, signature,"
		" summary, detail_json, step, time_ns, task, hits)"
		" VALUES (?1, ?2, ?3, ?4, CASE WHEN json_valid(?5) THEN ?5"
		" ELSE json_object('unparsed', ?5) END, ?6, ?7, ?8, ?9)",
	[ST_STAGE_METRIC] =
		"INSERT INTO stage.staged_metric (campaign_id, name, bucket, count)"
		" VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (campaign_id, name, ifnull(bucket, -1))"
		" DO UPDATE SET count = count + excluded.count",
	[ST_STAGE_LOCK_EVENT] =
		"INSERT INTO stage.staged_lock_event (run_id, seq, event)"
		" VALUES (?1, ?2, ?3)",
	/* Above every run, and every range reserved for a --jobs campaign. */
	[ST_MAX_RUN_ID] =
		"SELECT max(coalesce((SELECT max(id) FROM main.run), 0),"
		" coalesce((SELECT max(last_id) FROM main.run_id_reserved), 0))",
	[ST_COPY_RUNS] =
		"INSERT INTO main.run (id, campaign_id, idx, seed, outcome, steps,"
		" virtual_ns, trace_hash, decisions_count, decisions)"
		" SELECT CASE WHEN ?2 >= 0 THEN ?2 + idx + 1 ELSE id + ?1 END,"
		" campaign_id, idx, seed, outcome, steps,"
		" virtual_ns, trace_hash, decisions_count, decisions"
		" FROM stage.staged_run ORDER BY id",
	[ST_COPY_FINDINGS] =
		"INSERT INTO main.finding (run_id, kind, signature, summary,"
		" detail_json, step, time_ns, task, hits)"
		" SELECT CASE WHEN ?2 >= 0 THEN ?2 + 1 + (SELECT r.idx FROM"
		" stage.staged_run r WHERE r.id = run_id) ELSE run_id + ?1 END,"
		" kind, signature, summary, detail_json, step,"
		" time_ns, task, hits FROM stage.staged_finding ORDER BY id",
	/* "WHERE true" resolves the parsing ambiguity between a join's ON
	 * and the upsert's ON CONFLICT (SQLite's documented workaround). */
	[ST_COPY_METRICS] =
		"INSERT INTO main.metric (campaign_id, name, bucket, count)"
		" SELECT campaign_id, name, bucket, count FROM stage.staged_metric"
		" WHERE true ON CONFLICT (campaign_id, name, ifnull(bucket, -1))"
		" DO UPDATE SET count = count + excluded.count",
	[ST_COPY_LOCK_EVENTS] =
		"INSERT INTO main.lock_event (run_id, seq, event)"
		" SELECT CASE WHEN ?2 >= 0 THEN ?2 + 1 + (SELECT r.idx FROM"
		" stage.staged_run r WHERE r.id = run_id) ELSE run_id + ?1 END,"
		" seq, event FROM stage.staged_lock_event ORDER BY run_id, seq",
	[ST_CAMPAIGN_END] =
		"UPDATE main.campaign SET status = ?2, ended_at = CURRENT_TIMESTAMP"
		" WHERE id = ?1",
	[ST_CLEAR_RUNS] = "DELETE FROM stage.staged_run",
	[ST_CLEAR_FINDINGS] = "DELETE FROM stage.staged_finding",
	[ST_CLEAR_METRICS] = "DELETE FROM stage.staged_metric",
	[ST_CLEAR_LOCK_EVENTS] = "DELETE FROM stage.staged_lock_event",
	[ST_LOAD_RUN] =
		"SELECT r.campaign_id, r.idx, r.seed, r.outcome, r.steps,"
		" r.virtual_ns, r.trace_hash, r.decisions_count, r.decisions,"
		" c.simrun_version, c.scenario_name, c.scenario_json,"
		" c.scenario_sha256, c.variant, c.strategy, c.params_json,"
		" c.base_seed, c.status"
		" FROM main.run r JOIN main.campaign c ON c.id = r.campaign_id"
		" WHERE r.id = ?1",
	[ST_LOAD_FINDINGS] =
		"SELECT kind, signature, summary, detail_json, step, time_ns, task,"
		" hits FROM main.finding WHERE run_id = ?1 ORDER BY id",
	[ST_FIND_RUN] =
		"SELECT id FROM main.run WHERE campaign_id = ?1 AND idx = ?2",
	[ST_CAMPAIGN_EXISTS] = "SELECT 1 FROM main.campaign WHERE id = ?1",
	/* campaign_id BETWEEN ?1 AND ?2 rather than (?1 = 0 OR ...) keeps
	 * the run (campaign_id, idx) index usable for one campaign. */
	[ST_RUNS_WITH_FINDINGS] =
		"SELECT r.id, r.campaign_id, r.idx, r.seed, r.outcome,"
		" (SELECT count(*) FROM main.finding f WHERE f.run_id = r.id)"
		" FROM main.run r WHERE r.campaign_id BETWEEN ?1 AND ?2"
		" AND (r.outcome <> 'ok' OR EXISTS"
		"  (SELECT 1 FROM main.finding f WHERE f.run_id = r.id))"
		" ORDER BY r.id",
	[ST_CAMPAIGN_REOPEN] =
		"UPDATE main.campaign SET status = 'running', ended_at = NULL"
		" WHERE id = ?1",
	[ST_CAMPAIGN_INFO] =
		"SELECT scenario_name, scenario_json, scenario_sha256, variant,"
		" strategy, params_json, base_seed, schedules, status, shard_index,"
		" shard_count, keep_decisions, simrun_version,"
		" (SELECT count(*) FROM main.run r WHERE r.campaign_id = c.id)"
		" FROM main.campaign c WHERE id = ?1",
	[ST_CURSOR_RUNS] =
		"SELECT r.id, r.idx, r.seed, r.outcome, r.steps, r.virtual_ns,"
		" r.trace_hash, r.decisions_count, r.decisions,"
		" EXISTS (SELECT 1 FROM main.finding f WHERE f.run_id = r.id),"
		" EXISTS (SELECT 1 FROM main.lock_event l WHERE l.run_id = r.id)"
		" FROM main.run r WHERE r.campaign_id = ?1 AND (?2 = 0 OR r.idx = 0"
		"  OR r.outcome <> 'ok'"
		"  OR EXISTS (SELECT 1 FROM main.finding f WHERE f.run_id = r.id)"
		"  OR EXISTS (SELECT 1 FROM main.lock_event l WHERE l.run_id = r.id))"
		" ORDER BY r.idx",
	[ST_CURSOR_FINDINGS] =
		"SELECT kind, signature, summary, detail_json, step, time_ns, task,"
		" hits FROM main.finding WHERE run_id = ?1 ORDER BY id",
	[ST_CURSOR_EVENTS] =
		"SELECT event FROM main.lock_event WHERE run_id = ?1 ORDER BY seq",
	[ST_CAMPAIGN_METRICS] =
		"SELECT name, bucket, count FROM main.metric WHERE campaign_id = ?1"
		" ORDER BY rowid",
};

/* -------------------------------------------------------------- store */

struct store {
	sqlite3 *db;
	char *path;
	struct store_opts opts;
	sqlite3_stmt *st[ST_COUNT];

	int64_t campaign_id;		/* the open campaign, 0 when IDLE */
	bool has_last_idx;		/* a run of it was staged */
	uint64_t last_idx;		/* ... with this schedule index */

	uint32_t staged_runs;		/* invariant 1 */
	size_t staged_bytes;		/* invariant 3 */
	bool stage_dirty;
	bool closing;			/* store_close: no later flush will come */		/* runs or metric counts staged */
	bool iterating;			/* inside store_runs_with_findings */
	uint32_t batch_runs;		/* opts.batch_runs or STORE_BATCH_RUNS */
	bool any_order;			/* a resumed campaign: runs fill gaps */
	uint8_t *cursor_decisions;	/* the cursor's current decision log */
	bool cursor_notable;		/* store_cursor_open_notable */
	/* Attached to a --jobs campaign: schedule i's run id is
	 * id_base + i + 1, in the range reserved for it; -1 otherwise. */
	int64_t id_base;

	char msg[STORE_MESSAGE_MAX];
	char event_text[LOCKDEP_EVENT_TEXT_MAX];
};

static const char *const rc_names[STORE_RC_COUNT] = {
	[STORE_OK] = "ok",
	[STORE_ERR_OPEN] = "open",
	[STORE_ERR_NOT_DB] = "not_db",
	[STORE_ERR_LOCKED] = "locked",
	[STORE_ERR_NEWER] = "newer",
	[STORE_ERR_READONLY] = "readonly",
	[STORE_ERR_FULL] = "full",
	[STORE_ERR_IO] = "io",
	[STORE_ERR_CORRUPT] = "corrupt",
	[STORE_ERR_NOT_FOUND] = "not_found",
	[STORE_ERR_RANGE] = "range",
	[STORE_ERR_NOMEM] = "nomem",
	[STORE_ERR_SQLITE] = "sqlite",
};

static const char *const status_names[STORE_STATUS_COUNT] = {
	[STORE_RUNNING] = "running",
	[STORE_DONE] = "done",
	[STORE_INTERRUPTED] = "interrupted",
	[STORE_FAILED] = "failed",
};

const char *store_rc_name(enum store_rc rc)
{
	SIM_ASSERT(rc < STORE_RC_COUNT);
	SIM_ASSERT(rc_names[rc] != NULL);
	return rc_names[rc];
}

const char *store_status_name(enum store_status st)
{
	SIM_ASSERT(st < STORE_STATUS_COUNT);
	SIM_ASSERT(status_names[st] != NULL);
	return status_names[st];
}

const char *store_error(const struct store *s)
{
	SIM_ASSERT(s != NULL);
	return s->msg;
}

const char *store_path(const struct store *s)
{
	SIM_ASSERT(s != NULL);
	return s->path;
}

void store_check_invariants(const struct store *s)
{
	SIM_ASSERT(s != NULL);
	SIM_ASSERT(s->db != NULL);
	SIM_ASSERT(s->staged_runs <= s->batch_runs);		/* 1 */
	if (s->staged_runs > 0 || s->stage_dirty)
		SIM_ASSERT(s->campaign_id > 0);			/* 2 */
	if (s->staged_runs == 0)
		SIM_ASSERT(s->staged_bytes == 0);		/* 3 */
	SIM_ASSERT(sqlite3_get_autocommit(s->db) != 0);		/* 4 */
}

/* ------------------------------------------------------------- errors */

/* Set the message "PATH: ..." and return rc. */
__attribute__((format(printf, 3, 4)))
static enum store_rc fail(struct store *s, enum store_rc rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	SIM_ASSERT(rc != STORE_OK);
	n = snprintf(s->msg, sizeof(s->msg), "%s: ", s->path);
	if (n < 0 || (size_t)n >= sizeof(s->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(s->msg + n, sizeof(s->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

/* Append to the message already set. */
__attribute__((format(printf, 2, 3)))
static void fail_more(struct store *s, const char *fmt, ...)
{
	size_t n = strlen(s->msg);
	va_list ap;

	SIM_ASSERT(n < sizeof(s->msg));
	va_start(ap, fmt);
	vsnprintf(s->msg + n, sizeof(s->msg) - n, fmt, ap);
	va_end(ap);
}

/* The directory part of path, into buf ("." when there is none). */
static void dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

/* Why the database cannot be written, as a user would check it: the file
 * itself, or its directory (where SQLite must create PATH-wal and
 * PATH-shm). */
static enum store_rc fail_readonly(struct store *s, const char *doing)
{
	char dir[STORE_MESSAGE_MAX / 2];
	struct stat sb;

	dir_of(s->path, dir, sizeof(dir));
	if (stat(s->path, &sb) == 0 && access(s->path, W_OK) != 0)
		return fail(s, STORE_ERR_READONLY,
			    "database is read-only: the file is not writable "
			    "(%s) while %s; simrun writes its results there, "
			    "so fix its permissions or choose another file",
			    strerror(errno), doing);
	if (access(dir, W_OK) != 0)
		return fail(s, STORE_ERR_READONLY,
			    "database is read-only: its directory %s is not "
			    "writable (%s) while %s; SQLite keeps the files "
			    "%s-wal and %s-shm beside the database, so fix the "
			    "directory's permissions or choose another place",
			    dir, strerror(errno), doing, s->path, s->path);
	return fail(s, STORE_ERR_READONLY,
		    "database is read-only (%s) while %s; check the file "
		    "system is mounted read-write, or choose another file",
		    sqlite3_errmsg(s->db), doing);
}

/* The file could not be opened at all: say why in the user's terms.
 * SQLite's errno is not reliable here (after O_CREAT fails it retries
 * read-only and reports that attempt), so look at the path ourselves. */
static enum store_rc fail_cantopen(struct store *s, const char *doing)
{
	char dir[STORE_MESSAGE_MAX / 2];
	struct stat sb;

	dir_of(s->path, dir, sizeof(dir));
	if (stat(s->path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return fail(s, STORE_ERR_OPEN,
				    "cannot open the database: it is a "
				    "directory; give a file name");
		if (access(s->path, R_OK) != 0)
			return fail(s, STORE_ERR_OPEN,
				    "cannot open the database: %s",
				    strerror(errno));
		return fail_readonly(s, doing);
	}
	if (stat(dir, &sb) != 0)
		return fail(s, STORE_ERR_OPEN,
			    "cannot create the database: directory %s: %s",
			    dir, strerror(errno));
	if (access(dir, W_OK | X_OK) != 0)
		return fail(s, STORE_ERR_READONLY,
			    "cannot create the database: its directory %s is "
			    "not writable (%s); choose another place",
			    dir, strerror(errno));
	return fail(s, STORE_ERR_OPEN, "cannot create the database: %s",
		    strerror(sqlite3_system_errno(s->db)));
}

/*
 * Turn a SQLite result code into a store_rc and a message naming the path
 * and what the store was doing.  Call it before anything else runs on the
 * connection, which would replace sqlite3_errmsg.
 */
static enum store_rc fail_sqlite(struct store *s, int rc, const char *doing)
{
	int sys = sqlite3_system_errno(s->db);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
		return fail(s, STORE_ERR_LOCKED,
			    "database is locked by another process (waited %d "
			    "ms while %s); try again when it has finished, or "
			    "use another file",
			    STORE_BUSY_TIMEOUT_MS, doing);
	case SQLITE_READONLY:
		return fail_readonly(s, doing);
	case SQLITE_CANTOPEN:
		return fail_cantopen(s, doing);
	case SQLITE_FULL:
		return fail(s, STORE_ERR_FULL,
			    "disk full while %s; free some space and run again",
			    doing);
	case SQLITE_IOERR:
		return fail(s, STORE_ERR_IO, "I/O error while %s: %s", doing,
			    sys ? strerror(sys) : sqlite3_errmsg(s->db));
	case SQLITE_NOTADB:
		return fail(s, STORE_ERR_NOT_DB,
			    "is not a SQLite database; choose another file, "
			    "or move this one away");
	case SQLITE_CORRUPT:
		return fail(s, STORE_ERR_CORRUPT,
			    "database file is damaged (%s) while %s; move it "
			    "away and run again",
			    sqlite3_errmsg(s->db), doing);
	case SQLITE_NOMEM:
		return fail(s, STORE_ERR_NOMEM, "out of memory while %s", doing);
	case SQLITE_CONSTRAINT:
		/* Every CHECK in the schema is a range or format check; the
		 * store validates what it writes, so the one a batch can
		 * still fail is a metric count summing past 2^63-1. */
		if (rc == SQLITE_CONSTRAINT_CHECK)
			return fail(s, STORE_ERR_RANGE,
				    "a value is out of the database's range "
				    "while %s (%s)", doing,
				    sqlite3_errmsg(s->db));
		return fail(s, STORE_ERR_SQLITE,
			    "SQLite error while %s: %s; this is a simrun "
			    "bug, please report it",
			    doing, sqlite3_errmsg(s->db));
	case SQLITE_TOOBIG:
		return fail(s, STORE_ERR_RANGE,
			    "a value is too big for the database while %s",
			    doing);
	default:
		return fail(s, STORE_ERR_SQLITE,
			    "SQLite error while %s: %s (%s); this is a simrun "
			    "bug, please report it",
			    doing, sqlite3_errmsg(s->db), sqlite3_errstr(rc));
	}
}

/* A value SQLite's signed INTEGER cannot hold exactly. */
static bool fits_i64(struct store *s, uint64_t v, const char *what,
		     enum store_rc *rc)
{
	if (v <= (uint64_t)INT64_MAX)
		return true;
	*rc = fail(s, STORE_ERR_RANGE,
		   "%s is %" PRIu64 ", more than the database records "
		   "(2^63-1)", what, v);
	return false;
}

/* Step a statement that returns no rows (or whose rows are not wanted),
 * then reset it. */
static enum store_rc step_done(struct store *s, enum stmt id, const char *doing)
{
	sqlite3_stmt *st = s->st[id];
	enum store_rc out = STORE_OK;
	int rc;

	SIM_ASSERT(st != NULL);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		out = fail_sqlite(s, rc, doing);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return out;
}

/* Roll back the transaction a failed call left open, if any: the stage
 * comes back with it (invariant 4). */
static void rollback(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return;
	if (sqlite3_step(s->st[ST_ROLLBACK]) != SQLITE_DONE)
		fail_more(s, "; rolling back also failed: %s",
			  sqlite3_errmsg(s->db));
	sqlite3_reset(s->st[ST_ROLLBACK]);
}

/* ------------------------------------------------------------ binding */

/* Seeds and hashes go in as text (see SEED_CHECK) for every run: by hand
 * rather than with snprintf, which cost more than the rest of binding. */
static int bind_u64_text(sqlite3_stmt *st, int i, uint64_t v)
{
	char buf[24];
	char *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return sqlite3_bind_text(st, i, p, (int)(buf + sizeof(buf) - p),
				 SQLITE_TRANSIENT);
}

static int bind_hex16(sqlite3_stmt *st, int i, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[16];

	for (int k = 15; k >= 0; k--, v >>= 4)
		buf[k] = digits[v & 15];
	return sqlite3_bind_text(st, i, buf, 16, SQLITE_TRANSIENT);
}

static bool parse_u64_text(const unsigned char *t, uint64_t *out)
{
	uint64_t v = 0;
	size_t n;

	if (!t || !t[0] || (t[0] == '0' && t[1]))
		return false;
	for (n = 0; t[n]; n++) {
		if (t[n] < '0' || t[n] > '9' || n >= 20)
			return false;
		uint64_t d = (uint64_t)(t[n] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool parse_hex16(const unsigned char *t, uint64_t *out)
{
	uint64_t v = 0;
	int n;

	if (!t)
		return false;
	for (n = 0; n < 16; n++) {
		unsigned char c = t[n];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	if (t[16] != '\0')
		return false;
	*out = v;
	return true;
}

static bool parse_outcome(const unsigned char *t, enum run_outcome *out)
{
	for (int o = 0; t && o < RUN_OUTCOMES_COUNT; o++) {
		if (strcmp((const char *)t, run_outcome_name((enum run_outcome)o)) == 0) {
			*out = (enum run_outcome)o;
			return true;
		}
	}
	return false;
}

static bool parse_status(const unsigned char *t, enum store_status *out)
{
	for (int st = 0; t && st < STORE_STATUS_COUNT; st++) {
		if (strcmp((const char *)t, status_names[st]) == 0) {
			*out = (enum store_status)st;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------ opening */

/* Run SQL that returns nothing wanted. */
static enum store_rc exec_sql(struct store *s, const char *sql, const char *doing)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? STORE_OK : fail_sqlite(s, rc, doing);
}

/* Run SQL that returns one value in its first row, as an integer and (when
 * text is not NULL) as text. */
static enum store_rc query_one(struct store *s, const char *sql, int64_t *v,
			       char *text, size_t text_len, const char *doing)
{
	sqlite3_stmt *st = NULL;
	enum store_rc out = STORE_OK;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		out = fail_sqlite(s, rc, doing);
		goto done;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		out = rc == SQLITE_DONE ?
			fail(s, STORE_ERR_SQLITE, "%s returned no row while %s",
			     sql, doing) :
			fail_sqlite(s, rc, doing);
		goto done;
	}
	*v = sqlite3_column_int64(st, 0);
	if (text) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(text, text_len, "%s", t ? (const char *)t : "");
	}
done:
	sqlite3_finalize(st);
	return out;
}

struct header {
	int64_t application_id;
	int64_t version;		/* PRAGMA user_version */
	int64_t objects;		/* tables, indexes, views, triggers */
};

static enum store_rc read_header(struct store *s, struct header *h,
				 const char *doing)
{
	/* One read transaction, so that the three values are of one
	 * moment: another simrun may be creating the file meanwhile. */
	bool own = sqlite3_get_autocommit(s->db) != 0;
	enum store_rc rc = own ? exec_sql(s, "BEGIN", doing) : STORE_OK;

	if (rc == STORE_OK)
		rc = query_one(s, "PRAGMA main.application_id",
			       &h->application_id, NULL, 0, doing);
	if (rc == STORE_OK)
		rc = query_one(s, "PRAGMA main.user_version", &h->version,
			       NULL, 0, doing);
	if (rc == STORE_OK)
		rc = query_one(s, "SELECT count(*) FROM main.sqlite_master",
			       &h->objects, NULL, 0, doing);
	if (own && !sqlite3_get_autocommit(s->db)) {
		enum store_rc end = exec_sql(s, "COMMIT", doing);
		if (rc == STORE_OK)
			rc = end;
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

/* Refuse a file that is not simrun's or is newer than this simrun; say
 * which it is. */
static enum store_rc check_header(struct store *s, const struct header *h)
{
	if (h->version == 0 && h->objects == 0)
		return STORE_OK;		/* empty: ours to create */
	if (h->application_id != STORE_APPLICATION_ID)
		return fail(s, STORE_ERR_NOT_DB,
			    "is a SQLite database of another program "
			    "(application_id %" PRId64 ", user_version %" PRId64
			    ", %" PRId64 " schema objects), not a simrun result "
			    "database; choose another file",
			    h->application_id, h->version, h->objects);
	if (h->version > STORE_SCHEMA_VERSION)
		return fail(s, STORE_ERR_NEWER,
			    "database has schema version %" PRId64 ", newer "
			    "than this simrun %s understands (version %d); "
			    "use a newer simrun, or another file",
			    h->version, SIMRUN_VERSION, STORE_SCHEMA_VERSION);
	if (h->version < 1)
		return fail(s, STORE_ERR_CORRUPT,
			    "database has simrun's application_id but schema "
			    "version %" PRId64 "; move it away and run again",
			    h->version);
	return STORE_OK;
}

/* Create or migrate the schema, inside one write transaction so that two
 * simruns opening a new file at once do not both create it. */
static enum store_rc migrate(struct store *s)
{
	const char *doing = "opening it and checking its schema";
	struct header h = { 0 };
	char sql[96];
	enum store_rc rc;

	rc = exec_sql(s, "BEGIN IMMEDIATE", doing);
	if (rc != STORE_OK)
		return rc;
	rc = read_header(s, &h, doing);
	if (rc == STORE_OK)
		rc = check_header(s, &h);
	for (int64_t v = h.version; rc == STORE_OK && v < STORE_SCHEMA_VERSION; v++)
		rc = exec_sql(s, schema_steps[v], doing);
	if (rc == STORE_OK && h.version < STORE_SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql),
			 "PRAGMA main.application_id = %d; "
			 "PRAGMA main.user_version = %d",
			 STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
		rc = exec_sql(s, sql, doing);
	}
	if (rc == STORE_OK)
		rc = exec_sql(s, "COMMIT", doing);
	if (rc != STORE_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void store_free(struct store *s)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	/* close_v2 cannot fail for want of finalized statements; every
	 * statement is finalized above anyway. */
	sqlite3_close_v2(s->db);
	free(s->cursor_decisions);
	free(s->path);
	free(s);
}

enum store_rc store_open(const char *path, const struct store_opts *opts,
			 struct store **out, char *err, size_t err_len)
{
	struct store *s = NULL;
	struct header h;
	char mode[16];
	int64_t ignored;
	enum store_rc rc = STORE_OK;
	int src;

	SIM_ASSERT(path != NULL);
	SIM_ASSERT(out != NULL);
	*out = NULL;
	if (err_len)
		err[0] = '\0';
	if (path[0] == '\0') {
		snprintf(err, err_len, "the database path is empty");
		return STORE_ERR_OPEN;
	}
	/* UPSERT (3.24) and json_valid are what this file needs. */
	if (sqlite3_libversion_number() < 3024000) {
		snprintf(err, err_len,
			 "%s: SQLite %s is too old for simrun's result "
			 "database (3.24 or later is needed)",
			 path, sqlite3_libversion());
		return STORE_ERR_OPEN;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		snprintf(err, err_len, "%s: out of memory opening the database",
			 path);
		return STORE_ERR_NOMEM;
	}
	if (opts)
		s->opts = *opts;
	s->batch_runs = s->opts.batch_runs ? s->opts.batch_runs : STORE_BATCH_RUNS;
	s->id_base = -1;

	src = sqlite3_open_v2(path, &s->db,
			      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (!s->db) {
		rc = fail(s, STORE_ERR_NOMEM, "out of memory opening the database");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if (src != SQLITE_OK) {
		rc = fail_sqlite(s, src, "opening it");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* SQLite opens a file it cannot write read-only without an error;
	 * a result database must be writable. */
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		rc = fail_readonly(s, "opening it");
		goto fail;
	}

	/* Look before changing anything: a newer simrun's file, or another
	 * program's, must not even be switched to WAL. */
	rc = read_header(s, &h, "reading its header");
	if (rc == STORE_OK)
		rc = check_header(s, &h);
	if (rc != STORE_OK)
		goto fail;

	/* WAL: readers (sqlite3 in another terminal) never block the
	 * writer, and a commit is one append.  synchronous=NORMAL makes a
	 * commit durable against a crash of simrun (the WAL is written
	 * before COMMIT returns); a power loss may lose the last batches,
	 * never the file's consistency. */
	/* Switching a new file to WAL needs an exclusive lock, and SQLite
	 * may report SQLITE_BUSY at once, without its busy handler, while
	 * another simrun is creating the same file: wait for it here, as
	 * long as the busy handler would. */
	rc = STORE_ERR_LOCKED;
	for (uint32_t i = 0; rc == STORE_ERR_LOCKED &&
			     i < STORE_BUSY_TIMEOUT_MS / STORE_OPEN_RETRY_MS; i++) {
		if (i)
			usleep(STORE_OPEN_RETRY_MS * 1000);
		rc = query_one(s, "PRAGMA main.journal_mode = WAL", &ignored,
			       mode, sizeof(mode), "switching it to WAL mode");
	}
	if (rc != STORE_OK)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		rc = fail(s, STORE_ERR_OPEN,
			  "cannot use WAL mode (journal_mode stayed %s); the "
			  "file system may not support shared memory, so "
			  "choose a local disk", mode);
		goto fail;
	}
	rc = exec_sql(s, "PRAGMA main.synchronous = NORMAL;"
			 "PRAGMA foreign_keys = ON",
		      "setting its options");
	if (rc == STORE_OK)
		rc = migrate(s);
	if (rc == STORE_OK)
		rc = exec_sql(s, "ATTACH DATABASE ':memory:' AS stage",
			      "creating the staging area");
	if (rc == STORE_OK)
		rc = exec_sql(s, stage_schema, "creating the staging area");
	if (rc != STORE_OK)
		goto fail;
	for (int i = 0; i < ST_COUNT; i++) {
		src = sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
					 SQLITE_PREPARE_PERSISTENT, &s->st[i],
					 NULL);
		if (src != SQLITE_OK) {
			rc = fail_sqlite(s, src, "preparing its statements");
			goto fail;
		}
	}
	store_check_invariants(s);
	*out = s;
	return STORE_OK;

fail:
	SIM_ASSERT(rc != STORE_OK);
	snprintf(err, err_len, "%s", s->msg);
	store_free(s);
	return rc;
}

/* ------------------------------------------------------------ writing */

/*
 * BEGIN IMMEDIATE, waiting out other writers: SQLite's busy handler
 * (sqlite3_busy_timeout) retries for up to STORE_BUSY_TIMEOUT_MS.  Two
 * simruns sharing a file take turns per batch, each holding the lock for
 * milliseconds, so neither sees "locked"; the concurrent-writer test in
 * tests/cli/test_database.c runs two at once.  A lock held for seconds is
 * someone's open transaction and is reported (no retry loop on top, which
 * would only hide it).
 */
static enum store_rc begin_write(struct store *s, const char *doing)
{
	return step_done(s, ST_BEGIN_IMMEDIATE, doing);
}

static bool stage_full(const struct store *s)
{
	return s->staged_runs >= s->batch_runs ||
	       s->staged_bytes >= STORE_BATCH_BYTES;
}

/*
 * Copy the stage into the file and empty it, and, when end is not
 * STORE_RUNNING, close the open campaign with that status, in one
 * transaction.  On failure the rollback leaves the file as it was and the
 * stage as it was.
 */
static enum store_rc commit_batch(struct store *s, enum store_status end)
{
	char doing[160];
	sqlite3_stmt *st;
	int64_t offset;
	enum store_rc rc;
	int src;

	SIM_ASSERT(end < STORE_STATUS_COUNT);
	if (end != STORE_RUNNING)
		SIM_ASSERT(s->campaign_id > 0);
	if (!s->stage_dirty && end == STORE_RUNNING)
		return STORE_OK;
	snprintf(doing, sizeof(doing), "writing %" PRIu32 " staged runs of "
		 "campaign %" PRId64, s->staged_runs, s->campaign_id);

	rc = begin_write(s, doing);
	if (rc != STORE_OK)
		goto fail;
	st = s->st[ST_MAX_RUN_ID];
	src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = fail_sqlite(s, src, doing);
		sqlite3_reset(st);
		goto fail;
	}
	offset = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);

	sqlite3_bind_int64(s->st[ST_COPY_RUNS], 1, offset);
	sqlite3_bind_int64(s->st[ST_COPY_RUNS], 2, s->id_base);
	rc = step_done(s, ST_COPY_RUNS, doing);
	if (rc != STORE_OK)
		goto fail;
	sqlite3_bind_int64(s->st[ST_COPY_FINDINGS], 1, offset);
	sqlite3_bind_int64(s->st[ST_COPY_FINDINGS], 2, s->id_base);
	rc = step_done(s, ST_COPY_FINDINGS, doing);
	if (rc != STORE_OK)
		goto fail;
	rc = step_done(s, ST_COPY_METRICS, doing);
	if (rc != STORE_OK)
		goto fail;
	sqlite3_bind_int64(s->st[ST_COPY_LOCK_EVENTS], 1, offset);
	sqlite3_bind_int64(s->st[ST_COPY_LOCK_EVENTS], 2, s->id_base);
	rc = step_done(s, ST_COPY_LOCK_EVENTS, doing);
	if (rc != STORE_OK)
		goto fail;
	if (end != STORE_RUNNING) {
		sqlite3_bind_int64(s->st[ST_CAMPAIGN_END], 1, s->campaign_id);
		sqlite3_bind_text(s->st[ST_CAMPAIGN_END], 2,
				  store_status_name(end), -1, SQLITE_STATIC);
		rc = step_done(s, ST_CAMPAIGN_END, doing);
		if (rc != STORE_OK)
			goto fail;
	}
	rc = step_done(s, ST_CLEAR_RUNS, doing);
	if (rc == STORE_OK)
		rc = step_done(s, ST_CLEAR_FINDINGS, doing);
	if (rc == STORE_OK)
		rc = step_done(s, ST_CLEAR_METRICS, doing);
	if (rc == STORE_OK)
		rc = step_done(s, ST_CLEAR_LOCK_EVENTS, doing);
	if (rc == STORE_OK)
		rc = step_done(s, ST_COMMIT, doing);
	if (rc != STORE_OK)
		goto fail;
	s->staged_runs = 0;
	s->staged_bytes = 0;
	s->stage_dirty = false;
	return STORE_OK;

fail:
	rollback(s);
	if (s->stage_dirty && s->closing)
		fail_more(s, "; the %" PRIu32 " staged runs are lost, the runs "
			  "committed before stay in the file, and `simrun "
			  "--resume --db %s` runs the rest once there is room",
			  s->staged_runs, s->path);
	else if (s->stage_dirty)
		fail_more(s, "; the staged runs stay in memory and are written "
			  "by the next successful flush, and runs committed "
			  "before stay in the file");
	return rc;
}

bool store_batch_full(const struct store *s)
{
	store_check_invariants(s);
	return stage_full(s);
}

enum store_rc store_flush(struct store *s)
{
	enum store_rc rc;

	store_check_invariants(s);
	SIM_ASSERT(!s->iterating);
	rc = commit_batch(s, STORE_RUNNING);
	store_check_invariants(s);
	return rc;
}

enum store_rc store_close(struct store *s, char *err, size_t err_len)
{
	enum store_rc rc;

	if (!s)
		return STORE_OK;
	store_check_invariants(s);
	SIM_ASSERT(!s->iterating);
	/* A campaign nobody ended did not run to its end: say so rather
	 * than leave it `running` for ever. */
	s->closing = true;
	rc = commit_batch(s, s->campaign_id ? STORE_INTERRUPTED : STORE_RUNNING);
	if (rc != STORE_OK) {
		if (err && err_len)
			snprintf(err, err_len, "%s", s->msg);
	}
	store_free(s);
	return rc;
}

enum store_rc store_campaign_begin(struct store *s,
				   const struct store_campaign *c,
				   int64_t *campaign_id)
{
	sqlite3_stmt *st = s->st[ST_CAMPAIGN_INSERT];
	char sha[SHA256_HEX_BYTES];
	enum store_rc rc = STORE_OK;

	store_check_invariants(s);
	SIM_ASSERT(s->campaign_id == 0);	/* one campaign at a time */
	SIM_ASSERT(c != NULL);
	SIM_ASSERT(campaign_id != NULL);
	SIM_ASSERT(c->scenario_name != NULL);
	SIM_ASSERT(c->strategy != NULL);
	SIM_ASSERT(c->scenario_json != NULL);
	*campaign_id = 0;
	if (!fits_i64(s, c->schedules, "the number of schedules", &rc))
		return rc;

	sha256_hex(c->scenario_json, c->scenario_json_len, sha);
	sqlite3_bind_text(st, 1, SIMRUN_VERSION, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->scenario_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text64(st, 4, c->scenario_json, c->scenario_json_len,
			    SQLITE_STATIC, SQLITE_UTF8);
	sqlite3_bind_text(st, 5, c->variant ? c->variant : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->strategy, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, c->params_json ? c->params_json : "{}", -1,
			  SQLITE_STATIC);
	bind_u64_text(st, 8, c->base_seed);
	sqlite3_bind_int64(st, 9, (int64_t)c->schedules);
	sqlite3_bind_int64(st, 10, c->shard_index);
	sqlite3_bind_int64(st, 11, c->shard_count ? c->shard_count : 1);
	sqlite3_bind_int(st, 12, s->opts.keep_all_decisions);
	rc = step_done(s, ST_CAMPAIGN_INSERT, "recording a new campaign");
	if (rc != STORE_OK)
		return rc;
	s->campaign_id = sqlite3_last_insert_rowid(s->db);
	s->has_last_idx = false;
	s->any_order = false;
	*campaign_id = s->campaign_id;
	SIM_ASSERT(s->campaign_id > 0);
	return STORE_OK;
}

void store_run_fill(struct store_run *out, const struct run_result *r,
		    const struct engine *e)
{
	size_t len;
	const uint8_t *d;

	SIM_ASSERT(out != NULL);
	SIM_ASSERT(r != NULL);
	SIM_ASSERT(e != NULL);
	d = engine_decisions(e, &len);
	SIM_ASSERT(r->decisions == e->decisions_count);
	*out = (struct store_run){
		.idx = r->index,
		.seed = r->seed,
		.outcome = r->outcome,
		.steps = r->steps,
		.virtual_ns = r->virtual_ns,
		.trace_hash = r->trace_hash,
		.decisions_count = r->decisions,
		.decisions = d,
		.decisions_len = len,
	};
}

/* Check every number of a run fits SQLite's INTEGER before staging it. */
static bool run_fits(struct store *s, const struct store_run *r,
		     const struct finding *f, uint32_t n, enum store_rc *rc)
{
	if (!fits_i64(s, r->steps, "the run's step count", rc) ||
	    !fits_i64(s, r->virtual_ns, "the run's virtual time (ns)", rc) ||
	    !fits_i64(s, r->decisions_count, "the run's decision count", rc))
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (!fits_i64(s, f[i].step, "a finding's step", rc) ||
		    !fits_i64(s, f[i].time_ns, "a finding's time (ns)", rc))
			return false;
	return true;
}

/* Step one staging statement of run r.  The message, which names the
 * schedule, is formatted only on failure: this runs for every run. */
static enum store_rc stage_step(struct store *s, enum stmt id,
				const struct store_run *r)
{
	sqlite3_stmt *st = s->st[id];
	enum store_rc out = STORE_OK;
	int src = sqlite3_step(st);

	if (src != SQLITE_DONE && src != SQLITE_ROW) {
		char doing[96];
		snprintf(doing, sizeof(doing),
			 "staging schedule %" PRIu64 " of campaign %" PRId64,
			 r->idx, s->campaign_id);
		out = fail_sqlite(s, src, doing);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return out;
}

/* Bind finding f of run run_id to the nine columns that the staged and the
 * committed finding tables share, in their order (run_id, kind, signature,
 * summary, detail_json, step, time_ns, task, hits). */
static void bind_finding(sqlite3_stmt *st, int64_t run_id,
			 const struct finding *f)
{
	SIM_ASSERT(memchr(f->kind, '\0', sizeof(f->kind)) != NULL);
	SIM_ASSERT(memchr(f->summary, '\0', sizeof(f->summary)) != NULL);
	SIM_ASSERT(memchr(f->detail, '\0', sizeof(f->detail)) != NULL);
	SIM_ASSERT(f->kind[0] != '\0');
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, f->kind, -1, SQLITE_STATIC);
	bind_hex16(st, 3, f->signature);
	sqlite3_bind_text(st, 4, f->summary, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, f->detail, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)f->step);
	sqlite3_bind_int64(st, 7, (int64_t)f->time_ns);
	if (f->task == TRACE_NO_TASK)
		sqlite3_bind_null(st, 8);
	else
		sqlite3_bind_int64(st, 8, f->task);
	sqlite3_bind_int64(st, 9, f->hits ? f->hits : 1);
}

/* Stage the run and its findings in one stage-only transaction, so that a
 * failure stages neither.  A run without findings is one INSERT, atomic by
 * itself, so it goes without BEGIN and COMMIT: most runs of a campaign
 * have none, and the two statements were a third of staging. */
static enum store_rc stage_run(struct store *s, const struct store_run *r,
			       const struct finding *findings, uint32_t n)
{
	sqlite3_stmt *st = s->st[ST_STAGE_RUN];
	bool keep = s->opts.keep_all_decisions || r->keep_decisions || n > 0 ||
		    r->outcome != RUN_OK;
	size_t bytes = 128 + (keep ? r->decisions_len : 0);
	int64_t stage_id;
	enum store_rc rc;

	/* A run without findings or lock events is one INSERT. */
	bool in_txn = n > 0 || r->lock_events_count > 0;
	if (in_txn) {
		rc = stage_step(s, ST_BEGIN, r);
		if (rc != STORE_OK)
			return rc;
	}
	sqlite3_bind_int64(st, 1, s->campaign_id);
	sqlite3_bind_int64(st, 2, (int64_t)r->idx);
	bind_u64_text(st, 3, r->seed);
	sqlite3_bind_text(st, 4, run_outcome_name(r->outcome), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)r->steps);
	sqlite3_bind_int64(st, 6, (int64_t)r->virtual_ns);
	bind_hex16(st, 7, r->trace_hash);
	sqlite3_bind_int64(st, 8, (int64_t)r->decisions_count);
	/* NULL means "not kept"; a kept empty log is an empty blob, which
	 * bind_blob would turn into NULL. */
	if (!keep)
		sqlite3_bind_null(st, 9);
	else if (r->decisions_len == 0)
		sqlite3_bind_zeroblob(st, 9, 0);
	else
		sqlite3_bind_blob64(st, 9, r->decisions, r->decisions_len,
				    SQLITE_STATIC);
	rc = stage_step(s, ST_STAGE_RUN, r);
	if (rc != STORE_OK)
		goto fail;
	stage_id = sqlite3_last_insert_rowid(s->db);

	st = s->st[ST_STAGE_FINDING];
	for (uint32_t i = 0; i < n; i++) {
		const struct finding *f = &findings[i];
		bind_finding(st, stage_id, f);
		rc = stage_step(s, ST_STAGE_FINDING, r);
		if (rc != STORE_OK)
			goto fail;
		bytes += 64 + strlen(f->kind) + strlen(f->summary) +
			 strlen(f->detail);
	}
	st = s->st[ST_STAGE_LOCK_EVENT];
	for (uint32_t i = 0; i < r->lock_events_count; i++) {
		bool fits = lockdep_event_encode(&r->lock_events[i], s->event_text,
						 sizeof(s->event_text));
		SIM_ASSERT(fits);
		sqlite3_bind_int64(st, 1, stage_id);
		sqlite3_bind_int64(st, 2, i);
		sqlite3_bind_text(st, 3, s->event_text, -1, SQLITE_STATIC);
		rc = stage_step(s, ST_STAGE_LOCK_EVENT, r);
		if (rc != STORE_OK)
			goto fail;
		bytes += 32 + strlen(s->event_text);
	}
	if (in_txn) {
		rc = stage_step(s, ST_COMMIT, r);
		if (rc != STORE_OK)
			goto fail;
	}
	s->staged_runs++;
	s->staged_bytes += bytes;
	s->stage_dirty = true;
	return STORE_OK;

fail:
	rollback(s);
	return rc;
}

enum store_rc store_run_add(struct store *s, int64_t campaign_id,
			    const struct store_run *r,
			    const struct finding *findings,
			    uint32_t findings_count)
{
	enum store_rc rc = STORE_OK;

	store_check_invariants(s);
	SIM_ASSERT(!s->iterating);
	SIM_ASSERT(campaign_id > 0);
	SIM_ASSERT(campaign_id == s->campaign_id);
	SIM_ASSERT(r != NULL);
	SIM_ASSERT(r->outcome < RUN_OUTCOMES_COUNT);
	SIM_ASSERT(findings_count <= FINDINGS_PER_RUN_MAX);
	if (findings_count)
		SIM_ASSERT(findings != NULL);
	if (r->decisions_len)
		SIM_ASSERT(r->decisions != NULL);
	/* A campaign runs its schedules in order; a repeated index would
	 * make the batch fail the UNIQUE (campaign_id, idx) at commit, every
	 * time. */
	SIM_ASSERT(r->idx <= (uint64_t)INT64_MAX);
	if (s->has_last_idx && !s->any_order)
		SIM_ASSERT(r->idx > s->last_idx);

	if (!run_fits(s, r, findings, findings_count, &rc)) {
		fail_more(s, "; schedule %" PRIu64 " of campaign %" PRId64
			  " was not recorded", r->idx, campaign_id);
		return rc;
	}
	if (stage_full(s)) {
		rc = commit_batch(s, STORE_RUNNING);
		if (rc != STORE_OK) {
			fail_more(s, "; schedule %" PRIu64 " was not recorded",
				  r->idx);
			return rc;
		}
	}
	rc = stage_run(s, r, findings, findings_count);
	if (rc != STORE_OK)
		return rc;
	s->has_last_idx = true;
	s->last_idx = r->idx;
	store_check_invariants(s);
	return STORE_OK;
}

enum store_rc store_metric_add(struct store *s, int64_t campaign_id,
			       const char *name, const uint64_t *bucket,
			       uint64_t count)
{
	sqlite3_stmt *st = s->st[ST_STAGE_METRIC];
	char doing[96];
	enum store_rc rc = STORE_OK;
	int src;

	store_check_invariants(s);
	SIM_ASSERT(campaign_id > 0);
	SIM_ASSERT(campaign_id == s->campaign_id);
	SIM_ASSERT(name != NULL);
	SIM_ASSERT(name[0] != '\0');
	if ((bucket && !fits_i64(s, *bucket, "a histogram bucket", &rc)) ||
	    !fits_i64(s, count, "a metric count", &rc)) {
		fail_more(s, " (metric %s)", name);
		return rc;
	}
	snprintf(doing, sizeof(doing), "adding to metric %.48s", name);
	sqlite3_bind_int64(st, 1, campaign_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (bucket)
		sqlite3_bind_int64(st, 3, (int64_t)*bucket);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, (int64_t)count);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE)
		s->stage_dirty = true;
	else if (src == SQLITE_CONSTRAINT_CHECK)
		/* The sum went past 2^63-1 and SQLite made it a REAL; the
		 * CHECK on typeof(count) refused it. */
		rc = fail(s, STORE_ERR_RANGE,
			  "metric %s: the count would pass 2^63-1", name);
	else
		rc = fail_sqlite(s, src, doing);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

enum store_rc store_campaign_end(struct store *s, int64_t campaign_id,
				 enum store_status status)
{
	enum store_rc rc;

	store_check_invariants(s);
	SIM_ASSERT(!s->iterating);
	SIM_ASSERT(campaign_id > 0);
	SIM_ASSERT(campaign_id == s->campaign_id);
	SIM_ASSERT(status != STORE_RUNNING);
	SIM_ASSERT(status < STORE_STATUS_COUNT);
	rc = commit_batch(s, status);
	if (rc == STORE_OK) {
		s->campaign_id = 0;
		s->has_last_idx = false;
		s->any_order = false;
	}
	store_check_invariants(s);
	return rc;
}

/* ------------------------------------------------------------ reading */

/* A copy of a text column ("" for NULL); NULL only when out of memory. */
static char *column_dup(sqlite3_stmt *st, int i, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	if (t)
		memcpy(p, t, n);
	else
		n = 0;
	p[n] = '\0';
	if (len)
		*len = n;
	return p;
}

/* A non-negative integer column. */
static bool column_u64(sqlite3_stmt *st, int i, uint64_t *out)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return false;
	int64_t v = sqlite3_column_int64(st, i);
	if (v < 0)
		return false;
	*out = (uint64_t)v;
	return true;
}

void store_run_info_free(struct store_run_info *info)
{
	if (!info)
		return;
	for (uint32_t i = 0; i < info->findings_count; i++) {
		free(info->findings[i].kind);
		free(info->findings[i].summary);
		free(info->findings[i].detail_json);
	}
	free(info->findings);
	free(info->simrun_version);
	free(info->scenario_name);
	free(info->scenario_json);
	free(info->variant);
	free(info->strategy);
	free(info->params_json);
	free(info->decisions);
	memset(info, 0, sizeof(*info));
}

/* The decision log must decode into exactly decisions_count entries, or
 * replay would diverge for a reason that is not the model's. */
static bool decisions_valid(const struct store_run_info *o)
{
	size_t pos = 0;
	uint64_t n = 0;
	uint8_t kind;
	uint32_t id;

	while (pos < o->decisions_len) {
		if (!decision_decode(o->decisions, o->decisions_len, &pos,
				     &kind, &id))
			return false;
		n++;
	}
	return n == o->decisions_count;
}

/* The numeric columns of a finding row as every finding query selects them
 * (1 signature, 4 step, 5 time_ns, 6 task or NULL, 7 hits); false when one
 * is malformed.  A NULL task is TRACE_NO_TASK. */
static bool finding_columns(sqlite3_stmt *st, uint64_t *signature,
			    uint64_t *step, uint64_t *time_ns, uint32_t *task,
			    uint32_t *hits)
{
	uint64_t t = TRACE_NO_TASK, h = 0;

	if (sqlite3_column_type(st, 6) != SQLITE_NULL &&
	    (!column_u64(st, 6, &t) || t >= TRACE_NO_TASK))
		return false;
	if (!parse_hex16(sqlite3_column_text(st, 1), signature) ||
	    !column_u64(st, 4, step) || !column_u64(st, 5, time_ns) ||
	    !column_u64(st, 7, &h) || h > UINT32_MAX)
		return false;
	*task = (uint32_t)t;
	*hits = (uint32_t)h;
	return true;
}

static enum store_rc load_findings(struct store *s, int64_t run_id,
				   struct store_run_info *o, const char *doing)
{
	sqlite3_stmt *st = s->st[ST_LOAD_FINDINGS];
	enum store_rc rc = STORE_OK;
	int src;

	o->findings = calloc(FINDINGS_PER_RUN_MAX, sizeof(*o->findings));
	if (!o->findings)
		return fail(s, STORE_ERR_NOMEM, "out of memory while %s", doing);
	sqlite3_bind_int64(st, 1, run_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (o->findings_count == FINDINGS_PER_RUN_MAX) {
			rc = fail(s, STORE_ERR_CORRUPT,
				  "run %" PRId64 " has more than %d findings, "
				  "more than simrun records", run_id,
				  FINDINGS_PER_RUN_MAX);
			goto done;
		}
		struct store_finding *f = &o->findings[o->findings_count++];
		f->kind = column_dup(st, 0, NULL);
		f->summary = column_dup(st, 2, NULL);
		f->detail_json = column_dup(st, 3, NULL);
		if (!f->kind || !f->summary || !f->detail_json) {
			rc = fail(s, STORE_ERR_NOMEM, "out of memory while %s",
				  doing);
			goto done;
		}
		if (!finding_columns(st, &f->signature, &f->step, &f->time_ns,
				     &f->task, &f->hits)) {
			rc = fail(s, STORE_ERR_CORRUPT,
				  "finding %" PRIu32 " of run %" PRId64 " has "
				  "a malformed column", o->findings_count,
				  run_id);
			goto done;
		}
	}
	if (src != SQLITE_DONE)
		rc = fail_sqlite(s, src, doing);
done:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

enum store_rc store_load_run(struct store *s, int64_t run_id,
			     struct store_run_info *out)
{
	sqlite3_stmt *st = s->st[ST_LOAD_RUN];
	char doing[64];
	enum store_rc rc = STORE_OK;
	int src;

	store_check_invariants(s);
	SIM_ASSERT(out != NULL);
	memset(out, 0, sizeof(*out));
	snprintf(doing, sizeof(doing), "reading run %" PRId64, run_id);
	sqlite3_bind_int64(st, 1, run_id);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = fail(s, STORE_ERR_NOT_FOUND, "no run %" PRId64, run_id);
		goto done;
	}
	if (src != SQLITE_ROW) {
		rc = fail_sqlite(s, src, doing);
		goto done;
	}
	out->run_id = run_id;
	out->campaign_id = sqlite3_column_int64(st, 0);
	bool ok = column_u64(st, 1, &out->idx) &&
		  parse_u64_text(sqlite3_column_text(st, 2), &out->seed) &&
		  parse_outcome(sqlite3_column_text(st, 3), &out->outcome) &&
		  column_u64(st, 4, &out->steps) &&
		  column_u64(st, 5, &out->virtual_ns) &&
		  parse_hex16(sqlite3_column_text(st, 6), &out->trace_hash) &&
		  column_u64(st, 7, &out->decisions_count) &&
		  parse_u64_text(sqlite3_column_text(st, 16), &out->base_seed) &&
		  parse_status(sqlite3_column_text(st, 17), &out->status) &&
		  sqlite3_column_bytes(st, 12) == 64;
	if (!ok) {
		rc = fail(s, STORE_ERR_CORRUPT,
			  "run %" PRId64 " or its campaign has a malformed "
			  "column (an outcome this simrun does not know, or an "
			  "edited seed or hash)", run_id);
		goto done;
	}
	snprintf(out->scenario_sha256, sizeof(out->scenario_sha256), "%s",
		 (const char *)sqlite3_column_text(st, 12));
	out->has_decisions = sqlite3_column_type(st, 8) != SQLITE_NULL;
	if (out->has_decisions) {
		if (sqlite3_column_type(st, 8) != SQLITE_BLOB) {
			rc = fail(s, STORE_ERR_CORRUPT,
				  "run %" PRId64 ": decisions is not a blob",
				  run_id);
			goto done;
		}
		out->decisions_len = (size_t)sqlite3_column_bytes(st, 8);
		if (out->decisions_len) {
			out->decisions = malloc(out->decisions_len);
			if (!out->decisions) {
				rc = fail(s, STORE_ERR_NOMEM,
					  "out of memory while %s", doing);
				goto done;
			}
			memcpy(out->decisions, sqlite3_column_blob(st, 8),
			       out->decisions_len);
		}
		if (!decisions_valid(out)) {
			rc = fail(s, STORE_ERR_CORRUPT,
				  "run %" PRId64 ": its decision log does not "
				  "decode into %" PRIu64 " decisions", run_id,
				  out->decisions_count);
			goto done;
		}
	}
	out->simrun_version = column_dup(st, 9, NULL);
	out->scenario_name = column_dup(st, 10, NULL);
	out->scenario_json = column_dup(st, 11, &out->scenario_json_len);
	out->variant = column_dup(st, 13, NULL);
	out->strategy = column_dup(st, 14, NULL);
	out->params_json = column_dup(st, 15, NULL);
	if (!out->simrun_version || !out->scenario_name ||
	    !out->scenario_json || !out->variant || !out->strategy ||
	    !out->params_json) {
		rc = fail(s, STORE_ERR_NOMEM, "out of memory while %s", doing);
		goto done;
	}
	sqlite3_reset(st);
	rc = load_findings(s, run_id, out, doing);
done:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != STORE_OK)
		store_run_info_free(out);
	return rc;
}

enum store_rc store_find_run(struct store *s, int64_t campaign_id,
			     uint64_t idx, int64_t *run_id)
{
	sqlite3_stmt *st = s->st[ST_FIND_RUN];
	enum store_rc rc = STORE_OK;
	int src;

	store_check_invariants(s);
	SIM_ASSERT(run_id != NULL);
	*run_id = 0;
	if (idx > (uint64_t)INT64_MAX)
		return fail(s, STORE_ERR_NOT_FOUND, "campaign %" PRId64
			    " has no schedule %" PRIu64, campaign_id, idx);
	sqlite3_bind_int64(st, 1, campaign_id);
	sqlite3_bind_int64(st, 2, (int64_t)idx);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*run_id = sqlite3_column_int64(st, 0);
	else if (src == SQLITE_DONE)
		rc = fail(s, STORE_ERR_NOT_FOUND,
			  "campaign %" PRId64 " has no recorded schedule %"
			  PRIu64, campaign_id, idx);
	else
		rc = fail_sqlite(s, src, "looking up a run");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

enum store_rc store_runs_with_findings(struct store *s, int64_t campaign_id,
				       store_run_fn fn, void *ctx)
{
	sqlite3_stmt *st = s->st[ST_RUNS_WITH_FINDINGS];
	sqlite3_stmt *ex = s->st[ST_CAMPAIGN_EXISTS];
	enum store_rc rc = STORE_OK;
	int src;

	store_check_invariants(s);
	SIM_ASSERT(!s->iterating);	/* one statement, not reentrant */
	SIM_ASSERT(fn != NULL);
	SIM_ASSERT(campaign_id >= 0);
	if (campaign_id) {
		sqlite3_bind_int64(ex, 1, campaign_id);
		src = sqlite3_step(ex);
		sqlite3_reset(ex);
		sqlite3_clear_bindings(ex);
		if (src == SQLITE_DONE)
			return fail(s, STORE_ERR_NOT_FOUND, "no campaign %" PRId64,
				    campaign_id);
		if (src != SQLITE_ROW)
			return fail_sqlite(s, src, "looking up a campaign");
	}
	sqlite3_bind_int64(st, 1, campaign_id ? campaign_id : 1);
	sqlite3_bind_int64(st, 2, campaign_id ? campaign_id : INT64_MAX);
	s->iterating = true;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_run_ref ref = {
			.run_id = sqlite3_column_int64(st, 0),
			.campaign_id = sqlite3_column_int64(st, 1),
		};
		uint64_t n;
		if (!column_u64(st, 2, &ref.idx) ||
		    !parse_u64_text(sqlite3_column_text(st, 3), &ref.seed) ||
		    !parse_outcome(sqlite3_column_text(st, 4), &ref.outcome) ||
		    !column_u64(st, 5, &n) || n > UINT32_MAX) {
			rc = fail(s, STORE_ERR_CORRUPT,
				  "run %" PRId64 " has a malformed column",
				  ref.run_id);
			break;
		}
		ref.findings_count = (uint32_t)n;
		if (!fn(ctx, &ref))
			break;
	}
	if (rc == STORE_OK && src != SQLITE_ROW && src != SQLITE_DONE)
		rc = fail_sqlite(s, src, "listing runs with findings");
	s->iterating = false;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

enum store_rc store_query(struct store *s, const char *sql,
			  const int64_t *args, int nargs, store_row_fn row,
			  void *ctx)
{
	sqlite3_stmt *st = NULL;
	enum store_rc rc = STORE_OK;
	const char *vals[STORE_QUERY_COLUMNS_MAX];
	int src;

	store_check_invariants(s);
	SIM_ASSERT(sql != NULL && row != NULL);
	SIM_ASSERT(nargs >= 0 && (nargs == 0 || args != NULL));
	src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (src != SQLITE_OK)
		return fail_sqlite(s, src, "preparing a report query");
	if (!sqlite3_stmt_readonly(st)) {
		sqlite3_finalize(st);
		return fail(s, STORE_ERR_RANGE, "a report query may only read");
	}
	for (int i = 0; i < nargs; i++)
		sqlite3_bind_int64(st, i + 1, args[i]);
	int ncol = sqlite3_column_count(st);
	SIM_ASSERT(ncol <= STORE_QUERY_COLUMNS_MAX);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		for (int c = 0; c < ncol; c++)
			vals[c] = (const char *)sqlite3_column_text(st, c);
		if (!row(ctx, ncol, vals))
			break;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = fail_sqlite(s, src, "reading for a report");
	sqlite3_finalize(st);
	return rc;
}

/* ------------------------------------------- campaigns across processes */

void store_campaign_info_free(struct store_campaign_info *info)
{
	if (!info)
		return;
	free(info->simrun_version);
	free(info->scenario_name);
	free(info->scenario_json);
	free(info->variant);
	free(info->strategy);
	free(info->params_json);
	memset(info, 0, sizeof(*info));
}

enum store_rc store_campaign_info(struct store *s, int64_t campaign_id,
				  struct store_campaign_info *out)
{
	sqlite3_stmt *st = s->st[ST_CAMPAIGN_INFO];
	enum store_rc rc = STORE_OK;
	uint64_t idx = 0, count = 1, keep = 0;
	int src;

	store_check_invariants(s);
	SIM_ASSERT(out != NULL);
	memset(out, 0, sizeof(*out));
	sqlite3_bind_int64(st, 1, campaign_id);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = fail(s, STORE_ERR_NOT_FOUND, "no campaign %" PRId64,
			  campaign_id);
		goto done;
	}
	if (src != SQLITE_ROW) {
		rc = fail_sqlite(s, src, "reading a campaign");
		goto done;
	}
	out->campaign_id = campaign_id;
	if (!parse_u64_text(sqlite3_column_text(st, 6), &out->base_seed) ||
	    !column_u64(st, 7, &out->schedules) ||
	    !parse_status(sqlite3_column_text(st, 8), &out->status) ||
	    !column_u64(st, 9, &idx) || !column_u64(st, 10, &count) ||
	    !column_u64(st, 11, &keep) || !column_u64(st, 13, &out->runs) ||
	    count == 0 || count > UINT32_MAX || idx >= count ||
	    sqlite3_column_bytes(st, 2) != 64) {
		rc = fail(s, STORE_ERR_CORRUPT,
			  "campaign %" PRId64 " has a malformed column",
			  campaign_id);
		goto done;
	}
	out->shard_index = (uint32_t)idx;
	out->shard_count = (uint32_t)count;
	out->keep_decisions = keep != 0;
	snprintf(out->scenario_sha256, sizeof(out->scenario_sha256), "%s",
		 (const char *)sqlite3_column_text(st, 2));
	out->scenario_name = column_dup(st, 0, NULL);
	out->scenario_json = column_dup(st, 1, &out->scenario_json_len);
	out->variant = column_dup(st, 3, NULL);
	out->strategy = column_dup(st, 4, NULL);
	out->params_json = column_dup(st, 5, NULL);
	out->simrun_version = column_dup(st, 12, NULL);
	if (!out->scenario_name || !out->scenario_json || !out->variant ||
	    !out->strategy || !out->params_json || !out->simrun_version)
		rc = fail(s, STORE_ERR_NOMEM, "out of memory reading a campaign");
done:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != STORE_OK)
		store_campaign_info_free(out);
	return rc;
}

enum store_rc store_campaign_ids(struct store *s, int64_t *ids, uint32_t max,
				 uint32_t *count)
{
	sqlite3_stmt *st = NULL;
	enum store_rc rc = STORE_OK;
	int src;

	store_check_invariants(s);
	*count = 0;
	src = sqlite3_prepare_v2(s->db, "SELECT id FROM main.campaign ORDER BY id",
				 -1, &st, NULL);
	if (src != SQLITE_OK)
		return fail_sqlite(s, src, "listing campaigns");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (*count < max)
			ids[*count] = sqlite3_column_int64(st, 0);
		(*count)++;
	}
	if (src != SQLITE_DONE)
		rc = fail_sqlite(s, src, "listing campaigns");
	sqlite3_finalize(st);
	return rc;
}

enum store_rc store_campaign_unfinished(struct store *s, int64_t *campaign_id)
{
	sqlite3_stmt *st = NULL;
	enum store_rc rc = STORE_OK;
	int src;

	store_check_invariants(s);
	*campaign_id = 0;
	src = sqlite3_prepare_v2(s->db,
				 "SELECT max(id) FROM main.campaign WHERE status"
				 " IN ('running', 'interrupted')",
				 -1, &st, NULL);
	if (src != SQLITE_OK)
		return fail_sqlite(s, src, "looking for an unfinished campaign");
	src = sqlite3_step(st);
	if (src != SQLITE_ROW)
		rc = fail_sqlite(s, src, "looking for an unfinished campaign");
	else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		rc = fail(s, STORE_ERR_NOT_FOUND,
			  "no campaign is left running or interrupted; there "
			  "is nothing to resume");
	else
		*campaign_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

enum store_rc store_campaign_reopen(struct store *s, int64_t campaign_id)
{
	enum store_rc rc;

	store_check_invariants(s);
	SIM_ASSERT(s->campaign_id == 0);
	SIM_ASSERT(campaign_id > 0);
	sqlite3_bind_int64(s->st[ST_CAMPAIGN_REOPEN], 1, campaign_id);
	rc = step_done(s, ST_CAMPAIGN_REOPEN, "reopening a campaign");
	if (rc != STORE_OK)
		return rc;
	if (sqlite3_changes(s->db) != 1)
		return fail(s, STORE_ERR_NOT_FOUND, "no campaign %" PRId64,
			    campaign_id);
	s->campaign_id = campaign_id;
	/* Resumed runs fill the gaps a killed process left, in any order. */
	s->has_last_idx = false;
	s->any_order = true;
	return STORE_OK;
}

enum store_rc store_cursor_open_notable(struct store *s, int64_t campaign_id)
{
	s->cursor_notable = true;
	enum store_rc rc = store_cursor_open(s, campaign_id);
	s->cursor_notable = false;
	return rc;
}

enum store_rc store_campaign_attach(struct store *s, int64_t campaign_id,
				    int64_t id_base)
{
	store_check_invariants(s);
	SIM_ASSERT(s->campaign_id == 0);
	SIM_ASSERT(campaign_id > 0);
	SIM_ASSERT(id_base >= -1);
	s->campaign_id = campaign_id;
	s->id_base = id_base;
	s->has_last_idx = false;
	s->any_order = true;
	return STORE_OK;
}

enum store_rc store_campaign_detach(struct store *s)
{
	enum store_rc rc;

	store_check_invariants(s);
	SIM_ASSERT(s->campaign_id > 0);
	rc = commit_batch(s, STORE_RUNNING);
	if (rc == STORE_OK) {
		s->campaign_id = 0;
		s->has_last_idx = false;
		s->any_order = false;
		s->id_base = -1;
	}
	store_check_invariants(s);
	return rc;
}

enum store_rc store_reserve_run_ids(struct store *s, int64_t campaign_id,
				    uint64_t count, int64_t *id_base)
{
	const char *doing = "reserving run ids for the workers";
	sqlite3_stmt *st = NULL;
	enum store_rc rc;
	int src;

	store_check_invariants(s);
	SIM_ASSERT(campaign_id > 0 && count <= (uint64_t)INT64_MAX / 2);
	*id_base = -1;
	rc = begin_write(s, doing);
	if (rc != STORE_OK)
		return rc;
	src = sqlite3_step(s->st[ST_MAX_RUN_ID]);
	int64_t base = sqlite3_column_int64(s->st[ST_MAX_RUN_ID], 0);
	sqlite3_reset(s->st[ST_MAX_RUN_ID]);
	if (src == SQLITE_ROW)
		src = sqlite3_prepare_v2(s->db, "INSERT INTO main.run_id_reserved"
					 " (campaign_id, last_id) VALUES (?1, ?2)",
					 -1, &st, NULL);
	if (src == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, campaign_id);
		sqlite3_bind_int64(st, 2, base + (int64_t)count);
		src = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	rc = src == SQLITE_OK ? step_done(s, ST_COMMIT, doing)
			      : fail_sqlite(s, src, doing);
	if (rc != STORE_OK) {
		rollback(s);
		return rc;
	}
	*id_base = base;
	return STORE_OK;
}

enum store_rc store_release_run_ids(struct store *s, int64_t campaign_id)
{
	char sql[96];

	store_check_invariants(s);
	snprintf(sql, sizeof(sql), "DELETE FROM main.run_id_reserved WHERE "
		 "campaign_id = %lld", (long long)campaign_id);
	return exec_sql(s, sql, "releasing reserved run ids");
}

enum store_rc store_outcome_counts(struct store *s, int64_t campaign_id,
				   uint64_t counts[RUN_OUTCOMES_COUNT])
{
	sqlite3_stmt *st = NULL;
	enum store_rc rc = STORE_OK;
	int src;

	store_check_invariants(s);
	memset(counts, 0, sizeof(uint64_t) * RUN_OUTCOMES_COUNT);
	src = sqlite3_prepare_v2(s->db, "SELECT outcome, count(*) FROM main.run"
				 " WHERE campaign_id = ?1 GROUP BY outcome",
				 -1, &st, NULL);
	if (src != SQLITE_OK)
		return fail_sqlite(s, src, "counting outcomes");
	sqlite3_bind_int64(st, 1, campaign_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		enum run_outcome o;
		uint64_t n;
		if (!parse_outcome(sqlite3_column_text(st, 0), &o) ||
		    !column_u64(st, 1, &n)) {
			rc = fail(s, STORE_ERR_CORRUPT, "campaign %" PRId64
				  " has a run with an unknown outcome",
				  campaign_id);
			break;
		}
		counts[o] = n;
	}
	if (rc == STORE_OK && src != SQLITE_DONE)
		rc = fail_sqlite(s, src, "counting outcomes");
	sqlite3_finalize(st);
	return rc;
}

/* Run one statement of store_runs_refind. */
static int refind_step(sqlite3_stmt *st)
{
	int src = sqlite3_step(st);

	sqlite3_reset(st);
	return src == SQLITE_DONE ? SQLITE_OK : src;
}

enum store_rc store_runs_refind(struct store *s, const struct store_refind *list,
				uint32_t count)
{
	const char *doing = "rewriting findings after the lock_order pass";
	sqlite3_stmt *del = NULL, *drop = NULL, *ins = NULL;
	enum store_rc rc;
	int src;

	store_check_invariants(s);
	if (count == 0)
		return STORE_OK;
	rc = begin_write(s, doing);
	if (rc != STORE_OK)
		return rc;
	src = sqlite3_prepare_v2(s->db, "DELETE FROM main.finding WHERE run_id = ?1",
				 -1, &del, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_prepare_v2(s->db, "UPDATE main.run SET decisions = NULL"
					 " WHERE id = ?1", -1, &drop, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_prepare_v2(s->db,
			"INSERT INTO main.finding (run_id, kind, signature, summary,"
			" detail_json, step, time_ns, task, hits) VALUES (?1, ?2, ?3,"
			" ?4, CASE WHEN json_valid(?5) THEN ?5"
			" ELSE json_object('unparsed', ?5) END, ?6, ?7, ?8, ?9)",
			-1, &ins, NULL);
	for (uint32_t k = 0; src == SQLITE_OK && k < count; k++) {
		const struct store_refind *t = &list[k];
		SIM_ASSERT(t->count <= FINDINGS_PER_RUN_MAX);
		if (t->drop_decisions) {
			sqlite3_bind_int64(drop, 1, t->run_id);
			src = refind_step(drop);
		}
		if (src != SQLITE_OK || !t->findings)
			continue;
		sqlite3_bind_int64(del, 1, t->run_id);
		src = refind_step(del);
		for (uint32_t i = 0; src == SQLITE_OK && i < t->count; i++) {
			const struct finding *f = &t->findings[i];
			bind_finding(ins, t->run_id, f);
			src = refind_step(ins);
		}
	}
	if (src != SQLITE_OK)
		rc = fail_sqlite(s, src, doing);
	sqlite3_finalize(del);
	sqlite3_finalize(drop);
	sqlite3_finalize(ins);
	if (rc == STORE_OK)
		rc = step_done(s, ST_COMMIT, doing);
	if (rc != STORE_OK)
		rollback(s);
	return rc;
}

enum store_rc store_cursor_open(struct store *s, int64_t campaign_id)
{
	store_check_invariants(s);
	SIM_ASSERT(!s->iterating);
	s->iterating = true;
	sqlite3_bind_int64(s->st[ST_CURSOR_RUNS], 1, campaign_id);
	sqlite3_bind_int(s->st[ST_CURSOR_RUNS], 2, s->cursor_notable);
	return STORE_OK;
}

void store_cursor_close(struct store *s)
{
	SIM_ASSERT(s->iterating);
	sqlite3_reset(s->st[ST_CURSOR_RUNS]);
	sqlite3_clear_bindings(s->st[ST_CURSOR_RUNS]);
	free(s->cursor_decisions);
	s->cursor_decisions = NULL;
	s->iterating = false;
}

/* The findings and events of cursor run out->run_id (most runs have
 * neither: the cursor's query says so, and these queries are skipped). */
static enum store_rc cursor_children(struct store *s,
				     struct store_cursor_run *out,
				     bool findings, bool events)
{
	sqlite3_stmt *st = s->st[ST_CURSOR_FINDINGS];
	enum store_rc rc = STORE_OK;
	int src = SQLITE_DONE;

	out->run.lock_events = out->lock_events;
	out->run.lock_events_count = 0;
	if (!findings)
		goto events;
	sqlite3_bind_int64(st, 1, out->run_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->findings_count == FINDINGS_PER_RUN_MAX) {
			rc = fail(s, STORE_ERR_CORRUPT, "run %" PRId64 " has "
				  "more findings than simrun records",
				  out->run_id);
			break;
		}
		struct finding *f = &out->findings[out->findings_count++];
		memset(f, 0, sizeof(*f));
		const unsigned char *kind = sqlite3_column_text(st, 0);
		const unsigned char *sum = sqlite3_column_text(st, 2);
		const unsigned char *det = sqlite3_column_text(st, 3);
		bool ok = kind && sum && det &&
			  strlen((const char *)kind) < sizeof(f->kind) &&
			  finding_columns(st, &f->signature, &f->step,
					  &f->time_ns, &f->task, &f->hits);
		if (!ok) {
			rc = fail(s, STORE_ERR_CORRUPT, "a finding of run %" PRId64
				  " has a malformed column", out->run_id);
			break;
		}
		snprintf(f->kind, sizeof(f->kind), "%s", (const char *)kind);
		snprintf(f->summary, sizeof(f->summary), "%s", (const char *)sum);
		snprintf(f->detail, sizeof(f->detail), "%s", (const char *)det);
	}
	if (rc == STORE_OK && src != SQLITE_DONE && src != SQLITE_ROW)
		rc = fail_sqlite(s, src, "reading findings");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != STORE_OK)
		return rc;
events:
	if (!events)
		return STORE_OK;
	st = s->st[ST_CURSOR_EVENTS];
	sqlite3_bind_int64(st, 1, out->run_id);
	uint32_t n = 0;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		if (n == LOCKDEP_RUN_EVENTS_MAX || !t ||
		    !lockdep_event_decode((const char *)t, &out->lock_events[n])) {
			rc = fail(s, STORE_ERR_CORRUPT, "a lock_event of run %"
				  PRId64 " is malformed", out->run_id);
			break;
		}
		n++;
	}
	if (rc == STORE_OK && src != SQLITE_DONE && src != SQLITE_ROW)
		rc = fail_sqlite(s, src, "reading lock events");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	out->run.lock_events = out->lock_events;
	out->run.lock_events_count = n;
	return rc;
}

enum store_rc store_cursor_next(struct store *s, struct store_cursor_run *out,
				bool *done)
{
	sqlite3_stmt *st = s->st[ST_CURSOR_RUNS];
	enum store_rc rc = STORE_OK;
	int src;

	SIM_ASSERT(s->iterating);
	*done = false;
	out->findings_count = 0;
	memset(&out->run, 0, sizeof(out->run));
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		*done = true;
		return STORE_OK;
	}
	if (src != SQLITE_ROW)
		return fail_sqlite(s, src, "reading runs");
	out->run_id = sqlite3_column_int64(st, 0);
	struct store_run *r = &out->run;
	if (!column_u64(st, 1, &r->idx) ||
	    !parse_u64_text(sqlite3_column_text(st, 2), &r->seed) ||
	    !parse_outcome(sqlite3_column_text(st, 3), &r->outcome) ||
	    !column_u64(st, 4, &r->steps) || !column_u64(st, 5, &r->virtual_ns) ||
	    !parse_hex16(sqlite3_column_text(st, 6), &r->trace_hash) ||
	    !column_u64(st, 7, &r->decisions_count))
		return fail(s, STORE_ERR_CORRUPT, "run %" PRId64 " has a "
			    "malformed column", out->run_id);
	out->has_decisions = sqlite3_column_type(st, 8) != SQLITE_NULL;
	free(s->cursor_decisions);
	s->cursor_decisions = NULL;
	if (out->has_decisions) {
		size_t n = (size_t)sqlite3_column_bytes(st, 8);
		s->cursor_decisions = malloc(n ? n : 1);
		if (!s->cursor_decisions)
			return fail(s, STORE_ERR_NOMEM, "out of memory reading runs");
		if (n)
			memcpy(s->cursor_decisions, sqlite3_column_blob(st, 8), n);
		r->decisions = s->cursor_decisions;
		r->decisions_len = n;
		/* A log a shard kept is kept by the merge, whatever it
		 * finds. */
		r->keep_decisions = true;
	}
	rc = cursor_children(s, out, sqlite3_column_int(st, 9) != 0,
			     sqlite3_column_int(st, 10) != 0);
	return rc;
}

enum store_rc store_campaign_metrics(struct store *s, int64_t campaign_id,
				     store_metric_fn fn, void *ctx)
{
	sqlite3_stmt *st = s->st[ST_CAMPAIGN_METRICS];
	enum store_rc rc = STORE_OK;
	int src;

	store_check_invariants(s);
	sqlite3_bind_int64(st, 1, campaign_id);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 0);
		uint64_t bucket, count;
		bool has_bucket = sqlite3_column_type(st, 1) != SQLITE_NULL;
		if (!name || (has_bucket && !column_u64(st, 1, &bucket)) ||
		    !column_u64(st, 2, &count)) {
			rc = fail(s, STORE_ERR_CORRUPT, "a metric of campaign %"
				  PRId64 " is malformed", campaign_id);
			break;
		}
		if (!fn(ctx, (const char *)name, has_bucket ? &bucket : NULL,
			count))
			break;
	}
	if (rc == STORE_OK && src != SQLITE_DONE && src != SQLITE_ROW)
		rc = fail_sqlite(s, src, "reading metrics");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}
