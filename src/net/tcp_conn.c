/* One TCP connection's bytes: the hellos, then writes of queued frames, and reads cut into
 * frames (wire_frame_size), decoded, checked (wire_check_route) and handed to the transport's
 * callback. A malformed frame closes the connection; the peer dials again. */
#include <string.h>

#include "transport_internal.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"

#define ERRMSG_MAX 128

struct tcp_conn *tcp_conn_new(struct net_transport *t, craft_id dialed)
{
    CRAFT_ASSERT(!t->closing);
    struct tcp_conn *c = craft_calloc(1, sizeof *c); /* owned by t->conns until closed */
    if (c == NULL) {
        return NULL;
    }
    int rv = uv_tcp_init(t->loop, &c->tcp);
    CRAFT_ASSERT(rv == 0);
    c->tcp.data = c;
    c->t = t;
    c->dialed = dialed;
    c->opened_ms = uv_now(t->loop);
    send_queue_init(&c->out);
    wire_scratch_init(&c->scratch);
    c->next = t->conns;
    if (t->conns != NULL) {
        t->conns->prev = c;
    }
    t->conns = c;
    t->n_handles++;
    return c;
}

static void on_closed(uv_handle_t *h)
{
    struct tcp_conn *c = h->data;
    struct net_transport *t = c->t;
    CRAFT_ASSERT(c->closing);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        t->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    send_queue_close(&c->out);
    wire_scratch_close(&c->scratch);
    craft_free(c->in);
    craft_free(c);
    transport_handle_closed(t);
}

void tcp_conn_close(struct tcp_conn *c, enum craft_log_level level, const char *reason)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    if (reason != NULL) {
        craft_log(level, c->t->config.node, 0, "connection %s peer %llu: %s",
                  c->dialed ? "to" : "from", (unsigned long long)(c->peer ? c->peer : c->dialed),
                  reason);
    }
    peer_on_conn_closed(c);
    c->t->stats.n_frames_dropped += send_queue_reset(&c->out);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* The write described by write_bytes and write_frames is done: its frames leave the queue. */
static void consume_written(struct tcp_conn *c)
{
    for (int k = 0; k < SEND_CLASSES; k++) {
        send_queue_consume(&c->out, (enum send_class)k, c->write_bytes[k], c->write_frames[k]);
        c->t->stats.n_frames_sent += c->write_frames[k];
        c->write_bytes[k] = 0;
        c->write_frames[k] = 0;
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct tcp_conn *c = req->data;
    CRAFT_ASSERT(c->writing);
    c->writing = false;
    if (c->closing) {
        return;
    }
    if (status < 0) {
        tcp_conn_close(c, CRAFT_LOG_WARN, uv_strerror(status));
        return;
    }
    consume_written(c);
    transport_want_flush(c->t); /* frames queued meanwhile, and the rest of the chunks */
}

void tcp_conn_write(struct tcp_conn *c, struct send_queue *pending)
{
    if (c->writing || c->closing) {
        return;
    }
    for (int k = 0; k < SEND_CLASSES; k++) {
        if (send_queue_bytes(&c->out, (enum send_class)k) == 0) {
            send_queue_take(&c->out, pending, (enum send_class)k);
        }
    }
    /* Control frames go whole; chunks a bounded slice at a time, so that a heartbeat queued
     * while this write is in flight waits for at most NET_BULK_WRITE_BYTES_MAX of them. */
    CRAFT_ASSERT(c->out.head[SEND_CONTROL] == 0);
    c->write_bytes[SEND_CONTROL] = send_queue_bytes(&c->out, SEND_CONTROL);
    c->write_frames[SEND_CONTROL] = c->out.n_frames[SEND_CONTROL];
    c->write_bytes[SEND_BULK] =
        send_queue_cut(&c->out, SEND_BULK, NET_BULK_WRITE_BYTES_MAX, &c->write_frames[SEND_BULK]);
    uv_buf_t bufs[SEND_CLASSES];
    unsigned n = 0;
    for (int k = 0; k < SEND_CLASSES; k++) { /* SEND_CONTROL first */
        const struct wire_buf *b = &c->out.buf[k];
        CRAFT_ASSERT(c->write_bytes[k] <= UINT32_MAX);
        if (c->write_bytes[k] > 0) {
            bufs[n++] = uv_buf_init((char *)b->base + c->out.head[k], (unsigned)c->write_bytes[k]);
        }
    }
    if (n == 0) {
        return;
    }
    /* Try the write at once: when the socket takes it all (the usual case), no request is
     * queued, so libuv neither defers a callback to the next turn nor re-arms the socket's
     * epoll registration when its write queue drains (one epoll_ctl per write). */
    size_t total = c->write_bytes[SEND_CONTROL] + c->write_bytes[SEND_BULK];
    int done = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
    if (done < 0 && done != UV_EAGAIN) {
        tcp_conn_close(c, CRAFT_LOG_WARN, uv_strerror(done));
        return;
    }
    size_t skip = done > 0 ? (size_t)done : 0;
    CRAFT_ASSERT(skip <= total);
    if (skip == total) {
        consume_written(c);
        if (send_queue_bytes(&c->out, SEND_BULK) > 0 || !send_queue_empty(pending)) {
            transport_want_flush(c->t); /* the rest of the chunks */
        }
        return;
    }
    /* The rest goes as a queued write; on_written consumes the whole of write_bytes. */
    unsigned first = 0;
    while (skip >= bufs[first].len) {
        skip -= bufs[first].len;
        first++;
    }
    bufs[first].base += skip;
    bufs[first].len -= (unsigned)skip;
    c->write_req.data = c;
    int rv = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, bufs + first, n - first, on_written);
    if (rv != 0) {
        tcp_conn_close(c, CRAFT_LOG_WARN, uv_strerror(rv));
        return;
    }
    c->writing = true;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct tcp_conn *c = h->data;
    if (c->in_cap - c->in_len < NET_READ_CHUNK &&
        !craft_grow((void **)&c->in, &c->in_cap, c->in_len + NET_READ_CHUNK, 1)) {
        *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS to on_read */
        return;
    }
    size_t room = c->in_cap - c->in_len;
    *buf = uv_buf_init((char *)c->in + c->in_len, room > UINT32_MAX ? UINT32_MAX : (unsigned)room);
}

/* Handles one whole frame; false when the connection was closed. */
static bool on_frame_bytes(struct tcp_conn *c, const unsigned char *p, size_t len)
{
    struct net_transport *t = c->t;
    char errmsg[ERRMSG_MAX];
    struct wire_frame f;
    int rv = wire_decode(p, len, &c->scratch, &f, errmsg, sizeof errmsg);
    if (rv == 0 && c->peer == CRAFT_ID_NONE) {
        if (f.type != WIRE_FRAME_HELLO) {
            snprintf(errmsg, sizeof errmsg, "the first frame is %s, not a hello",
                     wire_frame_type_name(f.type));
            rv = CRAFT_ECORRUPT;
        } else {
            peer_on_hello(c, &f);
            return !c->closing;
        }
    } else if (rv == 0) {
        rv = wire_check_route(&f, c->peer, t->config.node, errmsg, sizeof errmsg);
        if (rv == 0 && f.type == WIRE_FRAME_HELLO) {
            snprintf(errmsg, sizeof errmsg, "a second hello");
            rv = CRAFT_ECORRUPT;
        }
    }
    if (rv != 0) {
        t->stats.n_bad_frames++;
        tcp_conn_close(c, CRAFT_LOG_WARN, errmsg);
        return false;
    }
    t->stats.n_frames_received++;
    t->on_frame(t->ctx, c->peer, &f);
    return !c->closing;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct tcp_conn *c = s->data;
    struct net_transport *t = c->t;
    if (nread == 0 || c->closing) {
        return;
    }
    if (nread < 0) {
        tcp_conn_close(c, nread == UV_EOF ? CRAFT_LOG_INFO : CRAFT_LOG_WARN,
                       nread == UV_EOF ? "closed by the peer" : uv_strerror((int)nread));
        return;
    }
    c->in_len += (size_t)nread;
    CRAFT_ASSERT(c->in_len <= c->in_cap);
    size_t at = 0;
    for (;;) {
        char errmsg[ERRMSG_MAX];
        size_t need;
        int rv = wire_frame_size(c->in + at, c->in_len - at, t->config.body_max, &need, errmsg,
                                 sizeof errmsg);
        if (rv != 0) {
            t->stats.n_bad_frames++;
            tcp_conn_close(c, CRAFT_LOG_WARN, errmsg);
            return;
        }
        if (need > c->in_len - at) {
            break;
        }
        if (!on_frame_bytes(c, c->in + at, need)) {
            return; /* closed: the buffer goes with the connection */
        }
        at += need;
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
}

int tcp_conn_send_hello(struct tcp_conn *c)
{
    struct net_transport *t = c->t;
    CRAFT_ASSERT(send_queue_empty(&c->out));
    CRAFT_ASSERT(!c->writing);
    struct wire_hello h = {
        .cluster = t->config.cluster,
        .node = t->config.node,
        .version_min = WIRE_VERSION,
        .version_max = WIRE_VERSION,
    };
    struct send_queue hello;
    send_queue_init(&hello);
    int rv = wire_buf_append_hello(&hello.buf[SEND_CONTROL], &h, c->dialed ? c->dialed : c->peer);
    if (rv != 0) {
        send_queue_close(&hello);
        tcp_conn_close(c, CRAFT_LOG_WARN, "no memory for the hello");
        return rv;
    }
    /* hello.n_frames stays 0: the stats count the caller's frames. */
    tcp_conn_write(c, &hello);
    send_queue_close(&hello);
    return c->closing ? CRAFT_EIO : 0;
}

int tcp_conn_start(struct tcp_conn *c)
{
    /* The dialer speaks first; the accepting side answers only a hello it accepts, so a dialer
     * that reads a hello knows it was accepted. */
    if (c->dialed != CRAFT_ID_NONE) {
        int rv = tcp_conn_send_hello(c);
        if (rv != 0) {
            return rv;
        }
    }
    int rv = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rv != 0) {
        tcp_conn_close(c, CRAFT_LOG_WARN, uv_strerror(rv));
        return CRAFT_EIO;
    }
    return 0;
}
