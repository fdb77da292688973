/*
 * reload.h - SIGHUP: the new configuration's servers built aside, and
 * swapped in only when all of them are ready.
 */
#ifndef SS_RELOAD_H
#define SS_RELOAD_H

struct daemon;

/* Re-reads the configuration and swaps to it if it is good. */
void daemon_reload(struct daemon *d);

#endif /* SS_RELOAD_H */
