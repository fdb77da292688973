/*
 * crash.h - the last words of a process whose handler crashed.
 *
 * A fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) in a thread
 * that runs handlers is logged with the server, the plugin, the client
 * and the signal, from a handler on an alternate signal stack (so a
 * stack overflow can be reported too); then the signal's default action,
 * a core dump, goes on. Under systemd, Restart=on-failure with socket
 * activation then brings the daemon back without refusing a client.
 */
#ifndef SS_CRASH_H
#define SS_CRASH_H

#include <stddef.h>

/*
 * Bytes of alternate signal stack per thread: the kernel's signal frame
 * (a few KiB with AVX-512 state) and the handler's own small frame.
 */
#define CRASH_ALTSTACK_SIZE	(16 * 1024)

/* Installs the handlers, and an alternate stack for the calling thread. */
int crash_init(void);

/*
 * Makes `stack` (CRASH_ALTSTACK_SIZE bytes, alive until crash_thread_end)
 * the calling thread's alternate signal stack. Threads that run handlers
 * call it first thing, with an array in their first frame: the top of the
 * thread's stack, which an overflow reaches last. Their stack size has
 * CRASH_ALTSTACK_SIZE added for it.
 */
void crash_thread_begin(void *stack);
void crash_thread_end(void);

#endif /* SS_CRASH_H */
