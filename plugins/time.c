/*
 * time.c - the Time Protocol (RFC 868), as xinetd's internal "time"
 * service.
 *
 * The reply is 4 bytes: the seconds since 1900-01-01 00:00 UTC as an
 * unsigned 32-bit number, most significant byte first. It is the Unix
 * time plus 2208988800, modulo 2^32, so it wraps in February 2036
 * (RFC 868's own limit) and goes on counting from 0.
 *
 * Stream (tcp, unix): sent as soon as the connection is accepted, then
 * the connection is closed; what the client sends is not read.
 * Datagram (udp, unix-dgram): each datagram received, whatever it
 * holds, gets the 4 bytes as its reply; a UDP datagram from a port
 * below 1024 gets none (reflect.h).
 *
 * No options: any key is refused.
 */
#include <stdint.h>
#include <time.h>

#include <sockserv/plugin.h>

#include "reflect.h"

/* From 1900-01-01 to 1970-01-01: 70 years, 17 of them leap years. */
#define TIME_1900_TO_1970 2208988800u

/* No options: a key given is refused, as a likely mistake. */
static int
time_init(ss_server *srv, const config_setting_t *options)
{
	return ss_options(srv, options, NULL);
}

static int
time_handle(ss_request *req)
{
	uint32_t t = (uint32_t)time(NULL) + TIME_1900_TO_1970;
	unsigned char reply[4];

	reply[0] = (unsigned char)(t >> 24);
	reply[1] = (unsigned char)(t >> 16);
	reply[2] = (unsigned char)(t >> 8);
	reply[3] = (unsigned char)t;
	return ss_write(req, reply, sizeof(reply)) < 0 ? -1 : 0;
}

SS_HANDLER(
	.name = "time",
	.version = "1.0",
	.init = time_init,
	.verify_request = reflect_verify_request,
	.handle = time_handle,
);
