/* The phases after the heal, once a new command was committed (liveness): a steady stretch with
 * clients on (the cost window, sim_cost.c); a quiet phase without proposals after which every
 * live node must agree on term, commit and applied index and follow one leader; a stable stretch
 * in which no role or term may change; and a calm election: the leader is crashed once and a
 * new one must be elected within SIM_ELECTION_BOUND_MS. tests/sim/README.md states why each
 * bound is what it is. */
#ifndef SIM_QUIET_H
#define SIM_QUIET_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_config.h"

/* The steady stretch: clients on, no faults; its cost is measured. */
#define SIM_STEADY_MS 2000
/* Without proposals, every live node must agree within this (10 maximal election timeouts). */
#define SIM_QUIET_BOUND_MS (10 * SIM_ELECTION_TIMEOUT_MS_MAX)
/* On reordering links the pipeline collapses into probe rounds (README.md): stated looser. */
#define SIM_QUIET_BOUND_REORDER_MS (50 * SIM_ELECTION_TIMEOUT_MS_MAX)
/* Once agreed, nothing may change for this long: 5 maximal election timeouts. */
#define SIM_STABLE_MS (5 * SIM_ELECTION_TIMEOUT_MS_MAX)
/* A fault-free election after a leader crash: README.md derives it. */
#define SIM_ELECTION_BOUND_MS 1000
/* ... when every surviving voter's vote is needed (a bare quorum survives): any two of them that
 * campaign within one round split the vote, so several rounds may fail in a row. */
#define SIM_ELECTION_BOUND_UNANIMOUS_MS 3000

struct sim_cluster;

struct sim_quiet_figures {
    uint64_t quiet_us;    /* from the end of proposals until every node agreed */
    uint64_t election_us; /* the calm election; 0 if not reached */
};

/* Runs the four phases; a failure is recorded in c->checks. */
void sim_quiet_run(struct sim_cluster *c, struct sim_quiet_figures *f);
/* Steps c once with the per-step observers (election times, cost samples); false when the
 * event queue is empty. */
bool sim_quiet_step(struct sim_cluster *c);

#endif
