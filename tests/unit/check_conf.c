/*
 * check_conf.c - unit tests for daemon/conf.c: what a configuration file
 * turns into, which defaults apply, and which problems are reported on
 * which line (SPEC.md §3).
 *
 * Every test writes its file into one temp dir per test case; set
 * SS_TEST_LEAVE=1 to keep the dir (and the last file written) afterwards.
 */
#include <check.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "../run_suite.h"

#define DEFAULT_PLUGIN_DIR "/default/plugins"

/* Shorter than a path, so the file names fit after it. */
static char tmpdir[PATH_MAX - 64];
static char conf_path[PATH_MAX];
static struct conf conf;
static bool conf_loaded;
static int load_ret;

/* --- fixtures ----------------------------------------------------------- */

/* Unchecked: runs once per test case, in the parent. */
static void tmpdir_create(void)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	ck_assert_msg((size_t)snprintf(tmpdir, sizeof(tmpdir),
	    "%s/check_conf.XXXXXX", base) < sizeof(tmpdir), "TMPDIR too long");
	ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp %s failed", tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/sockserv.conf", tmpdir);
}

static void tmpdir_remove(void)
{
	const char *leave = getenv("SS_TEST_LEAVE");

	if (leave != NULL && strcmp(leave, "1") == 0) {
		fprintf(stderr, "check_conf: leaving %s\n", tmpdir);
		return;
	}
	unlink(conf_path);
	rmdir(tmpdir);
}

/* Checked: around every test. conf_free() is due after every conf_load(). */
static void conf_reset(void)
{
	memset(&conf, 0, sizeof(conf));
	conf_loaded = false;
	load_ret = 0;
}

static void conf_release(void)
{
	if (conf_loaded)
		conf_free(&conf);
	conf_loaded = false;
}

/* --- loading ------------------------------------------------------------ */

static void write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");

	ck_assert_msg(f != NULL, "cannot create %s", conf_path);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static int load_path(const char *path)
{
	load_ret = conf_load(&conf, path, DEFAULT_PLUGIN_DIR);
	conf_loaded = true;
	return load_ret;
}

static int load_text(const char *text)
{
	write_conf(text);
	return load_path(conf_path);
}

/* Every error, one per line, for failure messages. */
static const char *all_errors(void)
{
	static char buf[4096];
	size_t i, off = 0;

	if (conf.nerrors == 0)
		return " (none)";
	buf[0] = '\0';
	for (i = 0; i < conf.nerrors && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "\n  %s",
		    conf.errors[i]);
	return buf;
}

static void load_ok(const char *text)
{
	int ret = load_text(text);

	ck_assert_msg(ret == 0, "conf_load returned %d; errors:%s", ret,
	    all_errors());
	ck_assert_msg(conf.nerrors == 0, "errors on success:%s",
	    all_errors());
}

/* LINE in "PATH:LINE: message", or -1 when err does not start so. */
static int error_line(const char *err)
{
	size_t n = strlen(conf_path);
	const char *digits;
	char *end;
	long line;

	if (strncmp(err, conf_path, n) != 0 || err[n] != ':')
		return -1;
	digits = err + n + 1;
	line = strtol(digits, &end, 10);
	if (end == digits || strncmp(end, ": ", 2) != 0)
		return -1;
	return (int)line;
}

static bool has_error_on_line(int line)
{
	size_t i;

	for (i = 0; i < conf.nerrors; i++)
		if (error_line(conf.errors[i]) == line)
			return true;
	return false;
}

/* The last load failed with exactly one error, on `line`, naming `word`. */
static void expect_one_error(int line, const char *word)
{
	ck_assert_msg(load_ret == -1, "conf_load returned %d, expected -1",
	    load_ret);
	ck_assert_msg(conf.nerrors == 1, "expected 1 error, got %zu:%s",
	    conf.nerrors, all_errors());
	ck_assert_msg(error_line(conf.errors[0]) == line,
	    "expected \"%s:%d: ...\", got \"%s\"", conf_path, line,
	    conf.errors[0]);
	ck_assert_msg(strstr(conf.errors[0], word) != NULL,
	    "error does not mention \"%s\": \"%s\"", word, conf.errors[0]);
}

/*
 * A file with one server, built from libconfig value text. NULL keeps the
 * default value; "" leaves the setting out (its line stays, blank, so the
 * line numbers below hold for every file). `daemon` and `extra` are whole
 * settings ("key = value;") put on their own lines.
 */
struct tpl {
	const char *daemon;
	const char *name;
	const char *transport;
	const char *listen;
	const char *handler;
	const char *extra;
};

enum {
	LINE_DAEMON_EXTRA = 2,
	LINE_SERVER = 5,
	LINE_NAME = 6,
	LINE_TRANSPORT = 7,
	LINE_LISTEN = 8,
	LINE_HANDLER = 9,
	LINE_EXTRA = 10,
	LINE_CLOSE_LIST = 12,
};

static void tpl_setting(char *buf, size_t size, const char *key,
    const char *value, const char *dflt)
{
	if (value == NULL)
		value = dflt;
	if (*value == '\0')
		buf[0] = '\0';
	else
		snprintf(buf, size, "%s = %s;", key, value);
}

static int load_tpl(struct tpl t)
{
	char name[256], transport[256], listen[256], handler[256];
	char text[4096];

	tpl_setting(name, sizeof(name), "name", t.name, "\"a\"");
	tpl_setting(transport, sizeof(transport), "transport", t.transport,
	    "\"tcp\"");
	tpl_setting(listen, sizeof(listen), "listen", t.listen,
	    "\"127.0.0.1:7007\"");
	tpl_setting(handler, sizeof(handler), "handler", t.handler,
	    "\"echo\"");
	snprintf(text, sizeof(text),
	    "daemon = {\n"		/* 1 */
	    "  %s\n"			/* 2: LINE_DAEMON_EXTRA */
	    "};\n"			/* 3 */
	    "servers = (\n"		/* 4 */
	    "  {\n"			/* 5: LINE_SERVER */
	    "    %s\n"			/* 6: LINE_NAME */
	    "    %s\n"			/* 7: LINE_TRANSPORT */
	    "    %s\n"			/* 8: LINE_LISTEN */
	    "    %s\n"			/* 9: LINE_HANDLER */
	    "    %s\n"			/* 10: LINE_EXTRA */
	    "  }\n"			/* 11 */
	    ");\n",			/* 12: LINE_CLOSE_LIST */
	    t.daemon != NULL ? t.daemon : "", name, transport, listen,
	    handler, t.extra != NULL ? t.extra : "");
	return load_text(text);
}

#define LOAD(...)	load_tpl((struct tpl){ __VA_ARGS__ })

/* Only name, transport, listen and handler: everything else defaults. */
static void load_minimal(void)
{
	ck_assert_msg(LOAD(.extra = NULL) == 0, "minimal file failed:%s",
	    all_errors());
}

/* --- a valid file with every key ---------------------------------------- */

static const char full_conf[] =
    "daemon = {\n"				/* 1 */
    "  plugin_dir = \"/p\";\n"			/* 2 */
    "  log_level = \"debug\";\n"		/* 3 */
    "  shutdown_timeout = 2.5;\n"		/* 4 */
    "};\n"					/* 5 */
    "servers = (\n"				/* 6 */
    "  {\n"					/* 7: first server */
    "    name = \"a\";\n"			/* 8 */
    "    transport = \"tcp\";\n"		/* 9 */
    "    listen = \"127.0.0.1:7007\";\n"	/* 10 */
    "    handler = \"echo\";\n"			/* 11 */
    "    options = { x = 1; };\n"		/* 12 */
    "    concurrency = \"forking\";\n"		/* 13 */
    "    max_children = 7;\n"			/* 14 */
    "    request_queue_size = 128;\n"		/* 15 */
    "    request_timeout = 3.0;\n"		/* 16 */
    "    max_line = 100;\n"			/* 17 */
    "    allow_reuse_address = false;\n"	/* 18 */
    "    allow_reuse_port = true;\n"		/* 19 */
    "  },\n"					/* 20 */
    "  {\n"					/* 21: second server */
    "    name = \"b\";\n"			/* 22 */
    "    transport = \"tcp\";\n"		/* 23 */
    "    listen = \"[::1]:7008\";\n"		/* 24 */
    "    handler = \"/opt/sockserv/b.so\";\n"	/* 25 */
    "    concurrency = \"sync\";\n"		/* 26 */
    "    timeout = 1.5;\n"			/* 27 */
    "    max_packet_size = 1024;\n"		/* 28 */
    "    tcp_nodelay = false;\n"		/* 29 */
    "    block_on_close = false;\n"		/* 30 */
    "  }\n"					/* 31 */
    ");\n";					/* 32 */

START_TEST(test_full_daemon_section)
{
	load_ok(full_conf);
	ck_assert_str_eq(conf.plugin_dir, "/p");
	ck_assert_int_eq(conf.log_level, LOG_DEBUG);
	ck_assert_double_eq(conf.shutdown_timeout, 2.5);
	ck_assert_uint_eq(conf.nservers, 2);
}
END_TEST

START_TEST(test_full_first_server_names)
{
	const struct conf_server *s;

	load_ok(full_conf);
	s = &conf.servers[0];
	ck_assert_int_eq(s->line, 7);
	ck_assert_str_eq(s->name, "a");
	ck_assert_str_eq(s->transport_name, "tcp");
	ck_assert_str_eq(s->listen, "127.0.0.1:7007");
	ck_assert_str_eq(s->handler, "echo");
	ck_assert_str_eq(s->concurrency_name, "forking");
}
END_TEST

START_TEST(test_full_first_server_address)
{
	const struct sockaddr_in *sin;

	load_ok(full_conf);
	sin = (const struct sockaddr_in *)&conf.servers[0].addr;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 7007);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	ck_assert_uint_eq(conf.servers[0].addrlen, sizeof(*sin));
}
END_TEST

/* options is handed to the plugin as written, still a libconfig group. */
START_TEST(test_full_first_server_options)
{
	const config_setting_t *options;
	int x = 0;

	load_ok(full_conf);
	options = conf.servers[0].options;
	ck_assert_ptr_nonnull(options);
	ck_assert(config_setting_is_group(options));
	ck_assert(config_setting_lookup_int(options, "x", &x) == CONFIG_TRUE);
	ck_assert_int_eq(x, 1);
}
END_TEST

START_TEST(test_full_first_server_numbers_and_bools)
{
	const struct conf_server *s;

	load_ok(full_conf);
	s = &conf.servers[0];
	ck_assert_int_eq(s->max_children, 7);
	ck_assert_int_eq(s->request_queue_size, 128);
	ck_assert_double_eq(s->request_timeout, 3.0);
	ck_assert_uint_eq(s->max_line, 100);
	ck_assert(!s->allow_reuse_address);
	ck_assert(s->allow_reuse_port);
}
END_TEST

START_TEST(test_full_second_server)
{
	const struct conf_server *s;
	const struct sockaddr_in6 *sin6;

	load_ok(full_conf);
	s = &conf.servers[1];
	sin6 = (const struct sockaddr_in6 *)&s->addr;
	ck_assert_int_eq(s->line, 21);
	ck_assert_str_eq(s->name, "b");
	ck_assert_str_eq(s->listen, "[::1]:7008");
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 7008);
	ck_assert_str_eq(s->handler, "/opt/sockserv/b.so");
	ck_assert_str_eq(s->concurrency_name, "sync");
	ck_assert_double_eq(s->timeout, 1.5);
	ck_assert_uint_eq(s->max_packet_size, 1024);
	ck_assert(!s->tcp_nodelay);
	ck_assert(!s->block_on_close);
	ck_assert_ptr_null(s->options);
}
END_TEST

/* Names are looked up once, at load: the serve loop only sees the ops. */
START_TEST(test_full_resolves_transport_and_concurrency)
{
	load_ok(full_conf);
	ck_assert_ptr_nonnull(conf.servers[0].transport);
	ck_assert_str_eq(conf.servers[0].transport->name, "tcp");
	ck_assert_ptr_nonnull(conf.servers[0].concurrency_name);
	ck_assert_str_eq(conf.servers[0].concurrency_name, "forking");
	ck_assert_ptr_nonnull(conf.servers[1].concurrency_name);
	ck_assert_str_eq(conf.servers[1].concurrency_name, "sync");
}
END_TEST

START_TEST(test_integers_accepted_for_float_keys)
{
	int ret = LOAD(.daemon = "shutdown_timeout = 5;",
	    .extra = "request_timeout = 1; timeout = 2;");

	ck_assert_msg(ret == 0, "errors:%s", all_errors());
	ck_assert_double_eq(conf.shutdown_timeout, 5.0);
	ck_assert_double_eq(conf.servers[0].request_timeout, 1.0);
	ck_assert_double_eq(conf.servers[0].timeout, 2.0);
}
END_TEST

START_TEST(test_workers_0_accepted)
{
	ck_assert_msg(LOAD(.extra = "workers = 0;") == 0, "errors:%s",
	    all_errors());
	ck_assert_int_eq(conf.servers[0].workers, 0);
}
END_TEST

/* --- defaults ----------------------------------------------------------- */

START_TEST(test_default_daemon_settings)
{
	load_minimal();
	ck_assert_str_eq(conf.plugin_dir, DEFAULT_PLUGIN_DIR);
	ck_assert_int_eq(conf.log_level, LOG_INFO);
	ck_assert_double_eq(conf.shutdown_timeout,
	    CONF_DEFAULT_SHUTDOWN_TIMEOUT);
	ck_assert_double_eq(conf.shutdown_timeout, 10.0);
}
END_TEST

START_TEST(test_daemon_section_is_optional)
{
	load_ok("servers = ( { name = \"a\"; transport = \"tcp\"; "
	    "listen = \"127.0.0.1:7007\"; handler = \"echo\"; } );\n");
	ck_assert_str_eq(conf.plugin_dir, DEFAULT_PLUGIN_DIR);
	ck_assert_int_eq(conf.log_level, LOG_INFO);
	ck_assert_uint_eq(conf.nservers, 1);
}
END_TEST

START_TEST(test_default_server_concurrency)
{
	const struct conf_server *s;

	load_minimal();
	s = &conf.servers[0];
	ck_assert_str_eq(s->concurrency_name, "threading");
	ck_assert_int_eq(s->workers, 0);
	ck_assert_int_eq(s->max_children, 40);
	ck_assert_int_eq(s->max_children, CONF_DEFAULT_MAX_CHILDREN);
}
END_TEST

START_TEST(test_default_server_limits)
{
	const struct conf_server *s;

	load_minimal();
	s = &conf.servers[0];
	ck_assert_double_eq(s->request_timeout, 30.0);
	ck_assert_double_eq(s->timeout, 0.0);
	ck_assert_uint_eq(s->max_line, 65536);
	ck_assert_uint_eq(s->max_packet_size, 65536);
	ck_assert_int_ge(s->request_queue_size, 128);
}
END_TEST

START_TEST(test_default_server_socket_flags)
{
	const struct conf_server *s;

	load_minimal();
	s = &conf.servers[0];
	ck_assert(s->tcp_nodelay);
	ck_assert(s->allow_reuse_address);
	ck_assert(!s->allow_reuse_port);
	ck_assert(s->block_on_close);
	ck_assert_ptr_null(s->options);
}
END_TEST

START_TEST(test_server_line_is_its_opening_brace)
{
	load_minimal();
	ck_assert_int_eq(conf.servers[0].line, LINE_SERVER);
}
END_TEST

/* --- unreadable and malformed files ------------------------------------- */

START_TEST(test_missing_file_is_one_error_naming_it)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	ck_assert_int_eq(load_path(path), -1);
	ck_assert_msg(conf.nerrors == 1, "expected 1 error, got %zu:%s",
	    conf.nerrors, all_errors());
	ck_assert_msg(strstr(conf.errors[0], path) != NULL,
	    "error does not name the file: \"%s\"", conf.errors[0]);
}
END_TEST

/* libconfig only notices the missing "}" where ")" does not match it. */
START_TEST(test_syntax_error_missing_brace)
{
	LOAD(.extra = "options = { x = 1;");
	expect_one_error(LINE_CLOSE_LIST, "syntax");
}
END_TEST

START_TEST(test_syntax_error_missing_value)
{
	LOAD(.extra = "max_children = ;");
	expect_one_error(LINE_EXTRA, "syntax");
}
END_TEST

/* `count` errors, one on each of `lines`. */
static void expect_errors_on_lines(size_t count, const int *lines)
{
	size_t i;

	ck_assert_int_eq(load_ret, -1);
	ck_assert_msg(conf.nerrors == count, "expected %zu errors, got %zu:%s",
	    count, conf.nerrors, all_errors());
	for (i = 0; i < count; i++)
		ck_assert_msg(has_error_on_line(lines[i]), "no error on line "
		    "%d:%s", lines[i], all_errors());
}

/* Three problems in three places: three errors, each on its own line. */
START_TEST(test_every_problem_is_reported)
{
	static const int lines[] = { 2, 5, 10 };

	load_text(
	    "daemon = {\n"					/* 1 */
	    "  foo = 1;\n"					/* 2 */
	    "};\n"						/* 3 */
	    "servers = (\n"					/* 4 */
	    "  { name = \"a\"; transport = \"sctp\"; handler = \"echo\";\n"	/* 5 */
	    "    listen = \"127.0.0.1:7007\"; },\n"		/* 6 */
	    "  {\n"						/* 7 */
	    "    name = \"b\"; transport = \"tcp\"; handler = \"echo\";\n"	/* 8 */
	    "    listen = \"127.0.0.1:7008\";\n"		/* 9 */
	    "    max_children = 0;\n"				/* 10 */
	    "  }\n"						/* 11 */
	    ");\n");
	expect_errors_on_lines(3, lines);
}
END_TEST

/* One bad value must not hide the other problems of the same server. */
START_TEST(test_every_problem_in_one_server_is_reported)
{
	static const int lines[] = {
		LINE_DAEMON_EXTRA, LINE_TRANSPORT, LINE_EXTRA };

	LOAD(.daemon = "foo = 1;", .transport = "\"sctp\"",
	    .extra = "max_children = 0;");
	expect_errors_on_lines(3, lines);
}
END_TEST

/* --- unknown keys ------------------------------------------------------- */

START_TEST(test_unknown_server_key)
{
	LOAD(.extra = "colour = \"red\";");
	expect_one_error(LINE_EXTRA, "colour");
}
END_TEST

START_TEST(test_unknown_daemon_key)
{
	LOAD(.daemon = "foo = 1;");
	expect_one_error(LINE_DAEMON_EXTRA, "foo");
}
END_TEST

START_TEST(test_unknown_top_level_key)
{
	load_text("servers = ( { name = \"a\"; transport = \"tcp\"; "
	    "listen = \"127.0.0.1:7007\"; handler = \"echo\"; } );\n"
	    "\n"
	    "colours = 3;\n");
	expect_one_error(3, "colours");
}
END_TEST

/* --- wrong types -------------------------------------------------------- */

START_TEST(test_string_for_integer_key)
{
	LOAD(.extra = "max_children = \"ten\";");
	expect_one_error(LINE_EXTRA, "max_children");
}
END_TEST

/* Booleans are true/false; 1 is an integer, not a boolean. */
START_TEST(test_integer_for_bool_key)
{
	LOAD(.extra = "tcp_nodelay = 1;");
	expect_one_error(LINE_EXTRA, "tcp_nodelay");
}
END_TEST

START_TEST(test_integer_for_string_key)
{
	LOAD(.name = "5");
	expect_one_error(LINE_NAME, "name");
}
END_TEST

/* --- out of range ------------------------------------------------------- */

START_TEST(test_max_children_0)
{
	LOAD(.extra = "max_children = 0;");
	expect_one_error(LINE_EXTRA, "max_children");
}
END_TEST

START_TEST(test_max_children_70000)
{
	LOAD(.extra = "max_children = 70000;");
	expect_one_error(LINE_EXTRA, "max_children");
}
END_TEST

START_TEST(test_request_timeout_0)
{
	LOAD(.extra = "request_timeout = 0.0;");
	expect_one_error(LINE_EXTRA, "request_timeout");
}
END_TEST

START_TEST(test_request_timeout_negative)
{
	LOAD(.extra = "request_timeout = -1.0;");
	expect_one_error(LINE_EXTRA, "request_timeout");
}
END_TEST

START_TEST(test_max_line_1)
{
	LOAD(.extra = "max_line = 1;");
	expect_one_error(LINE_EXTRA, "max_line");
}
END_TEST

START_TEST(test_shutdown_timeout_negative)
{
	LOAD(.daemon = "shutdown_timeout = -1.0;");
	expect_one_error(LINE_DAEMON_EXTRA, "shutdown_timeout");
}
END_TEST

START_TEST(test_request_queue_size_0)
{
	LOAD(.extra = "request_queue_size = 0;");
	expect_one_error(LINE_EXTRA, "request_queue_size");
}
END_TEST

/* --- unknown names ------------------------------------------------------ */

START_TEST(test_unknown_transport)
{
	LOAD(.transport = "\"sctp\"");
	expect_one_error(LINE_TRANSPORT, "sctp");
}
END_TEST

START_TEST(test_unknown_concurrency)
{
	LOAD(.extra = "concurrency = \"greenlets\";");
	expect_one_error(LINE_EXTRA, "greenlets");
}
END_TEST

START_TEST(test_unknown_log_level)
{
	LOAD(.daemon = "log_level = \"loud\";");
	expect_one_error(LINE_DAEMON_EXTRA, "loud");
}
END_TEST

/* --- listen addresses --------------------------------------------------- */

START_TEST(test_listen_without_port)
{
	LOAD(.listen = "\"127.0.0.1\"");
	expect_one_error(LINE_LISTEN, "listen");
}
END_TEST

START_TEST(test_listen_port_0)
{
	LOAD(.listen = "\"127.0.0.1:0\"");
	expect_one_error(LINE_LISTEN, "listen");
}
END_TEST

START_TEST(test_listen_port_99999)
{
	LOAD(.listen = "\"127.0.0.1:99999\"");
	expect_one_error(LINE_LISTEN, "listen");
}
END_TEST

START_TEST(test_listen_bad_ipv4)
{
	LOAD(.listen = "\"300.1.1.1:80\"");
	expect_one_error(LINE_LISTEN, "listen");
}
END_TEST

START_TEST(test_listen_unclosed_bracket)
{
	LOAD(.listen = "\"[::1:80\"");
	expect_one_error(LINE_LISTEN, "listen");
}
END_TEST

START_TEST(test_listen_non_numeric_port)
{
	LOAD(.listen = "\"host:abc\"");
	expect_one_error(LINE_LISTEN, "listen");
}
END_TEST

/* --- two servers that clash --------------------------------------------- */

START_TEST(test_duplicate_listen)
{
	load_text(
	    "servers = (\n"					/* 1 */
	    "  { name = \"a\"; transport = \"tcp\"; handler = \"echo\";\n"	/* 2 */
	    "    listen = \"127.0.0.1:7007\"; },\n"		/* 3 */
	    "  { name = \"b\"; transport = \"tcp\"; handler = \"echo\";\n"	/* 4 */
	    "    listen = \"127.0.0.1:7007\"; }\n"		/* 5 */
	    ");\n");
	expect_one_error(5, "127.0.0.1:7007");
}
END_TEST

/* Duplicates are found by address, not by spelling. */
START_TEST(test_duplicate_listen_spelled_differently)
{
	load_text(
	    "servers = (\n"					/* 1 */
	    "  { name = \"a\"; transport = \"tcp\"; handler = \"echo\";\n"	/* 2 */
	    "    listen = \"127.0.0.1:7007\"; },\n"		/* 3 */
	    "  { name = \"b\"; transport = \"tcp\"; handler = \"echo\";\n"	/* 4 */
	    "    listen = \"localhost:7007\"; }\n"		/* 5 */
	    ");\n");
	expect_one_error(5, "7007");
}
END_TEST

START_TEST(test_duplicate_name)
{
	load_text(
	    "servers = (\n"					/* 1 */
	    "  { listen = \"127.0.0.1:7007\"; transport = \"tcp\";\n"	/* 2 */
	    "    name = \"twin\"; handler = \"echo\"; },\n"	/* 3 */
	    "  { listen = \"127.0.0.1:7008\"; transport = \"tcp\";\n"	/* 4 */
	    "    name = \"twin\"; handler = \"echo\"; }\n"	/* 5 */
	    ");\n");
	expect_one_error(5, "twin");
}
END_TEST

/* --- missing pieces ----------------------------------------------------- */

START_TEST(test_server_without_handler)
{
	LOAD(.handler = "");
	expect_one_error(LINE_SERVER, "handler");
}
END_TEST

START_TEST(test_no_servers_setting)
{
	load_text("daemon = {\n  log_level = \"info\";\n};\n");
	ck_assert_int_eq(load_ret, -1);
	ck_assert_msg(conf.nerrors == 1, "expected 1 error, got %zu:%s",
	    conf.nerrors, all_errors());
	ck_assert_msg(error_line(conf.errors[0]) >= 0,
	    "not \"%s:LINE: ...\": \"%s\"", conf_path, conf.errors[0]);
	ck_assert_msg(strstr(conf.errors[0], "servers") != NULL,
	    "error does not mention \"servers\": \"%s\"", conf.errors[0]);
}
END_TEST

START_TEST(test_empty_servers_list)
{
	load_text("# nothing to serve\nservers = ( );\n");
	expect_one_error(2, "servers");
}
END_TEST

/* --- spec keys this version does not implement -------------------------- */

START_TEST(test_daemon_user_and_group_by_number)
{
	LOAD(.daemon = "user = \"4242\"; group = \"4343\";");
	ck_assert_msg(load_ret == 0, "numeric ids refused:%s", all_errors());
	ck_assert_int_eq(conf.uid, 4242);
	ck_assert_int_eq(conf.gid, 4343);
}
END_TEST

START_TEST(test_daemon_user_by_name_gets_its_group)
{
	LOAD(.daemon = "user = \"root\";");
	ck_assert_msg(load_ret == 0, "user root refused:%s", all_errors());
	ck_assert_int_eq(conf.uid, 0);
	ck_assert_int_eq(conf.gid, 0);
}
END_TEST

START_TEST(test_daemon_unknown_user)
{
	LOAD(.daemon = "user = \"no-such-user-here\";");
	expect_one_error(LINE_DAEMON_EXTRA, "no-such-user-here");
}
END_TEST

START_TEST(test_daemon_group_without_user)
{
	LOAD(.daemon = "group = \"0\";");
	expect_one_error(LINE_DAEMON_EXTRA, "user");
}
END_TEST

START_TEST(test_daemon_pid_file_and_log_target)
{
	LOAD(.daemon = "pid_file = \"/run/x.pid\"; log_target = \"syslog\";");
	ck_assert_msg(load_ret == 0, "refused:%s", all_errors());
	ck_assert_str_eq(conf.pid_file, "/run/x.pid");
	ck_assert_int_eq(conf.log_target, LOG_TARGET_SYSLOG);
}
END_TEST

START_TEST(test_daemon_unknown_log_target)
{
	LOAD(.daemon = "log_target = \"carrier-pigeon\";");
	expect_one_error(LINE_DAEMON_EXTRA, "carrier-pigeon");
}
END_TEST

START_TEST(test_server_access_rules)
{
	LOAD(.extra = "access = { allow = [ \"127.0.0.0/8\", \"::1\" ]; "
	    "deny = [ \"127.0.0.9\" ]; };");
	ck_assert_msg(load_ret == 0, "access refused:%s", all_errors());
	ck_assert_uint_eq(conf.servers[0].acl.nallow, 2);
	ck_assert_uint_eq(conf.servers[0].acl.ndeny, 1);
}
END_TEST

START_TEST(test_server_access_bad_cidr)
{
	LOAD(.extra = "access = { allow = [ \"10.0.0.0/40\" ]; };");
	expect_one_error(LINE_EXTRA, "10.0.0.0/40");
}
END_TEST

START_TEST(test_server_access_unknown_key)
{
	LOAD(.extra = "access = { permit = [ \"10.0.0.0/8\" ]; };");
	expect_one_error(LINE_EXTRA, "permit");
}
END_TEST

START_TEST(test_thread_stack_size)
{
	LOAD(.extra = "thread_stack_size = 1048576;");
	ck_assert_msg(load_ret == 0, "refused:%s", all_errors());
	ck_assert_uint_eq(conf.servers[0].thread_stack_size, 1048576);
	conf_release();
	LOAD();
	ck_assert_uint_eq(conf.servers[0].thread_stack_size, 524288);
	conf_release();
	LOAD(.extra = "thread_stack_size = 4096;");
	expect_one_error(LINE_EXTRA, "thread_stack_size");
}
END_TEST

START_TEST(test_proxy_protocol_keys)
{
	LOAD(.extra = "proxy_protocol = true; proxy_trusted = "
	    "[ \"127.0.0.1\", \"10.0.0.0/8\" ];");
	ck_assert_msg(load_ret == 0, "refused:%s", all_errors());
	ck_assert(conf.servers[0].proxy_protocol);
	ck_assert_uint_eq(conf.servers[0].proxy_trusted.nallow, 2);
}
END_TEST

START_TEST(test_proxy_protocol_off_by_default)
{
	LOAD();
	ck_assert_msg(load_ret == 0, "refused:%s", all_errors());
	ck_assert(!conf.servers[0].proxy_protocol);
	ck_assert_uint_eq(conf.servers[0].proxy_trusted.nallow, 0);
}
END_TEST

START_TEST(test_proxy_protocol_needs_tcp)
{
	LOAD(.transport = "\"udp\"", .extra = "proxy_protocol = true;");
	expect_one_error(LINE_EXTRA, "proxy_protocol");
}
END_TEST

START_TEST(test_proxy_trusted_needs_proxy_protocol)
{
	LOAD(.extra = "proxy_trusted = [ \"127.0.0.1\" ];");
	expect_one_error(LINE_EXTRA, "proxy_trusted");
}
END_TEST

START_TEST(test_proxy_trusted_bad_cidr)
{
	LOAD(.extra = "proxy_protocol = true; proxy_trusted = "
	    "[ \"127.0.0.1/33\" ];");
	expect_one_error(LINE_EXTRA, "127.0.0.1/33");
}
END_TEST

START_TEST(test_proxy_trusted_empty)
{
	LOAD(.extra = "proxy_protocol = true; proxy_trusted = [ ];");
	expect_one_error(LINE_EXTRA, "proxy_trusted");
}
END_TEST

START_TEST(test_proxy_trusted_wrong_type)
{
	LOAD(.extra = "proxy_protocol = true; proxy_trusted = \"127.0.0.1\";");
	expect_one_error(LINE_EXTRA, "proxy_trusted");
}
END_TEST

START_TEST(test_server_max_per_source)
{
	LOAD(.extra = "max_per_source = 3;");
	ck_assert_msg(load_ret == 0, "refused:%s", all_errors());
	ck_assert_int_eq(conf.servers[0].max_per_source, 3);
}
END_TEST

/* --- max_request_time and access_log ------------------------------------ */

START_TEST(test_max_request_time_and_access_log_defaults)
{
	load_minimal();
	ck_assert_double_eq(conf.servers[0].max_request_time, 0.0);
	ck_assert(conf.servers[0].access_log);
}
END_TEST

START_TEST(test_max_request_time_seconds)
{
	LOAD(.extra = "max_request_time = 2.5;");
	ck_assert_msg(load_ret == 0, "refused:%s", all_errors());
	ck_assert_double_eq(conf.servers[0].max_request_time, 2.5);
}
END_TEST

START_TEST(test_max_request_time_integer)
{
	LOAD(.extra = "max_request_time = 300;");
	ck_assert_msg(load_ret == 0, "refused:%s", all_errors());
	ck_assert_double_eq(conf.servers[0].max_request_time, 300.0);
}
END_TEST

START_TEST(test_max_request_time_0_is_none)
{
	LOAD(.extra = "max_request_time = 0;");
	ck_assert_msg(load_ret == 0, "refused:%s", all_errors());
	ck_assert_double_eq(conf.servers[0].max_request_time, 0.0);
}
END_TEST

START_TEST(test_max_request_time_negative)
{
	LOAD(.extra = "max_request_time = -1.0;");
	expect_one_error(LINE_EXTRA, "max_request_time");
	ck_assert_msg(strstr(conf.errors[0], "out of range") != NULL,
	    "not an out-of-range error: %s", conf.errors[0]);
}
END_TEST

START_TEST(test_max_request_time_wrong_type)
{
	LOAD(.extra = "max_request_time = \"2s\";");
	expect_one_error(LINE_EXTRA, "max_request_time");
	ck_assert_msg(strstr(conf.errors[0], "a number of seconds") != NULL,
	    "the error does not say what is expected: %s", conf.errors[0]);
}
END_TEST

START_TEST(test_access_log_off)
{
	LOAD(.extra = "access_log = false;");
	ck_assert_msg(load_ret == 0, "refused:%s", all_errors());
	ck_assert(!conf.servers[0].access_log);
}
END_TEST

START_TEST(test_access_log_wrong_type)
{
	LOAD(.extra = "access_log = 0;");
	expect_one_error(LINE_EXTRA, "access_log");
	ck_assert_msg(strstr(conf.errors[0], "true or false") != NULL,
	    "the error does not say what is expected: %s", conf.errors[0]);
}
END_TEST

/* --- transports and pools ---------------------------------------------- */

START_TEST(test_socket_mode_on_tcp_is_an_error)
{
	LOAD(.extra = "socket_mode = \"0660\";");
	expect_one_error(LINE_EXTRA, "unix");
}
END_TEST

START_TEST(test_transport_udp_accepted)
{
	LOAD(.transport = "\"udp\"");
	ck_assert_msg(load_ret == 0, "udp refused:%s", all_errors());
	ck_assert_str_eq(conf.servers[0].transport_name, "udp");
	ck_assert_int_eq(conf.servers[0].addr.ss_family, AF_INET);
}
END_TEST

START_TEST(test_transport_unix_takes_a_path)
{
	const struct sockaddr_un *sun;

	LOAD(.transport = "\"unix-dgram\"", .listen = "\"/run/x.sock\"",
	    .extra = "socket_mode = \"0600\";");
	ck_assert_msg(load_ret == 0, "unix-dgram refused:%s", all_errors());
	sun = (const struct sockaddr_un *)&conf.servers[0].addr;
	ck_assert_int_eq(sun->sun_family, AF_UNIX);
	ck_assert_str_eq(sun->sun_path, "/run/x.sock");
	ck_assert_int_eq(conf.servers[0].socket_mode, 0600);
}
END_TEST

START_TEST(test_unix_socket_mode_default)
{
	LOAD(.transport = "\"unix\"", .listen = "\"x.sock\"");
	ck_assert_msg(load_ret == 0, "unix refused:%s", all_errors());
	ck_assert_int_eq(conf.servers[0].socket_mode, 0660);
	ck_assert_int_eq(conf.servers[0].socket_uid, (uid_t)-1);
}
END_TEST

START_TEST(test_unix_path_too_long)
{
	char listen[160];

	snprintf(listen, sizeof(listen), "\"/%0120d\"", 0);
	LOAD(.transport = "\"unix\"", .listen = listen);
	expect_one_error(LINE_LISTEN, "listen");
}
END_TEST

START_TEST(test_bad_socket_mode)
{
	LOAD(.transport = "\"unix\"", .listen = "\"x.sock\"",
	    .extra = "socket_mode = \"999\";");
	expect_one_error(LINE_EXTRA, "socket_mode");
}
END_TEST

START_TEST(test_unknown_socket_owner)
{
	LOAD(.transport = "\"unix\"", .listen = "\"x.sock\"",
	    .extra = "socket_owner = \"no-such-user-here\";");
	expect_one_error(LINE_EXTRA, "no-such-user-here");
}
END_TEST

START_TEST(test_worker_pool_accepted)
{
	LOAD(.extra = "workers = 4;");
	ck_assert_msg(load_ret == 0, "workers = 4 refused:%s", all_errors());
	ck_assert_int_eq(conf.servers[0].workers, 4);
}
END_TEST

START_TEST(test_workers_with_sync_is_an_error)
{
	LOAD(.extra = "concurrency = \"sync\"; workers = 2;");
	expect_one_error(LINE_EXTRA, "workers");
}
END_TEST

START_TEST(test_workers_over_max_children_is_an_error)
{
	LOAD(.extra = "workers = 50;");
	expect_one_error(LINE_EXTRA, "max_children");
}
END_TEST

/* --- conf_log_level ----------------------------------------------------- */

START_TEST(test_log_level_names)
{
	ck_assert_int_eq(conf_log_level("error"), LOG_ERR);
	ck_assert_int_eq(conf_log_level("warning"), LOG_WARNING);
	ck_assert_int_eq(conf_log_level("notice"), LOG_NOTICE);
	ck_assert_int_eq(conf_log_level("info"), LOG_INFO);
	ck_assert_int_eq(conf_log_level("debug"), LOG_DEBUG);
}
END_TEST

START_TEST(test_log_level_unknown)
{
	ck_assert_int_eq(conf_log_level("loud"), -1);
}
END_TEST

/* --- the suite ---------------------------------------------------------- */

static TCase *tcase_with_files(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, tmpdir_create, tmpdir_remove);
	tcase_add_checked_fixture(tc, conf_reset, conf_release);
	return tc;
}

static TCase *tcase_valid(void)
{
	TCase *tc = tcase_with_files("valid");

	tcase_add_test(tc, test_full_daemon_section);
	tcase_add_test(tc, test_full_first_server_names);
	tcase_add_test(tc, test_full_first_server_address);
	tcase_add_test(tc, test_full_first_server_options);
	tcase_add_test(tc, test_full_first_server_numbers_and_bools);
	tcase_add_test(tc, test_full_second_server);
	tcase_add_test(tc, test_full_resolves_transport_and_concurrency);
	tcase_add_test(tc, test_integers_accepted_for_float_keys);
	tcase_add_test(tc, test_workers_0_accepted);
	return tc;
}

static TCase *tcase_defaults(void)
{
	TCase *tc = tcase_with_files("defaults");

	tcase_add_test(tc, test_default_daemon_settings);
	tcase_add_test(tc, test_daemon_section_is_optional);
	tcase_add_test(tc, test_default_server_concurrency);
	tcase_add_test(tc, test_default_server_limits);
	tcase_add_test(tc, test_default_server_socket_flags);
	tcase_add_test(tc, test_server_line_is_its_opening_brace);
	return tc;
}

static TCase *tcase_file_errors(void)
{
	TCase *tc = tcase_with_files("file_errors");

	tcase_add_test(tc, test_missing_file_is_one_error_naming_it);
	tcase_add_test(tc, test_syntax_error_missing_brace);
	tcase_add_test(tc, test_syntax_error_missing_value);
	tcase_add_test(tc, test_every_problem_is_reported);
	tcase_add_test(tc, test_every_problem_in_one_server_is_reported);
	return tc;
}

static TCase *tcase_value_errors(void)
{
	TCase *tc = tcase_with_files("value_errors");

	tcase_add_test(tc, test_unknown_server_key);
	tcase_add_test(tc, test_unknown_daemon_key);
	tcase_add_test(tc, test_unknown_top_level_key);
	tcase_add_test(tc, test_string_for_integer_key);
	tcase_add_test(tc, test_integer_for_bool_key);
	tcase_add_test(tc, test_integer_for_string_key);
	tcase_add_test(tc, test_max_children_0);
	tcase_add_test(tc, test_max_children_70000);
	tcase_add_test(tc, test_request_timeout_0);
	tcase_add_test(tc, test_request_timeout_negative);
	tcase_add_test(tc, test_max_line_1);
	tcase_add_test(tc, test_shutdown_timeout_negative);
	tcase_add_test(tc, test_request_queue_size_0);
	tcase_add_test(tc, test_unknown_transport);
	tcase_add_test(tc, test_unknown_concurrency);
	tcase_add_test(tc, test_unknown_log_level);
	return tc;
}

static TCase *tcase_listen_errors(void)
{
	TCase *tc = tcase_with_files("listen_errors");

	tcase_add_test(tc, test_listen_without_port);
	tcase_add_test(tc, test_listen_port_0);
	tcase_add_test(tc, test_listen_port_99999);
	tcase_add_test(tc, test_listen_bad_ipv4);
	tcase_add_test(tc, test_listen_unclosed_bracket);
	tcase_add_test(tc, test_listen_non_numeric_port);
	return tc;
}

static TCase *tcase_structure_errors(void)
{
	TCase *tc = tcase_with_files("structure_errors");

	tcase_add_test(tc, test_duplicate_listen);
	tcase_add_test(tc, test_duplicate_listen_spelled_differently);
	tcase_add_test(tc, test_duplicate_name);
	tcase_add_test(tc, test_server_without_handler);
	tcase_add_test(tc, test_no_servers_setting);
	tcase_add_test(tc, test_empty_servers_list);
	return tc;
}

static TCase *tcase_not_supported(void)
{
	TCase *tc = tcase_with_files("not_supported");

	tcase_add_test(tc, test_daemon_user_and_group_by_number);
	tcase_add_test(tc, test_daemon_user_by_name_gets_its_group);
	tcase_add_test(tc, test_daemon_unknown_user);
	tcase_add_test(tc, test_daemon_group_without_user);
	tcase_add_test(tc, test_daemon_pid_file_and_log_target);
	tcase_add_test(tc, test_daemon_unknown_log_target);
	tcase_add_test(tc, test_server_access_rules);
	tcase_add_test(tc, test_server_access_bad_cidr);
	tcase_add_test(tc, test_server_access_unknown_key);
	tcase_add_test(tc, test_server_max_per_source);
	tcase_add_test(tc, test_proxy_protocol_keys);
	tcase_add_test(tc, test_thread_stack_size);
	tcase_add_test(tc, test_proxy_protocol_off_by_default);
	tcase_add_test(tc, test_proxy_protocol_needs_tcp);
	tcase_add_test(tc, test_proxy_trusted_needs_proxy_protocol);
	tcase_add_test(tc, test_proxy_trusted_bad_cidr);
	tcase_add_test(tc, test_proxy_trusted_empty);
	tcase_add_test(tc, test_proxy_trusted_wrong_type);
	tcase_add_test(tc, test_socket_mode_on_tcp_is_an_error);
	tcase_add_test(tc, test_transport_udp_accepted);
	tcase_add_test(tc, test_transport_unix_takes_a_path);
	tcase_add_test(tc, test_unix_socket_mode_default);
	tcase_add_test(tc, test_unix_path_too_long);
	tcase_add_test(tc, test_bad_socket_mode);
	tcase_add_test(tc, test_unknown_socket_owner);
	tcase_add_test(tc, test_worker_pool_accepted);
	tcase_add_test(tc, test_workers_with_sync_is_an_error);
	tcase_add_test(tc, test_workers_over_max_children_is_an_error);
	return tc;
}

static TCase *tcase_request_limits(void)
{
	TCase *tc = tcase_with_files("request_limits");

	tcase_add_test(tc, test_max_request_time_and_access_log_defaults);
	tcase_add_test(tc, test_max_request_time_seconds);
	tcase_add_test(tc, test_max_request_time_integer);
	tcase_add_test(tc, test_max_request_time_0_is_none);
	tcase_add_test(tc, test_max_request_time_negative);
	tcase_add_test(tc, test_max_request_time_wrong_type);
	tcase_add_test(tc, test_access_log_off);
	tcase_add_test(tc, test_access_log_wrong_type);
	return tc;
}

static TCase *tcase_log_level(void)
{
	TCase *tc = tcase_create("log_level");

	tcase_add_test(tc, test_log_level_names);
	tcase_add_test(tc, test_log_level_unknown);
	return tc;
}

/* daemon.control: a path, absent by default (no control socket). */
START_TEST(test_control_absent_by_default)
{
	load_minimal();
	ck_assert_ptr_null(conf.control);
}
END_TEST

START_TEST(test_control_path)
{
	LOAD(.daemon = "control = \"/run/sockserv/control.sock\";");
	ck_assert_msg(load_ret == 0, "errors:%s", all_errors());
	ck_assert_str_eq(conf.control, "/run/sockserv/control.sock");
}
END_TEST

START_TEST(test_control_empty)
{
	LOAD(.daemon = "control = \"\";");
	expect_one_error(LINE_DAEMON_EXTRA, "control");
}
END_TEST

START_TEST(test_control_too_long)
{
	char settings[256];

	snprintf(settings, sizeof(settings), "control = \"/%0120d\";", 0);
	LOAD(.daemon = settings);
	expect_one_error(LINE_DAEMON_EXTRA, "control");
}
END_TEST

START_TEST(test_control_wrong_type)
{
	LOAD(.daemon = "control = 7;");
	expect_one_error(LINE_DAEMON_EXTRA, "control");
}
END_TEST

static TCase *tcase_control(void)
{
	TCase *tc = tcase_with_files("control");

	tcase_add_test(tc, test_control_absent_by_default);
	tcase_add_test(tc, test_control_path);
	tcase_add_test(tc, test_control_empty);
	tcase_add_test(tc, test_control_too_long);
	tcase_add_test(tc, test_control_wrong_type);
	return tc;
}

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");

	suite_add_tcase(s, tcase_valid());
	suite_add_tcase(s, tcase_defaults());
	suite_add_tcase(s, tcase_file_errors());
	suite_add_tcase(s, tcase_value_errors());
	suite_add_tcase(s, tcase_listen_errors());
	suite_add_tcase(s, tcase_structure_errors());
	suite_add_tcase(s, tcase_not_supported());
	suite_add_tcase(s, tcase_request_limits());
	suite_add_tcase(s, tcase_log_level());
	suite_add_tcase(s, tcase_control());
	return s;
}

int main(void)
{
	return run_suite(conf_suite());
}
