/* The leader's side of snapshot streams: chunks out of the snapshot file, a window in flight,
 * resends from what the follower acknowledged, the end told to the core. */
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "storage/snapshot_stream.h"
#include "util/alloc.h"

static struct node_stream_tx *find_tx(struct node *n, craft_id to, bool create)
{
    struct node_streams *s = &n->streams;
    for (size_t i = 0; i < s->n_tx; i++) {
        if (s->tx[i].to == to) {
            return &s->tx[i];
        }
    }
    if (!create) {
        return NULL;
    }
    void *arr = s->tx;
    if (!craft_grow(&arr, &s->cap_tx, s->n_tx + 1, sizeof *s->tx)) {
        return NULL;
    }
    s->tx = arr;
    struct node_stream_tx *tx = &s->tx[s->n_tx++];
    memset(tx, 0, sizeof *tx);
    tx->to = to;
    return tx;
}

void node_stream_start(struct node *n, const struct craft_snapshot_send *send)
{
    struct node_stream_tx *tx = find_tx(n, send->to, true);
    if (tx == NULL) {
        return; /* out of memory: the core asks again when the follower answers a heartbeat */
    }
    if (tx->active && tx->index == send->meta.index && tx->term == send->meta.term &&
        tx->leader_term == send->term) {
        return; /* that stream goes on */
    }
    uint64_t now = n->env.now_ms(n->env.ctx);
    *tx = (struct node_stream_tx){
        .to = send->to,
        .active = true,
        .pump_due = true,
        .index = send->meta.index,
        .term = send->meta.term,
        .leader_term = send->term,
        .progress_ms = now,
        .sent_ms = now,
    };
}

/* Sends what the window allows from tx->next on. Returns false when the file cannot be read any
 * more (a newer snapshot replaced it): the stream failed. */
static bool pump(struct node *n, struct node_stream_tx *tx)
{
    uint64_t window = (uint64_t)n->window_chunks * n->chunk_bytes;
    bool started = tx->size != 0; /* the file's size is learnt at the first window */
    if (started && (tx->next >= tx->size || tx->next - tx->acked >= window)) {
        return true;
    }
    struct snapshot_source *src;
    struct craft_snapshot_meta meta;
    uint64_t size;
    if (snapshot_source_open(n->fs, tx->index, tx->term, &src, &meta, &size) != 0) {
        return false;
    }
    if (!started) {
        tx->size = size;
    }
    bool ok = size == tx->size;
    void *buf = ok ? craft_malloc(n->chunk_bytes) : NULL;
    ok = ok && buf != NULL;
    while (ok && tx->next < tx->size && tx->next - tx->acked < window) {
        uint64_t len = tx->size - tx->next;
        len = len < n->chunk_bytes ? len : n->chunk_bytes;
        size_t got = 0;
        if (snapshot_source_read(src, tx->next, buf, (size_t)len, &got) != 0 || got != len) {
            ok = false;
            break;
        }
        struct craft_snap_chunk c = {
            .leader_term = tx->leader_term,
            .index = tx->index,
            .term = tx->term,
            .size = tx->size,
            .offset = tx->next,
            .data = buf,
            .len = (uint32_t)len,
        };
        if (n->env.send_chunk(n->env.ctx, tx->to, &c) != 0) {
            break; /* the queue is full: the resend timer goes on from acked */
        }
        tx->next += len;
        tx->sent_ms = n->env.now_ms(n->env.ctx);
    }
    craft_free(buf);
    snapshot_source_close(src);
    return ok;
}

/* The stream to tx->to ended: the core hears of it (after the step under way). */
static void end_stream(struct node *n, struct node_stream_tx *tx, bool delivered)
{
    tx->active = false;
    craft_id to = tx->to;
    craft_index index = tx->index;
    if (n->env.stream_ended != NULL) {
        n->env.stream_ended(n->env.ctx, to, delivered);
    }
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_SENT};
    in.snapshot_sent.to = to;
    in.snapshot_sent.index = index;
    in.snapshot_sent.ok = delivered;
    (void)node_step(n, &in);
}

/* Whether this node still leads in the term the stream was started for. */
static bool still_leading(struct node *n, const struct node_stream_tx *tx)
{
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    return st.role == CRAFT_LEADER && st.term == tx->leader_term;
}

void node_streams_after_step(struct node *n)
{
    struct node_streams *s = &n->streams;
    if (s->busy) {
        return; /* a step of this function's own (an end): the loop below goes on */
    }
    s->busy = true;
    for (size_t i = 0; i < s->n_tx && n->failed == 0; i++) {
        struct node_stream_tx *tx = &s->tx[i];
        if (!tx->active || !tx->pump_due) {
            continue;
        }
        tx->pump_due = false;
        if (!still_leading(n, tx)) {
            tx->active = false; /* its leadership is over: nobody waits for the end */
        } else if (!pump(n, tx)) {
            end_stream(n, tx, false);
        }
    }
    s->busy = false;
}

void node_streams_on_timer(struct node *n)
{
    struct node_streams *s = &n->streams;
    uint64_t now = n->env.now_ms(n->env.ctx);
    for (size_t i = 0; i < s->n_tx; i++) {
        struct node_stream_tx *tx = &s->tx[i];
        if (!tx->active) {
            continue;
        }
        if (now - tx->progress_ms >= n->stall_ms && still_leading(n, tx)) {
            tx->pump_due = false;
            s->busy = true;
            end_stream(n, tx, false); /* no progress for too long, however far it got */
            s->busy = false;
            continue;
        }
        if (tx->next > tx->acked && now - tx->sent_ms >= n->resend_ms) {
#ifndef CRAFT_MUTATION_SNAP_NO_RESEND
            tx->next = tx->acked; /* something was lost: resend from what the follower has */
#endif
        }
        tx->pump_due = true;
    }
    node_streams_after_step(n);
}

void node_on_snapshot_ack(struct node *n, craft_id from, const struct craft_snap_ack *a)
{
    struct node_stream_tx *tx = find_tx(n, from, false);
    if (n->failed != 0 || tx == NULL || !tx->active || tx->index != a->index ||
        tx->term != a->term || tx->leader_term != a->leader_term) {
        return; /* an answer to an earlier stream */
    }
    if (a->done) {
        tx->pump_due = false;
        n->streams.busy = true;
        end_stream(n, tx, true);
        n->streams.busy = false;
        return;
    }
    uint64_t now = n->env.now_ms(n->env.ctx);
    if (a->offset > tx->acked) {
        tx->acked = a->offset;
        tx->progress_ms = now;
    } else if (a->offset < tx->acked) {
        /* The follower lost its partial file (a crash): it starts over, and that is progress. */
        tx->acked = a->offset;
        tx->next = a->offset;
        tx->progress_ms = now;
    }
    if (tx->next < tx->acked) {
        tx->next = tx->acked;
    }
    tx->pump_due = true;
    node_streams_after_step(n);
}

void node_streams_close(struct node *n)
{
    struct node_streams *s = &n->streams;
    craft_free(s->tx);
    s->tx = NULL;
    s->n_tx = 0;
    s->cap_tx = 0;
    node_stream_rx_drop(n);
}
