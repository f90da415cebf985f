/*
 * progress.c: the progress bar on a terminal, and interrupts.  The bar is
 * the one place in simrun that reads the wall clock: to show a rate and
 * the time left.  What it reads goes to the terminal and nowhere else, so
 * no run, database row or line of stdout depends on it.  Not the summary
 * (output.c).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli_int.h"

/* Redraw at most this often: a terminal that redraws for every one of
 * thousands of schedules a second would cost more than the schedules. */
#define PROGRESS_INTERVAL_NS 100000000ll

volatile sig_atomic_t cli_interrupted;

static void on_signal(int sig)
{
	cli_interrupted = sig;
}

void cli_catch_interrupts(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* A second Ctrl-C gets the default action: simrun ends at once. */
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A reader that went away (`simrun ... --trace | head`): stop as for
	 * an interrupt, so the campaign is still recorded.  Writes fail with
	 * EPIPE meanwhile, so the handler stays. */
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
}

const char *cli_signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGPIPE:
		return "SIGPIPE (the output was closed)";
	default:
		return "a signal";
	}
}

bool progress_wanted(void)
{
	const char *term = getenv("TERM");

	if (!isatty(STDERR_FILENO))
		return false;
	return !(term && strcmp(term, "dumb") == 0);
}

static int64_t elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000ll +
	       (b->tv_nsec - a->tv_nsec);
}

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col < 200 ? ws.ws_col : 200;
	return 80;
}

static void fmt_duration(char *buf, size_t len, double s)
{
	if (s >= 3600 * 99)
		snprintf(buf, len, ">99h");
	else if (s >= 3600)
		snprintf(buf, len, "%dh%02dm", (int)(s / 3600),
			 (int)(s / 60) % 60);
	else
		snprintf(buf, len, "%d:%02d", (int)(s / 60), (int)s % 60);
}

static void draw(struct progress *p, const struct timespec *now)
{
	char right[160], left[96], eta[16];
	double secs = elapsed_ns(&p->start, now) / 1e9;
	double rate = secs > 0 ? p->done / secs : 0;
	int width = term_width();

	snprintf(left, sizeof(left), "%s %llu/%llu", p->label,
		 (unsigned long long)p->done, (unsigned long long)p->total);
	if (rate > 0 && p->done < p->total)
		fmt_duration(eta, sizeof(eta), (p->total - p->done) / rate);
	else
		snprintf(eta, sizeof(eta), "-");
	snprintf(right, sizeof(right), " %.0f/s  %llu with findings  left %s",
		 rate, (unsigned long long)p->problems, eta);
	int bar = width - 4 - (int)strlen(left) - (int)strlen(right);
	if (bar > 40)
		bar = 40;
	fprintf(stderr, "\r\033[K%s", left);
	if (bar >= 10) {
		int full = p->total ? (int)((double)bar * p->done / p->total) : 0;
		fputs(" [", stderr);
		for (int i = 0; i < bar; i++)
			fputc(i < full ? '#' : '.', stderr);
		fputc(']', stderr);
	}
	fputs(right, stderr);
	fflush(stderr);
	p->drawn = true;
	p->last = *now;
}

void progress_begin(struct progress *p, bool on, const char *label,
		    uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->on = on;
	p->total = total;
	snprintf(p->label, sizeof(p->label), "%s", label);
	if (on)
		clock_gettime(CLOCK_MONOTONIC, &p->start);
}

void progress_update(struct progress *p, uint64_t done, uint64_t problems)
{
	struct timespec now;

	p->done = done;
	p->problems = problems;
	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* The first schedule draws at once, so that even a short campaign
	 * shows where it is; later ones at most every interval. */
	if (!p->drawn || elapsed_ns(&p->last, &now) >= PROGRESS_INTERVAL_NS)
		draw(p, &now);
}

void progress_end(struct progress *p)
{
	struct timespec now;

	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	draw(p, &now);
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->on = false;
}
