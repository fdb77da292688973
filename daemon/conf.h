/*
 * conf.h - the configuration file, read and checked into plain structs.
 *
 * conf_load() reads the whole file and reports every problem it finds,
 * each as "FILE:LINE: what is wrong (what is expected)", so `sockservd -t`
 * can list them all at once.
 */
#ifndef SS_CONF_H
#define SS_CONF_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <libconfig.h>

#include "acl.h"

/*
 * A transport as the configuration knows it: by name, and by what its
 * settings must be checked against. Its operations are the server's
 * business (transport_find).
 */
struct conf_transport {
	const char *name;
	bool socket_file;	/* listen is a socket file's path */
	bool proxy;		/* may read a PROXY header first */
};

struct conf_server {
	const char *name;
	const char *transport_name;
	const struct conf_transport *transport;	/* NULL until checked */
	const char *listen;			/* as written */
	struct sockaddr_storage addr;		/* parsed listen address */
	socklen_t addrlen;
	const char *handler;			/* plugin name or path */
	const config_setting_t *options;	/* NULL when absent */
	const char *concurrency_name;		/* sync, threading, forking */
	int workers;
	int max_children;
	int request_queue_size;
	double timeout;
	double request_timeout;
	double max_request_time;		/* whole request; 0: none */
	size_t max_line;
	size_t max_packet_size;
	size_t thread_stack_size;		/* threading: each thread's stack */
	bool tcp_nodelay;
	bool allow_reuse_address;
	bool allow_reuse_port;
	bool block_on_close;
	const char *socket_mode_text;		/* unix transports */
	const char *socket_owner;
	const char *socket_group;
	mode_t socket_mode;
	uid_t socket_uid;			/* (uid_t)-1: unchanged */
	gid_t socket_gid;
	int max_per_source;			/* 0: no cap */
	bool access_log;			/* the per-request info line */
	const config_setting_t *access;		/* the group as written */
	struct acl acl;
	bool proxy_protocol;			/* tcp: a PROXY header first */
	const config_setting_t *proxy_trusted_list;	/* as written */
	struct acl proxy_trusted;		/* allow: who may send one */
	int line;				/* where the server is declared */
	/* Where plugin errors are reported (options_line 0: no options). */
	const char *handler_file;
	int handler_line;
	int options_line;
};

struct conf {
	char *path;		/* or the name of a text (conf_load_text) */
	bool text;		/* read from a text: no lines to report */
	config_t cfg;		/* kept: strings and options point into it */
	bool cfg_loaded;
	const char *plugin_dir;
	int log_level;		/* syslog priority */
	int log_target;		/* enum log_target */
	const char *user;	/* drop to this user after start-up */
	const char *group;
	uid_t uid;		/* (uid_t)-1: no user */
	gid_t gid;		/* (gid_t)-1: the user's primary group */
	const char *pid_file;
	const char *control;	/* the control socket's path, or NULL */
	double shutdown_timeout;
	struct conf_server *servers;
	size_t nservers;
	char **errors;		/* "FILE:LINE: message", one per problem */
	size_t nerrors;
};

/* Defaults that are not obvious from SPEC.md, in one place. */
#define CONF_DEFAULT_SHUTDOWN_TIMEOUT	10.0
#define CONF_DEFAULT_MAX_CHILDREN	40
#define CONF_DEFAULT_REQUEST_TIMEOUT	30.0
#define CONF_DEFAULT_MAX_LINE		65536
#define CONF_DEFAULT_MAX_PACKET_SIZE	65536
/*
 * Small enough that glibc keeps a finished thread's stack for the next
 * (it caches 40 MiB of them): creating a thread then maps nothing.
 */
#define CONF_DEFAULT_THREAD_STACK_SIZE	(512 * 1024)

/*
 * Reads and checks `path`. `default_plugin_dir` is used when the file has
 * no daemon.plugin_dir. Returns 0, or -1 with conf->errors filled (also
 * when the file cannot be read). conf_free() is needed in both cases.
 */
int conf_load(struct conf *conf, const char *path,
    const char *default_plugin_dir);
/*
 * Like conf_load, from a text built in memory (sockservd --serve). Its
 * lines mean nothing to whoever gave it, so problems are reported as
 * "NAME: what is wrong", and plugin problems with line 0 (conf_where).
 */
int conf_load_text(struct conf *conf, const char *text, const char *name,
    const char *default_plugin_dir);
void conf_free(struct conf *conf);

/* Room for conf_where's "FILE:LINE". */
#define CONF_WHERE_SIZE		(PATH_MAX + 16)

/*
 * "FILE:LINE" into buf for a message, or "FILE" alone when line is 0 (a
 * text of conf_load_text has no lines); returns buf.
 */
static inline const char *
conf_where(char *buf, size_t size, const char *file, int line)
{
	if (line > 0)
		snprintf(buf, size, "%s:%d", file, line);
	else
		snprintf(buf, size, "%s", file);
	return buf;
}

/* "error" ... "debug" to a syslog priority; -1 when unknown. */
int conf_log_level(const char *name);

#endif /* SS_CONF_H */
