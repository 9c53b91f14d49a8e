/* Accepting connections: each waits for the peer's hello, which it answers once accepted. */
#include <stdio.h>
#include <string.h>

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

/* The first address of the listen host name, resolved synchronously: once, before the
 * transport serves anything. CRAFT_EIO (logged) when it does not resolve. */
static int resolve_listen(struct net_transport *t, struct sockaddr_storage *addr)
{
    const struct net_transport_config *cf = &t->config;
    struct addrinfo hints;
    char service[8];
    uv_getaddrinfo_t req;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    snprintf(service, sizeof service, "%u", (unsigned)cf->listen_port);
    int rv = uv_getaddrinfo(t->loop, &req, NULL, cf->listen_host, service, &hints);
    const struct addrinfo *a = rv == 0 ? req.addrinfo : NULL;
    while (a != NULL && a->ai_family != AF_INET && a->ai_family != AF_INET6) {
        a = a->ai_next;
    }
    if (a == NULL) {
        craft_log(CRAFT_LOG_ERROR, cf->node, 0, "listen on %s:%u: cannot resolve: %s",
                  cf->listen_host, cf->listen_port,
                  rv != 0 ? uv_strerror(rv) : "no IPv4 or IPv6 address");
        if (rv == 0) {
            uv_freeaddrinfo(req.addrinfo);
        }
        return CRAFT_EIO;
    }
    CRAFT_ASSERT(a->ai_addrlen <= sizeof *addr);
    memset(addr, 0, sizeof *addr);
    memcpy(addr, a->ai_addr, a->ai_addrlen);
    uv_freeaddrinfo(req.addrinfo);
    return 0;
}

int tcp_listen_start(struct net_transport *t)
{
    const struct net_transport_config *cf = &t->config;
    struct sockaddr_storage addr;
    if (uv_ip4_addr(cf->listen_host, cf->listen_port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(cf->listen_host, cf->listen_port, (struct sockaddr_in6 *)&addr) != 0) {
        if (net_host_name_check(cf->listen_host) != NULL) {
            return CRAFT_EINVAL;
        }
        int rv = resolve_listen(t, &addr);
        if (rv != 0) {
            return rv;
        }
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
