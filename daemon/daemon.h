/*
 * daemon.h - the process: its servers, its signals, its main loop.
 */
#ifndef SS_DAEMON_H
#define SS_DAEMON_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conntable.h"
#include "server.h"

struct conf;
struct strbuf;

/* What a daemon_source may add to the main loop's poll. */
#define DAEMON_SOURCE_NPOLL	32

/*
 * Something the main loop serves besides signals, through these hooks
 * (the control socket: control.c sits above this file, which knows it
 * only so). pollfds fills up to DAEMON_SOURCE_NPOLL entries; deadline is
 * when serve must run even if nothing polled is ready (0: never); serve
 * gets them back after poll, with whether the daemon is stopping;
 * child_close closes its descriptors in a forked child.
 */
struct daemon_source {
	void *arg;			/* NULL: no source */
	size_t (*pollfds)(void *arg, struct pollfd *pfd);
	double (*deadline)(void *arg);
	void (*serve)(void *arg, const struct pollfd *pfd, size_t n,
	    bool stopping);
	void (*child_close)(void *arg);
};

struct daemon {
	struct conf *conf;		/* the configuration being served */
	const char *default_plugin_dir;
	int log_level_option;		/* -l, or -1: the file's log_level */
	pid_t pid;
	double started;			/* clock_now() at daemon_create */
	struct ss_server **servers;	/* serving conf */
	size_t nservers;
	/* Servers a reload replaced, finishing their requests. */
	struct ss_server **retired;
	size_t nretired;
	/* Every configuration a server still points into (conf first). */
	struct conf **confs;
	size_t nconfs;
	/*
	 * The connections a forked child closes; `servers` is swapped under
	 * its exclusive lock, so a child always sees a whole table to close
	 * the daemon's descriptors from.
	 */
	struct conntable conns;
	struct server_env env;		/* what every server gets from here */
	int signal_fd;			/* signalfd: TERM, INT, QUIT, HUP,
					   USR1, CHLD */
	int done_fd;			/* eventfd: a server thread finished */
	/*
	 * The stop left handlers running: their threads may still use
	 * the servers, so the process exits without freeing them.
	 */
	bool abandoned;
	/*
	 * What SIGHUP does (reload.c's daemon_reload, set by main.c): the
	 * reload builds on this file's servers, so this file does not call
	 * up into it.
	 */
	void (*reload)(struct daemon *d);
	/*
	 * While set, the reload also appends each error line it logs
	 * here: empty afterwards means the new configuration was applied.
	 */
	struct strbuf *reload_errors;
	struct daemon_source control;	/* the control socket, if any */
};

/*
 * Creates a server for each configured one; the daemon owns conf from
 * now on (also on failure). log_level_option is -l's level, which
 * reloads keep, or -1. Logs and returns -1.
 */
int daemon_create(struct daemon *d, struct conf *conf,
    const char *default_plugin_dir, int log_level_option);
void daemon_destroy(struct daemon *d);

/*
 * Each returns -1 after logging every failure it found; the two for
 * plugins print theirs on stderr as configuration errors ("FILE:LINE:
 * server NAME: ..."), one per server, and init skips the servers whose
 * plugin is not loaded.
 */
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

/*
 * Runs until SIGTERM/SIGINT/SIGQUIT has stopped every server, or the
 * stop has given up on what still runs (d->abandoned).
 */
int daemon_run(struct daemon *d);

/* Tells systemd the daemon serves (READY=1 with a STATUS= summary). */
void daemon_notify_ready(struct daemon *d);

/* Adds conf to the configurations kept alive; -1 when out of memory. */
int daemon_keep_conf(struct daemon *d, struct conf *conf);
/* Adds srv to the retired servers; -1 when out of memory. */
int daemon_retire(struct daemon *d, struct ss_server *srv);

#endif /* SS_DAEMON_H */
