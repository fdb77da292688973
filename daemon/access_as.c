/*
 * access_as.c - ss_access and ss_server_user: what the user the daemon
 * serves requests as may do with a path, asked before the privilege drop.
 *
 * init runs as root, to which access(2) says yes to nearly everything. A
 * short-lived child takes the credentials the drop will give (daemon.user,
 * its group, no supplementary groups) and asks the kernel, so modes, ACLs
 * and whatever else the kernel checks count as they will for requests.
 * The daemon may fork; plugins may not, hence the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "process.h"
#include "server_state.h"

/* The child's exit status when it could not become the user. */
#define ACCESS_AS_NO_USER 255

/* In the child: only async-signal-safe calls, as after any fork. */
static void
access_as_child(const char *path, int mode, uid_t uid, gid_t gid)
{
	if (process_become(uid, gid) < 0)
		_exit(ACCESS_AS_NO_USER);
	if (faccessat(AT_FDCWD, path, mode, AT_EACCESS) < 0)
		_exit(errno > 0 && errno < ACCESS_AS_NO_USER ? errno : EACCES);
	_exit(0);
}

/* faccessat(2) as uid/gid, in a child; -1 with errno set when denied. */
static int
access_as(const char *path, int mode, const char *user, uid_t uid,
    gid_t gid)
{
	int status, err;
	pid_t pid;

	pid = fork();
	if (pid == 0)
		access_as_child(path, mode, uid, gid);
	while (pid > 0 && waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			pid = -1;
	if (pid < 0) {
		err = errno;
		log_errno(LOG_ERR, "cannot check access to %s as user %s",
		    path, user);
		errno = err;
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) == ACCESS_AS_NO_USER) {
		log_error("cannot check access to %s: cannot become user %s",
		    path, user);
		errno = EPERM;
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		errno = WEXITSTATUS(status);
		return -1;
	}
	return 0;
}

int
ss_access(ss_server *srv, const char *path, int mode)
{
	const struct conf *conf = srv->env->conf;

	/*
	 * No drop to come (no daemon.user, or dropped already, as on a
	 * reload): the daemon serves as what it is now.
	 */
	if (conf->user == NULL || geteuid() != 0 || conf->uid == 0)
		return faccessat(AT_FDCWD, path, mode, AT_EACCESS);
	return access_as(path, mode, conf->user, conf->uid, conf->gid);
}

const char *
ss_server_user(ss_server *srv)
{
	return srv->env->conf->user;
}
