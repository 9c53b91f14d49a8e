/* Carrying a node's snapshot stream frames over the simulated network. */
#include "sim_snap_stream.h"

#include <inttypes.h>
#include <string.h>

#include "node/node.h"
#include "sim_cluster.h"
#include "sim_mem.h"
#include "util/crc32c.h"

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

int sim_snap_stream_send_chunk(struct sim_cluster *c, struct sim_node *n, craft_id to,
                               const struct craft_snap_chunk *chunk)
{
    if (to < 1 || to > c->p.n_nodes || to == n->id) {
        sim_checks_fail(&c->checks, n->id, "snapshot_send_addressing",
                        "n%" PRIu64 " sends a snapshot chunk to n%" PRIu64, n->id, to);
        return CRAFT_EINVAL;
    }
    struct sim_snap_msg *m = new_msg(n->id, to, chunk->len);
    m->leader_term = chunk->leader_term;
    m->index = chunk->index;
    m->term = chunk->term;
    m->size = chunk->size;
    m->offset = chunk->offset;
    memcpy(m->data, chunk->data, chunk->len);
    m->crc = crc32c(0, m->data, m->len);
    sim_snap_resend_on_chunk(c, n->id, to, chunk);
    if (chunk->offset == 0) {
        sim_snap_now_on_stream(c, n, to); /* a snapshot request may come while it flows */
    }
    send_msg(c, m);
    return 0;
}

void sim_snap_stream_send_ack(struct sim_cluster *c, struct sim_node *n, craft_id to,
                              const struct craft_snap_ack *a)
{
    struct sim_snap_msg *m = new_msg(n->id, to, 0);
    m->ack = true;
    m->leader_term = a->leader_term;
    m->index = a->index;
    m->term = a->term;
    m->offset = a->offset;
    m->done = a->done;
    sim_snap_resend_on_ack(c, n->id, to, a);
    send_msg(c, m);
}

void sim_snap_stream_received(struct sim_cluster *c, struct sim_node *n,
                              const struct craft_snap_chunk *last,
                              const struct craft_snapshot_meta *meta, int rv, const char *errmsg)
{
    /* Every chunk crossed with a good CRC, so without disk faults the file must check out and
     * hold the snapshot its chunks named (the node refuses one that holds another). */
    if (rv == CRAFT_ECORRUPT && !sim_disk_faults_io_errors(&c->p) && c->p.misdirect_ppm == 0) {
        sim_checks_fail(&c->checks, n->id, "snapshot_stream_corrupt",
                        "n%" PRIu64 " received every chunk of snapshot %" PRIu64
                        " with good CRCs, but the whole file fails its check%s%s",
                        n->id, last->index, errmsg[0] != '\0' ? ": " : " (another snapshot)",
                        errmsg);
        return;
    }
    if (rv != 0) {
        return; /* a disk fault: the node starts over */
    }
    (void)meta;
    struct sim_disk_observer obs = sim_checks_observer(&c->checks);
    sim_disk_cover(&n->disk, last->index, last->term, &obs);
}

void sim_snap_stream_on_msg(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_snap_msg *m = ev->ptr;
    struct sim_node *n = &c->nodes[ev->node];
    if (n->up && sim_network_link_up(&c->net, m->from, m->to) &&
        crc32c(0, m->data, m->len) == m->crc) {
        craft_index applied_before = n->applied;
        n->applied_in_call = false;
        if (m->ack) {
            struct craft_snap_ack a = {m->leader_term, m->index, m->term, m->offset, m->done};
            node_on_snapshot_ack(n->node, m->from, &a);
        } else {
            struct craft_snap_chunk ch = {m->leader_term, m->index, m->term, m->size,
                                         m->offset,      m->data,  m->len};
            node_on_snapshot_chunk(n->node, m->from, &ch);
        }
        sim_cluster_after_call(c, n, applied_before, CRAFT_IN_SNAPSHOT_INSTALLED);
    }
    craft_free(m);
}
