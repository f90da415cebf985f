/*
 * support.c: see support.h.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include <cjson/cJSON.h>

#include "analysis/checkers.h"
#include "tests/support.h"

struct engine *test_engine(uint32_t cpus)
{
	struct engine_params p = { .cpus = cpus };
	struct engine *e = engine_create(&p);
	cr_assert(e != NULL, "engine_create failed");
	return e;
}

void test_engine_done(struct engine *e)
{
	engine_end(e);
	struct engine_live live = engine_live_counts(e);
	cr_expect_eq(live.tasks, 0, "tasks left: %u", live.tasks);
	cr_expect_eq(live.stacks, 0, "stacks left: %u", live.stacks);
	cr_expect_eq(live.events, 0, "events left: %u", live.events);
	cr_expect_eq(live.arena_bytes, 0, "arena bytes left: %zu",
		     live.arena_bytes);
	engine_destroy(e);
}

enum run_outcome test_run(struct engine *e, enum strategy_kind kind,
			  uint64_t seed, void (*build)(struct engine *e, void *arg),
			  void *arg)
{
	char err[256];
	struct strategy_params sp = { .kind = kind, .pct_depth = 3,
				      .preemptions_max = UINT32_MAX };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	cr_assert(s != NULL, "strategy_create: %s", err);
	engine_begin(e, seed);
	build(e, arg);
	strategy_begin(s, seed, 0);
	struct chooser ch = strategy_chooser(s);
	enum run_outcome o = engine_run(e, &ch);
	struct schedule_result r = { o, e->steps, e->decisions_count };
	strategy_end(s, &r);
	strategy_destroy(s);
	return o;
}

bool test_run_with(struct engine *e, struct strategy *s, uint64_t seed,
		   uint64_t index, void (*build)(struct engine *e, void *arg),
		   void *arg, enum run_outcome *outcome)
{
	engine_begin(e, seed);
	build(e, arg);
	strategy_begin(s, seed, index);
	struct chooser ch = strategy_chooser(s);
	enum run_outcome o = engine_run(e, &ch);
	struct schedule_result r = { o, e->steps, e->decisions_count };
	if (outcome)
		*outcome = o;
	return strategy_end(s, &r);
}

uint32_t test_findings_count(const struct engine *e, const char *kind)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < e->findings_count; i++)
		n += strcmp(e->findings[i].kind, kind) == 0;
	return n;
}

const struct finding *test_finding(const struct engine *e, const char *kind,
				   uint32_t n)
{
	for (uint32_t i = 0; i < e->findings_count; i++)
		if (strcmp(e->findings[i].kind, kind) == 0 && n-- == 0)
			return &e->findings[i];
	return NULL;
}

const char *test_simrun_path(void)
{
	return SIMRUN_BUILD_DIR "/simrun";
}

const char *test_source_dir(void)
{
	return SIMRUN_SOURCE_DIR;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	size_t got = fread(buf, 1, (size_t)n, f);
	buf[got] = '\0';
	fclose(f);
	return buf;
}

int test_sh(const char *cmd, char **out, char **err)
{
	char outp[] = "/tmp/simrun-test-out-XXXXXX";
	char errp[] = "/tmp/simrun-test-err-XXXXXX";
	int fo = mkstemp(outp), fe = mkstemp(errp);
	cr_assert(fo >= 0 && fe >= 0);
	close(fo);
	close(fe);
	size_t len = strlen(cmd) + 2 * sizeof(outp) + 32;
	char *full = malloc(len);
	snprintf(full, len, "(%s) >%s 2>%s", cmd, outp, errp);
	int st = system(full);
	free(full);
	if (out)
		*out = slurp(outp);
	/* A sanitizer report from the command (a sanitized simrun) would
	 * stay in its captured stderr: pass it on, where .ci/run looks for
	 * it, and fail the test. */
	char *e = slurp(errp);
	if (strstr(e, "ERROR: AddressSanitizer") ||
	    strstr(e, "ERROR: LeakSanitizer") || strstr(e, "runtime error:")) {
		fprintf(stderr, "%s", e);
		cr_expect_fail("sanitizer report from: %s", cmd);
	}
	if (err)
		*err = e;
	else
		free(e);
	unlink(outp);
	unlink(errp);
	if (st == -1)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int test_shf(char **out, char **err, const char *fmt, ...)
{
	va_list ap;
	char *cmd = NULL;

	va_start(ap, fmt);
	int n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0, "vasprintf failed");
	int rc = test_sh(cmd, out, err);
	free(cmd);
	return rc;
}

void test_tmpdir(char *buf, size_t len)
{
	cr_assert(len >= 32);
	snprintf(buf, len, "/tmp/simrun-test-XXXXXX");
	cr_assert(mkdtemp(buf) != NULL, "mkdtemp: %s", strerror(errno));
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void test_rmtree(const char *path)
{
	chmod(path, 0700);
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_write_file(const char *dir, const char *name,
			    const char *text)
{
	static char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	cr_assert(f != NULL, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
	return path;
}

char *test_read_file(const char *path)
{
	return slurp(path);
}

static sqlite3_stmt *sql_query(const char *db, const char *sql, sqlite3 **h)
{
	sqlite3_stmt *st = NULL;

	cr_assert_eq(sqlite3_open_v2(db, h, SQLITE_OPEN_READONLY, NULL),
		     SQLITE_OK, "%s: %s", db, sqlite3_errmsg(*h));
	sqlite3_busy_timeout(*h, 5000);
	cr_assert_eq(sqlite3_prepare_v2(*h, sql, -1, &st, NULL), SQLITE_OK,
		     "%s: %s", sql, sqlite3_errmsg(*h));
	int rc = sqlite3_step(st);
	cr_assert(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", sql,
		  sqlite3_errmsg(*h));
	return st;
}

int64_t test_sql_int(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = sql_query(db, sql, &h);
	int64_t v = sqlite3_data_count(st) ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

char *test_sql_text(const char *db, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = sql_query(db, sql, &h);
	const unsigned char *t = sqlite3_data_count(st)
					 ? sqlite3_column_text(st, 0)
					 : NULL;
	char *v = strdup(t ? (const char *)t : "");
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

struct engine *test_engine_checked(uint32_t cpus, struct checkers **ck)
{
	struct engine *e = test_engine(cpus);

	*ck = checkers_create(NULL);
	cr_assert_not_null(*ck);
	cr_assert(checkers_attach(*ck, e));
	return e;
}

void test_engine_checked_done(struct engine *e, struct checkers *ck)
{
	checkers_destroy(ck);
	test_engine_done(e);
}

const char *test_json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	cr_assert(cJSON_IsString(v), "%s is not a string", key);
	return v->valuestring;
}

double test_json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	cr_assert(cJSON_IsNumber(v), "%s is not a number", key);
	return v->valuedouble;
}
