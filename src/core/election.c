/* Leader election (§5.2, §5.4.1) with pre-vote (thesis §9.6) and the check-quorum lease
 * (thesis §6.2, §9.6): timers, campaigns, granting votes, counting them. */
#include "core_internal.h"
#include "util/assert.h"

void election_reset_timer(struct craft_core *c)
{
    uint64_t timeout = prng_range(&c->prng, c->cfg.election_timeout_ms_min,
                                  c->cfg.election_timeout_ms_max);
#ifdef CRAFT_MUTATION_NO_TIMEOUT_JITTER
    timeout = c->cfg.election_timeout_ms_min; /* mutation: every node waits the same time */
#endif
    c->election_deadline = c->now + timeout;
}

void election_become_follower(struct craft_core *c, craft_term term, craft_id leader)
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
    election_reset_timer(c);
    if (changed) {
        output_event_role(c);
    }
}

bool election_log_up_to_date(const struct craft_core *c, craft_index last_index,
                             craft_term last_term)
{
    /* §5.4.1: compare the last terms, then the lengths. */
    craft_term my_term = log_last_term(&c->log);
    if (last_term != my_term) {
        return last_term > my_term;
    }
    return last_index >= log_last_index(&c->log);
}

/* Within a leader's lease a follower refuses to help unseat it: the leader was heard from less
 * than a minimum election timeout ago (thesis §4.2.3, §9.6). */
bool election_in_lease(const struct craft_core *c)
{
    if (c->role == CRAFT_LEADER) {
        return true;
    }
    return c->leader != CRAFT_ID_NONE && c->leader_heard &&
           c->now < c->leader_heard_at + c->cfg.election_timeout_ms_min;
}

static void become_leader_if_quorum(struct craft_core *c, unsigned granted)
{
    if (granted < membership_quorum(&c->membership)) {
        return;
    }
    if (c->role == CRAFT_PRECANDIDATE) {
        election_campaign(c, false);
    } else {
        replication_become_leader(c);
    }
}

static void send_vote_requests(struct craft_core *c, bool pre_vote)
{
    for (unsigned i = 0; i < c->membership.n_voters; i++) {
        craft_id id = c->membership.voters[i];
        if (id == c->cfg.id) {
            continue;
        }
        struct craft_msg *m = output_msg(c, pre_vote ? CRAFT_MSG_PREVOTE : CRAFT_MSG_VOTE, id);
        if (m == NULL) {
            continue;
        }
        if (pre_vote) {
            m->term = c->term + 1; /* the term it would campaign in */
        }
        m->vote.last_index = log_last_index(&c->log);
        m->vote.last_term = log_last_term(&c->log);
    }
}

void election_campaign(struct craft_core *c, bool pre_vote)
{
    int self = membership_slot(&c->membership, c->cfg.id);
    if (self < 0) {
        return; /* only voters campaign */
    }
    if (pre_vote) {
        c->role = CRAFT_PRECANDIDATE;
    } else {
        /* §5.2: raise the term and vote for oneself; the requests wait until both are durable
         * (the output holds messages of a step that changed the term or vote). */
        c->role = CRAFT_CANDIDATE;
        c->term++;
        c->vote = c->cfg.id;
    }
    c->leader = CRAFT_ID_NONE;
    c->leader_heard = false;
#ifndef CRAFT_MUTATION_VOTES_NOT_RESET
    for (unsigned i = 0; i < CRAFT_VOTERS_MAX; i++) {
        c->votes[i] = 0;
    }
#endif
    c->votes[self] = 1;
    election_reset_timer(c);
    output_event_role(c);
    send_vote_requests(c, pre_vote);
    become_leader_if_quorum(c, 1);
}

void election_tick(struct craft_core *c)
{
    if (c->role == CRAFT_LEADER) {
        return;
    }
    if (c->now >= c->election_deadline) {
        election_campaign(c, c->cfg.pre_vote);
    }
}

static void send_vote_response(struct craft_core *c, const struct craft_msg *req, bool granted)
{
    bool pre = req->type == CRAFT_MSG_PREVOTE;
    uint32_t type = pre ? CRAFT_MSG_PREVOTE_RESP : CRAFT_MSG_VOTE_RESP;
    /* A granted vote is durable before it is sent; a pre-vote changes nothing to persist. */
    struct craft_msg *m = granted && !pre ? output_msg_after_persist(c, type, req->from)
                                          : output_msg(c, type, req->from);
    if (m == NULL) {
        return;
    }
    m->vote_resp.granted = granted;
    if (pre && granted) {
        m->term = req->term; /* answer in the term the pre-candidate asked about */
    }
}

void election_on_vote_request(struct craft_core *c, const struct craft_msg *m)
{
    bool pre = m->type == CRAFT_MSG_PREVOTE;
    if (m->term < c->term) {
        send_vote_response(c, m, false);
        return;
    }
    /* A real vote request of a higher term has already moved us to its term (core.c). */
    CRAFT_ASSERT(pre || m->term == c->term);
    bool log_ok = election_log_up_to_date(c, m->vote.last_index, m->vote.last_term);
#ifdef CRAFT_MUTATION_VOTE_NO_LOG_CHECK
    log_ok = true; /* mutation: grant without the up-to-date-log check */
#endif
    if (pre) {
        /* Grant if a real election in m->term could have our vote: nobody leads us now. */
        bool free_vote = m->term > c->term || c->vote == CRAFT_ID_NONE || c->vote == m->from;
        send_vote_response(c, m, log_ok && free_vote && !election_in_lease(c));
        return;
    }
    bool granted = log_ok && (c->vote == CRAFT_ID_NONE || c->vote == m->from);
    if (granted) {
        c->vote = m->from;
        election_reset_timer(c); /* §5.2: granting a vote resets the election timer */
    }
    send_vote_response(c, m, granted);
}

/* Whether a response belongs to the campaign we are running now. */
static bool response_is_current(struct craft_core *c, const struct craft_msg *m)
{
    if (m->type == CRAFT_MSG_PREVOTE_RESP) {
        if (c->role != CRAFT_PRECANDIDATE) {
            return false;
        }
        if (m->vote_resp.granted) {
            return m->term == c->term + 1;
        }
        /* A refusal carries the voter's own term: ours (later ones were handled above). */
        return m->term == c->term;
    }
#ifdef CRAFT_MUTATION_STALE_VOTE_COUNTED
    return c->role == CRAFT_CANDIDATE && m->term <= c->term; /* mutation: old grants count */
#endif
    return c->role == CRAFT_CANDIDATE && m->term == c->term;
}

void election_on_vote_response(struct craft_core *c, const struct craft_msg *m)
{
    if (m->type == CRAFT_MSG_PREVOTE_RESP && !m->vote_resp.granted && m->term > c->term) {
        /* The voter is in a later term than ours: catch up with it, or a node whose log is
         * better but whose term is behind could never win a pre-vote against it. */
        election_become_follower(c, m->term, CRAFT_ID_NONE);
        return;
    }
    if (!response_is_current(c, m)) {
        return;
    }
    int slot = membership_slot(&c->membership, m->from);
    if (slot < 0) {
        return;
    }
    c->votes[slot] = m->vote_resp.granted ? 1 : 2;
    unsigned granted = 0;
    unsigned refused = 0;
    for (unsigned i = 0; i < c->membership.n_voters; i++) {
        granted += c->votes[i] == 1;
        refused += c->votes[i] == 2;
    }
    unsigned quorum = membership_quorum(&c->membership);
    if (granted >= quorum) {
        become_leader_if_quorum(c, granted);
    } else if (refused > c->membership.n_voters - quorum) {
        election_become_follower(c, c->term, CRAFT_ID_NONE);
    }
}
