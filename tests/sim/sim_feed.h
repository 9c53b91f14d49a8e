/* What a real node feeds its core beyond one message per step: deliveries to one node that arrive
 * within a small window go in as one CRAFT_IN_MSGS, and an operator (or a leadership transfer)
 * asks a node to campaign now with CRAFT_IN_CAMPAIGN. Off unless the seed draws them. */
#ifndef SIM_FEED_H
#define SIM_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "craft/core.h"
#include "sim_heap.h"
#include "sim_network.h"

/* Most messages one CRAFT_IN_MSGS carries; a fuller inbox is fed at once (a node reads a bounded
 * batch from its sockets per loop iteration). */
#define SIM_FEED_MSGS_MAX 64

/* Codes of the SIM_TR_NOTE records written here and in sim_compact.c. */
enum sim_feed_note {
    SIM_NOTE_CAMPAIGN = 100, /* the node was asked to campaign */
};

/* Messages delivered to one node and not yet fed to its core. */
struct sim_inbox {
    struct sim_net_msg *msgs[SIM_FEED_MSGS_MAX]; /* owned */
    size_t n;
    uint64_t epoch; /* the node life the messages were delivered to */
    uint64_t gen;   /* names the pending flush event; an older one is stale */
};

struct sim_cluster;
struct sim_node;

/* Frees the messages still held (cluster teardown). */
void sim_inbox_close(struct sim_inbox *ib);
/* Takes nm (owned) into n's inbox; the inbox is fed as one input batch_window_us after its first
 * message, or at once when full. */
void sim_feed_deliver(struct sim_cluster *c, struct sim_node *n, struct sim_net_msg *nm);
/* SIM_EV_FLUSH: feeds the inbox named by ev (node, gen). */
void sim_feed_on_flush(struct sim_cluster *c, const struct sim_event *ev);
/* SIM_EV_CAMPAIGN: during the fault phase, asks a random live node to campaign now. */
void sim_feed_on_campaign(struct sim_cluster *c, const struct sim_event *ev);
/* Schedules the first campaign request when the seed draws them (the fault phase starts). */
void sim_feed_start(struct sim_cluster *c);
/* Rule check on every message sent: an AppendEntries of more than one entry stays within the
 * seed's append_bytes_max (the core's byte limit of one AppendEntries). */
void sim_feed_check_send(struct sim_cluster *c, const struct sim_node *from,
                         const struct craft_msg *m);

#endif
