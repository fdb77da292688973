/*
 * conntable.h - the client connections open in this process, so that a
 * forked child can close every one but its own.
 *
 * Connections are opened and closed between conntable_hold and
 * conntable_release (the read side of a lock whose write side is held
 * across fork()), so a child always knows every connection other threads
 * had open: it closes them, or their clients would wait for an end of
 * input as long as the child lives. What else the child must close (the
 * daemon's own descriptors) is its owner's to say, through the hook.
 */
#ifndef SS_CONNTABLE_H
#define SS_CONNTABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

struct conntable {
	pthread_rwlock_t fork_lock;
	atomic_uchar *open;		/* per descriptor: a connection */
	atomic_int high;		/* highest descriptor marked */
	int max;
	/*
	 * Runs in every child right after the fork, with the `ctx` given to
	 * conntable_fork: closes the owner's descriptors the child must not
	 * keep.
	 */
	void (*child_hook)(void *arg, void *ctx);
	void *hook_arg;
};

/* One mark per descriptor the process may have; -1 when out of memory. */
int conntable_init(struct conntable *ct);
void conntable_free(struct conntable *ct);

void conntable_hold(struct conntable *ct);
void conntable_release(struct conntable *ct);
void conntable_mark(struct conntable *ct, int fd, bool open);

/* The write side, for whoever must not be caught halfway by a fork. */
void conntable_exclusive(struct conntable *ct);

/*
 * fork(); in the child, closes every marked connection but keep_fd, then
 * runs the hook with ctx. Returns fork()'s result.
 */
pid_t conntable_fork(struct conntable *ct, int keep_fd, void *ctx);

#endif /* SS_CONNTABLE_H */
