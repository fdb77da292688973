/*
 * signals.c - the daemon's signal dispositions and masks.
 */
#include <pthread.h>

#include "log.h"
#include "signals.h"

void
signals_main_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGCHLD);
}

int
signals_block(void)
{
	sigset_t set;

	/*
	 * Peers that vanish must cost an EPIPE, never the process; SIGUSR2
	 * means nothing here, and no signal sent by habit may kill the
	 * daemon without its cleanup.
	 */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signals_main_set(&set);
	sigaddset(&set, SIGNALS_END_IDLE);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
		log_error("cannot block signals");
		return -1;
	}
	return 0;
}

void
signals_child(void)
{
	sigset_t set;

	/* SIGTERM stays fatal, for the parent's use at the stop deadline. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signals_main_set(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}
