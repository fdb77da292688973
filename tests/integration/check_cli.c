/*
 * check_cli.c - sockservd as a command: options, exit statuses (0 clean,
 * 1 runtime failure, 2 usage or configuration error) and the messages
 * that name the file, the line and the reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"

static const char echo_conf[] =
    "daemon: { log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"echo\"; transport = \"tcp\"; listen = \"127.0.0.1:%d\";\n"
    "    handler = \"%s\"; }\n"
    ");\n";

/* Line 3 is broken. */
static const char syntax_error_conf[] =
    "daemon: { log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"echo\"; listen = = \"127.0.0.1:%d\"; handler = \"echo\"; }\n"
    ");\n";

/* Two mistakes, on lines 5 and 9, each in a server of its own. */
static const char two_errors_conf[] =
    "daemon: { log_level = \"info\"; };\n"
    "servers = (\n"
    "  {\n"
    "    name = \"a\"; listen = \"127.0.0.1:%d\"; handler = \"echo\";\n"
    "    concurrency = \"bogus\";\n"
    "  },\n"
    "  {\n"
    "    name = \"b\"; listen = \"127.0.0.1:%d\"; handler = \"echo\";\n"
    "    transport = \"carrier-pigeon\";\n"
    "  }\n"
    ");\n";

START_TEST(test_version)
{
	struct h_result r;

	h_run(&r, "-V");
	h_expect_status(&r, 0, "-V");
	h_expect_output(&r, PACKAGE_VERSION, "-V");
}
END_TEST

START_TEST(test_help)
{
	struct h_result r;

	h_run(&r, "-h");
	h_expect_status(&r, 0, "-h");
	ck_assert_msg(strcasestr(r.output, "usage") != NULL &&
	    strstr(r.output, "-f") != NULL, "-h: expected a usage text "
	    "listing -f, got:\n%s", r.output);
}
END_TEST

START_TEST(test_unknown_option)
{
	struct h_result r;

	h_run(&r, "-Z");
	h_expect_status(&r, 2, "-Z");
	ck_assert_msg(r.output[0] != '\0', "-Z: exit 2 without a word");
}
END_TEST

START_TEST(test_missing_config)
{
	const char *conf = h_path("%s/absent.conf", h_tmpdir());
	struct h_result r;

	h_run(&r, "-F", "-f", conf);
	h_expect_status(&r, 2, "missing config");
	h_expect_output(&r, conf, "missing config");
}
END_TEST

START_TEST(test_syntax_error)
{
	const char *conf = h_write_file("syntax.conf", syntax_error_conf,
	    h_free_port());
	struct h_result r;

	h_run(&r, "-F", "-f", conf);
	h_expect_status(&r, 2, "syntax error");
	h_expect_output(&r, h_path("%s:3:", conf), "syntax error");
}
END_TEST

START_TEST(test_check_valid_config)
{
	const char *conf = h_write_file("valid.conf", echo_conf, h_free_port(),
	    "echo");
	struct h_result r;

	h_run(&r, "-t", "-f", conf);
	h_expect_status(&r, 0, "-t on a valid config");
}
END_TEST

START_TEST(test_check_reports_every_error)
{
	const char *conf = h_write_file("two-errors.conf", two_errors_conf,
	    h_free_port(), h_free_port());
	struct h_result r;

	h_run(&r, "-t", "-f", conf);
	h_expect_status(&r, 2, "-t with two errors");
	h_expect_output(&r, h_path("%s:5:", conf), "-t, bad concurrency");
	h_expect_output(&r, h_path("%s:9:", conf), "-t, bad transport");
}
END_TEST

/*
 * One server, its handler on line 4 and its options, if any, on line 5:
 * where plugin problems are reported.
 */
static const char plugin_conf[] =
    "daemon: { log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"echo\"; transport = \"tcp\"; listen = \"127.0.0.1:%d\";\n"
    "    handler = \"%s\";\n"
    "    %s }\n"
    ");\n";

/* Plugins the loader must refuse, and the word that says why. */
enum plugin_home {
	IN_TMPDIR, FROM_SRCDIR, IN_FIXTURES,
	/* A good plugin (echo.so) made unsafe to load: */
	WRITABLE_FILE, WRITABLE_DIR, FOREIGN_FILE,
};

static const struct refusal {
	const char *name;
	enum plugin_home home;
	const char *reason;
	const char *options;	/* line 5 of plugin_conf */
} refusals[] = {
	{ "missing", IN_TMPDIR, "No such file", "" },
	{ "not_a_plugin", FROM_SRCDIR, "invalid ELF header", "" },
	{ "no_symbol", IN_FIXTURES, "ss_handler", "" },
	{ "bad_abi", IN_FIXTURES, "ABI", "" },
	{ "no_handle", IN_FIXTURES, "handle", "" },
	{ "init_fail", IN_FIXTURES, "init refused its options", "" },
	{ "init_fail", IN_FIXTURES, "init refused its options",
	    "options = { reason = \"none\"; };" },
	{ "writable_file", WRITABLE_FILE, "go-w", "" },
	{ "writable_dir", WRITABLE_DIR, "writable by group or others", "" },
	{ "foreign_file", FOREIGN_FILE, "chown", "" },
};

#define NREFUSALS ((int)(sizeof(refusals) / sizeof(refusals[0])))

/* A copy of echo.so at NAME in the temporary directory, owned by uid. */
static const char *
unsafe_copy(const char *name, mode_t mode, uid_t uid)
{
	const char *path = h_copy_file(h_path("%s/echo.so",
	    h_env("SS_PLUGIN_DIR")), name, mode);

	ck_assert_msg(chown(path, uid, 0) == 0, "chown %s: %s", path,
	    strerror(errno));
	return path;
}

static const char *
refusal_path(const struct refusal *f)
{
	const char *dir;

	switch (f->home) {
	case WRITABLE_FILE:
		return unsafe_copy(h_path("%s.so", f->name), 0666, 0);
	case WRITABLE_DIR:
		/* Private, but group-writable. */
		dir = h_path("%s/open", h_tmpdir());
		ck_assert_msg(mkdir(dir, 0700) == 0 && chmod(dir, 0770) == 0,
		    "mkdir %s: %s", dir, strerror(errno));
		return unsafe_copy(h_path("open/%s.so", f->name), 0644, 0);
	case FOREIGN_FILE:
		return unsafe_copy(h_path("%s.so", f->name), 0644, 4242);
	case IN_TMPDIR:
		return h_path("%s/%s.so", h_tmpdir(), f->name);
	case FROM_SRCDIR:
		/* A copy: the checkout's modes may make it group-writable. */
		return h_copy_file(h_path("%s/tests/fixtures/%s.so",
		    h_env("SS_SRCDIR"), f->name), h_path("%s.so", f->name),
		    0644);
	case IN_FIXTURES:
		break;
	}
	return h_fixture(f->name);
}

/*
 * How the refusal of `plugin`, configured by `conf`, begins: FILE:LINE at
 * the options when init refuses them, else at the handler.
 */
static const char *
refusal_head(const struct refusal *f, const char *conf, const char *plugin)
{
	if (strstr(f->reason, "init") != NULL)
		return h_path("%s:%d: server echo: plugin %s:", conf,
		    f->options[0] != '\0' ? 5 : 4, plugin);
	return h_path("%s:4: server echo: cannot load plugin %s:", conf,
	    plugin);
}

/* Occurrences of needle in text. */
static int
count(const char *text, const char *needle)
{
	const char *p;
	int n = 0;

	for (p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/*
 * The one line of a refusal, beginning with `head`, must give the
 * reason, as a word of its own (so "handle" is not found in
 * "no_handle.so" or "ss_handler"); an unsafe directory must be named,
 * and no shared directory such as /tmp be advised to change.
 */
static void
expect_reason(const struct refusal *f, const char *plugin, const char *line,
    const char *what)
{
	char dir[4096];

	ck_assert_msg(h_contains_word(line, f->reason), "%s: expected the "
	    "reason \"%s\" in:\n%s", what, f->reason, line);
	if (f->home != WRITABLE_DIR)
		return;
	snprintf(dir, sizeof(dir), "%s", plugin);
	*strrchr(dir, '/') = '\0';
	ck_assert_msg(strstr(line, h_path("its directory %s ", dir)) != NULL,
	    "%s: expected the directory %s named in:\n%s", what, dir, line);
	ck_assert_msg(strstr(line, "chmod go-w /tmp") == NULL, "%s: advises "
	    "chmod go-w of a shared directory:\n%s", what, line);
}

/*
 * Runs the daemon with `mode` (-t or -F) on a config whose one server
 * uses the refused plugin: it exits 2, with one plain line (as the
 * config file's errors are, no log prefix) saying FILE:LINE, the server,
 * the plugin and why.
 */
static void
expect_refusal(const struct refusal *f, const char *mode)
{
	const char *plugin = refusal_path(f);
	const char *conf = h_write_file("plugin.conf", plugin_conf,
	    h_free_port(), plugin, f->options);
	const char *head = refusal_head(f, conf, plugin);
	const char *what = h_path("%s, %s", f->name, mode), *line;
	struct h_result r;

	h_run(&r, mode, "-f", conf);
	h_expect_status(&r, 2, what);
	ck_assert_msg(count(r.output, head) == 1, "%s: expected %s once in "
	    "the output:\n%s", what, h_quote(head, strlen(head)), r.output);
	line = strstr(r.output, head);
	ck_assert_msg(line == r.output || line[-1] == '\n', "%s: %s does not "
	    "begin a line:\n%s", what, h_quote(head, strlen(head)), r.output);
	expect_reason(f, plugin, h_path("%.*s", (int)strcspn(line, "\n"),
	    line), what);
}

START_TEST(test_plugin_refused_by_check)
{
	expect_refusal(&refusals[_i], "-t");
}
END_TEST

START_TEST(test_plugin_refused_at_start)
{
	expect_refusal(&refusals[_i], "-F");
}
END_TEST

/*
 * A reload to a config whose server uses the refused plugin fails: the
 * log has the refusal once, as an error line with FILE:LINE, and the
 * server goes on serving with its old plugin.
 */
START_TEST(test_plugin_refused_on_reload)
{
	const struct refusal *f = &refusals[_i];
	int port = h_free_port(), fd;
	const char *conf, *plugin, *head, *line;
	struct h_daemon d;
	char log[16384];

	conf = h_write_file("plugin.conf", plugin_conf, port, "echo", "");
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_port(&d, port);
	plugin = refusal_path(f);
	h_write_file("plugin.conf", plugin_conf, port, plugin, f->options);
	head = refusal_head(f, conf, plugin);
	h_daemon_signal(&d, SIGHUP);
	h_daemon_wait_log(&d, "reload failed", 1);
	ck_assert_msg(h_log_count(&d, head) == 1, "%s: expected %s once in "
	    "the log%s", f->name, h_quote(head, strlen(head)),
	    h_daemon_log_tail(&d));
	ck_assert_msg(h_log_line_has(&d, head, "error: "), "%s: %s is not "
	    "logged as an error%s", f->name, h_quote(head, strlen(head)),
	    h_daemon_log_tail(&d));
	h_read_file(d.log, log, sizeof(log));
	line = strstr(log, head);
	expect_reason(f, plugin, h_path("%.*s", (int)strcspn(line, "\n"),
	    line), h_path("%s, reload", f->name));
	fd = h_connect(port);
	h_send(fd, "still echo\n");
	h_shutdown_write(fd);
	h_expect(fd, "still echo\n");
	h_expect_eof(fd);
	close(fd);
	ck_assert_msg(h_daemon_stop(&d, SIGTERM) == 0, "%s: no clean stop "
	    "after the failed reload%s", f->name, h_daemon_log_tail(&d));
}
END_TEST

/*
 * A server of the options fixture (its options read with a table, or a
 * call per key), the setting under test alone on line 6.
 */
static const char options_conf[] =
    "daemon: { log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"opt\"; transport = \"tcp\"; listen = \"127.0.0.1:%d\";\n"
    "    handler = \"%s\";\n"
    "    options = {\n"
    "      %s\n"
    "    }; }\n"
    ");\n";

/* A problem of each type, and the report after "FILE:6: server opt: ". */
static const struct option_error {
	const char *setting;
	const char *report;
} option_errors[] = {
	{ "name = 5;", "option name: wrong type (expected a string)" },
	{ "count = \"3\";", "option count: wrong type (expected an integer "
	    "from 1 to 10)" },
	{ "count = 11;", "option count: 11 is out of range (expected an "
	    "integer from 1 to 10)" },
	{ "flag = 1;", "option flag: wrong type (expected true or false)" },
	{ "wait = \"1s\";", "option wait: wrong type (expected a number of "
	    "seconds, 0 or more)" },
	{ "wait = -0.5;", "option wait: -0.5 is out of range (expected a "
	    "number of seconds, 0 or more)" },
	{ "limit = 1.5;", "option limit: wrong type (expected a number of "
	    "bytes from 16 to 65536)" },
	{ "limit = 65537;", "option limit: 65537 is out of range (expected "
	    "a number of bytes from 16 to 65536)" },
	{ "colour = \"blue\";", "option colour: unknown (expected name, "
	    "count, flag, wait, limit or refuse)" },
	/* Reported by the plugin itself, whose init then returns 0. */
	{ "refuse = \"on purpose\";", "option refuse: on purpose (expected "
	    "no refuse)" },
};

/* Each problem with either fixture: _i / 2 the problem, _i % 2 the form. */
#define NOPTION_ERRORS \
	((int)(sizeof(option_errors) / sizeof(option_errors[0])) * 2)

static const char *
options_fixture(int i)
{
	return h_fixture(i % 2 == 0 ? "options_table" : "options_keys");
}

/*
 * The report of problem i in `text` (the output, or the log): once, at
 * the start of a line or after the log's "error: ", with nothing more
 * about init; and fini ran only when init had returned 0 (the refusal
 * the plugin made itself), once.
 */
static void
expect_option_report(int i, const char *conf, const char *text,
    const char *what, bool logged)
{
	const struct option_error *e = &option_errors[i / 2];
	const char *head = h_path("%s:6: server opt: %s", conf, e->report);
	const char *line = strstr(text, head);
	bool fini = strstr(e->setting, "refuse") != NULL;

	ck_assert_msg(count(text, head) == 1, "%s: expected %s once in:\n%s",
	    what, h_quote(head, strlen(head)), text);
	ck_assert_msg(logged ? line - text >= 7 && strncmp(line - 7,
	    "error: ", 7) == 0 : line == text || line[-1] == '\n', "%s: %s "
	    "is not %s:\n%s", what, h_quote(head, strlen(head)), logged ?
	    "logged as an error" : "a line of its own", text);
	ck_assert_msg(strstr(text, "init refused") == NULL, "%s: init's "
	    "refusal is reported twice:\n%s", what, text);
	ck_assert_msg(count(text, "options fini") == (fini ? 1 : 0), "%s: "
	    "fini ran %d times, expected %d:\n%s", what, count(text,
	    "options fini"), fini ? 1 : 0, text);
}

/* -t and a start both exit 2 with the one report, FILE:LINE first. */
static void
expect_option_refused(int i, const char *mode)
{
	const char *conf = h_write_file("options.conf", options_conf,
	    h_free_port(), options_fixture(i), option_errors[i / 2].setting);
	const char *what = h_path("%s, %s", option_errors[i / 2].setting,
	    mode);
	struct h_result r;

	h_run(&r, mode, "-f", conf);
	h_expect_status(&r, 2, what);
	expect_option_report(i, conf, r.output, what, false);
}

START_TEST(test_option_refused_by_check)
{
	expect_option_refused(_i, "-t");
}
END_TEST

START_TEST(test_option_refused_at_start)
{
	expect_option_refused(_i, "-F");
}
END_TEST

/*
 * A reload to a configuration with the problem fails: the report is
 * logged once as an error, and the server goes on with its old options.
 */
START_TEST(test_option_refused_on_reload)
{
	int port = h_free_port(), fd;
	const char *conf;
	struct h_daemon d;
	char log[16384];

	conf = h_write_file("options.conf", options_conf, port,
	    options_fixture(_i), "name = \"before\"; wait = 2;");
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_port(&d, port);
	h_write_file("options.conf", options_conf, port, options_fixture(_i),
	    option_errors[_i / 2].setting);
	h_daemon_signal(&d, SIGHUP);
	h_daemon_wait_log(&d, "reload failed", 1);
	h_read_file(d.log, log, sizeof(log));
	expect_option_report(_i, conf, log, h_path("%s, reload",
	    option_errors[_i / 2].setting), true);
	fd = h_connect(port);
	h_expect(fd, "name=before count=1 flag=false wait=2 limit=1024\n");
	close(fd);
	ck_assert_msg(h_daemon_stop(&d, SIGTERM) == 0, "no clean stop after "
	    "the failed reload%s", h_daemon_log_tail(&d));
}
END_TEST

/* Every problem is reported, each once, at its own line, in order. */
START_TEST(test_option_refusals_all_reported)
{
	const char *conf = h_write_file("options.conf", options_conf,
	    h_free_port(), options_fixture(_i), "count = 0;\n"
	    "      colour = 1;\n      limit = \"big\";");
	const char *first, *second, *third;
	struct h_result r;

	h_run(&r, "-t", "-f", conf);
	h_expect_status(&r, 2, "three problems");
	first = strstr(r.output, h_path("%s:6: server opt: option count: 0 "
	    "is out of range", conf));
	second = strstr(r.output, h_path("%s:7: server opt: option colour: "
	    "unknown", conf));
	third = strstr(r.output, h_path("%s:8: server opt: option limit: "
	    "wrong type", conf));
	ck_assert_msg(first != NULL && second != NULL && third != NULL &&
	    (_i % 2 == 1 || (first < second && second < third)),
	    "expected count, colour and limit reported at lines 6, 7 and 8%s:"
	    "\n%s", _i % 2 == 0 ? ", in that order" : "", r.output);
}
END_TEST

/*
 * The daemon's SO_REUSEADDR does not let it bind a port that another
 * socket listens on, so this is a runtime failure naming the address.
 */
START_TEST(test_bind_in_use)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct h_result r;
	const char *conf;
	int fd, port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0 && bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0 && listen(fd, 1) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0,
	    "cannot hold a listening socket: %s", strerror(errno));
	port = ntohs(sin.sin_port);
	conf = h_write_file("busy.conf", echo_conf, port, "echo");
	h_run(&r, "-F", "-f", conf);
	h_expect_status(&r, 1, "port in use");
	h_expect_output(&r, h_path("127.0.0.1:%d", port), "port in use");
	close(fd);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "version", test_version, 0 },
		{ "help", test_help, 0 },
		{ "unknown_option", test_unknown_option, 0 },
		{ "missing_config", test_missing_config, 0 },
		{ "syntax_error", test_syntax_error, 0 },
		{ "check_valid_config", test_check_valid_config, 0 },
		{ "check_reports_every_error", test_check_reports_every_error,
		    0 },
		{ "plugin_refused_by_check", test_plugin_refused_by_check,
		    NREFUSALS },
		{ "plugin_refused_at_start", test_plugin_refused_at_start,
		    NREFUSALS },
		{ "plugin_refused_on_reload", test_plugin_refused_on_reload,
		    NREFUSALS },
		{ "option_refused_by_check", test_option_refused_by_check,
		    NOPTION_ERRORS },
		{ "option_refused_at_start", test_option_refused_at_start,
		    NOPTION_ERRORS },
		{ "option_refused_on_reload", test_option_refused_on_reload,
		    NOPTION_ERRORS },
		{ "option_refusals_all_reported",
		    test_option_refusals_all_reported, 2 },
		{ "bind_in_use", test_bind_in_use, 0 },
	};
	Suite *suite = suite_create("cli");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
