/* Swarm testing: every seed draws its own cluster size, protocol options and fault mix (some
 * seeds nearly calm, some brutal), and the fault hook changes partitions and crashes over time. */
#ifndef SIM_SWARM_H
#define SIM_SWARM_H

#include <stdint.h>

#include "sim_cluster.h"
#include "sim_params.h"

enum sim_swarm_profile {
    SIM_PROFILE_CALM = 0,
    SIM_PROFILE_MODERATE = 1,
    SIM_PROFILE_BRUTAL = 2,
};

/* Fills p for seed. nodes_forced (3..7) overrides the drawn size without changing any other
 * draw, so `--seed X --nodes K` replays the run in which the swarm drew K. */
void sim_swarm_draw(uint64_t seed, unsigned nodes_forced, struct sim_params *p,
                    enum sim_swarm_profile *profile);
/* The SIM_EV_FAULT hook: one fault change, then schedules the next. */
void sim_swarm_fault(struct sim_cluster *c);
/* Starts the fault phase of c. */
void sim_swarm_start(struct sim_cluster *c);

#endif
