/* One swarm run: draw the seed's parameters, run the fault phase, heal, require liveness, and
 * on a violation print the seed, the invariant, the trace tail and the replay command. */
#ifndef SIM_RUN_H
#define SIM_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_figures.h"

struct sim_run_options {
    uint64_t steps;
    unsigned nodes; /* 0: drawn per seed */
    bool show;
    bool safety_only;  /* turn the protocol-rule checks off */
    bool kv;           /* every seed runs the KV workload (sim_kv.h), not only those drawing it */
    const char *argv0; /* for the replay command */
    const char *timeline; /* NULL, or where to draw the run as an HTML page (sim_timeline.h) */
    const char *kv_history; /* NULL, or where to write the KV history checked (sim_kv.h) */
    /* Test-only hooks (the ctests of craft-sim itself): abort inside the seed, as a failed
     * CRAFT_ASSERT would; record a synthetic violation after this step (0: never). */
    bool selftest_abort;
    uint64_t selftest_violate_step;
};

struct sim_run_result {
    uint64_t steps;
    uint64_t elections;
    uint64_t commits; /* distinct committed indexes */
    uint64_t violations;
    uint64_t trace_hash;
    uint64_t sim_us;
    unsigned nodes;
    struct sim_run_figures fig; /* election times, cost, old messages, pauses */
};

/* Runs seed; returns 0 or -1 if the cluster could not start. Violations are counted in *res and
 * reported on out. */
int sim_run_seed(uint64_t seed, const struct sim_run_options *opt, FILE *out,
                 struct sim_run_result *res);

#endif
