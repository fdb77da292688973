/*
 * sockserv-bench - a load generator for sockservd and any other line
 * server on loopback, in the spirit of redis-benchmark.
 *
 * main() reads the options, starts the worker threads (each an epoll loop
 * over its share of the connections), prints progress while they run,
 * then adds up what they counted and prints the report and the summary
 * line. Exit status: 0 when the run saw no error, 1 when it saw errors,
 * mismatches or lost datagrams (or no reply at all), 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "bench.h"
#include "report.h"

#define EXIT_ERRORS	1
#define EXIT_USAGE	2
#define MAX_SECONDS	600.0
#define MAX_SIZE	(1024 * 1024)
#define MAX_UDP_SIZE	65507
/* A main-thread wake-up: signals, idle-mode readiness, progress. */
#define POLL_NS		(100 * SS_NS_PER_MS)

static volatile sig_atomic_t stop_signal;

static const struct ss_mode_ops *const modes[] = {
	&ss_mode_pingpong, &ss_mode_connect, &ss_mode_bulk, &ss_mode_dgram,
	&ss_mode_idle,
};

static void
usage(FILE *out)
{
	fputs("usage: sockserv-bench [-m MODE] [-c CONNS] [-d SECONDS] "
	    "[-n REQUESTS] [-s BYTES]\n"
	    "                      [-e echo|upper|any] [-w SECONDS] "
	    "[-t THREADS] [-T SECONDS] [-P] [-q]\n"
	    "                      [--histogram] TARGET\n"
	    "  TARGET: tcp:HOST:PORT, udp:HOST:PORT, unix:PATH, "
	    "unix-dgram:PATH (HOST: 127.0.0.0/8, ::1, localhost)\n"
	    "  -m, --mode MODE       pingpong (stream default), connect, "
	    "bulk, idle; dgram (datagram default)\n"
	    "  -c, --connections N   concurrent connections (default 50)\n"
	    "  -d, --duration S      seconds to measure, at most 600 "
	    "(default 5)\n"
	    "  -n, --requests N      stop after N requests\n"
	    "  -s, --size BYTES      bytes per line, newline included "
	    "(default 64; bulk 16384)\n"
	    "  -e, --expect KIND     the reply: echo (default), upper, any\n"
	    "  -w, --warmup S        seconds of load before measuring "
	    "(default 0)\n"
	    "  -t, --threads N       load generator threads (default 1)\n"
	    "  -T, --timeout S       reply timeout (default 5; dgram 1)\n"
	    "  -P, --progress        progress line on stderr even when it "
	    "is not a terminal\n"
	    "      --no-progress     no progress line\n"
	    "  -q, --quiet           print only the summary line\n"
	    "      --histogram       the latency histogram after the summary\n"
	    "  -V, --version         -h, --help\n", out);
}

static int
usage_error(const char *fmt, const char *arg)
{
	fputs("sockserv-bench: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'sockserv-bench --help'.\n", stderr);
	return EXIT_USAGE;
}

static int
parse_seconds(const char *s, double min, double max, uint64_t *ns_r)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min) ||
	    !(v <= max))
		return -1;
	*ns_r = (uint64_t)(v * 1e9);
	return 0;
}

static int
parse_count(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *r)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*r = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' || *r < min || *r > max ? -1 : 0;
}

struct cli {
	const char *mode, *expect;
	const char *duration, *warmup, *timeout;
	unsigned long long connections, threads, size, requests;
	int progress;		/* -1: when stderr is a terminal */
	bool quiet, histogram;
};

/* Fills set from the command line; returns 0, or an exit status. */
static int
parse_options(int argc, char **argv, struct ss_settings *set)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "connections", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "requests", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "expect", required_argument, NULL, 'e' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "threads", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "progress", no_argument, NULL, 'P' },
		{ "no-progress", no_argument, NULL, 'N' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "histogram", no_argument, NULL, 'H' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli o = { .duration = "5", .warmup = "0", .connections = 50,
	    .threads = 1, .progress = -1 };
	const char *err;
	int c;

	while ((c = getopt_long(argc, argv, "m:c:d:n:s:e:w:t:T:PqVh",
	    longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o.mode = optarg; break;
		case 'e': o.expect = optarg; break;
		case 'd': o.duration = optarg; break;
		case 'w': o.warmup = optarg; break;
		case 'T': o.timeout = optarg; break;
		case 'P': o.progress = 1; break;
		case 'N': o.progress = 0; break;
		case 'q': o.quiet = true; break;
		case 'H': o.histogram = true; break;
		case 'c':
			if (parse_count(optarg, 1, 65536, &o.connections) < 0)
				return usage_error("-c %s: expected 1 to "
				    "65536 connections", optarg);
			break;
		case 't':
			if (parse_count(optarg, 1, 64, &o.threads) < 0)
				return usage_error("-t %s: expected 1 to 64 "
				    "threads", optarg);
			break;
		case 's':
			if (parse_count(optarg, 1, MAX_SIZE, &o.size) < 0)
				return usage_error("-s %s: expected 1 to "
				    "1048576 bytes", optarg);
			break;
		case 'n':
			if (parse_count(optarg, 1, INT64_MAX / 2,
			    &o.requests) < 0)
				return usage_error("-n %s: expected a positive "
				    "number of requests", optarg);
			break;
		case 'V':
			printf("sockserv-bench %s\n", PACKAGE_VERSION);
			return -1;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return usage_error("%s", optind < argc ? "one TARGET expected" :
		    "a TARGET is required");
	if (ss_target_parse(&set->target, argv[optind], &err) < 0) {
		fprintf(stderr, "sockserv-bench: %s: %s\n", argv[optind], err);
		return EXIT_USAGE;
	}
	set->mode = set->target.socktype == SOCK_DGRAM ? &ss_mode_dgram :
	    &ss_mode_pingpong;
	if (o.mode != NULL) {
		set->mode = NULL;
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (strcmp(o.mode, modes[i]->name) == 0)
				set->mode = modes[i];
		if (set->mode == NULL)
			return usage_error("-m %s: expected pingpong, connect, "
			    "bulk, idle or dgram", o.mode);
		if (set->mode->socktype != set->target.socktype)
			return usage_error("-m %s does not fit the target: "
			    "dgram is for udp: and unix-dgram:, the others "
			    "for tcp: and unix:", o.mode);
	}
	if (o.expect == NULL || strcmp(o.expect, "echo") == 0)
		set->expect = SS_EXPECT_ECHO;
	else if (strcmp(o.expect, "upper") == 0)
		set->expect = SS_EXPECT_UPPER;
	else if (strcmp(o.expect, "any") == 0)
		set->expect = SS_EXPECT_ANY;
	else
		return usage_error("-e %s: expected echo, upper or any",
		    o.expect);
	if (parse_seconds(o.duration, 0.1, MAX_SECONDS, &set->duration_ns) < 0)
		return usage_error("-d %s: expected 0.1 to 600 seconds",
		    o.duration);
	if (parse_seconds(o.warmup, 0, 60, &set->warmup_ns) < 0)
		return usage_error("-w %s: expected 0 to 60 seconds", o.warmup);
	set->timeout_ns = set->mode == &ss_mode_dgram ? SS_NS_PER_S :
	    5 * SS_NS_PER_S;
	if (o.timeout != NULL && parse_seconds(o.timeout, 0.001, MAX_SECONDS,
	    &set->timeout_ns) < 0)
		return usage_error("-T %s: expected 0.001 to 600 seconds",
		    o.timeout);
	set->size = o.size != 0 ? (size_t)o.size : set->mode->default_size;
	if (set->mode == &ss_mode_dgram && set->target.tcp == false &&
	    set->target.addr.ss_family != AF_UNIX && set->size > MAX_UDP_SIZE)
		return usage_error("-s: a UDP datagram holds at most %s bytes",
		    "65507");
	set->connections = (int)o.connections;
	set->threads = (int)(o.threads < o.connections ? o.threads :
	    o.connections);
	set->max_requests = o.requests;
	set->progress = o.progress < 0 ? isatty(STDERR_FILENO) : o.progress;
	set->quiet = o.quiet;
	set->histogram = o.histogram;
	return 0;
}

/* Each connection needs a descriptor; raise the soft limit if need be. */
static int
raise_fd_limit(int connections)
{
	rlim_t need = (rlim_t)connections + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ?
	    need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= need)
		return 0;
	fprintf(stderr, "sockserv-bench: %d connections need %llu file "
	    "descriptors; the hard limit is %llu (ulimit -Hn)\n", connections,
	    (unsigned long long)need, (unsigned long long)rl.rlim_max);
	return -1;
}

static void
on_signal(int sig)
{
	stop_signal = sig;
}

/* Signals only set a flag; workers never see them. */
static void
signals_setup(sigset_t *blocked_r)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(blocked_r);
	sigaddset(blocked_r, SIGINT);
	sigaddset(blocked_r, SIGTERM);
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / SS_NS_PER_S),
	    .tv_nsec = (long)(ns % SS_NS_PER_S) };

	nanosleep(&ts, NULL);	/* a signal cuts it short: fine */
}

/*
 * Waits for the end of the run (or of every worker, under -n), printing progress every second and, in idle
 * mode, one line on stdout once every connection has settled, so that a
 * script can measure the server while they are held.
 */
static void
supervise(struct ss_worker *ws, int n, struct ss_run *run)
{
	uint64_t next_progress = run->start_ns + SS_NS_PER_S, last = 0;
	bool announced = run->set->mode != &ss_mode_idle;

	for (;;) {
		uint64_t now = ss_now_ns();

		if (stop_signal)
			atomic_store(&run->stop, true);
		if (now >= run->end_ns || stop_signal ||
		    atomic_load(&run->running) == 0)
			return;
		if (!announced && atomic_load(&run->settled) ==
		    run->set->connections) {
			uint64_t answered = 0, errors = 0;

			for (int i = 0; i < n; i++) {
				answered += ss_read_count(&ws[i].c.requests);
				errors += ss_read_count(&ws[i].c.connect_errors)
				    + ss_read_count(&ws[i].c.timeouts);
			}
			printf("idle connections=%d answered=%llu errors=%llu\n",
			    run->set->connections,
			    (unsigned long long)answered,
			    (unsigned long long)errors);
			fflush(stdout);
			announced = true;
		}
		if (run->set->progress && now >= next_progress) {
			ss_report_progress(ws, n, run,
			    (double)(now - run->start_ns) / 1e9, &last);
			next_progress += SS_NS_PER_S;
		}
		sleep_ns(POLL_NS);
	}
}

/* Runs the workers to the end; returns 0, or -1 when they could not run. */
static int
run_workers(struct ss_worker *ws, int n, struct ss_run *run)
{
	const struct ss_settings *set = run->set;
	sigset_t blocked;
	int started = 0, ret = 0;

	signals_setup(&blocked);
	for (int i = 0; i < n; i++) {
		int share = set->connections / n + (i < set->connections % n);

		if (ss_worker_init(&ws[i], run, share) < 0) {
			fprintf(stderr, "sockserv-bench: out of memory or "
			    "descriptors: %s\n", strerror(errno));
			return -1;
		}
	}
	run->start_ns = ss_now_ns();
	run->measure_ns = run->start_ns + set->warmup_ns;
	run->end_ns = run->measure_ns + set->duration_ns;
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	atomic_store(&run->running, n);
	for (; started < n; started++) {
		errno = pthread_create(&ws[started].thread, NULL,
		    ss_worker_main, &ws[started]);
		if (errno != 0) {
			fprintf(stderr, "sockserv-bench: cannot start a "
			    "thread: %s\n", strerror(errno));
			atomic_store(&run->stop, true);
			atomic_fetch_sub(&run->running, n - started);
			ret = -1;
			break;
		}
	}
	pthread_sigmask(SIG_UNBLOCK, &blocked, NULL);
	if (ret == 0)
		supervise(ws, n, run);
	for (int i = 0; i < started; i++)
		pthread_join(ws[i].thread, NULL);
	ss_report_progress_end(run);
	return ret;
}

int
main(int argc, char **argv)
{
	static struct ss_settings set;
	static struct ss_run run;
	static struct ss_totals totals;
	struct ss_worker *ws;
	int status;

	status = parse_options(argc, argv, &set);
	if (status != 0)
		return status < 0 ? 0 : status;
	if (raise_fd_limit(set.connections) < 0)
		return EXIT_USAGE;
	run.set = &set;
	atomic_init(&run.stop, false);
	atomic_init(&run.tickets, (int_fast64_t)set.max_requests);
	atomic_init(&run.settled, 0);
	atomic_init(&run.running, 0);
	ws = calloc((size_t)set.threads, sizeof(*ws));
	if (ws == NULL || ss_payload_init(&run.payload, set.size,
	    set.expect) < 0) {
		fprintf(stderr, "sockserv-bench: out of memory\n");
		return EXIT_ERRORS;
	}
	if (run_workers(ws, set.threads, &run) < 0)
		return EXIT_ERRORS;
	ss_totals_collect(&totals, ws, set.threads, &run);
	ss_report_final(&totals, &run);
	if (set.histogram)
		ss_report_histogram(&totals);
	for (int i = 0; i < set.threads; i++)
		ss_worker_free(&ws[i]);
	free(ws);
	ss_payload_free(&run.payload);
	if (ss_totals_errors(&totals) + totals.mismatches + totals.lost > 0)
		return EXIT_ERRORS;
	if (totals.requests == 0) {
		fprintf(stderr, "sockserv-bench: no reply in %.1f s\n",
		    totals.seconds);
		return EXIT_ERRORS;
	}
	return 0;
}
