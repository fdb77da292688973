/*
 * control.c - the control socket: a unix stream socket, mode 0600, that
 * answers sockservctl's requests (status, stats, reload, stop, log-level)
 * from the main thread's loop. Nothing here blocks: a slow, silent,
 * greedy or hostile client is cut off at its deadline or its limit, with
 * a line saying why, and the loop goes on handling signals and stops.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "clock.h"
#include "conf.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "stats.h"
#include "strbuf.h"

/* A reply larger than this is not sent (none comes near it). */
#define CONTROL_MAX_REPLY	(16u << 20)
/* Connections taken off the listener per loop turn. */
#define CONTROL_ACCEPT_BURST	64
/* Refusals over the cap are logged at most this often. */
#define CONTROL_REFUSAL_LOG_INTERVAL	1.0

_Static_assert(1 + CONTROL_MAX_CLIENTS <= DAEMON_SOURCE_NPOLL,
    "the main loop polls the listener and every client");

struct control_client {
	int fd;				/* -1: a free slot */
	char in[CONTROL_MAX_LINE + 1];	/* the line and a NUL */
	size_t inlen;
	bool replying;			/* the request is taken */
	struct strbuf out;
	size_t sent;
	double deadline;
};

struct control {
	struct daemon *d;
	int fd;
	char *path;			/* absolute: removed from "/" too */
	struct control_client clients[CONTROL_MAX_CLIENTS];
	unsigned long refused;		/* over the cap, not yet logged */
	double refused_logged;
};

/* --- the socket file ------------------------------------------------------ */

static char *
control_absolute(const char *path)
{
	char cwd[PATH_MAX], *abs;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    asprintf(&abs, "%s/%s", cwd, path) < 0)
		return NULL;
	return abs;
}

static void
control_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path);
}

/*
 * A socket file nobody answers on is left over from a crashed run and is
 * replaced; anything else at the path is someone else's.
 */
static int
control_claim_path(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r, err;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		log_errno(LOG_ERR, "control socket %s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_error("control socket %s: the path exists and is not a "
		    "socket; remove it or choose another daemon.control", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_errno(LOG_ERR, "control socket: socket");
		return -1;
	}
	control_addr(&sun, path);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	err = errno;
	close(fd);
	if (r < 0 && err == ECONNREFUSED) {
		log_notice("replacing stale control socket %s", path);
		if (unlink(path) < 0 && errno != ENOENT) {
			log_errno(LOG_ERR, "cannot remove %s", path);
			return -1;
		}
		return 0;
	}
	log_error("control socket %s is in use by another process", path);
	return -1;
}

/*
 * Bound under a temporary name with umask 077, given its mode and owner,
 * made to listen, then renamed into place: nobody ever finds the path
 * with other permissions. Only the main thread runs yet, so the umask
 * change is seen by nothing else.
 */
static int
control_bind(struct control *c, uid_t uid, gid_t gid)
{
	struct sockaddr_un sun;
	char tmp[sizeof(sun.sun_path)];
	const char *at = c->path;
	mode_t mask;
	int r;

	if (strlen(c->path) >= sizeof(sun.sun_path)) {
		log_error("control socket %s: the path is too long for a unix "
		    "socket", c->path);
		return -1;
	}
	r = snprintf(tmp, sizeof(tmp), "%s.new", c->path);
	if (r > 0 && (size_t)r < sizeof(tmp)) {
		at = tmp;
		(void)unlink(at);
	}
	control_addr(&sun, at);
	mask = umask(077);
	r = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(mask);
	if (r < 0) {
		log_errno(LOG_ERR, "cannot bind control socket %s", at);
		return -1;
	}
	if (chmod(at, 0600) < 0 || (uid != (uid_t)-1 &&
	    chown(at, uid, gid) < 0) || listen(c->fd, CONTROL_MAX_CLIENTS) < 0 ||
	    (at != c->path && rename(at, c->path) < 0)) {
		log_errno(LOG_ERR, "cannot set up control socket %s", c->path);
		(void)unlink(at);
		return -1;
	}
	return 0;
}

static size_t control_pollfds(void *arg, struct pollfd *pfd);
static double control_deadline(void *arg);
static void control_serve(void *arg, const struct pollfd *pfd, size_t n,
    bool stopping);
static void control_child_close(void *arg);

int
control_open(struct daemon *d, const char *path, uid_t uid, gid_t gid)
{
	struct control *c = calloc(1, sizeof(*c));
	size_t i;

	if (c == NULL || (c->path = control_absolute(path)) == NULL) {
		log_error("control socket %s: out of memory", path);
		free(c);
		return -1;
	}
	c->d = d;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	c->fd = -1;
	if (control_claim_path(c->path) < 0)
		goto fail;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		log_errno(LOG_ERR, "control socket: socket");
		goto fail;
	}
	if (control_bind(c, uid, gid) < 0)
		goto fail;
	d->control = (struct daemon_source){ .arg = c,
	    .pollfds = control_pollfds, .deadline = control_deadline,
	    .serve = control_serve, .child_close = control_child_close };
	log_info("control socket %s", c->path);
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c->path);
	free(c);
	return -1;
}

static void
control_drop(struct control_client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	strbuf_free(&cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

void
control_close(struct daemon *d)
{
	struct control *c = d->control.arg;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		control_drop(&c->clients[i]);
	close(c->fd);
	if (unlink(c->path) < 0 && errno != ENOENT)
		log_errno(LOG_WARNING, "cannot remove control socket %s",
		    c->path);
	free(c->path);
	free(c);
	memset(&d->control, 0, sizeof(d->control));
}

/* In a forked child: the descriptors go, the file stays the daemon's. */
static void
control_child_close(void *arg)
{
	struct control *c = arg;
	size_t i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0) {
			close(c->clients[i].fd);
			c->clients[i].fd = -1;
		}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* --- the commands --------------------------------------------------------- */

#define CONTROL_MAX_ARGS	4

/* What a command answers: text for `out`, or -1 and why in `why`. */
struct control_request {
	struct daemon *d;
	bool stopping;
	char *argv[CONTROL_MAX_ARGS];
	int argc;
	struct strbuf *out;
	char why[256];
};

static int control_fail(struct control_request *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
control_fail(struct control_request *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return -1;
}

static void
control_source(const struct daemon *d, struct stats_source *src)
{
	*src = (struct stats_source){ .servers = d->servers,
	    .nservers = d->nservers, .uptime = clock_now() - d->started,
	    .version = PACKAGE_VERSION };
}

static int
control_status(struct control_request *r)
{
	struct stats_source src;

	if (r->argc != 1)
		return control_fail(r, "status takes no argument");
	control_source(r->d, &src);
	stats_table(&src, r->out);
	return 0;
}

static int
control_stats(struct control_request *r)
{
	struct stats_source src;

	if (r->argc > 2 || (r->argc == 2 && strcmp(r->argv[1], "--json") != 0))
		return control_fail(r, "stats takes only --json");
	control_source(r->d, &src);
	if (r->argc == 2)
		stats_json(&src, r->out);
	else
		stats_table(&src, r->out);
	return 0;
}

/* The reload's error lines are the reply; its last one says the rest. */
static int
control_reload(struct control_request *r)
{
	struct strbuf errors = { 0 };
	int rc = 0;

	if (r->argc != 1)
		return control_fail(r, "reload takes no argument");
	if (r->stopping)
		return control_fail(r, "stopping, not reloading");
	r->d->reload_errors = &errors;
	r->d->reload(r->d);
	r->d->reload_errors = NULL;
	if (errors.len > 0 || errors.failed) {
		strbuf_printf(r->out, "%s", errors.data != NULL ?
		    errors.data : "");
		rc = control_fail(r, "the new configuration was not applied");
	}
	strbuf_free(&errors);
	return rc;
}

/*
 * As SIGTERM, through the signalfd (the signal is blocked in this
 * thread): a second stop hurries the first, as a second SIGTERM does.
 */
static int
control_stop(struct control_request *r)
{
	if (r->argc != 1)
		return control_fail(r, "stop takes no argument");
	log_notice("control: stop requested");
	if (raise(SIGTERM) != 0)
		return control_fail(r, "cannot stop: %s", strerror(errno));
	return 0;
}

static int
control_log_level(struct control_request *r)
{
	int level;

	if (r->argc != 2)
		return control_fail(r, "log-level takes one LEVEL (error, "
		    "warning, notice, info or debug)");
	level = conf_log_level(r->argv[1]);
	if (level < 0)
		return control_fail(r, "unknown log level (expected error, "
		    "warning, notice, info or debug)");
	log_set_level(level);
	log_notice("control: log level set to %s", r->argv[1]);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct control_request *r);
} control_commands[] = {
	{ "status", control_status },
	{ "stats", control_stats },
	{ "reload", control_reload },
	{ "stop", control_stop },
	{ "log-level", control_log_level },
};

/* At most 32 printable characters of s, for a reply or the log. */
static void
control_printable(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < size && i < 32; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
}

/* Runs one request line (its '\n' gone) into out, status line included. */
static void
control_execute(struct daemon *d, bool stopping, char *line,
    struct strbuf *out)
{
	struct control_request r = { .d = d, .stopping = stopping,
	    .out = out };
	char *word, *save = NULL, shown[40];
	size_t i, n = strlen(line);
	int rc = -1;

	if (n > 0 && line[n - 1] == '\r')
		line[n - 1] = '\0';
	for (word = strtok_r(line, " \t", &save); word != NULL;
	    word = strtok_r(NULL, " \t", &save)) {
		if (r.argc == CONTROL_MAX_ARGS) {
			control_fail(&r, "too many arguments");
			goto done;
		}
		r.argv[r.argc++] = word;
	}
	if (r.argc == 0) {
		control_fail(&r, "empty request (expected status, stats "
		    "[--json], reload, stop or log-level LEVEL)");
		goto done;
	}
	control_printable(r.argv[0], shown, sizeof(shown));
	for (i = 0; i < sizeof(control_commands) /
	    sizeof(control_commands[0]); i++)
		if (strcmp(r.argv[0], control_commands[i].name) == 0)
			break;
	if (i == sizeof(control_commands) / sizeof(control_commands[0])) {
		control_fail(&r, "unknown command '%s' (expected status, stats "
		    "[--json], reload, stop or log-level LEVEL)", shown);
		goto done;
	}
	log_info("control: %s", shown);
	rc = control_commands[i].run(&r);
done:
	if (out->failed || out->len > CONTROL_MAX_REPLY) {
		strbuf_free(out);
		memset(out, 0, sizeof(*out));
		if (rc == 0)
			rc = control_fail(&r, "the reply is too large");
	}
	if (rc == 0)
		strbuf_printf(out, "ok\n");
	else
		strbuf_printf(out, "error: %s\n", r.why);
	if (rc < 0)
		log_notice("control: error: %s", r.why);
}

/* --- the clients ---------------------------------------------------------- */

/* A last word to a client being turned away: if it fits, it goes. */
static void
control_say(int fd, const char *text)
{
	(void)!send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Sends what the socket takes; the client is done when all went. */
static void
control_write(struct control_client *cl)
{
	ssize_t w;

	while (cl->sent < cl->out.len) {
		w = send(cl->fd, cl->out.data + cl->sent, cl->out.len - cl->sent,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0) {
			control_drop(cl);
			return;
		}
		cl->sent += (size_t)w;
	}
	control_drop(cl);
}

static void
control_reply(struct control_client *cl, struct daemon *d, bool stopping,
    char *line)
{
	cl->replying = true;
	cl->deadline = clock_now() + CONTROL_TIMEOUT;
	control_execute(d, stopping, line, &cl->out);
	control_write(cl);
}

/*
 * Reads what there is; a whole line (or what came before the end of
 * input) is the request. Nothing after it is read.
 */
static void
control_read(struct control_client *cl, struct daemon *d, bool stopping)
{
	char *nl;
	ssize_t r;

	for (;;) {
		r = recv(cl->fd, cl->in + cl->inlen, CONTROL_MAX_LINE -
		    cl->inlen, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0 || (r == 0 && cl->inlen == 0)) {
			control_drop(cl);
			return;
		}
		cl->in[cl->inlen + (size_t)r] = '\0';
		nl = memchr(cl->in + cl->inlen, '\n', (size_t)r);
		cl->inlen += (size_t)r;
		if (memchr(cl->in, '\0', cl->inlen) != NULL) {
			log_warning("control: a request holds a NUL byte; "
			    "client dropped");
			control_say(cl->fd, "error: a request is one line of "
			    "text\n");
			control_drop(cl);
			return;
		}
		if (nl != NULL || r == 0) {
			if (nl != NULL)
				*nl = '\0';
			control_reply(cl, d, stopping, cl->in);
			return;
		}
		if (cl->inlen == CONTROL_MAX_LINE) {
			log_warning("control: a request line longer than %d "
			    "bytes; client dropped", CONTROL_MAX_LINE);
			control_say(cl->fd, "error: request line too long "
			    "(at most 1024 bytes with its newline)\n");
			control_drop(cl);
			return;
		}
	}
}

static void
control_refuse(struct control *c, int fd)
{
	control_say(fd, "error: too many control clients at once; try "
	    "again\n");
	close(fd);
	c->refused++;
}

/* Refusals make one line a second at most, not one each. */
static void
control_log_refusals(struct control *c)
{
	double now = clock_now();

	if (c->refused == 0 ||
	    now < c->refused_logged + CONTROL_REFUSAL_LOG_INTERVAL)
		return;
	log_warning("control: refused %lu client(s): at most %d are served "
	    "at once", c->refused, CONTROL_MAX_CLIENTS);
	c->refused = 0;
	c->refused_logged = now;
}

static void
control_accept(struct control *c)
{
	struct control_client *cl;
	int fd, n, i;

	for (n = 0; n < CONTROL_ACCEPT_BURST; n++) {
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_errno(LOG_WARNING, "control: accept");
			return;
		}
		for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
			if (c->clients[i].fd < 0)
				break;
		if (i == CONTROL_MAX_CLIENTS) {
			control_refuse(c, fd);
			continue;
		}
		cl = &c->clients[i];
		cl->fd = fd;
		cl->deadline = clock_now() + CONTROL_TIMEOUT;
	}
}

/* Clients past their deadline are dropped, saying why when they wait. */
static void
control_expire(struct control *c)
{
	double now = clock_now();
	struct control_client *cl;
	size_t i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		cl = &c->clients[i];
		if (cl->fd < 0 || now < cl->deadline)
			continue;
		if (cl->replying) {
			log_warning("control: a client did not take its reply "
			    "within %gs; dropped", CONTROL_TIMEOUT);
		} else {
			log_warning("control: a client sent no whole request "
			    "line within %gs; dropped", CONTROL_TIMEOUT);
			control_say(cl->fd, "error: no request line in time\n");
		}
		control_drop(cl);
	}
}

static size_t
control_pollfds(void *arg, struct pollfd *pfd)
{
	const struct control *c = arg;
	size_t i, n = 0;

	pfd[n++] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = c->clients[i].fd,
			    .events = c->clients[i].replying ? POLLOUT :
			    POLLIN };
	return n;
}

static double
control_deadline(void *arg)
{
	const struct control *c = arg;
	double next = 0;
	size_t i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0 && (next == 0 ||
		    c->clients[i].deadline < next))
			next = c->clients[i].deadline;
	if (c->refused > 0 && (next == 0 || c->refused_logged +
	    CONTROL_REFUSAL_LOG_INTERVAL < next))
		next = c->refused_logged + CONTROL_REFUSAL_LOG_INTERVAL;
	return next;
}

static void
control_serve(void *arg, const struct pollfd *pfd, size_t n, bool stopping)
{
	struct control *c = arg;
	struct daemon *d = c->d;
	struct control_client *cl;
	size_t i, k;

	/* Slots in the order control_pollfds listed them, checked by fd. */
	for (i = 0, k = 1; i < CONTROL_MAX_CLIENTS && k < n; i++) {
		cl = &c->clients[i];
		if (cl->fd < 0 || cl->fd != pfd[k].fd)
			continue;
		if (pfd[k].revents != 0) {
			if (cl->replying)
				control_write(cl);
			else
				control_read(cl, d, stopping);
		}
		k++;
	}
	control_expire(c);
	if (n > 0 && (pfd[0].revents & POLLIN))
		control_accept(c);
	control_log_refusals(c);
}
