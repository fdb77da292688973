/*
 * plugin.h - loading handler plugins (not the installed plugin API, which
 * is <sockserv/plugin.h>).
 */
#ifndef SS_DAEMON_PLUGIN_H
#define SS_DAEMON_PLUGIN_H

#include <sockserv/plugin.h>

struct plugin {
	char *path;
	void *dl;
	/* The plugin's descriptor; members past its `size` are NULL here. */
	struct ss_handler handler;
};

/*
 * Opens `handler`: a path when it holds a '/', else plugin_dir/NAME.so.
 * Logs "cannot load plugin PATH: REASON" and returns NULL on failure.
 */
struct plugin *plugin_open(const char *handler, const char *plugin_dir);
void plugin_close(struct plugin *plugin);

#endif /* SS_DAEMON_PLUGIN_H */
