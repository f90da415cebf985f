/*
 * cmd_show.c: `simrun show --db PATH (--finding ID | --run ID)`: a
 * recorded run's findings in lockdep's shape, then the run itself, re-
 * executed from the database, as ftrace prints a trace: per CPU, one line
 * per thing that happened (task, CPU, virtual time, step, event), the
 * steps that make the finding marked `>>`.  Not the replay check
 * (cmd_replay.c) and not the recorder (analysis/timeline.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"

static const struct opt_spec show_specs[] = {
	{ "--db", "PATH" },
	{ "--run", "ID" },
	{ "--finding", "ID" },
	{ "--help", NULL },
	{ NULL, NULL },
};

static void show_usage(FILE *f)
{
	fputs("usage: simrun show [--db PATH] (--finding ID | --run ID)\n"
	      "\n"
	      "Prints a recorded finding the way lockdep prints one (for a deadlock: each\n"
	      "task with the locks it holds and the lock it wants, the dependency chain,\n"
	      "the unsafe-locking-scenario table), then re-executes its run from the\n"
	      "database and prints the run's trace per CPU in ftrace's style:\n"
	      "\n"
	      "      reader/1       [001]  0.000002948   285: folio_lock(#12) waits (write) in lock_folio_maybe_drop_mmap\n"
	      "\n"
	      "task/id, CPU, virtual time in seconds, step, and what happened.  Lines of\n"
	      "the steps that make the finding start with `>>` (a deadlock: each task's\n"
	      "last blocking step; a lock-order cycle: the two acquisitions).  --run shows\n"
	      "every finding of the run and marks them all.\n"
	      "\n"
	      "  --db PATH      the database (default simrun.db); it must exist\n"
	      "  --finding ID   the finding (the id column of the finding table)\n"
	      "  --run ID       the run (the id column of the run table)\n"
	      "\n"
	      "Only runs whose decision log was kept can be shown: every run with a finding\n"
	      "or an outcome other than ok, and every run of a campaign run with\n"
	      "--keep-decisions.\n"
	      "\n"
	      "Exit status: 0 shown, 2 usage or input error (no such database, run or\n"
	      "finding; no decision log), 3 internal error.\n",
	      f);
}

static void print_line(const struct timeline *tl, const struct tl_step *s,
		       uint64_t time_ns, const char *text)
{
	char who[TASK_NAME_MAX + 8];

	if (s->task == TRACE_NO_TASK)
		snprintf(who, sizeof(who), "<event>");
	else
		snprintf(who, sizeof(who), "%s/%u", timeline_task_name(tl, s->task),
			 s->task);
	printf("%s %16s  ", s->marked ? ">>" : "  ", who);
	if (s->task == TRACE_NO_TASK)
		printf("[---]");
	else
		printf("[%03u]", s->cpu);
	printf("  %" PRIu64 ".%09" PRIu64 " %7" PRIu64 ": %s\n",
	       time_ns / 1000000000u, time_ns % 1000000000u, s->step, text);
}

/* Every line of step s: its notes, or what the step record says. */
static void print_step(const struct timeline *tl, const struct tl_step *s,
		       uint64_t note_first, uint64_t note_end)
{
	char text[256];

	if (note_first == note_end) {
		if (s->kind == TRACE_YIELD)
			snprintf(text, sizeof(text), "runs");
		else
			snprintf(text, sizeof(text), "%s(#%u)", trace_kind_name(s->kind),
				 s->obj);
		print_line(tl, s, s->end_ns, text);
		return;
	}
	for (uint64_t k = note_first; k < note_end; k++) {
		timeline_note_text(tl, &tl->notes[k], text, sizeof(text));
		print_line(tl, s, tl->notes[k].time_ns, text);
	}
}

static void print_trace(const struct timeline *tl)
{
	uint64_t *first = calloc(tl->steps_count + 1, sizeof(*first));
	uint64_t marked = 0;

	if (!first) {
		cli_error("show", "out of memory");
		return;
	}
	/* Notes come in step order: the notes of step i are
	 * [first[i], first[i + 1]). */
	uint64_t k = 0;
	for (uint64_t i = 0; i <= tl->steps_count; i++) {
		while (k < tl->notes_count && tl->notes[k].step < i)
			k++;
		first[i] = k;
	}
	for (uint64_t i = 0; i < tl->steps_count; i++)
		marked += tl->steps[i].marked;
	printf("\n# tracer: simrun, run replayed: %" PRIu64 " steps, %" PRIu64
	       " ns virtual, outcome %s%s\n",
	       tl->steps_count, tl->run.virtual_ns, run_outcome_name(tl->run.outcome),
	       tl->truncated ? " (record truncated)" : "");
	printf("# %" PRIu64 " step%s marked >> make the finding\n#\n", marked,
	       marked == 1 ? "" : "s");
	printf("#             TASK/ID   CPU   TIMESTAMP(s)   STEP  EVENT\n");
	for (uint32_t cpu = 0; cpu < tl->cpus; cpu++) {
		printf("\n# cpu %u\n", cpu);
		for (uint64_t i = 0; i < tl->steps_count; i++) {
			const struct tl_step *s = &tl->steps[i];
			if (s->task != TRACE_NO_TASK && s->cpu == cpu)
				print_step(tl, s, first[i], first[i + 1]);
		}
	}
	bool events = false;
	for (uint64_t i = 0; i < tl->steps_count; i++) {
		const struct tl_step *s = &tl->steps[i];
		if (s->task != TRACE_NO_TASK)
			continue;
		if (!events)
			printf("\n# events (I/O completions, timers: no CPU)\n");
		events = true;
		print_step(tl, s, first[i], first[i + 1]);
	}
	free(first);
}

int cmd_show(int argc, char **argv)
{
	struct opt_values v;
	struct store *st = NULL;
	struct store_run_info info;
	struct timeline *tl = NULL;
	int64_t run_id = 0, finding_id = 0;
	char kind[RUNNER_KIND_MAX] = "";
	uint64_t signature = 0;
	int code = EXIT_USAGE;

	memset(&info, 0, sizeof(info));
	if (!opt_parse("show", show_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(show_specs, &v, "--help")) {
		show_usage(stdout);
		return EXIT_CLEAN;
	}
	if (v.positional_count) {
		cli_error("show", "unexpected argument %s (give --finding ID or --run ID)",
			  v.positional[0]);
		return EXIT_USAGE;
	}
	const char *fid = opt_get(show_specs, &v, "--finding");
	const char *rid = opt_get(show_specs, &v, "--run");
	if (!fid == !rid) {
		cli_error("show", "give one of --finding ID or --run ID");
		return EXIT_USAGE;
	}
	if (fid && !cli_parse_id("show", "--finding", fid, &finding_id))
		return EXIT_USAGE;
	if (rid && !cli_parse_id("show", "--run", rid, &run_id))
		return EXIT_USAGE;
	const char *db = opt_get(show_specs, &v, "--db");
	if (!db)
		db = CLI_DEFAULT_DB;

	st = cli_store_open_existing("show", db);
	if (!st)
		return EXIT_USAGE;
	if (fid) {
		code = cli_finding_run("show", st, db, finding_id, &run_id, kind,
				       sizeof(kind), &signature);
		if (code != EXIT_CLEAN)
			goto out;
	}
	code = cli_run_timeline("show", st, db, run_id, &info, &tl);
	if (code != EXIT_CLEAN)
		goto out;
	printf("run %" PRId64 " (campaign %" PRId64 ", schedule %" PRIu64 ", %s, run seed %" PRIu64
	       "): scenario %s%s%s, outcome %s, %" PRIu64 " steps, trace %016" PRIx64 "\n",
	       info.run_id, info.campaign_id, info.idx, info.strategy, info.seed,
	       info.scenario_name, info.variant[0] ? ", variant " : "", info.variant,
	       run_outcome_name(info.outcome), info.steps, info.trace_hash);
	uint32_t shown = 0;
	for (uint32_t i = 0; i < info.findings_count; i++) {
		const struct store_finding *f = &info.findings[i];
		if (fid && (f->signature != signature || strcmp(f->kind, kind) != 0))
			continue;
		cli_mark_finding(tl, f);
		fputc('\n', stdout);
		cli_print_finding(stdout, f, &info, db);
		shown++;
	}
	if (!shown)
		printf("\nno findings recorded for this run (outcome %s)\n",
		       run_outcome_name(info.outcome));
	print_trace(tl);
	code = EXIT_CLEAN;
out:
	fflush(stdout);
	timeline_destroy(tl);
	store_run_info_free(&info);
	if (st && !cli_store_close("show", st) && code < EXIT_USAGE)
		code = EXIT_USAGE;
	return code;
}
