/*
 * options.h - the daemon's side of the plugins' option lookups
 * (ss_option_*, ss_options, ss_options_known, ss_option_error).
 *
 * While a server's init runs, the problems the lookups find are kept on
 * the server, for server_init to hand up once: on stderr at start and
 * under -t, as errors of the log on a reload, like the daemon's own
 * configuration errors. Outside init they are logged at once.
 */
#ifndef SS_OPTIONS_H
#define SS_OPTIONS_H

#include <stddef.h>

struct ss_server;

/* What init reported, one "FILE:LINE: ..." line per problem. */
struct options_report {
	char *text;		/* lines, each ending in '\n' */
	size_t len;
	unsigned count;
};

/* Starts keeping what the lookups report for srv, as its init begins. */
void options_begin(struct ss_server *srv);

/*
 * Stops keeping reports once init has returned. Returns how many
 * problems were reported, with as many of their lines as fit whole in
 * error_r (`size` bytes), separated by '\n'.
 */
unsigned options_end(struct ss_server *srv, char *error_r, size_t size);

#endif /* SS_OPTIONS_H */
