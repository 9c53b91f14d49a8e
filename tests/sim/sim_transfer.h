/* Leadership transfers in the swarm (issue 11 §4): during the fault phase the current leader
 * (now and then another node, which must refuse) is asked to hand over to a random voter or to
 * the most caught-up one, under every fault. A leader still handing over an election timeout
 * after it was asked is a violation (`transfer_stuck`): it must give up and take proposals again. */
#ifndef SIM_TRANSFER_H
#define SIM_TRANSFER_H

#include "sim_heap.h"

/* Codes of the SIM_TR_NOTE records written here. */
enum sim_transfer_note {
    SIM_NOTE_TRANSFER = 110, /* a node was asked to transfer; a: target (0: most caught up), b: rv */
};

/* The newest transfer a node accepted, for its check. */
struct sim_transfer_watch {
    uint64_t gen;    /* names the request; a check of an older one is void */
    uint64_t term;   /* the leader's term when it accepted */
};

struct sim_cluster;

/* Schedules the first request when the seed draws transfers. */
void sim_transfer_start(struct sim_cluster *c);
/* SIM_EV_TRANSFER: asks a node to transfer, and schedules the next request. */
void sim_transfer_on_event(struct sim_cluster *c, const struct sim_event *ev);
/* SIM_EV_TRANSFER_CHECK: the leader asked by request ev->arg must no longer be handing over. */
void sim_transfer_on_check(struct sim_cluster *c, const struct sim_event *ev);

#endif
