/*
 * check_serve.c - `sockservd --serve TRANSPORT:ADDRESS PLUGIN`: one plugin
 * served without a config file, in the foreground, logging to stderr;
 * every transport, --option values typed as libconfig reads them,
 * --concurrency and --workers, Ctrl-C, and the usage errors (exit 2).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static const char *const transports[] = { "tcp", "udp", "unix", "unix-dgram" };
#define NTRANSPORTS (sizeof(transports) / sizeof(transports[0]))

/* Starts `sockservd --serve ENDPOINT PLUGIN EXTRA...`. */
static void
serve_start(struct h_daemon *d, const char *endpoint, const char *plugin,
    const char *const *extra)
{
	const char *argv[32];
	size_t n = 0;

	argv[n++] = h_env("SS_SOCKSERVD");
	argv[n++] = "--serve";
	argv[n++] = endpoint;
	argv[n++] = plugin;
	while (extra != NULL && *extra != NULL && n < 31)
		argv[n++] = *extra++;
	argv[n] = NULL;
	h_spawn(d, argv, NULL);
}

/* A copy of src as NAME in a directory only the test can write. */
static const char *
private_plugin(const char *src, const char *name, mode_t mode)
{
	h_mkdir("plugins", 0755);
	return h_copy_file(src, h_path("plugins/%s", name), mode);
}

START_TEST(test_every_transport)
{
	const char *transport = transports[_i];
	struct h_daemon d;
	struct h_ep e;

	h_ep_init(&e, transport, "echo");
	serve_start(&d, h_path("%s:%s", transport, e.listen), "echo", NULL);
	h_ep_wait(&d, &e);
	h_ep_exchange(&d, &e, "hello serve\n", "hello serve\n");
	/* Logged to stderr at info: the request's access line. */
	h_daemon_wait_line(&d, "info: server echo: ", "ok");
	ck_assert_msg(h_log_line_has(&d, "serving", transport, e.listen),
	    "--serve %s: no line saying what it serves, log:\n%s", transport,
	    h_daemon_log_tail(&d));
	h_expect_exit_ok(&d, h_daemon_stop(&d, SIGINT), "SIGINT");
	if (e.unix_path)
		h_expect_gone(&d, e.path, "after SIGINT");
}
END_TEST

START_TEST(test_sigint_with_idle_client)
{
	struct h_daemon d;
	int port = h_free_port(), fd;

	serve_start(&d, h_path("tcp:127.0.0.1:%d", port), "echo", NULL);
	h_daemon_wait_port(&d, port);
	fd = h_connect(port);
	h_send(fd, "one\n");
	h_expect_line(&d, fd, "one\n", "idle client");
	/* Ctrl-C ends a request idle between lines, not waiting for it. */
	h_expect_exit_ok(&d, h_daemon_stop(&d, SIGINT), "SIGINT");
	h_expect_closed(&d, fd, "idle client");
	close(fd);
}
END_TEST

START_TEST(test_sighup_keeps_serving)
{
	struct h_daemon d;
	int port = h_free_port();

	serve_start(&d, h_path("tcp:127.0.0.1:%d", port), "echo", NULL);
	h_daemon_wait_port(&d, port);
	h_daemon_signal(&d, SIGHUP);
	h_daemon_wait_line(&d, "SIGHUP", "nothing to reload with --serve");
	h_expect_echo(&d, port, "still here\n", "after SIGHUP");
	h_expect_exit_ok(&d, h_daemon_stop(&d, SIGINT), "SIGINT");
}
END_TEST

/*
 * A relative path to a .so, without "./", and values of every type the
 * options fixture reads; the string needs escaping in libconfig text.
 */
START_TEST(test_options_reach_plugin)
{
	const char *const extra[] = {
		"--option", "name=say \"hi\" \\ back",
		"--option", "count=7",
		"--option", "flag=TRUE",
		"--option", "wait=1.5",
		"--option", "limit=4096",
		NULL
	};
	struct h_daemon d;
	int port = h_free_port();

	private_plugin(h_fixture("options_table"), "opts.so", 0755);
	ck_assert_msg(chdir(h_path("%s/plugins", h_tmpdir())) == 0, "chdir");
	serve_start(&d, h_path("tcp:127.0.0.1:%d", port), "opts.so", extra);
	h_daemon_wait_port(&d, port);
	h_exchange(&d, port, "", "name=say \"hi\" \\ back count=7 flag=true "
	    "wait=1.5 limit=4096\n", "options");
	/* The server is named after the plugin's file. */
	h_daemon_wait_line(&d, "info: server opts: ", "ok");
	h_expect_exit_ok(&d, h_daemon_stop(&d, SIGINT), "SIGINT");
}
END_TEST

START_TEST(test_timestamp_options)
{
	const char *const extra[] = {
		"--option", "format=%Y!", "--option", "utc=true", NULL
	};
	struct h_daemon d;
	char reply[256], want[64];
	int port = h_free_port(), year = h_utc_year();

	serve_start(&d, h_path("tcp:127.0.0.1:%d", port), "timestamp", extra);
	h_daemon_wait_port(&d, port);
	h_transact(h_connect(port), "x\n", reply, sizeof(reply));
	snprintf(want, sizeof(want), "[%d!] x\n", year);
	if (strcmp(reply, want) != 0)
		snprintf(want, sizeof(want), "[%d!] x\n", year + 1);
	ck_assert_msg(strcmp(reply, want) == 0, "timestamp --option "
	    "format=%%Y! utc=true: expected %s, got %s", h_quote(want,
	    strlen(want)), h_quote(reply, strlen(reply)));
	h_expect_exit_ok(&d, h_daemon_stop(&d, SIGINT), "SIGINT");
}
END_TEST

START_TEST(test_forking_workers)
{
	const char *const extra[] = {
		"--concurrency", "forking", "--workers", "2", NULL
	};
	struct h_daemon d;
	pid_t pids[4];
	int port = h_free_port();

	serve_start(&d, h_path("tcp:127.0.0.1:%d", port), "echo", extra);
	h_daemon_wait_port(&d, port);
	ck_assert_msg(h_log_line_has(&d, "server echo: serving",
	    "(forking, 2 workers"), "--concurrency forking --workers 2: not "
	    "what it serves with, log:\n%s", h_daemon_log_tail(&d));
	ck_assert_uint_eq(h_wait_children(&d, 2, 0, pids, 4), 2);
	h_expect_echo(&d, port, "forked\n", "forking");
	h_expect_exit_ok(&d, h_daemon_stop(&d, SIGINT), "SIGINT");
}
END_TEST

/* -l still sets the level: at warning, no access line. */
START_TEST(test_log_level)
{
	const char *const extra[] = { "-l", "warning", NULL };
	struct h_daemon d;
	int port = h_free_port();

	serve_start(&d, h_path("tcp:127.0.0.1:%d", port), "echo", extra);
	h_daemon_wait_port(&d, port);
	h_expect_echo(&d, port, "quiet\n", "-l warning");
	h_expect_exit_ok(&d, h_daemon_stop(&d, SIGINT), "SIGINT");
	ck_assert_msg(!h_log_contains(&d, "info:") &&
	    !h_log_contains(&d, "notice:"), "-l warning: lines below warning "
	    "were logged:\n%s", h_daemon_log_tail(&d));
}
END_TEST

/* Arguments after --serve's own two (NULL: none), and what must be said. */
static const struct {
	const char *endpoint, *plugin, *extra[4], *says;
} usage_errors[] = {
	{ "tcp:127.0.0.1:1", NULL, { NULL }, "needs a PLUGIN" },
	{ "tcp", "echo", { NULL }, "expected TRANSPORT:ADDRESS" },
	{ "sctp:127.0.0.1:1", "echo", { NULL }, "unknown transport 'sctp'" },
	{ "tcp:127.0.0.300:1", "echo", { NULL },
	    "bad listen address '127.0.0.300:1'" },
	{ "tcp:127.0.0.1:1", "nonesuch", { NULL },
	    "cannot load plugin" },
	{ "tcp:127.0.0.1:1", "echo", { "--option", "noequals", NULL },
	    "--option 'noequals': expected KEY=VALUE" },
	{ "tcp:127.0.0.1:1", "echo", { "--option", "1a=b", NULL },
	    "--option '1a=b': expected KEY=VALUE" },
	{ "tcp:127.0.0.1:1", "timestamp", { "--option", "utc=1", "--option",
	    "utc=2" }, "utc is given twice" },
	{ "tcp:127.0.0.1:1", "timestamp", { "--option", "colour=red", NULL },
	    "server timestamp: option colour: unknown" },
	{ "tcp:127.0.0.1:1", "timestamp", { "--option", "utc=maybe", NULL },
	    "server timestamp: option utc: wrong type (expected true or "
	    "false)" },
	{ "tcp:127.0.0.1:1", "echo", { "--concurrency", "fibres", NULL },
	    "unknown concurrency 'fibres'" },
	{ "tcp:127.0.0.1:1", "echo", { "--workers", "many", NULL },
	    "--workers 'many': expected a number" },
	{ "tcp:127.0.0.1:1", "echo", { "-f", "sockserv.conf", NULL },
	    "--serve and -f exclude each other" },
	{ NULL, NULL, { "--option", "a=b", NULL }, "--option needs --serve" },
};
#define NUSAGE_ERRORS (sizeof(usage_errors) / sizeof(usage_errors[0]))

START_TEST(test_usage_errors)
{
	const char *args[12];
	struct h_result r;
	size_t n = 0, i;

	if (usage_errors[_i].endpoint != NULL) {
		args[n++] = "--serve";
		args[n++] = usage_errors[_i].endpoint;
	}
	if (usage_errors[_i].plugin != NULL)
		args[n++] = usage_errors[_i].plugin;
	for (i = 0; i < 4 && usage_errors[_i].extra[i] != NULL; i++)
		args[n++] = usage_errors[_i].extra[i];
	args[n] = NULL;
	h_run_argv(&r, args);
	h_expect_status(&r, 2, usage_errors[_i].says);
	h_expect_output(&r, usage_errors[_i].says, usage_errors[_i].says);
	/* One clear line, not a config file's FILE:LINE. */
	ck_assert_msg(strncmp(r.output, "sockservd: ", 11) == 0,
	    "expected \"sockservd: ...\", got:\n%s", r.output);
}
END_TEST

START_TEST(test_writable_plugin_refused)
{
	const char *plugin = private_plugin(h_plugin("echo"), "echo.so", 0775);
	struct h_result r;

	h_run(&r, "--serve", "tcp:127.0.0.1:1", plugin);
	h_expect_status(&r, 2, "group-writable plugin");
	h_expect_output(&r, h_path("%s is writable by group or others "
	    "(chmod go-w %s)", plugin, plugin), "group-writable plugin");
}
END_TEST

START_TEST(test_check_only)
{
	struct h_result r;

	h_run(&r, "-t", "--serve", "tcp:127.0.0.1:1", "timestamp",
	    "--option", "utc=false");
	h_expect_status(&r, 0, "-t --serve");
	h_expect_output(&r, "--serve test is successful", "-t --serve");
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "every_transport", test_every_transport, NTRANSPORTS },
		{ "sigint_with_idle_client", test_sigint_with_idle_client, 0 },
		{ "sighup_keeps_serving", test_sighup_keeps_serving, 0 },
		{ "options_reach_plugin", test_options_reach_plugin, 0 },
		{ "timestamp_options", test_timestamp_options, 0 },
		{ "forking_workers", test_forking_workers, 0 },
		{ "log_level", test_log_level, 0 },
		{ "usage_errors", test_usage_errors, NUSAGE_ERRORS },
		{ "writable_plugin_refused", test_writable_plugin_refused, 0 },
		{ "check_only", test_check_only, 0 },
	};
	Suite *suite = suite_create("serve");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
