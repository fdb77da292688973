/*
 * check_options.c - unit tests for daemon/options.c: the option lookups a
 * plugin's init calls, what each type accepts, and the exact line each
 * problem is reported as ("FILE:LINE: server NAME: option KEY: ...").
 *
 * Each test writes its configuration into one temp dir per test case,
 * reads it with libconfig and hands its `options` group to the lookups
 * for a server of its own, without a daemon. SS_TEST_LEAVE=1 keeps the
 * dir.
 */
#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "options.h"
#include "server.h"

static char tmpdir[PATH_MAX - 64];
static char path[PATH_MAX], include_path[PATH_MAX];
static config_t cfg;
static const config_setting_t *options;
static struct conf_server cs;
static struct ss_handler handler;
static struct ss_server srv;
static char report[4096];

/* --- fixtures ----------------------------------------------------------- */

static void
tmpdir_create(void)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_options.XXXXXX", base);
	ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp %s failed", tmpdir);
	snprintf(path, sizeof(path), "%s/options.conf", tmpdir);
	snprintf(include_path, sizeof(include_path), "%s/included.conf",
	    tmpdir);
}

static void
tmpdir_remove(void)
{
	const char *leave = getenv("SS_TEST_LEAVE");

	if (leave != NULL && strcmp(leave, "1") == 0) {
		fprintf(stderr, "check_options: leaving %s\n", tmpdir);
		return;
	}
	unlink(path);
	unlink(include_path);
	rmdir(tmpdir);
}

/* A server "s" of plugin "fake", its handler on line 3 of HANDLER.conf. */
static void
setup(void)
{
	config_init(&cfg);
	cs = (struct conf_server){ .name = "s", .handler_file = "HANDLER.conf",
	    .handler_line = 3 };
	handler = (struct ss_handler){ .name = "fake" };
	srv = (struct ss_server){ .conf = &cs, .name = "s",
	    .handler = &handler };
	options = NULL;
	options_begin(&srv);
}

static void
teardown(void)
{
	options_end(&srv, report, sizeof(report));
	config_destroy(&cfg);
}

/* Writes text to `file` and reads `path`; options is its `options`. */
static void
load_from(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");

	ck_assert_msg(f != NULL, "cannot write %s", file);
	fputs(text, f);
	fclose(f);
	ck_assert_msg(config_read_file(&cfg, path) == CONFIG_TRUE,
	    "%s:%d: %s", path, config_error_line(&cfg),
	    config_error_text(&cfg));
	options = config_lookup(&cfg, "options");
	ck_assert_msg(options != NULL, "no options group in %s", text);
}

static void
load(const char *text)
{
	load_from(path, text);
}

/* Ends the init: how many problems, their lines in `report`. */
static unsigned
reported(void)
{
	unsigned n = options_end(&srv, report, sizeof(report));

	options_begin(&srv);
	return n;
}

/* Exactly one problem was reported, and it reads `want` after FILE:. */
static void
expect_one(const char *want)
{
	char full[PATH_MAX + 1024];
	unsigned n = reported();

	snprintf(full, sizeof(full), "%s:%s", path, want);
	ck_assert_msg(n == 1 && strcmp(report, full) == 0, "expected one "
	    "report\n  %s\ngot %u:\n  %s", full, n, report);
}

static void
expect_none(void)
{
	unsigned n = reported();

	ck_assert_msg(n == 0, "expected no report, got %u:\n%s", n, report);
}

/* --- values ------------------------------------------------------------- */

START_TEST(test_values_are_stored)
{
	const char *s = NULL;
	long long i = 0, big = 0;
	bool b = false;
	double whole = 0, part = 0;
	size_t z = 0;

	load("options = {\n"
	    "  s = \"text\"; i = -5; big = 10000000000L; b = true;\n"
	    "  whole = 2; part = 0.25; z = 4096;\n"
	    "};\n");
	ck_assert_int_eq(ss_option_string(&srv, options, "s", &s), 0);
	ck_assert_int_eq(ss_option_int(&srv, options, "i", &i, 0, 0), 0);
	ck_assert_int_eq(ss_option_int(&srv, options, "big", &big, 0, 0), 0);
	ck_assert_int_eq(ss_option_bool(&srv, options, "b", &b), 0);
	ck_assert_int_eq(ss_option_seconds(&srv, options, "whole", &whole), 0);
	ck_assert_int_eq(ss_option_seconds(&srv, options, "part", &part), 0);
	ck_assert_int_eq(ss_option_size(&srv, options, "z", &z, 0, 0), 0);
	ck_assert_str_eq(s, "text");
	ck_assert(i == -5 && big == 10000000000LL && b);
	ck_assert(whole == 2.0 && part == 0.25 && z == 4096);
	expect_none();
}
END_TEST

/* Absent keys, and no options group at all, keep the defaults. */
START_TEST(test_absent_keeps_default)
{
	const char *s = "default";
	long long i = 7;
	bool b = true;
	double d = 1.5;
	size_t z = 99;
	const struct ss_option table[] = {
		{ "s", SS_OPTION_STRING, &s, 0, 0 },
		{ "i", SS_OPTION_INT, &i, 1, 10 },
		{ NULL, 0, NULL, 0, 0 },
	};

	load("options = { other = 1; };\n");
	ck_assert_int_eq(ss_option_string(&srv, options, "s", &s), 0);
	ck_assert_int_eq(ss_option_int(&srv, options, "i", &i, 1, 10), 0);
	ck_assert_int_eq(ss_option_bool(&srv, options, "b", &b), 0);
	ck_assert_int_eq(ss_option_seconds(&srv, options, "d", &d), 0);
	ck_assert_int_eq(ss_option_size(&srv, options, "z", &z, 0, 0), 0);
	ck_assert_int_eq(ss_options(&srv, NULL, table), 0);
	ck_assert_int_eq(ss_options(&srv, NULL, NULL), 0);
	ck_assert_int_eq(ss_options_known(&srv, NULL, NULL), 0);
	ck_assert(strcmp(s, "default") == 0 && i == 7 && b && d == 1.5 &&
	    z == 99);
	expect_none();
}
END_TEST

/* --- wrong types -------------------------------------------------------- */

START_TEST(test_wrong_types)
{
	const char *s = "keep";
	long long i = 1;
	bool b = false;
	double d = 0;
	size_t z = 0;

	load("options = {\n"
	    "  s = 5;\n"
	    "  i = 1.5;\n"
	    "  b = 1;\n"
	    "  d = \"1s\";\n"
	    "  z = \"4k\";\n"
	    "  i2 = \"3\";\n"
	    "};\n");
	ck_assert_int_eq(ss_option_string(&srv, options, "s", &s), -1);
	expect_one("2: server s: option s: wrong type (expected a string)");
	ck_assert_int_eq(ss_option_int(&srv, options, "i", &i, 1, 10), -1);
	expect_one("3: server s: option i: wrong type (expected an integer "
	    "from 1 to 10)");
	ck_assert_int_eq(ss_option_bool(&srv, options, "b", &b), -1);
	expect_one("4: server s: option b: wrong type (expected true or "
	    "false)");
	ck_assert_int_eq(ss_option_seconds(&srv, options, "d", &d), -1);
	expect_one("5: server s: option d: wrong type (expected a number of "
	    "seconds, 0 or more)");
	ck_assert_int_eq(ss_option_size(&srv, options, "z", &z, 0, 0), -1);
	expect_one("6: server s: option z: wrong type (expected a number of "
	    "bytes, 0 or more)");
	ck_assert_int_eq(ss_option_int(&srv, options, "i2", &i, 0, 0), -1);
	expect_one("7: server s: option i2: wrong type (expected an "
	    "integer)");
	/* A value refused leaves the default. */
	ck_assert(strcmp(s, "keep") == 0 && i == 1 && !b && d == 0 && z == 0);
}
END_TEST

/* --- ranges ------------------------------------------------------------- */

START_TEST(test_int_range)
{
	long long v = 0;

	load("options = { lo = 1; hi = 10; under = 0; over = 11;\n"
	    "  neg = -1; huge = 9223372036854775807L; };\n");
	ck_assert_int_eq(ss_option_int(&srv, options, "lo", &v, 1, 10), 0);
	ck_assert(v == 1);
	ck_assert_int_eq(ss_option_int(&srv, options, "hi", &v, 1, 10), 0);
	ck_assert(v == 10);
	expect_none();
	ck_assert_int_eq(ss_option_int(&srv, options, "under", &v, 1, 10), -1);
	expect_one("1: server s: option under: 0 is out of range (expected "
	    "an integer from 1 to 10)");
	ck_assert_int_eq(ss_option_int(&srv, options, "over", &v, 1, 10), -1);
	expect_one("1: server s: option over: 11 is out of range (expected "
	    "an integer from 1 to 10)");
	ck_assert_int_eq(ss_option_int(&srv, options, "neg", &v, 0,
	    LLONG_MAX), -1);
	expect_one("2: server s: option neg: -1 is out of range (expected "
	    "an integer, 0 or more)");
	ck_assert_int_eq(ss_option_int(&srv, options, "neg", &v, LLONG_MIN,
	    -2), -1);
	expect_one("2: server s: option neg: -1 is out of range (expected "
	    "an integer, -2 or less)");
	ck_assert_int_eq(ss_option_int(&srv, options, "huge", &v, 0, 0), 0);
	ck_assert(v == LLONG_MAX);
	expect_none();
}
END_TEST

START_TEST(test_size_range)
{
	size_t v = 0;

	load("options = { zero = 0; neg = -1; small = 15; low = 16;\n"
	    "  high = 65536; big = 65537; };\n");
	ck_assert_int_eq(ss_option_size(&srv, options, "zero", &v, 0, 0), 0);
	ck_assert(v == 0);
	ck_assert_int_eq(ss_option_size(&srv, options, "low", &v, 16, 65536),
	    0);
	ck_assert(v == 16);
	ck_assert_int_eq(ss_option_size(&srv, options, "high", &v, 16, 65536),
	    0);
	ck_assert(v == 65536);
	ck_assert_int_eq(ss_option_size(&srv, options, "big", &v, 1,
	    SIZE_MAX), 0);
	ck_assert(v == 65537);
	expect_none();
	ck_assert_int_eq(ss_option_size(&srv, options, "neg", &v, 0, 0), -1);
	expect_one("1: server s: option neg: -1 is out of range (expected a "
	    "number of bytes, 0 or more)");
	ck_assert_int_eq(ss_option_size(&srv, options, "small", &v, 16,
	    65536), -1);
	expect_one("1: server s: option small: 15 is out of range (expected "
	    "a number of bytes from 16 to 65536)");
	ck_assert_int_eq(ss_option_size(&srv, options, "big", &v, 16, 65536),
	    -1);
	expect_one("2: server s: option big: 65537 is out of range (expected "
	    "a number of bytes from 16 to 65536)");
	ck_assert_int_eq(ss_option_size(&srv, options, "zero", &v, 1,
	    SIZE_MAX), -1);
	expect_one("1: server s: option zero: 0 is out of range (expected a "
	    "number of bytes, 1 or more)");
	ck_assert(v == 65537);
}
END_TEST

START_TEST(test_seconds)
{
	double v = 9;

	load("options = { zero = 0; neg = -0.5; negint = -1; };\n");
	ck_assert_int_eq(ss_option_seconds(&srv, options, "zero", &v), 0);
	ck_assert(v == 0);
	expect_none();
	ck_assert_int_eq(ss_option_seconds(&srv, options, "neg", &v), -1);
	expect_one("1: server s: option neg: -0.5 is out of range (expected "
	    "a number of seconds, 0 or more)");
	ck_assert_int_eq(ss_option_seconds(&srv, options, "negint", &v), -1);
	expect_one("1: server s: option negint: -1 is out of range (expected "
	    "a number of seconds, 0 or more)");
	ck_assert(v == 0);
}
END_TEST

/* --- unknown keys ------------------------------------------------------- */

START_TEST(test_unknown_keys)
{
	static const char *const three[] = { "a", "b", "c", NULL };
	static const char *const one[] = { "a", NULL };
	char want[2 * PATH_MAX + 256];

	load("options = {\n  a = 1;\n  colour = \"blue\";\n};\n");
	ck_assert_int_eq(ss_options_known(&srv, options, three), -1);
	expect_one("3: server s: option colour: unknown (expected a, b or "
	    "c)");
	ck_assert_int_eq(ss_options_known(&srv, options, one), -1);
	expect_one("3: server s: option colour: unknown (expected a)");
	ck_assert_int_eq(ss_options_known(&srv, options, NULL), -1);
	ck_assert_uint_eq(reported(), 2);
	snprintf(want, sizeof(want), "%1$s:2: server s: option a: unknown "
	    "(plugin fake takes no options)\n%1$s:3: server s: option "
	    "colour: unknown (plugin fake takes no options)", path);
	ck_assert_str_eq(report, want);
}
END_TEST

/* The table reports every problem, in the order of the file. */
START_TEST(test_table)
{
	const char *format = "default";
	long long retries = 3;
	bool utc = false;
	double wait = 1;
	size_t limit = 64;
	const struct ss_option table[] = {
		{ "format", SS_OPTION_STRING, &format, 0, 0 },
		{ "retries", SS_OPTION_INT, &retries, 0, 10 },
		{ "utc", SS_OPTION_BOOL, &utc, 0, 0 },
		{ "wait", SS_OPTION_SECONDS, &wait, 0, 0 },
		{ "limit", SS_OPTION_SIZE, &limit, 0, 0 },
		{ NULL, 0, NULL, 0, 0 },
	};
	char want[3 * PATH_MAX + 1024];

	load("options = {\n"
	    "  utc = true; wait = 2.5;\n"
	    "  retries = 11;\n"
	    "  colour = 1;\n"
	    "  format = \"%Y\";\n"
	    "  limit = \"big\";\n"
	    "};\n");
	ck_assert_int_eq(ss_options(&srv, options, table), -1);
	snprintf(want, sizeof(want),
	    "%1$s:3: server s: option retries: 11 is out of range (expected "
	    "an integer from 0 to 10)\n"
	    "%1$s:4: server s: option colour: unknown (expected format, "
	    "retries, utc, wait or limit)\n"
	    "%1$s:6: server s: option limit: wrong type (expected a number "
	    "of bytes, 0 or more)", path);
	ck_assert_uint_eq(reported(), 3);
	ck_assert_str_eq(report, want);
	/* Good values are stored even when others are refused. */
	ck_assert(utc && wait == 2.5 && strcmp(format, "%Y") == 0);
	ck_assert(retries == 3 && limit == 64);
}
END_TEST

START_TEST(test_table_null_knows_nothing)
{
	load("options = { };\n");
	ck_assert_int_eq(ss_options(&srv, options, NULL), 0);
	expect_none();
}
END_TEST

/* --- where problems are reported ---------------------------------------- */

START_TEST(test_option_error_lines)
{
	load("servers = 1;\n"
	    "options = {\n"
	    "  dir = \"/x\";\n"
	    "};\n");
	ss_option_error(&srv, options, "dir", "cannot open '%s' (expected "
	    "a directory)", "/x");
	expect_one("3: server s: option dir: cannot open '/x' (expected a "
	    "directory)");
	/* An absent key: at the group. */
	ss_option_error(&srv, options, "missing", "missing (expected it)");
	expect_one("2: server s: option missing: missing (expected it)");
	/* No key: the plugin speaks. */
	ss_option_error(&srv, options, NULL, "not on udp");
	expect_one("2: server s: plugin fake: not on udp");
	/* No options group: at the server's handler setting. */
	ss_option_error(&srv, NULL, "dir", "missing");
	ck_assert_uint_eq(reported(), 1);
	ck_assert_str_eq(report, "HANDLER.conf:3: server s: option dir: "
	    "missing");
}
END_TEST

/* An option from an @include'd file is reported in that file. */
START_TEST(test_included_file)
{
	char main_text[PATH_MAX + 64], want[PATH_MAX + 128];
	FILE *f = fopen(include_path, "w");
	bool b;

	ck_assert(f != NULL);
	fputs("options = {\n  b = \"yes\";\n};\n", f);
	fclose(f);
	snprintf(main_text, sizeof(main_text), "x = 1;\n@include \"%s\"\n",
	    include_path);
	load(main_text);
	ck_assert_int_eq(ss_option_bool(&srv, options, "b", &b), -1);
	ck_assert_uint_eq(reported(), 1);
	snprintf(want, sizeof(want), "%s:2: server s: option b: wrong type "
	    "(expected true or false)", include_path);
	ck_assert_str_eq(report, want);
}
END_TEST

/* The report handed up holds whole lines only; the count is all. */
START_TEST(test_report_keeps_whole_lines)
{
	char small[100];
	const char *line = "HANDLER.conf:3: server s: option k: missing";
	unsigned i, n;

	for (i = 0; i < 5; i++)
		ss_option_error(&srv, NULL, "k", "missing");
	n = options_end(&srv, small, sizeof(small));
	options_begin(&srv);
	ck_assert_uint_eq(n, 5);
	/* 43 bytes a line: two fit in 100 with their '\n' and the NUL. */
	ck_assert_uint_eq(strlen(line), 43);
	ck_assert_str_eq(small, "HANDLER.conf:3: server s: option k: missing\n"
	    "HANDLER.conf:3: server s: option k: missing");
}
END_TEST

int
main(void)
{
	Suite *suite = suite_create("options");
	TCase *tc = tcase_create("options");
	SRunner *runner;
	int failed;

	tcase_add_unchecked_fixture(tc, tmpdir_create, tmpdir_remove);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_values_are_stored);
	tcase_add_test(tc, test_absent_keeps_default);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_int_range);
	tcase_add_test(tc, test_size_range);
	tcase_add_test(tc, test_seconds);
	tcase_add_test(tc, test_unknown_keys);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_table_null_knows_nothing);
	tcase_add_test(tc, test_option_error_lines);
	tcase_add_test(tc, test_included_file);
	tcase_add_test(tc, test_report_keeps_whole_lines);
	suite_add_tcase(suite, tc);
	runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
