/*
 * concurrency.h - how a server runs its requests: one table of operations
 * per model (sync, threading, forking, and the thread and process pools).
 * The serve loop only calls these.
 */
#ifndef SS_CONCURRENCY_H
#define SS_CONCURRENCY_H

struct ss_server;
struct ss_request;

struct concurrency_ops {
	const char *name;
	/*
	 * Pools: starts the workers, which take requests off the listening
	 * socket themselves (the serve loop then only supervises). Returns
	 * -1 after logging. NULL for the one-per-request models.
	 */
	int (*start)(struct ss_server *srv);
	/*
	 * One-per-request models: runs or hands off one accepted request and
	 * takes ownership of it. Returns 0, or -1 when it could not be
	 * started (the request is freed, the failure logged).
	 */
	int (*dispatch)(struct ss_server *srv, struct ss_request *req);
	/* Collects what ended (reaps children, replaces pool workers). */
	void (*reap)(struct ss_server *srv);
	/*
	 * Waits until nothing is in flight or `deadline` (clock_now() time)
	 * passes. Returns the number of requests or workers still running.
	 */
	unsigned (*drain)(struct ss_server *srv, double deadline);
	/* Ends what is still running after the deadline; optional. */
	void (*abort)(struct ss_server *srv);
	/* Frees the model's state in srv->model; optional. */
	void (*release)(struct ss_server *srv);
};

/*
 * The model called `name` ("sync", "threading", "forking"), as a pool
 * when workers > 0; NULL when there is no such model.
 */
const struct concurrency_ops *concurrency_find(const char *name, int workers);

extern const struct concurrency_ops concurrency_sync_ops;
extern const struct concurrency_ops concurrency_threading_ops;
extern const struct concurrency_ops concurrency_thread_pool_ops;
extern const struct concurrency_ops concurrency_forking_ops;
extern const struct concurrency_ops concurrency_prefork_ops;

#endif /* SS_CONCURRENCY_H */
