/* The follower's side of snapshot streams: chunks into a snapshot sink, answers that say how
 * much it holds, and at the end the snapshot offered to the core (the restore follows through
 * the apply queue, node_output.c). */
#include <string.h>

#include "node_internal.h"
#include "storage/snapshot_stream.h"

static void answer(struct node *n, craft_id to, const struct craft_snap_chunk *c, uint64_t offset,
                   bool done)
{
    struct craft_snap_ack a = {
        .leader_term = c->leader_term,
        .index = c->index,
        .term = c->term,
        .offset = offset,
        .done = done,
    };
    n->env.send_ack(n->env.ctx, to, &a);
}

void node_stream_rx_drop(struct node *n)
{
    struct node_stream_rx *rx = &n->streams.rx;
    if (rx->sink != NULL) {
        snapshot_sink_abort(rx->sink);
        rx->sink = NULL;
    }
}

/* The last chunk arrived: the sink checks the whole file and makes it durable; the core hears
 * of it. */
static void finish(struct node *n, craft_id from, const struct craft_snap_chunk *c)
{
    struct node_stream_rx *rx = &n->streams.rx;
    struct craft_snapshot_meta meta;
    char err[160] = "";
    int rv = snapshot_sink_finish(rx->sink, &meta, err, sizeof err);
    rx->sink = NULL;
    if (rv == 0 && (meta.index != c->index || meta.term != c->term)) {
        rv = CRAFT_ECORRUPT; /* the file holds another snapshot than its chunks claimed */
    }
    if (n->env.snapshot_received != NULL) {
        n->env.snapshot_received(n->env.ctx, from, c, rv == 0 ? &meta : NULL, rv, err);
    }
    if (rv != 0) {
        answer(n, from, c, 0, false); /* start over */
        return;
    }
    rx->done_index = c->index;
    rx->done_term = c->term;
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_INSTALLED};
    in.snapshot_installed.from = from;
    in.snapshot_installed.term = c->leader_term;
    in.snapshot_installed.meta = &meta;
    n->installing = meta;
    rv = node_step(n, &in);
    if (rv == 0 && n->env.snapshot_taken != NULL) {
        n->env.snapshot_taken(n->env.ctx, &meta); /* the log it covers may go */
    }
    if (rv == 0) {
        node_snapshot_requests_settle(n); /* it may serve requests for a snapshot */
    }
    if (n->failed == 0) {
        answer(n, from, c, c->size, true);
    }
}

void node_on_snapshot_chunk(struct node *n, craft_id from, const struct craft_snap_chunk *c)
{
    struct node_stream_rx *rx = &n->streams.rx;
    if (n->failed != 0 || c->index == 0 || c->term == 0 || c->size == 0) {
        return;
    }
    if (c->index == rx->done_index && c->term == rx->done_term) {
        answer(n, from, c, c->size, true); /* the answer that said so was lost */
        return;
    }
    if (rx->sink != NULL && (rx->index != c->index || rx->term != c->term)) {
        /* Another snapshot: a newer leader's replaces it (a deposed leader may have had a newer
         * snapshot than its successor, yet only the successor will ever finish sending), and so
         * does a newer one of the same leader; a deposed leader's does not. */
        if (c->leader_term < rx->leader_term ||
            (c->leader_term == rx->leader_term && c->index < rx->index)) {
            return;
        }
        node_stream_rx_drop(n);
    }
    if (rx->sink == NULL) {
        if (snapshot_sink_begin(n->fs, c->index, c->term, &rx->sink) != 0) {
            rx->sink = NULL;
            return;
        }
        rx->index = c->index;
        rx->term = c->term;
        rx->leader_term = c->leader_term;
        rx->size = c->size;
    }
    if (c->leader_term > rx->leader_term) {
        rx->leader_term = c->leader_term; /* the same snapshot, now from a newer leader */
    }
    uint64_t have = snapshot_sink_offset(rx->sink);
    if (c->offset == have && c->len > 0 && have + c->len <= rx->size) {
        if (snapshot_sink_write(rx->sink, c->offset, c->data, c->len) != 0) {
            node_stream_rx_drop(n); /* a disk fault: start over */
            answer(n, from, c, 0, false);
            return;
        }
        have += c->len;
    }
    if (have == rx->size) {
        finish(n, from, c);
        return;
    }
    answer(n, from, c, have, false); /* a gap or a duplicate says where to go on from, too */
}
