/* Proposal outcomes (craft_output.proposals): every command the simulator proposes carries a
 * cookie. While its node lives, each accepted one must come out exactly once, done or unknown,
 * and "done" must name the committed entry that holds exactly that command
 * (`proposal_outcome_wrong`, `proposal_outcome_unasked`). */
#ifndef SIM_OUTCOMES_H
#define SIM_OUTCOMES_H

#include <stddef.h>
#include <stdint.h>

#include "craft/core.h"

struct sim_cluster;
struct sim_node;

struct sim_outcome_wait {
    uint64_t cookie;
    uint64_t data_hash;
};

/* Gives cmds[0..k) fresh cookies (into cookies) and records them at n before the proposal is fed
 * (a single voter commits in the same step). */
void sim_outcomes_propose(struct sim_cluster *c, struct sim_node *n, const struct craft_buf *cmds,
                          size_t k, uint64_t *cookies);
/* The proposal was refused (rv != 0): its cookies get no outcome. */
void sim_outcomes_refused(struct sim_node *n, size_t k);
/* Checks out's outcomes, after its committed entries were applied. */
void sim_outcomes_on_output(struct sim_cluster *c, struct sim_node *n,
                            const struct craft_output *out);
/* The node crashed: what it waited for dies with it. */
void sim_outcomes_crash(struct sim_node *n);

#endif
