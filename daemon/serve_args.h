/*
 * serve_args.h - `sockservd --serve TRANSPORT:ADDRESS PLUGIN`: one server
 * from the command line, written as the text of a configuration, so that
 * the configuration's own checks and defaults apply to it unchanged.
 */
#ifndef SS_SERVE_ARGS_H
#define SS_SERVE_ARGS_H

#include <stddef.h>

/* What the problems of a --serve configuration are reported as. */
#define SERVE_CONF_NAME	"sockservd: --serve"

struct serve_args {
	const char *endpoint;		/* TRANSPORT:ADDRESS */
	const char *plugin;		/* a path to a .so, or a plugin's name */
	const char *concurrency;	/* NULL: the configuration's default */
	const char *workers;		/* NULL: likewise */
	const char **options;		/* "KEY=VALUE" each */
	size_t noptions;
};

struct conf;
struct daemon;

/*
 * Loads the configuration of the arguments as conf_load_text does, or
 * returns -1 after printing on stderr why the arguments cannot make one
 * (conf->errors is empty then). conf_free() is needed in both cases.
 */
int serve_conf_load(struct conf *conf, const struct serve_args *a,
    const char *default_plugin_dir);

/* SIGHUP under --serve: there is no file to read again. */
void serve_reload(struct daemon *d);

#endif /* SS_SERVE_ARGS_H */
