/* Leader election (§5.2, §5.4.1) with pre-vote (thesis §9.6) and the check-quorum lease
 * (thesis §6.2, §9.6): timers, campaigns, granting votes, counting them. */
#include "core_internal.h"
#include "util/assert.h"

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

bool election_log_more_up_to_date(const struct craft_core *c, craft_index last_index,
                                  craft_term last_term)
{
    craft_term my_term = log_last_term(&c->log);
    if (last_term != my_term) {
        return last_term > my_term;
    }
    return last_index > log_last_index(&c->log);
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

/* Acts on the election's tally: a won pre-vote becomes a real campaign, a won election makes the
 * leader, a lost one a follower again. */
static void act_on_tally(struct craft_core *c)
{
    enum peers_tally t = peers_tally(&c->peers);
    if (t == PEERS_LOST) {
        role_become_follower(c, c->term, CRAFT_ID_NONE);
    } else if (t == PEERS_WON && c->role == CRAFT_PRECANDIDATE) {
        election_campaign(c, false);
    } else if (t == PEERS_WON) {
        role_become_leader(c);
        replication_start_leading(c);
    }
}

static void send_vote_requests(struct craft_core *c, bool pre_vote, bool transfer)
{
    for (unsigned i = 0; i < c->peers.n_slots; i++) {
        const struct peer *p = &c->peers.slot[i];
        if (p->id == CRAFT_ID_NONE || p->id == c->cfg.id || !peer_is_voter(p)) {
            continue; /* learners neither vote nor are asked */
        }
        struct craft_msg *m = output_msg(c, pre_vote ? CRAFT_MSG_PREVOTE : CRAFT_MSG_VOTE, p->id);
        if (m == NULL) {
            continue;
        }
        if (pre_vote) {
            m->term = c->term + 1; /* the term it would campaign in */
        }
        m->vote.last_index = log_last_index(&c->log);
        m->vote.last_term = log_last_term(&c->log);
        m->vote.transfer = transfer;
    }
}

void election_campaign(struct craft_core *c, bool pre_vote)
{
    if (!membership_may_campaign(c)) {
        return; /* only voters campaign, and a removed one until its removal commits */
    }
    if (pre_vote) {
        role_become_precandidate(c);
    } else {
        role_become_candidate(c);
    }
    send_vote_requests(c, pre_vote, false);
    act_on_tally(c); /* a single voter wins at once */
    if (!pre_vote && c->role == CRAFT_LEADER) {
        c->lead_unpersisted = true; /* won in the step that raised its term (output.c) */
    }
}

void election_campaign_transfer(struct craft_core *c)
{
    if (!membership_is_voter(c, c->cfg.id)) {
        return;
    }
    role_become_candidate(c);
    send_vote_requests(c, false, true);
    act_on_tally(c);
}

void election_tick(struct craft_core *c)
{
    CRAFT_ASSERT(c->role != CRAFT_LEADER);
    if (c->now >= c->election_deadline) {
        election_campaign(c, c->cfg.pre_vote);
    }
}

/* Thesis §6.2: a leader that has not heard from a majority for an election timeout steps down,
 * so clients look elsewhere. */
void election_check_quorum(struct craft_core *c)
{
    CRAFT_ASSERT(c->role == CRAFT_LEADER);
    if (c->now < c->check_quorum_deadline) {
        return;
    }
    c->check_quorum_deadline = c->now + c->cfg.election_timeout_ms_max;
    bool active = peers_quorum_active(&c->peers, c->cfg.id);
    for (unsigned i = 0; i < c->peers.n_slots; i++) {
        c->peers.slot[i].pr.recent_active = false;
    }
    if (c->cfg.check_quorum && !active) {
        role_become_follower(c, c->term, CRAFT_ID_NONE);
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
        role_reset_election_timer(c); /* §5.2: granting a vote resets the election timer */
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
        role_become_follower(c, m->term, CRAFT_ID_NONE);
        return;
    }
    if (!response_is_current(c, m)) {
        return;
    }
    struct peer *p = peers_find(&c->peers, m->from);
    if (p == NULL || !peer_is_voter(p)) {
        return; /* only the configuration's voters count (a learner or a stranger does not) */
    }
    p->vote = m->vote_resp.granted ? PEER_VOTE_GRANTED : PEER_VOTE_REFUSED;
    act_on_tally(c);
}
