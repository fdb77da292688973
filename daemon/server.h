/*
 * server.h - one configured server: its socket, its plugin, its serve loop.
 *
 * Each server runs its serve loop in a thread of its own, so a busy sync
 * server never delays another server. The main thread only starts, wakes
 * and stops servers.
 */
#ifndef SS_SERVER_H
#define SS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "server_live.h"
#include "server_state.h"

struct ss_server *server_new(const struct conf_server *conf,
    const struct server_env *env);
void server_free(struct ss_server *srv);

/* Room for an error server_load or server_init hands up. */
#define SERVER_ERROR_SIZE	4096

/*
 * Loads the plugin (a private copy when `fresh`, trusting files of
 * `trusted` too: see plugin_open). On failure returns -1 with
 * "FILE:LINE: server NAME: cannot load plugin PATH: REASON" in error_r
 * (`size` bytes), at the line of the handler setting, for the caller to
 * report once.
 */
int server_load(struct ss_server *srv, const char *plugin_dir, bool fresh,
    uid_t trusted, char *error_r, size_t size);
/* Uses a plugin another server has loaded already. */
void server_share_plugin(struct ss_server *srv, struct plugin *plugin);
/*
 * Runs the plugin's init. When it reported problems with its options
 * (options.h), returns -1 with their lines in error_r, one per problem,
 * separated by '\n'; when it refused without, with "FILE:LINE: server
 * NAME: plugin PATH: init refused its options", at the line of the
 * options (of the handler when there are none).
 */
int server_init(struct ss_server *srv, char *error_r, size_t size);
void server_fini(struct ss_server *srv);

/* Binds the listening socket and creates the wake descriptors. */
int server_open(struct ss_server *srv);
/* Starts the serve loop thread. */
int server_start(struct ss_server *srv);
/*
 * Stops accepting at once and lets in-flight requests run until
 * `deadline` (clock_now() time). Callable from the main thread only.
 */
void server_stop(struct ss_server *srv, double deadline);
void server_join(struct ss_server *srv);

/*
 * A pool worker's life: takes requests off the listening socket and serves
 * them itself until the server stops. Used by both pools.
 */
void server_work(struct ss_server *srv);

/*
 * The address the socket really has (systemd's may differ from listen),
 * in buf or srv's own configuration.
 */
const char *server_where(const struct ss_server *srv, char *buf, size_t size);

/* SIGUSR1: one line saying how srv is doing. */
void server_log_status(struct ss_server *srv, const char *state);

/* In-flight accounting shared by every concurrency model. */
void server_request_begin(struct ss_server *srv);
void server_request_end(struct ss_server *srv);

#endif /* SS_SERVER_H */
