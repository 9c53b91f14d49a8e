/* --join IP:PORT: a new node asks a running one (its client port) to add it, with
 * RAFT.ADDNODE <my id> <my peer address>, retrying every second until it is answered +OK (or
 * "already a member"). */
#ifndef CRAFT_SERVER_JOIN_H
#define CRAFT_SERVER_JOIN_H

#include <stdint.h>

struct server;

void join_start(struct server *s);
void join_tick(struct server *s, uint64_t now_ms);
void join_stop(struct server *s);

#endif
