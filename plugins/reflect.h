/*
 * reflect.h - the guard xinetd puts in front of its internal UDP
 * services that answer (chargen, daytime, time; echo too).
 *
 * Two such services can be made to answer each other forever with one
 * forged datagram (chargen on port 19 "replying" to echo on port 7 of
 * another host, and back). Real clients send from ports 1024 and above,
 * so a UDP datagram from a port below 1024 gets no reply, and a warning
 * names its sender, as xinetd's bad_port_check() does. Unix datagram
 * sockets have no ports and are not checked.
 *
 * Included by one plugin file each, so its functions are static.
 */
#ifndef SS_PLUGINS_REFLECT_H
#define SS_PLUGINS_REFLECT_H

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sockserv/plugin.h>

/*
 * The plugin's verify_request: 0 (refused, so no reply and an access log
 * line saying "refused") after logging why, non-zero to serve.
 */
static int
reflect_verify_request(ss_request *req)
{
	const struct sockaddr *sa;
	unsigned port;

	if (strcmp(ss_server_transport(ss_server_of(req)), "udp") != 0)
		return 1;
	sa = ss_client_address(req, NULL);
	if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	else
		return 1;
	if (port >= 1024)
		return 1;
	ss_log(ss_server_of(req), LOG_WARNING, "possible denial of service "
	    "attack from %s: no reply to a datagram from a port below 1024",
	    ss_client_name(req));
	return 0;
}

#endif /* SS_PLUGINS_REFLECT_H */
