/*
 * fuzz_conf.c - the configuration loader, on the input as a whole file.
 *
 * The input goes into a memfd, read back through /proc/self/fd/N, so no
 * file is left behind and every run reads the same path. Beyond "does not
 * crash or leak", a load that succeeds must have resolved every server
 * fully, and one that fails must say why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"

#define PLUGIN_DIR "/nonexistent/plugins"

static int memfd = -1;
static char path[64];

/*
 * @include reads another file: whatever the input names (/dev/stdin, a
 * FIFO, /dev/zero) would make the run hang or depend on the machine. The
 * loader is fuzzed on what one file can say.
 */
static bool
has_include(const uint8_t *data, size_t size)
{
	static const char word[] = "@include";
	size_t i;

	for (i = 0; i + sizeof(word) - 1 <= size; i++)
		if (strncasecmp((const char *)data + i, word,
		    sizeof(word) - 1) == 0)
			return true;
	return false;
}

static int
write_input(const uint8_t *data, size_t size)
{
	size_t off = 0;
	ssize_t n;

	if (memfd < 0) {
		memfd = memfd_create("fuzz_conf", MFD_CLOEXEC);
		if (memfd < 0) {
			perror("fuzz_conf: memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0)
		return -1;
	while (off < size) {
		n = pwrite(memfd, data + off, size - off, (off_t)off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static void
check_loaded(const struct conf *conf)
{
	size_t i;

	if (conf->nerrors != 0 || conf->nservers == 0 ||
	    conf->plugin_dir == NULL)
		abort();
	for (i = 0; i < conf->nservers; i++) {
		const struct conf_server *srv = &conf->servers[i];

		if (srv->name == NULL || srv->handler == NULL ||
		    srv->transport == NULL || srv->concurrency_name == NULL ||
		    srv->listen == NULL || srv->addrlen == 0 ||
		    srv->max_line < 2 || srv->workers > srv->max_children)
			abort();
	}
}

static void
check_failed(const struct conf *conf)
{
	size_t i, n = strlen(path);

	if (conf->nerrors == 0)
		abort();
	/* Every message names the file, so -t output can be grepped. */
	for (i = 0; i < conf->nerrors; i++)
		if (strncmp(conf->errors[i], path, n) != 0 ||
		    conf->errors[i][n] != ':')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf conf;

	if (has_include(data, size) || write_input(data, size) < 0)
		return 0;
	if (conf_load(&conf, path, PLUGIN_DIR) == 0)
		check_loaded(&conf);
	else
		check_failed(&conf);
	conf_free(&conf);
	return 0;
}
