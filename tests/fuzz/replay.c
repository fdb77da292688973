/*
 * replay.c - runs a fuzz target on saved inputs, without libFuzzer, so
 * the seed corpora and the crash regressions run in `make check` (and
 * under the sanitizer build CI does).
 *
 * Usage: replay_<target> DIR|FILE... Inputs run in name order; a broken
 * invariant aborts, so the test fails on the input it names last.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* The largest input make fuzz generates (-max_len). */
#define REPLAY_MAX_INPUT (64 * 1024)

static int
replay_file(const char *path)
{
	uint8_t *data;
	size_t size;
	FILE *f;
	int ret = -1;

	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	data = malloc(REPLAY_MAX_INPUT + 1);
	if (data == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		goto done;
	}
	size = fread(data, 1, REPLAY_MAX_INPUT + 1, f);
	if (ferror(f) || size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: unreadable or over %d bytes\n",
		    path, REPLAY_MAX_INPUT);
		goto done;
	}
	/* Named before it runs: an abort leaves the culprit on screen. */
	printf("replay: %s (%zu bytes)\n", path, size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, size);
	ret = 0;
done:
	free(data);
	fclose(f);
	return ret;
}

static int
dot_filter(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int
replay_dir(const char *dir, size_t *count_r)
{
	struct dirent **names;
	char path[4096];
	int i, n, ret = 0;

	n = scandir(dir, &names, dot_filter, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]->d_name) >= sizeof(path) || replay_file(path) < 0)
			ret = -1;
		else
			(*count_r)++;
		free(names[i]);
	}
	free(names);
	return ret;
}

int
main(int argc, char **argv)
{
	struct stat st;
	size_t count = 0;
	int i, ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			ret = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) < 0)
				ret = 1;
		} else if (replay_file(argv[i]) < 0) {
			ret = 1;
		} else {
			count++;
		}
	}
	printf("replay: %zu inputs, %s\n", count, ret == 0 ? "ok" : "FAILED");
	return ret;
}
