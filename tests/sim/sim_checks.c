/* The invariant checkers. Each is O(1) per entry or message except on rare events (a durable
 * truncation of committed indexes, a restart), so they run after every step of every seed. */
#include "sim_checks.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim_hash.h"
#include "sim_mem.h"

void sim_checks_init(struct sim_checks *ck, struct sim_node *nodes, unsigned n_nodes)
{
    memset(ck, 0, sizeof(*ck));
    ck->n_nodes = n_nodes;
    ck->majority = n_nodes / 2 + 1;
    ck->nodes = nodes;
    ck->rule_checks = true;
    sim_map_init(&ck->prefix_at);
    sim_map_init(&ck->leader_of);
    sim_map_init(&ck->vote_of);
    sim_rules_init(&ck->rules, n_nodes);
}

void sim_checks_close(struct sim_checks *ck)
{
    sim_map_close(&ck->prefix_at);
    sim_map_close(&ck->leader_of);
    sim_map_close(&ck->vote_of);
    sim_rules_close(&ck->rules);
    craft_free(ck->committed);
    craft_free(ck->commit_cfg);
    memset(ck, 0, sizeof(*ck));
}

bool sim_checks_failed(const struct sim_checks *ck)
{
    return ck->violation != NULL;
}

void sim_checks_fail(struct sim_checks *ck, craft_id node, const char *name, const char *fmt, ...)
{
    if (ck->violation != NULL) {
        return;
    }
    ck->violation = name;
    ck->violation_node = node;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ck->detail, sizeof(ck->detail), fmt, ap);
    va_end(ap);
}

static uint32_t role_at_end(const struct sim_node *n, const struct craft_output *out)
{
    uint32_t role = n->role;
    for (size_t i = 0; i < out->n_events; i++) {
        if (out->events[i].type == CRAFT_EVENT_ROLE) {
            role = out->events[i].role;
        }
    }
    return role;
}

static void check_prefix(struct sim_checks *ck, craft_id node, craft_index index, craft_term term,
                         uint64_t prefix, const char *where)
{
    uint64_t known;
    if (sim_map_get(&ck->prefix_at, index, term, &known)) {
        if (known != prefix) {
            sim_checks_fail(ck, node, "log_matching",
                            "n%" PRIu64 " %s holds (index %" PRIu64 ", term %" PRIu64
                            ") with a log prefix that differs from another node's",
                            node, where, index, term);
        }
        return;
    }
    sim_map_put(&ck->prefix_at, index, term, prefix);
}

/* An installed snapshot: the volatile log up to its index is the committed one (it holds only
 * committed entries); with drop_log nothing follows it. Keeping the log is allowed only when the
 * log held the snapshot's last entry. */
static void mirror_snapshot(struct sim_checks *ck, struct sim_node *n,
                            const struct craft_persist_snapshot *s)
{
    if (s->index > ck->n_committed) {
        sim_checks_fail(ck, n->id, "snapshot_uncommitted",
                        "n%" PRIu64 " installs a snapshot up to %" PRIu64
                        " but only %zu entries are committed",
                        n->id, s->index, ck->n_committed);
        return;
    }
    const struct sim_committed *at = &ck->committed[s->index - 1];
    if (at->term != s->term) {
        sim_checks_fail(ck, n->id, "snapshot_term",
                        "n%" PRIu64 " installs a snapshot of (%" PRIu64 ", term %" PRIu64
                        ") but the committed entry there has term %" PRIu64,
                        n->id, s->index, s->term, at->term);
        return;
    }
    bool held = n->n_log >= s->index && n->log[s->index - 1].prefix == at->prefix;
    if (s->drop_log && held && ck->rule_checks) {
        /* §2 of the issue (and the thesis, §5.4): a follower keeps the entries that follow a
         * snapshot its log already holds; they may be acknowledged, even counted in a commit. */
        sim_checks_fail(ck, n->id, "snapshot_drops_suffix",
                        "n%" PRIu64 " drops its log (last %zu) on installing a snapshot up to %" PRIu64
                        " that its log holds",
                        n->id, n->n_log, s->index);
        return;
    }
    if (!s->drop_log) {
        if (!held) {
            sim_checks_fail(ck, n->id, "snapshot_keeps_divergent_log",
                            "n%" PRIu64 " keeps its log after a snapshot up to %" PRIu64
                            " that its log (last %zu) does not hold",
                            n->id, s->index, n->n_log);
        }
        return;
    }
    size_t same = 0;
    while (same < n->n_log && same < s->index &&
           n->log[same].prefix == ck->committed[same].prefix) {
        same++;
    }
    sim_node_mirror_truncate(n, same + 1);
    for (size_t i = same; i < s->index; i++) {
        const struct sim_committed *c = &ck->committed[i];
        sim_node_mirror_append(n, c->term, c->type, c->data_hash);
    }
    n->cfg_last = sim_node_config_scan(n, n->n_log);
}

void sim_checks_output_log(struct sim_checks *ck, struct sim_node *n, const struct craft_output *out)
{
    if (out->snapshot.index != 0) {
        mirror_snapshot(ck, n, &out->snapshot);
    }
    if (out->truncate_from == 0 && out->n_entries == 0) {
        return;
    }
    if (role_at_end(n, out) == CRAFT_LEADER && out->truncate_from != 0 &&
        out->truncate_from <= n->n_log) {
        sim_checks_fail(ck, n->id, "leader_append_only",
                        "leader n%" PRIu64 " (term %" PRIu64 ") truncates its log from %" PRIu64
                        " (last %zu)",
                        n->id, n->term, out->truncate_from, n->n_log);
    }
    if (out->truncate_from != 0) {
        if (out->truncate_from > n->n_log + 1) {
            sim_checks_fail(ck, n->id, "log_contiguous",
                            "n%" PRIu64 " truncates from %" PRIu64 " beyond its last index %zu",
                            n->id, out->truncate_from, n->n_log);
        }
        sim_node_mirror_truncate(n, out->truncate_from);
    }
    for (size_t i = 0; i < out->n_entries; i++) {
        const struct craft_entry *e = &out->entries[i];
        if (e->index != n->n_log + 1) {
            sim_checks_fail(ck, n->id, "log_contiguous",
                            "n%" PRIu64 " appends index %" PRIu64 " after last index %zu", n->id,
                            e->index, n->n_log);
            return;
        }
        if (n->n_log > 0 && e->term < n->log[n->n_log - 1].term) {
            sim_checks_fail(ck, n->id, "log_matching",
                            "n%" PRIu64 " appends index %" PRIu64 " of term %" PRIu64
                            " after an entry of term %" PRIu64,
                            n->id, e->index, e->term, n->log[n->n_log - 1].term);
        }
        uint64_t prefix =
            sim_node_mirror_append(n, e->term, e->type, sim_hash_bytes(e->data.base, e->data.len));
        check_prefix(ck, n->id, e->index, e->term, prefix, "log");
    }
}

/* §5.4.3: every entry committed in a term before `term` is in the log of term's leader. An entry's
 * commit term is the term of the node that applied it first (the leader that committed it). A
 * leader of an old term can be elected after newer terms committed more (a slow vote response),
 * so the newest entries whose commit term is not below `term` are skipped. */
static void check_completeness(struct sim_checks *ck, const struct sim_node *n, craft_term term)
{
    size_t m = ck->n_committed;
    while (m > 0 && ck->committed[m - 1].commit_term >= term) {
        m--;
    }
    if (m == 0) {
        return;
    }
    const struct sim_committed *c = &ck->committed[m - 1];
    if (n->n_log < m || n->log[m - 1].prefix != c->prefix) {
        sim_checks_fail(ck, n->id, "leader_completeness",
                        "n%" PRIu64 " became leader of term %" PRIu64 " with last index %zu but "
                        "entries up to %zu (index %zu: term %" PRIu64 ", committed in term %" PRIu64
                        ") are committed and its log does not hold them",
                        n->id, term, n->n_log, m, m, c->term, c->commit_term);
    }
}

static void on_role(struct sim_checks *ck, struct sim_node *n, const struct craft_event *ev)
{
    if (ev->term < n->term) {
        sim_checks_fail(ck, n->id, "term_monotonic",
                        "n%" PRIu64 " term goes from %" PRIu64 " back to %" PRIu64, n->id, n->term,
                        ev->term);
    }
    bool new_leader = ev->role == CRAFT_LEADER && (n->role != CRAFT_LEADER || n->term != ev->term);
    n->role = ev->role;
    n->term = ev->term;
    n->leader = ev->peer;
    if (!new_leader) {
        return;
    }
    ck->elections++;
    n->lead_start = 0;
    uint64_t other;
    if (sim_map_get(&ck->leader_of, ev->term, 0, &other) && other != n->id) {
        sim_checks_fail(ck, n->id, "election_safety",
                        "n%" PRIu64 " and n%" PRIu64 " are both leaders of term %" PRIu64, other,
                        n->id, ev->term);
    }
    sim_map_put(&ck->leader_of, ev->term, 0, n->id);
    check_completeness(ck, n, ev->term);
}

/* Indexes up to upto not yet recorded were committed under the stepping node's configurations. */
static void record_commit_cfg(struct sim_checks *ck, craft_index upto)
{
    if (upto <= ck->n_commit_cfg) {
        return;
    }
    void *arr = ck->commit_cfg;
    sim_grow(&arr, &ck->cap_commit_cfg, upto, sizeof(*ck->commit_cfg));
    ck->commit_cfg = arr;
    while (ck->n_commit_cfg < upto) {
        ck->commit_cfg[ck->n_commit_cfg++] = ck->step_cfg;
    }
}

void sim_checks_event(struct sim_checks *ck, struct sim_node *n, const struct craft_event *ev)
{
    if (ev->type == CRAFT_EVENT_ROLE) {
        on_role(ck, n, ev);
    } else if (ev->type == CRAFT_EVENT_COMMIT) {
        if (ck->rule_checks && n->role == CRAFT_LEADER && ev->index > n->commit &&
            ev->index <= n->n_log && n->log[ev->index - 1].term != n->term) {
            /* Figure 2 / §5.4.2: a leader commits by counting replicas only an entry of its own
             * term (earlier ones commit with it). */
            sim_checks_fail(ck, n->id, "leader_commit_current_term",
                            "leader n%" PRIu64 " of term %" PRIu64 " advances its commit to %" PRIu64
                            " whose entry has term %" PRIu64,
                            n->id, n->term, ev->index, n->log[ev->index - 1].term);
        }
        if (n->role == CRAFT_LEADER) {
            record_commit_cfg(ck, ev->index); /* the first commit of these indexes */
        }
        if (ev->index < n->commit) {
            sim_checks_fail(ck, n->id, "commit_monotonic",
                            "n%" PRIu64 " commit goes from %" PRIu64 " back to %" PRIu64, n->id,
                            n->commit, ev->index);
        }
        n->commit = ev->index;
    }
}

void sim_checks_hard_state(struct sim_checks *ck, struct sim_node *n,
                           const struct craft_hard_state *hs)
{
    if (hs->term < n->hs_term) {
        sim_checks_fail(ck, n->id, "term_monotonic",
                        "n%" PRIu64 " hard state term goes from %" PRIu64 " back to %" PRIu64,
                        n->id, n->hs_term, hs->term);
    }
    if (hs->commit < n->hs_commit) {
        sim_checks_fail(ck, n->id, "commit_monotonic",
                        "n%" PRIu64 " hard state commit goes from %" PRIu64 " back to %" PRIu64,
                        n->id, n->hs_commit, hs->commit);
    }
    n->hs_term = hs->term;
    n->hs_commit = hs->commit;
}

static uint32_t durable_mask(const struct sim_checks *ck, craft_index index, craft_term term)
{
    uint32_t k = 0;
    for (unsigned i = 1; i <= ck->n_nodes; i++) {
        const struct sim_disk *d = &ck->nodes[i].disk;
        if (d->n_log >= index && d->log[index - 1].term == term) {
            k |= (uint32_t)1 << i;
        }
    }
    return k;
}

/* committed_durable: the durable copies of committed index hold a majority of each half of a
 * configuration it was committed under (of every node when none was recorded, e.g. by a test
 * that feeds the checks by hand). */
static bool durable_enough(const struct sim_checks *ck, craft_index index, uint32_t holders)
{
    const struct sim_commit_cfg *cc = index <= ck->n_commit_cfg ? &ck->commit_cfg[index - 1] : NULL;
    if (cc == NULL || cc->before.voters == 0) {
        return sim_member_count(holders) >= ck->majority;
    }
    return sim_member_quorum(&cc->before, holders) || sim_member_quorum(&cc->after, holders);
}

static void fail_durable(struct sim_checks *ck, craft_id node, craft_index index,
                         const struct sim_committed *c, const char *what)
{
    struct sim_commit_cfg none = {{0, 0, 0}, {0, 0, 0}};
    const struct sim_commit_cfg *cc = index <= ck->n_commit_cfg ? &ck->commit_cfg[index - 1] : &none;
    sim_checks_fail(ck, node, "committed_durable",
                    "(index %" PRIu64 ", term %" PRIu64 ") is committed but %s: durable logs holding "
                    "it 0x%x; committed under voters 0x%x old 0x%x (or 0x%x old 0x%x after the step)",
                    index, c->term, what, c->durable, cc->before.voters, cc->before.old,
                    cc->after.voters, cc->after.old);
}

void sim_checks_apply(struct sim_checks *ck, struct sim_node *n, const struct craft_entry *e)
{
    if (e->index <= n->applied) {
        /* Nothing at or below what the state machine holds is handed out again (an INCR would
         * run twice), not even after a restart of a state machine that kept its applied index. */
        sim_checks_fail(ck, n->id, "apply_once",
                        "n%" PRIu64 " is handed index %" PRIu64 " again after applying up to %" PRIu64,
                        n->id, e->index, n->applied);
        return;
    }
    if (e->index != n->applied + 1) {
        sim_checks_fail(ck, n->id, "state_machine_safety",
                        "n%" PRIu64 " applies index %" PRIu64 " after %" PRIu64, n->id, e->index,
                        n->applied);
        return;
    }
    uint64_t data_hash = sim_hash_bytes(e->data.base, e->data.len);
    if (e->index > n->n_log || n->log[e->index - 1].term != e->term ||
        n->log[e->index - 1].data_hash != data_hash) {
        sim_checks_fail(ck, n->id, "apply_matches_log",
                        "n%" PRIu64 " applies (index %" PRIu64 ", term %" PRIu64
                        ") which is not the entry in its log (last %zu)",
                        n->id, e->index, e->term, n->n_log);
        return;
    }
    n->applied = e->index;
    if (e->index <= ck->n_committed) {
        const struct sim_committed *c = &ck->committed[e->index - 1];
        if (c->term != e->term || c->data_hash != data_hash || c->type != e->type) {
            sim_checks_fail(ck, n->id, "state_machine_safety",
                            "n%" PRIu64 " applies (index %" PRIu64 ", term %" PRIu64
                            ") but another node applied term %" PRIu64 " there",
                            n->id, e->index, e->term, c->term);
        }
        return;
    }
    CRAFT_ASSERT(e->index == ck->n_committed + 1); /* n applied every index below in order */
    void *arr = ck->committed;
    sim_grow(&arr, &ck->cap_committed, ck->n_committed + 1, sizeof(*ck->committed));
    ck->committed = arr;
    struct sim_committed *c = &ck->committed[ck->n_committed++];
    c->term = e->term;
    c->type = e->type;
    c->data_hash = data_hash;
    c->len = e->data.len;
    c->prefix = n->log[e->index - 1].prefix;
    c->commit_term = n->term > n->hs_term ? n->term : n->hs_term;
    c->durable = durable_mask(ck, e->index, e->term);
    /* Not committed by a leader's count that the checks saw: judge by the applier's. */
    record_commit_cfg(ck, e->index);
    if (!durable_enough(ck, e->index, c->durable)) {
        fail_durable(ck, n->id, e->index, c, "too few durable logs hold it at its first apply");
    }
}

void sim_checks_rule_fail(void *ctx, craft_id node, const char *name, const char *detail)
{
    sim_checks_fail(ctx, node, name, "%s", detail);
}

/* §5.3: a follower acknowledges index i to the leader of its term only when its durable log
 * holds the leader's log up to i, terms and all (Log Matching); the leader's match comes from
 * these acknowledgements (sim_rules checks that half). */
static void check_ack_prefix(struct sim_checks *ck, const struct sim_node *n,
                             const struct craft_msg *m)
{
    const struct sim_disk *d = &n->disk;
    craft_index i = m->append_resp.index;
    if (i == 0 || m->to < 1 || m->to > ck->n_nodes || d->n_log < i) {
        return; /* ack_durable judges a durable log that is too short */
    }
    const struct sim_node *l = &ck->nodes[m->to];
    if (!l->up || l->role != CRAFT_LEADER || l->term != m->term || l->n_log < i) {
        return;
    }
    if (d->log[i - 1].prefix != l->log[i - 1].prefix) {
        sim_checks_fail(ck, n->id, "ack_not_leader_prefix",
                        "n%" PRIu64 " acknowledges index %" PRIu64 " to leader n%" PRIu64
                        " of term %" PRIu64 " but its durable log up to there (last term %" PRIu64
                        ") differs from the leader's (term %" PRIu64 ")",
                        n->id, i, m->to, m->term, d->log[i - 1].term, l->log[i - 1].term);
    }
}

/* Thesis §3.10: TimeoutNow goes only to a target whose durable log holds all of the leader's, so
 * its campaign can win (and needs no entry the leader would still have to send). */
static void check_timeout_now(struct sim_checks *ck, const struct sim_node *n,
                              const struct craft_msg *m)
{
    if (m->to < 1 || m->to > ck->n_nodes) {
        return;
    }
    const struct sim_disk *t = &ck->nodes[m->to].disk;
    size_t last = n->n_log;
    if (t->hs.term > m->term) {
        return; /* the target moved on to a newer term (and may have truncated what it acked
                   here): the TimeoutNow of a deposed leader, ignored there */
    }
    if (last > 0 && (t->n_log < last || t->log[last - 1].prefix != n->log[last - 1].prefix)) {
        sim_checks_fail(ck, n->id, "transfer_target_behind",
                        "leader n%" PRIu64 " sends TimeoutNow to n%" PRIu64 " whose durable log "
                        "(last %zu) does not hold its log up to %zu",
                        n->id, m->to, t->n_log, last);
    }
}

void sim_checks_send(struct sim_checks *ck, const struct sim_node *n, const struct craft_msg *m)
{
    if (ck->rule_checks && m->type == CRAFT_MSG_TIMEOUT_NOW) {
        check_timeout_now(ck, n, m);
    }
    const struct sim_disk *d = &n->disk;
    if (ck->rule_checks) {
        sim_rules_sent(&ck->rules, m, sim_checks_rule_fail, ck);
    }
    if (m->type == CRAFT_MSG_VOTE_RESP && m->vote_resp.granted) {
        uint64_t other;
        if (sim_map_get(&ck->vote_of, m->from, m->term, &other) && other != m->to) {
            sim_checks_fail(ck, n->id, "vote_once",
                            "n%" PRIu64 " grants its vote in term %" PRIu64 " to n%" PRIu64
                            " and to n%" PRIu64,
                            m->from, m->term, other, m->to);
        }
        sim_map_put(&ck->vote_of, m->from, m->term, m->to);
        if (ck->rule_checks && (d->hs.term != m->term || d->hs.vote != m->to)) {
            sim_checks_fail(ck, n->id, "vote_durable",
                            "n%" PRIu64 " grants its vote to n%" PRIu64 " in term %" PRIu64
                            " but its durable hard state says term %" PRIu64 " vote n%" PRIu64,
                            m->from, m->to, m->term, d->hs.term, d->hs.vote);
        }
    } else if (ck->rule_checks && m->type == CRAFT_MSG_APPEND_RESP && m->append_resp.success) {
        if (d->n_log < m->append_resp.index) {
            sim_checks_fail(ck, n->id, "ack_durable",
                            "n%" PRIu64 " acknowledges index %" PRIu64 " to n%" PRIu64
                            " but only %zu entries are durable",
                            m->from, m->append_resp.index, m->to, d->n_log);
        }
        check_ack_prefix(ck, n, m);
    }
}

void sim_checks_restart(struct sim_checks *ck, struct sim_node *n)
{
    (void)ck; /* every durable entry passed check_prefix as it became durable (obs_append) */
    const struct sim_disk *d = &n->disk;
    sim_node_forget(n);
    n->n_log = 0;
    void *arr = n->log;
    sim_grow(&arr, &n->cap_log, d->n_log, sizeof(*n->log));
    n->log = arr;
    for (size_t i = 0; i < d->n_log; i++) {
        n->log[i] = (struct sim_mirror_ent){.term = d->log[i].term,
                                            .type = d->log[i].type,
                                            .data_hash = d->log[i].data_hash,
                                            .prefix = d->log[i].prefix};
    }
    n->n_log = d->n_log;
    n->cfg_last = sim_node_config_scan(n, n->n_log);
    n->term = d->hs.term;
    n->hs_term = d->hs.term;
    n->role = CRAFT_FOLLOWER;
}

static void obs_truncate(void *ctx, const struct sim_disk *d, craft_index from)
{
    struct sim_checks *ck = ctx;
    size_t last = d->n_log < ck->n_committed ? d->n_log : ck->n_committed;
    for (size_t i = from; i <= last; i++) {
        struct sim_committed *c = &ck->committed[i - 1];
        if (d->log[i - 1].term != c->term) {
            continue;
        }
        c->durable &= ~((uint32_t)1 << d->id);
        if (!durable_enough(ck, i, c->durable)) {
            char what[64];
            snprintf(what, sizeof what, "n%" PRIu64 " dropped it from its durable log", d->id);
            fail_durable(ck, d->id, i, c, what);
        }
    }
}

static void obs_append(void *ctx, const struct sim_disk *d, craft_index index)
{
    struct sim_checks *ck = ctx;
    const struct sim_disk_ent *de = &d->log[index - 1];
    check_prefix(ck, d->id, index, de->term, de->prefix, "durable log");
    if (index <= ck->n_committed && ck->committed[index - 1].term == d->log[index - 1].term) {
        ck->committed[index - 1].durable |= (uint32_t)1 << d->id;
    }
}

static void obs_hard_state(void *ctx, const struct sim_disk *d, const struct craft_hard_state *hs)
{
    struct sim_checks *ck = ctx;
    if (hs->term < d->hs.term) {
        sim_checks_fail(ck, d->id, "durable_hard_state",
                        "n%" PRIu64 " durable term goes from %" PRIu64 " back to %" PRIu64, d->id,
                        d->hs.term, hs->term);
    } else if (hs->term == d->hs.term && d->hs.vote != CRAFT_ID_NONE && hs->vote != d->hs.vote) {
        sim_checks_fail(ck, d->id, "durable_hard_state",
                        "n%" PRIu64 " durable vote in term %" PRIu64 " changes from n%" PRIu64
                        " to n%" PRIu64,
                        d->id, hs->term, d->hs.vote, hs->vote);
    }
}

static void obs_committed(void *ctx, craft_index index, struct sim_disk_ent *out)
{
    struct sim_checks *ck = ctx;
    CRAFT_ASSERT(index >= 1 && index <= ck->n_committed); /* a snapshot covers applied entries */
    const struct sim_committed *c = &ck->committed[index - 1];
    *out = (struct sim_disk_ent){.term = c->term,
                                 .type = c->type,
                                 .data_hash = c->data_hash,
                                 .prefix = c->prefix,
                                 .len = c->len};
}

struct sim_disk_observer sim_checks_observer(struct sim_checks *ck)
{
    struct sim_disk_observer obs = {ck, obs_truncate, obs_append, obs_hard_state, obs_committed};
    return obs;
}
