/*
 * plugin.h - loading handler plugins (not the installed plugin API, which
 * is <sockserv/plugin.h>).
 */
#ifndef SS_DAEMON_PLUGIN_H
#define SS_DAEMON_PLUGIN_H

#include <sockserv/plugin.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct plugin {
	char *path;
	void *dl;
	int memfd;		/* a private copy of the file, or -1 */
	unsigned refs;		/* servers using it; main thread only */
	struct stat st;		/* the file as it was loaded */
	/* The plugin's descriptor; members past its `size` are NULL here. */
	struct ss_handler handler;
};

/* Room for the reason plugin_open hands up. */
#define PLUGIN_ERROR_SIZE	2048

/*
 * Opens `handler`: a path when it holds a '/', else plugin_dir/NAME.so.
 * The file and its directory must be owned by root, the daemon's
 * effective user or `trusted` (the configured user, or -1), and not be
 * writable by group or others. `fresh` loads a private copy of the file,
 * so that new code is loaded even while an older version of the same
 * path stays in use. On failure returns NULL with "cannot load plugin
 * PATH: REASON" in error_r (`size` bytes, PLUGIN_ERROR_SIZE will do), for
 * the caller to report: nothing is logged.
 */
struct plugin *plugin_open(const char *handler, const char *plugin_dir,
    bool fresh, uid_t trusted, char *error_r, size_t size);
/* The path `handler` names; the caller frees it. NULL when out of memory. */
char *plugin_path(const char *handler, const char *plugin_dir);
/* True when the file at plugin->path is no longer the one loaded. */
bool plugin_changed(const struct plugin *plugin);
struct plugin *plugin_ref(struct plugin *plugin);
/* Drops a reference; the last one unloads the plugin. */
void plugin_close(struct plugin *plugin);

#endif /* SS_DAEMON_PLUGIN_H */
