/*
 * crash.c - logs a handler's fatal signal before the process dies.
 *
 * The handler runs on the thread's alternate stack, calls only
 * async-signal-safe functions (log_crash), and then lets the signal's
 * default action happen: it was reset on entry (SA_RESETHAND), and is
 * raised again, so a fault, abort() or a kill all end in a core dump as
 * they would have without it.
 */
#include <signal.h>
#include <string.h>

#include "crash.h"
#include "log.h"
#include "plugin.h"
#include "request.h"
#include "server_state.h"

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE,
    SIGABRT };

/* The main thread's alternate stack. */
static char crash_main_stack[CRASH_ALTSTACK_SIZE];

static void
crash_handler(int sig)
{
	const struct ss_request *req = request_current();
	const char *abbrev = sigabbrev_np(sig);
	const struct ss_server *srv;

	if (req == NULL) {
		log_crash((const char *const[]){ "fatal signal SIG",
		    abbrev, " outside any request: sockservd dies", NULL });
	} else {
		srv = req->srv;
		log_crash((const char *const[]){ "server ", srv->name,
		    ": plugin ", srv->handler->name, " (", srv->plugin->path,
		    ") crashed with signal SIG", abbrev, " serving ",
		    req->name, srv->child ? ": its process dies, the server "
		    "goes on" : ": sockservd dies", NULL });
	}
	/* Blocked until the handler returns, then the default action. */
	raise(sig);
}

void
crash_thread_begin(void *stack)
{
	stack_t ss = { .ss_sp = stack, .ss_size = CRASH_ALTSTACK_SIZE };

	/* Without it a crash is still fatal, only not reported. */
	if (sigaltstack(&ss, NULL) < 0)
		log_errno(LOG_DEBUG, "sigaltstack");
}

void
crash_thread_end(void)
{
	stack_t ss = { .ss_flags = SS_DISABLE };

	(void)sigaltstack(&ss, NULL);
}

int
crash_init(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = crash_handler;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		if (sigaction(crash_signals[i], &sa, NULL) < 0) {
			log_errno(LOG_ERR, "sigaction");
			return -1;
		}
	crash_thread_begin(crash_main_stack);
	return 0;
}
