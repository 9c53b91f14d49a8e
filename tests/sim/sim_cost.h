/* What a run costs in a stable stretch (no faults, clients proposing steadily, after liveness):
 * messages and bytes sent, empty AppendEntries, entries sent per entry committed, and the memory
 * held in messages in flight. A seed whose cost exceeds the bounds below fails as "cost": a
 * correct protocol that floods the network is a bug too. */
#ifndef SIM_COST_H
#define SIM_COST_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/core.h"

/* Bounds per follower in the window; FIFO links first, reordering links second (a reordered
 * AppendEntries is refused, though kept, and the leader probes: round trips and some resends).
 * README.md explains each. Ratios are in thousandths. */
#define SIM_COST_ENTRIES_PER_COMMIT_FIFO_MILLI 1100
#define SIM_COST_ENTRIES_PER_COMMIT_REORDER_MILLI 10000
#define SIM_COST_EMPTY_PER_HEARTBEAT_FIFO_MILLI 1500
#define SIM_COST_EMPTY_PER_HEARTBEAT_REORDER_MILLI 3000
#define SIM_COST_MSGS_PER_UNIT_FIFO_MILLI 5000
#define SIM_COST_MSGS_PER_UNIT_REORDER_MILLI 25000
/* Commits below this make the per-commit ratios noise; only the per-heartbeat bound applies. */
#define SIM_COST_COMMITS_MIN 10

/* One seed's figures for its window (also printed by --show and summed by sim_figures). */
struct sim_cost_figures {
    bool measured;
    bool fifo;
    unsigned followers;
    uint64_t window_us;
    uint64_t commits;      /* entries committed in the window */
    uint64_t msgs;         /* every message sent in the window */
    uint64_t bytes;        /* their bytes (SIM_MSG_HEADER_BYTES + entry data each) */
    uint64_t appends;      /* AppendEntries */
    uint64_t appends_empty;
    uint64_t entries_sent; /* entries sent whose index was not committed at the window start */
    uint64_t heartbeats;   /* heartbeat intervals in the window */
    uint64_t inflight_msgs_max;  /* sampled every tick */
    uint64_t inflight_bytes_max;
    uint64_t log_entries_max;    /* the longest core log (the core keeps it all in memory) */
};

struct sim_cost {
    bool on;
    uint64_t start_us;
    craft_index commit_start;
    uint64_t next_sample_us;
    struct sim_cost_figures f;
};

struct sim_cluster;

void sim_cost_begin(struct sim_cluster *c);
/* Counts a message leaving a node (from the send path). */
void sim_cost_on_send(struct sim_cluster *c, const struct craft_msg *m);
/* Samples the memory held (messages in flight, log lengths) at most once per tick. */
void sim_cost_sample(struct sim_cluster *c);
/* Closes the window, fills the figures and fails the seed ("cost") if a bound is exceeded. */
void sim_cost_end(struct sim_cluster *c);

#endif
