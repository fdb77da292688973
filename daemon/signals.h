/*
 * signals.h - how the daemon takes each signal: the main loop reads its
 * own from a signalfd (so no code runs in signal context there), some are
 * ignored, and a forked child takes them as its parent wants.
 */
#ifndef SS_SIGNALS_H
#define SS_SIGNALS_H

#include <signal.h>

/*
 * Sent by a server's thread to its forked children at the daemon's stop:
 * their idle requests end (see server_end_idle). Blocked in the daemon
 * from the start, so a child takes it only once it has its handler.
 */
#define SIGNALS_END_IDLE	(SIGRTMIN + 1)

/* The signals the main loop reads: TERM, INT, QUIT, HUP, USR1, CHLD. */
void signals_main_set(sigset_t *set);

/*
 * Ignores SIGPIPE and SIGUSR2 and blocks the main loop's signals and
 * SIGNALS_END_IDLE in this thread, and so in every thread created after
 * it. Returns -1 after logging.
 */
int signals_block(void);

/*
 * In a forked child: what reaches the whole process group (Ctrl-C,
 * Ctrl-\, a hangup, SIGUSR1) is ignored, the parent deciding when its
 * children stop; SIGTERM and the rest take their default action.
 */
void signals_child(void);

#endif /* SS_SIGNALS_H */
