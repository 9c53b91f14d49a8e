/* For the transport's tests: transports on one real libuv loop over 127.0.0.1, a deadline timer
 * that fails a test instead of letting it hang, raw TCP clients, and a log sink that keeps lines.
 */
#ifndef CRAFT_TEST_TRANSPORT_HARNESS_H
#define CRAFT_TEST_TRANSPORT_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/transport.h"
#include "util/log.h"

#define DEADLINE_MS 5000
#define CLUSTER 0xC1u
#define NODES_MAX 4
#define RECV_MAX 64

struct node {
    struct world *w;
    craft_id id;
    uint16_t port;
    struct net_transport *t; /* NULL once closed */
    bool closed;             /* the close callback ran */
    unsigned n_recv;
    struct wire_frame recv[RECV_MAX]; /* copies; pointers inside are not kept */
    craft_id recv_from[RECV_MAX];
    struct wire_frame expect[RECV_MAX]; /* when n_expect: compared on arrival */
    unsigned n_expect;
    unsigned n_mismatch;
    bool close_on_frame; /* on_frame closes the transport */
    /* When set, sees every frame on arrival (f lives for the call). */
    void (*hook)(struct node *n, craft_id peer, const struct wire_frame *f);
    void *hook_arg;
};

struct world {
    uv_loop_t loop;
    uv_timer_t deadline;
    bool timed_out;
    struct node nodes[NODES_MAX];
};

static char log_lines[16384];

static void log_keep(void *ctx, enum craft_log_level level, const char *line)
{
    (void)ctx;
    (void)level;
    size_t used = strlen(log_lines);
    snprintf(log_lines + used, sizeof log_lines - used, "%s\n", line);
}

static void on_closed(void *ctx);

static void on_frame(void *ctx, craft_id peer, const struct wire_frame *f)
{
    struct node *n = ctx;
    if (n->hook != NULL) {
        n->hook(n, peer, f);
    }
    if (n->n_recv < RECV_MAX) {
        if (n->n_expect > 0 &&
            (n->n_recv >= n->n_expect || !wire_frame_equal(f, &n->expect[n->n_recv]))) {
            n->n_mismatch++;
        }
        n->recv[n->n_recv] = *f;
        n->recv_from[n->n_recv] = peer;
        n->n_recv++;
    }
    if (n->close_on_frame && n->t != NULL) {
        net_transport_close(n->t, on_closed);
        n->t = NULL;
    }
}

static void on_closed(void *ctx)
{
    struct node *n = ctx;
    n->closed = true;
}

static void on_deadline(uv_timer_t *h)
{
    struct world *w = h->data;
    w->timed_out = true;
}

static void world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    log_lines[0] = '\0';
    craft_log_set_sink(NULL, log_keep);
    craft_log_set_level(CRAFT_LOG_DEBUG);
    assert_int_equal(uv_loop_init(&w->loop), 0);
    assert_int_equal(uv_timer_init(&w->loop, &w->deadline), 0);
    w->deadline.data = w;
}

/* Runs the loop until done(arg) or the deadline, which fails the test. */
static void run_until(struct world *w, bool (*done)(struct world *w, void *arg), void *arg)
{
    w->timed_out = false;
    assert_int_equal(uv_timer_start(&w->deadline, on_deadline, DEADLINE_MS, 0), 0);
    while (!done(w, arg) && !w->timed_out) {
        uv_run(&w->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&w->deadline);
    if (w->timed_out) {
        fprintf(stderr, "log:\n%s", log_lines);
        for (unsigned i = 0; i < NODES_MAX; i++) {
            if (w->nodes[i].t != NULL) {
                struct net_transport_stats s;
                net_transport_get_stats(w->nodes[i].t, &s);
                fprintf(stderr, "node %llu: sent %llu received %llu dropped %llu bad %llu\n",
                        (unsigned long long)w->nodes[i].id, (unsigned long long)s.n_frames_sent,
                        (unsigned long long)s.n_frames_received,
                        (unsigned long long)s.n_frames_dropped, (unsigned long long)s.n_bad_frames);
            }
        }
    }
    assert_false(w->timed_out);
}

static struct node *node_start_cfg(struct world *w, unsigned i, craft_id id, uint16_t port,
                                   struct net_transport_config *c)
{
    struct node *n = &w->nodes[i];
    memset(n, 0, sizeof *n);
    n->w = w;
    n->id = id;
    c->node = id;
    c->listen_port = port;
    c->backoff_ms_min = 5;
    c->backoff_ms_max = 50;
    assert_int_equal(net_transport_create(&w->loop, c, n, on_frame, &n->t), 0);
    n->port = net_transport_port(n->t);
    assert_true(n->port != 0);
    return n;
}

static struct node *node_start(struct world *w, unsigned i, craft_id id, uint16_t port)
{
    struct net_transport_config c;
    net_transport_config_init(&c);
    c.cluster = CLUSTER;
    return node_start_cfg(w, i, id, port, &c);
}

static void node_add_peer(struct node *n, const struct node *peer)
{
    assert_int_equal(net_transport_add_peer(n->t, peer->id, "127.0.0.1", peer->port), 0);
}

/* Nodes 1 and 2 (slots 0 and 1) on ports the system picks, each the other's peer. */
static void two_nodes(struct world *w, struct node **a, struct node **b)
{
    *a = node_start(w, 0, 1, 0);
    *b = node_start(w, 1, 2, 0);
    node_add_peer(*a, *b);
    node_add_peer(*b, *a);
}

static bool node_closed(struct world *w, void *arg)
{
    (void)w;
    return ((struct node *)arg)->closed;
}

static void node_close(struct node *n)
{
    net_transport_close(n->t, on_closed);
    n->t = NULL;
    run_until(n->w, node_closed, n);
}

struct link {
    struct node *a, *b;
};

static bool linked(struct world *w, void *arg)
{
    (void)w;
    struct link *l = arg;
    return net_transport_connected(l->a->t, l->b->id) && net_transport_connected(l->b->t, l->a->id);
}

static void wait_linked(struct node *a, struct node *b)
{
    struct link l = {a, b};
    run_until(a->w, linked, &l);
}

struct count {
    struct node *n;
    unsigned want;
};

static bool received(struct world *w, void *arg)
{
    (void)w;
    struct count *c = arg;
    return c->n->n_recv >= c->want;
}

static void wait_received(struct node *n, unsigned want)
{
    struct count c = {n, want};
    run_until(n->w, received, &c);
}

/* Closes every transport still open, then checks that no handle is left on the loop. */
static void world_close(struct world *w)
{
    for (unsigned i = 0; i < NODES_MAX; i++) {
        if (w->nodes[i].t != NULL) {
            node_close(&w->nodes[i]);
        }
    }
    uv_close((uv_handle_t *)&w->deadline, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&w->loop), 0);
    craft_log_set_sink(NULL, NULL);
}

/* A raw TCP client: connects, writes bytes, then closes or waits for the server to close. */
struct raw {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    unsigned char bytes[256];
    size_t len;
    bool close_after_write;
    bool written;
    bool eof; /* the server closed the connection */
    bool closed;
    char rbuf[512];
};

static void raw_on_closed(uv_handle_t *h)
{
    ((struct raw *)h->data)->closed = true;
}

static void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct raw *r = h->data;
    *buf = uv_buf_init(r->rbuf, sizeof r->rbuf);
}

static void raw_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct raw *r = s->data;
    if (nread < 0) {
        r->eof = true;
        uv_close((uv_handle_t *)&r->tcp, raw_on_closed);
    }
}

static void raw_on_written(uv_write_t *req, int status)
{
    struct raw *r = req->data;
    assert_int_equal(status, 0);
    r->written = true;
    if (r->close_after_write) {
        uv_close((uv_handle_t *)&r->tcp, raw_on_closed);
    } else {
        assert_int_equal(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_on_read), 0);
    }
}

static void raw_on_connect(uv_connect_t *req, int status)
{
    struct raw *r = req->data;
    assert_int_equal(status, 0);
    uv_buf_t buf = uv_buf_init((char *)r->bytes, (unsigned)r->len);
    r->write_req.data = r;
    assert_int_equal(uv_write(&r->write_req, (uv_stream_t *)&r->tcp, &buf, 1, raw_on_written), 0);
}

static void raw_start(struct world *w, struct raw *r, uint16_t port)
{
    struct sockaddr_in addr;
    assert_int_equal(uv_ip4_addr("127.0.0.1", port, &addr), 0);
    assert_int_equal(uv_tcp_init(&w->loop, &r->tcp), 0);
    r->tcp.data = r;
    r->connect_req.data = r;
    assert_int_equal(
        uv_tcp_connect(&r->connect_req, &r->tcp, (const struct sockaddr *)&addr, raw_on_connect),
        0);
}

static bool raw_closed(struct world *w, void *arg)
{
    (void)w;
    return ((struct raw *)arg)->closed;
}

static bool log_has(struct world *w, void *arg)
{
    (void)w;
    return strstr(log_lines, arg) != NULL;
}

#endif
