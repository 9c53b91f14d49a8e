/* An in-process cluster of cores for benchmarks: one thread, messages passed through per-node
 * mailboxes, persistence "durable at once", committed entries applied to a checksum. */
#ifndef CRAFT_BENCH_CLUSTER_H
#define CRAFT_BENCH_CLUSTER_H

#include <stdint.h>
#include <string.h>

#include "craft/core.h"

#define BENCH_NODES_MAX 5

/* Messages waiting for one node. Entries are not copied: a queued AppendEntries remembers which
 * entries it carries and is pointed at the sender's log again when it is delivered. */
struct bench_mailbox {
    struct craft_msg *msgs; /* owned */
    craft_term *last_terms; /* parallel: term of each message's last entry, to detect overwrites */
    size_t n;
    size_t cap;
};

struct bench_node {
    struct craft_core *core; /* owned */
    struct bench_mailbox mailbox;
    struct bench_mailbox inbox; /* the mailbox being delivered; swapped with mailbox */
    craft_index applied;
    craft_index compacted; /* entries up to here were dropped from the core's memory */
    uint64_t checksum; /* over the data of applied NORMAL entries, in order */
    uint64_t n_applied_normal;
};

/* Each core keeps this many applied entries in memory behind what it compacts, so AppendEntries
 * still in flight can be resolved from the sender's log: twice the default window (64 messages
 * of up to 1024 entries). */
#define BENCH_COMPACT_KEEP 131072u

struct bench_cluster {
    unsigned n;
    struct bench_node nodes[BENCH_NODES_MAX]; /* node i has id i + 1 */
    struct craft_entry *scratch; /* entries of one message when the sender's are not contiguous */
    size_t scratch_cap;
    uint64_t n_steps;
};

/* Creates n cores (ids 1..n) from cfg (id and voters are filled in). Returns 0 or an error. */
int bench_cluster_init(struct bench_cluster *bc, unsigned n, const struct craft_core_config *cfg);
/* The same, with only the first n_voters bootstrapping the cluster; the rest start empty and
 * wait to be added. */
int bench_cluster_init_voters(struct bench_cluster *bc, unsigned n, unsigned n_voters,
                              const struct craft_core_config *cfg);
void bench_cluster_close(struct bench_cluster *bc);

/* Steps node id with in and carries out its outputs. Returns craft_core_step's result. */
int bench_cluster_step(struct bench_cluster *bc, craft_id id, const struct craft_input *in);

/* Delivers every message queued now, one batch per node. Returns 1 if some were delivered, 0 if
 * none was queued, or a negative error. */
int bench_cluster_deliver_round(struct bench_cluster *bc);

/* The checksum step applied to one entry's payload; exposed so a driver can predict it.
 * Trivial on purpose (a word sum, one multiply per entry, order-sensitive across entries):
 * it stands for "the state machine reads the command", not for real work. */
static inline uint64_t bench_checksum_add(uint64_t sum, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t s = len;
    size_t i = 0;
    for (; i + sizeof(uint64_t) <= len; i += sizeof(uint64_t)) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        s += w;
    }
    for (; i < len; i++) {
        s += p[i];
    }
    return (sum ^ s) * 0x100000001b3ull;
}

#define BENCH_CHECKSUM_SEED 0xcbf29ce484222325ull

#endif
