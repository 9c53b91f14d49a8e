/* Per-step checks of the protocol's own rules, not only of outcomes: each compares what a node
 * looked like before one step with what it looks like after, given the step's input and output,
 * and what the network delivered to it so far. A broken rule fires at the step that breaks it,
 * long before (or even if never) it turns into two leaders or a lost commit.
 *   stale_msg_changed_state   §5.1: a message of an earlier term is stale; it changes nothing
 *                             (log, commit, role, term, vote, the leader's progress)
 *   leader_without_quorum     §5.2: a leader of term T won votes of T from a majority of each
 *                             half of its configuration (thesis §4.3), each in answer to its own
 *                             vote request of T
 *   vote_grant_unrequested    §5.2: a vote of term T is granted only to a candidate whose vote
 *                             request of T reached the voter
 *   leader_match_unacked      §5.3: a leader's match index for a follower comes from that
 *                             follower's acknowledgements of the leader's term
 *   leader_progress_outsider  thesis §4.1: a leader keeps progress (counts acknowledgements)
 *                             only for members of its configuration in force
 *   prevote_changed_term      thesis §9.6: pre-vote (asking or answering) never changes a term
 *                             or a vote
 *   term_rise_unjustified     §5.1/§5.2: a term rises only by one when a node campaigns (voting for
 *                             itself), or to a term a message carried
 * The prefix half of "match is what the follower holds durably" (ack_not_leader_prefix) needs
 * the nodes' disks and lives in sim_checks.c. */
#ifndef SIM_RULES_H
#define SIM_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "craft/core.h"
#include "sim_config.h"
#include "sim_map.h"

/* One node as seen from outside, before or after a step. */
struct sim_rules_view {
    struct craft_core_status st;
    struct craft_progress_status prog[SIM_NODES_MAX]; /* leaders only */
    size_t n_prog;
    struct craft_membership cfg; /* craft_core_membership; n_voters 0: every node votes */
};

struct sim_rules {
    unsigned majority;
    struct sim_map grants;    /* (candidate, term) -> bit mask of voters whose grant reached it */
    struct sim_map requested; /* (voter, term * 16 + candidate) -> 1: the request reached voter */
    struct sim_map acked;     /* (leader * 16 + follower, term) -> highest success ack delivered */
};

/* Where a broken rule is reported: name and detail; the first one wins. */
typedef void (*sim_rules_fail_fn)(void *ctx, craft_id node, const char *name, const char *detail);

void sim_rules_init(struct sim_rules *r, unsigned n_nodes);
void sim_rules_close(struct sim_rules *r);

/* m is handed to its receiver's core now (before the step that takes it). */
void sim_rules_delivered(struct sim_rules *r, const struct craft_msg *m);

/* m leaves its sender now. */
void sim_rules_sent(struct sim_rules *r, const struct craft_msg *m, sim_rules_fail_fn fail,
                    void *ctx);

/* Node id took input in and produced out; before and after are its views around the step. */
void sim_rules_step(struct sim_rules *r, craft_id id, const struct craft_input *in,
                    const struct sim_rules_view *before, const struct sim_rules_view *after,
                    const struct craft_output *out, sim_rules_fail_fn fail, void *ctx);

#endif
