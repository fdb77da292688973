/*
 * target.h - where sockserv-bench sends its load: tcp:HOST:PORT,
 * udp:HOST:PORT, unix:PATH or unix-dgram:PATH. Only loopback hosts are
 * accepted, so the tool cannot be pointed at somebody else's machine.
 */
#ifndef SS_BENCH_TARGET_H
#define SS_BENCH_TARGET_H

#include <stdbool.h>
#include <sys/socket.h>

struct ss_target {
	const char *text;		/* as given on the command line */
	int socktype;			/* SOCK_STREAM or SOCK_DGRAM */
	bool tcp;			/* an IP stream: set TCP_NODELAY */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/*
 * Parses text into t. On failure returns -1 with a message for the user
 * in err_r (a loopback-only refusal among them); nothing is opened.
 */
int ss_target_parse(struct ss_target *t, const char *text,
    const char **err_r);

/*
 * A new non-blocking, close-on-exec socket for t, its connect started
 * (for datagrams: done, after binding a unix client to an autobound
 * abstract name so replies can reach it). Returns the descriptor, with
 * *connected_r telling whether the connect completed at once; -1 with
 * errno set on failure.
 */
int ss_target_connect(const struct ss_target *t, bool *connected_r);

#endif /* SS_BENCH_TARGET_H */
