/* The node's apply worker, simulated: the state machine runs the node's apply items either at
 * once (p.apply_us_max 0) or, like an apply thread, in batches some time later, reporting back
 * to the node with node_on_applied after each batch. Checks: every entry applied once and in
 * order against the log (sim_checks_apply), each proposal's result handed for its own command
 * (`proposal_result_misrouted`), and a read run only once the state machine reached its index
 * (`read_run_early`). */
#ifndef SIM_APPLY_H
#define SIM_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "craft/types.h"

struct sim_cluster;
struct sim_node;
struct sim_event;
struct node_apply_item;

struct sim_apply_item; /* one queued item with its own copy of the entries */

struct sim_apply_queue {
    struct sim_apply_item *head; /* owned FIFO */
    struct sim_apply_item *tail;
};

/* The node's env->apply_submit. */
int sim_apply_submit(struct sim_cluster *c, struct sim_node *n,
                     const struct node_apply_item *items, size_t k);
/* SIM_EV_APPLY: runs n's queued batch (arg: n's epoch), then tells the node. */
void sim_apply_on_event(struct sim_cluster *c, const struct sim_event *ev);
/* The node went down: what waited to be applied is gone. */
void sim_apply_crash(struct sim_node *n);

#endif
