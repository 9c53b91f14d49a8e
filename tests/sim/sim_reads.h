/* Reads under every fault (issue 11 §5): during the fault phase clients read at random nodes
 * (the leader mostly) by ReadIndex, by lease when the seed configures lease reads, or stale; each
 * linearizable read that succeeds is checked against the committed history: its read index covers
 * every entry committed anywhere before the read began (`read_stale`), and the node has applied up
 * to it when it says so (`read_not_applied`). */
#ifndef SIM_READS_H
#define SIM_READS_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/core.h"
#include "sim_heap.h"

#define SIM_READS_PENDING_MAX 256

/* Codes of the SIM_TR_NOTE records written here. */
enum sim_reads_note {
    SIM_NOTE_READ = 120,      /* a read was asked; a: cookie, b: rv */
    SIM_NOTE_READ_DONE = 121, /* a read ended; a: cookie, b: index */
};

struct sim_read_pending {
    uint64_t cookie; /* 0: free */
    craft_id node;
    uint64_t epoch;       /* the node's life the read was asked in */
    uint32_t mode;        /* enum craft_read_mode */
    craft_index committed; /* the newest index committed anywhere when the read began */
    uint64_t begun_us;
};

struct sim_reads {
    struct sim_read_pending pending[SIM_READS_PENDING_MAX]; /* by cookie % size */
    uint64_t next_cookie;
    uint64_t n_ok;
    uint64_t n_refused;
};

struct sim_cluster;
struct sim_node;

void sim_reads_start(struct sim_cluster *c);
/* SIM_EV_READ: a client reads at some node; the next read is scheduled. */
void sim_reads_on_event(struct sim_cluster *c, const struct sim_event *ev);
/* A client reads at node at with mode now; the read is checked when it ends. Returns its cookie
 * (0 when the node is down). */
uint64_t sim_reads_issue(struct sim_cluster *c, craft_id at, uint32_t mode);
/* The read outcomes of one output of n. */
void sim_reads_on_output(struct sim_cluster *c, struct sim_node *n, const struct craft_output *out);

#endif
