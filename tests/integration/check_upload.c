/*
 * check_upload.c - the upload plugin against the real daemon: files
 * stored byte for byte with the digest in the reply, several uploads per
 * connection and many at once, interrupted uploads that leave nothing
 * behind, every refusal leaving the directory as it was, overwrite,
 * file modes, and the options init refuses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "harness.h"

/* The "upload" server's max_size: just over the 32 MiB upload. */
#define MAX_SIZE	40000000
#define LARGE_SIZE	(32u * 1024 * 1024)
#define NCLIENTS	16
#define CLIENT_SIZE	(256u * 1024)

/*
 * Three servers of one daemon: "upload" (tcp, max_size set), "replace"
 * (tcp, overwrite, file_mode "0666") and "defaults" (unix, nothing but
 * the directory, and a short request_timeout). %1$s is the concurrency
 * model.
 */
static const char upload_conf[] =
    "daemon: { shutdown_timeout = 5.0; };\n"
    "servers = (\n"
    "  { name = \"upload\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"upload\"; concurrency = \"%1$s\"; max_children = 64;\n"
    "    options = { directory = \"%5$s\"; max_size = 40000000; }; },\n"
    "  { name = \"replace\"; transport = \"tcp\";\n"
    "    listen = \"127.0.0.1:%3$d\"; handler = \"upload\";\n"
    "    concurrency = \"%1$s\";\n"
    "    options = { directory = \"%6$s\"; overwrite = true;\n"
    "      file_mode = \"0666\"; }; },\n"
    "  { name = \"defaults\"; transport = \"unix\"; listen = \"%4$s\";\n"
    "    handler = \"upload\"; concurrency = \"%1$s\";\n"
    "    request_timeout = 1.0;\n"
    "    options = { directory = \"%7$s\"; }; }\n"
    ");\n";

struct up {
	struct h_daemon d;
	int port;		/* "upload" */
	int replace;		/* "replace" */
	const char *sock;	/* "defaults" */
	const char *files, *replaced, *defaults;	/* their directories */
};

/* env: NULL, or "NAME=VALUE" settings for the daemon, NULL-terminated. */
static void
up_start_env(struct up *u, const char *model, const char *const *env)
{
	static const char *const extra[] = { "-l", "info", NULL };
	const char *conf;

	/* The "replace" server's 0666 must survive a umask that masks it. */
	umask(022);
	u->files = h_mkdir("files", 0755);
	u->replaced = h_mkdir("replaced", 0755);
	u->defaults = h_mkdir("defaults", 0755);
	u->port = h_free_port();
	u->replace = h_free_port();
	u->sock = h_sock_path("defaults.sock");
	conf = h_write_file("upload.conf", upload_conf, model, u->port,
	    u->replace, u->sock, u->files, u->replaced, u->defaults);
	if (env == NULL)
		h_daemon_start(&u->d, conf, extra);
	else
		h_daemon_start_env(&u->d, conf, extra, env);
	h_daemon_wait_port(&u->d, u->port);
	h_daemon_wait_port(&u->d, u->replace);
	h_daemon_wait_unix(&u->d, u->sock);
}

static void
up_start(struct up *u, const char *model)
{
	up_start_env(u, model, NULL);
}

/* --- data, digests, files ------------------------------------------------- */

/* Pseudo-random bytes, different for each seed (xorshift64). */
static unsigned char *
make_data(size_t n, uint64_t seed)
{
	unsigned char *buf = malloc(n > 0 ? n : 1);
	uint64_t x = seed * 0x9e3779b97f4a7c15u + 1;
	size_t i;

	ck_assert_msg(buf != NULL, "out of memory");
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 24);
	}
	return buf;
}

struct reply {
	char s[128];
};

/*
 * The reply a stored upload of buf gets: "ok SIZE SHA256HEX\n" (in a
 * temporary that lasts for the full expression using .s).
 */
static struct reply
ok_reply(const void *buf, size_t n)
{
	struct reply r;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char hex[SHA256_DIGEST_SIZE * 2 + 1];
	struct sha256_ctx sha;
	int i;

	sha256_init(&sha);
	sha256_update(&sha, n, buf);
	sha256_digest(&sha, sizeof(digest), digest);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	snprintf(r.s, sizeof(r.s), "ok %zu %s\n", n, hex);
	return r;
}

/* Fails unless dir/name holds exactly the n bytes of buf. */
static void
expect_file(const char *dir, const char *name, const void *buf, size_t n)
{
	unsigned char *got = malloc(n + 1);
	char path[PATH_MAX];
	size_t off = 0;
	ssize_t r;
	int fd;

	ck_assert_msg(got != NULL, "out of memory");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s%s", path, strerror(errno),
	    h_daemon_log_tail(NULL));
	while ((r = read(fd, got + off, n + 1 - off)) > 0 && off + (size_t)r
	    <= n)
		off += (size_t)r;
	close(fd);
	ck_assert_msg(r == 0 && off == n, "%s: expected %zu bytes, read %zu",
	    path, n, off + (r > 0 ? (size_t)r : 0));
	ck_assert_msg(n == 0 || memcmp(got, buf, n) == 0, "%s: the content "
	    "differs from what was sent", path);
	free(got);
}

static int
not_dots(const struct dirent *e)
{
	return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

/*
 * The names in dir, sorted, joined by '/' (which no name holds); valid
 * until the next call.
 */
static const char *
dir_list(const char *dir)
{
	static char text[8192];
	struct dirent **names;
	int n, i;

	text[0] = '\0';
	n = scandir(dir, &names, not_dots, alphasort);
	ck_assert_msg(n >= 0, "scandir %s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		if (i > 0)
			strncat(text, "/", sizeof(text) - strlen(text) - 1);
		strncat(text, names[i]->d_name, sizeof(text) - strlen(text) -
		    1);
		free(names[i]);
	}
	free(names);
	return text;
}

static void
expect_dir(const struct up *u, const char *dir, const char *expected)
{
	const char *got = dir_list(dir);

	ck_assert_msg(strcmp(got, expected) == 0, "%s holds %s, expected "
	    "%s%s", dir, h_quote(got, strlen(got)),
	    h_quote(expected, strlen(expected)), h_daemon_log_tail(&u->d));
}

static mode_t
file_mode(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
	    strerror(errno));
	return st.st_mode & 07777;
}

/* --- the client side ------------------------------------------------------ */

/* Sends "post|NAME|SIZE\n" and the body. */
static void
send_upload(int fd, const char *name, const void *body, size_t n)
{
	char header[512];

	snprintf(header, sizeof(header), "post|%s|%zu\n", name, n);
	h_send_bytes(fd, header, strlen(header));
	h_send_bytes(fd, body, n);
}

/* One upload on a connection of its own, the server's reply expected. */
static void
upload_expect(const struct up *u, int port, const char *name,
    const void *body, size_t n, const char *reply)
{
	int fd = h_connect(port);

	send_upload(fd, name, body, n);
	h_shutdown_write(fd);
	h_expect_line(&u->d, fd, reply, NULL);
	h_expect_eof(fd);
	close(fd);
}

/*
 * Sends a header of len bytes (NUL bytes allowed) and nothing else,
 * shuts down, and expects `reply` and then the server closing.
 */
static void
refused(const struct up *u, int fd, const char *header, size_t len,
    const char *reply)
{
	h_send_bytes(fd, header, len);
	h_shutdown_write(fd);
	h_expect_line(&u->d, fd, reply, NULL);
	h_expect_eof(fd);
	close(fd);
}

static void
refused_tcp(const struct up *u, const char *header, const char *reply)
{
	refused(u, h_connect(u->port), header, strlen(header), reply);
}

/* refused_tcp with "post|x|SIZE\n". */
static void
refused_size(const struct up *u, const char *size, const char *reply)
{
	char header[128];

	snprintf(header, sizeof(header), "post|x|%s\n", size);
	refused_tcp(u, header, reply);
}

/* --- storing -------------------------------------------------------------- */

START_TEST(test_large_file)
{
	unsigned char *data = make_data(LARGE_SIZE, 1);
	struct up u;

	up_start(&u, h_models[_i]);
	upload_expect(&u, u.port, "large.bin", data, LARGE_SIZE,
	    ok_reply(data, LARGE_SIZE).s);
	expect_file(u.files, "large.bin", data, LARGE_SIZE);
	expect_dir(&u, u.files, "large.bin");
	h_expect_clean_stop(&u.d);
	free(data);
}
END_TEST

START_TEST(test_empty_file)
{
	struct up u;

	up_start(&u, h_models[_i]);
	upload_expect(&u, u.port, "empty", "", 0, "ok 0 e3b0c44298fc1c149afbf"
	    "4c8996fb92427ae41e4649b934ca495991b7852b855\n");
	expect_file(u.files, "empty", "", 0);
	expect_dir(&u, u.files, "empty");
	h_expect_clean_stop(&u.d);
}
END_TEST

/*
 * Uploads follow one another on one connection until end of input; a
 * header may end in "\r\n", and a name may hold '|' (SIZE follows the
 * last one).
 */
START_TEST(test_several_per_connection)
{
	struct up u;
	int fd;

	up_start(&u, h_models[_i]);
	fd = h_connect(u.port);
	h_send(fd, "post|one|3\nabcpost|two|0\npost|three|5\r\n12345"
	    "post|pipe|in|name|1\nx");
	h_shutdown_write(fd);
	h_expect_line(&u.d, fd, ok_reply("abc", 3).s, NULL);
	h_expect_line(&u.d, fd, ok_reply("", 0).s, NULL);
	h_expect_line(&u.d, fd, ok_reply("12345", 5).s, NULL);
	h_expect_line(&u.d, fd, ok_reply("x", 1).s, NULL);
	h_expect_eof(fd);
	close(fd);
	expect_file(u.files, "one", "abc", 3);
	expect_file(u.files, "two", "", 0);
	expect_file(u.files, "three", "12345", 5);
	expect_file(u.files, "pipe|in|name", "x", 1);
	expect_dir(&u, u.files, "one/pipe|in|name/three/two");
	h_expect_clean_stop(&u.d);
}
END_TEST

struct client {
	int fd;
	char name[16];
	unsigned char *data;
	char reply[256];
	int err;		/* errno of a failed send or recv, else 0 */
};

/* A client thread: sends its upload, reads the one reply line. */
static void *
client_run(void *arg)
{
	struct client *c = arg;
	char header[64];
	size_t off = 0, len;
	ssize_t r;

	len = (size_t)snprintf(header, sizeof(header), "post|%s|%u\n",
	    c->name, CLIENT_SIZE);
	if (send(c->fd, header, len, MSG_NOSIGNAL) != (ssize_t)len)
		goto fail;
	while (off < CLIENT_SIZE) {
		r = send(c->fd, c->data + off, CLIENT_SIZE - off,
		    MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto fail;
		off += (size_t)r;
	}
	/* The end of input lets a sync server go on to the next client. */
	if (shutdown(c->fd, SHUT_WR) < 0)
		goto fail;
	for (off = 0; off < sizeof(c->reply) - 1; off++) {
		if ((r = recv(c->fd, c->reply + off, 1, 0)) <= 0)
			goto fail;
		if (c->reply[off] == '\n') {
			c->reply[off + 1] = '\0';
			return NULL;
		}
	}
fail:
	c->err = errno != 0 ? errno : EPROTO;
	return NULL;
}

/*
 * NCLIENTS clients connected at once, each sending a different file from
 * a thread of its own: every reply is the client's own digest and every
 * file is the client's own bytes.
 */
START_TEST(test_concurrent_uploads)
{
	struct client c[NCLIENTS];
	pthread_t threads[NCLIENTS];
	char expected[NCLIENTS * 16] = "";
	struct up u;
	int i;

	up_start(&u, h_models[_i]);
	for (i = 0; i < NCLIENTS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].fd = h_connect(u.port);
		snprintf(c[i].name, sizeof(c[i].name), "client-%02d", i);
		c[i].data = make_data(CLIENT_SIZE, 100 + (uint64_t)i);
		strcat(expected, i > 0 ? "/" : "");
		strcat(expected, c[i].name);
	}
	for (i = 0; i < NCLIENTS; i++)
		ck_assert(pthread_create(&threads[i], NULL, client_run,
		    &c[i]) == 0);
	for (i = 0; i < NCLIENTS; i++)
		pthread_join(threads[i], NULL);
	for (i = 0; i < NCLIENTS; i++) {
		char want[128];

		snprintf(want, sizeof(want), "%s",
		    ok_reply(c[i].data, CLIENT_SIZE).s);
		ck_assert_msg(c[i].err == 0 && strcmp(c[i].reply, want) == 0,
		    "%s: expected %s, received %s (%s)%s", c[i].name,
		    h_quote(want, strlen(want)), h_quote(c[i].reply,
		    strlen(c[i].reply)), strerror(c[i].err),
		    h_daemon_log_tail(&u.d));
		close(c[i].fd);
		expect_file(u.files, c[i].name, c[i].data, CLIENT_SIZE);
		free(c[i].data);
	}
	expect_dir(&u, u.files, expected);
	h_expect_clean_stop(&u.d);
}
END_TEST

/* --- interrupted uploads -------------------------------------------------- */

/*
 * Half of a 1 MiB body, then the client goes: with a close (FIN) or a
 * reset. The daemon logs the interruption, nothing at all is left in
 * the directory, and the daemon goes on storing.
 */
static void
interrupted(int model, bool reset)
{
	const size_t size = 1024 * 1024;
	unsigned char *data = make_data(size, 7);
	struct linger lg = { 1, 0 };
	struct up u;
	int fd;

	up_start(&u, h_models[model]);
	fd = h_connect(u.port);
	h_send(fd, h_path("post|partial|%zu\n", size));
	h_send_bytes(fd, data, size / 2);
	/* Let the daemon have begun the file before the client goes. */
	h_sleep_ms(100);
	if (reset)
		ck_assert(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg)) == 0);
	close(fd);
	h_daemon_wait_log(&u.d, "interrupted", 1);
	ck_assert_msg(h_log_contains(&u.d, reset ? "Connection reset by peer"
	    : "end of input"), "the log does not say how the upload ended%s",
	    h_daemon_log_tail(&u.d));
	expect_dir(&u, u.files, "");
	upload_expect(&u, u.port, "after", data, size, ok_reply(data, size).s);
	expect_dir(&u, u.files, "after");
	h_expect_clean_stop(&u.d);
	free(data);
}

START_TEST(test_interrupted_by_close)
{
	interrupted(_i, false);
}
END_TEST

START_TEST(test_interrupted_by_reset)
{
	interrupted(_i, true);
}
END_TEST

/*
 * A client that stops sending mid-body is cut at request_timeout (1 s on
 * the unix "defaults" server): "error timed out", nothing stored.
 */
START_TEST(test_interrupted_by_timeout)
{
	struct up u;
	int fd;

	up_start(&u, h_models[_i]);
	fd = h_connect_unix(u.sock);
	h_send(fd, "post|slow|100\n0123456789");
	h_expect_line(&u.d, fd, "error timed out\n", NULL);
	h_expect_eof(fd);
	close(fd);
	expect_dir(&u, u.defaults, "");
	h_expect_clean_stop(&u.d);
}
END_TEST

/* --- refusals ------------------------------------------------------------- */

/* Every name rule, at the limit: 255 bytes are fine, 256 are not. */
START_TEST(test_refused_names)
{
	static const struct { const char *header; size_t len; } names[] = {
		{ "post||1\n", 8 },
		{ "post|.hidden|1\n", 15 },
		{ "post|.|1\n", 9 },
		{ "post|..|1\n", 10 },
		{ "post|../x|1\n", 12 },
		{ "post|a/b|1\n", 11 },
		{ "post|/etc/passwd|1\n", 19 },
		{ "post|a/|1\n", 10 },
		{ "post|a\0b|1\n", 11 },
	};
	static const char *const replies[] = {
		"error empty name\n",
		"error name starts with a dot\n",
		"error name starts with a dot\n",
		"error name starts with a dot\n",
		"error name starts with a dot\n",
		"error name contains a slash\n",
		"error name contains a slash\n",
		"error name contains a slash\n",
		"error name contains a NUL byte\n",
	};
	char name[257];
	struct up u;
	size_t i;

	up_start(&u, h_models[_i]);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		refused(&u, h_connect(u.port), names[i].header, names[i].len,
		    replies[i]);
	memset(name, 'n', 256);
	name[256] = '\0';
	refused_tcp(&u, h_path("post|%s|1\n", name),
	    "error name longer than 255 bytes\n");
	expect_dir(&u, u.files, "");
	name[255] = '\0';
	upload_expect(&u, u.port, name, "x", 1, ok_reply("x", 1).s);
	expect_dir(&u, u.files, name);
	h_expect_clean_stop(&u.d);
}
END_TEST

/*
 * A name holding a control character (below 0x20, or DEL) is refused:
 * nothing is stored, the log names it escaped, the daemon goes on.
 */
START_TEST(test_refused_control_names)
{
	static const struct { const char *name, *logged; } names[] = {
		{ "a\tb", "a\\x09b" },
		{ "a\x01" "b", "a\\x01b" },
		{ "\x1b[31mred", "\\x1b[31mred" },
		{ "del\x7f", "del\\x7f" },
		{ "cr\rin", "cr\\x0din" },
		{ "\x1f", "\\x1f" },
	};
	struct up u;
	size_t i;

	up_start(&u, h_models[_i]);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		refused_tcp(&u, h_path("post|%s|1\n", names[i].name),
		    "error name contains a control character\n");
		ck_assert_msg(h_log_line_has(&u.d, h_path("refused %s: name "
		    "contains a control character", names[i].logged), NULL),
		    "no log line refusing %s%s", names[i].logged,
		    h_daemon_log_tail(&u.d));
	}
	expect_dir(&u, u.files, "");
	/* Printable bytes beyond ASCII are no control characters. */
	upload_expect(&u, u.port, "caf\xc3\xa9 ~!", "x", 1,
	    ok_reply("x", 1).s);
	expect_dir(&u, u.files, "caf\xc3\xa9 ~!");
	h_expect_clean_stop(&u.d);
}
END_TEST

/* SIZE is plain decimal, no more than max_size; overflow is "too big". */
START_TEST(test_refused_sizes)
{
	static const char *const not_decimal[] = {
		"+5", " 5", "5 ", "-1", "0x10", "", "5.0", "1e3", "5\r\r",
		"\xd9\xa5",	/* ARABIC-INDIC DIGIT FIVE */
	};
	static const char *const too_big[] = {
		"40000001", "9223372036854775807", "9223372036854775808",
		"18446744073709551616", "99999999999999999999999999999999",
	};
	struct up u;
	size_t i;
	int fd;

	up_start(&u, h_models[_i]);
	for (i = 0; i < sizeof(not_decimal) / sizeof(not_decimal[0]); i++)
		refused_size(&u, not_decimal[i],
		    "error size is not a decimal number\n");
	for (i = 0; i < sizeof(too_big) / sizeof(too_big[0]); i++)
		refused_size(&u, too_big[i], "error size exceeds max_size\n");
	/* The default max_size is 1 GiB: one byte more is refused ... */
	refused(&u, h_connect_unix(u.sock), "post|x|1073741825\n", 18,
	    "error size exceeds max_size\n");
	/* ... 1 GiB itself is accepted, and here cut short by the client. */
	fd = h_connect_unix(u.sock);
	h_send(fd, "post|x|1073741824\nabc");
	h_shutdown_write(fd);
	h_expect_line(&u.d, fd, "error incomplete upload\n", NULL);
	h_expect_eof(fd);
	close(fd);
	expect_dir(&u, u.files, "");
	expect_dir(&u, u.defaults, "");
	h_expect_clean_stop(&u.d);
}
END_TEST

/* Headers that are not post|NAME|SIZE on one line of at most 512 bytes. */
START_TEST(test_refused_headers)
{
	static const struct { const char *header, *reply; } headers[] = {
		{ "get|x|1\n", "error unknown command\n" },
		{ "POST|x|1\n", "error unknown command\n" },
		{ "|x|1\n", "error unknown command\n" },
		{ "post|x\n", "error malformed header\n" },
		{ "post\n", "error malformed header\n" },
		{ "post x 1\n", "error malformed header\n" },
		{ "\n", "error malformed header\n" },
		{ "\r\n", "error malformed header\n" },
		{ "post|x|1", "error incomplete header\n" },
	};
	char longline[601];
	struct up u;
	size_t i;

	up_start(&u, h_models[_i]);
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		refused_tcp(&u, headers[i].header, headers[i].reply);
	memset(longline, 'p', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	refused_tcp(&u, longline, "error header too long\n");
	expect_dir(&u, u.files, "");
	h_expect_clean_stop(&u.d);
}
END_TEST

/*
 * Without overwrite an existing file is refused before any byte of the
 * body is taken, its content untouched, and the connection ends.
 */
START_TEST(test_refused_existing)
{
	const char *path;
	char content[64];
	struct up u;
	char buf[16];
	ssize_t r;
	int fd;

	up_start(&u, h_models[_i]);
	path = h_path("%s/taken", u.files);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert(fd >= 0 && write(fd, "original\n", 9) == 9);
	close(fd);
	fd = h_connect(u.port);
	send_upload(fd, "taken", "hello", 5);
	h_expect_line(&u.d, fd, "error file exists\n", NULL);
	/* Closed: at once, or by a reset if "hello" was still unread. */
	r = recv(fd, buf, sizeof(buf), 0);
	ck_assert_msg(r == 0 || (r < 0 && errno == ECONNRESET), "expected "
	    "the connection to end, recv returned %zd (%s)", r,
	    r < 0 ? strerror(errno) : "data");
	close(fd);
	h_read_file(path, content, sizeof(content));
	ck_assert_msg(strcmp(content, "original\n") == 0, "taken now holds "
	    "%s", h_quote(content, strlen(content)));
	expect_dir(&u, u.files, "taken");
	h_expect_clean_stop(&u.d);
}
END_TEST

/* overwrite = true replaces the file, and leaves no temporary behind. */
START_TEST(test_overwrite)
{
	const size_t size = 100 * 1024;
	unsigned char *data = make_data(size, 3);
	const char *path;
	struct up u;
	int fd;

	up_start(&u, h_models[_i]);
	path = h_path("%s/doc", u.replaced);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert(fd >= 0 && write(fd, "old\n", 4) == 4);
	close(fd);
	upload_expect(&u, u.replace, "doc", data, size, ok_reply(data, size).s);
	expect_file(u.replaced, "doc", data, size);
	upload_expect(&u, u.replace, "doc", "v3", 2, ok_reply("v3", 2).s);
	expect_file(u.replaced, "doc", "v3", 2);
	expect_dir(&u, u.replaced, "doc");
	h_expect_clean_stop(&u.d);
	free(data);
}
END_TEST

/*
 * Files get file_mode exactly: 0640 by default, and a configured 0666
 * despite the daemon's umask of 022.
 */
START_TEST(test_file_mode)
{
	struct up u;
	mode_t m;

	up_start(&u, h_models[_i]);
	upload_expect(&u, u.port, "default", "d", 1, ok_reply("d", 1).s);
	upload_expect(&u, u.replace, "configured", "c", 1, ok_reply("c", 1).s);
	m = file_mode(u.files, "default");
	ck_assert_msg(m == 0640, "default file_mode: %04o, expected 0640", m);
	m = file_mode(u.replaced, "configured");
	ck_assert_msg(m == 0666, "file_mode \"0666\": %04o, expected 0666",
	    m);
	h_expect_clean_stop(&u.d);
}
END_TEST

/*
 * Where O_TMPFILE is missing (a preloaded shim hides it), files are
 * received as hidden .upload-* files: stored, refused, interrupted and
 * replacing uploads leave nothing but the stored files.
 */
START_TEST(test_without_tmpfile)
{
	const size_t size = 1024 * 1024;
	unsigned char *data = make_data(size, 11);
	const char *const env[] = {
		h_path("LD_PRELOAD=%s", h_fixture("no_tmpfile")),
		h_preload_asan_options(),
		NULL,
	};
	struct up u;
	int fd;

	up_start_env(&u, h_models[_i], env);
	/* The sockets accept before init has run: wait for its lines. */
	h_daemon_wait_log(&u.d, "O_TMPFILE", 3);
	ck_assert_msg(h_log_count(&u.d, "O_TMPFILE") == 3, "init did not "
	    "notice, once per server, that O_TMPFILE is missing%s",
	    h_daemon_log_tail(&u.d));
	upload_expect(&u, u.port, "kept", data, size, ok_reply(data, size).s);
	refused_tcp(&u, "post|kept|1\n", "error file exists\n");
	fd = h_connect(u.port);
	h_send(fd, h_path("post|partial|%zu\n", size));
	h_send_bytes(fd, data, size / 2);
	h_sleep_ms(100);
	close(fd);
	h_daemon_wait_log(&u.d, "interrupted", 1);
	expect_file(u.files, "kept", data, size);
	expect_dir(&u, u.files, "kept");

	fd = open(h_path("%s/doc", u.replaced), O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	ck_assert(fd >= 0 && write(fd, "old\n", 4) == 4);
	close(fd);
	upload_expect(&u, u.replace, "doc", "new", 3, ok_reply("new", 3).s);
	upload_expect(&u, u.replace, "fresh", "f", 1, ok_reply("f", 1).s);
	expect_file(u.replaced, "doc", "new", 3);
	expect_file(u.replaced, "fresh", "f", 1);
	expect_dir(&u, u.replaced, "doc/fresh");
	h_expect_clean_stop(&u.d);
	free(data);
}
END_TEST

/* --- init ----------------------------------------------------------------- */

/* A one-server config with %1$s as the server's transport and listen. */
static const char init_conf[] =
    "servers = ( { name = \"u\"; %1$s handler = \"upload\";\n"
    "  %2$s } );\n";

static const struct {
	const char *options;	/* %s: the temporary directory */
	const char *transport;	/* NULL: tcp on a free port */
	const char *report;	/* after "FILE:"; %s as in options */
} init_refusals[] = {
	{ "", NULL, "1: server u: option directory: missing (expected the "
	    "path of a writable directory)" },
	{ "options = { max_size = 10; };", NULL,
	    "2: server u: option directory: missing" },
	{ "options = { directory = 5; };", NULL,
	    "2: server u: option directory: wrong type (expected a string)" },
	{ "options = { directory = \"\"; };", NULL,
	    "2: server u: option directory: empty" },
	{ "options = { directory = \"%s/none\"; };", NULL,
	    "2: server u: option directory: cannot open '%s/none': No such "
	    "file or directory" },
	{ "options = { directory = \"%s/file\"; };", NULL,
	    "2: server u: option directory: cannot open '%s/file': Not a "
	    "directory" },
	{ "options = { directory = \"%s/dir\"; max_size = 0; };", NULL,
	    "2: server u: option max_size: 0 is out of range (expected a "
	    "number of bytes, 1 or more)" },
	{ "options = { directory = \"%s/dir\"; max_size = -1; };", NULL,
	    "2: server u: option max_size: -1 is out of range" },
	{ "options = { directory = \"%s/dir\"; max_size = \"1G\"; };", NULL,
	    "2: server u: option max_size: wrong type" },
	{ "options = { directory = \"%s/dir\"; overwrite = \"yes\"; };", NULL,
	    "2: server u: option overwrite: wrong type (expected true or "
	    "false)" },
	{ "options = { directory = \"%s/dir\"; file_mode = \"0999\"; };", NULL,
	    "2: server u: option file_mode: \"0999\" is not a mode" },
	{ "options = { directory = \"%s/dir\"; file_mode = \"4755\"; };", NULL,
	    "2: server u: option file_mode: \"4755\" is not a mode" },
	{ "options = { directory = \"%s/dir\"; file_mode = 420; };", NULL,
	    "2: server u: option file_mode: wrong type (expected a string)" },
	{ "options = { directory = \"%s/dir\"; colour = \"blue\"; };", NULL,
	    "2: server u: option colour: unknown (expected directory, "
	    "max_size, overwrite or file_mode)" },
	{ "options = { directory = \"%s/dir\"; };", "udp",
	    "1: server u: plugin upload: transport \"udp\" is not supported" },
	{ "options = { directory = \"%s/dir\"; };", "unix-dgram",
	    "1: server u: plugin upload: transport \"unix-dgram\" is not "
	    "supported" },
};

static const char *
init_transport(const char *transport)
{
	if (transport == NULL)
		return h_path("transport = \"tcp\"; listen = \"127.0.0.1:%d\";",
		    h_free_port());
	if (strcmp(transport, "udp") == 0)
		return h_path("transport = \"udp\"; listen = \"127.0.0.1:%d\";",
		    h_free_port());
	return h_path("transport = \"%s\"; listen = \"%s\";", transport,
	    h_sock_path("u.sock"));
}

/*
 * sockservd -t exits 2 and says once, at the option's line (the
 * handler's for what is not an option's fault), which option is wrong
 * and how; nothing more about init.
 */
START_TEST(test_init_refused)
{
	const char *dir = h_mkdir("dir", 0755), *conf, *want, *first;
	struct h_result r;
	int fd;

	/* Every %s in the options is the temporary directory. */
	fd = open(h_path("%s/file", h_tmpdir()), O_WRONLY | O_CREAT |
	    O_CLOEXEC, 0644);
	ck_assert(fd >= 0);
	close(fd);
	conf = h_write_file("init.conf", init_conf,
	    init_transport(init_refusals[_i].transport),
	    h_path(init_refusals[_i].options, h_tmpdir()));
	h_run(&r, "-t", "-f", conf);
	ck_assert_msg(r.status == 2, "-t exited %d, expected 2:\n%s",
	    r.status, r.output);
	want = h_path("%s:%s", conf, h_path(init_refusals[_i].report,
	    h_tmpdir()));
	first = strstr(r.output, want);
	ck_assert_msg(first != NULL && strstr(first + 1, want) == NULL &&
	    strstr(r.output, "init refused") == NULL, "-t does not say %s "
	    "once, and only that:\n%s", want, r.output);
	ck_assert_msg(strcmp(dir_list(dir), "") == 0, "init left %s in %s",
	    dir_list(dir), dir);
}
END_TEST

/*
 * A good config passes -t, and init's proof that files can be created
 * in the directory leaves nothing there.
 */
START_TEST(test_init_accepted)
{
	const char *dir = h_mkdir("dir", 0755), *conf;
	struct h_result r;

	conf = h_write_file("init.conf", init_conf, init_transport(NULL),
	    h_path("options = { directory = \"%s/dir\"; "
	    "max_size = 5000000000L; overwrite = false; file_mode = \"0600\"; "
	    "};", h_tmpdir()));
	h_run(&r, "-t", "-f", conf);
	ck_assert_msg(r.status == 0, "-t exited %d, expected 0:\n%s",
	    r.status, r.output);
	ck_assert_msg(strcmp(dir_list(dir), "") == 0, "init left %s in %s",
	    dir_list(dir), dir);
}
END_TEST

/* --- init as the serving user --------------------------------------------- */

/* One upload server; %1$s daemon settings, %2$d its port, %3$s directory. */
static const char user_conf[] =
    "daemon: { %1$s };\n"
    "servers = ( { name = \"u\"; transport = \"tcp\";\n"
    "  listen = \"127.0.0.1:%2$d\"; handler = \"upload\";\n"
    "  options = { directory = \"%3$s\"; }; } );\n";

/*
 * Lets other users reach the test's directory: its own two levels get
 * search permission, and the ones above must have it already (TMPDIR
 * has to be a directory every user can search, as /tmp is).
 */
static void
searchable_by_all(void)
{
	char path[PATH_MAX], *slash;
	struct stat st;
	int level;

	snprintf(path, sizeof(path), "%s", h_tmpdir());
	for (level = 0; path[0] != '\0'; level++) {
		ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path,
		    strerror(errno));
		if (level < 2)
			ck_assert_msg(chmod(path, (st.st_mode & 07777) | 0111) ==
			    0, "chmod %s: %s", path, strerror(errno));
		else
			ck_assert_msg(st.st_mode & S_IXOTH, "%s cannot be "
			    "searched by other users; set TMPDIR to a directory "
			    "that can (as /tmp)", path);
		slash = strrchr(path, '/');
		*slash = '\0';
	}
}

/* sockservd -t and a real start both refuse, naming dir and user. */
static void
expect_user_refused(const char *settings, const char *dir, const char *user)
{
	const char *conf, *want;
	struct h_result r;

	conf = h_write_file("user.conf", user_conf, settings, h_free_port(),
	    dir);
	want = h_path("user %s cannot create files in '%s'", user, dir);
	h_run(&r, "-t", "-f", conf);
	ck_assert_msg(r.status == 2 && strstr(r.output, want) != NULL,
	    "-t exited %d, expected 2 and \"%s\":\n%s", r.status, want,
	    r.output);
	/* An init that refuses its options is a configuration error. */
	h_run(&r, "-F", "-f", conf);
	ck_assert_msg(r.status == 2 && strstr(r.output, want) != NULL,
	    "the start exited %d, expected 2 and \"%s\":\n%s", r.status,
	    want, r.output);
	ck_assert_msg(strcmp(dir_list(dir), "") == 0, "init left %s in %s",
	    dir_list(dir), dir);
}

/* The daemon starts and stores a file in dir; returns the file's owner. */
static uid_t
expect_user_serves(const char *settings, const char *dir)
{
	struct up u = { .files = dir };
	const char *conf;
	struct stat st;

	u.port = h_free_port();
	conf = h_write_file("user.conf", user_conf, settings, u.port, dir);
	/* Changing its ids clears the daemon's PR_SET_PDEATHSIG. */
	h_kill_at_end(conf);
	h_daemon_start(&u.d, conf, NULL);
	h_daemon_wait_port(&u.d, u.port);
	upload_expect(&u, u.port, "stored", "abc", 3, ok_reply("abc", 3).s);
	expect_file(dir, "stored", "abc", 3);
	h_expect_clean_stop(&u.d);
	ck_assert(stat(h_path("%s/stored", dir), &st) == 0);
	return st.st_uid;
}

/*
 * init asks whether the user requests will run as may create files in
 * the directory, not whether root may, which it does before the
 * privilege drop. As root (as CI runs): daemon.user = "nobody" with a
 * directory only root may write to is refused, one owned by nobody
 * serves. Otherwise: a 0555 directory of the test's own user is
 * refused, a 0755 one serves.
 */
START_TEST(test_init_checks_the_serving_user)
{
	const char *closed = h_mkdir("closed", 0755);
	const char *open = h_mkdir("open", 0755);
	const struct passwd *pw;
	uid_t owner;

	if (geteuid() == 0) {
		pw = getpwnam("nobody");
		ck_assert_msg(pw != NULL, "no user nobody on this machine");
		searchable_by_all();
		ck_assert(chmod(closed, 0755) == 0 && chmod(open, 0755) == 0);
		ck_assert_msg(chown(open, pw->pw_uid, pw->pw_gid) == 0,
		    "chown %s: %s", open, strerror(errno));
		expect_user_refused("user = \"nobody\";", closed,
		    "nobody (daemon.user)");
		owner = expect_user_serves("user = \"nobody\";", open);
		ck_assert_msg(owner == pw->pw_uid, "the upload belongs to uid "
		    "%ld, not to nobody", (long)owner);
	} else {
		pw = getpwuid(geteuid());
		ck_assert_msg(pw != NULL, "no name for uid %ld",
		    (long)geteuid());
		ck_assert(chmod(closed, 0555) == 0 && chmod(open, 0755) == 0);
		expect_user_refused("", closed, pw->pw_name);
		expect_user_serves("", open);
	}
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "large_file", test_large_file, H_NMODELS },
		{ "empty_file", test_empty_file, H_NMODELS },
		{ "several_per_connection", test_several_per_connection,
		    H_NMODELS },
		{ "concurrent_uploads", test_concurrent_uploads, H_NMODELS },
		{ "interrupted_by_close", test_interrupted_by_close,
		    H_NMODELS },
		{ "interrupted_by_reset", test_interrupted_by_reset,
		    H_NMODELS },
		{ "interrupted_by_timeout", test_interrupted_by_timeout,
		    H_NMODELS },
		{ "refused_names", test_refused_names, H_NMODELS },
		{ "refused_control_names", test_refused_control_names,
		    H_NMODELS },
		{ "refused_sizes", test_refused_sizes, H_NMODELS },
		{ "refused_headers", test_refused_headers, H_NMODELS },
		{ "refused_existing", test_refused_existing, H_NMODELS },
		{ "overwrite", test_overwrite, H_NMODELS },
		{ "file_mode", test_file_mode, H_NMODELS },
		{ "without_tmpfile", test_without_tmpfile, H_NMODELS },
		{ "init_refused", test_init_refused,
		    (int)(sizeof(init_refusals) / sizeof(init_refusals[0])) },
		{ "init_accepted", test_init_accepted, 0 },
		{ "init_checks_the_serving_user",
		    test_init_checks_the_serving_user, 0 },
	};
	Suite *suite = suite_create("upload");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
