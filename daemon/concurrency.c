/*
 * concurrency.c - the one place where model names map to operations.
 */
#include <string.h>

#include "concurrency.h"

static const struct concurrency_ops *const models[] = {
	&concurrency_sync_ops,
	&concurrency_threading_ops,
	&concurrency_forking_ops,
};

const struct concurrency_ops *
concurrency_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (strcmp(models[i]->name, name) == 0)
			return models[i];
	return NULL;
}
