/* Compaction the way a node will do it: after applying, CRAFT_IN_COMPACT drops applied entries
 * from the core's memory once the seed's compact_every of them are held. */
#ifndef SIM_COMPACT_H
#define SIM_COMPACT_H

#include "craft/core.h"

struct sim_cluster;
struct sim_node;

/* Called after n applied entries: compacts when due, and checks that the core compacted nothing
 * it had not applied and persisted. */
void sim_compact_after_apply(struct sim_cluster *c, struct sim_node *n);

#endif
