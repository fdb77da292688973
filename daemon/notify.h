/*
 * notify.h - telling systemd how the service is doing (sd_notify), and
 * its watchdog. Without libsystemd, or outside systemd, these do nothing.
 */
#ifndef SS_NOTIFY_H
#define SS_NOTIFY_H

#include <stdbool.h>

/* "READY=1", "RELOADING=1", "STOPPING=1", each with a STATUS= line. */
void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);

/* True when systemd listens (NOTIFY_SOCKET is set). */
bool notify_enabled(void);
/* "STATUS=..." alone: how the service is doing now. */
void notify_status(const char *status);

/*
 * Seconds between watchdog pings when systemd asked for them
 * (WATCHDOG_USEC), else 0.
 */
double notify_watchdog_interval(void);
void notify_watchdog(void);

#endif /* SS_NOTIFY_H */
