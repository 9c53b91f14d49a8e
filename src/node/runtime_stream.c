/* Snapshot stream frames of the default transport: the node's chunks and answers go out as the
 * transport's snapshot chunk and answer frames (bulk class: they never hold up a heartbeat), and
 * come in to the node. */
#include "runtime.h"

int rt_stream_send_chunk(void *ctx, craft_id to, const struct craft_snap_chunk *c)
{
    struct craft_node *n = ctx;
    struct wire_snap_chunk w = {
        .term = c->leader_term,
        .snap_index = c->index,
        .snap_term = c->term,
        .total = c->size,
        .offset = c->offset,
        .data = c->data,
        .len = c->len,
    };
    return n->transport != NULL ? net_transport_send_chunk(n->transport, RT_GROUP, to, &w)
                                : CRAFT_ESHUTDOWN;
}

int rt_stream_send_ack(void *ctx, craft_id to, const struct craft_snap_ack *a)
{
    struct craft_node *n = ctx;
    struct wire_snap_ack w = {
        .term = a->leader_term,
        .snap_index = a->index,
        .snap_term = a->term,
        .offset = a->offset,
        .done = a->done,
    };
    return n->transport != NULL ? net_transport_send_ack(n->transport, RT_GROUP, to, &w)
                                : CRAFT_ESHUTDOWN;
}

void rt_stream_on_frame(struct craft_node *n, craft_id peer, const struct wire_frame *f)
{
    rt_net_flush(n); /* what came before it first */
    if (n->node_dead) {
        return;
    }
    if (f->type == WIRE_FRAME_SNAP_CHUNK) {
        struct craft_snap_chunk c = {
            .leader_term = f->chunk.term,
            .index = f->chunk.snap_index,
            .term = f->chunk.snap_term,
            .size = f->chunk.total,
            .offset = f->chunk.offset,
            .data = f->chunk.data,
            .len = f->chunk.len,
        };
        node_on_snapshot_chunk(n->node, peer, &c);
    } else if (f->type == WIRE_FRAME_SNAP_ACK) {
        struct craft_snap_ack a = {
            .leader_term = f->ack.term,
            .index = f->ack.snap_index,
            .term = f->ack.snap_term,
            .offset = f->ack.offset,
            .done = f->ack.done,
        };
        node_on_snapshot_ack(n->node, peer, &a);
    }
}
