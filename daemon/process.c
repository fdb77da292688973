/*
 * process.c - detaching and dropping privileges.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "process.h"

/* In the process left behind: wait for the daemon's word, exit with it. */
static void
process_wait_report(int fd)
{
	unsigned char status = 1;

	while (read(fd, &status, 1) < 0 && errno == EINTR)
		;
	/* No word at all: the daemon died before it could say. */
	_exit(status);
}

/*
 * stdin and stdout go at once; stderr only once the start is reported,
 * so that a failure before then still reaches the terminal.
 */
static int
process_null_fd(int target)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return -1;
	if (dup2(fd, target) < 0) {
		close(fd);
		return -1;
	}
	if (fd != target)
		close(fd);
	return 0;
}

int
process_detach(void)
{
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		log_errno(LOG_ERR, "cannot detach: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_errno(LOG_ERR, "cannot detach: fork");
		return -1;
	}
	if (pid > 0) {
		close(pfd[1]);
		process_wait_report(pfd[0]);
	}
	close(pfd[0]);
	if (setsid() < 0)
		_exit(1);
	/* The second fork makes sure no terminal can be acquired again. */
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0 || process_null_fd(STDIN_FILENO) < 0 ||
	    process_null_fd(STDOUT_FILENO) < 0)
		_exit(1);
	return pfd[1];
}

void
process_report(int fd, int status)
{
	unsigned char byte = (unsigned char)status;

	if (fd < 0)
		return;
	(void)!write(fd, &byte, 1);
	close(fd);
	(void)process_null_fd(STDERR_FILENO);
}

int
process_become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return -1;
	return 0;
}

int
process_drop_privileges(const char *user, uid_t uid, gid_t gid)
{
	if (process_become(uid, gid) < 0) {
		log_errno(LOG_ERR, "cannot drop privileges to user %s", user);
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_error("privileges not dropped: root could be regained");
		return -1;
	}
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid) {
		log_error("privileges not dropped to user %s", user);
		return -1;
	}
	log_info("running as user %s (uid %ld, gid %ld)", user, (long)uid,
	    (long)gid);
	return 0;
}
