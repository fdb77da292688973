/*
 * daytime.c - the Daytime Protocol (RFC 867), as xinetd's internal
 * "daytime" service.
 *
 * The reply is one line in xinetd's format, day, upper-case English
 * month, year, time and time zone abbreviation:
 *
 *	25 NOV 2026 14:45:22 CET\r\n
 *
 * Stream (tcp, unix): sent as soon as the connection is accepted, then
 * the connection is closed; the client need not send anything, and
 * what it sends is not read. Datagram (udp, unix-dgram): each datagram
 * received, whatever it holds, gets the line as its reply; a UDP
 * datagram from a port below 1024 gets none (reflect.h).
 *
 * Option utc (boolean, default false): false gives the daemon's local
 * time (TZ, /etc/localtime) and its zone's abbreviation; true gives
 * UTC, with the zone written "UTC". Any other key is refused.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sockserv/plugin.h>

#include "reflect.h"

struct daytime {
	bool utc;
};

static int
daytime_init(ss_server *srv, const config_setting_t *options)
{
	struct daytime *d;
	bool utc = false;
	const struct ss_option table[] = {
		{ "utc", SS_OPTION_BOOL, &utc, 0, 0 },
		{ NULL, 0, NULL, 0, 0 },
	};

	if (ss_options(srv, options, table) < 0)
		return -1;
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		ss_log(srv, LOG_ERR, "out of memory");
		return -1;
	}
	d->utc = utc;
	/* localtime_r() needs the zone loaded; do it before any thread. */
	tzset();
	ss_set_server_data(srv, d);
	return 0;
}

static void
daytime_fini(ss_server *srv)
{
	free(ss_server_data(srv));
}

static int
daytime_handle(ss_request *req)
{
	static const char months[12][4] = { "JAN", "FEB", "MAR", "APR",
	    "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
	const struct daytime *d = ss_server_data(ss_server_of(req));
	char zone[64] = " UTC";
	time_t now = time(NULL);
	struct tm tm;

	if (d->utc)
		gmtime_r(&now, &tm);
	else if (localtime_r(&now, &tm) == NULL)
		return -1;
	else if (strftime(zone, sizeof(zone), " %Z", &tm) == 0)
		zone[0] = '\0';	/* a zone without a name */
	/* One write: the whole reply in one segment, or one datagram. */
	return ss_printf(req, "%02d %s %d %02d:%02d:%02d%s\r\n", tm.tm_mday,
	    months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, zone);
}

SS_HANDLER(
	.name = "daytime",
	.version = "1.0",
	.init = daytime_init,
	.fini = daytime_fini,
	.verify_request = reflect_verify_request,
	.handle = daytime_handle,
);
