/* Forwarding from a follower to the leader: one craftd-to-craftd RESP connection to the
 * leader's client address (learned from raft.advertise), the client's command sent as it came,
 * the leader's reply relayed in order. A leader change closes it; what was sent and not answered
 * then gets an error saying its outcome is unknown. */
#ifndef CRAFT_SERVER_FORWARD_H
#define CRAFT_SERVER_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct server;
struct request;
struct fwd_conn;

struct forwarder {
    struct server *srv;
    struct fwd_conn *cur; /* the connection to the current leader, or NULL */
};

void forwarder_init(struct forwarder *f, struct server *s);
/* Sends r's command(s) to the leader at address (host:port), over the current connection if it
 * goes there, else a new one. 0: r is in flight until the reply (or a failure) answers it. */
int forward_request(struct forwarder *f, const char *address, struct request *r);
/* Closes connections whose oldest request is long past its deadline (a leader that hangs). */
void forwarder_tick(struct forwarder *f, uint64_t now_ms);
/* Closes the connection; the requests it holds get an error. */
void forwarder_close(struct forwarder *f);

#endif
