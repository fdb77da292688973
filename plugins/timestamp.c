/*
 * timestamp.c - replies "[<time>] <line>" to every line.
 *
 * Options: format (strftime(3), default ctime's "%a %b %e %H:%M:%S %Y"),
 * utc (default false: local time); any other key is refused.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sockserv/plugin.h>

struct timestamp {
	char *format;
	bool utc;
};

static int
timestamp_init(ss_server *srv, const config_setting_t *options)
{
	const char *format = "%a %b %e %H:%M:%S %Y";
	struct timestamp *t;
	bool utc = false;
	const struct ss_option table[] = {
		{ "format",	SS_OPTION_STRING, &format, 0, 0 },
		{ "utc",	SS_OPTION_BOOL,   &utc,    0, 0 },
		{ NULL,		0,                NULL,    0, 0 },
	};

	if (ss_options(srv, options, table) < 0)
		return -1;
	if (*format == '\0') {
		ss_option_error(srv, options, "format", "empty (expected a "
		    "strftime(3) format)");
		return -1;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->format = strdup(format)) == NULL) {
		free(t);
		ss_log(srv, LOG_ERR, "out of memory");
		return -1;
	}
	t->utc = utc;
	/* localtime_r() needs the zone loaded; do it before any thread. */
	tzset();
	ss_set_server_data(srv, t);
	return 0;
}

static void
timestamp_fini(ss_server *srv)
{
	struct timestamp *t = ss_server_data(srv);

	free(t->format);
	free(t);
}

static int
timestamp_handle(ss_request *req)
{
	const struct timestamp *t = ss_server_data(ss_server_of(req));
	char stamp[256];
	const char *line;
	time_t now;
	struct tm tm;
	ssize_t n;

	/* The line stays in the request's buffer, off the handler's stack. */
	while ((n = ss_getline(req, &line)) > 0) {
		now = time(NULL);
		if (t->utc)
			gmtime_r(&now, &tm);
		else
			localtime_r(&now, &tm);
		if (strftime(stamp, sizeof(stamp), t->format, &tm) == 0)
			stamp[0] = '\0';
		if (ss_printf(req, "[%s] %s", stamp, line) < 0)
			return -1;
	}
	return n < 0 ? -1 : 0;
}

SS_HANDLER(
	.name = "timestamp",
	.version = "1.0",
	.init = timestamp_init,
	.fini = timestamp_fini,
	.handle = timestamp_handle,
);
