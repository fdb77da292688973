/*
 * conntable.c - the connections a forked child must close.
 */
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conntable.h"

int
conntable_init(struct conntable *ct)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max > (1 << 20))
		rl.rlim_max = 1 << 20;
	ct->max = (int)rl.rlim_max;
	ct->open = calloc((size_t)ct->max, sizeof(*ct->open));
	atomic_init(&ct->high, -1);
	ct->child_hook = NULL;
	ct->hook_arg = NULL;
	pthread_rwlock_init(&ct->fork_lock, NULL);
	return ct->open != NULL ? 0 : -1;
}

void
conntable_free(struct conntable *ct)
{
	pthread_rwlock_destroy(&ct->fork_lock);
	free(ct->open);
	ct->open = NULL;
}

void
conntable_hold(struct conntable *ct)
{
	pthread_rwlock_rdlock(&ct->fork_lock);
}

void
conntable_release(struct conntable *ct)
{
	pthread_rwlock_unlock(&ct->fork_lock);
}

void
conntable_exclusive(struct conntable *ct)
{
	pthread_rwlock_wrlock(&ct->fork_lock);
}

void
conntable_mark(struct conntable *ct, int fd, bool open)
{
	int high;

	if (fd < 0 || fd >= ct->max)
		return;
	atomic_store(&ct->open[fd], open);
	high = atomic_load(&ct->high);
	while (open && fd > high &&
	    !atomic_compare_exchange_weak(&ct->high, &high, fd))
		;
}

pid_t
conntable_fork(struct conntable *ct, int keep_fd, void *ctx)
{
	int high, fd;
	pid_t pid;

	pthread_rwlock_wrlock(&ct->fork_lock);
	pid = fork();
	if (pid != 0) {
		pthread_rwlock_unlock(&ct->fork_lock);
		return pid;
	}
	high = atomic_load(&ct->high);
	for (fd = 0; fd <= high; fd++)
		if (fd != keep_fd && atomic_load(&ct->open[fd]))
			close(fd);
	if (ct->child_hook != NULL)
		ct->child_hook(ct->hook_arg, ctx);
	/*
	 * The lock's writer was the parent's thread, which the child is
	 * not as far as the lock can tell: a new lock, not an unlock.
	 */
	pthread_rwlock_init(&ct->fork_lock, NULL);
	return 0;
}
