/*
 * serve_args.c - the configuration `sockservd --serve` serves: the
 * arguments written as libconfig text, each string escaped and each
 * --option value typed as libconfig reads a value (an integer, a float,
 * true or false, else a string). Only what the text cannot say is
 * refused here; conf.c checks the rest as it checks a file.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "log.h"
#include "serve_args.h"

#define SERVE_DEFAULT_NAME	"serve"
#define SERVE_NAME_MAX		64

static void serve_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
serve_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sockservd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A libconfig string literal: quotes, backslashes and controls escaped. */
static void
serve_put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static size_t
serve_digits(const char *s)
{
	size_t n = 0;

	while (isdigit((unsigned char)s[n]))
		n++;
	return n;
}

/* [-+]digits, or [-+]0x then hex digits: an integer to libconfig. */
static bool
serve_is_integer(const char *v)
{
	const char *p = v + (*v == '-' || *v == '+');

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && p[2] != '\0')
		return strspn(p + 2, "0123456789abcdefABCDEF") ==
		    strlen(p + 2);
	return *p != '\0' && serve_digits(p) == strlen(p);
}

/* [-+]digits[.digits][e[-+]digits], with a '.' or an exponent. */
static bool
serve_is_float(const char *v)
{
	const char *p = v + (*v == '-' || *v == '+');
	size_t before = serve_digits(p), after = 0;
	bool point = false, exponent = false;

	p += before;
	if (*p == '.') {
		point = true;
		after = serve_digits(++p);
		p += after;
	}
	if (before + after == 0)
		return false;
	if (*p == 'e' || *p == 'E') {
		p += 1 + (p[1] == '-' || p[1] == '+');
		if (serve_digits(p) == 0)
			return false;
		exponent = true;
		p += serve_digits(p);
	}
	return *p == '\0' && (point || exponent);
}

/* One --option value, typed; -1 after saying why it cannot be. */
static int
serve_put_value(FILE *f, const char *arg, const char *v)
{
	long long n;

	if (serve_is_integer(v)) {
		errno = 0;
		n = strtoll(v, NULL, strpbrk(v, "xX") != NULL ? 16 : 10);
		if (errno == ERANGE) {
			serve_usage_error("--option '%s': the integer is out of "
			    "range (expected at most 64 bits)", arg);
			return -1;
		}
		/* Without L, libconfig would cut it to 32 bits. */
		fprintf(f, "%lld%s", n, n < INT_MIN || n > INT_MAX ? "L" : "");
	} else if (serve_is_float(v)) {
		fputs(v, f);
	} else if (strcasecmp(v, "true") == 0 || strcasecmp(v, "false") == 0) {
		fputs(tolower((unsigned char)v[0]) == 't' ? "true" : "false", f);
	} else {
		serve_put_string(f, v);
	}
	return 0;
}

/* A libconfig setting name: a letter, then letters, digits, '-', '_'. */
static bool
serve_key_ok(const char *key, size_t len)
{
	size_t i;

	if (len == 0 || !isalpha((unsigned char)key[0]))
		return false;
	for (i = 1; i < len; i++)
		if (!isalnum((unsigned char)key[i]) && key[i] != '-' &&
		    key[i] != '_')
			return false;
	return true;
}

static bool
serve_key_given(const struct serve_args *a, size_t before, const char *key,
    size_t len)
{
	size_t i;

	for (i = 0; i < before; i++)
		if (strncmp(a->options[i], key, len) == 0 &&
		    a->options[i][len] == '=')
			return true;
	return false;
}

static int
serve_put_options(FILE *f, const struct serve_args *a)
{
	const char *arg, *eq;
	size_t i, len;

	if (a->noptions == 0)
		return 0;	/* no options group, as in a file without one */
	fputs("    options = {\n", f);
	for (i = 0; i < a->noptions; i++) {
		arg = a->options[i];
		eq = strchr(arg, '=');
		len = eq != NULL ? (size_t)(eq - arg) : 0;
		if (eq == NULL || !serve_key_ok(arg, len)) {
			serve_usage_error("--option '%s': expected KEY=VALUE, "
			    "KEY a letter then letters, digits, '-' or '_'",
			    arg);
			return -1;
		}
		if (serve_key_given(a, i, arg, len)) {
			serve_usage_error("--option '%s': %.*s is given twice",
			    arg, (int)len, arg);
			return -1;
		}
		fprintf(f, "      %.*s = ", (int)len, arg);
		if (serve_put_value(f, arg, eq + 1) < 0)
			return -1;
		fputs(";\n", f);
	}
	fputs("    };\n", f);
	return 0;
}

/* The plugin's file name without ".so", when it makes a server name. */
static void
serve_name(const char *plugin, char *buf, size_t size)
{
	const char *base = strrchr(plugin, '/');
	size_t n;

	base = base != NULL ? base + 1 : plugin;
	n = strlen(base);
	if (n > 3 && strcmp(base + n - 3, ".so") == 0)
		n -= 3;
	if (n == 0 || n > SERVE_NAME_MAX || n >= size ||
	    strspn(base, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-") < n) {
		snprintf(buf, size, "%s", SERVE_DEFAULT_NAME);
		return;
	}
	memcpy(buf, base, n);
	buf[n] = '\0';
}

/* "x.so" is the file in the current directory, not the plugin "x.so". */
static void
serve_put_handler(FILE *f, const char *plugin)
{
	size_t n = strlen(plugin);
	char *path = NULL;

	if (strchr(plugin, '/') == NULL && n > 3 &&
	    strcmp(plugin + n - 3, ".so") == 0 &&
	    asprintf(&path, "./%s", plugin) >= 0) {
		serve_put_string(f, path);
		free(path);
		return;
	}
	serve_put_string(f, plugin);
}

static int
serve_put_server(FILE *f, const struct serve_args *a)
{
	const char *colon = strchr(a->endpoint, ':');
	char name[SERVE_NAME_MAX + 1], *transport;

	if (colon == NULL || colon == a->endpoint) {
		serve_usage_error("--serve '%s': expected TRANSPORT:ADDRESS "
		    "(tcp:HOST:PORT, udp:HOST:PORT, unix:PATH or "
		    "unix-dgram:PATH)", a->endpoint);
		return -1;
	}
	if (a->workers != NULL && (serve_digits(a->workers) == 0 ||
	    serve_digits(a->workers) != strlen(a->workers) ||
	    strlen(a->workers) > 9)) {
		serve_usage_error("--workers '%s': expected a number of "
		    "workers, 0 or more", a->workers);
		return -1;
	}
	transport = strndup(a->endpoint, (size_t)(colon - a->endpoint));
	if (transport == NULL)
		return -1;
	serve_name(a->plugin, name, sizeof(name));
	fputs("servers = (\n  {\n    name = ", f);
	serve_put_string(f, name);
	fputs(";\n    transport = ", f);
	serve_put_string(f, transport);
	fputs(";\n    listen = ", f);
	serve_put_string(f, colon + 1);
	fputs(";\n    handler = ", f);
	serve_put_handler(f, a->plugin);
	fputs(";\n", f);
	free(transport);
	if (a->concurrency != NULL) {
		fputs("    concurrency = ", f);
		serve_put_string(f, a->concurrency);
		fputs(";\n", f);
	}
	if (a->workers != NULL)
		fprintf(f, "    workers = %d;\n", atoi(a->workers));
	if (serve_put_options(f, a) < 0)
		return -1;
	fputs("  }\n);\n", f);
	return 0;
}

/* The text (to free), or NULL after printing why not. */
static char *
serve_conf_text(const struct serve_args *a)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (f == NULL) {
		serve_usage_error("out of memory");
		return NULL;
	}
	/* In the foreground, each request's access line on the terminal. */
	fputs("daemon: {\n  log_target = \"stderr\";\n};\n", f);
	rc = serve_put_server(f, a);
	if (ferror(f))
		rc = -1;
	if (fclose(f) != 0 && rc == 0) {
		serve_usage_error("out of memory");
		rc = -1;
	}
	if (rc < 0) {
		free(text);
		return NULL;
	}
	return text;
}

int
serve_conf_load(struct conf *conf, const struct serve_args *a,
    const char *default_plugin_dir)
{
	char *text = serve_conf_text(a);
	int rc;

	if (text == NULL)
		return -1;
	/* libconfig copies what it keeps. */
	rc = conf_load_text(conf, text, SERVE_CONF_NAME, default_plugin_dir);
	free(text);
	return rc;
}

void
serve_reload(struct daemon *d)
{
	(void)d;
	log_notice("SIGHUP: nothing to reload with --serve (restart it to "
	    "load a rebuilt plugin)");
}
