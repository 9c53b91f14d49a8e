/* Process pauses: a node stays up but does not step for a while (a stop-the-world pause, a
 * swapped-out process, a stopped VM). Its ticks, deliveries, disk completions and the proposals
 * of clients waiting on it queue up and all arrive when it resumes, so it acts once on a stale
 * view of the cluster: a leader that was deposed meanwhile, a timer long expired. */
#ifndef SIM_PAUSE_H
#define SIM_PAUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/types.h"
#include "sim_config.h"
#include "sim_heap.h"
#include "util/prng.h"

struct sim_pause {
    struct prng rng; /* its own generator: seeds without pauses run as before */
    uint64_t until_us[SIM_NODES_MAX + 1]; /* the node resumes then */
    uint64_t epoch[SIM_NODES_MAX + 1];    /* the life that was paused (a crash ends a pause) */
    uint64_t n_pauses;
    uint64_t deferred; /* events held back by pauses */
};

struct sim_cluster;

void sim_pause_init(struct sim_pause *ps, uint64_t seed);
/* Starts the pause events of the fault phase (when the seed draws them). */
void sim_pause_start(struct sim_cluster *c);
/* SIM_EV_PAUSE: pauses one node (the leader half of the time), then schedules the next. */
void sim_pause_event(struct sim_cluster *c);
/* True if ev is for a paused node; it is then queued again for the moment the node resumes
 * (same order as before) and must not be processed now. */
bool sim_pause_defer(struct sim_cluster *c, const struct sim_event *ev);

/* Pauses node id (up, not paused already) for len_us: false when it cannot. */
bool sim_pause_node(struct sim_cluster *c, craft_id id, uint64_t len_us);

/* True while node id is paused (it takes no input). */
bool sim_pause_active(const struct sim_cluster *c, craft_id id);

#endif
