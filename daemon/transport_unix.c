/*
 * transport_unix.c - unix domain sockets, stream and datagram
 * (UnixStreamServer, UnixDatagramServer).
 *
 * The socket file gets socket_mode (and socket_owner/socket_group), a
 * stale file left by a crashed run is replaced only when nothing answers
 * on it, and the file is removed when the server stops.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "log.h"
#include "request.h"
#include "server_state.h"
#include "transport.h"

static const char *
unix_path(const struct ss_server *srv)
{
	return ((const struct sockaddr_un *)&srv->conf->addr)->sun_path;
}

/*
 * A socket file nobody answers on is left over from a crashed run and may
 * be replaced; anything else at the path is someone else's. Returns 0
 * when the path is free (now), -1 after logging why not.
 */
static int
unix_claim_path(struct ss_server *srv, int type)
{
	const char *path = unix_path(srv);
	struct stat st;
	int fd, r, err;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		log_errno(LOG_ERR, "server %s: %s", srv->name, path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_error("server %s: %s exists and is not a socket; remove it "
		    "or choose another path", srv->name, path);
		return -1;
	}
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_errno(LOG_ERR, "server %s: socket", srv->name);
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)&srv->conf->addr,
	    srv->conf->addrlen);
	err = errno;
	close(fd);
	if (r < 0 && err == ECONNREFUSED) {
		log_notice("server %s: replacing stale socket %s", srv->name,
		    path);
		if (unlink(path) < 0 && errno != ENOENT) {
			log_errno(LOG_ERR, "server %s: cannot remove %s",
			    srv->name, path);
			return -1;
		}
		return 0;
	}
	log_error("server %s: %s is in use by another process", srv->name,
	    path);
	return -1;
}

static int
unix_set_owner(struct ss_server *srv, const char *path)
{
	const struct conf_server *conf = srv->conf;

	if (chmod(path, conf->socket_mode) < 0) {
		log_errno(LOG_ERR, "server %s: chmod %s", srv->name, path);
		return -1;
	}
	if ((conf->socket_uid != (uid_t)-1 || conf->socket_gid != (gid_t)-1) &&
	    chown(path, conf->socket_uid, conf->socket_gid) < 0) {
		log_errno(LOG_ERR, "server %s: chown %s", srv->name, path);
		return -1;
	}
	return 0;
}

/*
 * The socket is bound to a temporary name, given its mode and owner (and
 * made to listen), then renamed into place: no client ever finds the
 * path with the wrong permissions or not yet listening. A path too long
 * for the temporary name is bound in place.
 */
static int
unix_open(struct ss_server *srv, int type)
{
	struct sockaddr_un tmp = { .sun_family = AF_UNIX };
	const char *path = unix_path(srv), *at = path;
	int n;

	if (unix_claim_path(srv, type) < 0)
		return -1;
	srv->listen_fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (srv->listen_fd < 0) {
		log_errno(LOG_ERR, "server %s: socket", srv->name);
		return -1;
	}
	n = snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.new", path);
	if (n > 0 && (size_t)n < sizeof(tmp.sun_path)) {
		at = tmp.sun_path;
		(void)unlink(at);
	} else {
		/* The configuration made sure the path itself fits. */
		memcpy(tmp.sun_path, path, strlen(path) + 1);
	}
	if (bind(srv->listen_fd, (const struct sockaddr *)&tmp,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(at) + 1)) < 0) {
		log_errno(LOG_ERR, "server %s: cannot bind %s", srv->name, at);
		return -1;
	}
	if (unix_set_owner(srv, at) < 0 || (type == SOCK_STREAM &&
	    listen(srv->listen_fd, srv->conf->request_queue_size) < 0) ||
	    (at != path && rename(at, path) < 0)) {
		log_errno(LOG_ERR, "server %s: cannot set up %s", srv->name,
		    path);
		(void)unlink(at);
		return -1;
	}
	/* Absolute: a detached daemon's working directory is "/". */
	srv->owned_path = realpath(path, NULL);
	if (srv->owned_path == NULL) {
		log_errno(LOG_ERR, "server %s: %s", srv->name, path);
		return -1;
	}
	return 0;
}

static int
unix_stream_open(struct ss_server *srv)
{
	return unix_open(srv, SOCK_STREAM);
}

static int
unix_dgram_open(struct ss_server *srv)
{
	return unix_open(srv, SOCK_DGRAM);
}

/* An unbound client has no path: name it by its credentials instead. */
static int
unix_stream_accept(struct ss_server *srv, struct ss_request *req)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r;

	r = transport_stream_accept(srv, req);
	if (r == 1 && req->peerlen <= offsetof(struct sockaddr_un, sun_path) &&
	    getsockopt(req->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		snprintf(req->name, sizeof(req->name), "(unnamed pid=%ld "
		    "uid=%ld)", (long)cred.pid, (long)cred.uid);
	return r;
}

static void
unix_remove_path(struct ss_server *srv)
{
	if (srv->owned_path == NULL)
		return;
	if (unlink(srv->owned_path) < 0 && errno != ENOENT)
		log_errno(LOG_WARNING, "server %s: cannot remove %s",
		    srv->name, srv->owned_path);
	free(srv->owned_path);
	srv->owned_path = NULL;
}

/* Removing the file turns new clients away with ENOENT at once. */
static void
unix_stream_stop_accepting(struct ss_server *srv)
{
	unix_remove_path(srv);
	if (srv->listen_fd >= 0)
		(void)shutdown(srv->listen_fd, SHUT_RDWR);
}

static void
unix_close(struct ss_server *srv)
{
	unix_remove_path(srv);
	transport_close_socket(srv);
}

const struct transport_ops transport_unix_ops = {
	.name = "unix",
	.stream = true,
	.socket_file = true,
	.open = unix_stream_open,
	.accept = unix_stream_accept,
	.conn = &conn_socket_ops,
	.stop_accepting = unix_stream_stop_accepting,
	.close = unix_close,
	.can_keep = transport_same_address,
};

const struct transport_ops transport_unix_dgram_ops = {
	.name = "unix-dgram",
	.stream = false,
	.socket_file = true,
	.open = unix_dgram_open,
	.accept = datagram_accept,
	.conn = &conn_datagram_ops,
	.complete = datagram_complete,
	.stop_accepting = unix_remove_path,
	.close = unix_close,
	.can_keep = transport_same_address,
};
