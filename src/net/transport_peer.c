/* A peer's one connection: dialing it (again, after a capped backoff), accepting or refusing a
 * hello, keeping one connection when both sides dialed, and feeding its queue to the writes. */
#include <stdio.h>
#include <string.h>

#include "transport_internal.h"
#include "util/assert.h"
#include "util/log.h"

void peer_drop_pending(struct net_transport *t, struct net_peer *p)
{
    t->stats.n_frames_dropped += send_queue_reset(&p->pending);
}

void peer_flush(struct net_transport *t, struct net_peer *p)
{
    (void)t;
    if (p->conn != NULL) {
        tcp_conn_write(p->conn, &p->pending);
    }
}

static void on_timer(uv_timer_t *h)
{
    struct net_transport *t = h->data;
    for (unsigned i = 0; i < t->n_peers; i++) {
        if (&t->peers[i]->timer == h) {
            peer_dial_now(t, t->peers[i]);
            return;
        }
    }
    CRAFT_ASSERT(false); /* every timer belongs to a peer */
}

void peer_dial_later(struct net_transport *t, struct net_peer *p)
{
    if (t->closing || p->conn != NULL || p->dialing != NULL || p->resolving) {
        return;
    }
    uint32_t ms = backoff_next(&p->backoff);
    craft_log(CRAFT_LOG_DEBUG, t->config.node, 0, "peer %llu: dialing again in %u ms",
              (unsigned long long)p->id, ms);
    uv_timer_start(&p->timer, on_timer, ms, 0);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct tcp_conn *c = req->data;
    if (c->closing) {
        return;
    }
    if (status < 0) {
        struct net_peer *p = transport_peer(c->t, c->dialed);
        if (p != NULL) {
            p->addr_turn++; /* a name with several addresses: the next dial takes the next */
        }
        tcp_conn_close(c, CRAFT_LOG_DEBUG, uv_strerror(status));
        return;
    }
    (void)tcp_conn_start(c); /* a failure closed c, which dials again later */
}

/* Dials p at p->addr. */
static void dial_addr(struct net_transport *t, struct net_peer *p)
{
    struct tcp_conn *c = tcp_conn_new(t, p->id);
    if (c == NULL) {
        peer_dial_later(t, p);
        return;
    }
    p->dialing = c;
    c->connect_req.data = c;
    int rv =
        uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&p->addr, on_connect);
    if (rv != 0) {
        tcp_conn_close(c, CRAFT_LOG_WARN, uv_strerror(rv));
    }
}

/* Picks the address of res that p's turn names into p->addr; false when res has none. */
static bool pick_addr(struct net_peer *p, const struct addrinfo *res)
{
    unsigned n = 0;
    for (const struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        n += a->ai_family == AF_INET || a->ai_family == AF_INET6;
    }
    if (n == 0) {
        return false;
    }
    unsigned want = p->addr_turn % n;
    for (const struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) {
            continue;
        }
        if (want-- == 0) {
            CRAFT_ASSERT(a->ai_addrlen <= sizeof p->addr);
            memset(&p->addr, 0, sizeof p->addr);
            memcpy(&p->addr, a->ai_addr, a->ai_addrlen);
            return true;
        }
    }
    CRAFT_ASSERT(false); /* want < n */
    return false;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct net_peer *p = req->data;
    struct net_transport *t = p->t;
    CRAFT_ASSERT(p->resolving);
    p->resolving = false;
    if (t->closing) {
        uv_freeaddrinfo(res);
        transport_handle_closed(t); /* last: it may free t and p */
        return;
    }
    CRAFT_ASSERT(t->n_handles > 1); /* the listener and the timers stay while not closing */
    t->n_handles--;
    bool picked = status == 0 && pick_addr(p, res);
    uv_freeaddrinfo(res);
    if (!picked) {
        craft_log(CRAFT_LOG_WARN, t->config.node, 0, "peer %llu: cannot resolve %s: %s",
                  (unsigned long long)p->id, p->host,
                  status < 0 ? uv_strerror(status) : "no IPv4 or IPv6 address");
        peer_dial_later(t, p);
        return;
    }
    if (p->conn != NULL || p->dialing != NULL) {
        return; /* the peer dialed us meanwhile */
    }
    dial_addr(t, p);
}

/* Resolves p's name on the loop (libuv's thread pool), then dials its address. */
static void resolve(struct net_transport *t, struct net_peer *p)
{
    struct addrinfo hints;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC; /* IPv4 and IPv6 */
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(service, sizeof service, "%u", (unsigned)p->port);
    p->resolve_req.data = p;
    int rv = uv_getaddrinfo(t->loop, &p->resolve_req, on_resolved, p->host, service, &hints);
    if (rv != 0) {
        craft_log(CRAFT_LOG_WARN, t->config.node, 0, "peer %llu: cannot resolve %s: %s",
                  (unsigned long long)p->id, p->host, uv_strerror(rv));
        peer_dial_later(t, p);
        return;
    }
    p->resolving = true;
    t->n_handles++;
}

void peer_cancel_resolve(struct net_peer *p)
{
    if (p->resolving) {
        /* Fails once the lookup runs; its callback then comes when it ends. */
        (void)uv_cancel((uv_req_t *)&p->resolve_req);
    }
}

void peer_dial_now(struct net_transport *t, struct net_peer *p)
{
    if (t->closing || p->conn != NULL || p->dialing != NULL || p->resolving) {
        return;
    }
    if (p->is_name) {
        resolve(t, p); /* at every dial: the name's address may have changed */
        return;
    }
    dial_addr(t, p);
}

void peer_on_conn_closed(struct tcp_conn *c)
{
    struct net_transport *t = c->t;
    struct net_peer *p = transport_peer(t, c->peer ? c->peer : c->dialed);
    if (p == NULL || t->closing) {
        return;
    }
    bool was_ours = false;
    if (p->dialing == c) {
        p->dialing = NULL;
        was_ours = true;
    }
    if (p->conn == c) {
        p->conn = NULL;
        peer_drop_pending(t, p);
        craft_log(CRAFT_LOG_INFO, t->config.node, 0, "peer %llu: down", (unsigned long long)p->id);
        was_ours = true;
    }
    if (was_ours) {
        peer_dial_later(t, p);
    }
}

/* The node that dialed c. */
static craft_id dialer(const struct net_transport *t, const struct tcp_conn *c)
{
    return c->dialed != CRAFT_ID_NONE ? t->config.node : c->peer;
}

/* Refuses c's hello: counted, logged, closed. */
static void refuse(struct tcp_conn *c, const char *why)
{
    c->t->stats.n_refused++;
    tcp_conn_close(c, CRAFT_LOG_WARN, why);
}

/* Why c's hello h (of frame f) is refused, in why; false when it is accepted. p is the peer
 * it names (NULL: not a peer). */
static bool hello_refused(const struct tcp_conn *c, const struct wire_frame *f,
                          const struct net_peer *p, char *why, size_t why_len)
{
    const struct net_transport *t = c->t;
    const struct wire_hello *h = &f->hello;
    struct wire_hello mine = {.cluster = t->config.cluster,
                              .node = t->config.node,
                              .version_min = WIRE_VERSION,
                              .version_max = WIRE_VERSION};
    if (h->cluster != t->config.cluster) {
        snprintf(why, why_len, "refused: hello of cluster %llu, not ours (%llu)",
                 (unsigned long long)h->cluster, (unsigned long long)t->config.cluster);
    } else if (p == NULL) {
        snprintf(why, why_len, "refused: hello of node %llu, not a known peer",
                 (unsigned long long)h->node);
    } else if (c->dialed != CRAFT_ID_NONE && h->node != c->dialed) {
        snprintf(why, why_len, "refused: dialed node %llu, hello of node %llu",
                 (unsigned long long)c->dialed, (unsigned long long)h->node);
    } else if (f->to != CRAFT_ID_NONE && f->to != t->config.node) {
        snprintf(why, why_len, "refused: hello addressed to node %llu", (unsigned long long)f->to);
    } else if (wire_hello_agree(&mine, h) == 0) {
        snprintf(why, why_len, "refused: versions [%u, %u] do not meet ours [%u, %u]",
                 h->version_min, h->version_max, mine.version_min, mine.version_max);
    } else {
        return false;
    }
    return true;
}

void peer_on_hello(struct tcp_conn *c, const struct wire_frame *f)
{
    struct net_transport *t = c->t;
    const struct wire_hello *h = &f->hello;
    CRAFT_ASSERT(f->type == WIRE_FRAME_HELLO);
    CRAFT_ASSERT(c->peer == CRAFT_ID_NONE);
    struct net_peer *p = transport_peer(t, h->node);
    char why[160];
    if (hello_refused(c, f, p, why, sizeof why)) {
        refuse(c, why);
        return;
    }
    CRAFT_ASSERT(p != NULL);
    c->peer = h->node;
    if (p->dialing == c) {
        p->dialing = NULL;
    }
    craft_id low = t->config.node < p->id ? t->config.node : p->id;
    if (c->dialed == CRAFT_ID_NONE && p->dialing != NULL && low == t->config.node) {
        /* Both sides are dialing and ours will be kept: answering this one would only open a
         * window in which frames go to a connection about to be replaced. */
        tcp_conn_close(c, CRAFT_LOG_DEBUG, "both dialed: ours is kept (the lower id dials)");
        return;
    }
    if (p->conn != NULL) {
        /* Both sides dialed: keep the connection the lower node id dialed, on both sides. */
        if (dialer(t, c) != low || dialer(t, p->conn) == low) {
            tcp_conn_close(c, CRAFT_LOG_DEBUG, "a second connection: the other one is kept");
            return;
        }
        struct tcp_conn *old = p->conn;
        p->conn = NULL; /* detached first, so closing it does not redial */
        old->peer = CRAFT_ID_NONE;
        old->dialed = CRAFT_ID_NONE;
        tcp_conn_close(old, CRAFT_LOG_DEBUG, "a second connection: replaced");
    }
    if (c->dialed == CRAFT_ID_NONE && tcp_conn_send_hello(c) != 0) {
        return; /* c is closed; the peer dials again */
    }
    p->conn = c;
    backoff_reset(&p->backoff);
    uv_timer_stop(&p->timer);
    t->stats.n_connected++;
    craft_log(CRAFT_LOG_INFO, t->config.node, 0, "peer %llu: up (%s)", (unsigned long long)p->id,
              c->dialed ? "dialed" : "accepted");
}
