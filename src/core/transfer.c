/* Leadership transfer (thesis §3.10): the leader stops taking proposals, brings the target's log
 * up to date, and sends it TimeoutNow; the target campaigns at once (no pre-vote) and voters
 * still in the old leader's lease answer it. The leader gives up after an election timeout. */
#include "core_internal.h"
#include "util/assert.h"

/* The voter other than self with the highest match (the lowest id among equals), or none. */
static craft_id most_caught_up(struct craft_core *c)
{
    craft_id best = CRAFT_ID_NONE;
    craft_index best_match = 0;
    for (unsigned i = 0; i < c->peers.n_slots; i++) {
        const struct peer *p = &c->peers.slot[i];
        if (p->id == CRAFT_ID_NONE || p->id == c->cfg.id || !p->voter) {
            continue;
        }
        if (best == CRAFT_ID_NONE || p->pr.match > best_match ||
            (p->pr.match == best_match && p->id < best)) {
            best = p->id;
            best_match = p->pr.match;
        }
    }
    return best;
}

int transfer_start(struct craft_core *c, craft_id target)
{
    if (c->role != CRAFT_LEADER) {
        return CRAFT_ENOTLEADER;
    }
    if (c->transfer_target != CRAFT_ID_NONE) {
        return CRAFT_EBUSY;
    }
    if (target == CRAFT_ID_NONE) {
        target = most_caught_up(c);
    }
    const struct peer *p = peers_find(&c->peers, target);
    if (target == CRAFT_ID_NONE || target == c->cfg.id || p == NULL || !p->voter) {
        return CRAFT_EINVAL; /* only another voter of C_new can take over */
    }
    c->transfer_target = target;
    c->transfer_deadline = c->now + c->cfg.election_timeout_ms_max;
    peers_find(&c->peers, target)->transfer_sent = false;
    return 0; /* transfer_advance, at the end of this step, sends TimeoutNow if it can */
}

static void send_timeout_now(struct craft_core *c, craft_id to)
{
    struct craft_msg *m = output_msg(c, CRAFT_MSG_TIMEOUT_NOW, to);
    (void)m; /* a lost one is sent again at the next step until the deadline */
    /* Voters in our lease answer the campaign it starts, whenever it arrives (thesis §3.10): the
     * lease no longer says nobody else can lead, so no lease read for the rest of this term. */
#ifndef CRAFT_MUTATION_LEASE_AFTER_TIMEOUT_NOW /* mutation: the lease outlives the handover */
    c->lease_void = true;
#endif
}

void transfer_advance(struct craft_core *c)
{
    if (c->role != CRAFT_LEADER || c->transfer_target == CRAFT_ID_NONE) {
        return;
    }
    struct peer *p = peers_find(&c->peers, c->transfer_target);
    if (c->now >= c->transfer_deadline || p == NULL || !p->voter) {
        c->transfer_target = CRAFT_ID_NONE; /* gave up: proposals are taken again */
        return;
    }
#ifndef CRAFT_MUTATION_TRANSFER_BEFORE_CATCHUP
    if (p->pr.match < log_last_index(&c->log)) {
        return; /* replication is bringing it up to date; its acknowledgements bring us back */
    }
#endif
    /* Once per heartbeat interval at most: the step that made it catch up, then with heartbeats. */
    if (!p->transfer_sent || c->now >= p->transfer_resend_at) {
        p->transfer_sent = true;
        p->transfer_resend_at = c->now + c->cfg.heartbeat_interval_ms;
        send_timeout_now(c, p->id);
    }
}

void transfer_on_timeout_now(struct craft_core *c, const struct craft_msg *m)
{
    CRAFT_ASSERT(m->term == c->term); /* check_term moved us to its term or dropped it */
    if (c->role != CRAFT_FOLLOWER || c->leader != m->from) {
        return; /* only the leader we follow may ask us to take over */
    }
    election_campaign_transfer(c);
}
