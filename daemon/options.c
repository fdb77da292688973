/*
 * options.c - the typed lookups a plugin's init reads its `options` group
 * with, and their reports: "FILE:LINE: server NAME: option KEY: what is
 * wrong (what was expected)", the form of conf.c's own errors, at the
 * line libconfig recorded for the setting.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "options.h"
#include "server_state.h"

/* Room for the list of known keys in an "unknown" report. */
#define OPTIONS_LIST_SIZE	512

void
options_begin(struct ss_server *srv)
{
	/* Without it, reports are logged at once: not lost, only less neat. */
	srv->options_report = calloc(1, sizeof(*srv->options_report));
}

unsigned
options_end(struct ss_server *srv, char *error_r, size_t size)
{
	struct options_report *r = srv->options_report;
	const char *line, *end;
	size_t used = 0, n;
	unsigned count;

	srv->options_report = NULL;
	if (size > 0)
		error_r[0] = '\0';
	if (r == NULL)
		return 0;
	for (line = r->text; line != NULL && line < r->text + r->len;
	    line = end + 1) {
		end = strchr(line, '\n');
		n = (size_t)(end - line);
		/* Whole lines only; the rest were counted, not shown. */
		if (used + (used > 0) + n + 1 > size)
			break;
		if (used > 0)
			error_r[used++] = '\n';
		memcpy(error_r + used, line, n);
		used += n;
		error_r[used] = '\0';
	}
	count = r->count;
	free(r->text);
	free(r);
	return count;
}

/* Keeps one line for options_end; -1 when out of memory. */
static int
options_keep(struct options_report *r, const char *line)
{
	size_t n = strlen(line);
	char *grown = realloc(r->text, r->len + n + 2);

	if (grown == NULL)
		return -1;
	memcpy(grown + r->len, line, n);
	grown[r->len + n] = '\n';
	grown[r->len + n + 1] = '\0';
	r->text = grown;
	r->len += n + 1;
	return 0;
}

/* Where `at` is written; the server's handler setting when NULL. */
static const char *
options_where(const struct ss_server *srv, const config_setting_t *at,
    int *line_r)
{
	const char *file = NULL;

	if (at != NULL && config_setting_source_line(at) > 0)
		file = config_setting_source_file(at);
	if (file == NULL) {
		*line_r = srv->conf->handler_line;
		return srv->conf->handler_file;
	}
	*line_r = config_setting_source_line(at);
	return file;
}

static void options_report(struct ss_server *srv, const config_setting_t *at,
    const char *key, const char *fmt, ...) SS_PRINTF(4, 5);

static void
options_vreport(struct ss_server *srv, const config_setting_t *at,
    const char *key, const char *fmt, va_list ap)
{
	struct options_report *r = srv->options_report;
	char *msg = NULL, *line = NULL, where[CONF_WHERE_SIZE];
	const char *file;
	int lineno, n;

	file = options_where(srv, at, &lineno);
	conf_where(where, sizeof(where), file, lineno);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (key != NULL)
		n = asprintf(&line, "%s: server %s: option %s: %s", where,
		    srv->name, key, msg != NULL ? msg : "out of memory");
	else
		n = asprintf(&line, "%s: server %s: plugin %s: %s", where,
		    srv->name, srv->handler->name, msg != NULL ? msg :
		    "out of memory");
	if (n < 0)
		line = NULL;
	if (r == NULL || line == NULL || options_keep(r, line) < 0)
		log_error("%s", line != NULL ? line : "out of memory");
	if (r != NULL)
		r->count++;
	free(line);
	free(msg);
}

static void
options_report(struct ss_server *srv, const config_setting_t *at,
    const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	options_vreport(srv, at, key, fmt, ap);
	va_end(ap);
}

void
ss_option_error(ss_server *srv, const config_setting_t *options,
    const char *key, const char *fmt, ...)
{
	const config_setting_t *at = options;
	va_list ap;

	if (options != NULL && key != NULL &&
	    config_setting_get_member(options, key) != NULL)
		at = config_setting_get_member(options, key);
	va_start(ap, fmt);
	options_vreport(srv, at, key, fmt, ap);
	va_end(ap);
}

/* --- types and ranges ----------------------------------------------------- */

/* The largest size a setting can give: libconfig stops at LLONG_MAX. */
static long long
options_size_max(void)
{
	return (uintmax_t)SIZE_MAX < (uintmax_t)LLONG_MAX ?
	    (long long)SIZE_MAX : LLONG_MAX;
}

/* The bounds an entry allows: its own, or its type's when both are 0. */
static void
options_bounds(const struct ss_option *o, long long *min_r, long long *max_r)
{
	long long top = options_size_max();

	*min_r = o->min;
	*max_r = o->max;
	if (o->type == SS_OPTION_INT && o->min == 0 && o->max == 0) {
		*min_r = LLONG_MIN;
		*max_r = LLONG_MAX;
	} else if (o->type == SS_OPTION_SIZE) {
		if (o->min == 0 && o->max == 0)
			*max_r = top;
		if (*min_r < 0)
			*min_r = 0;
		if (*max_r > top)
			*max_r = top;
	}
}

/* What an entry expects, as reports say it: "an integer from 1 to 9". */
static const char *
options_expected(const struct ss_option *o, char *buf, size_t size)
{
	const char *what = o->type == SS_OPTION_INT ? "an integer" :
	    "a number of bytes";
	long long min, max, top;

	switch (o->type) {
	case SS_OPTION_STRING:
		return "a string";
	case SS_OPTION_BOOL:
		return "true or false";
	case SS_OPTION_SECONDS:
		return "a number of seconds, 0 or more";
	default:
		break;
	}
	options_bounds(o, &min, &max);
	top = o->type == SS_OPTION_INT ? LLONG_MAX : options_size_max();
	if (min == LLONG_MIN && max == LLONG_MAX)
		snprintf(buf, size, "%s", what);
	else if (max == top)
		snprintf(buf, size, "%s, %lld or more", what, min);
	else if (min == LLONG_MIN)
		snprintf(buf, size, "%s, %lld or less", what, max);
	else
		snprintf(buf, size, "%s from %lld to %lld", what, min, max);
	return buf;
}

static bool
options_type_ok(enum ss_option_type type, int found)
{
	switch (type) {
	case SS_OPTION_STRING:
		return found == CONFIG_TYPE_STRING;
	case SS_OPTION_BOOL:
		return found == CONFIG_TYPE_BOOL;
	case SS_OPTION_INT:
	case SS_OPTION_SIZE:
		return found == CONFIG_TYPE_INT || found == CONFIG_TYPE_INT64;
	case SS_OPTION_SECONDS:
		return found == CONFIG_TYPE_INT || found == CONFIG_TYPE_INT64 ||
		    found == CONFIG_TYPE_FLOAT;
	}
	return false;
}

/* Checks the integer in s against o's range and stores it. */
static int
options_integer(struct ss_server *srv, const config_setting_t *s,
    const struct ss_option *o)
{
	long long v = config_setting_get_int64(s), min, max;
	char expected[128];

	options_bounds(o, &min, &max);
	if (v < min || v > max) {
		options_report(srv, s, o->key, "%lld is out of range "
		    "(expected %s)", v, options_expected(o, expected,
		    sizeof(expected)));
		return -1;
	}
	if (o->type == SS_OPTION_INT)
		*(long long *)o->value = v;
	else
		*(size_t *)o->value = (size_t)v;
	return 0;
}

static int
options_seconds(struct ss_server *srv, const config_setting_t *s,
    const struct ss_option *o)
{
	double v = config_setting_type(s) == CONFIG_TYPE_FLOAT ?
	    config_setting_get_float(s) : (double)config_setting_get_int64(s);

	if (!(v >= 0) || isinf(v)) {
		options_report(srv, s, o->key, "%g is out of range (expected "
		    "a number of seconds, 0 or more)", v);
		return -1;
	}
	*(double *)o->value = v;
	return 0;
}

/* Reads the setting s as o says; reports and returns -1 when it cannot. */
static int
options_read(struct ss_server *srv, const config_setting_t *s,
    const struct ss_option *o)
{
	char expected[128];

	if (!options_type_ok(o->type, config_setting_type(s))) {
		options_report(srv, s, o->key, "wrong type (expected %s)",
		    options_expected(o, expected, sizeof(expected)));
		return -1;
	}
	switch (o->type) {
	case SS_OPTION_STRING:
		*(const char **)o->value = config_setting_get_string(s);
		return 0;
	case SS_OPTION_BOOL:
		*(bool *)o->value = config_setting_get_bool(s) != 0;
		return 0;
	case SS_OPTION_SECONDS:
		return options_seconds(srv, s, o);
	default:
		return options_integer(srv, s, o);
	}
}

/* Looks up one key: absent leaves the default, else options_read. */
static int
options_lookup(struct ss_server *srv, const config_setting_t *options,
    const struct ss_option *o)
{
	const config_setting_t *s;

	if (options == NULL || o->key == NULL ||
	    (s = config_setting_get_member(options, o->key)) == NULL)
		return 0;
	return options_read(srv, s, o);
}

int
ss_option_string(ss_server *srv, const config_setting_t *options,
    const char *key, const char **value)
{
	struct ss_option o = { key, SS_OPTION_STRING, value, 0, 0 };

	return options_lookup(srv, options, &o);
}

int
ss_option_int(ss_server *srv, const config_setting_t *options,
    const char *key, long long *value, long long min, long long max)
{
	struct ss_option o = { key, SS_OPTION_INT, value, min, max };

	return options_lookup(srv, options, &o);
}

int
ss_option_bool(ss_server *srv, const config_setting_t *options,
    const char *key, bool *value)
{
	struct ss_option o = { key, SS_OPTION_BOOL, value, 0, 0 };

	return options_lookup(srv, options, &o);
}

int
ss_option_seconds(ss_server *srv, const config_setting_t *options,
    const char *key, double *value)
{
	struct ss_option o = { key, SS_OPTION_SECONDS, value, 0, 0 };

	return options_lookup(srv, options, &o);
}

int
ss_option_size(ss_server *srv, const config_setting_t *options,
    const char *key, size_t *value, size_t min, size_t max)
{
	/* libconfig's integers stop at LLONG_MAX; so may the range. */
	struct ss_option o = { key, SS_OPTION_SIZE, value,
	    min > (size_t)LLONG_MAX ? LLONG_MAX : (long long)min,
	    max > (size_t)LLONG_MAX ? LLONG_MAX : (long long)max };

	return options_lookup(srv, options, &o);
}

/* --- unknown keys --------------------------------------------------------- */

/* Appends key i of n to a list that reads "a, b or c". */
static void
options_list_add(char *list, size_t size, const char *key, size_t i,
    size_t n)
{
	size_t used = strlen(list);

	if (used < size)
		snprintf(list + used, size - used, "%s%s", i == 0 ? "" :
		    i + 1 == n ? " or " : ", ", key);
}

static void
options_unknown(struct ss_server *srv, const config_setting_t *s,
    const char *list)
{
	if (list[0] == '\0')
		options_report(srv, s, config_setting_name(s), "unknown "
		    "(plugin %s takes no options)", srv->handler->name);
	else
		options_report(srv, s, config_setting_name(s), "unknown "
		    "(expected %s)", list);
}

int
ss_options_known(ss_server *srv, const config_setting_t *options,
    const char *const *keys)
{
	char list[OPTIONS_LIST_SIZE] = "";
	const config_setting_t *s;
	size_t n = 0, i, k;
	int rc = 0;

	while (keys != NULL && keys[n] != NULL)
		n++;
	for (k = 0; k < n; k++)
		options_list_add(list, sizeof(list), keys[k], k, n);
	for (i = 0; options != NULL &&
	    (s = config_setting_get_elem(options, (unsigned)i)) != NULL; i++) {
		const char *name = config_setting_name(s);

		for (k = 0; name != NULL && k < n; k++)
			if (strcmp(keys[k], name) == 0)
				break;
		if (name != NULL && k == n) {
			options_unknown(srv, s, list);
			rc = -1;
		}
	}
	return rc;
}

int
ss_options(ss_server *srv, const config_setting_t *options,
    const struct ss_option *table)
{
	char list[OPTIONS_LIST_SIZE] = "";
	const config_setting_t *s;
	const struct ss_option *o;
	size_t n = 0, i;
	int rc = 0;

	while (table != NULL && table[n].key != NULL)
		n++;
	for (i = 0; i < n; i++)
		options_list_add(list, sizeof(list), table[i].key, i, n);
	/* In the order of the file, so reports read top-down. */
	for (i = 0; options != NULL &&
	    (s = config_setting_get_elem(options, (unsigned)i)) != NULL; i++) {
		const char *name = config_setting_name(s);

		if (name == NULL)
			continue;
		for (o = table; o != NULL && o->key != NULL; o++)
			if (strcmp(o->key, name) == 0)
				break;
		if (o == NULL || o->key == NULL) {
			options_unknown(srv, s, list);
			rc = -1;
		} else if (options_read(srv, s, o) < 0)
			rc = -1;
	}
	return rc;
}
