/* The simulator's event queue: a binary min-heap ordered by (time, sequence number), so events
 * at the same virtual time run in the order they were scheduled. */
#ifndef SIM_HEAP_H
#define SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sim_event_kind {
    SIM_EV_DELIVER = 1, /* ptr: struct sim_net_msg (owned by the event), node: receiver */
    SIM_EV_TICK = 2,    /* arg: node epoch */
    SIM_EV_DISK = 3,    /* arg: node epoch; completes the oldest pending write */
    SIM_EV_CRASH = 4,
    SIM_EV_RESTART = 5,
    SIM_EV_CLIENT = 6, /* arg: client index */
    SIM_EV_FAULT = 7,  /* the swarm changes the fault state */
    SIM_EV_ISOLATE = 8,   /* cut every link of node; arg: reconnect after this many us */
    SIM_EV_RECONNECT = 9, /* restore every link of node */
    SIM_EV_REPLAY = 10,   /* deliver again a copy of a message sent earlier (sim_oldmsg.c) */
    SIM_EV_PAUSE = 11,    /* pause a node (sim_pause.c) */
    SIM_EV_FLUSH = 12,    /* feed node's inbox as one CRAFT_IN_MSGS; arg: inbox gen (sim_feed) */
    SIM_EV_CAMPAIGN = 13, /* ask a random node to campaign now (sim_feed) */
    SIM_EV_TRANSFER = 14, /* ask a node to hand over leadership (sim_transfer) */
    SIM_EV_TRANSFER_CHECK = 15, /* node: the leader asked; arg: its term then (sim_transfer) */
    SIM_EV_READ = 16,           /* a client reads at some node (sim_reads) */
    SIM_EV_MEMBER = 17,   /* ask for a membership change (sim_member.c); node: target or 0 */
    SIM_EV_FETCH = 18,      /* node: leader; ptr: struct sim_fetch_req (sim_fetch.c) */
    SIM_EV_SNAP_BUILT = 19, /* node: a snapshot build is done; ptr: its image (sim_snap.c) */
    SIM_EV_SNAP_MSG = 20,   /* node: receiver; ptr: struct sim_snap_msg (sim_snap_stream.c) */
    /* 21: unused (stream timers are the node's own now) */
    SIM_EV_APPLY = 22,      /* node: its apply worker runs a batch; arg: node epoch (sim_apply) */
    SIM_EV_KV = 23,         /* a KV client's next op; arg: client (sim_kv_client) */
    SIM_EV_KV_TIMEOUT = 24, /* a KV client gives up; arg: client | op serial << 8 */
    SIM_EV_SNAP_NOW = 25,   /* ask node (0: one picked) for a snapshot; arg: its epoch (sim_snap_now) */
};

struct sim_event {
    uint64_t time_us;
    uint64_t seq;
    uint32_t kind;
    uint32_t node;
    uint64_t arg;
    void *ptr;
};

struct sim_heap {
    struct sim_event *ev; /* owned */
    size_t n;
    size_t cap;
    uint64_t seq_next;
};

void sim_heap_init(struct sim_heap *h);
/* Frees the array; the caller has drained the events that own memory. */
void sim_heap_close(struct sim_heap *h);
void sim_heap_push(struct sim_heap *h, uint64_t time_us, uint32_t kind, uint32_t node, uint64_t arg,
                   void *ptr);
bool sim_heap_pop(struct sim_heap *h, struct sim_event *out);

#endif
