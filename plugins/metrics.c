/*
 * metrics.c - answers HTTP `GET /metrics` with the daemon's counters in
 * Prometheus's text exposition format (ss_metrics), so that Prometheus
 * scrapes sockservd through a server of its own, with sockserv's access
 * rules, limits and concurrency like any other.
 *
 * One request per connection: the reply says `Connection: close` and
 * the daemon closes the connection after it, as HTTP/1.0 and HTTP/1.1
 * both allow. GET and HEAD of /metrics (any query string ignored) get
 * 200; another path 404; another method 405 with `Allow: GET, HEAD`; a
 * malformed request line or header, a missing Host in HTTP/1.1, or an
 * input that ends before the empty line 400; a request line longer than
 * max_line 414; a header line longer than it, or more than
 * METRICS_MAX_HEADERS headers, 431.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sockserv/plugin.h>

/* More header lines than any scraper sends, fewer than an attack wants. */
#define METRICS_MAX_HEADERS 100
/* A body announced with a request is read and dropped up to this much. */
#define METRICS_MAX_BODY (64 * 1024)

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* What the request line and headers said, once read. */
struct metrics_req {
	int status;		/* 0 while the request is well formed */
	int minor;		/* HTTP/1.minor, for the reply's version */
	bool head;		/* HEAD: the headers without the body */
	bool host;		/* a Host header was seen */
	long long body;		/* Content-Length, or 0 */
};

static const char *
metrics_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

/* RFC 9110's tchar: what a method and a header's name are made of. */
static bool
metrics_token(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("!#$%&'*+-.^_`|~", s[i]) == NULL)
			return false;
	return true;
}

/* The line without its "\n" or "\r\n"; false when it has a NUL byte. */
static bool
metrics_chomp(const char *line, size_t *n)
{
	if (memchr(line, '\0', *n) != NULL)
		return false;
	if (*n > 0 && line[*n - 1] == '\n')
		(*n)--;
	if (*n > 0 && line[*n - 1] == '\r')
		(*n)--;
	return true;
}

/*
 * "METHOD SP TARGET SP HTTP/1.x": sets the status of a request that
 * cannot be served (400, 404, 405), or leaves it 0.
 */
static void
metrics_request_line(struct metrics_req *r, const char *line, size_t n)
{
	const char *sp1, *sp2, *target, *version, *end = line + n;
	size_t mlen, tlen, plen;

	sp1 = memchr(line, ' ', n);
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) :
	    NULL;
	if (sp2 == NULL || memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)))
		goto bad;
	mlen = (size_t)(sp1 - line);
	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	version = sp2 + 1;
	if (end - version != 8 || memcmp(version, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)version[7]) || !metrics_token(line, mlen) ||
	    tlen == 0 || target[0] != '/')
		goto bad;
	r->minor = version[7] - '0';
	for (plen = 0; plen < tlen; plen++)
		if (!isgraph((unsigned char)target[plen]))
			goto bad;
	for (plen = 0; plen < tlen && target[plen] != '?'; plen++)
		;
	if (mlen == 4 && memcmp(line, "HEAD", 4) == 0)
		r->head = true;
	else if (mlen != 3 || memcmp(line, "GET", 3) != 0)
		r->status = 405;
	if (r->status == 0 && (plen != 8 || memcmp(target, "/metrics", 8)))
		r->status = 404;
	return;
bad:
	r->minor = 1;
	r->status = 400;
}

/* "Name: value": 400 unless well formed; notes Host and Content-Length. */
static void
metrics_header(struct metrics_req *r, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n), *v;
	char *endp;
	size_t nlen;

	if (colon == NULL || !metrics_token(line, (size_t)(colon - line))) {
		r->status = 400;	/* obs-fold too: a line begun by SP */
		return;
	}
	nlen = (size_t)(colon - line);
	if (nlen == 4 && strncasecmp(line, "host", 4) == 0)
		r->host = true;
	if (nlen == 14 && strncasecmp(line, "content-length", 14) == 0) {
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		errno = 0;
		r->body = isdigit((unsigned char)*v) ? strtoll(v, &endp, 10) : -1;
		if (r->body < 0 || errno != 0)
			r->status = 400;
		else	/* the line ends with its "\r\n", after n bytes */
			for (; endp < line + n; endp++)
				if (*endp != ' ' && *endp != '\t')
					r->status = 400;
	}
}

/*
 * Reads the request line and the headers up to the empty line. Returns 0
 * (r->status tells what to answer), 1 when the input ended before any
 * request line (a port probe: nothing to answer), -1 when it failed.
 */
static int
metrics_read(ss_request *req, struct metrics_req *r)
{
	const char *line;
	ssize_t got;
	size_t n;
	int headers = 0;

	got = ss_getline(req, &line);
	if (got == 0)
		return 1;
	if (got < 0 && errno == EMSGSIZE) {
		r->status = 414;
		return 0;
	}
	if (got < 0)
		return -1;
	n = (size_t)got;
	if (!metrics_chomp(line, &n))
		r->status = 400;
	else
		metrics_request_line(r, line, n);
	if (r->status == 400)
		return 0;
	for (;;) {
		got = ss_getline(req, &line);
		if (got < 0 && errno == EMSGSIZE) {
			r->status = 431;
			return 0;
		}
		if (got < 0)
			return -1;
		n = (size_t)got;
		if (got == 0 || line[n - 1] != '\n' || !metrics_chomp(line, &n)) {
			r->status = 400;	/* cut short, or a NUL */
			return 0;
		}
		if (n == 0)
			break;
		if (++headers > METRICS_MAX_HEADERS) {
			r->status = 431;
			return 0;
		}
		metrics_header(r, line, n);
		if (r->status == 400)
			return 0;
	}
	if (r->minor >= 1 && !r->host)
		r->status = 400;
	return 0;
}

/*
 * Drops the body a request announced, so that closing with it unread
 * does not reset the connection before the client reads the reply.
 */
static void
metrics_drain(ss_request *req, long long body)
{
	char buf[4096];
	ssize_t got;

	if (body > METRICS_MAX_BODY)
		return;
	while (body > 0) {
		got = ss_read(req, buf, sizeof(buf) < (size_t)body ?
		    sizeof(buf) : (size_t)body);
		if (got <= 0)
			return;
		body -= got;
	}
}

/* The status line and headers, then the body unless it is a HEAD. */
static int
metrics_reply(ss_request *req, const struct metrics_req *r, int status,
    const char *body, size_t len)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.%d %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", r->minor == 0 ? 0 : 1, status,
	    metrics_reason(status), status == 200 ? METRICS_CONTENT_TYPE :
	    "text/plain; charset=utf-8", len,
	    status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	if (ss_write(req, head, (size_t)n) < 0)
		return -1;
	if (r->head || len == 0)
		return 0;
	return ss_write(req, body, len) < 0 ? -1 : 0;
}

static int
metrics_handle(ss_request *req)
{
	struct metrics_req r = { .minor = 1 };
	char msg[64];
	const char *text;
	size_t len;
	int n;

	n = metrics_read(req, &r);
	if (n != 0)
		return n < 0 ? -1 : 0;
	if (r.status == 0 || r.status == 404 || r.status == 405)
		metrics_drain(req, r.body);
	if (r.status == 0) {
		text = ss_metrics(req, &len);
		if (text != NULL)
			return metrics_reply(req, &r, 200, text, len);
		ss_log(ss_server_of(req), LOG_ERR, "cannot render the "
		    "metrics: %s", strerror(errno));
		r.status = 500;
	} else {
		ss_log(ss_server_of(req), LOG_DEBUG, "%s: %d %s",
		    ss_client_name(req), r.status, metrics_reason(r.status));
	}
	n = snprintf(msg, sizeof(msg), "%d %s\n", r.status,
	    metrics_reason(r.status));
	return metrics_reply(req, &r, r.status, msg, (size_t)n);
}

/* HTTP over a stream only; no options. */
static int
metrics_init(ss_server *srv, const config_setting_t *options)
{
	const char *transport = ss_server_transport(srv);

	if (strcmp(transport, "tcp") != 0 && strcmp(transport, "unix") != 0) {
		ss_option_error(srv, NULL, NULL, "transport \"%s\" is not "
		    "supported (expected a stream: \"tcp\" or \"unix\")",
		    transport);
		return -1;
	}
	return ss_options(srv, options, NULL);
}

SS_HANDLER(
	.name = "metrics",
	.version = "1.0",
	.init = metrics_init,
	.handle = metrics_handle,
);
