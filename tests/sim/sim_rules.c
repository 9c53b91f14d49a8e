/* The protocol-rule checks of sim_rules.h: what the network delivered is recorded as it goes, and
 * every step is judged by comparing the node before and after it. */
#include "sim_rules.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim_member.h"

#define CANDIDATE_SLOTS 16 /* ids in the simulator are below this */

static_assert(SIM_NODES_MAX < CANDIDATE_SLOTS, "ids fit the key packing");

void sim_rules_init(struct sim_rules *r, unsigned n_nodes)
{
    memset(r, 0, sizeof(*r));
    r->majority = n_nodes / 2 + 1;
    sim_map_init(&r->grants);
    sim_map_init(&r->requested);
    sim_map_init(&r->acked);
}

void sim_rules_close(struct sim_rules *r)
{
    sim_map_close(&r->grants);
    sim_map_close(&r->requested);
    sim_map_close(&r->acked);
}

static void failf(sim_rules_fail_fn fail, void *ctx, craft_id node, const char *name,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void failf(sim_rules_fail_fn fail, void *ctx, craft_id node, const char *name,
                  const char *fmt, ...)
{
    char detail[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    fail(ctx, node, name, detail);
}

void sim_rules_delivered(struct sim_rules *r, const struct craft_msg *m)
{
    if (m->from >= CANDIDATE_SLOTS || m->to >= CANDIDATE_SLOTS) {
        return; /* misaddressed: the core ignores it, msg_addressing reports the sender */
    }
    uint64_t v = 0;
    switch (m->type) {
    case CRAFT_MSG_VOTE:
        sim_map_put(&r->requested, m->to, m->term * CANDIDATE_SLOTS + m->from, 1);
        break;
    case CRAFT_MSG_VOTE_RESP:
        if (m->vote_resp.granted) {
            (void)sim_map_get(&r->grants, m->to, m->term, &v);
            sim_map_put(&r->grants, m->to, m->term, v | (uint64_t)1 << m->from);
        }
        break;
    case CRAFT_MSG_APPEND_RESP:
        if (m->append_resp.success) {
            uint64_t key = m->to * CANDIDATE_SLOTS + m->from;
            if (!sim_map_get(&r->acked, key, m->term, &v) || v < m->append_resp.index) {
                sim_map_put(&r->acked, key, m->term, m->append_resp.index);
            }
        }
        break;
    default:
        break;
    }
}

void sim_rules_sent(struct sim_rules *r, const struct craft_msg *m, sim_rules_fail_fn fail,
                    void *ctx)
{
    if (m->type != CRAFT_MSG_VOTE_RESP || !m->vote_resp.granted || m->to >= CANDIDATE_SLOTS) {
        return;
    }
    uint64_t v;
    if (!sim_map_get(&r->requested, m->from, m->term * CANDIDATE_SLOTS + m->to, &v)) {
        failf(fail, ctx, m->from, "vote_grant_unrequested",
              "n%" PRIu64 " grants its vote of term %" PRIu64 " to n%" PRIu64
              ", whose vote request of that term never reached it",
              m->from, m->term, m->to);
    }
}

static bool status_equal(const struct craft_core_status *a, const struct craft_core_status *b)
{
    return a->role == b->role && a->term == b->term && a->vote == b->vote &&
           a->leader == b->leader && a->commit == b->commit && a->last_index == b->last_index &&
           a->last_term == b->last_term;
}

static bool progress_equal(const struct sim_rules_view *a, const struct sim_rules_view *b)
{
    if (a->n_prog != b->n_prog) {
        return false;
    }
    for (size_t i = 0; i < a->n_prog; i++) {
        const struct craft_progress_status *x = &a->prog[i];
        const struct craft_progress_status *y = &b->prog[i];
        if (x->id != y->id || x->state != y->state || x->match != y->match || x->next != y->next ||
            x->inflight_msgs != y->inflight_msgs || x->inflight_bytes != y->inflight_bytes ||
            x->recent_active != y->recent_active) {
            return false;
        }
    }
    return true;
}

/* True when the input is messages and every one of them is of an earlier term than the node's. */
static bool all_stale(const struct craft_input *in, craft_term term)
{
    if (in->type != CRAFT_IN_MSGS || in->msgs.n == 0) {
        return false;
    }
    for (size_t i = 0; i < in->msgs.n; i++) {
        if (in->msgs.msgs[i].term >= term) {
            return false;
        }
    }
    return true;
}

static void check_stale(craft_id id, const struct craft_input *in,
                        const struct sim_rules_view *before, const struct sim_rules_view *after,
                        const struct craft_output *out, sim_rules_fail_fn fail, void *ctx)
{
    if (!all_stale(in, before->st.term)) {
        return;
    }
    /* Handing out entries committed before the step, or a hard-state commit catching up with
     * it, is output owed since boot, not a change made by the message. */
    const struct craft_core_status *b = &before->st;
    const struct craft_hard_state *hs = &out->hard_state;
    bool hs_moved = out->hard_state_changed &&
                    (hs->term != b->term || hs->vote != b->vote || hs->commit > b->commit);
    bool applied_new = out->n_committed > 0 && out->committed[out->n_committed - 1].index > b->commit;
    bool wrote = out->n_entries > 0 || out->truncate_from != 0 || hs_moved || applied_new ||
                 out->n_events > 0;
    if (wrote || !status_equal(&before->st, &after->st) || !progress_equal(before, after)) {
        failf(fail, ctx, id, "stale_msg_changed_state",
              "n%" PRIu64 " in term %" PRIu64 " took %s of term %" PRIu64
              " and changed its state (term %" PRIu64 " -> %" PRIu64 ", commit %" PRIu64
              " -> %" PRIu64 ", last %" PRIu64 " -> %" PRIu64 ", %zu events, progress %s)",
              id, before->st.term, craft_msg_type_name(in->msgs.msgs[0].type),
              in->msgs.msgs[0].term, before->st.term, after->st.term, before->st.commit,
              after->st.commit, before->st.last_index, after->st.last_index, out->n_events,
              progress_equal(before, after) ? "same" : "changed");
    }
}

static unsigned count_bits(uint64_t v)
{
    unsigned n = 0;
    for (; v != 0; v &= v - 1) {
        n++;
    }
    return n;
}

static void check_leader_votes(struct sim_rules *r, craft_id id,
                               const struct sim_rules_view *before,
                               const struct sim_rules_view *after, sim_rules_fail_fn fail,
                               void *ctx)
{
    bool new_leader = after->st.role == CRAFT_LEADER &&
                      (before->st.role != CRAFT_LEADER || before->st.term != after->st.term);
    if (!new_leader) {
        return;
    }
    uint64_t mask = 0;
    (void)sim_map_get(&r->grants, id, after->st.term, &mask);
    mask &= ~((uint64_t)1 << id);
    unsigned votes = count_bits(mask) + 1; /* and its own */
    if (after->cfg.n_voters > 0) {
        /* Grants count only from voters of its configuration, a majority of each half. */
        struct sim_cfg_mask cfg = sim_member_mask(&after->cfg);
        uint32_t holders = (uint32_t)mask | (uint32_t)1 << id;
        if (!sim_member_quorum(&cfg, holders)) {
            failf(fail, ctx, id, "leader_without_quorum",
                  "n%" PRIu64 " became leader of term %" PRIu64 " without a majority of each half "
                  "of its configuration (voters 0x%x, old 0x%x; grants of that term that reached "
                  "it and its own: 0x%x)",
                  id, after->st.term, cfg.voters, cfg.old, holders);
        }
        return;
    }
    if (votes < r->majority) {
        failf(fail, ctx, id, "leader_without_quorum",
              "n%" PRIu64 " became leader of term %" PRIu64 " with %u of the %u votes it needs "
              "(grants of that term that reached it: mask 0x%" PRIx64 ")",
              id, after->st.term, votes, r->majority, mask);
    }
}

static craft_index match_before(const struct sim_rules_view *before, craft_term term, craft_id peer)
{
    if (before->st.role != CRAFT_LEADER || before->st.term != term) {
        return 0;
    }
    for (size_t i = 0; i < before->n_prog; i++) {
        if (before->prog[i].id == peer) {
            return before->prog[i].match;
        }
    }
    return 0;
}

static void check_match(struct sim_rules *r, craft_id id, const struct sim_rules_view *before,
                        const struct sim_rules_view *after, sim_rules_fail_fn fail, void *ctx)
{
    if (after->st.role != CRAFT_LEADER) {
        return;
    }
    for (size_t i = 0; i < after->n_prog; i++) {
        const struct craft_progress_status *p = &after->prog[i];
        if (p->match <= match_before(before, after->st.term, p->id)) {
            continue;
        }
        uint64_t acked = 0;
        if (p->id < CANDIDATE_SLOTS) {
            (void)sim_map_get(&r->acked, id * CANDIDATE_SLOTS + p->id, after->st.term, &acked);
        }
        if (p->match > acked) {
            failf(fail, ctx, id, "leader_match_unacked",
                  "leader n%" PRIu64 " of term %" PRIu64 " sets match %" PRIu64 " for n%" PRIu64
                  ", which acknowledged only up to %" PRIu64 " in that term",
                  id, after->st.term, p->match, p->id, acked);
        }
    }
}

static void check_progress_members(craft_id id, const struct sim_rules_view *after,
                                   sim_rules_fail_fn fail, void *ctx)
{
    if (after->st.role != CRAFT_LEADER || after->cfg.n_voters == 0) {
        return;
    }
    struct sim_cfg_mask cfg = sim_member_mask(&after->cfg);
    for (size_t i = 0; i < after->n_prog; i++) {
        craft_id p = after->prog[i].id;
        if (p == id || !sim_member_has(&cfg, p)) {
            failf(fail, ctx, id, "leader_progress_outsider",
                  "leader n%" PRIu64 " of term %" PRIu64 " keeps progress for n%" PRIu64
                  ", not another member of its configuration (voters 0x%x old 0x%x learners 0x%x)",
                  id, after->st.term, p, cfg.voters, cfg.old, cfg.learners);
            return;
        }
    }
}

static bool only_prevote_requests(const struct craft_input *in)
{
    if (in->type != CRAFT_IN_MSGS || in->msgs.n == 0) {
        return false;
    }
    for (size_t i = 0; i < in->msgs.n; i++) {
        if (in->msgs.msgs[i].type != CRAFT_MSG_PREVOTE) {
            return false;
        }
    }
    return true;
}

static void check_prevote(craft_id id, const struct craft_input *in,
                          const struct sim_rules_view *before, const struct sim_rules_view *after,
                          sim_rules_fail_fn fail, void *ctx)
{
    bool asking = (in->type == CRAFT_IN_TICK || in->type == CRAFT_IN_CAMPAIGN) &&
                  after->st.role == CRAFT_PRECANDIDATE;
    if (!asking && !only_prevote_requests(in)) {
        return;
    }
    if (after->st.term != before->st.term || after->st.vote != before->st.vote) {
        failf(fail, ctx, id, "prevote_changed_term",
              "n%" PRIu64 " %s a pre-vote and its (term, vote) went from (%" PRIu64 ", n%" PRIu64
              ") to (%" PRIu64 ", n%" PRIu64 ")",
              id, asking ? "asked for" : "answered", before->st.term, before->st.vote,
              after->st.term, after->st.vote);
    }
}

/* A message that speaks for a real term: not a pre-vote request, nor a granted pre-vote answer
 * (both carry the term a pre-candidate would campaign in). */
static bool carries_term(const struct craft_msg *m, craft_term term)
{
    if (m->term != term || m->type == CRAFT_MSG_PREVOTE) {
        return false;
    }
    return !(m->type == CRAFT_MSG_PREVOTE_RESP && m->vote_resp.granted);
}

static void check_term_rise(craft_id id, const struct craft_input *in,
                            const struct sim_rules_view *before,
                            const struct sim_rules_view *after, sim_rules_fail_fn fail, void *ctx)
{
    if (after->st.term <= before->st.term) {
        return;
    }
    bool campaigned = after->st.term == before->st.term + 1 && after->st.vote == id &&
                      (after->st.role == CRAFT_CANDIDATE || after->st.role == CRAFT_LEADER);
    if (campaigned) {
        return;
    }
    if (in->type == CRAFT_IN_MSGS) {
        for (size_t i = 0; i < in->msgs.n; i++) {
            if (carries_term(&in->msgs.msgs[i], after->st.term)) {
                return;
            }
        }
    }
    failf(fail, ctx, id, "term_rise_unjustified",
          "n%" PRIu64 " moved from term %" PRIu64 " to %" PRIu64 " (role %s, vote n%" PRIu64
          ") on input type %u, neither campaigning nor told that term by a message",
          id, before->st.term, after->st.term, craft_role_name(after->st.role), after->st.vote,
          in->type);
}

/* Thesis §3.10: a leader handing over takes no new entries, so its target can catch up with a log
 * that stands still. */
static void check_transfer(craft_id id, const struct craft_input *in,
                           const struct sim_rules_view *before,
                           const struct sim_rules_view *after, sim_rules_fail_fn fail, void *ctx)
{
    if (in->type != CRAFT_IN_PROPOSE || before->st.role != CRAFT_LEADER ||
        before->st.transfer_target == CRAFT_ID_NONE || after->st.term != before->st.term ||
        after->st.last_index <= before->st.last_index) {
        return;
    }
    failf(fail, ctx, id, "transfer_accepts_proposals",
          "leader n%" PRIu64 " of term %" PRIu64 " took a proposal (last %" PRIu64 " -> %" PRIu64
          ") while handing over to n%" PRIu64,
          id, before->st.term, before->st.last_index, after->st.last_index,
          before->st.transfer_target);
}

void sim_rules_step(struct sim_rules *r, craft_id id, const struct craft_input *in,
                    const struct sim_rules_view *before, const struct sim_rules_view *after,
                    const struct craft_output *out, sim_rules_fail_fn fail, void *ctx)
{
    check_stale(id, in, before, after, out, fail, ctx);
    check_leader_votes(r, id, before, after, fail, ctx);
    check_match(r, id, before, after, fail, ctx);
    check_progress_members(id, after, fail, ctx);
    check_prevote(id, in, before, after, fail, ctx);
    check_term_rise(id, in, before, after, fail, ctx);
    check_transfer(id, in, before, after, fail, ctx);
}
