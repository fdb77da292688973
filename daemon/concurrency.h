/*
 * concurrency.h - how a server runs its requests: one table of operations
 * per model (sync, threading, forking). The serve loop only calls these.
 */
#ifndef SS_CONCURRENCY_H
#define SS_CONCURRENCY_H

struct ss_server;
struct ss_request;

struct concurrency_ops {
	const char *name;
	/*
	 * Runs or hands off one accepted request and takes ownership of it:
	 * the model frees it when done. Returns 0, or -1 when it could not
	 * be started (the request is freed, the failure logged).
	 */
	int (*dispatch)(struct ss_server *srv, struct ss_request *req);
	/* Collects requests that ended (e.g. reaps children); optional. */
	void (*reap)(struct ss_server *srv);
	/*
	 * Waits until no request is in flight or `deadline` (clock_now()
	 * time) passes. Returns the number still in flight.
	 */
	unsigned (*drain)(struct ss_server *srv, double deadline);
	/* Ends what is still in flight after the deadline; optional. */
	void (*abort)(struct ss_server *srv);
	/* Frees the model's state in srv->model; optional. */
	void (*release)(struct ss_server *srv);
};

/* The model called `name`, or NULL. */
const struct concurrency_ops *concurrency_find(const char *name);

extern const struct concurrency_ops concurrency_sync_ops;
extern const struct concurrency_ops concurrency_threading_ops;
extern const struct concurrency_ops concurrency_forking_ops;

#endif /* SS_CONCURRENCY_H */
