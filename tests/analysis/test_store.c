/*
 * test_store.c: the result database (analysis/store.c), checked the way
 * its users meet it: through store.h for simrun's side, and through plain
 * SQL on a second sqlite3 connection for the kernel developer's side.
 * Covers the schema and its version, round trips through store_load_run
 * (decision logs byte for byte, seeds of 2^63 and more exactly, and a real
 * run that replays from the file to the same trace hash), the
 * deadlocks and findings_by_signature views, metric accumulation and the
 * README's p99 query, batching (visible after flush; committed batches
 * survive a process that dies without closing), and the operating errors:
 * a database locked by another connection, a file that is not a database,
 * a newer schema, and read-only files and directories.  Every test works
 * in its own mkdtemp directory and removes it.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "analysis/sha256.h"
#include "analysis/histogram.h"
#include "analysis/store.h"
#include "mm/scenario.h"
#include "tests/support.h"

/* ------------------------------------------------------------ helpers */

static char tmp_dir[64];
static char db_path[256];

static int remove_entry(const char *path, const struct stat *sb, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static void tmp_setup(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/simrun-store-XXXXXX");
	cr_assert(mkdtemp(tmp_dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(db_path, sizeof(db_path), "%s/simrun.db", tmp_dir);
}

static void tmp_teardown(void)
{
	/* A test may leave its directory read-only. */
	chmod(tmp_dir, 0700);
	char sub[192];
	snprintf(sub, sizeof(sub), "%s/ro", tmp_dir);
	chmod(sub, 0700);
	nftw(tmp_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = tmp_setup, .fini = tmp_teardown);

static const char scenario_text[] =
	"{\"name\": \"demo\", \"cpus\": 2, \"tasks\": []}\n";

static struct store *open_ok(const struct store_opts *opts)
{
	struct store *s = NULL;
	char err[STORE_MESSAGE_MAX];
	enum store_rc rc = store_open(db_path, opts, &s, err, sizeof(err));
	cr_assert_eq(rc, STORE_OK, "store_open: %s (%s)", err, store_rc_name(rc));
	cr_assert(s != NULL);
	return s;
}

static void close_ok(struct store *s)
{
	char err[STORE_MESSAGE_MAX];
	enum store_rc rc = store_close(s, err, sizeof(err));
	cr_assert_eq(rc, STORE_OK, "store_close: %s", err);
}

static int64_t begin_campaign(struct store *s, const char *name,
			      const char *variant, uint64_t base_seed)
{
	struct store_campaign c = {
		.scenario_name = name,
		.scenario_json = scenario_text,
		.scenario_json_len = sizeof(scenario_text) - 1,
		.variant = variant,
		.strategy = "random",
		.params_json = "{\"schedules\":100,\"steps_max\":2000000}",
		.base_seed = base_seed,
		.schedules = 100,
	};
	int64_t id = 0;
	enum store_rc rc = store_campaign_begin(s, &c, &id);
	cr_assert_eq(rc, STORE_OK, "store_campaign_begin: %s", store_error(s));
	cr_assert_gt(id, 0);
	return id;
}

static struct store_run plain_run(uint64_t idx, enum run_outcome o)
{
	return (struct store_run){
		.idx = idx,
		.seed = sim_run_seed(7, idx),
		.outcome = o,
		.steps = 100 + idx,
		.virtual_ns = 1000 * idx,
		.trace_hash = 0x0123456789abcdefull ^ idx,
	};
}

static void add_ok(struct store *s, int64_t cid, const struct store_run *r,
		   const struct finding *f, uint32_t n)
{
	enum store_rc rc = store_run_add(s, cid, r, f, n);
	cr_assert_eq(rc, STORE_OK, "store_run_add %" PRIu64 ": %s", r->idx,
		     store_error(s));
}

static struct finding mk_finding(const char *kind, uint64_t sig,
				 const char *summary, const char *detail)
{
	struct finding f;
	memset(&f, 0, sizeof(f));
	snprintf(f.kind, sizeof(f.kind), "%s", kind);
	f.signature = sig;
	f.step = 17;
	f.time_ns = 123456;
	f.task = 2;
	f.hits = 3;
	snprintf(f.summary, sizeof(f.summary), "%s", summary);
	snprintf(f.detail, sizeof(f.detail), "%s", detail);
	return f;
}

/* A second, independent connection: what a user's sqlite3 sees. */
static sqlite3 *user_db(void)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL);
	cr_assert_eq(rc, SQLITE_OK, "sqlite3_open: %s", sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void user_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, msg ? msg : "");
}

/* The first column of the first row as an integer (the query must return a
 * row). */
static int64_t sql_int(const char *sql)
{
	sqlite3 *db = user_db();
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s: no row", sql);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Every row of a query, columns joined by '|' and rows by '\n', NULL as
 * "NULL": easy to compare whole results. */
static char *sql_rows(const char *sql)
{
	sqlite3 *db = user_db();
	sqlite3_stmt *st = NULL;
	size_t cap = 4096, len = 0;
	char *out = calloc(1, cap);
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);
			const char *v = t ? (const char *)t : "NULL";
			size_t need = len + strlen(v) + 2;
			if (need >= cap) {
				cap = 2 * need;
				out = realloc(out, cap);
			}
			len += (size_t)sprintf(out + len, "%s%s", i ? "|" : "", v);
		}
		len += (size_t)sprintf(out + len, "\n");
	}
	cr_assert_eq(rc, SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static void expect_rows(const char *sql, const char *want)
{
	char *got = sql_rows(sql);
	cr_expect_str_eq(got, want, "%s", sql);
	free(got);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	cr_assert(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* Expect store_open to fail with rc and a message containing each of the
 * given fragments, and to leave nothing open. */
static void expect_open_fails(const char *path, enum store_rc want,
			      const char *frag1, const char *frag2)
{
	struct store *s = (struct store *)1;
	char err[STORE_MESSAGE_MAX];
	enum store_rc rc = store_open(path, NULL, &s, err, sizeof(err));
	cr_expect_eq(rc, want, "store_open(%s): %s, want %s: %s", path,
		     store_rc_name(rc), store_rc_name(want), err);
	cr_expect(s == NULL);
	if (frag1)
		cr_expect(strstr(err, frag1) != NULL, "message lacks '%s': %s",
			  frag1, err);
	if (frag2)
		cr_expect(strstr(err, frag2) != NULL, "message lacks '%s': %s",
			  frag2, err);
}

/* ------------------------------------------------------------- schema */

Test(store, schema_created_with_version_and_wal)
{
	struct store *s = open_ok(NULL);
	close_ok(s);
	cr_expect_eq(sql_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	cr_expect_eq(sql_int("PRAGMA application_id"), STORE_APPLICATION_ID);
	expect_rows("PRAGMA journal_mode", "wal\n");
	expect_rows("SELECT type, name FROM sqlite_master"
		    " WHERE type IN ('table', 'view') ORDER BY name",
		    "table|campaign\n"
		    "view|deadlocks\n"
		    "table|finding\n"
		    "view|findings_by_signature\n"
		    "table|lock_event\n"
		    "table|metric\n"
		    "table|run\n"
		    "table|run_id_reserved\n");

	/* Opening again leaves the schema as it is. */
	s = open_ok(NULL);
	close_ok(s);
	cr_expect_eq(sql_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	cr_expect_eq(sql_int("SELECT count(*) FROM sqlite_master"
			     " WHERE name = 'campaign'"), 1);
}

/* A version-1 file (before shards and lock events) is migrated on open:
 * its campaigns become whole campaigns (shard 0 of 1) and keep their
 * rows. */
Test(store, version_1_is_migrated)
{
	struct store *s = open_ok(NULL);
	begin_campaign(s, "old", "", 7);
	close_ok(s);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db,
		"DROP TABLE lock_event;"
		"DROP TABLE run_id_reserved;"
		"ALTER TABLE campaign DROP COLUMN shard_index;"
		"ALTER TABLE campaign DROP COLUMN shard_count;"
		"ALTER TABLE campaign DROP COLUMN keep_decisions;"
		"PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK,
		"%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	cr_expect_eq(sql_int("PRAGMA user_version"), 1);

	s = open_ok(NULL);
	close_ok(s);
	cr_expect_eq(sql_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	expect_rows("SELECT scenario_name, base_seed, shard_index, shard_count,"
		    " keep_decisions FROM campaign", "old|7|0|1|0\n");
	cr_expect_eq(sql_int("SELECT count(*) FROM sqlite_master"
			     " WHERE name = 'lock_event'"), 1);
}

Test(store, empty_file_becomes_a_database)
{
	write_file(db_path, "");
	struct store *s = open_ok(NULL);
	close_ok(s);
	cr_expect_eq(sql_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

/* --------------------------------------------------------- round trip */

Test(store, round_trip_through_load_run)
{
	struct store *s = open_ok(NULL);
	const uint64_t base = UINT64_MAX;	/* 2^64 - 1 */
	int64_t cid = begin_campaign(s, "demo", "post", base);

	/* A decision log with one-, two- and five-byte varints. */
	uint8_t log[64];
	size_t len = 0;
	len += decision_encode(log + len, CHOICE_TASK, 3);
	len += decision_encode(log + len, CHOICE_EVENT, 200);
	len += decision_encode(log + len, CHOICE_TASK, UINT32_MAX - 1);
	len += decision_encode(log + len, CHOICE_EVENT, 0);

	struct store_run r0 = plain_run(0, RUN_DEADLOCK);
	r0.seed = (1ull << 63) + 5;
	r0.decisions = log;
	r0.decisions_len = len;
	r0.decisions_count = 4;
	struct finding f[2] = {
		mk_finding("deadlock", 0xfedcba9876543210ull,
			   "mmap_lock -> folio lock -> mmap_lock",
			   "{\"cycle\":[\"mmap_lock\",\"folio\"]}"),
		mk_finding("leak", 0x1ull, "folio refcount 2, expected 1",
			   "{\"folio\": 3"),	/* cut short: invalid */
	};
	f[1].task = TRACE_NO_TASK;
	add_ok(s, cid, &r0, f, 2);

	/* An ok run without findings: its log is not kept by default. */
	struct store_run r1 = plain_run(1, RUN_OK);
	r1.seed = 42;
	r1.decisions = log;
	r1.decisions_len = len;
	r1.decisions_count = 4;
	add_ok(s, cid, &r1, NULL, 0);

	/* A budget run with an empty log: kept, and empty, not NULL. */
	struct store_run r2 = plain_run(2, RUN_BUDGET);
	r2.seed = UINT64_MAX;
	add_ok(s, cid, &r2, NULL, 0);
	cr_assert_eq(store_flush(s), STORE_OK, "%s", store_error(s));

	int64_t id0, id1, id2;
	cr_assert_eq(store_find_run(s, cid, 0, &id0), STORE_OK);
	cr_assert_eq(store_find_run(s, cid, 1, &id1), STORE_OK);
	cr_assert_eq(store_find_run(s, cid, 2, &id2), STORE_OK);

	struct store_run_info info;
	cr_assert_eq(store_load_run(s, id0, &info), STORE_OK, "%s",
		     store_error(s));
	cr_expect_eq(info.run_id, id0);
	cr_expect_eq(info.campaign_id, cid);
	cr_expect_str_eq(info.scenario_name, "demo");
	cr_expect_eq(info.scenario_json_len, sizeof(scenario_text) - 1);
	cr_expect_str_eq(info.scenario_json, scenario_text);
	char sha[SHA256_HEX_BYTES];
	sha256_hex(scenario_text, sizeof(scenario_text) - 1, sha);
	cr_expect_str_eq(info.scenario_sha256, sha);
	cr_expect_str_eq(info.variant, "post");
	cr_expect_str_eq(info.strategy, "random");
	cr_expect_str_eq(info.params_json, "{\"schedules\":100,\"steps_max\":2000000}");
	cr_expect_str_eq(info.simrun_version, SIMRUN_VERSION);
	cr_expect_eq(info.base_seed, UINT64_MAX);
	cr_expect_eq(info.status, STORE_RUNNING);
	cr_expect_eq(info.idx, 0);
	cr_expect_eq(info.seed, (1ull << 63) + 5);
	cr_expect_eq(info.outcome, RUN_DEADLOCK);
	cr_expect_eq(info.steps, 100);
	cr_expect_eq(info.virtual_ns, 0);
	cr_expect_eq(info.trace_hash, 0x0123456789abcdefull);
	cr_expect_eq(info.decisions_count, 4);
	cr_assert(info.has_decisions);
	cr_assert_eq(info.decisions_len, len);
	cr_expect_arr_eq(info.decisions, log, len);
	cr_assert_eq(info.findings_count, 2);
	cr_expect_str_eq(info.findings[0].kind, "deadlock");
	cr_expect_eq(info.findings[0].signature, 0xfedcba9876543210ull);
	cr_expect_str_eq(info.findings[0].summary,
			 "mmap_lock -> folio lock -> mmap_lock");
	cr_expect_str_eq(info.findings[0].detail_json,
			 "{\"cycle\":[\"mmap_lock\",\"folio\"]}");
	cr_expect_eq(info.findings[0].step, 17);
	cr_expect_eq(info.findings[0].time_ns, 123456);
	cr_expect_eq(info.findings[0].task, 2);
	cr_expect_eq(info.findings[0].hits, 3);
	cr_expect_str_eq(info.findings[1].kind, "leak");
	cr_expect_eq(info.findings[1].signature, 1);
	cr_expect_eq(info.findings[1].task, TRACE_NO_TASK);
	store_run_info_free(&info);
	cr_expect_null(info.findings);

	cr_assert_eq(store_load_run(s, id1, &info), STORE_OK);
	cr_expect_eq(info.seed, 42);
	cr_expect_eq(info.outcome, RUN_OK);
	cr_expect_not(info.has_decisions);
	cr_expect_null(info.decisions);
	cr_expect_eq(info.decisions_count, 4);
	cr_expect_eq(info.findings_count, 0);
	store_run_info_free(&info);

	cr_assert_eq(store_load_run(s, id2, &info), STORE_OK);
	cr_expect_eq(info.seed, UINT64_MAX);
	cr_expect(info.has_decisions);
	cr_expect_eq(info.decisions_len, 0);
	store_run_info_free(&info);

	cr_expect_eq(store_load_run(s, id2 + 100, &info), STORE_ERR_NOT_FOUND);
	cr_expect(strstr(store_error(s), "no run") != NULL, "%s", store_error(s));
	int64_t none;
	cr_expect_eq(store_find_run(s, cid, 9, &none), STORE_ERR_NOT_FOUND);

	cr_assert_eq(store_campaign_end(s, cid, STORE_DONE), STORE_OK);
	close_ok(s);

	/* What SQL users see: exact seeds, hex hashes, units as numbers. */
	cr_expect_eq(sql_int("SELECT length(decisions) FROM run WHERE idx = 0"),
		     (int64_t)len);
	expect_rows("SELECT idx, seed, outcome, trace_hash, decisions IS NULL,"
		    " length(decisions) > 0 FROM run ORDER BY idx",
		    "0|9223372036854775813|deadlock|0123456789abcdef|0|1\n"
		    "1|42|ok|0123456789abcdee|1|NULL\n"
		    "2|18446744073709551615|budget|0123456789abcded|0|0\n");
	cr_expect_eq(sql_int("SELECT length(decisions) FROM run WHERE idx = 2"), 0);
	expect_rows("SELECT idx FROM run WHERE seed = 42", "1\n");
	expect_rows("SELECT idx FROM run WHERE seed = '18446744073709551615'",
		    "2\n");
	expect_rows("SELECT base_seed, status, ended_at IS NOT NULL,"
		    " started_at <= ended_at, scenario_sha256 = lower(scenario_sha256)"
		    " FROM campaign",
		    "18446744073709551615|done|1|1|1\n");
	/* The cut-short detail is kept, wrapped, and json_extract works on
	 * every row. */
	expect_rows("SELECT kind, signature, json_extract(detail_json, '$.unparsed'),"
		    " json_extract(detail_json, '$.cycle[0]'), task"
		    " FROM finding ORDER BY id",
		    "deadlock|fedcba9876543210|NULL|mmap_lock|2\n"
		    "leak|0000000000000001|{\"folio\": 3|NULL|NULL\n");
}

Test(store, real_run_replays_from_the_file)
{
	char err[1024];
	char path[512];
	snprintf(path, sizeof(path), "%s/scenarios/default.json",
		 test_source_dir());
	struct scenario *sc = scenario_load_file(path, NULL, err, sizeof(err));
	cr_assert(sc != NULL, "%s", err);
	struct engine *e = campaign_engine(sc, NULL);
	cr_assert(e != NULL);
	struct strategy_params sp = { .kind = STRATEGY_RANDOM };
	struct strategy *strat = strategy_create(&sp, err, sizeof(err));
	cr_assert(strat != NULL, "%s", err);

	struct store_opts opts = { .keep_all_decisions = true };
	struct store *s = open_ok(&opts);
	struct store_campaign c = {
		.scenario_name = sc->name,
		.scenario_json = sc->json_text,
		.scenario_json_len = sc->json_len,
		.variant = sc->variant,
		.strategy = "random",
		.base_seed = 99,
		.schedules = 4,
	};
	int64_t cid;
	cr_assert_eq(store_campaign_begin(s, &c, &cid), STORE_OK);

	/* Schedule 3: its run seed differs from the base seed, so replay
	 * must take the run's own seed from the file. */
	struct run_result r;
	struct store_run sr;
	campaign_run_schedule(e, sc, strat, NULL, 99, 3, &r);
	store_run_fill(&sr, &r, e);
	add_ok(s, cid, &sr, e->findings, e->findings_count);
	cr_assert_eq(store_campaign_end(s, cid, STORE_DONE), STORE_OK);

	int64_t rid;
	struct store_run_info info;
	cr_assert_eq(store_find_run(s, cid, 3, &rid), STORE_OK);
	cr_assert_eq(store_load_run(s, rid, &info), STORE_OK, "%s",
		     store_error(s));
	size_t len;
	const uint8_t *d = engine_decisions(e, &len);
	cr_expect_eq(info.seed, r.seed);
	cr_expect_eq(info.trace_hash, r.trace_hash);
	cr_expect_eq(info.steps, r.steps);
	cr_expect_eq(info.decisions_count, e->decisions_count);
	cr_assert(info.has_decisions);
	cr_assert_eq(info.decisions_len, len);
	if (len)
		cr_expect_arr_eq(info.decisions, d, len);
	cr_expect_eq(info.scenario_json_len, sc->json_len);
	cr_expect(memcmp(info.scenario_json, sc->json_text, sc->json_len) == 0);
	/* Replay needs nothing but the file: the stored scenario, the run
	 * seed (as the base seed of schedule 0) and the stored log give the
	 * same run, trace hash and all. */
	cr_assert_gt(info.decisions_len, 0, "the run made no decision: "
		     "replaying it would prove nothing");
	struct scenario *again = scenario_load_text(
		info.scenario_json, info.scenario_json_len, "simrun.db",
		info.variant, err, sizeof(err));
	cr_assert(again != NULL, "%s", err);
	struct strategy_params rp = {
		.kind = STRATEGY_REPLAY,
		.replay_log = info.decisions,
		.replay_len = info.decisions_len,
	};
	struct strategy *replay = strategy_create(&rp, err, sizeof(err));
	cr_assert(replay != NULL, "%s", err);
	struct run_result rr;
	campaign_run_schedule(e, again, replay, NULL, info.seed, 0, &rr);
	cr_expect_eq(rr.outcome, info.outcome);
	cr_expect_eq(rr.seed, info.seed);
	cr_expect_eq(rr.steps, info.steps);
	cr_expect_eq(rr.trace_hash, info.trace_hash);
	strategy_destroy(replay);
	scenario_free(again);
	store_run_info_free(&info);

	close_ok(s);
	strategy_destroy(strat);
	test_engine_done(e);
	scenario_free(sc);
}

/* -------------------------------------------------------------- views */

Test(store, deadlocks_and_findings_by_signature_views)
{
	struct store *s = open_ok(NULL);
	int64_t a = begin_campaign(s, "abba", "pre", 1);
	struct finding dx = mk_finding("deadlock", 0xaaull, "cycle X", "{}");
	struct finding dz = mk_finding("deadlock", 0xccull, "cycle Z", "{}");
	struct finding ly = mk_finding("leak", 0xbbull, "leak Y", "{}");
	struct finding two[2] = { ly, dz };

	struct store_run r = plain_run(0, RUN_DEADLOCK);
	r.seed = 100;
	add_ok(s, a, &r, &dx, 1);			/* run 1 */
	r = plain_run(1, RUN_DEADLOCK);
	r.seed = 101;
	add_ok(s, a, &r, &dx, 1);			/* run 2 */
	r = plain_run(2, RUN_OK);
	r.seed = 102;
	add_ok(s, a, &r, two, 2);			/* run 3 */
	r = plain_run(3, RUN_DEADLOCK);
	r.seed = 103;
	add_ok(s, a, &r, NULL, 0);			/* run 4: no checker */
	r = plain_run(4, RUN_OK);
	r.seed = 104;
	add_ok(s, a, &r, NULL, 0);			/* run 5: clean */
	cr_assert_eq(store_campaign_end(s, a, STORE_DONE), STORE_OK);

	int64_t b = begin_campaign(s, "abba", "post", 2);
	r = plain_run(0, RUN_DEADLOCK);
	r.seed = 200;
	add_ok(s, b, &r, &dx, 1);			/* run 6 */
	cr_assert_eq(store_campaign_end(s, b, STORE_DONE), STORE_OK);
	close_ok(s);

	expect_rows("SELECT * FROM deadlocks",
		    "1|1|abba|pre|1|0|100|00000000000000aa|cycle X\n"
		    "2|1|abba|pre|2|1|101|00000000000000aa|cycle X\n"
		    "4|1|abba|pre|3|2|102|00000000000000cc|cycle Z\n"
		    "NULL|1|abba|pre|4|3|103|NULL|every remaining task is "
		    "blocked and nothing is enabled (outcome deadlock; no "
		    "checker named the cycle)\n"
		    "5|2|abba|post|6|0|200|00000000000000aa|cycle X\n");
	expect_rows("SELECT * FROM findings_by_signature",
		    "deadlock|00000000000000aa|3|2|1|100|cycle X\n"
		    "deadlock|00000000000000cc|1|1|3|102|cycle Z\n"
		    "leak|00000000000000bb|1|1|3|102|leak Y\n");
	/* The README's examples, verbatim. */
	expect_rows("SELECT kind, signature, runs, first_seed, summary"
		    " FROM findings_by_signature ORDER BY runs DESC",
		    "deadlock|00000000000000aa|3|100|cycle X\n"
		    "deadlock|00000000000000cc|1|102|cycle Z\n"
		    "leak|00000000000000bb|1|102|leak Y\n");
	expect_rows("SELECT idx, seed, steps, virtual_ns FROM run"
		    " WHERE campaign_id = 1 AND outcome = 'deadlock' ORDER BY idx",
		    "0|100|100|0\n1|101|101|1000\n3|103|103|3000\n");
	expect_rows("SELECT variant, outcome, count(*) FROM run"
		    " JOIN campaign ON campaign.id = run.campaign_id"
		    " GROUP BY variant, outcome ORDER BY variant, outcome",
		    "post|deadlock|1\npre|deadlock|3\npre|ok|2\n");
}

struct collect {
	int64_t ids[16];
	uint64_t seeds[16];
	uint32_t findings[16];
	int n;
	int stop_after;
	struct store *s;
};

static bool collect_run(void *ctx, const struct store_run_ref *ref)
{
	struct collect *c = ctx;
	cr_assert_lt(c->n, 16);
	c->ids[c->n] = ref->run_id;
	c->seeds[c->n] = ref->seed;
	c->findings[c->n] = ref->findings_count;
	c->n++;
	/* Replay loads each run from inside the iteration. */
	struct store_run_info info;
	cr_assert_eq(store_load_run(c->s, ref->run_id, &info), STORE_OK, "%s",
		     store_error(c->s));
	cr_expect_eq(info.findings_count, ref->findings_count);
	cr_expect_eq(info.outcome, ref->outcome);
	store_run_info_free(&info);
	return c->n != c->stop_after;
}

Test(store, runs_with_findings)
{
	struct store *s = open_ok(NULL);
	int64_t a = begin_campaign(s, "x", "", 1);
	struct finding f = mk_finding("leak", 1, "leak", "{}");
	struct store_run r = plain_run(0, RUN_OK);
	add_ok(s, a, &r, NULL, 0);		/* run 1: nothing */
	r = plain_run(1, RUN_OK);
	add_ok(s, a, &r, &f, 1);		/* run 2: a finding */
	r = plain_run(2, RUN_BUDGET);
	add_ok(s, a, &r, NULL, 0);		/* run 3: outcome only */
	cr_assert_eq(store_campaign_end(s, a, STORE_DONE), STORE_OK);
	int64_t b = begin_campaign(s, "y", "", 2);
	r = plain_run(0, RUN_DEADLOCK);
	r.seed = (1ull << 63);
	add_ok(s, b, &r, &f, 1);		/* run 4 */
	cr_assert_eq(store_campaign_end(s, b, STORE_DONE), STORE_OK);

	struct collect c = { .s = s };
	cr_assert_eq(store_runs_with_findings(s, 0, collect_run, &c), STORE_OK);
	cr_assert_eq(c.n, 3);
	cr_expect_eq(c.ids[0], 2);
	cr_expect_eq(c.ids[1], 3);
	cr_expect_eq(c.ids[2], 4);
	cr_expect_eq(c.findings[0], 1);
	cr_expect_eq(c.findings[1], 0);
	cr_expect_eq(c.seeds[2], 1ull << 63);

	memset(&c, 0, sizeof(c));
	c.s = s;
	cr_assert_eq(store_runs_with_findings(s, b, collect_run, &c), STORE_OK);
	cr_assert_eq(c.n, 1);
	cr_expect_eq(c.ids[0], 4);

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.stop_after = 1;
	cr_assert_eq(store_runs_with_findings(s, 0, collect_run, &c), STORE_OK);
	cr_expect_eq(c.n, 1);

	cr_expect_eq(store_runs_with_findings(s, 77, collect_run, &c),
		     STORE_ERR_NOT_FOUND);
	cr_expect(strstr(store_error(s), "no campaign 77") != NULL, "%s",
		  store_error(s));
	close_ok(s);
}

/* ------------------------------------------------------------ metrics */

Test(store, metric_bucket_bounds)
{
	for (uint64_t v = 0; v < 16; v++)
		cr_expect_eq(hist_bucket_lower(hist_bucket_of(v)), v);
	cr_expect_eq(hist_bucket_lower(hist_bucket_of(16)), 16);
	cr_expect_eq(hist_bucket_lower(hist_bucket_of(17)), 16);
	cr_expect_eq(hist_bucket_lower(hist_bucket_of(31)), 30);
	cr_expect_eq(hist_bucket_lower(hist_bucket_of(1000)), 960);
	cr_expect_eq(hist_bucket_lower(hist_bucket_of(1024)), 1024);
	cr_expect_eq(hist_bucket_lower(hist_bucket_of(UINT64_MAX)), 0xf000000000000000ull);
	/* Every value lies in its bucket, which is at most 1/8 of its lower
	 * bound wide, and buckets never decrease. */
	uint64_t prev = 0;
	for (uint64_t v = 1; v < (1ull << 62); v = v * 3 / 2 + 1) {
		uint64_t b = hist_bucket_lower(hist_bucket_of(v));
		cr_assert_leq(b, v);
		cr_assert(v - b <= b / 8, "value %" PRIu64 " bucket %" PRIu64, v, b);
		cr_assert_geq(b, prev);
		cr_assert_eq(hist_bucket_lower(hist_bucket_of(b)), b, "a bound is its own bucket");
		prev = b;
	}
}

Test(store, metric_accumulates)
{
	struct store *s = open_ok(NULL);
	int64_t cid = begin_campaign(s, "m", "", 1);
	uint64_t b0 = 0, b16 = 16, b1024 = 1024;

	cr_assert_eq(store_metric_add(s, cid, "faults", NULL, 3), STORE_OK);
	cr_assert_eq(store_metric_add(s, cid, "faults", NULL, 4), STORE_OK);
	cr_assert_eq(store_metric_add(s, cid, "fault_ns", &b16, 5), STORE_OK);
	cr_assert_eq(store_metric_add(s, cid, "fault_ns", &b0, 1), STORE_OK);
	cr_assert_eq(store_flush(s), STORE_OK, "%s", store_error(s));
	/* Counts added after a commit add to the committed rows. */
	cr_assert_eq(store_metric_add(s, cid, "faults", NULL, 10), STORE_OK);
	cr_assert_eq(store_metric_add(s, cid, "fault_ns", &b16, 1), STORE_OK);
	cr_assert_eq(store_metric_add(s, cid, "fault_ns", &b1024, 2), STORE_OK);
	cr_assert_eq(store_campaign_end(s, cid, STORE_DONE), STORE_OK);

	/* Values the database cannot hold are refused, not wrapped. */
	int64_t c2 = begin_campaign(s, "m", "", 2);
	uint64_t huge = 1ull << 63;
	cr_expect_eq(store_metric_add(s, c2, "x_ns", &huge, 1), STORE_ERR_RANGE);
	cr_expect(strstr(store_error(s), "x_ns") != NULL, "%s", store_error(s));
	cr_expect_eq(store_metric_add(s, c2, "x", NULL, huge), STORE_ERR_RANGE);
	cr_assert_eq(store_metric_add(s, c2, "x", NULL, INT64_MAX), STORE_OK);
	cr_expect_eq(store_metric_add(s, c2, "x", NULL, 1), STORE_ERR_RANGE,
		     "%s", store_error(s));
	cr_assert_eq(store_campaign_end(s, c2, STORE_DONE), STORE_OK);
	close_ok(s);

	expect_rows("SELECT name, bucket, count FROM metric WHERE campaign_id = 1"
		    " ORDER BY name, bucket",
		    "fault_ns|0|1\nfault_ns|16|6\nfault_ns|1024|2\nfaults|NULL|17\n");
	expect_rows("SELECT name, bucket, count FROM metric WHERE campaign_id = 2",
		    "x|NULL|9223372036854775807\n");
}

Test(store, readme_p99_query)
{
	/* 1000 samples: 900 in bucket 100, 90 in 200, 9 in 400, 1 in 800.
	 * p99 is the first bucket whose cumulative count reaches 990. */
	struct store *s = open_ok(NULL);
	int64_t cid = begin_campaign(s, "p", "", 1);
	uint64_t b[4] = { 100, 200, 400, 800 };
	uint64_t n[4] = { 900, 90, 9, 1 };
	for (int i = 0; i < 4; i++)
		cr_assert_eq(store_metric_add(s, cid, "fault_ns", &b[i], n[i]),
			     STORE_OK);
	cr_assert_eq(store_campaign_end(s, cid, STORE_DONE), STORE_OK);
	close_ok(s);
	expect_rows("WITH h AS (SELECT bucket, count,"
		    "   sum(count) OVER (ORDER BY bucket) AS cumulative,"
		    "   sum(count) OVER () AS total"
		    "  FROM metric WHERE campaign_id = 1 AND name = 'fault_ns')"
		    " SELECT min(bucket) AS p99_ns FROM h"
		    " WHERE cumulative >= 0.99 * total",
		    "200\n");
}

/* ----------------------------------------------------------- batching */

Test(store, batch_visible_after_flush)
{
	struct store *s = open_ok(NULL);
	int64_t cid = begin_campaign(s, "b", "", 1);

	for (uint64_t i = 0; i < STORE_BATCH_RUNS; i++) {
		struct store_run r = plain_run(i, RUN_OK);
		add_ok(s, cid, &r, NULL, 0);
	}
	/* A full batch is staged, not yet in the file. */
	cr_expect_eq(sql_int("SELECT count(*) FROM run"), 0);
	/* The next run commits it. */
	struct store_run r = plain_run(STORE_BATCH_RUNS, RUN_OK);
	add_ok(s, cid, &r, NULL, 0);
	cr_expect_eq(sql_int("SELECT count(*) FROM run"), STORE_BATCH_RUNS);
	cr_assert_eq(store_flush(s), STORE_OK, "%s", store_error(s));
	cr_expect_eq(sql_int("SELECT count(*) FROM run"), STORE_BATCH_RUNS + 1);
	/* Run ids follow schedule order across batches. */
	cr_expect_eq(sql_int("SELECT count(*) FROM run WHERE id != idx + 1"), 0);
	cr_expect_eq(sql_int("SELECT count(*) FROM campaign WHERE status = 'running'"), 1);
	close_ok(s);
	/* Closed without store_campaign_end: recorded as interrupted. */
	expect_rows("SELECT status FROM campaign", "interrupted\n");
}

Test(store, committed_batches_survive_a_dead_process)
{
	const uint64_t runs = 2 * STORE_BATCH_RUNS + 3;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct store *s = NULL;
		char err[STORE_MESSAGE_MAX];
		int64_t cid;
		struct store_campaign c = {
			.scenario_name = "crash",
			.scenario_json = scenario_text,
			.scenario_json_len = sizeof(scenario_text) - 1,
			.strategy = "random",
			.schedules = runs,
		};
		if (store_open(db_path, NULL, &s, err, sizeof(err)) != STORE_OK ||
		    store_campaign_begin(s, &c, &cid) != STORE_OK)
			_exit(2);
		for (uint64_t i = 0; i < runs; i++) {
			struct store_run r = plain_run(i, RUN_OK);
			if (store_run_add(s, cid, &r, NULL, 0) != STORE_OK)
				_exit(3);
		}
		_exit(0);	/* no flush, no close: as if killed */
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);

	/* The next open recovers the WAL; both committed batches are there,
	 * the staged tail is not. */
	struct store *s = open_ok(NULL);
	close_ok(s);
	cr_expect_eq(sql_int("SELECT count(*) FROM run"), 2 * STORE_BATCH_RUNS);
	cr_expect_eq(sql_int("SELECT max(idx) FROM run"), 2 * STORE_BATCH_RUNS - 1);
	expect_rows("SELECT status FROM campaign", "running\n");
	expect_rows("PRAGMA integrity_check", "ok\n");
}

Test(store, value_out_of_range_loses_nothing_else)
{
	struct store *s = open_ok(NULL);
	int64_t cid = begin_campaign(s, "r", "", 1);
	struct store_run r = plain_run(0, RUN_OK);
	add_ok(s, cid, &r, NULL, 0);
	r = plain_run(1, RUN_OK);
	r.virtual_ns = 1ull << 63;
	cr_expect_eq(store_run_add(s, cid, &r, NULL, 0), STORE_ERR_RANGE);
	cr_expect(strstr(store_error(s), "virtual time") != NULL, "%s",
		  store_error(s));
	r = plain_run(1, RUN_OK);
	add_ok(s, cid, &r, NULL, 0);
	cr_assert_eq(store_campaign_end(s, cid, STORE_DONE), STORE_OK);
	close_ok(s);
	expect_rows("SELECT idx FROM run ORDER BY idx", "0\n1\n");
}

/*
 * A batch that fails halfway (here: a counter that would pass 2^63-1 only
 * when added to the file's count, after the batch's runs were copied)
 * leaves the file exactly as it was: the runs copied before the failure
 * are rolled back with it, the store stays usable, and store_close says
 * what it could not write.
 */
Test(store, failed_batch_is_rolled_back_whole)
{
	struct store *s = open_ok(NULL);
	int64_t cid = begin_campaign(s, "o", "", 1);
	struct store_run r = plain_run(0, RUN_OK);
	add_ok(s, cid, &r, NULL, 0);
	cr_assert_eq(store_metric_add(s, cid, "x", NULL, INT64_MAX), STORE_OK);
	cr_assert_eq(store_flush(s), STORE_OK, "%s", store_error(s));

	r = plain_run(1, RUN_OK);
	add_ok(s, cid, &r, NULL, 0);
	cr_assert_eq(store_metric_add(s, cid, "x", NULL, 1), STORE_OK);
	cr_expect_eq(store_flush(s), STORE_ERR_RANGE, "%s", store_error(s));
	cr_expect(strstr(store_error(s), "stay in memory"), "%s", store_error(s));
	store_check_invariants(s);
	cr_expect_eq(sql_int("SELECT count(*) FROM run"), 1);

	char err[STORE_MESSAGE_MAX];
	cr_expect_eq(store_close(s, err, sizeof(err)), STORE_ERR_RANGE);
	cr_expect(strstr(err, "1 staged runs are lost"), "%s", err);
	expect_rows("SELECT idx FROM run", "0\n");
	expect_rows("SELECT count FROM metric", "9223372036854775807\n");
	expect_rows("SELECT status FROM campaign", "running\n");
	expect_rows("PRAGMA integrity_check", "ok\n");
}

static off_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : 0;
}

/*
 * A disk that fills in the middle of a batch: a child lowers its file-size
 * limit (RLIMIT_FSIZE, so writes past it fail as on a full disk), stages
 * runs whose decision logs do not fit, and flushes.  The flush must fail
 * with a message and roll back, keep the staged runs, and succeed once
 * there is room again.  The child reports on a pipe: exit 0 means every
 * step behaved.
 */
Test(store, disk_full_mid_batch_keeps_staged_and_committed)
{
	enum { RUNS = 8, LOG = 64 * 1024 };
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		static uint8_t log[LOG];	/* zeros: LOG decisions */
		struct store_opts opts = { .keep_all_decisions = true };
		struct store *s = NULL;
		char err[STORE_MESSAGE_MAX], wal[300];
		int64_t cid;
		struct store_campaign c = {
			.scenario_name = "full",
			.scenario_json = scenario_text,
			.scenario_json_len = sizeof(scenario_text) - 1,
			.strategy = "random",
			.schedules = RUNS + 2,
		};
		close(fds[0]);
		signal(SIGXFSZ, SIG_IGN);
		if (store_open(db_path, &opts, &s, err, sizeof(err)) != STORE_OK ||
		    store_campaign_begin(s, &c, &cid) != STORE_OK)
			_exit(2);
		for (uint64_t i = 0; i < 2; i++) {
			struct store_run r = plain_run(i, RUN_OK);
			if (store_run_add(s, cid, &r, NULL, 0) != STORE_OK)
				_exit(3);
		}
		if (store_flush(s) != STORE_OK)
			_exit(4);

		struct rlimit old, lim;
		snprintf(wal, sizeof(wal), "%s-wal", db_path);
		off_t have = file_size(db_path) > file_size(wal) ?
				     file_size(db_path) : file_size(wal);
		getrlimit(RLIMIT_FSIZE, &old);
		lim = old;
		lim.rlim_cur = (rlim_t)have + 2 * LOG;
		if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(5);
		for (uint64_t i = 2; i < RUNS + 2; i++) {
			struct store_run r = plain_run(i, RUN_OK);
			r.decisions = log;
			r.decisions_len = LOG;
			r.decisions_count = LOG;
			if (store_run_add(s, cid, &r, NULL, 0) != STORE_OK)
				_exit(6);
		}
		enum store_rc rc = store_flush(s);
		dprintf(fds[1], "%s|%s\n", store_rc_name(rc), store_error(s));
		if (rc != STORE_ERR_FULL && rc != STORE_ERR_IO)
			_exit(7);
		if (setrlimit(RLIMIT_FSIZE, &old) != 0)
			_exit(8);
		if (store_campaign_end(s, cid, STORE_DONE) != STORE_OK) {
			dprintf(fds[1], "retry: %s\n", store_error(s));
			_exit(9);
		}
		_exit(store_close(s, NULL, 0) == STORE_OK ? 0 : 10);
	}
	close(fds[1]);
	char out[2048] = { 0 };
	size_t len = 0;
	ssize_t got;
	while ((got = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)got;
	close(fds[0]);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "child died: status %d; said %s", st, out);
	cr_assert_eq(WEXITSTATUS(st), 0, "child step %d failed; said %s",
		     WEXITSTATUS(st), out);
	cr_expect(strstr(out, db_path) != NULL, "%s", out);
	cr_log_info("the full disk said: %s", out);
	cr_expect(strstr(out, "stay in memory") != NULL, "%s", out);
	cr_expect_eq(sql_int("SELECT count(*) FROM run"), RUNS + 2);
	cr_expect_eq(sql_int("SELECT sum(length(decisions)) FROM run"),
		     (int64_t)RUNS * LOG);
	expect_rows("SELECT status FROM campaign", "done\n");
	expect_rows("PRAGMA integrity_check", "ok\n");
}

/* ------------------------------------------------------------ locking */

Test(store, locked_database_refused_at_open)
{
	struct store *s = open_ok(NULL);
	close_ok(s);

	sqlite3 *other = user_db();
	user_exec(other, "BEGIN EXCLUSIVE");
	expect_open_fails(db_path, STORE_ERR_LOCKED, db_path,
			  "database is locked by another process");
	user_exec(other, "ROLLBACK");
	sqlite3_close(other);

	s = open_ok(NULL);
	close_ok(s);
}

Test(store, locked_new_file_refused_at_open)
{
	/* A file another connection created and holds exclusively, before
	 * it was ever in WAL mode. */
	sqlite3 *other = NULL;
	cr_assert_eq(sqlite3_open(db_path, &other), SQLITE_OK);
	user_exec(other, "BEGIN EXCLUSIVE");
	expect_open_fails(db_path, STORE_ERR_LOCKED, db_path,
			  "database is locked by another process");
	user_exec(other, "ROLLBACK");
	sqlite3_close(other);
}

Test(store, locked_mid_campaign_keeps_committed_and_staged)
{
	struct store *s = open_ok(NULL);
	int64_t cid = begin_campaign(s, "l", "", 1);
	for (uint64_t i = 0; i < STORE_BATCH_RUNS; i++) {
		struct store_run r = plain_run(i, RUN_OK);
		add_ok(s, cid, &r, NULL, 0);
	}
	struct store_run r = plain_run(STORE_BATCH_RUNS, RUN_OK);
	add_ok(s, cid, &r, NULL, 0);		/* commits the first batch */
	r = plain_run(STORE_BATCH_RUNS + 1, RUN_OK);
	add_ok(s, cid, &r, NULL, 0);		/* staged: 2 runs */

	sqlite3 *other = user_db();
	user_exec(other, "BEGIN EXCLUSIVE");
	cr_expect_eq(store_flush(s), STORE_ERR_LOCKED);
	cr_expect(strstr(store_error(s), "database is locked by another process"),
		  "%s", store_error(s));
	cr_expect(strstr(store_error(s), "stay in memory"), "%s", store_error(s));
	cr_expect_eq(store_campaign_end(s, cid, STORE_DONE), STORE_ERR_LOCKED);
	user_exec(other, "ROLLBACK");
	sqlite3_close(other);

	/* Nothing was lost: the retry writes the staged runs and ends the
	 * campaign. */
	cr_assert_eq(store_campaign_end(s, cid, STORE_DONE), STORE_OK, "%s",
		     store_error(s));
	close_ok(s);
	cr_expect_eq(sql_int("SELECT count(*) FROM run"), STORE_BATCH_RUNS + 2);
	expect_rows("SELECT status FROM campaign", "done\n");
}

Test(store, locked_when_batch_full_refuses_only_the_new_run)
{
	struct store *s = open_ok(NULL);
	int64_t cid = begin_campaign(s, "l", "", 1);
	for (uint64_t i = 0; i < STORE_BATCH_RUNS; i++) {
		struct store_run r = plain_run(i, RUN_OK);
		add_ok(s, cid, &r, NULL, 0);
	}
	sqlite3 *other = user_db();
	user_exec(other, "BEGIN EXCLUSIVE");
	struct store_run r = plain_run(STORE_BATCH_RUNS, RUN_OK);
	cr_expect_eq(store_run_add(s, cid, &r, NULL, 0), STORE_ERR_LOCKED);
	cr_expect(strstr(store_error(s), "was not recorded"), "%s",
		  store_error(s));
	user_exec(other, "ROLLBACK");
	sqlite3_close(other);
	add_ok(s, cid, &r, NULL, 0);		/* the same run, again */
	cr_assert_eq(store_campaign_end(s, cid, STORE_DONE), STORE_OK);
	close_ok(s);
	cr_expect_eq(sql_int("SELECT count(*) FROM run"), STORE_BATCH_RUNS + 1);
}

/* ------------------------------------------------------- wrong files */

Test(store, file_that_is_not_a_database)
{
	static const char text[] =
		"This is a scenario note, not a database.\n"
		"It is long enough to hold a whole SQLite header and more: "
		"a hundred bytes and then some, so SQLite reads it.\n";
	write_file(db_path, text);
	expect_open_fails(db_path, STORE_ERR_NOT_DB, db_path,
			  "is not a SQLite database");
	/* ... and the file is left as it was. */
	char buf[sizeof(text) + 16] = { 0 };
	FILE *f = fopen(db_path, "rb");
	cr_assert(f);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	cr_expect_eq(n, sizeof(text) - 1);
	cr_expect_str_eq(buf, text);
}

Test(store, database_of_another_program)
{
	sqlite3 *other = NULL;
	cr_assert_eq(sqlite3_open(db_path, &other), SQLITE_OK);
	user_exec(other, "CREATE TABLE contacts (name TEXT)");
	sqlite3_close(other);
	expect_open_fails(db_path, STORE_ERR_NOT_DB, db_path, "another program");
	expect_rows("PRAGMA journal_mode", "delete\n");
}

Test(store, newer_schema_refused)
{
	struct store *s = open_ok(NULL);
	close_ok(s);
	sqlite3 *other = user_db();
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 STORE_SCHEMA_VERSION + 1);
	user_exec(other, sql);
	sqlite3_close(other);

	char want[64];
	snprintf(want, sizeof(want), "schema version %d, newer",
		 STORE_SCHEMA_VERSION + 1);
	expect_open_fails(db_path, STORE_ERR_NEWER, db_path, want);
	cr_expect_eq(sql_int("PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
}

Test(store, missing_directory)
{
	char path[192];
	snprintf(path, sizeof(path), "%s/no/such/dir/simrun.db", tmp_dir);
	expect_open_fails(path, STORE_ERR_OPEN, path, "No such file or directory");
	expect_open_fails(tmp_dir, STORE_ERR_OPEN, tmp_dir, "is a directory");
}

/*
 * Read-only files and directories.  root writes anywhere, so when the test
 * runs as root the checks run in a child that has become `nobody`; the
 * child reports each result as a line on a pipe.
 */
struct ro_case {
	const char *path;
	const char *frag;
};

static void run_ro_cases(const struct ro_case *cases, int n)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		if (geteuid() == 0) {
			struct passwd *pw = getpwnam("nobody");
			if (!pw || setgroups(0, NULL) != 0 ||
			    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
				_exit(99);
		}
		for (int i = 0; i < n; i++) {
			struct store *s = NULL;
			char err[STORE_MESSAGE_MAX];
			enum store_rc rc = store_open(cases[i].path, NULL, &s,
						      err, sizeof(err));
			dprintf(fds[1], "%d|%s|%s\n", i, store_rc_name(rc), err);
			if (s)
				store_close(s, NULL, 0);
		}
		_exit(0);
	}
	close(fds[1]);
	char out[8192] = { 0 };
	size_t len = 0;
	ssize_t got;
	while ((got = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)got;
	close(fds[0]);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "child died: %d", st);
	cr_assert_neq(WEXITSTATUS(st), 99, "cannot become nobody to test "
		      "permissions as root");
	cr_assert_eq(WEXITSTATUS(st), 0);

	char *line = out;
	for (int i = 0; i < n; i++) {
		char *nl = strchr(line, '\n');
		cr_assert(nl != NULL, "missing result %d in: %s", i, out);
		*nl = '\0';
		char want[64];
		snprintf(want, sizeof(want), "%d|readonly|", i);
		cr_expect(strncmp(line, want, strlen(want)) == 0,
			  "case %d: %s", i, line);
		cr_expect(strstr(line, cases[i].path) != NULL, "case %d: %s", i, line);
		cr_expect(strstr(line, cases[i].frag) != NULL,
			  "case %d lacks '%s': %s", i, cases[i].frag, line);
		line = nl + 1;
	}
}

Test(store, read_only_files_and_directories)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = geteuid() == 0 && pw ? pw->pw_uid : geteuid();
	gid_t gid = geteuid() == 0 && pw ? pw->pw_gid : getegid();
	char ro[128], fresh[192], existing[192], rw[128], rofile[192];

	cr_assert_eq(chmod(tmp_dir, 0755), 0);

	/* 1: a new database in a directory nobody may write. */
	snprintf(ro, sizeof(ro), "%s/ro", tmp_dir);
	cr_assert_eq(mkdir(ro, 0755), 0);
	snprintf(fresh, sizeof(fresh), "%s/new.db", ro);

	/* 2: an existing, writable database in that directory: SQLite cannot
	 * create its -wal and -shm files beside it. */
	snprintf(existing, sizeof(existing), "%s/old.db", ro);
	snprintf(db_path, sizeof(db_path), "%s", existing);
	struct store *s = open_ok(NULL);
	close_ok(s);
	cr_assert_eq(chown(existing, uid, gid), 0);
	cr_assert_eq(chmod(existing, 0644), 0);
	cr_assert_eq(chmod(ro, 0555), 0);

	/* 3: a read-only database file in a writable directory. */
	snprintf(rw, sizeof(rw), "%s/rw", tmp_dir);
	cr_assert_eq(mkdir(rw, 0777), 0);
	cr_assert_eq(chmod(rw, 0777), 0);
	snprintf(rofile, sizeof(rofile), "%s/simrun.db", rw);
	snprintf(db_path, sizeof(db_path), "%s", rofile);
	s = open_ok(NULL);
	close_ok(s);
	cr_assert_eq(chmod(rofile, 0444), 0);

	struct ro_case cases[] = {
		{ fresh, "is not writable" },
		{ existing, "-wal" },
		{ rofile, "the file is not writable" },
	};
	run_ro_cases(cases, 3);
	/* Nothing was created in the read-only directory. */
	cr_expect_eq(access(fresh, F_OK), -1);
}
