/*
 * persource.h - max_per_source: how many requests one client address may
 * have in flight, counted across every thread and process of a server.
 */
#ifndef SS_PERSOURCE_H
#define SS_PERSOURCE_H

#include <stdbool.h>
#include <sys/socket.h>

struct persource;

/*
 * A table in shared memory, so pool processes count together; `slots`
 * bounds the distinct addresses in flight at once. NULL when out of
 * memory.
 */
struct persource *persource_new(unsigned limit, unsigned slots);
void persource_free(struct persource *ps);

/*
 * Counts one more request from the address: false when it already has
 * `limit` in flight (or the table is full). Clients without an IP
 * address (unix) are not counted and always pass.
 */
bool persource_acquire(struct persource *ps, const struct sockaddr *sa,
    socklen_t len);
/* Counts one request from the address less. */
void persource_release(struct persource *ps, const struct sockaddr *sa,
    socklen_t len);

#endif /* SS_PERSOURCE_H */
