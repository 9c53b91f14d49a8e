/* The network's limit beside the replicated benchmarks: the round trip of a small message over
 * loopback TCP on libuv (a client and an echo server on one event loop, TCP_NODELAY). */
#include "bench_loopback_rtt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "bench_clock.h"
#include "bench_latency.h"

/* How long past seconds_max a stalled exchange may hang before the run is abandoned. */
#define RTT_GRACE_MS 5000u

struct rtt {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_tcp_t client;
    uv_tcp_t server_side; /* the accepted end: echoes what it reads */
    uv_connect_t connect;
    uv_timer_t watchdog;
    bool accepted;
    char client_buf[BENCH_LOOPBACK_RTT_MSG];
    char server_buf[BENCH_LOOPBACK_RTT_MSG];
    size_t echoed; /* bytes of the current echo the client has read */
    uint64_t sent_ns;
    uint64_t run_ns;      /* how long to go on once connected */
    uint64_t deadline_ns; /* connection time + run_ns */
    uint64_t *samples;    /* owned by bench_loopback_rtt_measure */
    uint32_t n;
    uint32_t n_max;
    int failed; /* a libuv error code, or 1 for the watchdog */
    bool closing;
};

/* A write with its own copy of the bytes: freed when libuv is done with it. */
struct rtt_write {
    uv_write_t req;
    char data[BENCH_LOOPBACK_RTT_MSG];
};

static void on_close(uv_handle_t *h)
{
    (void)h;
}

static void close_all(struct rtt *r)
{
    if (r->closing) {
        return;
    }
    r->closing = true;
    uv_close((uv_handle_t *)&r->listener, on_close);
    uv_close((uv_handle_t *)&r->client, on_close);
    if (r->accepted) {
        uv_close((uv_handle_t *)&r->server_side, on_close);
    }
    uv_close((uv_handle_t *)&r->watchdog, on_close);
}

static void fail(struct rtt *r, int status, const char *what)
{
    if (r->failed == 0) {
        r->failed = status;
        fprintf(stderr, "craft-bench: loopback rtt: %s: %s\n", what,
                status == 1 ? "no progress" : uv_strerror(status));
    }
    close_all(r);
}

static void on_written(uv_write_t *req, int status)
{
    struct rtt_write *w = (struct rtt_write *)req;
    struct rtt *r = req->handle->loop->data;
    free(w);
    if (status != 0 && status != UV_ECANCELED) {
        fail(r, status, "write");
    }
}

static int send_copy(uv_stream_t *s, const char *data, size_t len)
{
    struct rtt_write *w = malloc(sizeof *w);
    if (w == NULL) {
        return UV_ENOMEM;
    }
    memcpy(w->data, data, len);
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)len);
    int rv = uv_write(&w->req, s, &buf, 1, on_written);
    if (rv != 0) {
        free(w);
    }
    return rv;
}

static void ping(struct rtt *r)
{
    static const char msg[BENCH_LOOPBACK_RTT_MSG] = "craft-bench loopback ping";
    r->echoed = 0;
    r->sent_ns = bench_now_ns();
    int rv = send_copy((uv_stream_t *)&r->client, msg, sizeof msg);
    if (rv != 0) {
        fail(r, rv, "client write");
    }
}

static void alloc_client(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct rtt *r = h->loop->data;
    (void)suggested;
    *buf = uv_buf_init(r->client_buf, sizeof r->client_buf);
}

static void alloc_server(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct rtt *r = h->loop->data;
    (void)suggested;
    *buf = uv_buf_init(r->server_buf, sizeof r->server_buf);
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct rtt *r = s->loop->data;
    (void)buf;
    if (nread < 0) {
        fail(r, (int)nread, "client read");
        return;
    }
    r->echoed += (size_t)nread;
    if (r->echoed < BENCH_LOOPBACK_RTT_MSG) {
        return;
    }
    uint64_t now = bench_now_ns();
    r->samples[r->n++] = now - r->sent_ns;
    if (r->n == r->n_max || now >= r->deadline_ns) {
        close_all(r);
        return;
    }
    ping(r);
}

static void on_server_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct rtt *r = s->loop->data;
    if (nread < 0) {
        if (!r->closing) {
            fail(r, (int)nread, "server read");
        }
        return;
    }
    if (nread > 0) {
        int rv = send_copy(s, buf->base, (size_t)nread);
        if (rv != 0) {
            fail(r, rv, "server write");
        }
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct rtt *r = listener->loop->data;
    if (status != 0 || r->accepted) {
        fail(r, status != 0 ? status : UV_EBUSY, "accept");
        return;
    }
    int rv = uv_tcp_init(&r->loop, &r->server_side);
    if (rv != 0) {
        fail(r, rv, "tcp init");
        return;
    }
    r->accepted = true;
    rv = uv_accept(listener, (uv_stream_t *)&r->server_side);
    if (rv == 0) {
        rv = uv_tcp_nodelay(&r->server_side, 1);
    }
    if (rv == 0) {
        rv = uv_read_start((uv_stream_t *)&r->server_side, alloc_server, on_server_read);
    }
    if (rv != 0) {
        fail(r, rv, "accept");
    }
}

static void on_connected(uv_connect_t *req, int status)
{
    struct rtt *r = req->handle->loop->data;
    int rv = status;
    if (rv == 0) {
        rv = uv_read_start((uv_stream_t *)&r->client, alloc_client, on_client_read);
    }
    if (rv != 0) {
        fail(r, rv, "connect");
        return;
    }
    r->deadline_ns = bench_now_ns() + r->run_ns;
    ping(r);
}

static void on_watchdog(uv_timer_t *t)
{
    fail(t->loop->data, 1, "watchdog");
}

/* Listener bound to 127.0.0.1 on a kernel-chosen port, the client connecting to it. */
static int start(struct rtt *r, double seconds_max)
{
    struct sockaddr_in any;
    struct sockaddr_storage bound;
    int len = sizeof bound;
    int rv = uv_ip4_addr("127.0.0.1", 0, &any);
    if (rv == 0) {
        rv = uv_tcp_bind(&r->listener, (const struct sockaddr *)&any, 0);
    }
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&r->listener, 4, on_connection);
    }
    if (rv == 0) {
        rv = uv_tcp_getsockname(&r->listener, (struct sockaddr *)&bound, &len);
    }
    if (rv == 0) {
        rv = uv_tcp_nodelay(&r->client, 1);
    }
    if (rv == 0) {
        rv = uv_tcp_connect(&r->connect, &r->client, (const struct sockaddr *)&bound, on_connected);
    }
    if (rv == 0) {
        uint64_t limit_ms = (uint64_t)(seconds_max * 1000) + RTT_GRACE_MS;
        rv = uv_timer_start(&r->watchdog, on_watchdog, limit_ms, 0);
    }
    return rv;
}

int bench_loopback_rtt_measure(double seconds_max, uint32_t n_max, struct bench_loopback_rtt *out)
{
    memset(out, 0, sizeof *out);
    if (n_max == 0) {
        return 0;
    }
    struct rtt *r = calloc(1, sizeof *r); /* owned here; the loop's data */
    uint64_t *samples = malloc(n_max * sizeof samples[0]);
    if (r == NULL || samples == NULL || uv_loop_init(&r->loop) != 0) {
        fprintf(stderr, "craft-bench: loopback rtt: out of memory\n");
        free(samples);
        free(r);
        return -1;
    }
    r->loop.data = r;
    r->samples = samples;
    r->n_max = n_max;
    r->run_ns = (uint64_t)(seconds_max * 1e9);
    /* Handle inits on a live loop cannot fail (libuv only fills the struct). */
    uv_tcp_init(&r->loop, &r->listener);
    uv_tcp_init(&r->loop, &r->client);
    uv_timer_init(&r->loop, &r->watchdog);
    int rv = start(r, seconds_max);
    if (rv != 0) {
        fail(r, rv, "listen/connect");
    }
    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&r->loop) != 0) {
        fprintf(stderr, "craft-bench: loopback rtt: loop still busy at close\n");
        r->failed = r->failed != 0 ? r->failed : UV_EBUSY;
    }
    int result = -1;
    if (r->failed == 0) {
        bench_latency_sort(samples, r->n);
        out->n_round_trips = r->n;
        out->p50_us = bench_latency_quantile_us(samples, r->n, 0.50);
        out->p99_us = bench_latency_quantile_us(samples, r->n, 0.99);
        result = 0;
    }
    free(samples);
    free(r);
    return result;
}
