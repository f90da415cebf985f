/*
 * cmd_report.c: `simrun report --db PATH [-o report.html]`: one
 * self-contained HTML page of what a database holds: its campaigns, their
 * findings grouped by signature with the command that replays each, the
 * metrics' histograms as inline SVG (a scenario's campaigns side by side,
 * on one scale, so variants compare at a glance), the VMA-lock and SPF
 * counters, and the first finding in lockdep's shape with its run drawn
 * per CPU.  Nothing is fetched from the network and no script is needed to
 * read it; the one inline script only checks, for the test and for anyone
 * curious, that every plot has a size on screen.  Every text that comes
 * from the database is escaped.  Not the recorder (analysis/timeline.c)
 * nor the lockdep text (render.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/histogram.h"
#include "cli/cli_int.h"

static const struct opt_spec report_specs[] = {
	{ "--db", "PATH" },
	{ "-o", "FILE" },
	{ "--help", NULL },
	{ NULL, NULL },
};

static void report_usage(FILE *f)
{
	fputs("usage: simrun report [--db PATH] [-o FILE]\n"
	      "\n"
	      "Writes one self-contained HTML page (no network, no external scripts) about\n"
	      "everything the database holds: each campaign (scenario, variant, strategy,\n"
	      "seed, schedules), its findings grouped by signature with counts and the\n"
	      "command that replays each, the histograms of every latency metric as\n"
	      "inline SVG (campaigns of one scenario side by side, as `simrun compare`\n"
	      "records them), the VMA-lock and SPF counters, and the first finding in\n"
	      "lockdep's shape with its run drawn per CPU (re-executed from its decision\n"
	      "log).\n"
	      "\n"
	      "  --db PATH   the database (default simrun.db); it must exist\n"
	      "  -o FILE     where to write (default report.html; - for standard output)\n"
	      "\n"
	      "Exit status: 0 written, 2 usage or input error, 3 internal error.\n",
	      f);
}

/* ------------------------------------------------------------- escaping */

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

/* ------------------------------------------------------------ the data */

struct rcampaign {
	int64_t id;
	char *scenario;
	char *variant;
	char *strategy;
	char *base_seed;
	char *schedules;
	char *status;
	char *started_at;
	uint64_t runs;
	struct hist *hists;		/* METRIC_HISTS_COUNT of them */
	uint64_t counters[METRIC_COUNTERS_COUNT];
};

struct rdata {
	struct store *st;
	uint32_t count;
	bool too_many;
	bool nomem;
	struct rcampaign c[REPORT_CAMPAIGNS_MAX];
};

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static bool campaign_row(void *ctx, int ncol, const char *const *v)
{
	struct rdata *d = ctx;

	SIM_ASSERT(ncol == 9);
	if (d->count == REPORT_CAMPAIGNS_MAX) {
		d->too_many = true;
		return false;
	}
	struct rcampaign *c = &d->c[d->count];
	memset(c, 0, sizeof(*c));
	c->id = strtoll(v[0], NULL, 10);
	c->scenario = dup_or_empty(v[1]);
	c->variant = dup_or_empty(v[2]);
	c->strategy = dup_or_empty(v[3]);
	c->base_seed = dup_or_empty(v[4]);
	c->schedules = dup_or_empty(v[5]);
	c->status = dup_or_empty(v[6]);
	c->started_at = dup_or_empty(v[7]);
	c->runs = v[8] ? strtoull(v[8], NULL, 10) : 0;
	c->hists = calloc(METRIC_HISTS_COUNT, sizeof(*c->hists));
	d->count++;
	if (!c->scenario || !c->variant || !c->strategy || !c->base_seed ||
	    !c->schedules || !c->status || !c->started_at || !c->hists) {
		d->nomem = true;
		return false;
	}
	for (uint32_t i = 0; i < METRIC_HISTS_COUNT; i++)
		hist_reset(&c->hists[i]);
	return true;
}

static bool metric_row(void *ctx, int ncol, const char *const *v)
{
	struct rcampaign *c = ctx;
	bool counter;
	uint32_t index;

	SIM_ASSERT(ncol == 3);
	if (!v[0] || !v[2] || !metrics_lookup(v[0], &counter, &index))
		return true;	/* a metric this simrun does not know */
	uint64_t count = strtoull(v[2], NULL, 10);
	if (counter) {
		if (!v[1])
			c->counters[index] += count;
		return true;
	}
	if (!v[1])
		return true;
	struct hist *h = &c->hists[index];
	uint64_t lower = strtoull(v[1], NULL, 10);
	uint32_t b = hist_bucket_of(lower);
	if (!h->count || b < h->lo)
		h->lo = (uint16_t)b;
	if (!h->count || b > h->hi)
		h->hi = (uint16_t)b;
	if (!h->count || lower < h->min)
		h->min = lower;
	if (hist_bucket_upper(b) > h->max)
		h->max = hist_bucket_upper(b);
	h->buckets[b] += count;
	h->count += count;
	return true;
}

static void rdata_free(struct rdata *d)
{
	for (uint32_t i = 0; i < d->count; i++) {
		struct rcampaign *c = &d->c[i];
		free(c->scenario);
		free(c->variant);
		free(c->strategy);
		free(c->base_seed);
		free(c->schedules);
		free(c->status);
		free(c->started_at);
		free(c->hists);
	}
	d->count = 0;
}

static bool rdata_load(struct rdata *d)
{
	if (store_query(d->st,
			"SELECT id, scenario_name, variant, strategy, base_seed, schedules, "
			"status, started_at, (SELECT count(*) FROM run r WHERE r.campaign_id = c.id) "
			"FROM campaign c ORDER BY id",
			NULL, 0, campaign_row, d) != STORE_OK)
		return false;
	for (uint32_t i = 0; i < d->count && !d->nomem; i++)
		if (store_query(d->st,
				"SELECT name, bucket, count FROM metric WHERE campaign_id = ?1 "
				"ORDER BY name, bucket",
				&d->c[i].id, 1, metric_row, &d->c[i]) != STORE_OK)
			return false;
	return true;
}

/* --------------------------------------------------------------- pieces */

static const char style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}"
	"h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}"
	"h3{font-size:15px}table{border-collapse:collapse;margin:8px 0}"
	"td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}"
	"th{background:#f2f2f2}code,pre{font:12px/1.3 monospace}"
	"pre{background:#f7f7f7;padding:8px;overflow-x:auto}"
	".row{display:flex;flex-wrap:wrap;gap:16px;margin:8px 0 20px}"
	"figure{margin:0}figcaption{font-size:12px;color:#555}"
	".num{text-align:right}";

static void fmt_ns(char *buf, size_t len, uint64_t v, bool ns)
{
	if (ns)
		cli_fmt_ns(buf, len, v);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

/* The nearest-rank quantile, as the bucket's midpoint. */
static uint64_t bucket_quantile(const struct hist *h, uint32_t permille)
{
	uint64_t rank = (h->count * permille + 999) / 1000, seen = 0;

	if (rank == 0)
		rank = 1;
	for (uint32_t b = h->lo; b <= h->hi; b++) {
		seen += h->buckets[b];
		if (seen >= rank)
			return hist_bucket_lower(b) +
			       (hist_bucket_upper(b) - hist_bucket_lower(b)) / 2;
	}
	return h->max;
}

#define PLOT_W 380
#define PLOT_H 180
#define PLOT_L 40
#define PLOT_B 30

/* One histogram as an SVG bar chart over buckets [lo, hi] (log-scaled
 * values: bucket i sits at x of i). */
static void svg_hist(FILE *f, const struct hist *h, uint32_t lo, uint32_t hi,
		     uint64_t ymax, bool ns, const char *label)
{
	uint32_t n = hi - lo + 1;
	double bw = (double)(PLOT_W - PLOT_L - 10) / n;
	double ph = PLOT_H - PLOT_B - 10;
	char a[32], b[32], m[32];

	fprintf(f, "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" role=\"img\"><title>", PLOT_W, PLOT_H, PLOT_W, PLOT_H);
	esc(f, label);
	fputs("</title>", f);
	fprintf(f, "<rect x=\"%d\" y=\"10\" width=\"%d\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
		PLOT_L, PLOT_W - PLOT_L - 10, ph);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t c = h->buckets[lo + i];
		if (!c)
			continue;
		double bh = ymax ? ph * (double)c / (double)ymax : 0;
		if (bh < 1)
			bh = 1;
		fmt_ns(a, sizeof(a), hist_bucket_lower(lo + i), ns);
		fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#3b6fb6\">"
			   "<title>%s: %" PRIu64 "</title></rect>",
			PLOT_L + i * bw, 10 + ph - bh, bw > 2 ? bw - 1 : bw, bh, a, c);
	}
	fmt_ns(a, sizeof(a), hist_bucket_lower(lo), ns);
	fmt_ns(b, sizeof(b), hist_bucket_upper(hi), ns);
	fmt_ns(m, sizeof(m), hist_bucket_lower(lo + n / 2), ns);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>", PLOT_L, PLOT_H - 14, a);
	if (n == 1)
		b[0] = '\0';
	if (n >= 5)
		fprintf(f, "<text x=\"%.0f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>",
			PLOT_L + (n / 2) * bw, PLOT_H - 14, m);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%s</text>",
		PLOT_W - 10, PLOT_H - 14, b);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#666\">log-scaled buckets</text>",
		PLOT_L, PLOT_H - 2);
	fprintf(f, "<text x=\"%d\" y=\"20\" font-size=\"10\" text-anchor=\"end\">%" PRIu64 "</text>",
		PLOT_L - 4, ymax);
	fprintf(f, "<text x=\"%d\" y=\"%.0f\" font-size=\"10\" text-anchor=\"end\">0</text>",
		PLOT_L - 4, 10 + ph);
	fputs("</svg>", f);
}

static void write_campaigns(FILE *f, const struct rdata *d)
{
	fputs("<h2>Campaigns</h2><table><tr><th>id</th><th>scenario</th><th>variant</th>"
	      "<th>strategy</th><th>base seed</th><th>schedules</th><th>runs recorded</th>"
	      "<th>status</th><th>started (UTC)</th></tr>", f);
	for (uint32_t i = 0; i < d->count; i++) {
		const struct rcampaign *c = &d->c[i];
		fprintf(f, "<tr><td class=\"num\">%" PRId64 "</td><td>", c->id);
		esc(f, c->scenario);
		fputs("</td><td>", f);
		esc(f, c->variant[0] ? c->variant : "(base)");
		fputs("</td><td>", f);
		esc(f, c->strategy);
		fputs("</td><td class=\"num\">", f);
		esc(f, c->base_seed);
		fputs("</td><td class=\"num\">", f);
		esc(f, c->schedules);
		fprintf(f, "</td><td class=\"num\">%" PRIu64 "</td><td>", c->runs);
		esc(f, c->status);
		fputs("</td><td>", f);
		esc(f, c->started_at);
		fputs("</td></tr>", f);
	}
	fputs("</table>", f);
	if (d->too_many)
		fprintf(f, "<p>Only the first %u campaigns are shown.</p>", REPORT_CAMPAIGNS_MAX);
}

struct group_ctx {
	FILE *f;
	const char *db;
	uint32_t rows;
};

static void replay_cell(struct group_ctx *g, const char *run_id)
{
	char cmd[512] = "simrun replay --db ";

	cli_shell_quote(cmd, sizeof(cmd), g->db);
	fprintf(g->f, "<td><code>");
	esc(g->f, cmd);
	fputs(" --run ", g->f);
	esc(g->f, run_id);
	fputs("</code></td>", g->f);
}

/* The findings table opens at its first row: findings and bad outcomes
 * without a finding share it. */
static void group_table_head(struct group_ctx *g)
{
	if (!g->rows++)
		fputs("<table><tr><th>kind</th><th>signature</th><th>runs</th><th>first finding</th>"
		      "<th>summary</th><th>replay its first run</th></tr>", g->f);
}

static bool group_row(void *ctx, int ncol, const char *const *v)
{
	struct group_ctx *g = ctx;

	SIM_ASSERT(ncol == 6);
	group_table_head(g);
	fputs("<tr><td>", g->f);
	esc(g->f, v[0]);
	fputs("</td><td><code>", g->f);
	esc(g->f, v[1]);
	fputs("</code></td><td class=\"num\">", g->f);
	esc(g->f, v[2]);
	fputs("</td><td class=\"num\">", g->f);
	esc(g->f, v[3]);
	fputs("</td><td>", g->f);
	esc(g->f, v[5]);
	fputs("</td>", g->f);
	replay_cell(g, v[4]);
	fputs("</tr>", g->f);
	return true;
}

static bool outcome_row(void *ctx, int ncol, const char *const *v)
{
	struct group_ctx *g = ctx;

	SIM_ASSERT(ncol == 3);
	group_table_head(g);
	fputs("<tr><td>outcome:", g->f);
	esc(g->f, v[0]);
	fputs("</td><td>-</td><td class=\"num\">", g->f);
	esc(g->f, v[1]);
	fputs("</td><td>-</td><td>runs that ended so with no finding to name why</td>", g->f);
	replay_cell(g, v[2]);
	fputs("</tr>", g->f);
	return true;
}

static bool write_findings(FILE *f, const struct rdata *d, const char *db)
{
	fputs("<h2>Findings by signature</h2>", f);
	for (uint32_t i = 0; i < d->count; i++) {
		const struct rcampaign *c = &d->c[i];
		struct group_ctx g = { .f = f, .db = db };
		fprintf(f, "<h3>campaign %" PRId64 ": ", c->id);
		esc(f, c->scenario);
		if (c->variant[0]) {
			fputs(", variant ", f);
			esc(f, c->variant);
		}
		fputs("</h3>", f);
		/* Bare columns take the values of the min(f.id) row (SQLite). */
		if (store_query(d->st,
				"SELECT f.kind, f.signature, count(DISTINCT f.run_id), min(f.id), "
				"f.run_id, f.summary FROM finding f JOIN run r ON r.id = f.run_id "
				"WHERE r.campaign_id = ?1 GROUP BY f.kind, f.signature ORDER BY min(f.id)",
				&c->id, 1, group_row, &g) != STORE_OK)
			return false;
		if (store_query(d->st,
				"SELECT outcome, count(*), min(id) FROM run WHERE campaign_id = ?1 "
				"AND outcome != 'ok' AND id NOT IN (SELECT run_id FROM finding) "
				"GROUP BY outcome ORDER BY outcome",
				&c->id, 1, outcome_row, &g) != STORE_OK)
			return false;
		if (g.rows)
			fputs("</table>", f);
		else
			fputs("<p>No findings.</p>", f);
	}
	return true;
}

/* Histograms: per scenario, per metric, one plot per campaign. */
static void write_histograms(FILE *f, const struct rdata *d)
{
	bool done[REPORT_CAMPAIGNS_MAX] = { false };
	uint32_t plots = 0;

	fputs("<h2>Latency histograms</h2>"
	      "<p>Virtual time, over every run of each campaign; buckets are log-scaled "
	      "(exact below 16, then 8 per power of two), bars are counts.  Campaigns of "
	      "one scenario are side by side on one scale.</p>", f);
	for (uint32_t i = 0; i < d->count; i++) {
		if (done[i])
			continue;
		uint32_t group[REPORT_CAMPAIGNS_MAX], n = 0;
		for (uint32_t j = i; j < d->count; j++)
			if (!done[j] && strcmp(d->c[j].scenario, d->c[i].scenario) == 0) {
				done[j] = true;
				group[n++] = j;
			}
		fputs("<h3>", f);
		esc(f, d->c[i].scenario);
		fputs("</h3>", f);
		for (uint32_t m = 0; m < METRIC_HISTS_COUNT; m++) {
			uint32_t lo = HIST_BUCKETS, hi = 0;
			uint64_t ymax = 0;
			for (uint32_t k = 0; k < n; k++) {
				const struct hist *h = &d->c[group[k]].hists[m];
				if (!h->count)
					continue;
				if (h->lo < lo)
					lo = h->lo;
				if (h->hi > hi)
					hi = h->hi;
				for (uint32_t b = h->lo; b <= h->hi; b++)
					if (h->buckets[b] > ymax)
						ymax = h->buckets[b];
			}
			if (lo > hi)
				continue;
			bool ns = strcmp(metric_unit((enum metric_id)m), "ns") == 0;
			fputs("<div class=\"row\">", f);
			for (uint32_t k = 0; k < n; k++) {
				const struct rcampaign *c = &d->c[group[k]];
				const struct hist *h = &c->hists[m];
				char label[256], p50[32], p99[32];
				if (!h->count)
					continue;
				fmt_ns(p50, sizeof(p50), bucket_quantile(h, 500), ns);
				fmt_ns(p99, sizeof(p99), bucket_quantile(h, 990), ns);
				snprintf(label, sizeof(label), "%s, %s (campaign %" PRId64 "): n=%" PRIu64
					 ", p50 %s, p99 %s", metric_name((enum metric_id)m),
					 c->variant[0] ? c->variant : "(base)", c->id, h->count, p50, p99);
				fputs("<figure>", f);
				svg_hist(f, h, lo, hi, ymax, ns, label);
				fputs("<figcaption>", f);
				esc(f, label);
				fputs("</figcaption></figure>", f);
				plots++;
			}
			fputs("</div>", f);
		}
	}
	if (!plots)
		fputs("<p>No histogram has samples.</p>", f);
}

static void write_counters(FILE *f, const struct rdata *d)
{
	static const char *const names[] = {
		"vma_lock_success", "vma_lock_abort", "vma_lock_retry", "vma_lock_miss",
		"spf_attempt", "spf_abort", "swap_fault", "swap_fault_vma_locked",
		"pgfault", "fault_retry",
	};
	uint32_t idx[sizeof(names) / sizeof(names[0])];
	const uint32_t n = sizeof(names) / sizeof(names[0]);

	for (uint32_t k = 0; k < n; k++) {
		bool counter = false;
		SIM_ASSERT(metrics_lookup(names[k], &counter, &idx[k]) && counter);
	}
	fputs("<h2>VMA lock and SPF counters</h2>"
	      "<p>Totals over every run of each campaign (per run in parentheses).</p>"
	      "<table><tr><th>campaign</th><th>scenario</th><th>variant</th>", f);
	for (uint32_t k = 0; k < n; k++)
		fprintf(f, "<th>%s</th>", names[k]);
	fputs("</tr>", f);
	for (uint32_t i = 0; i < d->count; i++) {
		const struct rcampaign *c = &d->c[i];
		fprintf(f, "<tr><td class=\"num\">%" PRId64 "</td><td>", c->id);
		esc(f, c->scenario);
		fputs("</td><td>", f);
		esc(f, c->variant[0] ? c->variant : "(base)");
		fputs("</td>", f);
		for (uint32_t k = 0; k < n; k++) {
			uint64_t v = c->counters[idx[k]];
			uint64_t tenths = c->runs ? (v * 10 + c->runs / 2) / c->runs : 0;
			fprintf(f, "<td class=\"num\">%" PRIu64 " (%" PRIu64 ".%" PRIu64 ")</td>",
				v, tenths / 10, tenths % 10);
		}
		fputs("</tr>", f);
	}
	fputs("</table>", f);
}

/* ----------------------------------------------- the first finding's run */

static const char *class_colour(const char *cls)
{
	static const char *const colours[] = {
		"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2",
		"#edc948", "#ff9da7", "#9c755f", "#bab0ac", "#e15759",
	};
	uint64_t h = sim_signature(cls ? cls : "");

	return colours[h % (sizeof(colours) / sizeof(colours[0]))];
}

#define TL_W 1150
#define TL_ROW 18
#define TL_LABEL 150

/* The run per CPU: a row of steps, then a row per lane of each task on it,
 * holds coloured by lock class, waits hatched grey, faults outlined; the
 * finding's steps in red. */
static void svg_timeline(FILE *f, const struct timeline *tl)
{
	uint32_t rows = 0;
	uint64_t span = tl->run.virtual_ns ? tl->run.virtual_ns : 1;
	double scale = (double)(TL_W - TL_LABEL - 10) / (double)span;

	for (uint32_t c = 0; c < tl->cpus; c++) {
		rows++;
		for (uint32_t t = 0; t < tl->tasks_count; t++)
			if (tl->task_cpu[t] == c)
				rows += tl->task_lanes[t];
	}
	uint32_t height = (rows + 2) * TL_ROW;
	fprintf(f, "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%u\" "
		   "viewBox=\"0 0 %d %u\" role=\"img\"><title>run timeline per CPU</title>",
		TL_W, height, TL_W, height);
	uint32_t row = 0;
	for (uint32_t c = 0; c < tl->cpus; c++) {
		double y = row * TL_ROW;
		fprintf(f, "<text x=\"2\" y=\"%.0f\" font-size=\"12\" font-weight=\"bold\">CPU %u steps</text>",
			y + 13, c);
		for (uint64_t i = 0; i < tl->steps_count; i++) {
			const struct tl_step *s = &tl->steps[i];
			if (s->task == TRACE_NO_TASK || s->cpu != c)
				continue;
			double x = TL_LABEL + s->start_ns * scale;
			double w = (s->end_ns - s->start_ns) * scale;
			fprintf(f, "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"%s\">"
				   "<title>step %" PRIu64 " ",
				x, y + (s->marked ? 0 : 4), w < 0.5 ? 0.5 : w,
				s->marked ? TL_ROW - 2 : TL_ROW - 8,
				s->marked ? "#d62728" : "#888", s->step);
			esc(f, timeline_task_name(tl, s->task));
			fprintf(f, " %s</title></rect>", trace_kind_name(s->kind));
		}
		row++;
		for (uint16_t t = 0; t < tl->tasks_count; t++) {
			if (tl->task_cpu[t] != c)
				continue;
			for (uint16_t l = 0; l < tl->task_lanes[t]; l++) {
				y = row * TL_ROW;
				fputs("<text x=\"10\" y=\"", f);
				fprintf(f, "%.0f\" font-size=\"11\">", y + 13);
				esc(f, tl->task_names[t]);
				fprintf(f, "/%u%s</text>", t, l ? " +" : "");
				for (uint64_t i = 0; i < tl->slices_count; i++) {
					const struct tl_slice *s = &tl->slices[i];
					if (s->task != t || s->lane != l)
						continue;
					double x = TL_LABEL + s->start_ns * scale;
					double w = (s->end_ns - s->start_ns) * scale;
					const char *fill = s->kind == TL_SLICE_HOLD ? class_colour(s->cls)
							   : s->kind == TL_SLICE_WAIT ? "#cccccc" : "none";
					fprintf(f, "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" "
						   "fill=\"%s\" stroke=\"%s\"><title>",
						x, y + 2, w < 0.5 ? 0.5 : w, TL_ROW - 4, fill,
						s->kind == TL_SLICE_FAULT ? "#000" : "none");
					if (s->kind == TL_SLICE_FAULT)
						fprintf(f, "fault at page %" PRIu64, s->address);
					else {
						fputs(s->kind == TL_SLICE_WAIT ? "waits for " : "holds ", f);
						esc(f, s->cls);
						fputs(" from ", f);
						esc(f, s->where);
					}
					fprintf(f, "%s</title></rect>", s->unfinished ? " (until the end)" : "");
				}
				row++;
			}
		}
	}
	char end[32];
	cli_fmt_ns(end, sizeof(end), tl->run.virtual_ns);
	fprintf(f, "<text x=\"%d\" y=\"%u\" font-size=\"11\">0</text>", TL_LABEL, height - 6);
	fprintf(f, "<text x=\"%d\" y=\"%u\" font-size=\"11\" text-anchor=\"end\">%s virtual</text>",
		TL_W - 10, height - 6, end);
	fputs("</svg>", f);
}

static bool first_finding_row(void *ctx, int ncol, const char *const *v)
{
	int64_t *ids = ctx;

	SIM_ASSERT(ncol == 2);
	ids[0] = strtoll(v[0], NULL, 10);
	ids[1] = strtoll(v[1], NULL, 10);
	return false;
}

static int write_first_finding(FILE *f, struct store *st, const char *db)
{
	int64_t ids[2] = { 0, 0 };
	struct store_run_info info;
	struct timeline *tl = NULL;
	char *text = NULL;
	size_t text_len = 0;

	fputs("<h2>The first finding</h2>", f);
	if (store_query(st,
			"SELECT f.id, f.run_id FROM finding f JOIN run r ON r.id = f.run_id "
			"WHERE r.decisions IS NOT NULL ORDER BY f.id LIMIT 1",
			NULL, 0, first_finding_row, ids) != STORE_OK) {
		cli_error("report", "%s", store_error(st));
		return EXIT_USAGE;
	}
	if (!ids[0]) {
		fputs("<p>No finding with a kept decision log.</p>", f);
		return EXIT_CLEAN;
	}
	int code = cli_run_timeline("report", st, db, ids[1], &info, &tl);
	if (code != EXIT_CLEAN) {
		store_run_info_free(&info);
		return code;
	}
	FILE *m = open_memstream(&text, &text_len);
	if (!m) {
		cli_error("report", "out of memory");
		timeline_destroy(tl);
		store_run_info_free(&info);
		return EXIT_INTERNAL;
	}
	/* The first finding of the run (the lowest id) is info.findings[0]:
	 * store_load_run reads them in id order. */
	SIM_ASSERT(info.findings_count > 0);
	cli_mark_finding(tl, &info.findings[0]);
	cli_print_finding(m, &info.findings[0], &info, db);
	fclose(m);
	fprintf(f, "<p>Finding %" PRId64 ", run %" PRId64 ", re-executed from the database.</p><pre>",
		ids[0], ids[1]);
	esc(f, text);
	fputs("</pre><h3>Its run per CPU</h3>"
	      "<p>Each CPU's steps (the finding's in red), then each task's lock holds "
	      "(coloured by lock class), lock waits (grey) and faults (outlined).  Hover "
	      "for details.</p>", f);
	svg_timeline(f, tl);
	free(text);
	timeline_destroy(tl);
	store_run_info_free(&info);
	return EXIT_CLEAN;
}

/* The self-check: every plot has a size on screen.  It only sets
 * attributes, so the page reads the same without it. */
static const char check_script[] =
	"<script>(function(){var s=document.querySelectorAll('svg.plot'),ok=0;"
	"for(var i=0;i<s.length;i++){var r=s[i].getBoundingClientRect();"
	"if(r.width>0&&r.height>0&&s[i].querySelectorAll('rect').length>0)ok++;}"
	"document.body.setAttribute('data-plots',String(s.length));"
	"document.body.setAttribute('data-plots-rendered',String(ok));})();</script>";

int cmd_report(int argc, char **argv)
{
	struct opt_values v;
	struct rdata *d = NULL;
	FILE *f = NULL;
	int code = EXIT_USAGE;

	if (!opt_parse("report", report_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(report_specs, &v, "--help")) {
		report_usage(stdout);
		return EXIT_CLEAN;
	}
	if (v.positional_count) {
		cli_error("report", "unexpected argument %s", v.positional[0]);
		return EXIT_USAGE;
	}
	const char *db = opt_get(report_specs, &v, "--db");
	if (!db)
		db = CLI_DEFAULT_DB;
	const char *path = opt_get(report_specs, &v, "-o");
	if (!path)
		path = "report.html";

	d = calloc(1, sizeof(*d));
	if (!d) {
		cli_error("report", "out of memory");
		return EXIT_INTERNAL;
	}
	d->st = cli_store_open_existing("report", db);
	if (!d->st) {
		free(d);
		return EXIT_USAGE;
	}
	if (!rdata_load(d)) {
		cli_error("report", "%s", store_error(d->st));
		goto out;
	}
	if (d->nomem) {
		cli_error("report", "out of memory");
		code = EXIT_INTERNAL;
		goto out;
	}
	f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	if (!f) {
		cli_error("report", "%s: cannot write: %s", path, strerror(errno));
		goto out;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
	      "<title>simrun report: ", f);
	esc(f, db);
	fprintf(f, "</title><style>%s</style></head><body>\n<h1>simrun report</h1><p>Database <code>", style);
	esc(f, db);
	fprintf(f, "</code>, %u campaign%s, written by simrun %s.</p>\n", d->count,
		d->count == 1 ? "" : "s", SIMRUN_VERSION);
	write_campaigns(f, d);
	if (!write_findings(f, d, db)) {
		cli_error("report", "%s", store_error(d->st));
		goto out;
	}
	write_histograms(f, d);
	write_counters(f, d);
	code = write_first_finding(f, d->st, db);
	if (code != EXIT_CLEAN)
		goto out;
	fprintf(f, "\n%s\n</body></html>\n", check_script);
	if (fflush(f) != 0 || ferror(f)) {
		cli_error("report", "%s: write failed: %s", path, strerror(errno));
		code = EXIT_USAGE;
		goto out;
	}
	code = EXIT_CLEAN;
out:
	if (f && f != stdout && fclose(f) != 0 && code == EXIT_CLEAN) {
		cli_error("report", "%s: write failed: %s", path, strerror(errno));
		code = EXIT_USAGE;
	}
	rdata_free(d);
	if (!cli_store_close("report", d->st) && code < EXIT_USAGE)
		code = EXIT_USAGE;
	free(d);
	return code;
}
