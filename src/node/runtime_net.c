/* The default transport: TCP (net_transport) on the node's loop, behind the ops of craft/plug.h.
 * The node's messages go out as frames of group RT_GROUP; frames that arrive are decoded by the
 * transport and handed to the node without a copy: the plain ones of a loop turn in one batch
 * (one step), an AppendEntries with entries at once (its entries live for the call). */
#include <stdio.h>
#include <string.h>

#include "runtime.h"
#include "util/assert.h"

static void on_frame(void *ctx, craft_id peer, const struct wire_frame *f)
{
    struct craft_node *n = ctx;
    if (n->node_dead) {
        return;
    }
    if (f->group != RT_GROUP) {
        RT_LOG(n, CRAFT_LOG_DEBUG, "peer %llu: frame for group %llu ignored",
               (unsigned long long)peer, (unsigned long long)f->group);
        return;
    }
    if (f->type == WIRE_FRAME_SNAP_CHUNK || f->type == WIRE_FRAME_SNAP_ACK) {
        rt_stream_on_frame(n, peer, f);
        return;
    }
    if (f->type < WIRE_FRAME_MSG || f->type > WIRE_FRAME_MSG_LAST) {
        RT_LOG(n, CRAFT_LOG_DEBUG, "peer %llu: %s frame ignored", (unsigned long long)peer,
               wire_frame_type_name(f->type));
        return;
    }
    if (f->msg.type == CRAFT_MSG_APPEND && f->msg.append.n_entries > 0) {
        /* Its entries live only for this call: hand it over now, after what came before it. */
        rt_net_flush(n);
        if (!n->node_dead) {
            node_on_msgs(n->node, &f->msg, 1);
        }
        return;
    }
    /* A plain value: keep it for one step with the others of this turn. */
    if (n->n_msgs_in == RT_MSGS_BATCH_MAX) {
        rt_net_flush(n);
    }
    struct craft_msg *m = &n->msgs_in[n->n_msgs_in++];
    *m = f->msg;
    if (m->type == CRAFT_MSG_APPEND) {
        m->append.entries = NULL;
    }
}

void rt_net_flush(struct craft_node *n)
{
    size_t k = n->n_msgs_in;
    n->n_msgs_in = 0;
    if (k > 0 && !n->node_dead) {
        node_on_msgs(n->node, n->msgs_in, k);
    }
}

static int net_start(void *ctx, const struct craft_transport_start *s, char *errmsg,
                     size_t errmsg_len)
{
    struct craft_node *n = ctx;
    struct net_transport_config c;
    uint64_t seed = 0;
    int rv;

    (void)s; /* the config's values, parsed into n by craft_node_create */
    net_transport_config_init(&c);
    c.cluster = n->cfg.cluster;
    c.node = n->cfg.id;
    memcpy(c.listen_host, n->listen_host, sizeof c.listen_host);
    c.listen_port = n->listen_port;
    if (uv_random(NULL, NULL, &seed, sizeof seed, 0, NULL) != 0) {
        seed = io_monotonic_ns();
    }
    c.seed = seed ^ n->cfg.id;
    rv = net_transport_create(n->loop, &c, n, on_frame, &n->transport);
    if (rv != 0) {
        n->transport = NULL;
        snprintf(errmsg, errmsg_len, "cannot listen on %s:%u: %s", n->listen_host,
                 (unsigned)n->listen_port, craft_strerror(rv));
        return rv;
    }
    n->listen_port = net_transport_port(n->transport);
    RT_LOG(n, CRAFT_LOG_INFO, "listening on %s:%u", n->listen_host, (unsigned)n->listen_port);
    return 0;
}

static int net_add_peer(void *ctx, craft_id id, const char *address)
{
    struct craft_node *n = ctx;
    char host[NET_HOST_MAX];
    uint16_t port;
    int rv = rt_addr_parse(address, false, host, &port, NULL, 0);
    if (rv != 0) {
        return rv; /* the peer table checked it: not reached */
    }
    return n->transport != NULL ? net_transport_add_peer(n->transport, id, host, port)
                                : CRAFT_ESHUTDOWN;
}

static int net_send(void *ctx, const struct craft_msg *m)
{
    struct craft_node *n = ctx;
    return n->transport != NULL ? net_transport_send_msg(n->transport, RT_GROUP, m)
                                : CRAFT_ESHUTDOWN;
}

static void on_transport_closed(void *ctx)
{
    (void)ctx;
}

static void net_stop(void *ctx)
{
    struct craft_node *n = ctx;
    if (n->transport == NULL) {
        return;
    }
    net_transport_close(n->transport, on_transport_closed);
    n->transport = NULL;
}

const struct craft_transport_ops rt_net_ops = {
    .version = CRAFT_PLUG_VERSION,
    .start = net_start,
    .add_peer = net_add_peer,
    .send = net_send,
    .send_chunk = rt_stream_send_chunk,
    .send_ack = rt_stream_send_ack,
    .stop = net_stop,
};
