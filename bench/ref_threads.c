/*
 * ref_threads.c - a reference for `make bench`: the thread-per-connection
 * echo server people write by hand. An accept loop starts a detached
 * thread per connection, which copies what it reads back until the
 * client closes.
 *
 * usage: ref_threads PORT|PATH
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "ref_listen.h"

static void *
serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0, w; off < n; off += w) {
			w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0)
				goto out;
		}
	}
out:
	close(fd);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_attr_t attr;
	int lfd;

	if (argc != 2) {
		fprintf(stderr, "usage: ref_threads PORT|PATH\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = ref_listen(argv[1], 0);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				usleep(10000);
			continue;
		}
		if (pthread_create(&t, &attr, serve, (void *)(intptr_t)fd) != 0)
			close(fd);
	}
}
