/* --join HOST:PORT: a new node asks a running one (its client port) to add it, with
 * RAFT.ADDNODE <my id> <my peer address>, retrying every second until it is answered +OK (or
 * "already a member"). The host is an IPv4 literal, an IPv6 literal in brackets or a host name,
 * as in --peers; a name is resolved at each attempt without blocking the loop, and attempts go
 * round its addresses. */
#ifndef CRAFT_SERVER_JOIN_H
#define CRAFT_SERVER_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "craft/errors.h"
#include "craft/node.h"

struct server;

/* Splits a --join address, "host:port" or "[v6]:port", into its host (an IP literal, without
 * brackets, or a host name) and port (1..65535). 0, or CRAFT_EINVAL with the reason in err. */
CRAFT_MUST_CHECK int join_address_parse(const char *addr, char host[CRAFT_ADDRESS_MAX],
                                        uint16_t *port, char *err, size_t err_len);

void join_start(struct server *s);
void join_tick(struct server *s, uint64_t now_ms);
void join_stop(struct server *s);

#endif
