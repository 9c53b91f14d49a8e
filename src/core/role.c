/* Every change of role (§5.2, thesis §9.6 for the pre-candidate): what each role starts with —
 * timers, votes, the leader's view of its followers. Election and replication call in here and
 * never each other for a role change. */
#include "core_internal.h"
#include "util/assert.h"

void role_reset_election_timer(struct craft_core *c)
{
    uint64_t timeout = prng_range(&c->prng, c->cfg.election_timeout_ms_min,
                                  c->cfg.election_timeout_ms_max);
#ifdef CRAFT_MUTATION_NO_TIMEOUT_JITTER
    timeout = c->cfg.election_timeout_ms_min; /* mutation: every node waits the same time */
#endif
    c->election_deadline = c->now + timeout;
}

void role_become_follower(struct craft_core *c, craft_term term, craft_id leader)
{
    CRAFT_ASSERT(term >= c->term);
    bool changed = c->role != CRAFT_FOLLOWER || term != c->term || leader != c->leader;
    if (term > c->term) {
        c->term = term;
        c->vote = CRAFT_ID_NONE;
    }
    c->role = CRAFT_FOLLOWER;
    c->leader = leader;
    c->leader_heard = false;
    c->change_pending = false; /* a change waiting on a leader dies with its leadership */
    c->transfer_target = CRAFT_ID_NONE;
    role_reset_election_timer(c);
    if (changed) {
        output_event_role(c);
    }
}

void role_follow(struct craft_core *c, craft_id leader)
{
    CRAFT_ASSERT(c->role != CRAFT_LEADER);
    if (c->role != CRAFT_FOLLOWER || c->leader != leader) {
        role_become_follower(c, c->term, leader);
    }
    c->leader_heard = true;
    c->leader_heard_at = c->now;
    role_reset_election_timer(c);
}

static void start_campaign(struct craft_core *c, enum craft_role role)
{
    /* Only voters campaign, and a node whose removal has not committed (no vote of its own). */
    CRAFT_ASSERT(membership_may_campaign(c));
    struct peer *self = peers_find(&c->peers, c->cfg.id);
    c->role = role;
    c->leader = CRAFT_ID_NONE;
    c->leader_heard = false;
#ifndef CRAFT_MUTATION_VOTES_NOT_RESET
    peers_reset_votes(&c->peers);
#endif
    if (self != NULL) {
        self->vote = PEER_VOTE_GRANTED; /* counts only if it is a voter */
    }
    role_reset_election_timer(c);
    output_event_role(c);
}

void role_become_precandidate(struct craft_core *c)
{
    start_campaign(c, CRAFT_PRECANDIDATE); /* the term stays: nothing to persist (§9.6) */
}

void role_become_candidate(struct craft_core *c)
{
    /* §5.2: raise the term and vote for oneself; the vote requests wait until both are durable
     * (the output holds the messages of a step that changed the term or vote). */
    c->term++;
    c->vote = c->cfg.id;
    start_campaign(c, CRAFT_CANDIDATE);
}

void role_become_leader(struct craft_core *c)
{
    CRAFT_ASSERT(c->role == CRAFT_CANDIDATE);
    c->role = CRAFT_LEADER;
    c->leader = c->cfg.id;
    c->lease_void = false;
    for (unsigned i = 0; i < c->peers.n_slots; i++) {
        struct peer *p = &c->peers.slot[i];
        if (p->id != CRAFT_ID_NONE) {
            membership_start_progress(c, p, i);
            p->round_acked = 0;
        }
    }
    c->heartbeat_deadline = c->now + c->cfg.heartbeat_interval_ms;
    c->check_quorum_deadline = c->now + c->cfg.election_timeout_ms_max;
    output_event_role(c);
}
