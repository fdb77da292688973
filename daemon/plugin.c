/*
 * plugin.c - dlopen()s a handler plugin and checks its descriptor hard,
 * so a bad plugin is refused at start with the file and the reason.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "plugin.h"

char *
plugin_path(const char *handler, const char *plugin_dir)
{
	char *path;

	if (strchr(handler, '/') != NULL)
		return strdup(handler);
	if (asprintf(&path, "%s/%s.so", plugin_dir, handler) < 0)
		return NULL;
	return path;
}

/* Copies the descriptor, leaving members the plugin does not have NULL. */
static const char *
plugin_check(struct plugin *plugin, const struct ss_handler *h,
    char *why, size_t whysize)
{
	size_t n;

	if (h->abi != SS_PLUGIN_ABI) {
		snprintf(why, whysize, "built for plugin ABI %d, this "
		    "sockservd speaks ABI %d", h->abi, SS_PLUGIN_ABI);
		return why;
	}
	if (h->size < offsetof(struct ss_handler, init))
		return "ss_handler is smaller than its fixed header";
	n = h->size < sizeof(*h) ? h->size : sizeof(*h);
	memset(&plugin->handler, 0, sizeof(plugin->handler));
	memcpy(&plugin->handler, h, n);
	if (plugin->handler.handle == NULL)
		return "ss_handler has no handle function";
	if (plugin->handler.name == NULL)
		plugin->handler.name = plugin->path;
	if (plugin->handler.version == NULL)
		plugin->handler.version = "?";
	return NULL;
}

static bool
plugin_owner_ok(const struct stat *st, uid_t trusted)
{
	return st->st_uid == 0 || st->st_uid == geteuid() ||
	    st->st_uid == trusted;
}

/*
 * A plugin runs with the daemon's privileges, so only root or the
 * daemon's own user may be able to change it or the directory it is in.
 * Returns NULL when both are safe, else why not (in buf), naming the file
 * or directory to fix. A file is fixed in place; a directory others can
 * write, such as /tmp, is no place for a plugin, and must not be "fixed".
 */
static const char *
plugin_unsafe(const char *path, uid_t trusted, char *buf, size_t size)
{
	char *copy = strdup(path);
	const char *dir = copy != NULL ? dirname(copy) : NULL;
	struct stat st;

	buf[0] = '\0';
	if (stat(path, &st) == 0) {
		if (!plugin_owner_ok(&st, trusted))
			snprintf(buf, size, "%s is owned by uid %ld, not by "
			    "root or the daemon's user (chown root %s)", path,
			    (long)st.st_uid, path);
		else if (st.st_mode & (S_IWGRP | S_IWOTH))
			snprintf(buf, size, "%s is writable by group or others "
			    "(chmod go-w %s)", path, path);
	}
	if (buf[0] == '\0' && dir != NULL && stat(dir, &st) == 0) {
		if (!plugin_owner_ok(&st, trusted))
			snprintf(buf, size, "its directory %s is owned by uid "
			    "%ld (a plugin must live in a directory owned by "
			    "root or the daemon's user)", dir, (long)st.st_uid);
		else if (st.st_mode & (S_IWGRP | S_IWOTH))
			snprintf(buf, size, "its directory %s is writable by "
			    "group or others (a plugin must live in a directory "
			    "only root or the daemon's user can write)", dir);
	}
	free(copy);
	return buf[0] != '\0' ? buf : NULL;
}

/* Copies the file into an anonymous memory file dlopen() sees as new. */
static int
plugin_copy(struct plugin *plugin, char *dlpath, size_t size)
{
	char buf[65536];
	ssize_t n = 0;
	int fd;

	fd = open(plugin->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	plugin->memfd = memfd_create("sockserv-plugin", MFD_CLOEXEC);
	while (plugin->memfd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		if (write(plugin->memfd, buf, (size_t)n) != n)
			n = -1;
	close(fd);
	if (plugin->memfd < 0 || n < 0)
		return -1;
	snprintf(dlpath, size, "/proc/self/fd/%d", plugin->memfd);
	return 0;
}

static void plugin_refuse(char *error_r, size_t size, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "cannot load plugin PATH: REASON" into error_r. */
static void
plugin_refuse(char *error_r, size_t size, const char *path,
    const char *fmt, ...)
{
	int n = snprintf(error_r, size, "cannot load plugin %s: ", path);
	va_list ap;

	if (n < 0 || (size_t)n >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(error_r + n, size - (size_t)n, fmt, ap);
	va_end(ap);
}

/* dlopen()s the file (or its fresh copy) and finds its descriptor. */
static const struct ss_handler *
plugin_dlopen(struct plugin *plugin, bool fresh, char *error_r,
    size_t size)
{
	const struct ss_handler *h;
	const char *why;
	char dlpath[64];

	if (fresh && plugin_copy(plugin, dlpath, sizeof(dlpath)) < 0) {
		plugin_refuse(error_r, size, plugin->path, "copy: %s",
		    strerror(errno));
		return NULL;
	}
	plugin->dl = dlopen(fresh ? dlpath : plugin->path,
	    RTLD_NOW | RTLD_LOCAL);
	if (plugin->dl == NULL) {
		plugin_refuse(error_r, size, plugin->path, "%s", dlerror());
		return NULL;
	}
	dlerror();
	h = dlsym(plugin->dl, "ss_handler");
	if (h == NULL) {
		why = dlerror();
		plugin_refuse(error_r, size, plugin->path, "no 'ss_handler' "
		    "symbol (%s)", why ? why : "it is NULL");
	}
	return h;
}

struct plugin *
plugin_open(const char *handler, const char *plugin_dir, bool fresh,
    uid_t trusted, char *error_r, size_t size)
{
	const struct ss_handler *h;
	struct plugin *plugin;
	const char *why;
	char whybuf[1024];

	plugin = calloc(1, sizeof(*plugin));
	if (plugin == NULL) {
		plugin_refuse(error_r, size, handler, "out of memory");
		return NULL;
	}
	plugin->memfd = -1;
	plugin->refs = 1;
	plugin->path = plugin_path(handler, plugin_dir);
	if (plugin->path == NULL) {
		plugin_refuse(error_r, size, handler, "out of memory");
		goto fail;
	}
	if (stat(plugin->path, &plugin->st) < 0) {
		plugin_refuse(error_r, size, plugin->path, "%s",
		    strerror(errno));
		goto fail;
	}
	if ((why = plugin_unsafe(plugin->path, trusted, whybuf,
	    sizeof(whybuf))) != NULL) {
		plugin_refuse(error_r, size, plugin->path, "unsafe: %s", why);
		goto fail;
	}
	if ((h = plugin_dlopen(plugin, fresh, error_r, size)) == NULL)
		goto fail;
	why = plugin_check(plugin, h, whybuf, sizeof(whybuf));
	if (why != NULL) {
		plugin_refuse(error_r, size, plugin->path, "%s", why);
		goto fail;
	}
	log_debug("loaded plugin %s (%s %s)", plugin->path,
	    plugin->handler.name, plugin->handler.version);
	return plugin;
fail:
	plugin_close(plugin);
	return NULL;
}

bool
plugin_changed(const struct plugin *plugin)
{
	struct stat st;

	if (stat(plugin->path, &st) < 0)
		return true;
	return st.st_dev != plugin->st.st_dev ||
	    st.st_ino != plugin->st.st_ino ||
	    st.st_size != plugin->st.st_size ||
	    st.st_mtim.tv_sec != plugin->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != plugin->st.st_mtim.tv_nsec;
}

struct plugin *
plugin_ref(struct plugin *plugin)
{
	plugin->refs++;
	return plugin;
}

void
plugin_close(struct plugin *plugin)
{
	if (plugin == NULL || --plugin->refs > 0)
		return;
	if (plugin->dl != NULL)
		dlclose(plugin->dl);
	if (plugin->memfd >= 0)
		close(plugin->memfd);
	free(plugin->path);
	free(plugin);
}
