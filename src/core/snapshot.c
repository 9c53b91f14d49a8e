/* Snapshots in the core (docs/ARCHITECTURE.md, "Snapshots"): the core owns the decisions and the
 * progress state, the node the bytes. Here: which snapshot exists, what a follower behind the
 * memory log gets (entries fetched from storage, or the snapshot when storage no longer has them
 * either), a stream's end, and installing a snapshot a leader sent. */
#include <string.h>

#include "core_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

int snapshot_meta_at(const struct craft_core *c, craft_index index, struct craft_snapshot_meta *out)
{
    if (index == 0 || index > c->commit || index > log_last_index(&c->log)) {
        return CRAFT_EINVAL; /* not committed, so not fixed yet */
    }
    if (index < log_first_index(&c->log) - 1) {
        return CRAFT_ECOMPACTED;
    }
    memset(out, 0, sizeof *out);
    out->index = index;
    out->term = log_term_at(&c->log, index);
    CRAFT_ASSERT(out->term != 0);
    int rv = membership_at(c, index, &out->membership);
#ifndef CRAFT_MUTATION_SNAPSHOT_META_NO_CONFIG
    if (rv == 0 && out->membership.n_voters == 0) {
        /* A node added to a running cluster holds the entries from before the one that added
         * it, but not the bootstrap configuration they ran under (it is in no entry). */
        return CRAFT_ENOTFOUND;
    }
#endif
    return rv;
}

int snapshot_taken(struct craft_core *c, const struct craft_snapshot_meta *m)
{
    if (m == NULL || m->index == 0 || m->term == 0 || m->index > c->applied ||
        !config_is_valid(&m->membership)) {
        return CRAFT_EINVAL;
    }
    if (m->index <= c->snapshot.index) {
        return 0; /* an older one finished late: the newer one stands */
    }
    struct log *l = &c->log;
    if (m->index >= log_first_index(l) - 1 && m->index <= log_last_index(l) &&
        log_term_at(l, m->index) != m->term) {
        return CRAFT_EINVAL; /* not a snapshot of this log */
    }
    c->snapshot = *m;
    return 0;
}

/* Answers the leader that the log matches its own up to index once this step is durable. */
static void acknowledge(struct craft_core *c, craft_id leader, craft_index index)
{
    struct craft_msg *m = output_msg_after_persist(c, CRAFT_MSG_APPEND_RESP, leader);
    if (m == NULL) {
        return;
    }
    m->append_resp.success = true;
    m->append_resp.index = index;
    output_msg_ack(c, &c->out_after, m, index);
}

/* The log after installing m: kept when it holds m's last entry (it then holds the same history
 * up to there, §5.3 Log Matching), else dropped, the durable snapshot standing in for it. */
static void install(struct craft_core *c, const struct craft_snapshot_meta *m)
{
    struct log *l = &c->log;
    bool keep = m->index >= log_first_index(l) && m->index <= log_last_index(l) &&
                log_term_at(l, m->index) == m->term;
#ifdef CRAFT_MUTATION_SNAPSHOT_DROPS_SUFFIX
    keep = false; /* mutation: the entries after a snapshot it already contained are dropped */
#endif
    if (keep) {
        if (l->stable < m->index) {
            l->stable = m->index; /* the durable snapshot covers them */
        }
    } else {
        /* Whatever this step wrote is gone with the rest; later messages write after it. */
        log_truncate(l, log_first_index(l));
        log_start_after(l, m->index, m->term);
        membership_init(c, &m->membership, m->index);
        c->dirty_from = 0;
        c->truncated = false;
    }
    c->out_snapshot = (struct craft_persist_snapshot){
        .index = m->index,
        .term = m->term,
        .drop_log = !keep,
    };
    if (m->index > c->snapshot.index) {
        c->snapshot = *m; /* storage may drop its log up to it, as after one taken here */
    }
    c->commit = m->index;
    /* The state machine is restored from the snapshot — unless it holds more already (a durable
     * one booted past its log): then it stays, and the log alone moves on. */
    if (c->applied < m->index) {
        c->applied = m->index;
    }
    if (c->emitted < m->index) {
        c->emitted = m->index;
    }
    output_event_commit(c);
}

int snapshot_installed(struct craft_core *c, craft_id from, craft_term term,
                       const struct craft_snapshot_meta *m)
{
    if (m == NULL || m->index == 0 || m->term == 0 || term < m->term || from == CRAFT_ID_NONE ||
        from == c->cfg.id || !config_is_valid(&m->membership)) {
        return CRAFT_EINVAL;
    }
    if (term > c->term) {
        role_become_follower(c, term, from); /* an AppendEntries of a newer term would do so */
    }
    bool from_leader = term == c->term && c->role != CRAFT_LEADER;
    if (from_leader) {
        role_follow(c, from);
    }
    if (c->role == CRAFT_LEADER || m->index <= c->commit) {
        if (from_leader) {
            acknowledge(c, from, c->commit); /* it has all of it: replication takes over */
        }
        return CRAFT_ESTALE;
    }
    /* A snapshot holds only applied, so committed, entries: installing one is safe whoever sent
     * it; an answer to a deposed leader carries our newer term and is ignored there. */
    install(c, m);
    acknowledge(c, from, m->index);
    return 0;
}

struct progress *snapshot_sent(struct craft_core *c, craft_id to, craft_index index, bool ok)
{
    struct peer *peer = c->role == CRAFT_LEADER ? peers_find(&c->peers, to) : NULL;
    if (peer == NULL || peer->id == c->cfg.id) {
        return NULL;
    }
    struct progress *p = &peer->pr;
    if (p->state != CRAFT_PROGRESS_SNAPSHOT || p->snapshot_index != index ||
        !p->snapshot_sending) {
        return NULL; /* an older stream's end */
    }
    if (!ok) {
        p->snapshot_sending = false;
        p->snapshot_retry_at = c->now + c->cfg.heartbeat_interval_ms;
        return NULL;
    }
    /* Delivered: its answer may still be on the way, or lost; probe right after the snapshot. */
    progress_become_probe(p);
    if (p->next < index + 1) {
        p->next = index + 1;
    }
    p->probe_after_snapshot = true;
    return p;
}

void snapshot_or_fetch(struct craft_core *c, struct progress *p)
{
    CRAFT_ASSERT(c->role == CRAFT_LEADER);
    CRAFT_ASSERT(p->next < log_first_index(&c->log));
    if (p->fetch_pending) {
        return;
    }
    if (c->snapshot.index >= p->next) {
        /* Storage dropped its log up to the snapshot: only the snapshot has these entries. */
        progress_become_snapshot(p, c->snapshot.index);
        output_snapshot_send(c, p->id);
        return;
    }
    craft_index last = log_first_index(&c->log) - 1;
    if (last - p->next + 1 > c->cfg.append_entries_max) {
        last = p->next + c->cfg.append_entries_max - 1;
    }
    p->fetch_pending = true;
    output_fetch(c, p->id, p->next, last);
}

bool snapshot_retry_due(const struct craft_core *c, const struct progress *p)
{
    return p->state == CRAFT_PROGRESS_SNAPSHOT && !p->snapshot_sending &&
           c->now >= p->snapshot_retry_at;
}

/* The fetched entries continue from prev (of prev_term) with terms that never fall and stay
 * within ours, agree with the log where it still holds them, and fit one AppendEntries. Returns
 * how many to send, or 0 if malformed. */
static uint32_t fetched_usable(const struct craft_core *c, craft_index prev, craft_term prev_term,
                               const struct craft_entry *e, size_t n)
{
    if (e == NULL) {
        return 0;
    }
    const struct log *l = &c->log;
    craft_term term = prev_term;
    uint64_t bytes = 0;
    uint32_t k = 0;
    for (; k < n && k < c->cfg.append_entries_max; k++) {
        const struct craft_entry *x = &e[k];
        if (x->index != prev + 1 + k || x->term < term || x->term > c->term ||
            x->type < CRAFT_ENTRY_NORMAL || x->type > CRAFT_ENTRY_CONFIG ||
            (x->data.len > 0 && x->data.base == NULL) || x->index > log_last_index(l) ||
            (x->index >= log_first_index(l) - 1 && log_term_at(l, x->index) != x->term)) {
            return 0;
        }
        if (k > 0 && bytes + x->data.len > c->cfg.append_bytes_max) {
            break;
        }
        bytes += x->data.len;
        term = x->term;
    }
    return k;
}

/* Copies n entries into the core's fetch buffer, which the step's AppendEntries borrows. */
static const struct craft_entry *fetched_copy(struct craft_core *c, const struct craft_entry *e,
                                              uint32_t n)
{
    size_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        bytes += e[i].data.len;
    }
    if (!craft_grow((void **)&c->fetched, &c->cap_fetched, n, sizeof *c->fetched) ||
        !craft_grow((void **)&c->fetched_bytes, &c->cap_fetched_bytes, bytes + 1, 1)) {
        return NULL;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        c->fetched[i] = e[i];
        if (e[i].data.len > 0) {
            memcpy(c->fetched_bytes + off, e[i].data.base, e[i].data.len);
            c->fetched[i].data.base = c->fetched_bytes + off;
            off += e[i].data.len;
        }
    }
    return c->fetched;
}

int snapshot_fetched(struct craft_core *c, craft_id to, craft_term prev_term,
                     const struct craft_entry *entries, size_t n, struct progress **resume)
{
    *resume = NULL;
    struct peer *peer = c->role == CRAFT_LEADER ? peers_find(&c->peers, to) : NULL;
    if (peer == NULL || peer->id == c->cfg.id || !peer->pr.fetch_pending) {
        return 0; /* not asked for any more (a lost leadership, a removed member) */
    }
    struct progress *p = &peer->pr;
    p->fetch_pending = false;
    if (n == 0 || p->state == CRAFT_PROGRESS_SNAPSHOT || entries == NULL ||
        entries[0].index != p->next) {
        /* Unreadable (a snapshot dropped them meanwhile) or overtaken: the next answer from the
         * follower, at the latest its heartbeat's, decides again, so a failing read never spins. */
        return n == 0 || entries != NULL ? 0 : CRAFT_EINVAL;
    }
    craft_index prev = p->next - 1;
    const struct log *l = &c->log;
    bool prev_known = prev >= log_first_index(l) - 1 || prev == c->snapshot.index || prev == 0;
    craft_term prev_want = prev == c->snapshot.index && prev < log_first_index(l) - 1
                               ? c->snapshot.term
                               : log_term_at(l, prev);
    uint32_t k = fetched_usable(c, prev, prev_term, entries, n);
    if (k == 0 || (prev_known && prev_term != prev_want)) {
        return CRAFT_EINVAL;
    }
    const struct craft_entry *copy = fetched_copy(c, entries, k);
    struct craft_msg *m = copy != NULL ? output_msg(c, CRAFT_MSG_APPEND, p->id) : NULL;
    if (m == NULL) {
        return CRAFT_ENOMEM;
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < k; i++) {
        bytes += copy[i].data.len;
    }
    m->append.prev_index = p->next - 1;
    m->append.prev_term = prev_term;
    m->append.commit = c->commit;
    m->append.round = c->reads.round;
    output_msg_fetched(c, m, copy, k);
    progress_on_sent(p, copy[k - 1].index, k, bytes);
    *resume = p; /* the next batch: fetched again, or from memory */
    return 0;
}
