/*
 * chargen.c - the Character Generator Protocol (RFC 864), as xinetd's
 * internal "chargen" service.
 *
 * The text is RFC 864's rotating pattern: the 95 printable ASCII
 * characters, ' ' (32) to '~' (126), taken as a cyclic sequence; line k
 * (k = 0, 1, ...) is the 72 characters that start at offset k mod 95,
 * followed by "\r\n". After 95 lines the text repeats.
 *
 * Stream (tcp, unix): sends lines from line 0 on, ignoring whatever the
 * client sends, until the client closes the connection (the failing
 * write that tells it is the normal end of the request, not an error)
 * or until max_bytes bytes have been sent.
 *
 * Datagram (udp, unix-dgram): each datagram received, whatever it holds,
 * gets one reply of 512 bytes, the most RFC 864 allows (xinetd sends
 * 1024): 6 lines of 72 characters and a 7th cut to 66, each followed by
 * "\r\n". The pattern goes on from one datagram to the next, as from
 * xinetd's one ring: the reply after one starting with line k starts
 * with line k + 7, whichever client sent the datagrams and under every
 * concurrency model. A UDP datagram from a port below 1024 gets no reply
 * (reflect.h). The reply needs max_packet_size of at least 512.
 *
 * Option max_bytes (integer, default 0): on a stream, the number of
 * bytes sent before the server closes the connection (which may cut a
 * line); 0 sends until the client closes. Datagram replies ignore it.
 * Any other key is refused.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <sockserv/plugin.h>

#include "reflect.h"

#define CHARGEN_FIRST	' '
#define CHARGEN_CHARS	95		/* ' ' to '~' */
#define CHARGEN_WIDTH	72
#define CHARGEN_LINE	(CHARGEN_WIDTH + 2)
#define CHARGEN_CYCLE	(CHARGEN_CHARS * CHARGEN_LINE)	/* 7030 bytes */
/* A stream write: whole cycles, so the next one starts at line 0 again. */
#define CHARGEN_CYCLES	8
#define CHARGEN_TEXT	(CHARGEN_CYCLES * CHARGEN_CYCLE)
/*
 * The reply to a datagram: RFC 864's 512 bytes at most, filled with
 * lines as xinetd fills its 1024, the last one cut to fit, each with its
 * "\r\n" (6 lines and a 7th of 66 characters).
 */
#define CHARGEN_DGRAM	512
#define CHARGEN_DGRAM_LINES \
	((CHARGEN_DGRAM - 2 + CHARGEN_LINE - 1) / CHARGEN_LINE)

struct chargen {
	char *text;		/* CHARGEN_CYCLES cycles of lines */
	long long max_bytes;	/* 0: no bound */
	/*
	 * Datagram servers: the first line of the next reply, in memory
	 * shared with every process the server forks, so that the pattern
	 * goes on from reply to reply under forking too.
	 */
	unsigned *next;
};

static bool
chargen_is_datagram(ss_server *srv)
{
	const char *t = ss_server_transport(srv);

	return strcmp(t, "udp") == 0 || strcmp(t, "unix-dgram") == 0;
}

static void
chargen_fill(char *text)
{
	size_t line, i;
	char *p = text;

	for (line = 0; line < CHARGEN_CYCLES * CHARGEN_CHARS; line++) {
		for (i = 0; i < CHARGEN_WIDTH; i++)
			*p++ = (char)(CHARGEN_FIRST +
			    (line + i) % CHARGEN_CHARS);
		*p++ = '\r';
		*p++ = '\n';
	}
}

static void
chargen_free(struct chargen *c)
{
	if (c->next != NULL)
		munmap(c->next, sizeof(*c->next));
	free(c->text);
	free(c);
}

static int
chargen_init(ss_server *srv, const config_setting_t *options)
{
	struct chargen *c;
	long long max_bytes = 0;
	void *shared;
	/* A number of bytes, but a long long: 0 means "no bound". */
	const struct ss_option table[] = {
		{ "max_bytes", SS_OPTION_INT, &max_bytes, 0, LLONG_MAX },
		{ NULL, 0, NULL, 0, 0 },
	};

	if (ss_options(srv, options, table) < 0)
		return -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->text = malloc(CHARGEN_TEXT)) == NULL) {
		free(c);
		ss_log(srv, LOG_ERR, "out of memory");
		return -1;
	}
	c->max_bytes = max_bytes;
	chargen_fill(c->text);
	if (chargen_is_datagram(srv)) {
		shared = mmap(NULL, sizeof(*c->next), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shared == MAP_FAILED) {
			ss_log(srv, LOG_ERR, "mmap: %s", strerror(errno));
			chargen_free(c);
			return -1;
		}
		c->next = shared;	/* zero-filled: line 0 first */
	}
	ss_set_server_data(srv, c);
	return 0;
}

static void
chargen_fini(ss_server *srv)
{
	chargen_free(ss_server_data(srv));
}

/* Takes `lines` lines from the shared ring; returns the first one. */
static unsigned
chargen_take(unsigned *next, unsigned lines)
{
	unsigned first = __atomic_load_n(next, __ATOMIC_RELAXED);

	while (!__atomic_compare_exchange_n(next, &first,
	    (first + lines) % CHARGEN_CHARS, false, __ATOMIC_RELAXED,
	    __ATOMIC_RELAXED))
		continue;
	return first;
}

static int
chargen_datagram(ss_request *req, const struct chargen *c)
{
	char reply[CHARGEN_DGRAM];
	size_t len = 0, n, i;
	unsigned line;

	line = chargen_take(c->next, CHARGEN_DGRAM_LINES);
	for (i = 0; i < CHARGEN_DGRAM_LINES; i++) {
		n = sizeof(reply) - len - 2;
		if (n > CHARGEN_WIDTH)
			n = CHARGEN_WIDTH;
		memcpy(reply + len, c->text + (size_t)line * CHARGEN_LINE, n);
		memcpy(reply + len + n, "\r\n", 2);
		len += n + 2;
		line = (line + 1) % CHARGEN_CHARS;
	}
	return ss_write(req, reply, len) < 0 ? -1 : 0;
}

static int
chargen_stream(ss_request *req, const struct chargen *c)
{
	unsigned long long left = (unsigned long long)c->max_bytes;
	size_t n = CHARGEN_TEXT;

	for (;;) {
		if (c->max_bytes > 0) {
			if (left == 0)
				return 0;
			if (left < n)
				n = (size_t)left;
			left -= n;
		}
		if (ss_write(req, c->text, n) < 0)
			/* The client closed: what chargen waits for. */
			return errno == EPIPE || errno == ECONNRESET ? 0 : -1;
	}
}

static int
chargen_handle(ss_request *req)
{
	const struct chargen *c = ss_server_data(ss_server_of(req));

	if (c->next != NULL)
		return chargen_datagram(req, c);
	return chargen_stream(req, c);
}

SS_HANDLER(
	.name = "chargen",
	.version = "1.0",
	.init = chargen_init,
	.fini = chargen_fini,
	.verify_request = reflect_verify_request,
	.handle = chargen_handle,
);
