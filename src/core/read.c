/* Reads (thesis §6.4). A leader serves a linearizable read at its commit index (at least its own
 * term's first entry) once a heartbeat round started after the read was answered by a majority:
 * then no newer leader existed when the read arrived. Every AppendEntries carries the current round
 * and every answer echoes it; reads waiting at once share one round, and one round is in flight at
 * a time. A lease read skips the round while a majority answered a round sent less than the
 * minimum election timeout (shortened by the drift bound) ago: followers refuse votes that long.
 * A follower asks the leader (READ_INDEX) and waits until it has applied the index it gets. */
#include "core_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

void read_close(struct craft_core *c)
{
    craft_free(c->reads.wait);
    craft_free(c->reads.done);
}

static void finish(struct craft_core *c, uint64_t cookie, int status, craft_index index)
{
    struct reads *r = &c->reads;
    if (!craft_grow((void **)&r->done, &r->cap_done, r->n_done + 1, sizeof *r->done)) {
        c->out_of_memory = true; /* the outcome is lost: the caller's read times out */
        return;
    }
    r->done[r->n_done++] = (struct craft_read_result){cookie, status, index};
}

static struct read_wait *add_wait(struct craft_core *c)
{
    struct reads *r = &c->reads;
    if (!craft_grow((void **)&r->wait, &r->cap_wait, r->n_wait + 1, sizeof *r->wait)) {
        return NULL;
    }
    struct read_wait *w = &r->wait[r->n_wait++];
    *w = (struct read_wait){0};
    return w;
}

static uint64_t round_acked_of(const struct peer *p)
{
    return p->round_acked;
}

/* The newest round a majority of every half has answered. */
static uint64_t quorum_round(const struct craft_core *c)
{
    return peers_quorum_value(&c->peers, c->cfg.id, c->reads.round, round_acked_of);
}

static bool lease_holds(const struct craft_core *c)
{
    if (!c->cfg.lease_reads || c->lease_void) {
        return false; /* off, or a TimeoutNow went out this term: a round confirms instead */
    }
    uint64_t q = quorum_round(c);
    if (q == 0 || q + READ_ROUNDS_KEPT <= c->reads.round) {
        return false; /* nothing answered recently enough to remember */
    }
    uint64_t sent = c->reads.round_sent_at[q % READ_ROUNDS_KEPT];
    uint64_t lease = c->cfg.election_timeout_ms_min;
    lease -= lease * c->cfg.clock_drift_ppm / 1000000;
    return c->now < sent + lease;
}

/* A read on the leader, its own (from NONE) or a follower's. */
static int leader_read(struct craft_core *c, uint64_t cookie, craft_id from, bool lease)
{
    struct read_wait *w = add_wait(c);
    if (w == NULL) {
        return CRAFT_ENOMEM;
    }
    w->cookie = cookie;
    w->from = from;
    /* Every entry committed before the read arrived is at or below the commit index, and the
     * leader knows all of them only once an entry of its own term has committed. */
    w->index = c->commit > c->term_start ? c->commit : c->term_start;
#ifdef CRAFT_MUTATION_READ_WITHOUT_QUORUM
    lease = true; /* mutation: no round confirms the leadership */
    (void)lease_holds;
#else
    lease = lease && lease_holds(c);
#endif
    w->round = lease ? 0 : c->reads.round + 1;
    c->reads.round_wanted |= !lease;
    return 0;
}

int read_request(struct craft_core *c, uint64_t cookie, uint32_t mode)
{
    if (mode == CRAFT_READ_STALE) {
        finish(c, cookie, 0, c->applied);
        return 0;
    }
    if (mode != CRAFT_READ_INDEX && (mode != CRAFT_READ_LEASE || !c->cfg.lease_reads)) {
        return CRAFT_EINVAL;
    }
    if (c->reads.n_wait >= c->cfg.reads_max) {
        return CRAFT_EBUSY;
    }
    if (c->role == CRAFT_LEADER) {
        return leader_read(c, cookie, CRAFT_ID_NONE, mode == CRAFT_READ_LEASE);
    }
    if (c->role != CRAFT_FOLLOWER || c->leader == CRAFT_ID_NONE) {
        return CRAFT_ENOTLEADER;
    }
    struct craft_msg *m = output_msg(c, CRAFT_MSG_READ_INDEX, c->leader);
    struct read_wait *w = m != NULL ? add_wait(c) : NULL;
    if (w == NULL) {
        return CRAFT_ENOMEM;
    }
    w->cookie = cookie;
    if (c->reads.next_id == 0) {
        /* Ids start at a random point per core, so an answer to a read of an earlier life of
         * this node (a restart, an old message) never matches a read of this one. */
        c->reads.next_id = prng_next(&c->prng) >> 1;
    }
    w->id = ++c->reads.next_id;
    w->deadline = c->now + c->cfg.election_timeout_ms_max;
    m->read.id = w->id;
    return 0;
}

static void answer(struct craft_core *c, craft_id to, uint64_t id, bool ok, craft_index index)
{
    struct craft_msg *m = output_msg(c, CRAFT_MSG_READ_INDEX_RESP, to);
    if (m != NULL) {
        m->read.id = id;
        m->read.ok = ok;
        m->read.index = index;
    }
}

void read_on_msg(struct craft_core *c, const struct craft_msg *m)
{
    if (m->type == CRAFT_MSG_READ_INDEX) {
        int rv = CRAFT_ENOTLEADER;
        if (c->role == CRAFT_LEADER && c->reads.n_wait < c->cfg.reads_max) {
            rv = leader_read(c, m->read.id, m->from, false);
        }
        if (rv != 0) {
            answer(c, m->from, m->read.id, false, 0);
        }
        return;
    }
    CRAFT_ASSERT(m->type == CRAFT_MSG_READ_INDEX_RESP);
    for (size_t i = 0; i < c->reads.n_wait; i++) {
        struct read_wait *w = &c->reads.wait[i];
        if (w->from != CRAFT_ID_NONE || w->id != m->read.id || w->id == 0 || w->known) {
            continue;
        }
        if (m->read.ok) {
            w->known = true;
            w->index = m->read.index;
        } else {
            w->deadline = c->now; /* refused: ends at the next advance */
        }
        return;
    }
}

void read_on_round_answer(struct craft_core *c, struct peer *p, uint64_t round)
{
    if (round > p->round_acked && round <= c->reads.round) {
        p->round_acked = round;
    }
}

uint64_t read_start_round(struct craft_core *c)
{
    c->reads.round++;
    c->reads.round_sent_at[c->reads.round % READ_ROUNDS_KEPT] = c->now;
    c->reads.round_wanted = false;
    return c->reads.round;
}

void read_on_leadership_lost(struct craft_core *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->reads.n_wait; i++) {
        struct read_wait *w = &c->reads.wait[i];
        if (w->id != 0) {
            c->reads.wait[k++] = *w; /* a follower's own read: it waits for its leader */
        } else if (w->from != CRAFT_ID_NONE) {
            answer(c, w->from, w->cookie, false, 0);
        } else {
            finish(c, w->cookie, CRAFT_ENOTLEADER, 0);
        }
    }
    c->reads.n_wait = k;
    c->reads.round_wanted = false;
}

bool read_wants_round(const struct craft_core *c)
{
    /* One round in flight at a time: a new one once the last was answered by a majority. */
    return c->role == CRAFT_LEADER && c->reads.round_wanted &&
           quorum_round(c) >= c->reads.round;
}

void read_advance(struct craft_core *c)
{
    struct reads *r = &c->reads;
    if (r->n_wait == 0) {
        return;
    }
    uint64_t confirmed = c->role == CRAFT_LEADER ? quorum_round(c) : 0;
    size_t k = 0;
    for (size_t i = 0; i < r->n_wait; i++) {
        struct read_wait *w = &r->wait[i];
        bool ready;
        if (w->id != 0) { /* a follower's own read */
            if (!w->known) {
                if (c->now >= w->deadline) {
                    finish(c, w->cookie, CRAFT_ENOTLEADER, 0);
                    continue;
                }
                ready = false;
            } else {
                ready = c->applied >= w->index;
            }
        } else {
            bool leads = w->round <= confirmed && c->commit >= c->term_start;
            if (leads && w->from != CRAFT_ID_NONE) {
                answer(c, w->from, w->cookie, true, w->index);
                continue;
            }
            ready = leads && c->applied >= w->index;
        }
        if (ready) {
            finish(c, w->cookie, 0, w->index);
        } else {
            r->wait[k++] = *w;
        }
    }
    r->n_wait = k;
}
