/*
 * check_counters.c - SPEC §10 counters, read through SIGUSR1's status
 * line, in every model and pool (forked children and pool workers count
 * into memory the daemon shares with them): requests ok, failed, timed
 * out, refused by the access rules, bytes in and out; totals run on over
 * a reload for a kept server and start at zero for a new one.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/*
 * %1$s model, %2$d workers, %3$d port of "main", %4$s a second server
 * (empty, or one more server entry).
 */
static const char counters_conf[] =
    "daemon: { log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"main\"; transport = \"tcp\"; listen = \"127.0.0.1:%3$d\";\n"
    "    handler = \"echo\"; concurrency = \"%1$s\"; workers = %2$d;\n"
    "    request_timeout = 0.5; max_line = 16;\n"
    "    access = { allow = [ \"127.0.0.1\" ]; }; }%4$s\n"
    ");\n";

/* Asks for the status, and waits for the line of server `name`. */
static void
status_of(struct h_daemon *d, const char *name)
{
	h_daemon_signal(d, SIGUSR1);
	h_daemon_wait_log(d, "SIGUSR1", 1);
	h_daemon_wait_line(d, h_path("server %s: serving", name),
	    "since start");
}

/* The last status line of `name` holds `want`. */
static void
expect_status(struct h_daemon *d, const char *name, const char *want,
    const char *model)
{
	char needle[128];

	snprintf(needle, sizeof(needle), "server %s: serving", name);
	ck_assert_msg(h_log_line_has(d, needle, want), "%s: no status line of "
	    "%s with \"%s\"%s", model, name, want, h_daemon_log_tail(d));
}

/*
 * Two requests ok (one line each way), one failed (a line over
 * max_line), one timed out (silent past request_timeout), one refused by
 * the access rules; then the status counts each, with the readiness
 * probe as a third ok request of 0 bytes.
 */
START_TEST(test_counts_every_end)
{
	const char *model = h_pooled[_i].model;
	struct h_daemon d;
	int port, fd;

	port = h_free_port();
	h_daemon_start(&d, h_write_file("c.conf", counters_conf, model,
	    h_pooled[_i].workers, port, ""), NULL);
	h_daemon_wait_port(&d, port);
	h_daemon_wait_log(&d, "ok", 1);
	h_exchange(&d, port, "hello\n", "hello\n", "first");
	h_exchange(&d, port, "again\n", "again\n", "second");
	fd = h_connect(port);
	h_send(fd, "a line longer than sixteen bytes\n");
	h_expect_eof(fd);
	close(fd);
	fd = h_connect(port);
	h_expect_eof(fd);	/* cut at request_timeout */
	close(fd);
	fd = h_connect_from("127.0.0.2", port);
	h_expect_eof(fd);
	close(fd);
	h_daemon_wait_line(&d, "refused by access rules");
	status_of(&d, "main");
	expect_status(&d, "main", "requests: 0 in flight, 5 since start "
	    "(3 ok, 1 failed, 1 timed out, 0 cut), 1 refused, ", model);
	/* 12 bytes echoed; the long line was read up to the limit at least. */
	ck_assert_msg(h_log_line_has(&d, "server main: serving",
	    "bytes out") && !h_log_line_has(&d, "server main: serving",
	    " 0 bytes in,"), "%s: bytes not counted%s", model,
	    h_daemon_log_tail(&d));
	expect_status(&d, "main", "bytes in, 12 bytes out", model);
	h_expect_clean_stop(&d);
}
END_TEST

/*
 * A reload that keeps "main" (same address) keeps its totals; "extra",
 * new in the reloaded configuration, starts at zero.
 */
START_TEST(test_totals_survive_reload)
{
	const char *model = h_pooled[_i].model, *conf;
	struct h_daemon d;
	int port, extra;

	port = h_free_port();
	extra = h_free_port();
	conf = h_write_file("c.conf", counters_conf, model, h_pooled[_i].workers,
	    port, "");
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_port(&d, port);
	h_exchange(&d, port, "one\n", "one\n", "before the reload");
	h_exchange(&d, port, "two\n", "two\n", "before the reload");
	h_write_file("c.conf", counters_conf, model, h_pooled[_i].workers, port,
	    h_path(",\n  { name = \"extra\"; transport = \"tcp\";\n"
	    "    listen = \"127.0.0.1:%d\"; handler = \"echo\"; }", extra));
	h_daemon_signal(&d, SIGHUP);
	h_daemon_wait_log(&d, "reloaded", 1);
	h_exchange(&d, port, "three\n", "three\n", "after the reload");
	h_daemon_wait_log(&d, "ok", 4);
	status_of(&d, "extra");
	/* The probe, two before, one after. */
	expect_status(&d, "main", "requests: 0 in flight, 4 since start "
	    "(4 ok,", model);
	expect_status(&d, "extra", "requests: 0 in flight, 0 since start",
	    model);
	h_expect_clean_stop(&d);
}
END_TEST

/*
 * Under systemd, STATUS= carries the live totals: READY=1 says "Serving
 * 1 server", and requests served later show up within about a second.
 */
START_TEST(test_status_for_systemd)
{
	struct h_notify n;
	struct h_daemon d;
	const char *conf, *msg;
	int port;

	h_notify_open(&n);
	port = h_free_port();
	conf = h_write_file("c.conf", counters_conf, "threading", 0, port, "");
	h_daemon_start_env(&d, conf, NULL, (const char *const[]){
	    h_path("NOTIFY_SOCKET=%s", n.path), NULL });
	msg = h_notify_wait(&n, &d, "READY=1");
	ck_assert_msg(strstr(msg, "STATUS=Serving 1 server: ") != NULL,
	    "READY=1 without the totals: %s", msg);
	h_daemon_wait_port(&d, port);
	h_exchange(&d, port, "one\n", "one\n", "first");
	h_exchange(&d, port, "two\n", "two\n", "second");
	/* The probe and two: three requests, none in flight. */
	h_notify_wait(&n, &d, "STATUS=Serving 1 server: 3 requests, 0 in "
	    "flight, 0 refused");
	h_expect_clean_stop(&d);
}
END_TEST

/*
 * Logging to the journal, each access line goes through sd_journal_sendv
 * with its fields, so journalctl can select on them. A shim stands in for
 * journald (tests/fixtures/journal.c) and keeps what the daemon sent.
 */
START_TEST(test_access_fields_to_journal)
{
	const char *conf, *journal, *name;
	char text[16384];
	struct h_daemon d;
	int port, fd;

	port = h_free_port();
	journal = h_path("%s/journal.txt", h_tmpdir());
	conf = h_write_file("c.conf", counters_conf, "threading", 0, port, "");
	h_daemon_start_env(&d, conf, NULL, (const char *const[]){
	    "INVOCATION_ID=0123456789abcdef0123456789abcdef",
	    h_path("LD_PRELOAD=%s", h_fixture("journal")),
	    h_preload_asan_options(), h_path("SS_JOURNAL_FILE=%s", journal),
	    NULL });
	h_daemon_wait_port(&d, port);
	fd = h_connect(port);
	name = h_client_name(fd);
	h_send(fd, "hello\n");
	h_expect(fd, "hello\n");
	h_shutdown_write(fd);
	h_expect_eof(fd);
	close(fd);
	h_expect_clean_stop(&d);
	h_read_file(journal, text, sizeof(text));
	ck_assert_msg(strstr(text, h_path("SERVER=main\nCLIENT=%s\n"
	    "BYTES_IN=6\nBYTES_OUT=6\nDURATION_US=", name)) != NULL &&
	    strstr(text, "\nRESULT=ok\n") != NULL &&
	    strstr(text, h_path("MESSAGE=server main: %s in=6 out=6 ", name))
	    != NULL && strstr(text, "PRIORITY=6\n") != NULL, "the journal "
	    "did not get the access fields of %s:\n%s", name, text);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "counts_every_end", test_counts_every_end, H_NPOOLED },
		{ "totals_survive_reload", test_totals_survive_reload,
		    H_NPOOLED },
		{ "status_for_systemd", test_status_for_systemd, 0 },
		{ "access_fields_to_journal", test_access_fields_to_journal,
		    0 },
	};
	Suite *suite = suite_create("counters");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
