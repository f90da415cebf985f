/*
 * support.h: helpers shared by the Criterion tests: an engine with a chosen
 * strategy, a one-call "run this world", and the path of the built binary.
 * Not a test framework: each test file still says what it checks.
 */
#ifndef SIM_TEST_SUPPORT_H
#define SIM_TEST_SUPPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "schedulers/strategy.h"

struct engine *test_engine(uint32_t cpus);
void test_engine_done(struct engine *e);

/* Run the world built by build(e, arg) once with the given strategy and
 * run seed; returns the outcome.  The engine is left after the run (not
 * ended) so the caller can inspect it; call engine_end() after. */
enum run_outcome test_run(struct engine *e, enum strategy_kind kind,
			  uint64_t seed, void (*build)(struct engine *e, void *arg),
			  void *arg);

/* Run one schedule of the world built by build(e, arg) with an existing
 * strategy: engine_begin, build, strategy_begin(s, seed, index), engine_run,
 * strategy_end.  Stores the outcome in *outcome (when not NULL) and returns
 * what strategy_end returned (more schedules to explore).  The engine is
 * left after the run, as with test_run. */
bool test_run_with(struct engine *e, struct strategy *s, uint64_t seed,
		   uint64_t index, void (*build)(struct engine *e, void *arg),
		   void *arg, enum run_outcome *outcome);

/* The findings of the run the engine holds: how many of `kind`, and the
 * n-th of them (NULL when there are not that many). */
uint32_t test_findings_count(const struct engine *e, const char *kind);
const struct finding *test_finding(const struct engine *e, const char *kind,
				   uint32_t n);

/* Path of the built simrun binary and of the source tree. */
const char *test_simrun_path(void);
const char *test_source_dir(void);

/* Run a shell command, capturing stdout and stderr into malloc'd strings
 * (NULL when not wanted); returns its exit status (or 128+signal). */
int test_sh(const char *cmd, char **out, char **err);

/* test_sh with a formatted command. */
int test_shf(char **out, char **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A fresh directory under /tmp (mkdtemp) into buf, and its removal with
 * everything in it. */
void test_tmpdir(char *buf, size_t len);
void test_rmtree(const char *path);

/* A suite's fixture for command-line tests that write a database: defines
 * `static char dir[], db[]` and the functions INIT (a fresh temporary
 * directory in dir, db = dir/simrun.db) and FINI (the directory removed),
 * for TestSuite(name, .init = INIT, .fini = FINI). */
#define TEST_DB_FIXTURE(INIT, FINI)                                          \
	static char dir[64], db[128];                                        \
	static void INIT(void)                                               \
	{                                                                    \
		test_tmpdir(dir, sizeof(dir));                               \
		snprintf(db, sizeof(db), "%s/simrun.db", dir);               \
	}                                                                    \
	static void FINI(void)                                               \
	{                                                                    \
		test_rmtree(dir);                                            \
	}

/* Write text to dir/name (fails the test on error); returns the path in a
 * static buffer valid until the next call. */
const char *test_write_file(const char *dir, const char *name,
			    const char *text);
/* The whole file as a malloc'd string ("" when it cannot be read). */
char *test_read_file(const char *path);

/* One value from a SQLite database (opened read-only for the query):
 * the first column of the first row, as an integer or as malloc'd text
 * ("" for NULL or no row).  Fails the test when the query fails. */
int64_t test_sql_int(const char *db, const char *sql);
char *test_sql_text(const char *db, const char *sql);

struct checkers;
typedef struct cJSON cJSON;

/* An engine with every checker attached (*ck receives them), and its
 * teardown, which also checks that nothing was left live. */
struct engine *test_engine_checked(uint32_t cpus, struct checkers **ck);
void test_engine_checked_done(struct engine *e, struct checkers *ck);

/* A member of a JSON object, asserting that it is there and of its type. */
const char *test_json_str(const cJSON *o, const char *key);
double test_json_num(const cJSON *o, const char *key);

#endif /* SIM_TEST_SUPPORT_H */
