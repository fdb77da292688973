/*
 * upper.c - sends every line back upper-cased.
 *
 * Option locale_aware (default false): false upper-cases ASCII letters
 * only, whatever the environment; true uses toupper() in the locale of
 * the environment (LC_ALL, LC_CTYPE, LANG), for single-byte charsets.
 * Any other key is refused.
 */
#include <ctype.h>
#include <locale.h>
#include <stdbool.h>
#include <stdlib.h>

#include <sockserv/plugin.h>

struct upper {
	bool locale_aware;
};

static int
upper_init(ss_server *srv, const config_setting_t *options)
{
	struct upper *u;
	bool locale_aware = false;
	const struct ss_option table[] = {
		{ "locale_aware", SS_OPTION_BOOL, &locale_aware, 0, 0 },
		{ NULL, 0, NULL, 0, 0 },
	};

	if (ss_options(srv, options, table) < 0)
		return -1;
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		ss_log(srv, LOG_ERR, "out of memory");
		return -1;
	}
	u->locale_aware = locale_aware;
	if (u->locale_aware && setlocale(LC_CTYPE, "") == NULL)
		ss_log(srv, LOG_WARNING, "the environment's locale is not "
		    "available; using C");
	ss_set_server_data(srv, u);
	return 0;
}

static void
upper_fini(ss_server *srv)
{
	free(ss_server_data(srv));
}

/* Copies n bytes of s into out, upper-cased. */
static void
upper_convert(char *out, const char *s, size_t n, bool locale_aware)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (locale_aware)
			out[i] = (char)toupper(c);
		else if (c >= 'a' && c <= 'z')
			out[i] = (char)(c - 'a' + 'A');
		else
			out[i] = (char)c;
	}
}

/*
 * The line is read into the request's own buffer and upper-cased into
 * one on the heap, grown to the longest line, so nothing of max_line's
 * size lives on the handler's stack, which may be as small as 64 KiB;
 * the reply line still goes out in one ss_write.
 */
static int
upper_handle(ss_request *req)
{
	const struct upper *u = ss_server_data(ss_server_of(req));
	char *out = NULL, *grown;
	size_t cap = 0;
	const char *line;
	ssize_t n = 0;
	int rc = 0;

	while (rc == 0 && (n = ss_getline(req, &line)) > 0) {
		if ((size_t)n > cap) {
			if ((grown = realloc(out, (size_t)n)) == NULL) {
				ss_log(ss_server_of(req), LOG_ERR, "out of "
				    "memory");
				rc = -1;
				break;
			}
			out = grown;
			cap = (size_t)n;
		}
		upper_convert(out, line, (size_t)n, u->locale_aware);
		if (ss_write(req, out, (size_t)n) < 0)
			rc = -1;
	}
	free(out);
	return rc < 0 || n < 0 ? -1 : 0;
}

SS_HANDLER(
	.name = "upper",
	.version = "1.0",
	.init = upper_init,
	.fini = upper_fini,
	.handle = upper_handle,
);
