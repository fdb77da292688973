/*
 * pidfile.h - the pid file: refused when it names a live sockservd,
 * written atomically, removed at a clean stop.
 */
#ifndef SS_PIDFILE_H
#define SS_PIDFILE_H

/* -1 (logged) when `path` names a running sockservd other than us. */
int pidfile_check(const char *path);
/* Writes our pid through a temporary file and rename(2). Logs failures. */
int pidfile_write(const char *path);
/* Removes the file if it still holds our pid. */
void pidfile_remove(const char *path);

#endif /* SS_PIDFILE_H */
