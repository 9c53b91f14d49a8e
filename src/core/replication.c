/* Log replication (§5.3) and commitment (§5.4.2): the leader's AppendEntries pipeline and its
 * commit rule, and the follower's consistency check, conflict truncation and acknowledgement. */
#include "core_internal.h"
#include "util/assert.h"

static uint64_t bytes_between(const struct log *l, craft_index first, craft_index last)
{
    if (first > last) {
        return 0;
    }
    const struct craft_entry *e = log_get(l, first); /* the entries up to last follow it */
    CRAFT_ASSERT(last <= log_last_index(l));
    uint64_t bytes = 0;
    for (size_t i = 0; i <= last - first; i++) {
        bytes += e[i].data.len;
    }
    return bytes;
}

/* A new leader's first acts: thesis §6.4's no-op of its term lets earlier entries commit (§5.4.2
 * forbids counting replicas of older terms) and tells it what is committed; then replication. */
void replication_start_leading(struct craft_core *c)
{
    CRAFT_ASSERT(c->role == CRAFT_LEADER);
    if (log_append(&c->log, c->term, CRAFT_ENTRY_NOOP, NULL, 0) == 0) {
        output_log_written(c, log_last_index(&c->log), false);
    } else {
        c->out_of_memory = true;
    }
    c->term_start = log_last_index(&c->log); /* a change waits until this commits (§4.1) */
    c->uncommitted_bytes = bytes_between(&c->log, c->commit + 1, log_last_index(&c->log));
    replication_broadcast_append(c);
    replication_maybe_commit(c); /* a single voter commits alone */
}

/* Sends one AppendEntries to p if its window allows. Returns true if one was sent. */
static bool send_one(struct craft_core *c, struct progress *p)
{
    if (progress_is_paused(p, c->cfg.inflight_bytes_max)) {
        return false;
    }
    if (p->next < log_first_index(&c->log)) {
        snapshot_or_fetch(c, p); /* storage has them, or only a snapshot can help */
        return false;
    }
    craft_index prev = p->next - 1;
    size_t n_avail = log_n_from(&c->log, p->next);
    /* The entries from next on are one array: walked by pointer, the limits in locals. */
    const struct craft_entry *e = n_avail > 0 ? log_get(&c->log, p->next) : NULL;
    size_t n_max = n_avail < c->cfg.append_entries_max ? n_avail : c->cfg.append_entries_max;
    uint64_t bytes_max = c->cfg.append_bytes_max;
    uint32_t n = 0;
    uint64_t bytes = 0;
    while (n < n_max) {
        size_t len = e[n].data.len;
#ifdef CRAFT_MUTATION_APPEND_BYTES_OVERSHOOT
        if (n > 0 && bytes > bytes_max) { /* mutation: one entry past the limit */
            break;
        }
#else
        if (n > 0 && bytes + len > bytes_max) {
            break;
        }
#endif
        bytes += len;
        n++;
    }
    if (p->state == CRAFT_PROGRESS_REPLICATE && n == 0) {
        return false;
    }
    struct craft_msg *m = output_msg(c, CRAFT_MSG_APPEND, p->id);
    if (m == NULL) {
        return false;
    }
    m->append.prev_index = prev;
    m->append.prev_term = log_term_at(&c->log, prev);
    m->append.commit = c->commit;
    m->append.round = c->reads.round;
    if (n > 0) {
        output_msg_entries(c, m, p->next, n);
    }
    progress_on_sent(p, prev + n, n, bytes);
    return true;
}

void replication_send_append(struct craft_core *c, struct progress *p)
{
    while (send_one(c, p) && p->state == CRAFT_PROGRESS_REPLICATE) {
    }
}

/* Calls fn for every member but self: voters of either half and learners alike receive the log. */
#define FOR_EACH_FOLLOWER(c, p)                                                                    \
    for (struct peer *p = (c)->peers.slot; p < (c)->peers.slot + (c)->peers.n_slots; p++)          \
        if (p->id != CRAFT_ID_NONE && p->id != (c)->cfg.id)

void replication_broadcast_append(struct craft_core *c)
{
    FOR_EACH_FOLLOWER(c, p)
    {
        replication_send_append(c, &p->pr);
    }
}

#ifdef CRAFT_MUTATION_CHECK_PER_ANSWER
/* Mutation: the rule commit e9abaf8 removed, an empty AppendEntries at next - 1 on every answer
 * that moved nothing while entries are in flight (a flood under load). */
static void send_check(struct craft_core *c, struct progress *p)
{
    struct craft_msg *m = output_msg(c, CRAFT_MSG_APPEND, p->id);
    if (m == NULL) {
        return;
    }
    m->append.prev_index = p->next - 1;
    m->append.prev_term = log_term_at(&c->log, p->next - 1);
    m->append.commit = c->commit;
}
#endif

/* A heartbeat checks the follower's log at the known match point, so the follower may commit up
 * to it and no further. When entries have been in flight for a whole heartbeat interval without
 * moving match, one of them (or its answer) was probably lost: the heartbeat then checks at
 * next - 1 instead, and the follower either confirms everything sent (match catches up) or
 * refuses (and the leader probes from its hint). So a lost append is repaired at the cost of no
 * message beyond the heartbeat itself: one per follower per heartbeat interval. */
static craft_index heartbeat_prev(struct craft_core *c, struct progress *p)
{
    bool stalled = p->state == CRAFT_PROGRESS_REPLICATE && p->count > 0 &&
                   p->match == p->match_at_heartbeat;
    p->match_at_heartbeat = p->match;
    craft_index prev = stalled ? p->next - 1 : p->match;
    if (prev < log_first_index(&c->log) - 1) {
        prev = log_first_index(&c->log) - 1;
    }
    return prev;
}

static void broadcast_heartbeat(struct craft_core *c)
{
    uint64_t round = read_start_round(c); /* every heartbeat starts a round (reads, leases) */
    FOR_EACH_FOLLOWER(c, peer)
    {
        struct progress *p = &peer->pr;
        craft_index prev = heartbeat_prev(c, p);
        if (p->state == CRAFT_PROGRESS_PROBE) {
            p->probe_retry = true; /* a lost probe is sent again on an answer from a live peer */
        }
        struct craft_msg *m = output_msg(c, CRAFT_MSG_APPEND, p->id);
        if (m == NULL) {
            return;
        }
        m->append.prev_index = prev;
        m->append.prev_term = log_term_at(&c->log, prev);
        m->append.commit = c->commit;
        m->append.round = round;
    }
}

void replication_heartbeat_round(struct craft_core *c)
{
    CRAFT_ASSERT(c->role == CRAFT_LEADER);
    c->heartbeat_deadline = c->now + c->cfg.heartbeat_interval_ms;
    broadcast_heartbeat(c);
}

void replication_tick(struct craft_core *c)
{
    CRAFT_ASSERT(c->role == CRAFT_LEADER);
    if (c->now >= c->heartbeat_deadline) {
        c->heartbeat_deadline = c->now + c->cfg.heartbeat_interval_ms;
        broadcast_heartbeat(c);
    }
    FOR_EACH_FOLLOWER(c, peer)
    {
        if (snapshot_retry_due(c, &peer->pr)) {
            progress_become_probe(&peer->pr); /* a newer snapshot, or entries, may serve now */
            replication_send_append(c, &peer->pr);
        }
    }
}

void replication_maybe_commit(struct craft_core *c)
{
    if (c->role != CRAFT_LEADER) {
        return;
    }
    /* The leader counts itself only for what its own disk holds (and only if it votes). */
    craft_index n = peers_quorum_index(&c->peers, c->cfg.id, c->log.stable);
    if (n <= c->commit) {
        return;
    }
#ifndef CRAFT_MUTATION_FIGURE8
    /* §5.4.2 (Figure 8): only an entry of the current term commits by counting replicas. */
    if (log_term_at(&c->log, n) != c->term) {
        return;
    }
#endif
    c->uncommitted_bytes -= bytes_between(&c->log, c->commit + 1, n);
    c->commit = n;
    output_event_commit(c);
}

void replication_on_append_response(struct craft_core *c, const struct craft_msg *m)
{
    struct peer *peer = peers_find(&c->peers, m->from);
    const struct craft_msg_append_resp *r = &m->append_resp;
    if (peer == NULL || peer->id == c->cfg.id || r->index > log_last_index(&c->log)) {
        return; /* not a member of ours, or an answer about entries we never had */
    }
    read_on_round_answer(c, peer, r->round); /* it still took us for its leader */
    struct progress *p = &peer->pr;
    p->recent_active = true;
    if (r->success) {
        /* The install's answer to a delivered snapshot, arriving after the probe that
         * followed the delivery went out: that probe is still on its way, keep it in flight. */
        bool probe_out = p->state == CRAFT_PROGRESS_PROBE && p->probe_sent &&
                         p->probe_after_snapshot && r->index == p->snapshot_index &&
                         p->probe_last > r->index;
        if (progress_on_ack(p, r->index)) {
            if (probe_out) {
                progress_replicate_keeping_probe(p);
            } else if (p->state == CRAFT_PROGRESS_PROBE ||
                       (p->state == CRAFT_PROGRESS_SNAPSHOT && p->match >= p->snapshot_index)) {
                progress_become_replicate(p); /* a snapshot's answer is an ordinary ack */
            }
            replication_maybe_commit(c);
        }
#ifdef CRAFT_MUTATION_CHECK_PER_ANSWER
        else if (p->state == CRAFT_PROGRESS_REPLICATE && p->match + 1 < p->next) {
            send_check(c, p);
        }
#endif
        replication_send_append(c, p);
        return;
    }
    /* Fast backtracking: skip the follower's whole conflicting term at once. */
    craft_index next_hint = r->hint_index;
    if (r->hint_term != 0) {
        craft_index last_of_term = log_term_last_index(&c->log, r->hint_term);
        if (last_of_term > 0) {
            next_hint = last_of_term + 1;
        }
    }
    if (next_hint == 0) {
        next_hint = 1;
    }
    if (progress_on_reject(p, r->index, next_hint)) {
        replication_send_append(c, p);
    }
}

/* Entries in an AppendEntries must be numbered from prev_index + 1, with terms that never fall,
 * start at or after prev_term and stay within the sender's term. */
static bool append_is_well_formed(const struct craft_msg *m)
{
    const struct craft_msg_append *a = &m->append;
    craft_term term = a->prev_term;
    if (a->n_entries > 0 && a->entries == NULL) {
        return false;
    }
    for (uint32_t i = 0; i < a->n_entries; i++) {
        const struct craft_entry *e = &a->entries[i];
        if (e->index != a->prev_index + 1 + i || e->term < term || e->term > m->term ||
            e->term == 0) {
            return false;
        }
        if (e->type < CRAFT_ENTRY_NORMAL || e->type > CRAFT_ENTRY_CONFIG) {
            return false;
        }
        if (e->data.len > 0 && e->data.base == NULL) {
            return false;
        }
        struct craft_membership conf;
        if (e->type == CRAFT_ENTRY_CONFIG &&
            config_decode(e->data.base, e->data.len, &conf) != 0) {
            return false; /* a configuration we could not use: a broken or foreign leader */
        }
        term = e->term;
    }
    return a->prev_index + a->n_entries >= a->prev_index; /* no wrap-around */
}

static void respond(struct craft_core *c, const struct craft_msg *req, bool success,
                    craft_index index)
{
    /* An acknowledgement speaks for the disk: it waits until the entries are durable. */
#ifdef CRAFT_MUTATION_ACK_BEFORE_DURABLE
    struct msg_queue *q = &c->out_msgs;
    struct craft_msg *m = output_msg(c, CRAFT_MSG_APPEND_RESP, req->from);
#else
    struct msg_queue *q = &c->out_after;
    struct craft_msg *m = output_msg_after_persist(c, CRAFT_MSG_APPEND_RESP, req->from);
#endif
    if (m == NULL) {
        return;
    }
    m->append_resp.success = success;
    m->append_resp.index = index;
    m->append_resp.round = req->append.round;
    if (success) {
        output_msg_ack(c, q, m, index);
    } else {
        struct log *l = &c->log;
        if (index > log_last_index(l)) {
            m->append_resp.hint_term = 0;
            m->append_resp.hint_index = log_last_index(l) + 1;
        } else {
            m->append_resp.hint_term = log_term_at(l, index);
            craft_index first = log_term_first_index(l, index);
            m->append_resp.hint_index = first > c->commit ? first : c->commit + 1;
        }
    }
}

/* Appends entries[i..n) after a successful consistency check at prev, truncating a conflicting
 * suffix first (§5.3). Returns the last index the message made match, or 0 to ignore it. */
static craft_index append_entries(struct craft_core *c, craft_index prev,
                                  const struct craft_entry *entries, uint32_t n)
{
    struct log *l = &c->log;
    uint32_t i = 0;
    for (; i < n; i++) {
        craft_index index = prev + 1 + i;
        if (index > log_last_index(l)) {
            break;
        }
        if (log_term_at(l, index) == entries[i].term) {
            continue;
        }
        if (index <= c->commit) {
            return 0; /* a leader contradicting a committed entry is broken or not ours */
        }
        log_truncate(l, index);
        membership_on_truncate(c, index);
        output_log_written(c, index, true);
        break;
    }
    size_t n_done = 0;
    /* A heartbeat has no entries (entries may be NULL: no pointer arithmetic on it). */
    bool out_of_memory = i < n && log_append_entries(l, entries + i, n - i, &n_done) != 0;
    for (size_t k = i; k < i + n_done; k++) {
        if (entries[k].type == CRAFT_ENTRY_CONFIG) {
            membership_on_append(c, entries[k].index); /* it takes effect now */
        }
    }
    if (n_done > 0) {
        output_log_written(c, prev + 1 + i, false); /* once: the first index is what counts */
    }
    if (out_of_memory) {
        c->out_of_memory = true;
        return prev + i + n_done; /* acknowledge what was taken; the leader resends the rest */
    }
    craft_index last_new = prev + n;
#ifdef CRAFT_MUTATION_TRUNCATE_COMMITTED
    if (log_last_index(l) > last_new) { /* mutation: drop the suffix even without a conflict */
        log_truncate(l, last_new + 1);
        membership_on_truncate(c, last_new + 1);
        output_log_written(c, last_new + 1, true);
    }
#endif
    return last_new;
}

static void release_held(struct craft_core *c)
{
    if (c->reorder.releasing) {
        return; /* the loop below is on it */
    }
    c->reorder.releasing = true;
    const struct craft_msg *held;
    while ((held = reorder_next(c)) != NULL) {
        replication_on_append(c, held);
    }
    c->reorder.releasing = false;
}

/* True if the message disagrees with an entry we know is committed: no correct leader of ours
 * sends that (Leader Completeness, §5.4.3), so the message is ignored, never obeyed. */
static bool contradicts_committed(const struct craft_core *c, const struct craft_msg_append *a)
{
    const struct log *l = &c->log;
    craft_index known_from = log_first_index(l) - 1; /* terms are known from here on */
    if (a->prev_index <= c->commit && a->prev_index >= known_from &&
        log_term_at(l, a->prev_index) != a->prev_term) {
        return true;
    }
    for (uint32_t i = 0; i < a->n_entries; i++) {
        craft_index index = a->prev_index + 1 + i;
        if (index > c->commit) {
            break;
        }
        if (index >= known_from && log_term_at(l, index) != a->entries[i].term) {
            return true;
        }
    }
    return false;
}

void replication_on_append(struct craft_core *c, const struct craft_msg *m)
{
    CRAFT_ASSERT(m->term == c->term);
    if (!append_is_well_formed(m) || contradicts_committed(c, &m->append)) {
        return;
    }
    role_follow(c, m->from);
    const struct craft_msg_append *a = &m->append;
    craft_index prev = a->prev_index;
    craft_term prev_term = a->prev_term;
    const struct craft_entry *entries = a->entries;
    uint32_t n = a->n_entries;
    if (prev < c->commit) {
        /* Everything up to our commit index matched above: skip it. */
        craft_index skip = c->commit - prev;
        if (skip >= n) {
            respond(c, m, true, c->commit);
            return;
        }
        entries += skip;
        n -= (uint32_t)skip;
        prev = c->commit;
        prev_term = log_term_at(&c->log, prev);
    }
    if (prev > log_last_index(&c->log) && n > 0) {
        /* Ahead of the log: kept to be taken once the gap fills (reorder.c), and refused, so
         * the leader fills the gap from our end (it may be a lost message, not a late one). */
        reorder_hold(c, m);
    }
    if (prev > log_last_index(&c->log) || log_term_at(&c->log, prev) != prev_term) {
        respond(c, m, false, prev);
        return;
    }
    craft_index last_new = append_entries(c, prev, entries, n);
    if (last_new == 0 && n > 0) {
        return;
    }
    craft_index commit = a->commit < last_new ? a->commit : last_new;
    if (commit > c->commit) {
        c->commit = commit;
        output_event_commit(c);
    }
    respond(c, m, true, last_new);
    release_held(c);
}

int replication_propose(struct craft_core *c, const struct craft_buf *cmds, size_t n,
                        const uint64_t *cookies)
{
    if (c->role != CRAFT_LEADER) {
        return CRAFT_ENOTLEADER;
    }
#ifndef CRAFT_MUTATION_TRANSFER_KEEPS_PROPOSING
    if (c->transfer_target != CRAFT_ID_NONE) {
        return CRAFT_EBUSY; /* handing over: the target must catch up with a log that stands */
    }
#endif
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (cmds[i].len > c->cfg.uncommitted_bytes_max) {
            return CRAFT_ETOOBIG;
        }
        if (cmds[i].len > 0 && cmds[i].base == NULL) {
            return CRAFT_EINVAL;
        }
        total += cmds[i].len;
    }
    if (c->uncommitted_bytes > 0 && c->uncommitted_bytes + total > c->cfg.uncommitted_bytes_max) {
        return CRAFT_EBUSY;
    }
    if (c->lead_unpersisted && c->log.stable < c->term_start) {
        /* A single voter's term may not be durable yet (output.c): a crash now could let it lead
         * this term again, so it appends nothing of the term but its no-op until then. */
        return CRAFT_EBUSY;
    }
    craft_index first = log_last_index(&c->log) + 1;
    if (cookies != NULL && n > 0 && proposals_track(c, cookies, n, first) != 0) {
        return CRAFT_ENOMEM;
    }
    size_t n_done;
    if (log_append_cmds(&c->log, c->term, CRAFT_ENTRY_NORMAL, cmds, n, &n_done) != 0) {
        log_truncate(&c->log, first); /* nobody has seen them yet: take them back */
        if (cookies != NULL) {
            c->proposals.n -= n;
        }
        return CRAFT_ENOMEM;
    }
    if (n == 0) {
        return 0;
    }
    output_log_written(c, first, false);
    c->uncommitted_bytes += total;
    replication_broadcast_append(c);
    replication_maybe_commit(c);
    return 0;
}

int replication_append_own(struct craft_core *c, uint32_t type, const void *data, size_t len)
{
    CRAFT_ASSERT(c->role == CRAFT_LEADER);
    if (log_append(&c->log, c->term, type, data, len) != 0) {
        return CRAFT_ENOMEM;
    }
    craft_index index = log_last_index(&c->log);
    output_log_written(c, index, false);
    membership_on_append(c, index);
    c->uncommitted_bytes += len;
    replication_broadcast_append(c);
    replication_maybe_commit(c);
    return 0;
}

void replication_on_persisted(struct craft_core *c, craft_term term, craft_index index)
{
    struct log *l = &c->log;
    /* A report about entries that were since overwritten does not speak for the new ones. */
    if (index <= l->stable || index > log_last_index(l) || log_term_at(l, index) != term) {
        return;
    }
    l->stable = index;
    replication_maybe_commit(c);
}
