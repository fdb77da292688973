/*
 * notify.c - systemd's notification protocol, through libsystemd.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"

#ifdef HAVE_LIBSYSTEMD

void
notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

bool
notify_enabled(void)
{
	const char *path = getenv("NOTIFY_SOCKET");

	return path != NULL && *path != '\0';
}

void
notify_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}

void
notify_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=Reloading the configuration");
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
}

double
notify_watchdog_interval(void)
{
	uint64_t usec = 0;

	/* Ping at half the interval systemd allows, as it recommends. */
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return (double)usec / 2e6;
}

void
notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

#else

void notify_ready(const char *status) { (void)status; }
bool notify_enabled(void) { return false; }
void notify_status(const char *status) { (void)status; }
void notify_reloading(void) { }
void notify_stopping(void) { }
double notify_watchdog_interval(void) { return 0; }
void notify_watchdog(void) { }

#endif
