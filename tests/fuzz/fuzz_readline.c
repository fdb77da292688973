/*
 * fuzz_readline.c - ss_readline's buffering over a real stream socket.
 *
 * Input: byte 0 picks max_line (2-300), byte 1 how many caps follow (1-8),
 * then one byte per cap (2-300; the calls cycle through them); the rest
 * is what the client sends before it shuts down its side. Lines that
 * cross the 4096-byte receive buffer come from streams with many short
 * lines before a long one.
 *
 * The oracle is exact: each call returns the next line of the stream
 * (through its '\n', or the unterminated rest at the end) when it fits
 * min(cap - 1, max_line), fails with EMSGSIZE when it does not, and
 * returns 0 once the stream is used up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "fuzz.h"
#include "request.h"
#include "server.h"
#include "transport.h"

#define MAX_CAPS 8

struct plan {
	size_t max_line;
	size_t caps[MAX_CAPS];
	size_t ncaps;
	const uint8_t *stream;
	size_t len;
};

static const struct transport_ops fuzz_transport_ops = {
	.name = "fuzz",
	.stream = true,
	.conn = &conn_socket_ops,
};

static size_t
plan_size(uint8_t b)
{
	return 2 + b % 299;
}

static int
plan_read(struct plan *plan, const uint8_t *data, size_t size)
{
	size_t i;

	if (size < 2)
		return -1;
	plan->max_line = plan_size(data[0]);
	plan->ncaps = 1 + data[1] % MAX_CAPS;
	if (size < 2 + plan->ncaps)
		return -1;
	for (i = 0; i < plan->ncaps; i++)
		plan->caps[i] = plan_size(data[2 + i]);
	plan->stream = data + 2 + plan->ncaps;
	plan->len = size - 2 - plan->ncaps;
	return 0;
}

/* Length of the line at the start of s: through '\n', or all of it. */
static size_t
line_length(const uint8_t *s, size_t len)
{
	const uint8_t *nl = memchr(s, '\n', len);

	return nl != NULL ? (size_t)(nl - s) + 1 : len;
}

/* Reads lines until the end or an error, checking each against plan. */
static void
read_lines(struct ss_request *req, const struct plan *plan, size_t sent)
{
	size_t pos = 0, call;

	for (call = 0;; call++) {
		size_t cap = plan->caps[call % plan->ncaps], limit, want;
		char *buf = malloc(cap);	/* exact: ASan sees overruns */
		ssize_t n;

		if (buf == NULL)
			abort();
		limit = cap - 1 < plan->max_line ? cap - 1 : plan->max_line;
		want = line_length(plan->stream + pos, sent - pos);
		errno = 0;
		n = ss_readline(req, buf, cap);
		if (n < 0) {
			if (errno != EMSGSIZE || want <= limit)
				abort();
			free(buf);
			return;
		}
		if ((size_t)n != want || (size_t)n > limit || buf[n] != '\0' ||
		    memcmp(buf, plan->stream + pos, (size_t)n) != 0)
			abort();
		free(buf);
		if (n == 0)
			return;
		pos += (size_t)n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_server cs;
	struct ss_server srv;
	struct ss_request *req;
	struct plan plan;
	ssize_t sent = 0;
	int sv[2];

	if (plan_read(&plan, data, size) < 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* Never blocks: what did not fit is simply not part of the stream. */
	if (plan.len > 0)
		sent = send(sv[1], plan.stream, plan.len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent < 0)
		sent = 0;
	shutdown(sv[1], SHUT_WR);

	memset(&cs, 0, sizeof(cs));
	cs.max_line = plan.max_line;
	cs.request_timeout = 5.0;
	memset(&srv, 0, sizeof(srv));
	srv.conf = &cs;
	srv.name = "fuzz";
	srv.transport = &fuzz_transport_ops;
	srv.stop_fd = -1;
	srv.child = false;
	req = request_new(&srv);
	if (req == NULL)
		abort();
	req->fd = sv[0];
	req->conn = &conn_socket_ops;

	read_lines(req, &plan, (size_t)sent);

	/* request_free closes a connection through the daemon; there is none. */
	req->fd = -1;
	request_free(req);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
