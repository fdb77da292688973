/*
 * server_live.h - a server's requests in flight in this process, and
 * how a stop ends them.
 */
#ifndef SS_SERVER_LIVE_H
#define SS_SERVER_LIVE_H

#include "server_state.h"

/*
 * A stream request being served in this process (not a forked child)
 * joins the server's live list while its plugin runs, so server_cut can
 * reach it; it leaves before its connection is closed.
 */
void server_live_add(struct ss_request *req);
void server_live_remove(struct ss_request *req);

/*
 * At the stop deadline: shuts down the connection of every live request,
 * which ends whatever ss_* call it is blocked in, and of any that
 * starts later. Callable from any thread.
 */
void server_cut(struct ss_server *srv);

/*
 * The daemon stops (not a reload): requests idle in a line read, with
 * nothing buffered, end at once as at end of input, here and in forked
 * children (which the server's thread tells by SIGNALS_END_IDLE).
 * Callable from the main thread, after server_stop.
 */
void server_end_idle(struct ss_server *srv);

/*
 * A second stop signal: cuts every live request now, and the model stops
 * waiting for what is left. Callable from the main thread.
 */
void server_hurry(struct ss_server *srv);

/*
 * What a model's drain waits until instead of `deadline`: sooner once
 * hurried. Drains call it each time they wake.
 */
double server_drain_deadline(struct ss_server *srv, double deadline);

/*
 * In a forked child of srv: SIGNALS_END_IDLE, blocked in the daemon
 * since before the fork, ends the child's idle request from now on.
 */
void server_child_init(struct ss_server *srv);

/*
 * Logs the requests srv leaves running (client and time) as abandoned at
 * the stop; returns how many there are.
 */
unsigned server_report_abandoned(struct ss_server *srv);

#endif /* SS_SERVER_LIVE_H */
