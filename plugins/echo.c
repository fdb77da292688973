/*
 * echo.c - sends every line back unchanged, until the client closes.
 *
 * This file is also the template for new plugins: copy it, change the
 * name in SS_HANDLER, and change handle(). Everything a plugin needs comes
 * from <sockserv/plugin.h>, which says where and when each hook runs; it
 * links against nothing of the daemon.
 */
#include <sockserv/plugin.h>

/*
 * init() runs once per server, before it serves; `options` is the
 * server's options group, or NULL. echo has none, so it refuses any key:
 * a misspelt option is an error at its line, not silently ignored. A
 * plugin with options lists them in an ss_option table instead of NULL.
 */
static int
echo_init(ss_server *srv, const config_setting_t *options)
{
	return ss_options(srv, options, NULL);
}

/*
 * handle() runs once per request: for a stream transport, once per
 * connection. It may run in many threads at once (concurrency =
 * "threading"), so it keeps its state on the stack or in
 * ss_request_data(), never in globals. Its stack may be as small as
 * thread_stack_size's 64 KiB minimum: keep big buffers off it.
 */
static int
echo_handle(ss_request *req)
{
	const char *line;
	ssize_t n;

	/*
	 * One line at a time until end of input, so both one-line clients
	 * and interactive sessions work. ss_getline keeps the line in the
	 * request's own buffer, not on this stack. A line longer than
	 * max_line fails with EMSGSIZE: returning -1 hands the request to
	 * handle_error (the default logs it) and the server goes on.
	 */
	while ((n = ss_getline(req, &line)) > 0)
		if (ss_write(req, line, (size_t)n) < 0)
			return -1;
	return n < 0 ? -1 : 0;
}

/*
 * The one exported symbol, with the ABI version and size filled in.
 * Hooks left out are optional; the daemon then does what socketserver's
 * base classes do (accept every request, log errors).
 */
SS_HANDLER(
	.name = "echo",
	.version = "1.0",
	.init = echo_init,
	.handle = echo_handle,
);
