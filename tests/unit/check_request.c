/*
 * check_request.c - the line buffering of daemon/request.c behind
 * ss_readline and ss_getline: lines split across reads, several lines in
 * one read, lines at and past max_line and the caller's buffer, the last
 * line without its newline, NUL bytes, read errors, and the input buffer
 * growing from 4 KiB to 64 KiB once a read fills it.
 *
 * A fake connection stands in for the socket: its reads return the chunks
 * a test scripts, in order, then end of input, and it records how much
 * each read asked for.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "request.h"
#include "server_state.h"
#include "../run_suite.h"

#define MAX_CHUNKS	8
#define MAX_READS	64

/* The reads the fake connection will return, and the ones it was asked. */
static struct {
	const char *chunk[MAX_CHUNKS];
	size_t len[MAX_CHUNKS];
	size_t nchunks, next, off;	/* off: what chunk[next] gave so far */
	int error;			/* errno once they are used up, or 0 */
	size_t asked[MAX_READS];	/* n of each read */
	size_t nreads;
} script;

static struct conf_server conf;
static struct ss_server srv;
static struct ss_request *req;

/* Hands out the scripted chunks, at most n bytes a read. */
static ssize_t
fake_recv(struct ss_request *r, void *buf, size_t n, double *deadline)
{
	size_t take;

	(void)r;
	(void)deadline;
	ck_assert_msg(script.nreads < MAX_READS, "more than %d reads",
	    MAX_READS);
	script.asked[script.nreads++] = n;
	if (script.next == script.nchunks) {
		if (script.error == 0)
			return 0;
		errno = script.error;
		return -1;
	}
	take = script.len[script.next] - script.off;
	if (take > n)
		take = n;
	memcpy(buf, script.chunk[script.next] + script.off, take);
	script.off += take;
	if (script.off == script.len[script.next]) {
		script.next++;
		script.off = 0;
	}
	return (ssize_t)take;
}

static const struct conn_ops fake_conn = {
	.name = "fake",
	.read = fake_recv,
};

/* Appends a chunk of n bytes (NUL bytes allowed); it must outlive the test. */
static void
feed_bytes(const char *chunk, size_t n)
{
	ck_assert(script.nchunks < MAX_CHUNKS);
	script.chunk[script.nchunks] = chunk;
	script.len[script.nchunks++] = n;
}

static void
feed(const char *chunk)
{
	feed_bytes(chunk, strlen(chunk));
}

/*
 * A request of a server with `max_line`, on a descriptor of its own (the
 * buffer grows only for a stream connection), reading through fake_recv.
 */
static void
open_request(size_t max_line)
{
	conf.max_line = max_line;
	srv.conf = &conf;
	req = request_new(&srv);
	ck_assert(req != NULL);
	req->conn = &fake_conn;
	req->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert(req->fd >= 0);
}

static void
setup(void)
{
	memset(&script, 0, sizeof(script));
	memset(&conf, 0, sizeof(conf));
	conf.request_timeout = 5.0;
	memset(&srv, 0, sizeof(srv));
	srv.name = "unit";
	srv.stop_fd = -1;
	req = NULL;
}

static void
teardown(void)
{
	if (req == NULL)
		return;
	/* request_free closes a connection through the daemon; none here. */
	close(req->fd);
	req->fd = -1;
	request_free(req);
}

/* The next ss_readline with a buffer of cap bytes must return `line`. */
static void
expect_line(size_t cap, const char *line, size_t len)
{
	char *buf = malloc(cap);	/* exact, so overruns show */
	ssize_t n;

	ck_assert(buf != NULL);
	n = ss_readline(req, buf, cap);
	ck_assert_msg(n == (ssize_t)len, "ss_readline returned %zd, expected "
	    "%zu (errno %s)", n, len, n < 0 ? strerror(errno) : "-");
	ck_assert_msg(memcmp(buf, line, len) == 0 && buf[len] == '\0',
	    "ss_readline gave other bytes than the %zu expected", len);
	free(buf);
}

/* The next ss_readline with a buffer of cap bytes fails with `err`. */
static void
expect_error(size_t cap, int err)
{
	char *buf = malloc(cap);
	ssize_t n;

	ck_assert(buf != NULL);
	errno = 0;
	n = ss_readline(req, buf, cap);
	ck_assert_msg(n == -1 && errno == err, "ss_readline returned %zd "
	    "(errno %s), expected -1 and %s", n, strerror(errno),
	    strerror(err));
	free(buf);
}

/* --- lines and reads ----------------------------------------------------- */

START_TEST(test_line_split_across_reads)
{
	feed("hel");
	feed("lo\nwor");
	feed("ld\n");
	open_request(100);
	expect_line(64, "hello\n", 6);
	expect_line(64, "world\n", 6);
	expect_line(64, "", 0);
}
END_TEST

/* One read serves every line it holds: no read more than needed. */
START_TEST(test_lines_in_one_read)
{
	feed("a\nbb\nccc\n");
	open_request(100);
	expect_line(64, "a\n", 2);
	expect_line(64, "bb\n", 3);
	expect_line(64, "ccc\n", 4);
	ck_assert_uint_eq(script.nreads, 1);
	expect_line(64, "", 0);
	ck_assert_uint_eq(script.nreads, 2);
}
END_TEST

START_TEST(test_last_line_without_newline)
{
	feed("first\nla");
	feed("st");
	open_request(100);
	expect_line(64, "first\n", 6);
	expect_line(64, "last", 4);
	expect_line(64, "", 0);
}
END_TEST

START_TEST(test_nul_bytes)
{
	static const char line[] = "a\0b\0\n";

	feed_bytes(line, 5);
	open_request(100);
	expect_line(64, line, 5);
}
END_TEST

/* A failing read fails the line, with its errno. */
START_TEST(test_read_error)
{
	feed("partial");
	script.error = ECONNRESET;
	open_request(100);
	expect_error(64, ECONNRESET);
}
END_TEST

START_TEST(test_cap_too_small)
{
	feed("x\n");
	open_request(100);
	expect_error(1, EINVAL);
}
END_TEST

/* --- limits -------------------------------------------------------------- */

/* max_line counts the '\n': a line of max_line bytes is read whole. */
START_TEST(test_line_of_max_line)
{
	feed("0123456789abcde\n");
	open_request(16);
	expect_line(64, "0123456789abcde\n", 16);
}
END_TEST

/* One byte more is EMSGSIZE, whether it comes in one read or two. */
START_TEST(test_line_past_max_line)
{
	if (_i == 0) {
		feed("0123456789abcdef\n");
	} else {
		feed("0123456789");
		feed("abcdef\n");
	}
	open_request(16);
	expect_error(64, EMSGSIZE);
}
END_TEST

/* The caller's buffer limits a line too: cap - 1 bytes and its NUL. */
START_TEST(test_line_of_cap)
{
	feed("1234567\n12345678\n");
	open_request(100);
	expect_line(9, "1234567\n", 8);
	expect_error(8, EMSGSIZE);
}
END_TEST

/* --- the input buffer ---------------------------------------------------- */

/* Lines of `width` bytes, the last of each a '\n', to fill buf with. */
static void
fill_lines(char *buf, size_t n, size_t width)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = i % width == width - 1 ? '\n' :
		    (char)('a' + (i / width) % 26);
}

/*
 * A read that leaves room in the 4 KiB buffer is all there is for now:
 * the next read asks for 4 KiB again. A line that the next read finishes
 * is whole.
 */
START_TEST(test_short_read_keeps_buffer)
{
	static char text[REQUEST_RBUF_SIZE];
	size_t i;

	fill_lines(text, sizeof(text), 64);
	feed_bytes(text, sizeof(text) - 10);
	feed_bytes(text + sizeof(text) - 10, 10);
	open_request(1024);
	for (i = 0; i < sizeof(text) / 64; i++)
		expect_line(128, text + 64 * i, 64);
	expect_line(64, "", 0);
	ck_assert_uint_eq(script.asked[0], REQUEST_RBUF_SIZE);
	ck_assert_uint_eq(script.asked[1], REQUEST_RBUF_SIZE);
	ck_assert_ptr_eq(req->in, req->rbuf);
}
END_TEST

/*
 * A read that fills the 4 KiB buffer means more is coming: the buffer
 * becomes 64 KiB, and the next read asks for that. The line across the
 * two reads is whole, and so is the unterminated one at the end.
 */
START_TEST(test_full_read_grows_buffer)
{
	static char text[REQUEST_RBUF_SIZE + 100];
	size_t i, nlines = sizeof(text) / 100;

	fill_lines(text, sizeof(text), 100);
	feed_bytes(text, sizeof(text));
	open_request(1024);
	for (i = 0; i < nlines; i++)
		expect_line(128, text + 100 * i, 100);
	expect_line(128, text + 100 * nlines, sizeof(text) % 100);
	expect_line(128, "", 0);
	ck_assert_uint_eq(script.asked[0], REQUEST_RBUF_SIZE);
	ck_assert_uint_eq(script.asked[1], REQUEST_RBUF_BIG);
	ck_assert_uint_eq(req->rcap, REQUEST_RBUF_BIG);
	ck_assert_ptr_ne(req->in, req->rbuf);
}
END_TEST

/* --- ss_getline ---------------------------------------------------------- */

/* Its buffer grows from 256 bytes to the line's length, up to max_line. */
START_TEST(test_getline_grows)
{
	static char longer[2048 + 1];
	const char *line;
	ssize_t n;

	memset(longer, 'g', 2047);
	longer[2047] = '\n';
	feed("short\n");
	feed(longer);
	open_request(2048);
	n = ss_getline(req, &line);
	ck_assert_int_eq(n, 6);
	ck_assert_str_eq(line, "short\n");
	n = ss_getline(req, &line);
	ck_assert_int_eq(n, 2048);
	ck_assert_msg(memcmp(line, longer, 2048) == 0 && line[2048] == '\0',
	    "the 2048-byte line came back changed");
	n = ss_getline(req, &line);
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(line, "");
}
END_TEST

START_TEST(test_getline_past_max_line)
{
	static char longer[2049 + 1];
	const char *line;

	memset(longer, 'g', 2048);
	longer[2048] = '\n';
	feed(longer);
	open_request(2048);
	errno = 0;
	ck_assert_int_eq(ss_getline(req, &line), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

/* At end of input before any line, still a string. */
START_TEST(test_getline_empty_input)
{
	const char *line = NULL;

	open_request(100);
	ck_assert_int_eq(ss_getline(req, &line), 0);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, "");
}
END_TEST

int
main(void)
{
	Suite *suite = suite_create("request");
	TCase *tc = tcase_create("request");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_line_split_across_reads);
	tcase_add_test(tc, test_lines_in_one_read);
	tcase_add_test(tc, test_last_line_without_newline);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_read_error);
	tcase_add_test(tc, test_cap_too_small);
	tcase_add_test(tc, test_line_of_max_line);
	tcase_add_loop_test(tc, test_line_past_max_line, 0, 2);
	tcase_add_test(tc, test_line_of_cap);
	tcase_add_test(tc, test_short_read_keeps_buffer);
	tcase_add_test(tc, test_full_read_grows_buffer);
	tcase_add_test(tc, test_getline_grows);
	tcase_add_test(tc, test_getline_past_max_line);
	tcase_add_test(tc, test_getline_empty_input);
	suite_add_tcase(suite, tc);
	return run_suite(suite);
}
