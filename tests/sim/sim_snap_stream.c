/* Streaming a snapshot file in chunks over the simulated network. */
#include "sim_snap_stream.h"

#include <inttypes.h>
#include <string.h>

#include "sim_cluster.h"
#include "sim_mem.h"
#include "sim_snap.h"
#include "storage/snapshot_stream.h"
#include "util/crc32c.h"

#define TIMER_ARG(peer, gen) (((uint64_t)(gen) << 8) | (peer))

/* The stream's knobs, with defaults for scenarios that leave them 0. */
static uint64_t chunk_bytes(const struct sim_cluster *c)
{
    return c->p.snap_chunk_bytes != 0 ? c->p.snap_chunk_bytes : 4096;
}

static uint64_t window_bytes(const struct sim_cluster *c)
{
    return (c->p.snap_window != 0 ? c->p.snap_window : 4) * chunk_bytes(c);
}

static uint64_t resend_us(const struct sim_cluster *c)
{
    return c->p.snap_resend_us != 0 ? c->p.snap_resend_us : 30000;
}

static uint64_t stall_us(const struct sim_cluster *c)
{
    return c->p.snap_stall_us != 0 ? c->p.snap_stall_us : 1000000;
}

static void send_msg(struct sim_cluster *c, struct sim_snap_msg *m)
{
    uint64_t lat[2];
    unsigned k = sim_network_route_node_msg(&c->net, m->from, m->to, sizeof *m + m->len, lat);
    for (unsigned i = 0; i < k; i++) {
        if (c->faults_on && c->p.hold_ppm > 0 && prng_chance(&c->rng_fault, c->p.hold_ppm)) {
            /* An old chunk or answer, delivered long after the stream moved on. */
            lat[i] += prng_range(&c->rng_fault, c->p.hold_us_min, (uint64_t)c->p.hold_us_max + 1);
        } else {
            lat[i] = sim_network_fifo(&c->net, m->from, m->to, c->now_us, lat[i]);
        }
    }
    if (k == 2) {
        struct sim_snap_msg *dup = sim_xmalloc(sizeof *m + m->len);
        memcpy(dup, m, sizeof *m + m->len);
        sim_heap_push(&c->heap, c->now_us + lat[1], SIM_EV_SNAP_MSG, (uint32_t)m->to, 0, dup);
    }
    if (k == 0) {
        craft_free(m);
        return;
    }
    sim_heap_push(&c->heap, c->now_us + lat[0], SIM_EV_SNAP_MSG, (uint32_t)m->to, 0, m);
}

static struct sim_snap_msg *new_msg(craft_id from, craft_id to, size_t len)
{
    struct sim_snap_msg *m = sim_xcalloc(1, sizeof *m + len);
    m->from = from;
    m->to = to;
    m->len = (uint32_t)len;
    return m;
}

/* Tells the core the stream to `to` ended; the stream is over. */
static void stream_end(struct sim_cluster *c, struct sim_node *n, craft_id to, bool ok)
{
    struct sim_snap_tx *tx = &n->snap_tx[to];
    tx->active = false;
    if (ok) {
        c->work.streams_delivered++;
    } else {
        c->work.streams_given_up++;
    }
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_SENT};
    in.snapshot_sent.to = to;
    in.snapshot_sent.index = tx->index;
    in.snapshot_sent.ok = ok;
    sim_cluster_feed(c, n, &in, NULL);
}

static void schedule_timer(struct sim_cluster *c, struct sim_node *n, craft_id to, uint64_t delay)
{
    sim_heap_push(&c->heap, c->now_us + delay, SIM_EV_SNAP_TIMER, (uint32_t)n->id, n->epoch,
                  (void *)(uintptr_t)TIMER_ARG(to, n->snap_tx[to].gen));
}

/* Sends what the window allows from tx->next on. Returns false when the file cannot be read any
 * more (a newer snapshot replaced it): the stream failed. */
static bool pump(struct sim_cluster *c, struct sim_node *n, craft_id to)
{
    struct sim_snap_tx *tx = &n->snap_tx[to];
    uint64_t window = window_bytes(c);
    bool started = tx->size != 0; /* the file's size is learnt at the first window */
    if (started && (tx->next >= tx->size || tx->next - tx->acked >= window)) {
        return true;
    }
    struct snapshot_source *src;
    struct craft_snapshot_meta meta;
    uint64_t size;
    if (snapshot_source_open(io_fs_sim_fs(n->fs), tx->index, tx->term, &src, &meta, &size) != 0) {
        return false; /* replaced by a newer one meanwhile */
    }
    if (!started) {
        tx->size = size;
    }
    bool ok = size == tx->size;
    while (ok && tx->next < tx->size && tx->next - tx->acked < window) {
        uint64_t len = tx->size - tx->next;
        len = len < chunk_bytes(c) ? len : chunk_bytes(c);
        struct sim_snap_msg *m = new_msg(n->id, to, (size_t)len);
        size_t got = 0;
        if (snapshot_source_read(src, tx->next, m->data, (size_t)len, &got) != 0 || got != len) {
            craft_free(m);
            ok = false;
            break;
        }
        m->leader_term = tx->leader_term;
        m->index = tx->index;
        m->term = tx->term;
        m->size = tx->size;
        m->offset = tx->next;
        m->crc = crc32c(0, m->data, (size_t)len);
        tx->next += len;
        send_msg(c, m);
    }
    snapshot_source_close(src);
    return ok;
}

/* The leader's core asked for the snapshot to reach send->to. */
static void stream_start(struct sim_cluster *c, struct sim_node *n,
                         const struct craft_snapshot_send *send)
{
    if (send->to < 1 || send->to > c->p.n_nodes || send->to == n->id) {
        sim_checks_fail(&c->checks, n->id, "snapshot_send_addressing",
                        "n%" PRIu64 " asked to send a snapshot to n%" PRIu64, n->id, send->to);
        return;
    }
    struct sim_snap_tx *tx = &n->snap_tx[send->to];
    if (tx->active && tx->index == send->meta.index && tx->term == send->meta.term &&
        tx->leader_term == send->term) {
        return; /* that stream goes on */
    }
    *tx = (struct sim_snap_tx){
        .active = true,
        .index = send->meta.index,
        .term = send->meta.term,
        .leader_term = send->term,
        .progress_us = c->now_us,
        .gen = tx->gen + 1,
    };
    /* The file's size and the first window come at the timer, outside the core's step. */
    schedule_timer(c, n, send->to, 0);
}

void sim_snap_stream_on_output(struct sim_cluster *c, struct sim_node *n,
                               const struct craft_output *out)
{
    for (size_t i = 0; i < out->n_snapshot_sends; i++) {
        stream_start(c, n, &out->snapshot_sends[i]);
    }
}

void sim_snap_stream_on_timer(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_node *n = &c->nodes[ev->node];
    uint64_t arg = (uint64_t)(uintptr_t)ev->ptr;
    craft_id to = arg & 0xff;
    if (!n->up || n->epoch != ev->arg || !n->snap_tx[to].active ||
        n->snap_tx[to].gen != (uint32_t)(arg >> 8)) {
        return;
    }
    struct sim_snap_tx *tx = &n->snap_tx[to];
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    if (st.role != CRAFT_LEADER || st.term != tx->leader_term) {
        tx->active = false; /* its leadership is over: nobody waits for the end */
        return;
    }
    if (c->now_us - tx->progress_us >= stall_us(c)) {
        stream_end(c, n, to, false); /* no progress for too long, however far it got */
        return;
    }
    if (tx->next > tx->acked && c->now_us - tx->progress_us >= resend_us(c)) {
        tx->next = tx->acked; /* something was lost: resend from what the follower has */
    }
    if (!pump(c, n, to)) {
        stream_end(c, n, to, false);
        return;
    }
    schedule_timer(c, n, to, resend_us(c));
}

static void answer(struct sim_cluster *c, struct sim_node *n, const struct sim_snap_msg *chunk,
                   uint64_t offset, bool done)
{
    struct sim_snap_msg *a = new_msg(n->id, chunk->from, 0);
    a->ack = true;
    a->leader_term = chunk->leader_term;
    a->index = chunk->index;
    a->term = chunk->term;
    a->size = chunk->size;
    a->offset = offset;
    a->done = done;
    send_msg(c, a);
}

static void rx_drop(struct sim_snap_rx *rx)
{
    if (rx->sink != NULL) {
        snapshot_sink_abort(rx->sink);
        rx->sink = NULL;
    }
}

/* The last chunk arrived: the sink checks the whole file, makes it durable, and the node offers
 * it to the core. */
static void rx_finish(struct sim_cluster *c, struct sim_node *n, const struct sim_snap_msg *m)
{
    struct sim_snap_rx *rx = &n->snap_rx;
    struct craft_snapshot_meta meta;
    char err[160] = "";
    int rv = snapshot_sink_finish(rx->sink, &meta, err, sizeof err);
    rx->sink = NULL;
    if (rv == CRAFT_ECORRUPT && !sim_disk_faults_io_errors(&c->p) && c->p.misdirect_ppm == 0) {
        sim_checks_fail(&c->checks, n->id, "snapshot_stream_corrupt",
                        "n%" PRIu64 " received every chunk of snapshot %" PRIu64
                        " with good CRCs, but the whole file fails its check: %s",
                        n->id, m->index, err);
        return;
    }
    if (rv != 0) {
        answer(c, n, m, 0, false); /* a disk fault: start over */
        return;
    }
    if (meta.index != m->index || meta.term != m->term) {
        sim_checks_fail(&c->checks, n->id, "snapshot_stream_mixed",
                        "n%" PRIu64 " assembled snapshot (%" PRIu64 ", %" PRIu64
                        ") from chunks of (%" PRIu64 ", %" PRIu64 ")",
                        n->id, meta.index, meta.term, m->index, m->term);
        return;
    }
    rx->done_index = m->index;
    rx->done_term = m->term;
    sim_snap_install(c, n, m->from, m->leader_term, &meta);
    if (n->up) {
        answer(c, n, m, m->size, true);
    }
}

static void on_chunk(struct sim_cluster *c, struct sim_node *n, const struct sim_snap_msg *m)
{
    struct sim_snap_rx *rx = &n->snap_rx;
    if (m->index == rx->done_index && m->term == rx->done_term) {
        answer(c, n, m, m->size, true); /* the answer that said so was lost */
        return;
    }
    if (crc32c(0, m->data, m->len) != m->crc) {
        return; /* damaged in transit: the sender resends after its timeout */
    }
    if (rx->sink != NULL && (rx->index != m->index || rx->term != m->term)) {
        /* Another snapshot: a newer leader's replaces it (a deposed leader may have had a newer
         * snapshot than its successor, yet only the successor will ever finish sending), and so
         * does a newer one of the same leader; a deposed leader's does not. */
        if (m->leader_term < rx->leader_term ||
            (m->leader_term == rx->leader_term && m->index < rx->index)) {
            return;
        }
        rx_drop(rx);
    }
    if (rx->sink == NULL) {
        if (snapshot_sink_begin(io_fs_sim_fs(n->fs), m->index, m->term, &rx->sink) != 0) {
            rx->sink = NULL;
            return;
        }
        rx->index = m->index;
        rx->term = m->term;
        rx->leader_term = m->leader_term;
        rx->size = m->size;
    }
    if (m->leader_term > rx->leader_term) {
        rx->leader_term = m->leader_term; /* the same snapshot, now from a newer leader */
    }
    uint64_t have = snapshot_sink_offset(rx->sink);
    if (m->offset == have && m->len > 0) {
        if (snapshot_sink_write(rx->sink, m->offset, m->data, m->len) != 0) {
            rx_drop(rx); /* a disk fault: start over */
            answer(c, n, m, 0, false);
            return;
        }
        have += m->len;
    }
    if (have == rx->size) {
        rx_finish(c, n, m);
        return;
    }
    answer(c, n, m, have, false); /* a gap or a duplicate says where to go on from, too */
}

static void on_answer(struct sim_cluster *c, struct sim_node *n, const struct sim_snap_msg *m)
{
    struct sim_snap_tx *tx = &n->snap_tx[m->from];
    if (!tx->active || tx->index != m->index || tx->term != m->term ||
        tx->leader_term != m->leader_term) {
        return; /* an answer to an earlier stream */
    }
    if (m->done) {
        stream_end(c, n, m->from, true);
        return;
    }
    if (m->offset > tx->acked) {
        tx->acked = m->offset;
        tx->progress_us = c->now_us;
    } else if (m->offset < tx->acked) {
        /* The follower lost its partial file (a crash): it starts over, and that is progress. */
        tx->acked = m->offset;
        tx->next = m->offset;
        tx->progress_us = c->now_us;
    }
    if (tx->next < tx->acked) {
        tx->next = tx->acked;
    }
    if (!pump(c, n, m->from)) {
        stream_end(c, n, m->from, false);
    }
}

void sim_snap_stream_on_msg(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_snap_msg *m = ev->ptr;
    struct sim_node *n = &c->nodes[ev->node];
    if (n->up && sim_network_link_up(&c->net, m->from, m->to)) {
        if (m->ack) {
            on_answer(c, n, m);
        } else {
            on_chunk(c, n, m);
        }
    }
    craft_free(m);
}

void sim_snap_stream_crash(struct sim_node *n)
{
    rx_drop(&n->snap_rx);
    n->snap_rx = (struct sim_snap_rx){0};
    for (unsigned i = 0; i <= SIM_NODES_MAX; i++) {
        n->snap_tx[i].active = false;
    }
}
