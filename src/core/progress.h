/* The leader's view of one follower: how far its log matches, what to send next, and the
 * in-flight window that bounds pipelined AppendEntries (thesis §10.2.1 flow control). */
#ifndef CRAFT_CORE_PROGRESS_H
#define CRAFT_CORE_PROGRESS_H

#include <stdbool.h>

#include "craft/core.h"

struct inflight {
    craft_index last; /* the last index carried by one AppendEntries */
    uint64_t bytes;
};

struct progress {
    craft_id id;
    enum craft_progress_state state;
    craft_index match; /* highest index known durable and matching on the follower */
    craft_index next;  /* next index to send */
    bool probe_sent;   /* probe: an AppendEntries is out; wait for its answer or a heartbeat's */
    bool probe_retry;  /* probe: a heartbeat went out since; its answer may resend the probe */
    /* probe: the last index and payload bytes of the probe out (0: it carried no entries) */
    craft_index probe_last;
    uint64_t probe_bytes;
    /* probe: this probe followed a snapshot's delivery, whose install answer is still due */
    bool probe_after_snapshot;
    bool recent_active; /* heard from in the current check-quorum interval */
    craft_index match_at_heartbeat; /* match when the last heartbeat went out */
    /* snapshot: the index of the snapshot sent; while sending, the node streams it; else the
     * stream failed and the leader decides again at snapshot_retry_at. */
    craft_index snapshot_index;
    bool snapshot_sending;
    uint64_t snapshot_retry_at;
    bool fetch_pending; /* entries below the memory log were asked of storage (CRAFT_IN_FETCHED) */
    /* Ring of in-flight AppendEntries, oldest at head. Owned; inflight_max slots. */
    struct inflight *ring;
    uint32_t ring_cap;
    uint32_t head;
    uint32_t count;
    uint64_t bytes;
};

/* ring: caller-owned storage of ring_cap slots that outlives the progress. */
void progress_init(struct progress *p, craft_id id, craft_index next, struct inflight *ring,
                   uint32_t ring_cap);

void progress_become_probe(struct progress *p);
void progress_become_replicate(struct progress *p);
/* Probe after a snapshot's delivery: the install's answer (the snapshot's index) came after the
 * probe went out with the entries past it: the follower replicates from here, with the probe
 * counted in flight rather than sent again. */
void progress_replicate_keeping_probe(struct progress *p);
/* A snapshot of index is being sent: nothing else goes until it is acknowledged or fails. */
void progress_become_snapshot(struct progress *p, craft_index index);

/* True when nothing more may be sent now. */
bool progress_is_paused(const struct progress *p, uint64_t bytes_max);

/* Records an AppendEntries carrying entries up to last (n entries, bytes of payload). */
void progress_on_sent(struct progress *p, craft_index last, uint32_t n, uint64_t bytes);

/* A success up to index. Returns true when match moved forward. */
bool progress_on_ack(struct progress *p, craft_index index);

/* A rejection of prev_index rejected, with next_hint derived from the follower's hint.
 * Returns false for a stale rejection (already superseded), true when next moved back. */
bool progress_on_reject(struct progress *p, craft_index rejected, craft_index next_hint);

#endif
