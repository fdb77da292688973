/*
 * concurrency.c - the one place where model names map to operations.
 */
#include <string.h>

#include "concurrency.h"

static const struct {
	const char *name;
	const struct concurrency_ops *per_request;
	const struct concurrency_ops *pool;	/* NULL: workers must be 0 */
} models[] = {
	{ "sync", &concurrency_sync_ops, NULL },
	{ "threading", &concurrency_threading_ops,
	    &concurrency_thread_pool_ops },
	{ "forking", &concurrency_forking_ops, &concurrency_prefork_ops },
};

const struct concurrency_ops *
concurrency_find(const char *name, int workers)
{
	size_t i;

	for (i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (strcmp(models[i].name, name) == 0)
			return workers > 0 ? models[i].pool :
			    models[i].per_request;
	return NULL;
}
