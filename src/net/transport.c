/* The transport object: its config, its peers, sending into per-peer queues, and closing every
 * handle before the memory goes. */
#include <string.h>

#include "transport_internal.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"

void net_transport_config_init(struct net_transport_config *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->listen_host, "127.0.0.1");
    c->body_max = WIRE_BODY_MAX_DEFAULT;
    c->send_queue_bytes_max = NET_SEND_QUEUE_BYTES_DEFAULT;
    c->backoff_ms_min = NET_BACKOFF_MS_MIN_DEFAULT;
    c->backoff_ms_max = NET_BACKOFF_MS_MAX_DEFAULT;
    c->hello_timeout_ms = NET_HELLO_TIMEOUT_MS_DEFAULT;
    c->seed = 1;
}

static bool config_valid(const struct net_transport_config *c)
{
    return c->node != CRAFT_ID_NONE && c->body_max >= WIRE_HELLO_BYTES &&
           c->send_queue_bytes_max >= WIRE_HEADER_BYTES &&
           c->send_queue_bytes_max <= UINT32_MAX /* one uv_buf_t holds a whole queue */ &&
           c->backoff_ms_min >= 1 && c->backoff_ms_min <= c->backoff_ms_max &&
           c->hello_timeout_ms >= 1 && memchr(c->listen_host, 0, sizeof c->listen_host) != NULL &&
           (net_host_is_ip(c->listen_host) || net_host_name_check(c->listen_host) == NULL);
}

int net_transport_create(uv_loop_t *loop, const struct net_transport_config *c, void *ctx,
                         net_frame_cb on_frame, struct net_transport **out)
{
    CRAFT_ASSERT(loop != NULL);
    CRAFT_ASSERT(on_frame != NULL);
    if (!config_valid(c)) {
        return CRAFT_EINVAL;
    }
    struct net_transport *t = craft_calloc(1, sizeof *t); /* owned by the caller until close */
    if (t == NULL) {
        return CRAFT_ENOMEM;
    }
    t->loop = loop;
    t->config = *c;
    t->ctx = ctx;
    t->on_frame = on_frame;
    prng_seed(&t->prng, c->seed ^ c->node);
    int rv = uv_prepare_init(loop, &t->flusher);
    CRAFT_ASSERT(rv == 0); /* cannot fail on a live loop */
    t->flusher.data = t;
    t->n_handles++;
    hello_deadline_start(t);
    rv = tcp_listen_start(t); /* counts the listener's handle once it is initialised */
    if (rv != 0) {
        net_transport_close(t, NULL);
        return rv;
    }
    *out = t;
    return 0;
}

uint16_t net_transport_port(const struct net_transport *t)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int rv = uv_tcp_getsockname(&t->listener, (struct sockaddr *)&ss, &len);
    CRAFT_ASSERT(rv == 0);
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

struct net_peer *transport_peer(const struct net_transport *t, craft_id id)
{
    for (unsigned i = 0; i < t->n_peers; i++) {
        if (t->peers[i]->id == id) {
            return t->peers[i];
        }
    }
    return NULL;
}

int net_transport_add_peer(struct net_transport *t, craft_id id, const char *host, uint16_t port)
{
    CRAFT_ASSERT(!t->closing);
    if (id == CRAFT_ID_NONE || id == t->config.node) {
        return CRAFT_EINVAL;
    }
    if (transport_peer(t, id) != NULL) {
        return CRAFT_EEXIST;
    }
    if (t->n_peers == NET_PEERS_MAX) {
        return CRAFT_EINVAL;
    }
    struct sockaddr_storage addr;
    bool is_name = false;
    memset(&addr, 0, sizeof addr);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
        if (net_host_name_check(host) != NULL) {
            return CRAFT_EINVAL;
        }
        is_name = true;
    }
    struct net_peer *p = craft_calloc(1, sizeof *p); /* owned by t->peers */
    if (p == NULL) {
        return CRAFT_ENOMEM;
    }
    p->id = id;
    p->t = t;
    CRAFT_ASSERT(strlen(host) < sizeof p->host); /* both checks above bound it */
    strcpy(p->host, host);
    p->port = port;
    p->is_name = is_name;
    p->addr = addr;
    send_queue_init(&p->pending);
    backoff_init(&p->backoff, t->config.backoff_ms_min, t->config.backoff_ms_max, &t->prng);
    int rv = uv_timer_init(t->loop, &p->timer);
    CRAFT_ASSERT(rv == 0);
    p->timer.data = t;
    t->n_handles++;
    t->peers[t->n_peers++] = p;
    peer_dial_now(t, p);
    return 0;
}

/* Makes room for len more bytes in b; false when out of memory. */
static bool buf_reserve(struct wire_buf *b, size_t len)
{
    return craft_grow((void **)&b->base, &b->cap, b->len + len, 1);
}

/* The checks every send makes before queueing len bytes of class k for peer: 0 with *out (NULL
 * when the frame is dropped), or an error. */
static int send_begin(struct net_transport *t, craft_id peer, enum send_class k, size_t len,
                      struct net_peer **out)
{
    if (t->closing) {
        return CRAFT_ESHUTDOWN;
    }
    struct net_peer *p = transport_peer(t, peer);
    if (p == NULL) {
        return CRAFT_ENOTFOUND;
    }
    if (p->conn == NULL) {
        /* Raft tolerates a lost message; it resends on its own schedule. */
        t->stats.n_frames_dropped++;
        *out = NULL;
        return 0;
    }
    size_t queued = p->pending.buf[k].len + send_queue_bytes(&p->conn->out, k);
    CRAFT_ASSERT(queued <= t->config.send_queue_bytes_max);
    if (len > t->config.send_queue_bytes_max - queued) {
        return CRAFT_EBUSY;
    }
    *out = p;
    return 0;
}

static void send_end(struct net_transport *t, struct net_peer *p, enum send_class k)
{
    CRAFT_ASSERT(p->pending.buf[k].len <= t->config.send_queue_bytes_max);
    p->pending.n_frames[k]++;
    transport_want_flush(t);
}

int net_transport_send(struct net_transport *t, craft_id peer, const void *frame, size_t len)
{
    CRAFT_ASSERT(len >= WIRE_HEADER_BYTES);
    enum send_class k = send_class_of(((const uint8_t *)frame)[5]); /* the type byte */
    struct net_peer *p;
    int rv = send_begin(t, peer, k, len, &p);
    if (rv != 0 || p == NULL) {
        return rv;
    }
    struct wire_buf *b = &p->pending.buf[k];
    if (!buf_reserve(b, len)) {
        return CRAFT_ENOMEM;
    }
    memcpy(b->base + b->len, frame, len);
    b->len += len;
    send_end(t, p, k);
    return 0;
}

int net_transport_send_msg(struct net_transport *t, uint64_t group, const struct craft_msg *m)
{
    CRAFT_ASSERT(m->from == t->config.node);
    struct net_peer *p;
    int rv = send_begin(t, m->to, SEND_CONTROL, wire_msg_size(m), &p);
    if (rv != 0 || p == NULL) {
        return rv;
    }
    rv = wire_buf_append_msg(&p->pending.buf[SEND_CONTROL], group, m);
    if (rv == 0) {
        send_end(t, p, SEND_CONTROL);
    }
    return rv;
}

int net_transport_send_chunk(struct net_transport *t, uint64_t group, craft_id to,
                             const struct wire_snap_chunk *c)
{
    struct net_peer *p;
    int rv = send_begin(t, to, SEND_BULK, wire_chunk_size(c), &p);
    if (rv != 0 || p == NULL) {
        return rv;
    }
    rv = wire_buf_append_chunk(&p->pending.buf[SEND_BULK], group, t->config.node, to, c);
    if (rv == 0) {
        send_end(t, p, SEND_BULK);
    }
    return rv;
}

int net_transport_send_ack(struct net_transport *t, uint64_t group, craft_id to,
                           const struct wire_snap_ack *a)
{
    struct net_peer *p;
    int rv = send_begin(t, to, SEND_CONTROL, wire_ack_size(), &p);
    if (rv != 0 || p == NULL) {
        return rv;
    }
    rv = wire_buf_append_ack(&p->pending.buf[SEND_CONTROL], group, t->config.node, to, a);
    if (rv == 0) {
        send_end(t, p, SEND_CONTROL);
    }
    return rv;
}

bool net_transport_connected(const struct net_transport *t, craft_id peer)
{
    const struct net_peer *p = transport_peer(t, peer);
    return p != NULL && p->conn != NULL;
}

void net_transport_get_stats(const struct net_transport *t, struct net_transport_stats *out)
{
    *out = t->stats;
}

/* Once per loop turn: every peer's queued frames go out in one write. */
static void on_flush(uv_prepare_t *h)
{
    struct net_transport *t = h->data;
    uv_prepare_stop(h);
    for (unsigned i = 0; i < t->n_peers; i++) {
        peer_flush(t, t->peers[i]);
    }
}

void transport_want_flush(struct net_transport *t)
{
    if (!t->closing) {
        uv_prepare_start(&t->flusher, on_flush);
    }
}

static void free_transport(struct net_transport *t)
{
    CRAFT_ASSERT(t->conns == NULL);
    for (unsigned i = 0; i < t->n_peers; i++) {
        send_queue_close(&t->peers[i]->pending);
        craft_free(t->peers[i]);
    }
    net_close_cb done = t->on_close;
    void *ctx = t->ctx;
    craft_free(t);
    if (done != NULL) {
        done(ctx);
    }
}

void transport_handle_closed(struct net_transport *t)
{
    CRAFT_ASSERT(t->n_handles > 0);
    t->n_handles--;
    if (t->n_handles == 0) {
        CRAFT_ASSERT(t->closing);
        free_transport(t);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    transport_handle_closed(h->data);
}

void net_transport_close(struct net_transport *t, net_close_cb done)
{
    CRAFT_ASSERT(!t->closing);
    t->closing = true;
    t->on_close = done;
    for (unsigned i = 0; i < t->n_peers; i++) {
        struct net_peer *p = t->peers[i];
        peer_drop_pending(t, p);
        uv_close((uv_handle_t *)&p->timer, on_handle_closed);
        peer_cancel_resolve(p);
    }
    for (struct tcp_conn *c = t->conns; c != NULL; c = c->next) {
        if (!c->closing) {
            tcp_conn_close(c, CRAFT_LOG_DEBUG, NULL);
        }
    }
    if (t->listener.data == t) { /* set once uv_tcp_init succeeded */
        uv_close((uv_handle_t *)&t->listener, on_handle_closed);
    }
    uv_close((uv_handle_t *)&t->flusher, on_handle_closed);
    uv_close((uv_handle_t *)&t->sweeper, on_handle_closed);
}
