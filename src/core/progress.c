/* Per-follower replication state: probe until the match point is found, then pipeline within
 * a bounded window; fast backtracking moves next back by terms, not by single entries. */
#include "progress.h"

#include "util/assert.h"

void progress_init(struct progress *p, craft_id id, craft_index next, struct inflight *ring,
                   uint32_t ring_cap)
{
    CRAFT_ASSERT(next >= 1);
    CRAFT_ASSERT(ring_cap > 0);
    *p = (struct progress){
        .id = id,
        .state = CRAFT_PROGRESS_PROBE,
        .match = 0,
        .next = next,
        .recent_active = true, /* a new leader gives everyone one interval of grace */
        .ring = ring,
        .ring_cap = ring_cap,
    };
}

static void inflight_clear(struct progress *p)
{
    p->head = 0;
    p->count = 0;
    p->bytes = 0;
}

void progress_become_probe(struct progress *p)
{
    p->state = CRAFT_PROGRESS_PROBE;
    p->probe_after_snapshot = false;
    p->next = p->match + 1;
    p->probe_sent = false;
    p->probe_retry = false;
    inflight_clear(p);
}

void progress_become_replicate(struct progress *p)
{
    p->state = CRAFT_PROGRESS_REPLICATE;
    p->probe_after_snapshot = false;
    p->next = p->match + 1;
    p->probe_sent = false;
    inflight_clear(p);
}

void progress_replicate_keeping_probe(struct progress *p)
{
    CRAFT_ASSERT(p->state == CRAFT_PROGRESS_PROBE && p->probe_last > p->match);
    craft_index last = p->probe_last;
    uint64_t bytes = p->probe_bytes;
    progress_become_replicate(p);
    progress_on_sent(p, last, (uint32_t)(last - p->match), bytes);
}

void progress_become_snapshot(struct progress *p, craft_index index)
{
    CRAFT_ASSERT(index >= p->match);
    p->state = CRAFT_PROGRESS_SNAPSHOT;
    p->probe_after_snapshot = false;
    p->snapshot_index = index;
    p->snapshot_sending = true;
    p->probe_sent = false;
    p->probe_retry = false;
    inflight_clear(p);
}

bool progress_is_paused(const struct progress *p, uint64_t bytes_max)
{
    if (p->state == CRAFT_PROGRESS_SNAPSHOT) {
        return true;
    }
    if (p->state == CRAFT_PROGRESS_PROBE) {
        return p->probe_sent;
    }
    return p->count >= p->ring_cap || p->bytes >= bytes_max;
}

void progress_on_sent(struct progress *p, craft_index last, uint32_t n, uint64_t bytes)
{
    if (p->state == CRAFT_PROGRESS_PROBE) {
        p->probe_sent = true;
        p->probe_last = n > 0 ? last : 0;
        p->probe_bytes = bytes;
        return;
    }
    CRAFT_ASSERT(p->state == CRAFT_PROGRESS_REPLICATE);
    CRAFT_ASSERT(n > 0);
    CRAFT_ASSERT(p->count < p->ring_cap);
    CRAFT_ASSERT(last >= p->next);
    uint32_t tail = (p->head + p->count) % p->ring_cap;
    p->ring[tail] = (struct inflight){.last = last, .bytes = bytes};
    p->count++;
    p->bytes += bytes;
    p->next = last + 1;
}

static void inflight_free_upto(struct progress *p, craft_index index)
{
    while (p->count > 0 && p->ring[p->head].last <= index) {
        p->bytes -= p->ring[p->head].bytes;
        p->head = (p->head + 1) % p->ring_cap;
        p->count--;
    }
}

bool progress_on_ack(struct progress *p, craft_index index)
{
#ifdef CRAFT_MUTATION_MATCH_FROM_NEXT
    if (p->state == CRAFT_PROGRESS_REPLICATE && p->next - 1 > index) {
        index = p->next - 1; /* mutation: an answer acknowledges everything in flight */
    }
#endif
    bool moved = false;
    if (index > p->match) {
        p->match = index;
        moved = true;
    }
    /* Only the probe's own answer (it reaches next - 1) or progress unpauses a probe: a stale
     * answer delivered late must not send another probe, or reordering multiplies them. */
    if (moved || index + 1 >= p->next || p->probe_retry) {
        p->probe_sent = false;
        p->probe_retry = false;
    }
    if (p->next < index + 1) {
        p->next = index + 1;
    }
    inflight_free_upto(p, index);
    return moved;
}

bool progress_on_reject(struct progress *p, craft_index rejected, craft_index next_hint)
{
    if (p->state == CRAFT_PROGRESS_SNAPSHOT) {
        return false; /* a heartbeat's answer: its log is short until the snapshot lands */
    }
    if (p->state == CRAFT_PROGRESS_REPLICATE) {
        if (rejected <= p->match) {
            return false; /* an answer to something older than what was since acknowledged */
        }
        progress_become_probe(p);
    } else if (rejected != p->next - 1) {
        if (!p->probe_retry) {
            return false; /* not an answer to the probe in flight */
        }
        /* A heartbeat's refusal (it checks at what the leader still holds, which may lie past
         * the probe): the follower lives, so a lost probe goes again, once per heartbeat. */
        p->probe_retry = false;
        p->probe_sent = false;
        return true;
    }
    craft_index next = next_hint < rejected ? next_hint : rejected;
    if (next < p->match + 1) {
        next = p->match + 1;
    }
    p->next = next;
    p->probe_sent = false;
    return true;
}
