/* Client proposals the way a node's clients make them: several commands in one CRAFT_IN_PROPOSE
 * and commands bigger than a WAL segment, with a check that the core put each command of the
 * batch where it said (proposed_index_first + k, proposed_term). */
#ifndef SIM_PROPOSE_H
#define SIM_PROPOSE_H

#include "sim_heap.h"

struct sim_cluster;

/* True when the seed proposes in batches or proposes big commands (then SIM_EV_CLIENT goes to
 * sim_propose_on_client instead of the one-command path). */
bool sim_propose_active(const struct sim_cluster *c);
/* SIM_EV_CLIENT (arg: client index): proposes the client's next batch, checks where the core put
 * it, and schedules the client's next proposal. */
void sim_propose_on_client(struct sim_cluster *c, const struct sim_event *ev);

#endif
