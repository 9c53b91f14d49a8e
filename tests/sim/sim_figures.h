/* Per-seed figures beyond safety (election times, split votes, the cost of the steady stretch,
 * old messages and pauses) and their aggregate over a swarm, printed on stderr before the
 * summary line. */
#ifndef SIM_FIGURES_H
#define SIM_FIGURES_H

#include <stdint.h>
#include <stdio.h>

#include "sim_cost.h"
#include "sim_elect.h"
#include "sim_quiet.h"

/* What the simulated nodes did beyond the core's messages: snapshots, streams, fetches, the
 * outcomes of proposals. Summed over a swarm as they are. */
struct sim_work_figures {
    uint64_t snapshots_taken;
    uint64_t snapshots_installed; /* received and taken by the core */
    uint64_t streams_delivered;
    uint64_t streams_given_up;
    uint64_t fetches; /* answered with entries */
    uint64_t outcomes_done;
    uint64_t outcomes_unknown;
    /* Snapshot requests (sim_snap_now.h): asked, ended done, ended with an expected failure. */
    uint64_t snap_now_asked;
    uint64_t snap_now_done;
    uint64_t snap_now_failed;
    /* The KV workload (sim_kv.h): seeds that ran it, ops checked, writes left unanswered, ops
     * refused (not in the history), final reads done and missed, checker states, and seeds
     * whose check hit its bound (unknown: neither a pass nor a violation). */
    uint64_t kv_seeds;
    uint64_t kv_ops;
    uint64_t kv_unanswered; /* writes without an answer */
    uint64_t kv_dropped;    /* of which never applied anywhere: left out */
    uint64_t kv_refused;
    uint64_t kv_final_reads;
    uint64_t kv_final_missing;
    uint64_t kv_states;
    uint64_t kv_unknown;
};

struct sim_run_figures {
    struct sim_elect_hist elections; /* every election of the run, from leader loss */
    uint64_t split_votes;
    struct sim_quiet_figures quiet;
    struct sim_cost_figures cost;
    uint64_t held;     /* messages held for several election timeouts */
    uint64_t replayed; /* old copies delivered again */
    uint64_t pauses;
    struct sim_work_figures work;
};

struct sim_figures {
    uint64_t seeds;
    struct sim_elect_hist elections;
    struct sim_elect_hist calm; /* the calm election after the stable stretch */
    uint64_t split_votes;
    uint64_t held;
    uint64_t replayed;
    uint64_t pauses;
    /* Cost windows, by link kind: [0] FIFO, [1] reordering. */
    uint64_t cost_seeds[2];
    uint64_t cost_commits[2];
    uint64_t cost_follower_commits[2]; /* commits x followers */
    uint64_t cost_msgs[2];
    uint64_t cost_bytes[2];
    uint64_t cost_entries[2];
    uint64_t cost_empty[2];
    uint64_t cost_follower_heartbeats[2];
    uint64_t cost_entries_ratio_max_milli[2];
    uint64_t cost_msgs_ratio_max_milli[2]; /* msgs per follower per (commit + interval) */
    uint64_t cost_inflight_msgs_max;
    uint64_t cost_inflight_bytes_max;
    struct sim_work_figures work;
};

/* Prints one seed's figures (for --show). */
void sim_figures_print_run(const struct sim_run_figures *r, FILE *f);
void sim_figures_add(struct sim_figures *t, const struct sim_run_figures *r);
void sim_figures_merge(struct sim_figures *into, const struct sim_figures *t);
/* The aggregate, a few lines each starting "craft-sim: ". */
void sim_figures_print(const struct sim_figures *t, FILE *f);

#endif
