/*
 * jobs.c: `simrun SCENARIO --jobs N`: one campaign as N worker processes
 * on this machine.  The parent begins the campaign in DB
 * (runner_campaign_begin); worker K runs the schedules i with i % N == K
 * and commits them into that campaign itself (SQLite's WAL and busy
 * timeout let the workers take turns per batch), then sends its metrics
 * and result over a pipe; the parent ends with runner_finish, the
 * campaign-wide pass that computes lock_order over every worker's
 * lock-graph events in schedule order.  The campaign and the printed
 * summary are those of --jobs 1.  Not the campaign loop (runner.c).
 *
 * Why the workers write the campaign's rows themselves rather than shard
 * files merged afterwards (as `simrun merge` does across machines): a
 * merge re-writes every run in one process, which costs about what the
 * workers saved; runner_finish reads only the runs that can matter
 * (schedule 0 and those with findings, a bad outcome or lock-graph
 * events).  Without a database (--no-db) the campaign goes to a file in a
 * temporary directory, removed at the end.
 *
 * Stopping (SIGINT, SIGTERM, SIGPIPE to the parent, or Ctrl-C to the
 * process group): the workers ignore those signals and the parent stops
 * them, so that what is recorded is a prefix of the campaign, schedules
 * 0..S, with nothing run past S: the metric sums then belong to exactly
 * the recorded runs and --resume continues it to the campaign a single
 * process records.  The protocol, over a shared page:
 *  1. the parent sets `stopping`;
 *  2. each worker, after its current run, publishes the next schedule it
 *     would run (`next[k]`, or NEXT_DONE when its slice is finished) and
 *     waits;
 *  3. the parent publishes S = max(next[k]) - 1 in `stop_after`;
 *  4. each worker runs on while its next schedule is <= S, then records
 *     its shard as interrupted and reports.
 * Every worker has then run all its schedules <= S (those below next[k]
 * before step 2, the rest in step 4) and none above.  The parent records
 * 0..S as an interrupted campaign and exits 128+N.  A worker that dies
 * without a report (killed, crashed) is named with its slice and seed,
 * the others are killed, the campaign is recorded as failed (its
 * committed runs stay), and simrun exits 3.
 * Workers die with the parent (PR_SET_PDEATHSIG), so a second Ctrl-C,
 * which ends the parent at once, ends them too.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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

/* The stop protocol's page, shared by the parent and the workers. */
#define NEXT_DONE UINT64_MAX
#define STOP_UNSET UINT64_MAX
struct jobs_shared {
	atomic_int stopping;
	atomic_uint_least64_t stop_after;	/* S, STOP_UNSET until set */
	atomic_int acked[CLI_JOBS_MAX];
	atomic_uint_least64_t next[CLI_JOBS_MAX];
};

struct worker {
	pid_t pid;
	int fd;				/* read end of its pipe, or -1 */
	struct worker_report report;
	size_t got;			/* bytes of the report read */
	bool reported;
	int wait_status;
};

/* The worker's side of the protocol (see the top of this file). */
struct worker_ctx {
	struct jobs_shared *sh;
	uint32_t k;
	uint32_t jobs;
	pid_t parent;
};

static bool worker_after_run(void *ctx, const struct run_result *r,
			     const struct engine *e)
{
	struct worker_ctx *w = ctx;
	uint64_t next = r->index + w->jobs;

	(void)e;
	if (!atomic_load(&w->sh->stopping))
		return true;
	if (!atomic_load(&w->sh->acked[w->k])) {
		atomic_store(&w->sh->next[w->k], next);
		atomic_store(&w->sh->acked[w->k], 1);
	}
	while (atomic_load(&w->sh->stop_after) == STOP_UNSET) {
		if (getppid() != w->parent)
			return false;
		usleep(1000);
	}
	return next <= atomic_load(&w->sh->stop_after);
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

/* In the child: run slice k of campaign cid, report, and end. */
static void worker_main(const struct runner_params *base, uint32_t k,
			uint32_t jobs, const struct store_opts *so,
			const char *path, int64_t cid, int fd,
			struct jobs_shared *sh, pid_t parent)
{
	struct worker_ctx wc = { sh, k, jobs, parent };

	/* The parent stops the workers (see the top of this file); they
	 * end with it. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(EXIT_INTERNAL);
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
		p.attach_campaign_id = cid;
		p.trace_out = NULL;
		p.after_run = worker_after_run;
		p.ctx = &wc;
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
	/* Finished before the parent asked to stop: nothing more to run. */
	if (!atomic_load(&sh->acked[k])) {
		atomic_store(&sh->next[k], NEXT_DONE);
		atomic_store(&sh->acked[k], 1);
	}
	if (write_all(fd, rep, sizeof(*rep)))
		code = EXIT_CLEAN;
	close(fd);
	_exit(code);
}

/* Is worker w still running?  (Reaps it when it is not.) */
static bool worker_alive(struct worker *w)
{
	if (w->pid <= 0)
		return false;
	pid_t r = waitpid(w->pid, &w->wait_status, WNOHANG);
	if (r == w->pid)
		w->pid = -w->pid;	/* reaped: keep its status */
	return r == 0;
}

/* Steps 1 to 3 of the stop protocol.  A worker that dies meanwhile is
 * left to the report reading, which names it. */
static void stop_workers(struct jobs_shared *sh, struct worker *w,
			 uint32_t jobs)
{
	uint64_t s = 0;
	bool any = false;

	atomic_store(&sh->stopping, 1);
	for (uint32_t k = 0; k < jobs; k++) {
		while (!atomic_load(&sh->acked[k]) && worker_alive(&w[k]))
			usleep(1000);
		uint64_t next = atomic_load(&sh->next[k]);
		if (atomic_load(&sh->acked[k]) && next != NEXT_DONE) {
			s = !any || next > s ? next : s;
			any = true;
		}
	}
	/* No worker left with schedules to run: nothing is cut. */
	atomic_store(&sh->stop_after, any ? s - 1 : STOP_UNSET - 1);
}

/* Read every worker's report as it comes (poll): a worker that ends
 * without one is found at once, and the others are killed.  Returns the
 * first worker found dead, or -1. */
static int32_t read_reports(struct worker *w, uint32_t jobs,
			    struct jobs_shared *sh)
{
	int32_t first_dead = -1;
	struct pollfd pfd[CLI_JOBS_MAX];
	bool stopped = false, killed = false;

	for (;;) {
		uint32_t n = 0;
		for (uint32_t k = 0; k < jobs; k++)
			if (w[k].fd >= 0)
				pfd[n++] = (struct pollfd){ .fd = w[k].fd,
							    .events = POLLIN };
		if (n == 0)
			break;
		if (cli_interrupted && !stopped) {
			stop_workers(sh, w, jobs);
			stopped = true;
		}
		if (poll(pfd, n, -1) < 0) {
			SIM_ASSERT(errno == EINTR);
			continue;
		}
		for (uint32_t k = 0; k < jobs; k++) {
			struct worker *x = &w[k];
			uint32_t i = 0;
			while (i < n && pfd[i].fd != x->fd)
				i++;
			if (x->fd < 0 || i == n || !pfd[i].revents)
				continue;
			ssize_t r = read(x->fd, (char *)&x->report + x->got,
					 sizeof(x->report) - x->got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r > 0) {
				x->got += (size_t)r;
				continue;
			}
			close(x->fd);
			x->fd = -1;
			x->reported = x->got == sizeof(x->report);
			if (!x->reported && !killed) {
				for (uint32_t j = 0; j < jobs; j++)
					if (w[j].pid > 0 && j != k)
						kill(w[j].pid, SIGKILL);
				killed = true;
				first_dead = (int32_t)k;
			}
		}
	}
	for (uint32_t k = 0; k < jobs; k++) {
		if (w[k].pid <= 0)
			continue;
		while (waitpid(w[k].pid, &w[k].wait_status, 0) < 0 &&
		       errno == EINTR)
			;
	}
	return first_dead;
}

static void remove_db(const char *path)
{
	char aux[CLI_PATH_MAX + 32];

	unlink(path);
	snprintf(aux, sizeof(aux), "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
}

/* Record the campaign as failed (a worker died): its runs stay. */
static void end_failed(const char *path, const struct store_opts *so,
		       int64_t cid)
{
	struct store *st = NULL;
	char err[STORE_MESSAGE_MAX];

	if (store_open(path, so, &st, err, sizeof(err)) != STORE_OK)
		return;
	store_release_run_ids(st, cid);
	if (store_campaign_attach(st, cid, -1) == STORE_OK)
		store_campaign_end(st, cid, STORE_FAILED);
	store_close(st, NULL, 0);
}

enum runner_rc cli_run_jobs(const struct runner_params *base, const char *db,
			    const struct store_opts *so, uint32_t jobs,
			    struct runner_result *res)
{
	struct worker *w = calloc(jobs, sizeof(*w));
	struct runner_params p = *base;
	char dir[CLI_PATH_MAX] = "", path[CLI_PATH_MAX + 16];
	bool died = false, stopped = false;
	enum runner_rc rc = RUNNER_OK;
	struct store *st = NULL;
	int64_t cid = 0, id_base = -1;
	struct jobs_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	SIM_ASSERT(jobs >= 2 && jobs <= CLI_JOBS_MAX);
	memset(res, 0, sizeof(*res));
	res->status = STORE_FAILED;
	if (sh == MAP_FAILED)
		sh = NULL;
	if (sh) {
		atomic_init(&sh->stopping, 0);
		atomic_init(&sh->stop_after, STOP_UNSET);
		for (uint32_t k = 0; k < CLI_JOBS_MAX; k++) {
			atomic_init(&sh->acked[k], 0);
			atomic_init(&sh->next[k], 0);
		}
	}
	if (!w || !sh) {
		snprintf(res->err, sizeof(res->err), "out of memory");
		rc = RUNNER_ERR_NOMEM;
		goto out;
	}
	if (!runner_can_split(&p, true, false, res->err, sizeof(res->err))) {
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
				 "database (%.300s): %s", dir, strerror(errno));
			dir[0] = '\0';
			rc = RUNNER_ERR_STORE;
			goto out;
		}
		snprintf(path, sizeof(path), "%s/campaign.db", dir);
	} else {
		snprintf(path, sizeof(path), "%s", db);
	}

	/* The campaign's row first; the connection is closed before fork
	 * (SQLite connections do not cross fork). */
	if (store_open(path, so, &st, res->err, sizeof(res->err)) != STORE_OK) {
		rc = RUNNER_ERR_STORE;
		goto out;
	}
	rc = runner_campaign_begin(&p, st, &cid, &id_base, res->err,
				   sizeof(res->err));
	store_close(st, NULL, 0);
	st = NULL;
	if (rc != RUNNER_OK)
		goto out;
	res->campaign_id = cid;

	fflush(stdout);
	fflush(stderr);
	pid_t parent = getpid();
	for (uint32_t k = 0; k < jobs; k++) {
		int fd[2];
		w[k].fd = -1;
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
			p.attach_run_id_base = id_base;
			worker_main(&p, k, jobs, so, path, cid, fd[1], sh,
				    parent);
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
	/* A fork that failed part-way: end the workers started. */
	if (rc != RUNNER_OK)
		for (uint32_t k = 0; k < jobs; k++)
			if (w[k].pid > 0)
				kill(w[k].pid, SIGKILL);
	int32_t dead = read_reports(w, jobs, sh);
	if (rc != RUNNER_OK) {
		end_failed(path, so, cid);
		goto out;
	}

	struct metrics sum;
	metrics_reset(&sum);
	if (dead >= 0) {
		uint32_t k = (uint32_t)dead;
		int ws = w[k].wait_status;
		char how[96];
		if (WIFSIGNALED(ws))
			snprintf(how, sizeof(how), "was killed by signal %d (%s)",
				 WTERMSIG(ws), strsignal(WTERMSIG(ws)));
		else
			snprintf(how, sizeof(how), "exited with status %d",
				 WEXITSTATUS(ws));
		snprintf(res->err, sizeof(res->err),
			 "worker %" PRIu32 " of %" PRIu32 " (schedules i with i %% %"
			 PRIu32 " == %" PRIu32 ", base seed %" PRIu64 ") %s "
			 "without reporting; the other workers were stopped and "
			 "campaign %" PRId64 " is recorded as failed",
			 k, jobs, jobs, k, p.base_seed, how, cid);
		died = true;
	}
	for (uint32_t k = 0; k < jobs && !died; k++) {
		struct worker *x = &w[k];
		if (x->report.rc == RUNNER_STOPPED) {
			stopped = true;
		} else if (x->report.rc != RUNNER_OK && rc == RUNNER_OK) {
			rc = x->report.rc;
			snprintf(res->err, sizeof(res->err), "worker %" PRIu32
				 ": %.900s", k, x->report.err);
		}
		metrics_merge(&sum, &x->report.metrics);
	}
	if (died || rc != RUNNER_OK) {
		end_failed(path, so, cid);
		if (died)
			rc = RUNNER_ERR_NOMEM;	/* an internal error: exit 3 */
		goto out;
	}
	if (store_open(path, so, &st, res->err, sizeof(res->err)) != STORE_OK) {
		rc = RUNNER_ERR_STORE;
		goto out;
	}
	rc = runner_finish(st, cid, stopped, res);
	res->metrics = sum;
	if (rc == RUNNER_OK && stopped) {
		rc = RUNNER_STOPPED;
		res->status = STORE_INTERRUPTED;
	}
	char err[STORE_MESSAGE_MAX];
	if (store_close(st, err, sizeof(err)) != STORE_OK && rc == RUNNER_OK) {
		snprintf(res->err, sizeof(res->err), "%s", err);
		rc = RUNNER_ERR_STORE;
	}
	if (!db)
		res->campaign_id = 0;
out:
	if (rc != RUNNER_OK && rc != RUNNER_STOPPED)
		res->status = STORE_FAILED;
	res->rc = rc;
	if (dir[0]) {
		remove_db(path);
		rmdir(dir);
	}
	free(w);
	if (sh)
		munmap(sh, sizeof(*sh));
	return rc;
}
