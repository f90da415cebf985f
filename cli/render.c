/*
 * render.c: what `simrun show`, `export` and `report` share: a recorded
 * run re-executed into a timeline (analysis/timeline.h) with the steps of
 * its findings marked, and a finding printed the way kernel developers
 * read lockdep: the warning, each task with the locks it holds and the
 * lock it wants, the chain, the unsafe-scenario table, then the command
 * that replays the run.  Not a command's own layout (cmd_show.c,
 * cmd_export.c, cmd_report.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"

/* ------------------------------------------------------ the timeline */

int cli_run_timeline(const char *command, struct store *st, const char *db,
		     int64_t run_id, struct store_run_info *info,
		     struct timeline **out)
{
	struct scenario *sc = NULL;
	struct runner_replay_result *rr = NULL;
	struct timeline *tl = NULL;
	char err[CLI_ERR_MAX], origin[128];
	int code = EXIT_USAGE;

	*out = NULL;
	memset(info, 0, sizeof(*info));
	enum store_rc src = store_load_run(st, run_id, info);
	if (src == STORE_ERR_NOT_FOUND) {
		cli_error(command, "%s: no run %" PRId64 " (SELECT id FROM run lists them)",
			  db, run_id);
		return EXIT_USAGE;
	}
	if (src != STORE_OK) {
		cli_error(command, "%s", store_error(st));
		return EXIT_USAGE;
	}
	if (!info->has_decisions) {
		cli_error(command, "%s: run %" PRId64 " has no decision log, so it cannot be "
			  "re-executed: only runs with a finding or an outcome other than ok "
			  "keep theirs, unless the campaign ran with --keep-decisions",
			  db, run_id);
		return EXIT_USAGE;
	}
	snprintf(origin, sizeof(origin), "%s run %" PRId64 " (scenario as recorded)",
		 db, run_id);
	sc = scenario_load_text(info->scenario_json, info->scenario_json_len,
				origin, info->variant, err, sizeof(err));
	if (!sc) {
		cli_error(command, "this simrun cannot load the recorded scenario (recorded by simrun %s): %s",
			  info->simrun_version, err);
		return EXIT_USAGE;
	}
	rr = calloc(1, sizeof(*rr));
	tl = timeline_create();
	if (!rr || !tl) {
		cli_error(command, "out of memory");
		code = EXIT_INTERNAL;
		goto out;
	}
	struct runner_observer obs = timeline_observer(tl);
	if (runner_replay_observed(sc, info->seed, info->decisions,
				   info->decisions_len, REPLAY_EXACT, NULL, &obs,
				   rr) != RUNNER_OK) {
		cli_error(command, "%s", rr->err);
		code = rr->rc == RUNNER_ERR_NOMEM ? EXIT_INTERNAL : EXIT_USAGE;
		goto out;
	}
	if (tl->nomem) {
		cli_error(command, "out of memory recording run %" PRId64, run_id);
		code = EXIT_INTERNAL;
		goto out;
	}
	if (rr->run.trace_hash != info->trace_hash || rr->diverged)
		cli_error(command, "warning: run %" PRId64 " did not replay identically "
			  "(trace %016" PRIx64 " recorded, %016" PRIx64 " now); what is "
			  "shown is the run as this simrun executes it",
			  run_id, info->trace_hash, rr->run.trace_hash);
	*out = tl;
	tl = NULL;
	code = EXIT_CLEAN;
out:
	timeline_destroy(tl);
	free(rr);
	scenario_free(sc);
	return code;
}

struct finding_key {
	int64_t run_id;
	char kind[RUNNER_KIND_MAX];
	uint64_t signature;
};

static bool finding_row(void *ctx, int ncol, const char *const *v)
{
	struct finding_key *k = ctx;

	SIM_ASSERT(ncol == 3);
	if (v[0] && v[1] && v[2]) {
		k->run_id = strtoll(v[0], NULL, 10);
		snprintf(k->kind, sizeof(k->kind), "%s", v[1]);
		k->signature = strtoull(v[2], NULL, 16);
	}
	return false;
}

int cli_finding_run(const char *command, struct store *st, const char *db,
		    int64_t finding_id, int64_t *run_id, char *kind,
		    size_t kind_len, uint64_t *signature)
{
	struct finding_key k = { 0 };

	*run_id = 0;
	if (store_query(st, "SELECT run_id, kind, signature FROM finding WHERE id = ?1",
			&finding_id, 1, finding_row, &k) != STORE_OK) {
		cli_error(command, "%s", store_error(st));
		return EXIT_USAGE;
	}
	*run_id = k.run_id;
	snprintf(kind, kind_len, "%s", k.kind);
	*signature = k.signature;
	if (*run_id <= 0) {
		cli_error(command, "%s: no finding %" PRId64 " (SELECT id, kind, summary FROM finding lists them)",
			  db, finding_id);
		return EXIT_USAGE;
	}
	return EXIT_CLEAN;
}

static int64_t json_int(const cJSON *o, const char *key, int64_t def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void cli_mark_finding(struct timeline *tl, const struct store_finding *f)
{
	cJSON *d = f->detail_json ? cJSON_Parse(f->detail_json) : NULL;

	if (strcmp(f->kind, "deadlock") == 0 && d) {
		/* The steps in which the tasks of the cycle (or the stuck
		 * tasks) blocked for the last time. */
		const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(d, "cycle");
		if (!cJSON_IsArray(tasks))
			tasks = cJSON_GetObjectItemCaseSensitive(d, "stuck");
		const cJSON *t;
		cJSON_ArrayForEach(t, tasks) {
			int64_t id = json_int(t, "task_id", -1);
			if (id >= 0 && id < TRACE_NO_TASK)
				timeline_mark(tl, timeline_last_step(tl, (uint16_t)id));
		}
	} else if (strcmp(f->kind, "lock_order") == 0 && d) {
		/* The step that took (or began waiting for) the new lock, and
		 * the one that took the lock it was taken under. */
		int64_t id = json_int(d, "task_id", -1);
		const cJSON *acq = cJSON_GetObjectItemCaseSensitive(d, "acquiring");
		const cJSON *hold = cJSON_GetObjectItemCaseSensitive(d, "holding");
		if (id >= 0 && id < TRACE_NO_TASK && acq && hold) {
			uint64_t at = timeline_find_note(
				tl, (uint16_t)id,
				(1u << TL_ACQUIRED) | (1u << TL_WAIT),
				json_str(acq, "lock"), json_str(acq, "where"), f->step);
			timeline_mark(tl, at);
			if (at != UINT64_MAX)
				timeline_mark(tl, timeline_find_note(
					tl, (uint16_t)id, 1u << TL_ACQUIRED,
					json_str(hold, "lock"), json_str(hold, "where"),
					at));
		}
	}
	/* Whatever the kind, the step that reported it. */
	bool by_cycle = strcmp(f->kind, "deadlock") == 0 && d;
	if (!by_cycle && tl->steps_count)
		timeline_mark(tl, f->step < tl->steps_count ? f->step
							    : tl->steps_count - 1);
	cJSON_Delete(d);
}

/* ---------------------------------------------- lockdep-shaped reports */

/* One task of a deadlock cycle as the detail JSON has it. */
struct splat_task {
	const char *name;
	int64_t id;
	int64_t cpu;
	const cJSON *waits;		/* {lock, lock_id, op, mode, where, since_ns} */
	const char *waits_for;
	int64_t waits_for_id;
	bool behind_writer;
	const cJSON *holds;		/* [{lock, lock_id, mode, where, since_ns}] */
};

#define SPLAT_TASKS_MAX 16

static const char *lock_verb(const char *mode)
{
	return mode && strcmp(mode, "read") == 0 ? "rlock" : "lock";
}

/* The held entry of lock_id in t's list, or NULL. */
static const cJSON *held_of(const struct splat_task *t, int64_t lock_id)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, t->holds)
		if (json_int(h, "lock_id", -2) == lock_id)
			return h;
	return NULL;
}

static void held_list(FILE *f, const struct splat_task *t)
{
	int n = cJSON_GetArraySize(t->holds);
	int k = 0;
	const cJSON *h;

	fprintf(f, "%d lock%s held by %s/%" PRId64 ":\n", n, n == 1 ? "" : "s",
		t->name, t->id);
	cJSON_ArrayForEach(h, t->holds) {
		bool try = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "trylock"));
		fprintf(f, " #%d: (%s)#%" PRId64 " {%s%s}, at: %s\n", k++,
			json_str(h, "lock"), json_int(h, "lock_id", 0),
			json_str(h, "mode"), try ? ", trylock" : "",
			json_str(h, "where"));
	}
}

/* One row of the unsafe-scenario table: what a task did, and when. */
struct splat_row {
	uint64_t since_ns;
	uint32_t column;
	char text[96];
};

static int row_cmp(const void *a, const void *b)
{
	const struct splat_row *x = a, *y = b;

	if (x->since_ns != y->since_ns)
		return x->since_ns < y->since_ns ? -1 : 1;
	return x->column < y->column ? -1 : x->column > y->column;
}

/*
 * A deadlock that happened, in print_circular_bug's shape.  Each task of
 * the cycle waits for the next; the table has one column per task (two
 * for the classic AB-BA), and its rows are the acquisitions that close the
 * cycle in the order of virtual time: each task taking the lock the
 * previous one waits for, then each one trying for the lock it waits on.
 */
static bool print_deadlock(FILE *f, const cJSON *d)
{
	struct splat_task t[SPLAT_TASKS_MAX];
	struct splat_row rows[2 * SPLAT_TASKS_MAX];
	const cJSON *cycle = cJSON_GetObjectItemCaseSensitive(d, "cycle");
	const cJSON *c;
	uint32_t n = 0;

	if (!cJSON_IsArray(cycle))
		return false;
	cJSON_ArrayForEach(c, cycle) {
		if (n == SPLAT_TASKS_MAX)
			return false;
		const char *because = json_str(c, "because");
		t[n] = (struct splat_task){
			.name = json_str(c, "task"),
			.id = json_int(c, "task_id", -1),
			.cpu = json_int(c, "cpu", -1),
			.waits = cJSON_GetObjectItemCaseSensitive(c, "waits"),
			.waits_for = json_str(c, "waits_for"),
			.waits_for_id = json_int(c, "waits_for_id", -1),
			.behind_writer = because && strstr(because, "queued") != NULL,
			.holds = cJSON_GetObjectItemCaseSensitive(c, "holds"),
		};
		if (!t[n].name || !cJSON_IsObject(t[n].waits) ||
		    !cJSON_IsArray(t[n].holds) || !json_str(t[n].waits, "lock"))
			return false;
		n++;
	}
	if (n == 0)
		return false;

	fputs("\n======================================================\n", f);
	fprintf(f, "WARNING: circular locking deadlock: %u task%s blocked in a cycle\n",
		n, n == 1 ? "" : "s");
	fputs("------------------------------------------------------\n", f);
	for (uint32_t i = 0; i < n; i++) {
		const struct splat_task *x = &t[i];
		fprintf(f, "%s/%" PRId64 " (CPU%" PRId64 ") is trying to acquire lock:\n",
			x->name, x->id, x->cpu);
		fprintf(f, " (%s)#%" PRId64 " {%s}, at: %s [%s]\n",
			json_str(x->waits, "lock"), json_int(x->waits, "lock_id", 0),
			json_str(x->waits, "mode"), json_str(x->waits, "where"),
			json_str(x->waits, "op"));
		if (x->behind_writer)
			fprintf(f, "behind %s/%" PRId64 ", a writer queued ahead of it "
				"(a fair rw_semaphore makes new readers wait for it)\n",
				x->waits_for, x->waits_for_id);
		else if (x->waits_for_id == x->id)
			fprintf(f, "which it holds itself\n");
		else
			fprintf(f, "held by %s/%" PRId64 "\n", x->waits_for,
				x->waits_for_id);
		fputs("\nbut task is already holding:\n", f);
		held_list(f, x);
		fputc('\n', f);
	}

	fputs("\nthe existing dependency chain (in reverse order) is:\n", f);
	for (uint32_t j = n; j-- > 0;) {
		const struct splat_task *x = &t[j];
		const struct splat_task *next = &t[(j + 1) % n];
		fprintf(f, "\n-> #%u (%s)#%" PRId64 ":\n", j,
			json_str(x->waits, "lock"), json_int(x->waits, "lock_id", 0));
		fprintf(f, "       %s in %s by %s/%" PRId64 ", %s %s/%" PRId64 "\n",
			json_str(x->waits, "op"), json_str(x->waits, "where"), x->name,
			x->id, x->behind_writer ? "queued behind the writer" : "held by",
			next->name, next->id);
	}

	fputs("\nother info that might help us debug this:\n\n", f);
	if (n > 2) {
		fputs("Chain exists of:\n  ", f);
		for (uint32_t i = 0; i < n; i++)
			fprintf(f, "%s%s", i ? " --> " : "", json_str(t[i].waits, "lock"));
		fprintf(f, " --> %s\n\n", json_str(t[0].waits, "lock"));
	}

	/* The table's rows: holds that the previous task waits on, and
	 * every wait. */
	uint32_t nr = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct splat_task *prev = &t[(i + n - 1) % n];
		const cJSON *h = held_of(&t[i], json_int(prev->waits, "lock_id", -2));
		if (h && !(prev->behind_writer && prev->waits_for_id == t[i].id)) {
			rows[nr].since_ns = (uint64_t)json_int(h, "since_ns", 0);
			rows[nr].column = i;
			snprintf(rows[nr].text, sizeof(rows[nr].text), "%s(%s);",
				 lock_verb(json_str(h, "mode")), json_str(h, "lock"));
			nr++;
		}
		rows[nr].since_ns = (uint64_t)json_int(t[i].waits, "since_ns", 0);
		rows[nr].column = i;
		snprintf(rows[nr].text, sizeof(rows[nr].text), "%s(%s);",
			 lock_verb(json_str(t[i].waits, "mode")),
			 json_str(t[i].waits, "lock"));
		nr++;
	}
	qsort(rows, nr, sizeof(rows[0]), row_cmp);
	fputs(" Possible unsafe locking scenario:\n\n", f);
	fputs("      ", f);
	for (uint32_t i = 0; i < n; i++) {
		char head[32];
		snprintf(head, sizeof(head), "CPU%" PRId64, t[i].cpu);
		fprintf(f, " %-*s", i + 1 < n ? 23 : 0, head);
	}
	fputs("\n      ", f);
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, " %-*s", i + 1 < n ? 23 : 0, "----");
	fputc('\n', f);
	/* lockdep's layout: the first column's rows at 2, the others under
	 * their heading, 24 apart. */
	for (uint32_t r = 0; r < nr; r++)
		fprintf(f, "%*s%s\n", rows[r].column ? (int)(7 + 24 * rows[r].column) : 2,
			"", rows[r].text);
	fputs("\n *** DEADLOCK ***\n\n", f);
	fputs("task names: ", f);
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, "%sCPU%" PRId64 " %s/%" PRId64, i ? ", " : "", t[i].cpu,
			t[i].name, t[i].id);
	fputs("\n", f);
	return true;
}

void cli_print_finding(FILE *f, const struct store_finding *fd,
		       const struct store_run_info *info, const char *db)
{
	cJSON *d = fd->detail_json ? cJSON_Parse(fd->detail_json) : NULL;
	bool shaped = false;

	fprintf(f, "%s %016" PRIx64 ": %s\n", fd->kind, fd->signature, fd->summary);
	if (d && strcmp(fd->kind, "deadlock") == 0) {
		shaped = print_deadlock(f, d);
	} else if (d && strcmp(fd->kind, "lock_order") == 0) {
		const char *report = json_str(d, "report");
		if (report) {
			fputs(report, f);
			shaped = true;
		}
	}
	if (!shaped && d) {
		char *text = cJSON_Print(d);
		if (text)
			fprintf(f, "%s\n", text);
		cJSON_free(text);
	}
	cJSON_Delete(d);
	fprintf(f, "\nfound in run %" PRId64 " (campaign %" PRId64 ", schedule %" PRIu64
		", step %" PRIu64 ") of scenario %s%s%s\n",
		info->run_id, info->campaign_id, info->idx, fd->step,
		info->scenario_name, info->variant[0] ? ", variant " : "",
		info->variant);
	char cmd[512] = "";
	cli_shell_quote(cmd, sizeof(cmd), db);
	fprintf(f, "replay: simrun replay --db %s --run %" PRId64 "\n", cmd,
		info->run_id);
}

bool cli_parse_id(const char *command, const char *option, const char *s,
		  int64_t *out)
{
	uint64_t v;

	if (!cli_parse_u64(s, &v) || v < 1 || v > INT64_MAX) {
		cli_error(command, "%s %s: expected an id, a whole number from 1",
			  option, s);
		return false;
	}
	*out = (int64_t)v;
	return true;
}
