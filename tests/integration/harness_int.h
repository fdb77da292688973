/*
 * harness_int.h - what the parts of the harness share with each other and
 * not with the tests: the test case's directory, the children the test
 * started, the daemon started last, and a few socket primitives.
 */
#ifndef SS_TEST_HARNESS_INT_H
#define SS_TEST_HARNESS_INT_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "harness.h"

/* harness.c: the test case's directory, "" outside a test case. */
const char *hi_case_dir(void);
/*
 * Reads the first cap - 1 bytes of a file (all of a short one),
 * NUL-terminated; returns their length, or -1 with errno set.
 */
ssize_t hi_read(const char *path, char *buf, size_t cap);

/*
 * harness_process.c: forks and execs argv[0] with stdout and stderr to
 * `out`, in a process group of its own that dies with the test; `scrub`
 * gives it the environment h_spawn promises. The child is registered,
 * so the test's teardown kills it however the test ends.
 */
pid_t hi_spawn(const char *const argv[], const char *out, bool scrub,
    const char *const *env);
/* Returns true and sets *code_r once d has exited (waits when `block`). */
bool hi_reap(struct h_daemon *d, bool block, int *code_r);
void hi_kill_and_reap(struct h_daemon *d);
/* Kills every registered child, and their process groups. */
void hi_kill_children(void);
/* Kills the processes h_kill_at_end listed in the test case's `dir`. */
void hi_kill_listed(const char *dir);

/* harness_daemon.c: forgets the daemons of the test before. */
void hi_daemon_reset(void);
/* The daemon started last, whose log failure messages quote, or NULL. */
const struct h_daemon *hi_last_daemon(void);
/*
 * Calls ready(arg) every 20 ms until it returns true; fails when the
 * daemon exits first or H_TIMEOUT_MS pass, naming `what` it waited for.
 */
void hi_wait_ready(struct h_daemon *d, bool (*ready)(const void *),
    const void *arg, const char *what);

/* harness_client.c: 127.0.0.1:port. */
struct sockaddr_in hi_loopback(int port);
/*
 * Waits until fd is readable (POLLIN) or the deadline (h_now_ms() time)
 * passes; returns what poll(2) does.
 */
int hi_poll_in(int fd, long deadline);
/* sun filled for path; returns the address's length. */
socklen_t hi_unix_address(struct sockaddr_un *sun, const char *path);
/* SO_RCVTIMEO and SO_SNDTIMEO of H_TIMEOUT_MS; -1 with errno on error. */
int hi_set_timeouts(int fd);

#endif /* SS_TEST_HARNESS_INT_H */
