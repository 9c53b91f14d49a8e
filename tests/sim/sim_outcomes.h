/* Proposal outcomes (craft_output.proposals): every command the simulator proposes carries a
 * cookie. While its node lives, each accepted one must come out exactly once, done or unknown,
 * and "done" must name the committed entry that holds exactly that command
 * (`proposal_outcome_wrong`, `proposal_outcome_unasked`). */
#ifndef SIM_OUTCOMES_H
#define SIM_OUTCOMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "craft/core.h"

struct sim_cluster;
struct sim_node;

/* Cookies of the simulator's other requests, above every proposal's: reads count up from the
 * base (sim_reads.c); changes and transfers share one each (their outcomes are judged by the
 * membership and transfer checks, not here). */
#define SIM_COOKIE_READ_BASE ((uint64_t)1 << 62)
#define SIM_COOKIE_CHANGE (((uint64_t)1 << 63) + 1)
#define SIM_COOKIE_TRANSFER (((uint64_t)1 << 63) + 2)

/* A proposal waits until both its outcome (done, from the core) and its entry's hand-over to
 * the state machine with its cookie (from the node's apply worker, maybe later) were seen. */
struct sim_outcome_wait {
    uint64_t cookie;
    uint64_t data_hash;
    bool done;    /* the core reported it done */
    bool applied; /* the state machine ran its entry for it */
};

/* Gives cmds[0..k) fresh cookies (into cookies) and records them at n before the proposal is fed
 * (a single voter commits in the same step). */
void sim_outcomes_propose(struct sim_cluster *c, struct sim_node *n, const struct craft_buf *cmds,
                          size_t k, uint64_t *cookies);
/* The node ended request cookie with status outside the core's outcomes (env->complete): a
 * refused proposal gets no other outcome; a proposal the core reported done must reach the
 * state machine with its entry instead (`proposal_result_unrouted`). Other cookies pass. */
void sim_outcomes_complete(struct sim_cluster *c, struct sim_node *n, uint64_t cookie, int status);
/* The node hands committed entry e to the state machine for request cookie (0: none): it must
 * be the command that proposal waits for (`proposal_result_misrouted`). */
void sim_outcomes_check_result(struct sim_cluster *c, struct sim_node *n,
                               const struct craft_entry *e, uint64_t cookie);
/* Checks out's outcomes, after its committed entries were applied. */
void sim_outcomes_on_output(struct sim_cluster *c, struct sim_node *n,
                            const struct craft_output *out);
/* The node crashed: what it waited for dies with it. */
void sim_outcomes_crash(struct sim_node *n);

#endif
