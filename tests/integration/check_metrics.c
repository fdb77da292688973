/*
 * check_metrics.c - the metrics plugin (SPEC §10): curl's GET /metrics
 * over HTTP/1.0 and HTTP/1.1, on tcp and unix, gets every counter in
 * Prometheus's text format, which the reference parser (Python's
 * prometheus_client, Debian's python3-prometheus-client) reads back
 * with the families, types, labels and values the requests made, in
 * every model (forked children and pool workers read the live counters
 * the daemon shares); other paths, methods and malformed requests get
 * 404, 405 and 400; the server's access rules apply to it as to any.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/*
 * %1$s model, %2$d workers, %3$d port of the echo server "main", %4$s the
 * metrics server's transport, %5$s its listen, %6$s more of its settings.
 */
static const char metrics_conf[] =
    "daemon: { log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"main\"; transport = \"tcp\"; listen = \"127.0.0.1:%3$d\";\n"
    "    handler = \"echo\"; concurrency = \"%1$s\"; workers = %2$d;\n"
    "    max_line = 16; access = { allow = [ \"127.0.0.1\" ]; }; },\n"
    "  { name = \"metrics\"; transport = \"%4$s\"; listen = \"%5$s\";\n"
    "    handler = \"metrics\"; concurrency = \"%1$s\"; workers = %2$d;%6$s }\n"
    ");\n";

/* Prints each family and sample the reference parser reads in argv[1]. */
static const char parse_script[] =
    "import sys\n"
    "from prometheus_client.parser import text_string_to_metric_families\n"
    "text = open(sys.argv[1], encoding='utf-8').read()\n"
    "print('begin')\n"
    "for fam in text_string_to_metric_families(text):\n"
    "    print('family %s %s' % (fam.name, fam.type))\n"
    "    if not fam.documentation:\n"
    "        print('undocumented %s' % fam.name)\n"
    "    for s in fam.samples:\n"
    "        if fam.name != 'sockserv_uptime_seconds' and not \\\n"
    "                {'server', 'transport', 'model'} <= set(s.labels):\n"
    "            print('unlabelled %s' % s.name)\n"
    "        labels = ','.join('%s=%s' % kv for kv in sorted(s.labels.items()))\n"
    "        print('sample %s{%s} %.17g' % (s.name, labels, s.value))\n"
    "print('parsed')\n";

/* Output of the programs run, big enough for a whole scrape. */
static char output[65536];

/*
 * Runs argv (argv[0] an absolute path) to its end; its stdout and
 * stderr are left in `output`. Static: the harness quotes the log of the
 * process started last after this returns.
 */
static int
run_program(const char *const *argv)
{
	static struct h_daemon p;
	int code;

	h_spawn(&p, argv, NULL);
	code = h_daemon_wait_exit(&p);
	h_read_file(p.log, output, sizeof(output));
	return code;
}

/*
 * A python3 that has prometheus_client: Debian's (/usr/bin/python3,
 * where python3-prometheus-client installs it), or the one in PATH.
 */
static const char *
parser_python(void)
{
	static const char *found;
	const char *candidates[] = { "/usr/bin/python3", NULL };
	size_t i;

	if (found != NULL)
		return found;
	candidates[1] = h_which("python3");
	for (i = 0; i < 2; i++)
		if (access(candidates[i], X_OK) == 0 &&
		    run_program((const char *const[]){ candidates[i], "-c",
		    "import prometheus_client.parser", NULL }) == 0)
			return found = candidates[i];
	ck_abort_msg("no python3 with prometheus_client: install Debian's "
	    "python3-prometheus-client (./bootstrap does)");
	return NULL;
}

/*
 * GETs /metrics with curl (`http10`: HTTP/1.0) from the metrics server
 * at tcp `port`, or the unix socket `path` when it is not NULL; the
 * headers go to HEAD.txt, the body to BODY.txt. Returns the body's path.
 */
static const char *
scrape(int port, const char *path, bool http10, const char *tag)
{
	const char *head = h_path("%s/%s-head.txt", h_tmpdir(), tag);
	const char *body = h_path("%s/%s-body.txt", h_tmpdir(), tag);
	const char *url = path != NULL ? "http://localhost/metrics" :
	    h_path("http://127.0.0.1:%d/metrics", port);
	const char *argv[16];
	size_t n = 0;
	char headers[4096];

	argv[n++] = h_which("curl");
	argv[n++] = "-sS";
	argv[n++] = "--max-time";
	argv[n++] = "10";
	argv[n++] = http10 ? "--http1.0" : "--http1.1";
	if (path != NULL) {
		argv[n++] = "--unix-socket";
		argv[n++] = path;
	}
	argv[n++] = "-D";
	argv[n++] = head;
	argv[n++] = "-o";
	argv[n++] = body;
	argv[n++] = url;
	argv[n] = NULL;
	ck_assert_msg(run_program(argv) == 0, "%s: curl failed:\n%s", tag,
	    output);
	h_read_file(head, headers, sizeof(headers));
	ck_assert_msg(strncmp(headers, http10 ? "HTTP/1.0 200 OK\r\n" :
	    "HTTP/1.1 200 OK\r\n", 17) == 0 && strstr(headers,
	    "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") &&
	    strstr(headers, "\r\nConnection: close\r\n") &&
	    strstr(headers, "\r\nContent-Length: "), "%s: reply headers:\n%s",
	    tag, headers);
	return body;
}

/* Parses the scrape with prometheus_client; `output` holds what it read. */
static void
parse(const char *body, const char *tag)
{
	ck_assert_msg(run_program((const char *const[]){ parser_python(), "-c",
	    parse_script, body, NULL }) == 0, "%s: the parser refused the "
	    "scrape:\n%.3000s", tag, output);
	ck_assert_msg(strstr(output, "\nparsed\n") != NULL &&
	    strstr(output, "undocumented ") == NULL &&
	    strstr(output, "unlabelled ") == NULL, "%s: parsed as:\n%.3000s", tag,
	    output);
}

/* The parser's output holds `line` as a whole line. */
static void
expect_parsed(const char *line, const char *tag)
{
	char needle[512];

	snprintf(needle, sizeof(needle), "\n%s\n", line);
	ck_assert_msg(strstr(output, needle) != NULL, "%s: no \"%s\" in what "
	    "the parser read:\n%.3000s", tag, line, output);
}

/* Every family the plugin serves, with its type. */
static void
expect_families(const char *tag)
{
	static const char *const families[] = {
		"family sockserv_uptime_seconds gauge",
		"family sockserv_accepted counter",
		"family sockserv_in_flight gauge",
		"family sockserv_requests counter",
		"family sockserv_refused counter",
		"family sockserv_received_bytes counter",
		"family sockserv_sent_bytes counter",
		"family sockserv_request_duration_seconds histogram",
	};
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		expect_parsed(families[i], tag);
}

/* A sample of server main: NAME{LABELS,model=..,server=main,...} VALUE. */
static void
expect_main(const char *name, const char *before, const char *after,
    const char *model, const char *value, const char *tag)
{
	expect_parsed(h_path("sample %s{%smodel=%s,%sserver=main,"
	    "transport=tcp} %s", name, before, model, after, value), tag);
}

/*
 * Two lines echoed, one line over max_line (failed), one client refused
 * by the access rules; a scrape over HTTP/1.1 counts each, with labels
 * and a histogram of the three ends. One more line, and a scrape over
 * HTTP/1.0 sees it: the counters are live, also from a forked child or
 * a worker forked at start.
 */
START_TEST(test_scrape)
{
	const char *model = h_pooled[_i].model, *body;
	struct h_daemon d;
	int port, mport, fd;

	port = h_free_port();
	mport = h_free_port();
	h_daemon_start(&d, h_write_file("c.conf", metrics_conf, model,
	    h_pooled[_i].workers, port, "tcp", h_path("127.0.0.1:%d", mport),
	    ""), NULL);
	h_daemon_wait_port(&d, mport);
	h_exchange(&d, port, "hello\n", "hello\n", "first");
	h_exchange(&d, port, "again\n", "again\n", "second");
	fd = h_connect(port);
	h_send(fd, "a line longer than sixteen bytes\n");
	h_expect_eof(fd);
	close(fd);
	fd = h_connect_from("127.0.0.2", port);
	h_expect_eof(fd);
	close(fd);

	body = scrape(mport, NULL, false, "first");
	parse(body, model);
	expect_families(model);
	expect_main("sockserv_accepted_total", "", "", model, "4", model);
	expect_main("sockserv_in_flight", "", "", model, "0", model);
	expect_main("sockserv_requests_total", "", "result=ok,", model, "2",
	    model);
	expect_main("sockserv_requests_total", "", "result=failed,", model,
	    "1", model);
	expect_main("sockserv_requests_total", "", "result=timed_out,", model,
	    "0", model);
	expect_main("sockserv_requests_total", "", "result=cut,", model, "0",
	    model);
	expect_main("sockserv_refused_total", "", "reason=access,", model, "1",
	    model);
	expect_main("sockserv_refused_total", "", "reason=max_per_source,",
	    model, "0", model);
	expect_main("sockserv_sent_bytes_total", "", "", model, "12", model);
	expect_main("sockserv_request_duration_seconds_count", "", "", model,
	    "3", model);
	expect_main("sockserv_request_duration_seconds_bucket", "le=+Inf,", "",
	    model, "3", model);
	/* The metrics server is listed too, serving this very scrape. */
	expect_parsed(h_path("sample sockserv_refused_total{model=%s,"
	    "reason=access,server=metrics,transport=tcp} 0", model), model);

	h_exchange(&d, port, "third\n", "third\n", "third");
	body = scrape(mport, NULL, true, "second");
	parse(body, model);
	expect_main("sockserv_requests_total", "", "result=ok,", model, "3",
	    model);
	expect_main("sockserv_sent_bytes_total", "", "", model, "18", model);
	expect_main("sockserv_request_duration_seconds_count", "", "", model,
	    "4", model);
	h_expect_clean_stop(&d);
}
END_TEST

/* The same over a unix socket, with curl --unix-socket. */
START_TEST(test_scrape_unix)
{
	const char *path = h_sock_path("metrics.sock"), *body;
	struct h_daemon d;
	int port;

	port = h_free_port();
	h_daemon_start(&d, h_write_file("c.conf", metrics_conf, "forking", 0,
	    port, "unix", path, ""), NULL);
	h_daemon_wait_unix(&d, path);
	h_exchange(&d, port, "hello\n", "hello\n", "first");
	body = scrape(0, path, false, "unix");
	parse(body, "unix");
	expect_families("unix");
	expect_main("sockserv_requests_total", "", "result=ok,", "forking",
	    "1", "unix");
	expect_parsed("sample sockserv_requests_total{model=forking,result=cut,"
	    "server=metrics,transport=unix} 0", "unix");
	h_expect_clean_stop(&d);
}
END_TEST

/* Sends a raw request to the metrics server; the reply must begin so. */
static void
expect_reply(struct h_daemon *d, int mport, const char *request,
    const char *begins, const char *who)
{
	static char reply[65536];

	h_transact(h_connect(mport), request, reply, sizeof(reply));
	ck_assert_msg(strncmp(reply, begins, strlen(begins)) == 0, "%s: "
	    "expected a reply beginning %s, got %s%s", who,
	    h_quote(begins, strlen(begins)), h_quote(reply, strlen(reply)),
	    h_daemon_log_tail(d));
}

/* The HTTP status curl gets for one more request. */
static void
expect_curl_status(const char *const *args, const char *status)
{
	const char *argv[16];
	size_t n = 0;

	argv[n++] = h_which("curl");
	argv[n++] = "-sS";
	argv[n++] = "--max-time";
	argv[n++] = "10";
	argv[n++] = "-o";
	argv[n++] = "/dev/null";
	argv[n++] = "-w";
	argv[n++] = "%{http_code}\\n";
	for (; *args != NULL; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	ck_assert_msg(run_program(argv) == 0 && strcmp(output, status) == 0,
	    "curl %s: expected status %s, got %s", args[-1], status, output);
}

/*
 * Only GET and HEAD of /metrics are served: another path is 404, another
 * method 405 with Allow, a malformed request 400 (so is HTTP/1.1 without
 * Host), a request line past max_line 414, too many headers 431. A HEAD
 * gets the headers alone; a query string is ignored. The server's own
 * access rules refuse 127.0.0.2, counted in the scrape.
 */
START_TEST(test_http)
{
	static char reply[65536];
	const char *root;
	struct h_daemon d;
	char headers[8192], *p;
	int port, mport, i, fd;

	port = h_free_port();
	mport = h_free_port();
	h_daemon_start(&d, h_write_file("c.conf", metrics_conf, "threading", 0,
	    port, "tcp", h_path("127.0.0.1:%d", mport), "\n    max_line = 64;"
	    " access = { allow = [ \"127.0.0.1\" ]; };"), NULL);
	h_daemon_wait_port(&d, mport);
	root = h_path("http://127.0.0.1:%d", mport);

	expect_curl_status((const char *const[]){ h_path("%s/other", root),
	    NULL }, "404\n");
	expect_curl_status((const char *const[]){ "-X", "POST", "-d", "x=1",
	    h_path("%s/metrics", root), NULL }, "405\n");
	expect_curl_status((const char *const[]){ "--http1.0",
	    h_path("%s/metrics?name[]=x", root), NULL }, "200\n");

	expect_reply(&d, mport, "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    "HTTP/1.1 405 Method Not Allowed\r\n", "DELETE");
	h_transact(h_connect(mport), "PUT /metrics HTTP/1.0\r\n\r\n", reply,
	    sizeof(reply));
	ck_assert_msg(strstr(reply, "\r\nAllow: GET, HEAD\r\n") != NULL,
	    "405 without Allow: %s", h_quote(reply, strlen(reply)));
	expect_reply(&d, mport, "GET /other HTTP/1.0\r\n\r\n",
	    "HTTP/1.0 404 Not Found\r\n", "/other");
	expect_reply(&d, mport, "garbage\r\n", "HTTP/1.1 400 Bad Request\r\n",
	    "garbage");
	expect_reply(&d, mport, "GET /metrics HTTP/2.0\r\n\r\n",
	    "HTTP/1.1 400 Bad Request\r\n", "HTTP/2.0");
	expect_reply(&d, mport, "GET /metrics HTTP/1.1\r\n\r\n",
	    "HTTP/1.1 400 Bad Request\r\n", "no Host");
	expect_reply(&d, mport, "GET /metrics HTTP/1.0\r\nno colon\r\n\r\n",
	    "HTTP/1.0 400 Bad Request\r\n", "bad header");
	expect_reply(&d, mport, "GET /metrics HTTP/1.0\r\nHost: x\r\n",
	    "HTTP/1.0 400 Bad Request\r\n", "no empty line");
	expect_reply(&d, mport, "GET /metrics/and/a/path/longer/than/"
	    "sixty-four/bytes/in/all HTTP/1.1\r\n\r\n",
	    "HTTP/1.1 414 URI Too Long\r\n", "long line");
	fd = h_connect(mport);
	h_send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < 100; i++)
		h_send(fd, "X-Many: header\r\n");
	h_transact(fd, "", reply, sizeof(reply));
	ck_assert_msg(strncmp(reply, "HTTP/1.1 431 ", 13) == 0, "101 headers: "
	    "%s", h_quote(reply, strlen(reply)));

	/* HEAD: the headers of a GET, no body after them. */
	h_transact(h_connect(mport), "HEAD /metrics HTTP/1.1\r\nHost: x\r\n"
	    "\r\n", headers, sizeof(headers));
	p = strstr(headers, "\r\n\r\n");
	ck_assert_msg(strncmp(headers, "HTTP/1.1 200 OK\r\n", 17) == 0 &&
	    strstr(headers, "\r\nContent-Length: ") != NULL && p != NULL &&
	    p[4] == '\0', "HEAD: %s", h_quote(headers, strlen(headers)));

	fd = h_connect_from("127.0.0.2", mport);
	h_expect_eof(fd);
	close(fd);
	parse(scrape(mport, NULL, false, "after"), "http");
	expect_parsed("sample sockserv_refused_total{model=threading,"
	    "reason=access,server=metrics,transport=tcp} 1", "http");
	h_expect_clean_stop(&d);
}
END_TEST

/* HTTP needs a stream: on udp the server is refused at its handler. */
START_TEST(test_refuses_datagram)
{
	struct h_result r;
	const char *conf;

	conf = h_write_file("c.conf", metrics_conf, "sync", 0, h_free_port(),
	    "udp", h_path("127.0.0.1:%d", h_free_port()), "");
	h_run(&r, "-t", "-f", conf);
	h_expect_status(&r, 2, "metrics over udp");
	h_expect_output(&r, "server metrics: plugin metrics: transport \"udp\" "
	    "is not supported (expected a stream: \"tcp\" or \"unix\")",
	    "metrics over udp");
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "scrape", test_scrape, H_NPOOLED },
		{ "scrape_unix", test_scrape_unix, 0 },
		{ "http", test_http, 0 },
		{ "refuses_datagram", test_refuses_datagram, 0 },
	};
	Suite *suite = suite_create("metrics");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
