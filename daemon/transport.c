/*
 * transport.c - the one place where transport names map to operations.
 */
#include <string.h>

#include "transport.h"

static const struct transport_ops transport_pending_udp = {
	.name = "udp", .supported = false };
static const struct transport_ops transport_pending_unix = {
	.name = "unix", .supported = false };
static const struct transport_ops transport_pending_unix_dgram = {
	.name = "unix-dgram", .supported = false };

static const struct transport_ops *const transports[] = {
	&transport_tcp_ops,
	&transport_pending_udp,
	&transport_pending_unix,
	&transport_pending_unix_dgram,
};

const struct transport_ops *
transport_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (strcmp(transports[i]->name, name) == 0)
			return transports[i];
	return NULL;
}
