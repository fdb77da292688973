/*
 * activation.h - systemd socket activation: listening sockets passed in
 * LISTEN_FDS are given to the servers they belong to.
 */
#ifndef SS_ACTIVATION_H
#define SS_ACTIVATION_H

struct daemon;

/*
 * Matches every passed socket to a server, by FileDescriptorName= equal
 * to the server's name, else by transport and address. Returns the number
 * of sockets adopted, or -1 (logged) when one matches no server.
 */
int activation_adopt(struct daemon *d);

#endif /* SS_ACTIVATION_H */
