/*
 * conf.c - reads the libconfig file and checks every setting against a
 * table of known keys, collecting every problem with its line.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>

#include "addr.h"
#include "conf.h"
#include "log.h"

enum conf_kind {
	K_STRING,	/* const char * */
	K_BOOL,		/* bool */
	K_INT,		/* int */
	K_SIZE,		/* size_t */
	K_SECONDS,	/* double; integers accepted */
	K_GROUP,	/* const config_setting_t * */
	K_LIST,		/* const config_setting_t *, [ ... ] or ( ... ) */
	K_PENDING,	/* a key of the specification this version lacks */
};

struct conf_key {
	const char *name;
	enum conf_kind kind;
	size_t offset;
	double min, max;
};

#define NOFIELD ((size_t)-1)	/* checked, stored by its own code */
#define SRV(field) offsetof(struct conf_server, field)
#define DMN(field) offsetof(struct conf, field)

static const struct conf_key server_keys[] = {
	{ "name",		K_STRING,  SRV(name), 0, 0 },
	{ "transport",		K_STRING,  SRV(transport_name), 0, 0 },
	{ "listen",		K_STRING,  SRV(listen), 0, 0 },
	{ "handler",		K_STRING,  SRV(handler), 0, 0 },
	{ "options",		K_GROUP,   SRV(options), 0, 0 },
	{ "concurrency",	K_STRING,  SRV(concurrency_name), 0, 0 },
	{ "workers",		K_INT,     SRV(workers), 0, 65535 },
	{ "max_children",	K_INT,     SRV(max_children), 1, 65535 },
	{ "request_queue_size",	K_INT,     SRV(request_queue_size), 1, 65535 },
	{ "timeout",		K_SECONDS, SRV(timeout), 0, 86400 },
	{ "request_timeout",	K_SECONDS, SRV(request_timeout), 0.001, 86400 },
	{ "max_request_time",	K_SECONDS, SRV(max_request_time), 0, 86400 },
	{ "max_line",		K_SIZE,    SRV(max_line), 2, 16 << 20 },
	{ "max_packet_size",	K_SIZE,    SRV(max_packet_size), 1, 16 << 20 },
	{ "thread_stack_size",	K_SIZE,    SRV(thread_stack_size), 64 << 10,
	    1 << 30 },
	{ "tcp_nodelay",	K_BOOL,    SRV(tcp_nodelay), 0, 0 },
	{ "allow_reuse_address", K_BOOL,   SRV(allow_reuse_address), 0, 0 },
	{ "allow_reuse_port",	K_BOOL,    SRV(allow_reuse_port), 0, 0 },
	{ "block_on_close",	K_BOOL,    SRV(block_on_close), 0, 0 },
	{ "socket_mode",	K_STRING,  SRV(socket_mode_text), 0, 0 },
	{ "socket_owner",	K_STRING,  SRV(socket_owner), 0, 0 },
	{ "socket_group",	K_STRING,  SRV(socket_group), 0, 0 },
	{ "access",		K_GROUP,   SRV(access), 0, 0 },
	{ "max_per_source",	K_INT,     SRV(max_per_source), 0, 65535 },
	{ "access_log",		K_BOOL,    SRV(access_log), 0, 0 },
	{ "proxy_protocol",	K_BOOL,    SRV(proxy_protocol), 0, 0 },
	{ "proxy_trusted",	K_LIST,    SRV(proxy_trusted_list), 0, 0 },
	{ NULL, K_PENDING, 0, 0, 0 }
};

static const struct conf_key daemon_keys[] = {
	{ "plugin_dir",		K_STRING,  DMN(plugin_dir), 0, 0 },
	{ "log_level",		K_STRING,  NOFIELD, 0, 0 },
	{ "shutdown_timeout",	K_SECONDS, DMN(shutdown_timeout), 0, 3600 },
	{ "user",		K_STRING,  DMN(user), 0, 0 },
	{ "group",		K_STRING,  DMN(group), 0, 0 },
	{ "pid_file",		K_STRING,  DMN(pid_file), 0, 0 },
	{ "log_target",		K_STRING,  NOFIELD, 0, 0 },
	{ "control",		K_STRING,  DMN(control), 0, 0 },
	{ NULL, K_PENDING, 0, 0, 0 }
};

static const char *const kind_names[] = {
	[K_STRING] = "a string", [K_BOOL] = "true or false",
	[K_INT] = "an integer", [K_SIZE] = "an integer",
	[K_SECONDS] = "a number of seconds", [K_GROUP] = "a group { ... }",
	[K_LIST] = "a list [ ... ]",
	[K_PENDING] = "",
};

static void conf_error(struct conf *conf, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_error(struct conf *conf, int line, const char *fmt, ...)
{
	char *msg = NULL, *full = NULL, **grown;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (conf->text)
		line = 0;
	if (msg == NULL || (line > 0 ? asprintf(&full, "%s:%d: %s",
	    conf->path, line, msg) : asprintf(&full, "%s: %s", conf->path,
	    msg)) < 0)
		full = NULL;
	free(msg);
	grown = realloc(conf->errors, (conf->nerrors + 1) * sizeof(*grown));
	if (full == NULL || grown == NULL) {
		free(full);
		if (grown != NULL)
			conf->errors = grown;
		return;
	}
	conf->errors = grown;
	conf->errors[conf->nerrors++] = full;
}

static int
line_of(const config_setting_t *s)
{
	return config_setting_source_line(s);
}

int
conf_log_level(const char *name)
{
	static const struct { const char *name; int level; } levels[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(levels[i].name, name) == 0)
			return levels[i].level;
	return -1;
}

static const struct conf_key *
conf_key_find(const struct conf_key *keys, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

static bool
conf_type_ok(enum conf_kind kind, int type)
{
	switch (kind) {
	case K_STRING:
		return type == CONFIG_TYPE_STRING;
	case K_BOOL:
		return type == CONFIG_TYPE_BOOL;
	case K_INT:
	case K_SIZE:
		return type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
	case K_SECONDS:
		return type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64 ||
		    type == CONFIG_TYPE_FLOAT;
	case K_GROUP:
		return type == CONFIG_TYPE_GROUP;
	case K_LIST:
		return type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST;
	default:
		return false;
	}
}

static double
conf_number(const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		return config_setting_get_float(s);
	return (double)config_setting_get_int64(s);
}

/* Stores one setting into base + key->offset after checking it. */
static void
conf_apply(struct conf *conf, const struct conf_key *key,
    const config_setting_t *s, void *base)
{
	char *field;
	double v;

	if (!conf_type_ok(key->kind, config_setting_type(s))) {
		conf_error(conf, line_of(s), "'%s' has the wrong type "
		    "(expected %s)", key->name, kind_names[key->kind]);
		return;
	}
	if (key->offset == NOFIELD)
		return;
	field = (char *)base + key->offset;
	switch (key->kind) {
	case K_STRING:
		*(const char **)field = config_setting_get_string(s);
		return;
	case K_BOOL:
		*(bool *)field = config_setting_get_bool(s) != 0;
		return;
	case K_GROUP:
	case K_LIST:
		*(const config_setting_t **)field = s;
		return;
	default:
		break;
	}
	v = conf_number(s);
	if (v < key->min || v > key->max) {
		conf_error(conf, line_of(s), "'%s' is out of range (expected "
		    "%s%g to %g)", key->name, key->kind == K_SECONDS ?
		    "seconds from " : "", key->min, key->max);
		return;
	}
	if (key->kind == K_INT)
		*(int *)field = (int)v;
	else if (key->kind == K_SIZE)
		*(size_t *)field = (size_t)v;
	else
		*(double *)field = v;
}

/* Applies every member of `group`, reporting unknown and pending keys. */
static void
conf_apply_group(struct conf *conf, const config_setting_t *group,
    const struct conf_key *keys, const char *where, void *base)
{
	const config_setting_t *s;
	const struct conf_key *key;
	int i;

	for (i = 0; (s = config_setting_get_elem(group, i)) != NULL; i++) {
		const char *name = config_setting_name(s);

		key = conf_key_find(keys, name);
		if (key == NULL)
			conf_error(conf, line_of(s), "unknown key '%s' in %s "
			    "(expected a key of sockserv.conf(5))", name, where);
		else if (key->kind == K_PENDING)
			conf_error(conf, line_of(s), "'%s' is not supported "
			    "by this version of sockservd (remove it)", name);
		else
			conf_apply(conf, key, s, base);
	}
}

static int
member_line(const config_setting_t *group, const char *name)
{
	const config_setting_t *s = config_setting_get_member(group, name);

	return s != NULL ? line_of(s) : line_of(group);
}

static int
conf_id(const char *text, bool user, unsigned *id_r)
{
	char buf[4096], *end;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (*text != '\0' && *end == '\0' && errno == 0 && v < (unsigned)-1) {
		*id_r = (unsigned)v;
		return 0;
	}
	if (user && getpwnam_r(text, &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL) {
		*id_r = pwp->pw_uid;
		return 0;
	}
	if (!user && getgrnam_r(text, &gr, buf, sizeof(buf), &grp) == 0 &&
	    grp != NULL) {
		*id_r = grp->gr_gid;
		return 0;
	}
	return -1;
}

static void
conf_daemon_log(struct conf *conf, const config_setting_t *group)
{
	const config_setting_t *s;
	enum log_target target;
	const char *text;

	s = config_setting_get_member(group, "log_level");
	if (s != NULL && (text = config_setting_get_string(s)) != NULL) {
		conf->log_level = conf_log_level(text);
		if (conf->log_level < 0) {
			conf_error(conf, line_of(s), "unknown log_level '%s' "
			    "(expected error, warning, notice, info or debug)",
			    text);
			conf->log_level = LOG_INFO;
		}
	}
	s = config_setting_get_member(group, "log_target");
	if (s != NULL && (text = config_setting_get_string(s)) != NULL) {
		if (log_target_parse(text, &target) < 0)
			conf_error(conf, line_of(s), "unknown log_target '%s' "
			    "(expected auto, stderr or syslog)", text);
		else
			conf->log_target = (int)target;
	}
}

/* Resolves a user or group named by `key`; reports an unknown one. */
static void
conf_id_setting(struct conf *conf, const config_setting_t *group,
    const char *key, const char *text, bool user, unsigned *id_r)
{
	if (text != NULL && conf_id(text, user, id_r) < 0)
		conf_error(conf, member_line(group, key), "unknown %s '%s' "
		    "(expected a %s name or number)", user ? "user" : "group",
		    text, user ? "user" : "group");
}

/* user and group become ids now, so -t reports unknown ones. */
static void
conf_daemon_ids(struct conf *conf, const config_setting_t *group)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];

	conf_id_setting(conf, group, "user", conf->user, true, &conf->uid);
	/* The user's primary group, unless `group` names another. */
	if (conf->uid != (uid_t)-1 && getpwuid_r(conf->uid, &pw, buf,
	    sizeof(buf), &pwp) == 0 && pwp != NULL)
		conf->gid = pwp->pw_gid;
	conf_id_setting(conf, group, "group", conf->group, false, &conf->gid);
	if (conf->uid != (uid_t)-1 && conf->gid == (gid_t)-1 &&
	    conf->group == NULL)
		conf_error(conf, member_line(group, "user"), "user '%s' has no "
		    "primary group (expected group = \"...\"; as well)",
		    conf->user);
	if (conf->group != NULL && conf->user == NULL)
		conf_error(conf, member_line(group, "group"), "'group' "
		    "without 'user' (expected user = \"...\"; as well)");
}

/* The control socket's path must fit a unix socket address. */
static void
conf_daemon_control(struct conf *conf, const config_setting_t *group)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (conf->control == NULL)
		return;
	if (conf->control[0] == '\0')
		conf_error(conf, member_line(group, "control"), "'control' is "
		    "empty (expected the path of the control socket)");
	else if (strlen(conf->control) > max)
		conf_error(conf, member_line(group, "control"), "'control' is "
		    "%zu bytes long (expected a path of at most %zu bytes, as "
		    "a unix socket's)", strlen(conf->control), max);
}

static void
conf_daemon(struct conf *conf, const config_setting_t *group)
{
	if (config_setting_type(group) != CONFIG_TYPE_GROUP) {
		conf_error(conf, line_of(group), "'daemon' has the wrong type "
		    "(expected a group { ... })");
		return;
	}
	conf_apply_group(conf, group, daemon_keys, "daemon", conf);
	conf_daemon_log(conf, group);
	conf_daemon_ids(conf, group);
	conf_daemon_control(conf, group);
}

static void
conf_server_defaults(struct conf_server *srv, int line)
{
	memset(srv, 0, sizeof(*srv));
	srv->concurrency_name = "threading";
	srv->max_children = CONF_DEFAULT_MAX_CHILDREN;
	srv->request_queue_size = SOMAXCONN;
	srv->request_timeout = CONF_DEFAULT_REQUEST_TIMEOUT;
	srv->max_line = CONF_DEFAULT_MAX_LINE;
	srv->max_packet_size = CONF_DEFAULT_MAX_PACKET_SIZE;
	srv->thread_stack_size = CONF_DEFAULT_THREAD_STACK_SIZE;
	srv->tcp_nodelay = true;
	srv->allow_reuse_address = true;
	srv->block_on_close = true;
	srv->access_log = true;
	srv->socket_mode = 0660;
	srv->socket_uid = (uid_t)-1;
	srv->socket_gid = (gid_t)-1;
	srv->line = line;
}

static bool
conf_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64)
		return false;
	for (; *name != '\0'; name++)
		if (!isalnum((unsigned char)*name) && strchr("_.-", *name) ==
		    NULL)
			return false;
	return true;
}

static const struct conf_transport conf_transports[] = {
	{ "tcp", false, true },
	{ "udp", false, false },
	{ "unix", true, false },
	{ "unix-dgram", true, false },
};

/* Models, and whether they come as pools (workers > 0). */
static const struct {
	const char *name;
	bool pool;
} conf_models[] = {
	{ "sync", false }, { "threading", true }, { "forking", true },
};

static const struct conf_transport *
conf_transport_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(conf_transports) / sizeof(conf_transports[0]);
	    i++)
		if (strcmp(conf_transports[i].name, name) == 0)
			return &conf_transports[i];
	return NULL;
}

/* A value that failed its type check stays NULL and is skipped here. */
static void
conf_server_transport(struct conf *conf, struct conf_server *srv,
    const config_setting_t *group)
{
	const char *error;
	int r;

	if (srv->transport_name == NULL)
		return;
	srv->transport = conf_transport_find(srv->transport_name);
	if (srv->transport == NULL) {
		conf_error(conf, member_line(group, "transport"), "unknown "
		    "transport '%s' (expected tcp, udp, unix or unix-dgram)",
		    srv->transport_name);
		return;
	}
	if (srv->listen == NULL)
		return;
	r = srv->transport->socket_file ?
	    addr_parse_unix(srv->listen, &srv->addr, &srv->addrlen, &error) :
	    addr_parse_inet(srv->listen, &srv->addr, &srv->addrlen, &error);
	if (r < 0) {
		conf_error(conf, member_line(group, "listen"), "bad listen "
		    "address '%s' (%s)", srv->listen, error);
		srv->addrlen = 0;
	}
}

static void
conf_server_model(struct conf *conf, struct conf_server *srv,
    const config_setting_t *group)
{
	int line = member_line(group, "workers");
	size_t i;

	for (i = 0; i < sizeof(conf_models) / sizeof(conf_models[0]); i++)
		if (strcmp(conf_models[i].name, srv->concurrency_name) == 0)
			break;
	if (i == sizeof(conf_models) / sizeof(conf_models[0]))
		conf_error(conf, member_line(group, "concurrency"), "unknown "
		    "concurrency '%s' (expected sync, threading or forking)",
		    srv->concurrency_name);
	else if (srv->workers > 0 && !conf_models[i].pool)
		conf_error(conf, line, "workers needs concurrency \"threading\" "
		    "or \"forking\" (expected workers = 0 with \"%s\")",
		    srv->concurrency_name);
	else if (srv->workers > srv->max_children)
		conf_error(conf, line, "workers (%d) exceeds max_children (%d) "
		    "(expected at most max_children)", srv->workers,
		    srv->max_children);
}

/* socket_mode, socket_owner and socket_group, for unix transports only. */
static void
conf_server_socket_file(struct conf *conf, struct conf_server *srv,
    const config_setting_t *group)
{
	static const char *const keys[] = {
		"socket_mode", "socket_owner", "socket_group" };
	bool is_unix = srv->transport != NULL && srv->transport->socket_file;
	unsigned long mode;
	char *end;
	size_t i;

	for (i = 0; !is_unix && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (config_setting_get_member(group, keys[i]) != NULL)
			conf_error(conf, member_line(group, keys[i]), "'%s' "
			    "applies to unix and unix-dgram servers only "
			    "(expected no %s with transport \"%s\")", keys[i],
			    keys[i], srv->transport_name);
	if (!is_unix)
		return;
	if (srv->socket_mode_text != NULL) {
		errno = 0;
		mode = strtoul(srv->socket_mode_text, &end, 8);
		if (*srv->socket_mode_text == '\0' || *end != '\0' ||
		    errno != 0 || mode > 07777)
			conf_error(conf, member_line(group, "socket_mode"),
			    "bad socket_mode '%s' (expected an octal mode such "
			    "as \"0660\")", srv->socket_mode_text);
		else
			srv->socket_mode = (mode_t)mode;
	}
	conf_id_setting(conf, group, "socket_owner", srv->socket_owner, true,
	    &srv->socket_uid);
	conf_id_setting(conf, group, "socket_group", srv->socket_group, false,
	    &srv->socket_gid);
}

/* One of access.allow / access.deny: an array or list of CIDR strings. */
static void
conf_acl_list(struct conf *conf, const config_setting_t *list,
    struct acl_net **nets_r, size_t *n_r)
{
	const config_setting_t *e;
	const char *error;
	int i, n;

	if (config_setting_type(list) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(list) != CONFIG_TYPE_LIST) {
		conf_error(conf, line_of(list), "'%s' has the wrong type "
		    "(expected [ \"CIDR\", ... ])", config_setting_name(list));
		return;
	}
	n = config_setting_length(list);
	*nets_r = calloc(n > 0 ? (size_t)n : 1, sizeof(**nets_r));
	if (*nets_r == NULL) {
		conf_error(conf, line_of(list), "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		const char *text;

		e = config_setting_get_elem(list, (unsigned)i);
		text = config_setting_get_string(e);
		if (text == NULL) {
			conf_error(conf, line_of(list), "'%s' holds a "
			    "non-string (expected [ \"CIDR\", ... ])",
			    config_setting_name(list));
			continue;
		}
		if (acl_parse(text, &(*nets_r)[*n_r], &error) < 0) {
			conf_error(conf, line_of(e) ? line_of(e) :
			    line_of(list), "bad address '%s' in %s (%s)",
			    text, config_setting_name(list), error);
			continue;
		}
		(*n_r)++;
	}
}

/* access = { allow = [ ... ]; deny = [ ... ]; } */
static void
conf_server_access(struct conf *conf, struct conf_server *srv)
{
	const config_setting_t *s;
	int i;

	if (srv->access == NULL)
		return;
	for (i = 0; (s = config_setting_get_elem(srv->access, i)) != NULL;
	    i++) {
		const char *name = config_setting_name(s);

		if (strcmp(name, "allow") == 0)
			conf_acl_list(conf, s, &srv->acl.allow,
			    &srv->acl.nallow);
		else if (strcmp(name, "deny") == 0)
			conf_acl_list(conf, s, &srv->acl.deny,
			    &srv->acl.ndeny);
		else
			conf_error(conf, line_of(s), "unknown key '%s' in "
			    "access (expected allow or deny)", name);
	}
}

/* proxy_protocol = true; proxy_trusted = [ "CIDR", ... ]; tcp only. */
static void
conf_server_proxy(struct conf *conf, struct conf_server *srv,
    const config_setting_t *group)
{
	if (srv->proxy_protocol && srv->transport != NULL &&
	    !srv->transport->proxy)
		conf_error(conf, member_line(group, "proxy_protocol"),
		    "proxy_protocol needs transport \"tcp\" (expected "
		    "proxy_protocol = false with \"%s\")", srv->transport->name);
	if (srv->proxy_trusted_list == NULL)
		return;
	if (!srv->proxy_protocol)
		conf_error(conf, member_line(group, "proxy_trusted"),
		    "proxy_trusted needs proxy_protocol (expected "
		    "proxy_protocol = true;)");
	else if (config_setting_length(srv->proxy_trusted_list) == 0)
		conf_error(conf, member_line(group, "proxy_trusted"),
		    "proxy_trusted is empty (expected the proxies' addresses, "
		    "or no proxy_trusted to take a header from any peer)");
	conf_acl_list(conf, srv->proxy_trusted_list, &srv->proxy_trusted.allow,
	    &srv->proxy_trusted.nallow);
}

/* Resolves names into operations and parses the listen address. */
static void
conf_server_resolve(struct conf *conf, struct conf_server *srv,
    const config_setting_t *group)
{
	if (srv->name != NULL && !conf_name_ok(srv->name))
		conf_error(conf, member_line(group, "name"), "bad server name "
		    "'%s' (expected 1 to 64 letters, digits, '_', '.' or '-')",
		    srv->name);
	conf_server_transport(conf, srv, group);
	conf_server_model(conf, srv, group);
	conf_server_socket_file(conf, srv, group);
	conf_server_access(conf, srv);
	conf_server_proxy(conf, srv, group);
}

static void
conf_server_unique(struct conf *conf, size_t idx,
    const config_setting_t *group)
{
	const struct conf_server *srv = &conf->servers[idx];
	size_t i;

	for (i = 0; i < idx; i++) {
		const struct conf_server *o = &conf->servers[i];

		if (o->name != NULL && srv->name != NULL &&
		    strcmp(o->name, srv->name) == 0)
			conf_error(conf, member_line(group, "name"), "duplicate "
			    "server name '%s' (first declared on line %d)",
			    srv->name, o->line);
		/* A socket file is one file, whatever its socket type. */
		if (srv->addrlen != 0 && o->transport != NULL &&
		    (o->transport == srv->transport ||
		    (o->transport->socket_file && srv->transport->socket_file)) &&
		    addr_equal((const struct sockaddr *)&o->addr,
		    o->addrlen, (const struct sockaddr *)&srv->addr, srv->addrlen))
			conf_error(conf, member_line(group, "listen"), "listen "
			    "address '%s' is already used by server '%s'",
			    srv->listen, o->name);
	}
}

/* The handler's file and line, for a plugin that fails to load or init. */
static void
conf_server_plugin_lines(struct conf *conf, struct conf_server *srv,
    const config_setting_t *group)
{
	const config_setting_t *s = config_setting_get_member(group, "handler");
	const char *file = s != NULL ? config_setting_source_file(s) : NULL;

	srv->handler_file = file != NULL ? file : conf->path;
	srv->handler_line = conf->text ? 0 : member_line(group, "handler");
	srv->options_line = srv->options != NULL && !conf->text ?
	    line_of(srv->options) : 0;
}

static void
conf_server(struct conf *conf, size_t idx, const config_setting_t *group)
{
	static const char *const required[] = {
		"name", "transport", "listen", "handler" };
	struct conf_server *srv = &conf->servers[idx];
	size_t i;

	conf_server_defaults(srv, line_of(group));
	if (config_setting_type(group) != CONFIG_TYPE_GROUP) {
		conf_error(conf, line_of(group), "servers must hold groups "
		    "(expected ( { name = ...; ... }, ... ))");
		return;
	}
	conf_apply_group(conf, group, server_keys, "server", srv);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (config_setting_get_member(group, required[i]) == NULL)
			conf_error(conf, line_of(group), "server has no '%s' "
			    "(expected %s = \"...\";)", required[i],
			    required[i]);
	conf_server_plugin_lines(conf, srv, group);
	conf_server_resolve(conf, srv, group);
	conf_server_unique(conf, idx, group);
}

static void
conf_servers(struct conf *conf, const config_setting_t *list)
{
	int n, i;

	if (list == NULL) {
		conf_error(conf, 1, "no servers declared (expected servers = "
		    "( { name = ...; ... } );)");
		return;
	}
	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		conf_error(conf, line_of(list), "'servers' has the wrong type "
		    "(expected a list ( { ... }, ... ))");
		return;
	}
	n = config_setting_length(list);
	if (n == 0) {
		conf_error(conf, line_of(list), "'servers' is empty (expected "
		    "at least one server)");
		return;
	}
	conf->servers = calloc((size_t)n, sizeof(*conf->servers));
	if (conf->servers == NULL) {
		conf_error(conf, line_of(list), "out of memory");
		return;
	}
	conf->nservers = (size_t)n;
	for (i = 0; i < n; i++)
		conf_server(conf, (size_t)i, config_setting_get_elem(list,
		    (unsigned)i));
}

static void
conf_root(struct conf *conf)
{
	const config_setting_t *root = config_root_setting(&conf->cfg), *s;
	int i;

	for (i = 0; (s = config_setting_get_elem(root, i)) != NULL; i++) {
		const char *name = config_setting_name(s);

		if (strcmp(name, "daemon") == 0)
			conf_daemon(conf, s);
		else if (strcmp(name, "servers") != 0)
			conf_error(conf, line_of(s), "unknown key '%s' (expected "
			    "daemon or servers)", name);
	}
	conf_servers(conf, config_setting_get_member(root, "servers"));
}

static void
conf_read(struct conf *conf, const char *text)
{
	char *copy, *dir;
	int ok;

	config_init(&conf->cfg);
	conf->cfg_loaded = true;
	if (text != NULL) {
		ok = config_read_string(&conf->cfg, text);
	} else {
		/* @include paths are relative to the including file. */
		copy = strdup(conf->path);
		if (copy != NULL) {
			dir = dirname(copy);
			config_set_include_dir(&conf->cfg, dir);
			free(copy);
		}
		ok = config_read_file(&conf->cfg, conf->path);
	}
	if (ok == CONFIG_TRUE) {
		conf_root(conf);
		return;
	}
	if (config_error_type(&conf->cfg) == CONFIG_ERR_FILE_IO)
		conf_error(conf, 0, "cannot read the configuration file: %s",
		    strerror(errno ? errno : ENOENT));
	else
		conf_error(conf, config_error_line(&conf->cfg), "%s (expected "
		    "libconfig syntax: key = value; groups { }, lists ( ))",
		    config_error_text(&conf->cfg));
}

static int
conf_load_from(struct conf *conf, const char *path, const char *text,
    const char *default_plugin_dir)
{
	memset(conf, 0, sizeof(*conf));
	conf->path = strdup(path);
	if (conf->path == NULL)
		return -1;
	conf->text = text != NULL;
	conf->plugin_dir = default_plugin_dir;
	conf->log_level = LOG_INFO;
	conf->log_target = LOG_TARGET_AUTO;
	conf->uid = (uid_t)-1;
	conf->gid = (gid_t)-1;
	conf->shutdown_timeout = CONF_DEFAULT_SHUTDOWN_TIMEOUT;
	conf_read(conf, text);
	return conf->nerrors == 0 ? 0 : -1;
}

int
conf_load(struct conf *conf, const char *path,
    const char *default_plugin_dir)
{
	return conf_load_from(conf, path, NULL, default_plugin_dir);
}

int
conf_load_text(struct conf *conf, const char *text, const char *name,
    const char *default_plugin_dir)
{
	return conf_load_from(conf, name, text, default_plugin_dir);
}

void
conf_free(struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->nerrors; i++)
		free(conf->errors[i]);
	free(conf->errors);
	for (i = 0; i < conf->nservers; i++) {
		acl_free(&conf->servers[i].acl);
		acl_free(&conf->servers[i].proxy_trusted);
	}
	free(conf->servers);
	if (conf->cfg_loaded)
		config_destroy(&conf->cfg);
	free(conf->path);
	memset(conf, 0, sizeof(*conf));
}
