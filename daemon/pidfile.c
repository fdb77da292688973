/*
 * pidfile.c - writing and checking the pid file.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pidfile.h"

/* The pid in the file, or 0 when there is none to be read. */
static pid_t
pidfile_read(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	char *end;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (pid <= 0 || (*end != '\n' && *end != '\0'))
		return 0;
	return (pid_t)pid;
}

/* Whether `pid` is a running process called sockservd. */
static int
pidfile_is_sockservd(pid_t pid)
{
	char path[64], comm[32] = "";
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	return strcmp(comm, "sockservd\n") == 0;
}

int
pidfile_check(const char *path)
{
	pid_t pid = pidfile_read(path);

	if (pid == 0 || pid == getpid() || !pidfile_is_sockservd(pid))
		return 0;
	log_error("pid file %s names a running sockservd (pid %ld); stop it "
	    "first or choose another pid_file", path, (long)pid);
	return -1;
}

int
pidfile_write(const char *path)
{
	char tmp[4096], line[32];
	int fd, len, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		log_error("pid file %s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_errno(LOG_ERR, "cannot create pid file %s", tmp);
		return -1;
	}
	len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	ok = write(fd, line, (size_t)len) == len;
	if (close(fd) < 0)
		ok = 0;
	/* rename(2) replaces atomically: readers see the old or the new. */
	if (!ok || rename(tmp, path) < 0) {
		log_errno(LOG_ERR, "cannot write pid file %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

void
pidfile_remove(const char *path)
{
	if (pidfile_read(path) == getpid() && unlink(path) < 0)
		log_errno(LOG_NOTICE, "cannot remove pid file %s", path);
}
