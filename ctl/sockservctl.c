/*
 * sockservctl - asks a running sockservd over its control socket
 * (daemon.control): one request line, then the reply up to the end of
 * input, whose last line is "ok" or "error: WHY" (sockservctl(8)).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"

#define CTL_DEFAULT_SOCKET	"/run/sockserv/control.sock"
/* A reload initialises plugins: give it time, but not forever. */
#define CTL_TIMEOUT_MS		60000
#define CTL_MAX_REPLY		(64u << 20)

#define EXIT_OK		0
#define EXIT_REFUSED	1	/* the daemon answered "error: ..." */
#define EXIT_USAGE	2
#define EXIT_NOCONTACT	3	/* no connection, or no whole reply */

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: sockservctl [-s CONTROL_SOCKET] COMMAND\n"
	    "  status              one line per server, and the daemon's "
	    "uptime\n"
	    "  stats [--json]      the counters, as a table or as JSON\n"
	    "  reload              re-read the configuration (as SIGHUP), "
	    "and say if it\n"
	    "                      was applied\n"
	    "  stop                stop the daemon (as SIGTERM)\n"
	    "  log-level LEVEL     error|warning|notice|info|debug\n"
	    "  -s, --socket PATH   the control socket (default %s)\n"
	    "  -V, --version       -h, --help\n", CTL_DEFAULT_SOCKET);
}

/* The commands and what they take, so that a typo is a usage error. */
static bool
command_known(int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "reload") == 0 ||
	    strcmp(cmd, "stop") == 0)
		return argc == 1;
	if (strcmp(cmd, "stats") == 0)
		return argc == 1 || (argc == 2 && strcmp(argv[1], "--json") == 0);
	if (strcmp(cmd, "log-level") == 0)
		return argc == 2;
	return false;
}

/* The command words as one request line; -1 when it is too long. */
static int
request_line(char *buf, size_t size, int argc, char **argv)
{
	size_t n = 0;
	int i, r;

	for (i = 0; i < argc; i++) {
		if (strchr(argv[i], '\n') != NULL)
			return -1;
		r = snprintf(buf + n, size - n, "%s%s", i > 0 ? " " : "",
		    argv[i]);
		if (r < 0 || (size_t)r >= size - n)
			return -1;
		n += (size_t)r;
	}
	if (n + 2 > size)
		return -1;
	buf[n++] = '\n';
	buf[n] = '\0';
	return (int)n;
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "sockservctl: %s: path too long for a unix "
		    "socket\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "sockservctl: cannot connect to %s: %s (is "
		    "sockservd running, with daemon.control set there?)\n",
		    path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until the daemon closes; the reply is NUL-terminated in *buf_r. */
static int
recv_all(int fd, char **buf_r, size_t *len_r)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *grown;
	ssize_t r;

	for (;;) {
		if (buf == NULL || len >= CTL_MAX_REPLY)
			break;
		if (len + 1 >= cap) {
			grown = realloc(buf, cap * 2);
			if (grown == NULL)
				break;
			buf = grown;
			cap *= 2;
		}
		r = poll(&pfd, 1, CTL_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (r == 0) {
			buf[len] = '\0';
			*buf_r = buf;
			*len_r = len;
			return 0;
		}
		len += (size_t)r;
	}
	free(buf);
	return -1;
}

/*
 * The body goes to stdout on success, to stderr with the daemon's error
 * otherwise; a reply without its status line was cut short.
 */
static int
report(char *reply, size_t len)
{
	char *last;

	if (len == 0 || reply[len - 1] != '\n') {
		fprintf(stderr, "sockservctl: the reply was cut short\n");
		return EXIT_NOCONTACT;
	}
	reply[--len] = '\0';
	last = strrchr(reply, '\n');
	last = last != NULL ? last + 1 : reply;
	if (strcmp(last, "ok") == 0) {
		fwrite(reply, 1, (size_t)(last - reply), stdout);
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_NOCONTACT;
	}
	if (strncmp(last, "error: ", 7) == 0) {
		fwrite(reply, 1, (size_t)(last - reply), stderr);
		fprintf(stderr, "sockservctl: %s\n", last + 7);
		return EXIT_REFUSED;
	}
	fprintf(stderr, "sockservctl: the reply has no status line\n");
	return EXIT_NOCONTACT;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = CTL_DEFAULT_SOCKET;
	char line[1024], *reply;
	size_t len;
	int c, fd, n, rc;

	/* "+": stop at the command, so that "stats --json" is its own. */
	while ((c = getopt_long(argc, argv, "+s:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'V': printf("sockservctl %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!command_known(argc - optind, argv + optind)) {
		fprintf(stderr, "sockservctl: unknown command or wrong "
		    "arguments: %s\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	n = request_line(line, sizeof(line), argc - optind, argv + optind);
	if (n < 0) {
		fprintf(stderr, "sockservctl: the command is too long\n");
		return EXIT_USAGE;
	}
	if ((fd = ctl_connect(path)) < 0)
		return EXIT_NOCONTACT;
	if (send_all(fd, line, (size_t)n) < 0 ||
	    recv_all(fd, &reply, &len) < 0) {
		fprintf(stderr, "sockservctl: %s: no whole reply: %s\n", path,
		    errno != 0 ? strerror(errno) : "timed out");
		close(fd);
		return EXIT_NOCONTACT;
	}
	close(fd);
	rc = report(reply, len);
	free(reply);
	return rc;
}
