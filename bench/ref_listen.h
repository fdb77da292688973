/*
 * ref_listen.h - the listening socket of the reference servers: a tcp
 * port on 127.0.0.1, or a unix socket path (anything that is not all
 * digits).
 */
#ifndef SS_BENCH_REF_LISTEN_H
#define SS_BENCH_REF_LISTEN_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Binds and listens on arg, with SOCK_FLAGS; exits 1 on failure. */
static int
ref_listen(const char *arg, int sock_flags)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strspn(arg, "0123456789") == strlen(arg)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)atoi(arg));
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", arg);
		unlink(arg);
		len = sizeof(*sun);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | sock_flags, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		perror(arg);
		exit(1);
	}
	return fd;
}

#endif /* SS_BENCH_REF_LISTEN_H */
