/*
 * cmd_export.c: `simrun export --db PATH --run ID --format perfetto -o
 * FILE`: a recorded run, re-executed, as Chrome trace-event JSON that
 * Perfetto's UI (ui.perfetto.dev) and chrome://tracing open.  Not the
 * recorder (analysis/timeline.c).
 *
 * Layout of the file ({"traceEvents": [...], "displayTimeUnit": "ns"};
 * ts and dur are microseconds, virtual ns / 1000, to the nanosecond):
 *  - one process per simulated CPU ("CPU n", pid n + 1); in it a thread
 *    "CPU n steps" with a complete slice (ph X) per step the CPU ran, and
 *    one thread per task lane ("reader/1", "reader/1 #2", ...) with its
 *    lock holds, lock waits and faults as complete slices.  A lane's
 *    slices nest (timeline.c deals them so).
 *  - a process "events" for steps that are events (I/O completions,
 *    timers), and one process per block device with each request as an
 *    async slice (ph b/e, cat "io") from submission to completion.
 *  - a flow arrow (ph s, then ph f with bp "e") from the step that woke a
 *    task to that task's next step.  Both ends carry the step slice's
 *    cat, pid, tid and start ts: Perfetto binds a flow end to the slice
 *    enclosing it, chrome://tracing and DevTools to the slice with equal
 *    cat, pid, tid and ts, and this satisfies both.
 *  - each finding as a global instant event (ph i, s "g").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "mm/blkdev.h"
#include "mm/locks.h"
#include "mm/vmstat.h"

static const struct opt_spec export_specs[] = {
	{ "--db", "PATH" },
	{ "--run", "ID" },
	{ "--format", "FORMAT" },
	{ "-o", "FILE" },
	{ "--help", NULL },
	{ NULL, NULL },
};

static void export_usage(FILE *f)
{
	fputs("usage: simrun export [--db PATH] --run ID [--format perfetto] [-o FILE]\n"
	      "\n"
	      "Re-executes run ID from the database and writes it as Chrome trace-event\n"
	      "JSON, which Perfetto's UI (https://ui.perfetto.dev, \"Open trace file\") and\n"
	      "chrome://tracing open: a process per simulated CPU with a track of its\n"
	      "steps and a track per task (more when its lock holds cross) holding its\n"
	      "lock holds, lock waits and faults; I/O requests as async slices on a track\n"
	      "per device; arrows from each wake-up to the task it woke; the run's\n"
	      "findings as instant events.  Times are virtual.\n"
	      "\n"
	      "  --db PATH         the database (default simrun.db); it must exist\n"
	      "  --run ID          the run (the id column of the run table)\n"
	      "  --format perfetto the only format (the default)\n"
	      "  -o FILE           where to write (default: standard output)\n"
	      "\n"
	      "Only runs whose decision log was kept can be exported.\n"
	      "\n"
	      "Exit status: 0 written, 2 usage or input error, 3 internal error.\n",
	      f);
}

/* Track ids. */
#define PID_EVENTS 900
#define PID_DEVICE_BASE 1000
static uint32_t cpu_pid(uint32_t cpu) { return cpu + 1; }
static uint32_t steps_tid(uint32_t cpu) { return (cpu + 1) * 100000u; }
static uint32_t lane_tid(const struct timeline *tl, uint16_t task, uint16_t lane)
{
	return steps_tid(tl->task_cpu[task]) + 1u + task * TIMELINE_LANES_MAX + lane;
}

struct out {
	FILE *f;
	bool first;
};

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

/* A time in microseconds, exact to the nanosecond. */
static void us(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%03" PRIu64, ns / 1000u, ns % 1000u);
}

static void ev_begin(struct out *o, const char *ph, const char *name,
		     uint32_t pid, uint32_t tid)
{
	fputs(o->first ? "\n" : ",\n", o->f);
	o->first = false;
	fprintf(o->f, "{\"ph\":\"%s\",\"name\":", ph);
	json_string(o->f, name);
	fprintf(o->f, ",\"pid\":%u,\"tid\":%u", pid, tid);
}

static void meta(struct out *o, const char *what, uint32_t pid, uint32_t tid,
		 const char *name)
{
	ev_begin(o, "M", what, pid, tid);
	fputs(",\"args\":{\"name\":", o->f);
	json_string(o->f, name);
	fputs("}}", o->f);
}

static void sort_meta(struct out *o, const char *what, uint32_t pid,
		      uint32_t tid, uint32_t index)
{
	ev_begin(o, "M", what, pid, tid);
	fprintf(o->f, ",\"args\":{\"sort_index\":%u}}", index);
}

static void complete(struct out *o, const char *name, const char *cat,
		     uint32_t pid, uint32_t tid, uint64_t start_ns,
		     uint64_t end_ns)
{
	ev_begin(o, "X", name, pid, tid);
	fprintf(o->f, ",\"cat\":\"%s\",\"ts\":", cat);
	us(o->f, start_ns);
	fputs(",\"dur\":", o->f);
	us(o->f, end_ns - start_ns);
}

static void write_metadata(struct out *o, const struct timeline *tl)
{
	char name[96];

	for (uint32_t c = 0; c < tl->cpus; c++) {
		snprintf(name, sizeof(name), "CPU %u", c);
		meta(o, "process_name", cpu_pid(c), 0, name);
		sort_meta(o, "process_sort_index", cpu_pid(c), 0, c);
		snprintf(name, sizeof(name), "CPU %u steps", c);
		meta(o, "thread_name", cpu_pid(c), steps_tid(c), name);
		sort_meta(o, "thread_sort_index", cpu_pid(c), steps_tid(c), 0);
	}
	for (uint16_t t = 0; t < tl->tasks_count; t++) {
		for (uint16_t l = 0; l < tl->task_lanes[t]; l++) {
			if (l == 0)
				snprintf(name, sizeof(name), "%s/%u", tl->task_names[t], t);
			else
				snprintf(name, sizeof(name), "%s/%u #%u", tl->task_names[t],
					 t, l + 1);
			uint32_t pid = cpu_pid(tl->task_cpu[t]), tid = lane_tid(tl, t, l);
			meta(o, "thread_name", pid, tid, name);
			sort_meta(o, "thread_sort_index", pid, tid, 1 + t * TIMELINE_LANES_MAX + l);
		}
	}
	meta(o, "process_name", PID_EVENTS, 0, "events (I/O completions, timers)");
	sort_meta(o, "process_sort_index", PID_EVENTS, 0, 1000);
	meta(o, "thread_name", PID_EVENTS, 1, "events");
	for (uint32_t d = 0; d < tl->devices_count; d++) {
		snprintf(name, sizeof(name), "device %s", tl->device_names[d]);
		meta(o, "process_name", PID_DEVICE_BASE + d, 0, name);
		sort_meta(o, "process_sort_index", PID_DEVICE_BASE + d, 0, 1001 + d);
		meta(o, "thread_name", PID_DEVICE_BASE + d, 1, tl->device_names[d]);
	}
}

static void step_track(const struct timeline *tl, const struct tl_step *s,
		       uint32_t *pid, uint32_t *tid)
{
	if (s->task == TRACE_NO_TASK) {
		*pid = PID_EVENTS;
		*tid = 1;
	} else {
		*pid = cpu_pid(s->cpu);
		*tid = steps_tid(s->cpu);
	}
	(void)tl;
}

static void write_steps(struct out *o, const struct timeline *tl)
{
	char name[96];

	for (uint64_t i = 0; i < tl->steps_count; i++) {
		const struct tl_step *s = &tl->steps[i];
		uint32_t pid, tid;
		step_track(tl, s, &pid, &tid);
		if (s->task == TRACE_NO_TASK)
			snprintf(name, sizeof(name), "%s", trace_kind_name(s->kind));
		else
			snprintf(name, sizeof(name), "%s/%u %s", tl->task_names[s->task],
				 s->task, trace_kind_name(s->kind));
		complete(o, name, "step", pid, tid, s->start_ns, s->end_ns);
		fprintf(o->f, ",\"args\":{\"step\":%" PRIu64 ",\"obj\":%u,\"marked\":%s}}",
			s->step, s->obj, s->marked ? "true" : "false");
	}
}

static void write_slices(struct out *o, const struct timeline *tl)
{
	char name[96];

	for (uint64_t i = 0; i < tl->slices_count; i++) {
		const struct tl_slice *s = &tl->slices[i];
		if (s->lane == UINT16_MAX)
			continue;
		const char *mode = s->mode == LOCK_READ ? "read" : "write";
		const char *cat = "fault";
		switch ((enum tl_slice_kind)s->kind) {
		case TL_SLICE_FAULT:
			snprintf(name, sizeof(name), "fault %s page %" PRIu64,
				 fault_kind_name((enum fault_kind)s->fault_kind), s->address);
			break;
		case TL_SLICE_HOLD:
			snprintf(name, sizeof(name), "%s (%s)", s->cls, mode);
			cat = "lock";
			break;
		case TL_SLICE_WAIT:
			snprintf(name, sizeof(name), "wait %s (%s)", s->cls, mode);
			cat = "lock_wait";
			break;
		}
		complete(o, name, cat, cpu_pid(tl->task_cpu[s->task]),
			 lane_tid(tl, s->task, s->lane), s->start_ns, s->end_ns);
		fputs(",\"args\":{", o->f);
		if (s->kind == TL_SLICE_FAULT) {
			fprintf(o->f, "\"attempts\":%u", s->attempts);
		} else {
			fprintf(o->f, "\"lock_id\":%u,\"where\":", s->lock_id);
			json_string(o->f, s->where ? s->where : "?");
		}
		fprintf(o->f, ",\"unfinished\":%s}}", s->unfinished ? "true" : "false");
	}
}

static void write_ios(struct out *o, const struct timeline *tl)
{
	char name[64];

	for (uint64_t i = 0; i < tl->ios_count; i++) {
		const struct tl_io *io = &tl->ios[i];
		snprintf(name, sizeof(name), "%s %u page%s",
			 io->op == REQ_OP_READ ? "read" : "write", io->nr_pages,
			 io->nr_pages == 1 ? "" : "s");
		uint32_t pid = PID_DEVICE_BASE + io->device;
		ev_begin(o, "b", name, pid, 1);
		fprintf(o->f, ",\"cat\":\"io\",\"id\":%" PRIu64 ",\"ts\":", i + 1);
		us(o->f, io->submit_ns);
		fprintf(o->f, ",\"args\":{\"seq\":%u,\"pgoff\":%" PRIu64 ",\"task\":",
			io->seq, io->pgoff);
		json_string(o->f, timeline_task_name(tl, io->task));
		fputs(",\"service_start_us\":", o->f);
		us(o->f, io->start_ns);
		fputs("}}", o->f);
		ev_begin(o, "e", name, pid, 1);
		fprintf(o->f, ",\"cat\":\"io\",\"id\":%" PRIu64 ",\"ts\":", i + 1);
		us(o->f, io->complete_ns);
		fputs("}", o->f);
	}
}

static void write_flows(struct out *o, const struct timeline *tl)
{
	uint64_t id = 0;

	for (uint64_t i = 0; i < tl->flows_count; i++) {
		const struct tl_flow *fl = &tl->flows[i];
		if (fl->to_step == UINT64_MAX || fl->from_step >= tl->steps_count)
			continue;
		const struct tl_step *a = &tl->steps[fl->from_step];
		const struct tl_step *b = &tl->steps[fl->to_step];
		uint32_t pid, tid;
		id++;
		step_track(tl, a, &pid, &tid);
		ev_begin(o, "s", "wake", pid, tid);
		fprintf(o->f, ",\"cat\":\"step\",\"id\":%" PRIu64 ",\"ts\":", id);
		us(o->f, a->start_ns);
		fputs("}", o->f);
		step_track(tl, b, &pid, &tid);
		ev_begin(o, "f", "wake", pid, tid);
		fprintf(o->f, ",\"cat\":\"step\",\"id\":%" PRIu64 ",\"bp\":\"e\",\"ts\":", id);
		us(o->f, b->start_ns);
		fputs("}", o->f);
	}
}

static void write_findings(struct out *o, const struct timeline *tl)
{
	char name[FINDING_SUMMARY_MAX + 32];

	for (uint32_t i = 0; i < tl->findings_count; i++) {
		const struct finding *f = &tl->findings[i];
		snprintf(name, sizeof(name), "%s", f->kind);
		ev_begin(o, "i", name, PID_EVENTS, 1);
		fputs(",\"s\":\"g\",\"cat\":\"finding\",\"ts\":", o->f);
		us(o->f, f->time_ns);
		fprintf(o->f, ",\"args\":{\"signature\":\"%016" PRIx64 "\",\"step\":%" PRIu64
			",\"summary\":", f->signature, f->step);
		json_string(o->f, f->summary);
		fputs("}}", o->f);
	}
}

int cmd_export(int argc, char **argv)
{
	struct opt_values v;
	struct store *st = NULL;
	struct store_run_info info;
	struct timeline *tl = NULL;
	FILE *f = NULL;
	int64_t run_id = 0;
	int code = EXIT_USAGE;

	memset(&info, 0, sizeof(info));
	if (!opt_parse("export", export_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(export_specs, &v, "--help")) {
		export_usage(stdout);
		return EXIT_CLEAN;
	}
	if (v.positional_count) {
		cli_error("export", "unexpected argument %s", v.positional[0]);
		return EXIT_USAGE;
	}
	const char *rid = opt_get(export_specs, &v, "--run");
	if (!rid) {
		cli_error("export", "which run? give --run ID (the id column of the run table)");
		return EXIT_USAGE;
	}
	if (!cli_parse_id("export", "--run", rid, &run_id))
		return EXIT_USAGE;
	const char *format = opt_get(export_specs, &v, "--format");
	if (format && strcmp(format, "perfetto") != 0) {
		cli_error("export", "--format %s: the only format is perfetto (Chrome trace-event JSON)",
			  format);
		return EXIT_USAGE;
	}
	const char *db = opt_get(export_specs, &v, "--db");
	if (!db)
		db = CLI_DEFAULT_DB;
	const char *path = opt_get(export_specs, &v, "-o");

	st = cli_store_open_existing("export", db);
	if (!st)
		return EXIT_USAGE;
	code = cli_run_timeline("export", st, db, run_id, &info, &tl);
	if (code != EXIT_CLEAN)
		goto out;
	for (uint32_t i = 0; i < info.findings_count; i++)
		cli_mark_finding(tl, &info.findings[i]);
	f = path && strcmp(path, "-") != 0 ? fopen(path, "w") : stdout;
	if (!f) {
		cli_error("export", "%s: cannot write: %s", path, strerror(errno));
		code = EXIT_USAGE;
		goto out;
	}
	struct out o = { .f = f, .first = true };
	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"simrun_run\":", f);
	fprintf(f, "%" PRId64 ",\"scenario\":", info.run_id);
	json_string(f, info.scenario_name);
	fputs(",\"variant\":", f);
	json_string(f, info.variant);
	fprintf(f, ",\"trace_hash\":\"%016" PRIx64 "\"},\"traceEvents\":[", tl->run.trace_hash);
	write_metadata(&o, tl);
	write_steps(&o, tl);
	write_slices(&o, tl);
	write_ios(&o, tl);
	write_flows(&o, tl);
	write_findings(&o, tl);
	fputs("\n]}\n", f);
	if (fflush(f) != 0 || ferror(f)) {
		cli_error("export", "%s: write failed: %s", path ? path : "stdout",
			  strerror(errno));
		code = EXIT_USAGE;
		goto out;
	}
	code = EXIT_CLEAN;
out:
	if (f && f != stdout && fclose(f) != 0 && code == EXIT_CLEAN) {
		cli_error("export", "%s: write failed: %s", path, strerror(errno));
		code = EXIT_USAGE;
	}
	timeline_destroy(tl);
	store_run_info_free(&info);
	if (st && !cli_store_close("export", st) && code < EXIT_USAGE)
		code = EXIT_USAGE;
	return code;
}
