/*
 * main.c - the life of sockservd, in order: options, configuration, the
 * -t exit, plugins, sockets, init, serving, teardown.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "installdirs.h"
#include "conf.h"
#include "crash.h"
#include "activation.h"
#include "control.h"
#include "daemon.h"
#include "reload.h"
#include "log.h"
#include "pidfile.h"
#include "process.h"
#include "serve_args.h"

#define EXIT_RUNTIME	1
#define EXIT_CONFIG	2

/* Long options without a short one. */
enum {
	OPT_SERVE = 256, OPT_CONCURRENCY, OPT_WORKERS, OPT_OPTION
};

struct options {
	const char *config;
	const char *log_level;
	const char *pid_file;
	bool test;
	bool foreground;
	bool config_given;	/* -f */
	bool serving;		/* --serve: serve.* instead of a file */
	struct serve_args serve;
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: sockservd [-f FILE] [-t] [-F] [-p PIDFILE] [-l LEVEL] "
	    "[-V] [-h]\n"
	    "       sockservd --serve TRANSPORT:ADDRESS PLUGIN "
	    "[--concurrency MODEL]\n"
	    "                 [--workers N] [--option KEY=VALUE ...] "
	    "[-l LEVEL]\n"
	    "  -f, --config FILE     config file (default %s)\n"
	    "  -t, --test-config     check the config, load and init every "
	    "plugin, exit\n"
	    "  -F, --foreground      do not detach (the default under "
	    "systemd)\n"
	    "  -p, --pid-file FILE   write the pid there (overrides "
	    "daemon.pid_file)\n"
	    "  -l, --log-level LEVEL error|warning|notice|info|debug\n"
	    "  -V, --version         print the version and exit\n"
	    "  -h, --help            print this help and exit\n"
	    "  --serve TRANSPORT:ADDRESS PLUGIN\n"
	    "                        serve one plugin without a config file, in "
	    "the\n"
	    "                        foreground: tcp:HOST:PORT, udp:HOST:PORT, "
	    "unix:PATH,\n"
	    "                        unix-dgram:PATH; PLUGIN a path to a .so "
	    "or a name\n"
	    "  --concurrency MODEL   with --serve: sync|threading|forking\n"
	    "  --workers N           with --serve: N pre-spawned workers\n"
	    "  --option KEY=VALUE    with --serve: a plugin option "
	    "(repeatable)\n", SS_CONFFILE);
}

/* --serve's own checks, once every option is known. */
static int
options_check_serve(struct options *o, int argc, char **argv)
{
	const char *needs = o->serve.concurrency != NULL ? "--concurrency" :
	    o->serve.workers != NULL ? "--workers" : o->serve.noptions > 0 ?
	    "--option" : NULL;

	if (!o->serving) {
		if (needs == NULL)
			return -1;
		fprintf(stderr, "sockservd: %s needs --serve\n", needs);
		return EXIT_CONFIG;
	}
	if (o->config_given) {
		fprintf(stderr, "sockservd: --serve and -f exclude each other "
		    "(--serve serves without a config file)\n");
		return EXIT_CONFIG;
	}
	if (optind >= argc) {
		fprintf(stderr, "sockservd: --serve needs a PLUGIN after "
		    "TRANSPORT:ADDRESS (a path to a .so, or a plugin's "
		    "name)\n");
		return EXIT_CONFIG;
	}
	o->serve.plugin = argv[optind++];
	o->foreground = true;
	return -1;
}

/* Returns -1 to continue, or the exit status. */
static int
options_parse(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "test-config", no_argument, NULL, 't' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "serve", required_argument, NULL, OPT_SERVE },
		{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "option", required_argument, NULL, OPT_OPTION },
		{ NULL, 0, NULL, 0 }
	};
	int c, rc;

	o->config = SS_CONFFILE;
	while ((c = getopt_long(argc, argv, "f:tFp:l:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->config = optarg; o->config_given = true; break;
		case 't': o->test = true; break;
		case 'F': o->foreground = true; break;
		case 'p': o->pid_file = optarg; break;
		case 'l': o->log_level = optarg; break;
		case 'V': printf("sockservd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		case OPT_SERVE: o->serve.endpoint = optarg; o->serving = true;
			break;
		case OPT_CONCURRENCY: o->serve.concurrency = optarg; break;
		case OPT_WORKERS: o->serve.workers = optarg; break;
		case OPT_OPTION:
			o->serve.options[o->serve.noptions++] = optarg;
			break;
		default: usage(stderr); return EXIT_CONFIG;
		}
	}
	if ((rc = options_check_serve(o, argc, argv)) >= 0)
		return rc;
	if (optind < argc) {
		fprintf(stderr, "sockservd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (o->log_level != NULL && conf_log_level(o->log_level) < 0) {
		fprintf(stderr, "sockservd: unknown log level '%s' (expected "
		    "error, warning, notice, info or debug)\n", o->log_level);
		return EXIT_CONFIG;
	}
	return -1;
}

/* $SOCKSERV_PLUGIN_DIR, else the directory plugins are installed in. */
static const char *
default_plugin_dir(void)
{
	const char *dir = getenv("SOCKSERV_PLUGIN_DIR");

	return dir != NULL && *dir != '\0' ? dir : SS_PLUGINDIR;
}

static int
conf_read_reporting(struct conf *conf, const struct options *o,
    const char *plugin_dir)
{
	size_t i;
	int rc = o->serving ? serve_conf_load(conf, &o->serve, plugin_dir) :
	    conf_load(conf, o->config, plugin_dir);

	if (rc == 0) {
		log_set_level(o->log_level ? conf_log_level(o->log_level) :
		    conf->log_level);
		if (o->pid_file != NULL)
			conf->pid_file = o->pid_file;
		return 0;
	}
	for (i = 0; i < conf->nerrors; i++)
		fprintf(stderr, "%s\n", conf->errors[i]);
	if (conf->nerrors == 0 && !o->serving)
		fprintf(stderr, "%s: cannot be read\n", o->config);
	return -1;
}

/*
 * -t: everything a start would check, short of binding the sockets. The
 * plugins that loaded are initialised even when others did not, so that
 * every problem is reported at once.
 */
static int
config_test(struct daemon *d, const struct options *o, int loaded)
{
	int rc = daemon_init_plugins(d);

	daemon_fini_plugins(d);
	if (rc < 0 || loaded < 0)
		return EXIT_CONFIG;
	if (o->serving)
		fprintf(stderr, "sockservd: --serve test is successful\n");
	else
		fprintf(stderr, "sockservd: configuration file %s test is "
		    "successful\n", o->config);
	return 0;
}

/* A relative path stays where it was meant once detached to "/". */
static const char *
absolute_path(const char *path, char *buf, size_t size)
{
	char cwd[2048];

	if (path == NULL || path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return path;
	if ((size_t)snprintf(buf, size, "%s/%s", cwd, path) >= size)
		return path;
	return buf;
}

static int
drop_privileges(const struct conf *conf)
{
	if (conf->user != NULL)
		return process_drop_privileges(conf->user, conf->uid,
		    conf->gid);
	if (geteuid() == 0)
		log_warning("running as root: set daemon.user to drop "
		    "privileges once the sockets are bound");
	return 0;
}

/*
 * Sockets are bound before detaching, so a busy port still fails on the
 * terminal; plugins are initialised after it (their threads would not
 * survive the fork) and before privileges drop.
 */
static int
serve(struct daemon *d, const struct options *o)
{
	const struct conf *conf = d->conf;
	bool detach = !o->foreground && !log_under_systemd();
	char pidbuf[4096];
	const char *pid_file = absolute_path(conf->pid_file, pidbuf,
	    sizeof(pidbuf));
	int report = -1, rc = 0, failure = EXIT_RUNTIME;

	d->reload = o->serving ? serve_reload : daemon_reload; /* SIGHUP */

	if ((pid_file != NULL && pidfile_check(pid_file) < 0) ||
	    daemon_signals_init(d) < 0 || activation_adopt(d) < 0 ||
	    daemon_open(d) < 0)
		return EXIT_RUNTIME;
	/* Owned by the user the daemon becomes, so it can remove it. */
	if (conf->control != NULL && control_open(d, conf->control, conf->uid,
	    conf->gid) < 0)
		return EXIT_RUNTIME;
	/* Before detaching, so a log target that fails says so. */
	if (log_set_target((enum log_target)conf->log_target, detach) < 0 ||
	    (detach && (report = process_detach()) < 0)) {
		control_close(d);
		return EXIT_RUNTIME;
	}
	if (pid_file != NULL && pidfile_write(pid_file) < 0)
		goto fail;
	/* A plugin that refuses its options is a configuration error. */
	if (crash_init() < 0)
		goto fail;
	if (daemon_init_plugins(d) < 0)
		failure = EXIT_CONFIG;
	if (failure == EXIT_CONFIG || drop_privileges(conf) < 0) {
		daemon_fini_plugins(d);
		goto fail;
	}
	if (daemon_start(d) < 0) {
		/* The servers already started stop as on SIGTERM. */
		raise(SIGTERM);
		rc = EXIT_RUNTIME;
	} else {
		log_notice("sockservd %s ready", PACKAGE_VERSION);
		daemon_notify_ready(d);
	}
	process_report(report, rc);
	daemon_run(d);
	control_close(d);
	daemon_fini_plugins(d);
	if (pid_file != NULL)
		pidfile_remove(pid_file);
	log_notice("stopped%s", d->abandoned ? ", abandoning what still runs" :
	    "");
	/*
	 * Threads still in abandoned handlers use the servers and their
	 * plugins: nothing is freed or unmapped under them (no exit
	 * handlers, no destructors of the plugins).
	 */
	if (d->abandoned)
		_exit(rc);
	return rc;
fail:
	control_close(d);
	process_report(report, failure);
	if (pid_file != NULL)
		pidfile_remove(pid_file);
	return failure;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	char config_path[4096];
	const char *plugin_dir;
	struct conf *conf;
	struct daemon d;
	int rc;

	/* Room for every --option there could be. */
	o.serve.options = calloc((size_t)argc, sizeof(*o.serve.options));
	if (o.serve.options == NULL)
		return EXIT_RUNTIME;
	rc = options_parse(&o, argc, argv);
	if (rc >= 0)
		goto out;
	/* A reload re-reads it after detaching has moved us to "/". */
	o.config = absolute_path(o.config, config_path, sizeof(config_path));
	plugin_dir = default_plugin_dir();
	conf = calloc(1, sizeof(*conf));
	if (conf == NULL || conf_read_reporting(conf, &o, plugin_dir) < 0) {
		if (conf != NULL)
			conf_free(conf);
		free(conf);
		rc = EXIT_CONFIG;
		goto out;
	}
	if (daemon_create(&d, conf, plugin_dir, o.log_level ?
	    conf_log_level(o.log_level) : -1) < 0)
		rc = EXIT_RUNTIME;
	else if (o.test)
		rc = config_test(&d, &o, daemon_load_plugins(&d));
	else if (daemon_load_plugins(&d) < 0)
		rc = EXIT_CONFIG;
	else
		rc = serve(&d, &o);
	daemon_destroy(&d);
out:
	free(o.serve.options);
	return rc;
}
