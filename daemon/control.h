/*
 * control.h - the control socket (daemon.control): sockservctl's way in.
 *
 * One request line per connection, one reply, then the daemon closes:
 * the reply is zero or more lines of text and a last line "ok" or
 * "error: WHY" (sockservctl(8)). Served by the main thread's loop, never
 * blocking it: every socket is non-blocking, a request line is at most
 * CONTROL_MAX_LINE bytes, a client has CONTROL_TIMEOUT seconds to send
 * it and as long again to take its reply, and at most
 * CONTROL_MAX_CLIENTS are served at once.
 */
#ifndef SS_CONTROL_H
#define SS_CONTROL_H

#include <sys/types.h>

struct daemon;

#define CONTROL_MAX_LINE	1024
#define CONTROL_TIMEOUT		5.0
#define CONTROL_MAX_CLIENTS	16

/*
 * Binds the socket at path with mode 0600, owned by uid:gid unless uid is
 * (uid_t)-1, replacing a stale socket file nobody answers on, and makes
 * the main loop serve it (d->control). Before the privilege drop. Returns
 * -1 after logging why.
 */
int control_open(struct daemon *d, const char *path, uid_t uid, gid_t gid);

/*
 * Closes every client and the listener, and removes the socket file; does
 * nothing when no control socket is open.
 */
void control_close(struct daemon *d);

#endif /* SS_CONTROL_H */
