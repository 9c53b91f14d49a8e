/* Accepting connections: each waits for the peer's hello, which it answers once accepted. */
#include "transport_internal.h"
#include "util/assert.h"
#include "util/log.h"

/* Accepted connections that have not said who they are. */
static unsigned unnamed(const struct net_transport *t)
{
    unsigned n = 0;
    for (const struct tcp_conn *c = t->conns; c != NULL; c = c->next) {
        n += c->dialed == CRAFT_ID_NONE && c->peer == CRAFT_ID_NONE && !c->closing;
    }
    return n;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct net_transport *t = server->data;
    if (t->closing) {
        return;
    }
    if (status < 0) {
        craft_log(CRAFT_LOG_WARN, t->config.node, 0, "accept: %s", uv_strerror(status));
        return;
    }
    struct tcp_conn *c = tcp_conn_new(t, CRAFT_ID_NONE);
    if (c == NULL) {
        craft_log(CRAFT_LOG_WARN, t->config.node, 0, "accept: out of memory");
        return; /* the connection waits in the backlog; the peer times out and redials */
    }
    int rv = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rv != 0) {
        tcp_conn_close(c, CRAFT_LOG_WARN, uv_strerror(rv));
        return;
    }
    if (unnamed(t) > NET_UNNAMED_MAX) { /* c itself is counted */
        tcp_conn_close(c, CRAFT_LOG_WARN, "too many connections waiting for a hello");
        return;
    }
    (void)tcp_conn_start(c); /* a failure closed c */
}

int tcp_listen_start(struct net_transport *t)
{
    const struct net_transport_config *cf = &t->config;
    struct sockaddr_storage addr;
    if (uv_ip4_addr(cf->listen_host, cf->listen_port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(cf->listen_host, cf->listen_port, (struct sockaddr_in6 *)&addr) != 0) {
        return CRAFT_EINVAL;
    }
    int rv = uv_tcp_init(t->loop, &t->listener);
    CRAFT_ASSERT(rv == 0);
    t->listener.data = t; /* marks the handle as initialised for net_transport_close */
    t->n_handles++;
    rv = uv_tcp_bind(&t->listener, (const struct sockaddr *)&addr, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&t->listener, 128, on_connection);
    }
    if (rv != 0) {
        craft_log(CRAFT_LOG_ERROR, cf->node, 0, "listen on %s:%u: %s", cf->listen_host,
                  cf->listen_port, uv_strerror(rv));
        return CRAFT_EIO;
    }
    return 0;
}
