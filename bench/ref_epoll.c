/*
 * ref_epoll.c - a reference for `make bench`: a minimal single-threaded
 * epoll echo server. Every connection has a buffer; what it reads is
 * written back, and while a write is short the connection waits for
 * EPOLLOUT instead of reading more.
 *
 * usage: ref_epoll PORT|PATH
 */
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>

#include "ref_listen.h"

struct conn {
	int fd;
	size_t off, len;	/* bytes of buf still to write back */
	char buf[65536];
};

static void
drop(struct conn *c)
{
	close(c->fd);
	free(c);
}

/* Writes what is pending, then echoes until the socket runs dry. */
static void
serve(int ep, struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	ssize_t n;

	for (;;) {
		while (c->off < c->len) {
			n = write(c->fd, c->buf + c->off, c->len - c->off);
			if (n < 0 && errno == EAGAIN) {
				ev.events = EPOLLOUT;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				return;
			}
			if (n < 0) {
				drop(c);
				return;
			}
			c->off += (size_t)n;
		}
		n = read(c->fd, c->buf, sizeof(c->buf));
		if (n < 0 && errno == EAGAIN) {
			ev.events = EPOLLIN;
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		if (n <= 0) {
			drop(c);
			return;
		}
		c->off = 0;
		c->len = (size_t)n;
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256], ev = { .events = EPOLLIN };
	int lfd, ep;

	if (argc != 2) {
		fprintf(stderr, "usage: ref_epoll PORT|PATH\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = ref_listen(argv[1], SOCK_NONBLOCK);
	ep = epoll_create1(0);
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int fd;

			if (c != NULL) {
				serve(ep, c);
				continue;
			}
			while ((fd = accept4(lfd, NULL, NULL,
			    SOCK_NONBLOCK)) >= 0) {
				c = malloc(sizeof(*c));
				if (c == NULL) {
					close(fd);
					continue;
				}
				c->fd = fd;
				c->off = c->len = 0;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			}
		}
	}
}
