/*
 * lifecycle.h - drives one request through the plugin's hooks.
 */
#ifndef SS_LIFECYCLE_H
#define SS_LIFECYCLE_H

struct ss_request;

/*
 * verify_request -> setup -> handle -> finish, with handle_error on a
 * failing setup or handle, then the transport's completion (a datagram's
 * reply). Runs in whatever thread or process serves the request; does
 * not close or free it.
 */
void lifecycle_run(struct ss_request *req);

#endif /* SS_LIFECYCLE_H */
