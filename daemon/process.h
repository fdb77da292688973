/*
 * process.h - becoming a daemon: detaching from the terminal and dropping
 * privileges.
 */
#ifndef SS_PROCESS_H
#define SS_PROCESS_H

#include <sys/types.h>

/*
 * Detaches: double fork, new session, stdio on /dev/null (stderr only
 * once the start is reported), cwd "/". The process that called it stays
 * behind until the daemon reports its start with process_report(), and
 * exits with that status, so `sockservd` without -F still fails visibly.
 * Returns the descriptor to report on, or -1 (logged) when detaching
 * failed.
 */
int process_detach(void);
/* Reports the start-up outcome (0 or an exit status) and closes fd. */
void process_report(int fd, int status);

/*
 * Becomes uid/gid with no supplementary groups, as the privilege drop
 * does; async-signal-safe, for a child of a threaded process too.
 * Returns -1 with errno set on failure, logging nothing.
 */
int process_become(uid_t uid, gid_t gid);

/*
 * Drops to uid/gid with their supplementary groups cleared, then checks
 * that root cannot be regained. Logs and returns -1 on any failure.
 */
int process_drop_privileges(const char *user, uid_t uid, gid_t gid);

#endif /* SS_PROCESS_H */
