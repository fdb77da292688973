/*
 * upper.c - sends every line back upper-cased.
 *
 * Option locale_aware (default false): false upper-cases ASCII letters
 * only, whatever the environment; true uses toupper() in the locale of
 * the environment (LC_ALL, LC_CTYPE, LANG), for single-byte charsets.
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
	int flag = 0;

	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		ss_log(srv, LOG_ERR, "upper: out of memory");
		return -1;
	}
	if (options != NULL)
		config_setting_lookup_bool(options, "locale_aware", &flag);
	u->locale_aware = flag != 0;
	if (u->locale_aware && setlocale(LC_CTYPE, "") == NULL)
		ss_log(srv, LOG_WARNING, "upper: the environment's locale is "
		    "not available; using C");
	ss_set_server_data(srv, u);
	return 0;
}

static void
upper_fini(ss_server *srv)
{
	free(ss_server_data(srv));
}

static void
upper_convert(char *s, size_t n, bool locale_aware)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (locale_aware)
			s[i] = (char)toupper(c);
		else if (c >= 'a' && c <= 'z')
			s[i] = (char)(c - 'a' + 'A');
	}
}

static int
upper_handle(ss_request *req)
{
	const struct upper *u = ss_server_data(ss_server_of(req));
	char line[65536];
	ssize_t n;

	while ((n = ss_readline(req, line, sizeof(line))) > 0) {
		upper_convert(line, (size_t)n, u->locale_aware);
		if (ss_write(req, line, (size_t)n) < 0)
			return -1;
	}
	return n < 0 ? -1 : 0;
}

const struct ss_handler ss_handler = {
	.abi = SS_PLUGIN_ABI,
	.size = sizeof(struct ss_handler),
	.name = "upper",
	.version = "1.0",
	.init = upper_init,
	.fini = upper_fini,
	.handle = upper_handle,
};
