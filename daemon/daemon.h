/*
 * daemon.h - the process: its servers, its signals, its main loop.
 */
#ifndef SS_DAEMON_H
#define SS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct conf;
struct ss_server;

struct daemon {
	struct conf *conf;
	pid_t pid;
	struct ss_server **servers;
	size_t nservers;
	int signal_fd;		/* signalfd: TERM, INT, HUP, CHLD */
	int done_fd;		/* eventfd: a server thread has finished */
};

/* Creates a server for each configured one. Logs and returns -1. */
int daemon_create(struct daemon *d, struct conf *conf);
void daemon_destroy(struct daemon *d);

/* Each returns -1 after logging every failure it found. */
int daemon_load_plugins(struct daemon *d);
int daemon_init_plugins(struct daemon *d);
void daemon_fini_plugins(struct daemon *d);
int daemon_open(struct daemon *d);
int daemon_start(struct daemon *d);

/*
 * Blocks the signals the main loop handles, in this thread and so in every
 * thread created after it. Call before daemon_start.
 */
int daemon_signals_init(struct daemon *d);

/* Runs until SIGTERM/SIGINT has stopped every started server. */
int daemon_run(struct daemon *d);

/* Tells systemd the daemon serves (READY=1 with a STATUS= summary). */
void daemon_notify_ready(struct daemon *d);

/* Called by a server thread as its last act. Async-signal-safe. */
void daemon_server_done(struct daemon *d);

/*
 * In a child forked for `srv`: closes the daemon's own descriptors (but
 * srv's stop descriptor, and its listening socket when keep_listener),
 * marks srv as a child's copy and restores default signal handling. The
 * plugin's descriptors are left alone.
 */
void daemon_after_fork(struct daemon *d, struct ss_server *srv,
    bool keep_listener);

#endif /* SS_DAEMON_H */
