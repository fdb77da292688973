/*
 * activation.c - adopting the sockets systemd passes (sd_listen_fds).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "activation.h"
#include "addr.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "server.h"
#include "transport.h"

#ifdef HAVE_LIBSYSTEMD

static bool
activation_same_socket(const struct ss_server *srv, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type;
	socklen_t tlen = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    (type == SOCK_STREAM) != srv->transport->stream ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	return addr_equal((struct sockaddr *)&ss, len,
	    (const struct sockaddr *)&srv->conf->addr, srv->conf->addrlen);
}

/* The server that should own fd: by name first, then by address. */
static struct ss_server *
activation_match(struct daemon *d, int fd, const char *name)
{
	size_t i;

	for (i = 0; i < d->nservers; i++)
		if (d->servers[i]->listen_fd < 0 && name != NULL &&
		    strcmp(d->servers[i]->name, name) == 0)
			return d->servers[i];
	for (i = 0; i < d->nservers; i++)
		if (d->servers[i]->listen_fd < 0 &&
		    activation_same_socket(d->servers[i], fd))
			return d->servers[i];
	return NULL;
}

int
activation_adopt(struct daemon *d)
{
	char **names = NULL, where[ADDR_NAME_MAX];
	struct sockaddr_storage ss;
	socklen_t len;
	int n, i, rc = 0;

	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_error("the sockets passed by systemd (LISTEN_FDS) cannot be "
		    "read");
		return -1;
	}
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		struct ss_server *srv = activation_match(d, fd, names[i]);

		if (srv == NULL) {
			len = sizeof(ss);
			if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
				len = 0;
			addr_format((struct sockaddr *)&ss, len, where,
			    sizeof(where));
			log_error("socket %d passed by systemd (name '%s', "
			    "address %s) matches no server; name it with "
			    "FileDescriptorName= or add a server for it", fd,
			    names[i], where);
			rc = -1;
			continue;
		}
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		srv->listen_fd = fd;
		srv->inherited = true;
		log_info("server %s: using socket %d passed by systemd",
		    srv->name, fd);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc < 0 ? -1 : n;
}

#else

int
activation_adopt(struct daemon *d)
{
	(void)d;
	return 0;
}

#endif
