/* The simulated network: deep copies of messages, a directed connectivity matrix (partitions of
 * any shape), latency with a long tail, loss and duplication, and per-type message/byte counts.
 * Reordering comes from independent random latencies, or links are FIFO (p.fifo). A message on
 * a cut link is dropped when it is sent and again when it would be delivered. */
#ifndef SIM_NETWORK_H
#define SIM_NETWORK_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/core.h"
#include "sim_config.h"
#include "util/prng.h"

/* A message in flight: one allocation holding the message, its entries and their data. */
struct sim_net_msg {
    struct craft_msg m; /* m.append.entries points into this block */
};

struct sim_net_params {
    uint32_t lat_us_min; /* every delivery takes [min, max) */
    uint32_t lat_us_max;
    uint32_t tail_ppm;   /* chance of an extra delay in [0, tail_us_max) */
    uint32_t tail_us_max;
    uint32_t loss_ppm;
    uint32_t dup_ppm;    /* chance of a second copy with its own latency */
    /* labrpc's long reordering instead of the tail: responses only, two thirds of them delayed
     * by 200 ms + rand(1 + rand(2000)) ms. */
    bool lab_long_reordering;
    /* FIFO per directed link, as TCP is: a message never overtakes an earlier one on the same
     * link (latency still varies; a late message holds up those behind it). */
    bool fifo;
};

struct sim_net_stats {
    uint64_t msgs[CRAFT_MSG_TYPE_MAX + 1];  /* sent (before loss), by type */
    uint64_t bytes[CRAFT_MSG_TYPE_MAX + 1]; /* header + entries' data, by type */
    uint64_t node_msgs;  /* the node's own messages (snapshot streams) */
    uint64_t node_bytes;
    uint64_t dropped;
    uint64_t duplicated;
};

/* Shapes recorded in the trace (sim_trace.c names them). */
enum sim_links_shape {
    SIM_LINKS_ALL_UP = 0,
    SIM_LINKS_SPLIT = 1,
    SIM_LINKS_ISOLATE = 2,
    SIM_LINKS_ONE_WAY = 3,
    SIM_LINKS_BRIDGE = 4,
    SIM_LINKS_RING = 5,
    SIM_LINKS_LEADER_ONLY = 6,
    SIM_LINKS_RECONNECT = 7,
    SIM_LINKS_DISCONNECT = 8,
};

struct sim_network {
    unsigned n_nodes;
    bool link[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1]; /* [from][to] */
    struct sim_net_params p;
    struct prng rng;
    struct sim_net_stats stats;
    uint64_t fifo_last_us[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1]; /* [from][to]: last arrival */
};

void sim_network_init(struct sim_network *net, unsigned n_nodes, uint64_t seed,
                      const struct sim_net_params *p);

/* Deep-copies m (entries and their bytes). Returns an owned message; free with sim_net_msg_free. */
struct sim_net_msg *sim_net_msg_copy(const struct craft_msg *m);
void sim_net_msg_free(struct sim_net_msg *nm);
uint64_t sim_net_msg_bytes(const struct craft_msg *m);
/* True for the request types (PREVOTE, VOTE, APPEND): what the lab calls an RPC. */
bool sim_net_msg_is_request(uint32_t type);

/* Counts m and decides its fate: returns how many copies to deliver (0, 1 or 2) and fills
 * latency_us[0..copies). */
unsigned sim_network_route(struct sim_network *net, const struct craft_msg *m,
                           uint64_t latency_us[2]);
/* The same for a message of the node's own (a snapshot chunk or its answer) of `bytes`. */
unsigned sim_network_route_node_msg(struct sim_network *net, craft_id from, craft_id to,
                                    uint64_t bytes, uint64_t latency_us[2]);
/* With p.fifo, stretches latency_us so the message arrives no earlier than the last one sent on
 * the link from -> to, and records its arrival; otherwise returns latency_us unchanged. */
uint64_t sim_network_fifo(struct sim_network *net, craft_id from, craft_id to, uint64_t now_us,
                          uint64_t latency_us);
bool sim_network_link_up(const struct sim_network *net, craft_id from, craft_id to);

void sim_network_all_up(struct sim_network *net);
void sim_network_set_link(struct sim_network *net, craft_id from, craft_id to, bool up);
/* Cuts (or restores) every link to and from id. */
void sim_network_isolate(struct sim_network *net, craft_id id, bool isolated);
/* Bit i of side_a (1 << id) puts node id on side A; links only within a side. */
void sim_network_split(struct sim_network *net, uint32_t side_a);
/* A split whose bridge node keeps links to both sides. */
void sim_network_bridge(struct sim_network *net, uint32_t side_a, craft_id bridge);
/* order[0..n) arranged in a ring: each node reaches only its two neighbours. */
void sim_network_ring(struct sim_network *net, const craft_id *order);
/* id reaches only leader (both directions); every other link is up. */
void sim_network_leader_only(struct sim_network *net, craft_id id, craft_id leader);

#endif
