/*
 * jobs.c: `simrun SCENARIO --jobs N`: one campaign as N worker processes
 * on this machine.  Worker K runs shard K of N (the schedules i with
 * i % N == K) into its own database, DB.jobK, and sends its metrics and
 * result to the parent over a pipe; the parent merges the shards into DB
 * with runner_merge, exactly as `simrun merge` would, so the campaign and
 * the printed summary are those of --jobs 1.  Not the campaign loop
 * (runner.c) and not the merge (runner_merge).
 *
 * Why shard files rather than one writer fed by pipes: each worker then
 * commits its own batches, so a killed worker's file keeps what it ran,
 * and --jobs is exactly --shard plus merge, one code path to test.
 *
 * Signals: the workers inherit the parent's handlers (cli_catch_interrupts
 * before fork).  Ctrl-C reaches the whole process group; a SIGTERM sent to
 * the parent alone is forwarded to every worker.  Each worker finishes its
 * schedule, records its shard as interrupted and reports; the parent then
 * merges the schedules every shard reached (a prefix of the campaign) as
 * an interrupted campaign and exits 128+N.  A worker that dies without a
 * report (killed, crashed) is named with its slice and seed, exit 3.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli_int.h"

/* What a worker sends back at its end. */
struct worker_report {
	enum runner_rc rc;
	enum store_status status;
	char err[STORE_MESSAGE_MAX];
	struct metrics metrics;
};

struct worker {
	pid_t pid;
	int fd;				/* read end of its pipe */
	char path[CLI_PATH_MAX];	/* its shard database */
	struct worker_report report;
	bool reported;
	int wait_status;
};

static bool worker_after_run(void *ctx, const struct run_result *r,
			     const struct engine *e)
{
	(void)ctx;
	(void)r;
	(void)e;
	return cli_interrupted == 0;
}

static bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* In the child: run shard k, report, and end the process. */
static void worker_main(const struct runner_params *base, uint32_t k,
			uint32_t jobs, const struct store_opts *so,
			const char *path, int fd)
{
	struct worker_report *rep = calloc(1, sizeof(*rep));
	struct runner_result *res = calloc(1, sizeof(*res));
	struct runner_params p = *base;
	struct store *st = NULL;
	int code = EXIT_INTERNAL;

	if (!rep || !res)
		_exit(EXIT_INTERNAL);
	rep->rc = RUNNER_ERR_STORE;
	if (store_open(path, so, &st, rep->err, sizeof(rep->err)) == STORE_OK) {
		p.shard_index = k;
		p.shard_count = jobs;
		p.store = st;
		p.trace_out = NULL;
		p.after_run = worker_after_run;
		p.ctx = NULL;
		runner_run(&p, res);
		rep->rc = res->rc;
		rep->status = res->status;
		snprintf(rep->err, sizeof(rep->err), "%s", res->err);
		rep->metrics = res->metrics;
		char err[STORE_MESSAGE_MAX];
		if (store_close(st, err, sizeof(err)) != STORE_OK &&
		    rep->rc == RUNNER_OK) {
			rep->rc = RUNNER_ERR_STORE;
			snprintf(rep->err, sizeof(rep->err), "%s", err);
		}
	}
	if (write_all(fd, rep, sizeof(*rep)))
		code = EXIT_CLEAN;
	close(fd);
	_exit(code);
}

/* Read the worker's report; a signal meanwhile is forwarded to every
 * worker, once. */
static void read_report(struct worker *w, struct worker *all, uint32_t n,
			bool *forwarded)
{
	char *p = (char *)&w->report;
	size_t got = 0;

	while (got < sizeof(w->report)) {
		ssize_t r = read(w->fd, p + got, sizeof(w->report) - got);
		if (r < 0 && errno == EINTR) {
			if (cli_interrupted && !*forwarded) {
				for (uint32_t i = 0; i < n; i++)
					if (all[i].pid > 0)
						kill(all[i].pid, cli_interrupted);
				*forwarded = true;
			}
			continue;
		}
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	w->reported = got == sizeof(w->report);
	close(w->fd);
	w->fd = -1;
}

static void remove_db(const char *path)
{
	char aux[CLI_PATH_MAX + 8];

	unlink(path);
	snprintf(aux, sizeof(aux), "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
}

enum runner_rc cli_run_jobs(const struct runner_params *p, const char *db,
			    const struct store_opts *so, uint32_t jobs,
			    struct runner_result *res)
{
	struct worker *w = calloc(jobs, sizeof(*w));
	char dir[CLI_PATH_MAX] = "";
	const char **paths = calloc(jobs, sizeof(*paths));
	bool forwarded = false, died = false, stopped = false;
	enum runner_rc rc = RUNNER_OK;

	SIM_ASSERT(jobs >= 2);
	memset(res, 0, sizeof(*res));
	if (!w || !paths) {
		snprintf(res->err, sizeof(res->err), "out of memory");
		rc = RUNNER_ERR_NOMEM;
		goto out;
	}
	if (!runner_can_split(p, true, false, res->err, sizeof(res->err))) {
		rc = RUNNER_ERR_PARAMS;
		goto out;
	}
	if (!db) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/simrun-jobs-XXXXXX",
			 tmp && tmp[0] ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			snprintf(res->err, sizeof(res->err),
				 "cannot create a directory for the workers' "
				 "databases (%s): %s", dir, strerror(errno));
			dir[0] = '\0';
			rc = RUNNER_ERR_STORE;
			goto out;
		}
	}
	for (uint32_t k = 0; k < jobs; k++) {
		if (db)
			snprintf(w[k].path, sizeof(w[k].path), "%s.job%" PRIu32,
				 db, k);
		else
			snprintf(w[k].path, sizeof(w[k].path), "%s/job%" PRIu32 ".db",
				 dir, k);
		paths[k] = w[k].path;
		w[k].fd = -1;
		remove_db(w[k].path);
	}
	fflush(stdout);
	fflush(stderr);
	for (uint32_t k = 0; k < jobs; k++) {
		int fd[2];
		if (pipe(fd) != 0) {
			snprintf(res->err, sizeof(res->err),
				 "cannot create a pipe for worker %" PRIu32 ": %s",
				 k, strerror(errno));
			rc = RUNNER_ERR_NOMEM;
			break;
		}
		pid_t pid = fork();
		if (pid == 0) {
			close(fd[0]);
			for (uint32_t j = 0; j < k; j++)
				close(w[j].fd);
			worker_main(p, k, jobs, so, w[k].path, fd[1]);
		}
		close(fd[1]);
		if (pid < 0) {
			close(fd[0]);
			snprintf(res->err, sizeof(res->err),
				 "cannot start worker %" PRIu32 ": %s", k,
				 strerror(errno));
			rc = RUNNER_ERR_NOMEM;
			break;
		}
		w[k].pid = pid;
		w[k].fd = fd[0];
	}
	/* A fork that failed part-way: stop the workers started. */
	if (rc != RUNNER_OK)
		for (uint32_t k = 0; k < jobs; k++)
			if (w[k].pid > 0)
				kill(w[k].pid, SIGTERM);
	for (uint32_t k = 0; k < jobs; k++) {
		if (w[k].pid <= 0)
			continue;
		read_report(&w[k], w, jobs, &forwarded);
		while (waitpid(w[k].pid, &w[k].wait_status, 0) < 0 &&
		       errno == EINTR)
			;
	}
	if (rc != RUNNER_OK)
		goto out;

	metrics_reset(&res->metrics);
	struct metrics sum;
	metrics_reset(&sum);
	for (uint32_t k = 0; k < jobs; k++) {
		struct worker *x = &w[k];
		if (!x->reported) {
			char how[64];
			if (WIFSIGNALED(x->wait_status))
				snprintf(how, sizeof(how), "was killed by signal %d (%s)",
					 WTERMSIG(x->wait_status),
					 strsignal(WTERMSIG(x->wait_status)));
			else
				snprintf(how, sizeof(how), "exited with status %d",
					 WEXITSTATUS(x->wait_status));
			if (!died)
				snprintf(res->err, sizeof(res->err),
					 "worker %" PRIu32 " of %" PRIu32 " (schedules i "
					 "with i %% %" PRIu32 " == %" PRIu32 ", base seed %"
					 PRIu64 ", database %s) %s without reporting; "
					 "the campaign is not recorded",
					 k, jobs, jobs, k, p->base_seed, x->path, how);
			died = true;
			continue;
		}
		if (x->report.rc == RUNNER_STOPPED) {
			stopped = true;
		} else if (x->report.rc != RUNNER_OK && rc == RUNNER_OK) {
			rc = x->report.rc;
			snprintf(res->err, sizeof(res->err), "worker %" PRIu32
				 ": %s", k, x->report.err);
		}
		metrics_merge(&sum, &x->report.metrics);
	}
	if (died) {
		rc = RUNNER_ERR_NOMEM;	/* an internal error: exit 3 */
		goto out;
	}
	if (rc != RUNNER_OK)
		goto out;
	rc = runner_merge(&(struct runner_merge_params){
				  .sources = paths,
				  .sources_count = jobs,
				  .target = db,
				  .partial = stopped,
			  },
			  res);
	res->metrics = sum;
	if (rc == RUNNER_OK && stopped) {
		rc = RUNNER_STOPPED;
		res->rc = rc;
		res->status = STORE_INTERRUPTED;
	}
out:
	if (rc != RUNNER_OK && !stopped)
		res->status = STORE_FAILED;
	res->rc = rc;
	for (uint32_t k = 0; w && k < jobs; k++)
		if (w[k].path[0] && !died)
			remove_db(w[k].path);
	if (dir[0])
		rmdir(dir);
	free(paths);
	free(w);
	return rc;
}
