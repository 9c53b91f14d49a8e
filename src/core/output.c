/* Collects one step's outputs (messages, events, what to persist and apply) and turns them into
 * the struct craft_output the caller carries out. */
#include <assert.h>
#include <string.h>

#include "core_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

static struct craft_msg *queue_push(struct craft_core *c, struct msg_queue *q)
{
    if (q->n == q->cap) {
        size_t cap = q->cap == 0 ? 64 : q->cap * 2;
        struct craft_msg *msgs = craft_realloc(q->msgs, cap * sizeof *msgs);
        if (msgs == NULL) {
            c->out_of_memory = true;
            return NULL;
        }
        q->msgs = msgs;
        struct msg_entries_ref *refs = craft_realloc(q->refs, cap * sizeof *refs);
        if (refs == NULL) {
            c->out_of_memory = true;
            return NULL;
        }
        q->refs = refs;
        q->cap = cap;
    }
    q->refs[q->n] = (struct msg_entries_ref){0};
    struct craft_msg *m = &q->msgs[q->n++];
    memset(m, 0, sizeof *m);
    return m;
}

static struct craft_msg *msg_init(struct craft_core *c, struct craft_msg *m, uint32_t type,
                                  craft_id to)
{
    if (m == NULL) {
        return NULL;
    }
    m->type = type;
    m->from = c->cfg.id;
    m->to = to;
    m->term = c->term;
    return m;
}

struct craft_msg *output_msg(struct craft_core *c, uint32_t type, craft_id to)
{
    return msg_init(c, queue_push(c, &c->out_msgs), type, to);
}

struct craft_msg *output_msg_after_persist(struct craft_core *c, uint32_t type, craft_id to)
{
    return msg_init(c, queue_push(c, &c->out_after), type, to);
}

void output_msg_entries(struct craft_core *c, struct craft_msg *m, craft_index first, uint32_t n)
{
    /* Only the leader sends entries, and only through out_msgs. */
    struct msg_queue *q = &c->out_msgs;
    CRAFT_ASSERT(m >= q->msgs && m < q->msgs + q->n);
    CRAFT_ASSERT(n > 0);
    q->refs[m - q->msgs] = (struct msg_entries_ref){
        .first = first,
        .n = n,
        .last_term = log_term_at(&c->log, first + n - 1),
    };
    m->append.n_entries = n;
}

void output_msg_fetched(struct craft_core *c, struct craft_msg *m, const struct craft_entry *e,
                        uint32_t n)
{
    struct msg_queue *q = &c->out_msgs;
    CRAFT_ASSERT(m >= q->msgs && m < q->msgs + q->n);
    CRAFT_ASSERT(n > 0);
    q->refs[m - q->msgs].fetched = true;
    m->append.entries = e;
    m->append.n_entries = n;
}

void output_snapshot_send(struct craft_core *c, craft_id to)
{
    if (!craft_grow((void **)&c->sends, &c->cap_sends, c->n_sends + 1, sizeof *c->sends)) {
        c->out_of_memory = true;
        return;
    }
    c->sends[c->n_sends++] = (struct craft_snapshot_send){
        .to = to,
        .term = c->term,
        .meta = c->snapshot,
    };
}

void output_fetch(struct craft_core *c, craft_id to, craft_index first, craft_index last)
{
    CRAFT_ASSERT(first >= 1 && first <= last);
    if (!craft_grow((void **)&c->fetches, &c->cap_fetches, c->n_fetches + 1,
                    sizeof *c->fetches)) {
        c->out_of_memory = true;
        return;
    }
    c->fetches[c->n_fetches++] = (struct craft_fetch){.to = to, .first = first, .last = last};
}

void output_msg_ack(struct craft_core *c, struct msg_queue *q, struct craft_msg *m,
                    craft_index index)
{
    CRAFT_ASSERT(m >= q->msgs && m < q->msgs + q->n);
    q->refs[m - q->msgs].ack_index = index;
    q->refs[m - q->msgs].ack_term = log_term_at(&c->log, index);
}

static void event_push(struct craft_core *c, struct craft_event ev)
{
    if (!craft_grow((void **)&c->events, &c->cap_events, c->n_events + 1, sizeof *c->events)) {
        c->out_of_memory = true;
        return;
    }
    c->events[c->n_events++] = ev;
}

void output_event_role(struct craft_core *c)
{
    event_push(c, (struct craft_event){
                      .type = CRAFT_EVENT_ROLE,
                      .role = c->role,
                      .term = c->term,
                      .peer = c->leader,
                  });
}

void output_event_commit(struct craft_core *c)
{
    event_push(c, (struct craft_event){
                      .type = CRAFT_EVENT_COMMIT,
                      .role = c->role,
                      .term = c->term,
                      .index = c->commit,
                  });
}

void output_log_written(struct craft_core *c, craft_index index, bool truncated)
{
    if (c->dirty_from == 0 || index < c->dirty_from) {
        c->dirty_from = index;
    }
    c->truncated = c->truncated || truncated;
}

void output_begin(struct craft_core *c)
{
    c->out_msgs.n = 0;
    c->out_after.n = 0;
    c->n_events = 0;
    c->dirty_from = 0;
    c->truncated = false;
    c->n_sends = 0;
    c->n_fetches = 0;
    c->proposals.n_done = 0;
    c->out_snapshot = (struct craft_persist_snapshot){0};
    c->out_of_memory = false;
    c->reads.n_done = 0;
}

/* True when a later message of the same step took back what an answer speaks for; the answer
 * then goes unsent (a lost message, which Raft tolerates). An acknowledgement must hold for the
 * log this step persists: acknowledging entries that a later AppendEntries of the batch (from a
 * newer leader) truncated would let the old leader count a replica that no disk holds. A vote
 * granted before a later message of the batch moved to a newer term is not what the step
 * persists either (only the last term and vote are): a vote leaves only as persisted. */
static bool superseded(const struct craft_core *c, const struct craft_msg *m,
                       const struct msg_entries_ref *ref)
{
    if (ref->ack_index != 0 && log_term_at(&c->log, ref->ack_index) != ref->ack_term) {
        return true;
    }
    return m->type == CRAFT_MSG_VOTE_RESP && m->vote_resp.granted && m->term != c->term;
}

/* Points each AppendEntries at its entries, now that the log has stopped moving; drops one whose
 * entries were truncated away later in the step (a lost message, which Raft tolerates), and
 * answers that later messages of the step superseded. */
static void resolve_entries(struct craft_core *c, struct msg_queue *q)
{
    size_t kept = 0;
    for (size_t i = 0; i < q->n; i++) {
        struct msg_entries_ref ref = q->refs[i];
        if (superseded(c, &q->msgs[i], &ref)) {
            continue;
        }
        if (ref.n > 0 && !ref.fetched) {
            craft_index last = ref.first + ref.n - 1;
            if (ref.first < log_first_index(&c->log) || last > log_last_index(&c->log) ||
                log_term_at(&c->log, last) != ref.last_term) {
                continue;
            }
            q->msgs[i].append.entries = log_get(&c->log, ref.first);
        }
        q->msgs[kept] = q->msgs[i];
        q->refs[kept] = ref;
        kept++;
    }
    q->n = kept;
}

/* A message that depends on a term or vote the caller has not yet persisted must wait for it. */
static void hold_until_persisted(struct craft_core *c)
{
    struct msg_queue *from = &c->out_msgs;
    for (size_t i = 0; i < from->n; i++) {
        struct craft_msg *m = queue_push(c, &c->out_after);
        if (m == NULL) {
            break; /* dropping a message is safe: the network may lose it too */
        }
        *m = from->msgs[i];
        c->out_after.refs[c->out_after.n - 1] = from->refs[i];
    }
    from->n = 0;
}

static void finish_hard_state(struct craft_core *c, struct craft_output *out)
{
    /* The hard state is persisted before this step's log writes, and a crash may come between:
     * the commit index it carries must cover only entries already durable (and, being committed,
     * never truncated), or a restart would apply whatever stale entry sat at that index. */
    craft_index commit = c->commit < c->log.stable ? c->commit : c->log.stable;
    if (commit < c->hs_emitted.commit) {
        commit = c->hs_emitted.commit;
    }
    struct craft_hard_state hs = {.term = c->term, .vote = c->vote, .commit = commit};
#ifdef CRAFT_MUTATION_VOTE_NOT_PERSISTED
    hs.vote = c->hs_emitted.vote; /* mutation: the vote never reaches the disk */
#endif
    bool term_or_vote = hs.term != c->hs_emitted.term || hs.vote != c->hs_emitted.vote;
    if (term_or_vote || hs.commit != c->hs_emitted.commit) {
        out->hard_state_changed = true;
        out->hard_state = hs;
        c->hs_emitted = hs;
    }
    if (term_or_vote) {
        hold_until_persisted(c);
    }
}

/* Every field of out is stored below, the optional ones zeroed here: a memset of the whole
 * struct compiles to `rep stos`, whose start-up cost was a tenth of this function's samples. */
static void clear_optional(struct craft_output *out)
{
    static_assert(sizeof(void *) != 8 || sizeof(struct craft_output) == 224,
                  "a new field of struct craft_output must be set by output_finish");
    out->hard_state_changed = false;
    out->hard_state = (struct craft_hard_state){0};
    out->truncate_from = 0;
    out->entries = NULL;
    out->n_entries = 0;
    out->committed = NULL;
    out->n_committed = 0;
    out->proposed_term = 0;
    out->proposed_index_first = 0;
}

void output_finish(struct craft_core *c, struct craft_output *out)
{
    clear_optional(out);
    log_count_copies(&c->log);
    if (c->role != CRAFT_LEADER || c->log.stable >= c->term_start) {
        c->lead_unpersisted = false;
    }
    if (c->lead_unpersisted) {
        /* A leader that won without another vote sends nothing before its term is durable: its
         * no-op being durable says so (the hard state is persisted first). Else a crash lets it
         * lead this term again with other entries under the same (index, term). */
        hold_until_persisted(c);
    }
    finish_hard_state(c, out);
    resolve_entries(c, &c->out_msgs);
    resolve_entries(c, &c->out_after);

    if (c->dirty_from != 0) {
        CRAFT_ASSERT(c->dirty_from >= log_first_index(&c->log));
        if (c->truncated) {
            out->truncate_from = c->dirty_from;
        }
        size_t n = log_n_from(&c->log, c->dirty_from);
        out->n_entries = n;
        out->entries = n > 0 ? log_get(&c->log, c->dirty_from) : NULL;
    }
    if (c->commit > c->emitted) {
        craft_index first = c->emitted + 1;
        CRAFT_ASSERT(first >= log_first_index(&c->log));
        CRAFT_ASSERT(c->commit <= log_last_index(&c->log));
        out->committed = log_get(&c->log, first);
        out->n_committed = (size_t)(c->commit - c->emitted);
        c->emitted = c->commit;
    }
    out->msgs = c->out_msgs.msgs;
    out->n_msgs = c->out_msgs.n;
    out->msgs_after_persist = c->out_after.msgs;
    out->n_msgs_after_persist = c->out_after.n;
    out->events = c->events;
    out->n_events = c->n_events;
    out->reads = c->reads.done;
    out->n_reads = c->reads.n_done;
    out->snapshot = c->out_snapshot;
    out->snapshot_sends = c->sends;
    out->n_snapshot_sends = c->n_sends;
    out->fetches = c->fetches;
    out->n_fetches = c->n_fetches;
    out->proposals = c->proposals.done;
    out->n_proposals = c->proposals.n_done;
}

void output_close(struct craft_core *c)
{
    craft_free(c->out_msgs.msgs);
    craft_free(c->out_msgs.refs);
    craft_free(c->out_after.msgs);
    craft_free(c->out_after.refs);
    craft_free(c->events);
    craft_free(c->sends);
    craft_free(c->fetches);
    craft_free(c->fetched);
    craft_free(c->fetched_bytes);
}
