/*
 * timestamp.c - replies "[<time>] <line>" to every line.
 *
 * Options: format (strftime(3), default ctime's "%a %b %e %H:%M:%S %Y"),
 * utc (default false: local time).
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
	int utc = 0;

	if (options != NULL) {
		config_setting_lookup_string(options, "format", &format);
		config_setting_lookup_bool(options, "utc", &utc);
	}
	if (*format == '\0') {
		ss_log(srv, LOG_ERR, "timestamp: option format is empty");
		return -1;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->format = strdup(format)) == NULL) {
		free(t);
		ss_log(srv, LOG_ERR, "timestamp: out of memory");
		return -1;
	}
	t->utc = utc != 0;
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

const struct ss_handler ss_handler = {
	.abi = SS_PLUGIN_ABI,
	.size = sizeof(struct ss_handler),
	.name = "timestamp",
	.version = "1.0",
	.init = timestamp_init,
	.fini = timestamp_fini,
	.handle = timestamp_handle,
};
