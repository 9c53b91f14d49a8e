/* Election time as a measured figure: from the loss of the last leader (it crashed or stepped
 * down; an isolated leader counts once check-quorum makes it step down) to the next node that
 * becomes leader; and split votes (terms in which a candidate ran and nobody won). Observed
 * after every step, so every role a node passes through is seen. */
#ifndef SIM_ELECT_H
#define SIM_ELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/core.h"

/* Histogram of election times: SIM_ELECT_BUCKET_US wide buckets, the last one open. */
#define SIM_ELECT_BUCKET_US 5000
#define SIM_ELECT_BUCKETS 1000

struct sim_elect_hist {
    uint64_t n;
    uint64_t sum_us;
    uint64_t max_us;
    uint32_t bucket[SIM_ELECT_BUCKETS];
};

struct sim_elect {
    bool had_leader;
    uint64_t lost_us;         /* when the last leader was lost */
    struct sim_elect_hist all; /* every measured election of the run */
    craft_term *cand_terms;    /* owned: terms in which a node was a candidate */
    size_t n_cand;
    size_t cap_cand;
    craft_term cand_seen[8];   /* per node: last candidate term noted (SIM_NODES_MAX + 1) */
};

struct sim_cluster;

void sim_elect_init(struct sim_elect *e);
void sim_elect_close(struct sim_elect *e);
/* After every step. */
void sim_elect_observe(struct sim_cluster *c);
/* Terms with a candidate but no leader so far. */
uint64_t sim_elect_split_votes(struct sim_cluster *c);

void sim_elect_hist_add(struct sim_elect_hist *h, uint64_t us);
void sim_elect_hist_merge(struct sim_elect_hist *into, const struct sim_elect_hist *h);
/* The q-th permille (e.g. 990) in us: the upper edge of its bucket (max_us for the last). */
uint64_t sim_elect_hist_quantile(const struct sim_elect_hist *h, unsigned permille);

#endif
