/*
 * persource.c - the per-source request counts. A small table scanned
 * under a process-shared mutex: it holds only the sources with requests
 * in flight, at most max_children of them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "persource.h"

struct persource_slot {
	unsigned char addr[16];		/* IPv4 addresses as ::ffff:a.b.c.d */
	unsigned count;			/* 0: free */
};

struct persource {
	pthread_mutex_t lock;		/* process-shared, robust */
	unsigned limit;
	unsigned nslots;
	size_t size;			/* of the mapping */
	struct persource_slot slots[];
};

struct persource *
persource_new(unsigned limit, unsigned slots)
{
	size_t size = sizeof(struct persource) +
	    slots * sizeof(struct persource_slot);
	pthread_mutexattr_t attr;
	struct persource *ps;

	ps = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED |
	    MAP_ANONYMOUS, -1, 0);
	if (ps == MAP_FAILED)
		return NULL;
	ps->limit = limit;
	ps->nslots = slots;
	ps->size = size;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	/* A worker that dies holding it must not stop the others. */
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&ps->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return ps;
}

void
persource_free(struct persource *ps)
{
	if (ps == NULL)
		return;
	pthread_mutex_destroy(&ps->lock);
	munmap(ps, ps->size);
}

/* The address as 16 bytes; false for clients without an IP address. */
static bool
persource_key(const struct sockaddr *sa, socklen_t len, unsigned char *key)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET && len >= sizeof(*sin)) {
		memset(key, 0, 10);
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &sin->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		memcpy(key, &sin6->sin6_addr, 16);
		return true;
	}
	return false;
}

static void
persource_lock(struct persource *ps)
{
	if (pthread_mutex_lock(&ps->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&ps->lock);
}

/* The slot of key, else a free one (*found false), else NULL. */
static struct persource_slot *
persource_find(struct persource *ps, const unsigned char *key, bool *found)
{
	struct persource_slot *free_slot = NULL;
	unsigned i;

	for (i = 0; i < ps->nslots; i++) {
		struct persource_slot *s = &ps->slots[i];

		if (s->count == 0) {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (memcmp(s->addr, key, 16) == 0) {
			*found = true;
			return s;
		}
	}
	*found = false;
	return free_slot;
}

bool
persource_acquire(struct persource *ps, const struct sockaddr *sa,
    socklen_t len)
{
	unsigned char key[16];
	struct persource_slot *s;
	bool found, ok = false;

	if (!persource_key(sa, len, key))
		return true;
	persource_lock(ps);
	s = persource_find(ps, key, &found);
	if (s != NULL && (!found || s->count < ps->limit)) {
		if (!found)
			memcpy(s->addr, key, 16);
		s->count++;
		ok = true;
	}
	pthread_mutex_unlock(&ps->lock);
	return ok;
}

void
persource_release(struct persource *ps, const struct sockaddr *sa,
    socklen_t len)
{
	unsigned char key[16];
	struct persource_slot *s;
	bool found;

	if (!persource_key(sa, len, key))
		return;
	persource_lock(ps);
	s = persource_find(ps, key, &found);
	if (found && s->count > 0)
		s->count--;
	pthread_mutex_unlock(&ps->lock);
}
