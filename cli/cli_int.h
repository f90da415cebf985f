/*
 * cli_int.h: private to cli/.  What the subcommands share: exit codes,
 * option parsing, the campaign options, progress, interrupts and output
 * helpers.  Not an API: nothing outside cli/ includes it.
 */
#ifndef SIM_CLI_INT_H
#define SIM_CLI_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "analysis/runner.h"
#include "analysis/store.h"
#include "analysis/timeline.h"
#include "mm/scenario.h"
#include "schedulers/strategy.h"

/* Exit status, the same for every command (simrun(1), EXIT STATUS). */
enum exit_code {
	EXIT_CLEAN = 0,		/* no findings; replay identical; check and
				 * regress as expected */
	EXIT_FINDINGS = 1,	/* findings, or a mismatch */
	EXIT_USAGE = 2,		/* usage or input error */
	EXIT_INTERNAL = 3,	/* simrun's own failure */
	EXIT_SIGNAL_BASE = 128,	/* + the signal that interrupted it */
};

#define CLI_DEFAULT_DB "simrun.db"
#define CLI_DEFAULT_SEED 42
/* --jobs: worker processes on one machine.  Each maps its own engine
 * (stacks and arena, see `ulimit -v` in runner.c); 256 is more cores
 * than a machine simrun runs on has. */
#define CLI_JOBS_MAX 256u
/* --shard K/N and `simrun merge`: shards of one campaign.  A merge keeps
 * one open database and one read-ahead run per shard; 4096 machines is
 * beyond any cluster job array simrun is meant for. */
#define CLI_SHARDS_MAX 4096u
#define CLI_ERR_MAX 2048
/* A database path simrun derives from another (DB.jobK, a shard in a
 * temporary directory). */
#define CLI_PATH_MAX 1024

/* ------------------------------------------------------------ options */

/* One option a command accepts. */
struct opt_spec {
	const char *name;		/* "--seed" */
	const char *arg;		/* "N", or NULL for a flag */
};

/* The parser's result: for each spec, the value given (the last one when
 * repeated) or NULL; flags get "" when present. */
struct opt_values {
	const char *value[CLI_OPTIONS_MAX];
	const char *positional[CLI_ARGS_MAX];
	int positional_count;
};

/* Parse argv[first..argc) against specs (NULL-name ended).  Accepts
 * "--name value" and "--name=value"; "--" ends options.  On a usage error
 * prints "simrun COMMAND: ..." to stderr and returns false. */
bool opt_parse(const char *command, const struct opt_spec *specs, int argc,
	       char **argv, int first, struct opt_values *out);
/* The value of option `name` (NULL when absent). */
const char *opt_get(const struct opt_spec *specs,
		    const struct opt_values *v, const char *name);
bool opt_has(const struct opt_spec *specs, const struct opt_values *v,
	     const char *name);

/* Numbers as people type them: decimal, or hex with 0x.  No sign, no
 * octal, nothing after the digits. */
bool cli_parse_u64(const char *s, uint64_t *out);

/* Print "simrun COMMAND: message" to stderr. */
void cli_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* --------------------------------------------------- campaign options */

/* What the run, compare and check commands share. */
struct campaign_opts {
	const char *variant;
	bool has_seed;
	uint64_t seed;
	bool has_schedules;
	uint64_t schedules;
	bool has_strategy;
	enum strategy_kind strategy;
	bool has_pct_depth;
	uint32_t pct_depth;
	uint64_t pct_steps;		/* 0: measure */
	bool has_preemptions;
	uint32_t preemptions;		/* UINT32_MAX: none */
	const char *db;			/* NULL with --no-db */
	bool keep_decisions;
	bool stop_on_first;
	bool json;
	bool trace;
	uint32_t jobs;			/* --jobs: worker processes, 1.. */
	bool has_shard;			/* --shard K/N */
	uint32_t shard_index;
	uint32_t shard_count;
	uint32_t commit_every;		/* --commit-every: 0 for the default */
};

/* Read the campaign options out of parsed values; false (after printing)
 * on a bad value. */
bool campaign_opts_read(const char *command, const struct opt_spec *specs,
			const struct opt_values *v, struct campaign_opts *o);

/* The runner's parameters for scenario sc: the command line over the
 * scenario's explore section over the built-in defaults. */
void campaign_opts_apply(const struct campaign_opts *o,
			 const struct scenario *sc, struct runner_params *p);

/* ------------------------------------------------------- interrupts */

/* The signal (SIGINT, SIGTERM, SIGPIPE) that asked simrun to stop, or 0.  The first
 * one lets the schedule in progress finish and the campaign be recorded as
 * interrupted; a second one ends simrun at once. */
extern volatile sig_atomic_t cli_interrupted;
/* SIGINT and SIGTERM as said; SIGPIPE (the reader of stdout went away)
 * the same way, without ending simrun on the next one. */
void cli_catch_interrupts(void);
const char *cli_signal_name(int sig);

/* ---------------------------------------------------------- progress */

/* A progress bar on stderr, shown only when stderr is a terminal.  It is
 * the only reader of the wall clock in simrun; nothing it reads reaches a
 * run, the database or stdout. */
struct progress {
	bool on;
	char label[64];
	uint64_t total;
	uint64_t done;
	uint64_t problems;
	struct timespec start;
	struct timespec last;
	bool drawn;
};

/* on: the caller's decision (stderr a terminal, no trace on it). */
void progress_begin(struct progress *p, bool on, const char *label,
		    uint64_t total);
void progress_update(struct progress *p, uint64_t done, uint64_t problems);
/* Draw the final state and clear the line. */
void progress_end(struct progress *p);
/* True when a progress bar may be drawn: stderr is a terminal whose TERM
 * is not "dumb". */
bool progress_wanted(void);

/* ------------------------------------------------------------ output */

/* Append s to buf (of size len) quoted for a POSIX shell when it needs
 * quoting. */
void cli_shell_quote(char *buf, size_t len, const char *s);

/* A 64-bit unsigned as an exact JSON number (cJSON keeps doubles, which
 * would round seeds above 2^53). */
cJSON *cli_json_u64(uint64_t v);
/* 16 lowercase hex digits. */
cJSON *cli_json_hex16(uint64_t v);

/* Print cJSON object compactly on f with a newline; false on OOM. */
bool cli_json_print(FILE *f, const cJSON *obj);

/* The command that reproduces group g of a campaign: the replay command
 * when the campaign was recorded, else a campaign command that re-runs
 * just that schedule.  *exact says whether the re-run is the same run. */
void cli_reproduce_command(char *buf, size_t len, const char *db,
			   const char *scenario_path,
			   const struct runner_params *p,
			   const struct runner_result *res,
			   const struct runner_group *g);

/* Virtual time for people: "850ns", "12.3us", "4.56ms", "1.20s". */
void cli_fmt_ns(char *buf, size_t len, uint64_t ns);

/* The metrics of a campaign: as a JSON object ({"runs", "histograms":
 * {name: {unit, count, min, p50, p90, p99, max, mean}}, "counters":
 * {name: value}}, non-empty histograms and non-zero counters only), and
 * as lines for people. */
cJSON *cli_metrics_json(const struct metrics *m);
void cli_print_metrics(FILE *f, const struct metrics *m);
/* The p99 of every fault's latency, whatever its kind; false when no
 * fault was measured. */
bool cli_fault_p99(const struct metrics *m, uint64_t *p99_ns);

/* A scenario's `headline` names a metric simrun has; false with a message
 * naming the nearest known name otherwise (the loader cannot check it). */
bool cli_headline_valid(const struct scenario *sc, char *err, size_t len);
/* The headline figure of a campaign's metrics: "NAME p99 VALUE" for a
 * histogram, "NAME MEAN/run" for a counter, or every fault's p99 when the
 * scenario names none; "-" when there is nothing to show. */
void cli_headline_text(const struct scenario *sc, const struct metrics *m,
		       char *buf, size_t len);

/* Ask for a campaign in the run callback: progress, interrupts. */
struct run_progress {
	struct progress bar;
	uint64_t problems;
};
bool cli_after_run(void *ctx, const struct run_result *r,
		   const struct engine *e);

/* Run one campaign of a multi-campaign command (compare, check) with a
 * progress bar labelled `label` when stderr is a terminal.  Returns
 * res->rc. */
enum runner_rc cli_run_campaign(struct runner_params *p, const char *label,
				struct runner_result *res);

/* -------------------------------------------------------- subcommands */

int cmd_run(int argc, char **argv);
/* The campaign's usage, which `simrun --help` shows too. */
void cmd_run_usage(FILE *f);
int cmd_replay(int argc, char **argv);
int cmd_regress(int argc, char **argv);
int cmd_shrink(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* ------------------------------------------- show, export, report */

/* Re-execute recorded run run_id of st into a timeline (*out, free with
 * timeline_destroy), nothing marked yet; *info is the run as
 * loaded (free with store_run_info_free, also on failure).  Prints what
 * is wrong and returns the exit code: EXIT_CLEAN, EXIT_USAGE (no such
 * run, no decision log, a scenario this simrun cannot load) or
 * EXIT_INTERNAL. */
int cli_run_timeline(const char *command, struct store *st, const char *db,
		     int64_t run_id, struct store_run_info *info,
		     struct timeline **out);
/* The run, kind and signature of finding finding_id; EXIT_USAGE
 * (printed) when none. */
int cli_finding_run(const char *command, struct store *st, const char *db,
		    int64_t finding_id, int64_t *run_id, char *kind,
		    size_t kind_len, uint64_t *signature);
/* Mark the steps that make finding f in tl: a deadlock's tasks' last
 * blocking steps; a lock_order's two acquisitions; else the step that
 * reported it. */
void cli_mark_finding(struct timeline *tl, const struct store_finding *f);
/* A finding for people: lockdep's shape for deadlock and lock_order, the
 * detail otherwise; then the run and its replay command. */
void cli_print_finding(FILE *f, const struct store_finding *fd,
		       const struct store_run_info *info, const char *db);
/* A command's --run ID / --finding ID as a positive id; false after
 * printing when it is not one. */
bool cli_parse_id(const char *command, const char *option, const char *s,
		  int64_t *out);

int cmd_merge(int argc, char **argv);

/* --jobs N (jobs.c): campaign p as N worker processes, each shard K of N
 * into DB.jobK (a temporary directory without a database), merged into
 * db (NULL: none) by runner_merge.  Fills *res as runner_run does; a
 * worker that died: RUNNER_ERR_NOMEM (exit 3) with res->err naming it. */
enum runner_rc cli_run_jobs(const struct runner_params *p, const char *db,
			    const struct store_opts *so, uint32_t jobs,
			    struct runner_result *res);

/* Open the database for a command; prints the error and returns NULL on
 * failure (always an exit-2 condition: the user named the file). */
struct store *cli_store_open(const char *command, const char *path,
			     bool keep_decisions);
/* The same for a database that must exist already (replay, regress):
 * a missing file is an error, not a new empty database. */
struct store *cli_store_open_existing(const char *command, const char *path);
/* Close it; false (after printing what was lost) on failure. */
bool cli_store_close(const char *command, struct store *s);

/* A recorded run's findings grouped as runner_run_problems groups a live
 * run's, and whether two such sets hold the same (kind, signature)s, not
 * counting campaign-wide kinds (lock_order). */
uint32_t cli_recorded_problems(const struct store_run_info *info,
			       struct runner_group *g, uint32_t max);
bool cli_same_problems(const struct runner_group *a, uint32_t na,
		       const struct runner_group *b, uint32_t nb);
/* How many of them belong to the run (not runner_kind_is_campaign_wide):
 * the ones replay and regress compare. */
uint32_t cli_run_level(const struct runner_group *g, uint32_t n);

/* The exit code of a finished campaign: 0 clean, 1 problems, 2 store
 * errors, 3 simrun's own failures, 128+N interrupted. */
int cli_campaign_exit(const struct runner_result *res);

#endif /* SIM_CLI_INT_H */
