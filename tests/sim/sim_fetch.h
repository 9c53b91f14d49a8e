/* The node's answer to the core's fetch requests (craft_output.fetches): entries a follower needs
 * that the leader's core no longer holds in memory are read from the real storage on the
 * simulated disk after a read latency, and fed back as CRAFT_IN_FETCHED. */
#ifndef SIM_FETCH_H
#define SIM_FETCH_H

#include "craft/core.h"

struct sim_cluster;
struct sim_node;
struct sim_event;

/* Schedules a read for each fetch request of out. */
void sim_fetch_on_output(struct sim_cluster *c, struct sim_node *n, const struct craft_output *out);
/* SIM_EV_FETCH: reads and feeds the entries (nothing when the node crashed meanwhile). */
void sim_fetch_on_event(struct sim_cluster *c, const struct sim_event *ev);
/* Frees a pending request left in the event queue at the end of a run. */
void sim_fetch_free(void *req);

#endif
