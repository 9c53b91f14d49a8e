/* A client connection: reads RESP requests into a bounded buffer, hands each to dispatch in a
 * slot of an ordered queue, and writes the replies in request order as the slots are answered
 * (pipelining). Reading stops while too many requests or reply bytes are outstanding. A slot
 * that a node callback still holds outlives its connection (request_release frees it). */
#include <stdio.h>
#include <string.h>

#include "server/metrics.h"
#include "server/server.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"

/* Idle connections give back read and write buffers larger than this. */
#define CONN_BUF_KEEP (256u * 1024u)

static void pump(struct conn *c);

static void request_free(struct request *r)
{
    CRAFT_ASSERT(!r->queued);
    CRAFT_ASSERT(!r->in_flight);
    resp_reply_close(&r->reply);
    resp_reply_close(&r->result);
    if (r->cmds != &r->one) {
        for (size_t i = 0; i < r->n_cmds; i++) {
            cmd_args_free(&r->cmds[i]);
        }
        craft_free(r->cmds);
    }
    cmd_args_free(&r->one);
    craft_free(r);
}

void request_release(struct request *r)
{
    CRAFT_ASSERT(r->in_flight);
    r->in_flight = false;
    if (!r->queued) {
        request_free(r);
    }
}

void request_complete(struct request *r)
{
    CRAFT_ASSERT(r->queued);
    struct conn *c = r->conn;
    r->done = true;
    if (r->in_flight) {
        request_release(r);
    }
    conn_flush(c);
}

struct request *conn_request_new(struct conn *c)
{
    struct request *r = craft_calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    resp_reply_init(&r->reply);
    resp_reply_init(&r->result);
    r->srv = c->srv;
    r->conn = c;
    r->cmds = &r->one;
    r->queued = true;
    r->deadline_ms = server_now_ms(c->srv) + c->srv->cfg.request_timeout_ms;
    if (c->tail != NULL) {
        c->tail->next = r;
    } else {
        c->head = r;
    }
    c->tail = r;
    c->n_pending++;
    return r;
}

/* Moves the replies of answered requests at the head of the queue to the output, in order. */
static void move_replies(struct conn *c)
{
    while (c->head != NULL && c->head->done) {
        struct request *r = c->head;
        bool ok;
        if (resp_reply_failed(&r->reply)) {
            static const char oom[] = "-ERR out of memory\r\n";
            ok = wbuf_append(&c->wb, oom, sizeof oom - 1);
        } else {
            ok = wbuf_append(&c->wb, r->reply.data, r->reply.len);
        }
        if (!ok) {
            craft_log(CRAFT_LOG_WARN, c->srv->cfg.id, 0, "client %llu: out of memory for replies",
                      (unsigned long long)c->id);
            conn_close(c);
            return;
        }
        c->head = r->next;
        if (c->head == NULL) {
            c->tail = NULL;
        }
        c->n_pending--;
        if (r->deferred) {
            r->deferred = false; /* answered (late) before its turn came */
            c->n_deferred--;
        }
        r->queued = false;
        r->conn = NULL;
        if (!r->in_flight) {
            request_free(r);
        }
    }
}

static void on_write(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    c->writing = false;
    if (c->closing) {
        return;
    }
    if (status < 0) {
        craft_log(CRAFT_LOG_DEBUG, c->srv->cfg.id, 0, "client %llu: write: %s",
                  (unsigned long long)c->id, uv_strerror(status));
        conn_close(c);
        return;
    }
    wbuf_written(&c->wb, CONN_BUF_KEEP);
    conn_flush(c);
}

/* Writes what waits: at once with uv_try_write, which queues no request, so libuv neither
 * defers a callback to the next turn nor re-arms the socket's epoll registration when its write
 * queue drains (one epoll_ctl per write); a remainder the socket does not take goes as a queued
 * write. true when everything went. */
static bool write_out(struct conn *c)
{
    uv_buf_t buf;
    if (c->writing || c->closing || !wbuf_take(&c->wb, &buf)) {
        return false;
    }
    int done = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (done < 0 && done != UV_EAGAIN) {
        craft_log(CRAFT_LOG_DEBUG, c->srv->cfg.id, 0, "client %llu: write: %s",
                  (unsigned long long)c->id, uv_strerror(done));
        conn_close(c);
        return false;
    }
    size_t skip = done > 0 ? (size_t)done : 0;
    CRAFT_ASSERT(skip <= buf.len);
    if (skip == buf.len) {
        wbuf_written(&c->wb, CONN_BUF_KEEP);
        return true;
    }
    buf.base += skip;
    buf.len -= (unsigned)skip;
    c->wreq.data = c;
    int rv = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
    if (rv != 0) {
        conn_close(c);
        return false;
    }
    c->writing = true;
    return false;
}

/* Every connection answered during a loop turn is written once, before the loop polls: the
 * replies that complete in one turn (an apply batch, a pipeline's immediate answers) share one
 * write per connection. */
static void on_writer(uv_prepare_t *h)
{
    struct server *s = h->data;
    uv_prepare_stop(h);
    struct conn *list = s->write_head; /* connections closed meanwhile are freed only after */
    s->write_head = NULL;
    while (list != NULL) {
        struct conn *c = list;
        list = c->write_next;
        c->write_next = NULL;
        c->write_queued = false;
        if (write_out(c)) {
            conn_flush(c); /* a close after the replies, and reading resumed below the limits */
        }
    }
}

void conn_writer_init(struct server *s)
{
    uv_prepare_init(&s->loop, &s->writer);
    s->writer.data = s;
    s->write_head = NULL;
}

static void start_write(struct conn *c)
{
    if (c->write_queued || c->writing || c->closing || wbuf_pending(&c->wb) == 0) {
        return;
    }
    struct server *s = c->srv;
    if (s->stopping) {
        (void)write_out(c); /* the loop may not turn again for the writer */
        return;
    }
    c->write_queued = true;
    c->write_next = s->write_head;
    s->write_head = c;
    uv_prepare_start(&s->writer, on_writer);
}

static bool over_limits(const struct conn *c)
{
    return c->n_pending >= CONN_PENDING_MAX ||
           wbuf_pending(&c->wb) >= CONN_OUT_BYTES_MAX;
}

static bool below_resume(const struct conn *c)
{
    return c->n_pending <= CONN_PENDING_MAX / 2 &&
           wbuf_pending(&c->wb) <= CONN_OUT_BYTES_MAX / 2;
}

void conn_flush(struct conn *c)
{
    if (c->closing || c->releasing) {
        return;
    }
    if (c->n_deferred > 0) {
        data_release_deferred(c);
    }
    move_replies(c);
    if (c->closing) {
        return;
    }
    start_write(c);
    if (c->close_after_flush && c->head == NULL && wbuf_pending(&c->wb) == 0) {
        conn_close(c);
        return;
    }
    pump(c);
}

/* A protocol error: Redis answers it, then closes the connection. */
static void protocol_error(struct conn *c)
{
    struct request *r = conn_request_new(c);
    if (r != NULL) {
        resp_reply_errorf(&r->reply, "ERR %s", resp_parser_error(&c->parser));
        r->done = true;
    }
    craft_log(CRAFT_LOG_DEBUG, c->srv->cfg.id, 0, "client %llu (%s): %s",
              (unsigned long long)c->id, c->peer, resp_parser_error(&c->parser));
    c->close_after_flush = true;
}

/* Parses and dispatches the buffered requests, while the limits allow. */
static void process(struct conn *c)
{
    /* A request answered at once flushes, and the flush may resume reading: it must not parse
     * again from inside this loop. */
    if (c->processing) {
        return;
    }
    c->processing = true;
    while (!c->closing && !c->close_after_flush && !over_limits(c)) {
        struct resp_request req;
        size_t used;
        size_t need;
        int rv = resp_parse(&c->parser, c->rbuf + c->rstart, c->rlen - c->rstart, &req, &used,
                            &need);
        if (rv == RESP_PARSE_MORE) {
            c->need = need;
            break;
        }
        if (rv == RESP_PARSE_ERROR) {
            protocol_error(c);
            break;
        }
        c->rstart += used;
        c->need = 0;
        if (req.argc == 0) {
            continue;
        }
        if (req.argc > INT32_MAX) {
            continue; /* cannot be: array_max is far below */
        }
        c->srv->n_commands++;
        dispatch(c, (int)req.argc, req.argv, req.lens);
    }
    /* The plain writes this pass put together go as one entry (data.c), while processing still
     * holds off a nested parse from a reply this sends (a refused batch's writes wait for a
     * leader rather than start again, so none joins a batch here). */
    data_batch_flush(c);
    c->processing = false;
    /* The parser keeps offsets from the request's start, so the unparsed bytes may move. */
    if (c->rstart > 0) {
        memmove(c->rbuf, c->rbuf + c->rstart, c->rlen - c->rstart);
        c->rlen -= c->rstart;
        c->rstart = 0;
    }
    if (c->rlen == 0 && c->rcap > CONN_BUF_KEEP) {
        craft_free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
    }
    move_replies(c);
    if (!c->closing) {
        start_write(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    CRAFT_ASSERT(c->rstart == 0);
    size_t want = c->rlen + CONN_READ_CHUNK;
    /* A bulk string whose length is known: room for all of it (bounded by --max-bulk). */
    if (c->need > c->rlen && c->need > want) {
        want = c->need;
    }
    if (c->rcap < want) {
        size_t cap = c->rcap * 2 > want ? c->rcap * 2 : want;
        if (c->need > 0 && cap > c->need && c->need >= want) {
            cap = c->need;
        }
        char *p = craft_realloc(c->rbuf, cap);
        if (p == NULL) {
            *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS: the read fails */
            return;
        }
        c->rbuf = p;
        c->rcap = cap;
    }
    *buf = uv_buf_init(c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = stream->data;
    (void)buf;
    if (nread < 0) {
        if (nread != UV_EOF) {
            craft_log(CRAFT_LOG_DEBUG, c->srv->cfg.id, 0, "client %llu: read: %s",
                      (unsigned long long)c->id, uv_strerror((int)nread));
        }
        conn_close(c);
        return;
    }
    c->rlen += (size_t)nread;
    CRAFT_ASSERT(c->rlen <= c->rcap);
    process(c);
    if (!c->closing) {
        if (c->close_after_flush && c->head == NULL && wbuf_pending(&c->wb) == 0) {
            conn_close(c);
            return;
        }
        pump(c);
    }
}

/* Reading follows the limits: stop when over them, and when back below half, parse what is
 * buffered and read again. */
static void pump(struct conn *c)
{
    if (c->closing) {
        return;
    }
    if (c->close_after_flush || over_limits(c)) {
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
        }
        return;
    }
    if (c->reading || !below_resume(c)) {
        return;
    }
    if (c->processing) {
        return; /* process() reads on once its loop ends (on_read's pump) */
    }
    if (c->rlen > c->rstart) {
        process(c);
        if (c->closing || c->close_after_flush || over_limits(c)) {
            return;
        }
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) {
        c->reading = true;
    }
}

static void on_close(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct server *s = c->srv;
    /* Requests a callback still holds are detached: the callback frees them. */
    for (struct request *r = c->head; r != NULL;) {
        struct request *next = r->next;
        r->queued = false;
        r->conn = NULL;
        if (!r->in_flight) {
            request_free(r);
        }
        r = next;
    }
    if (c->write_queued) {
        struct conn **pp = &s->write_head;
        while (*pp != c) {
            CRAFT_ASSERT(*pp != NULL);
            pp = &(*pp)->write_next;
        }
        *pp = c->write_next;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    s->n_conns--;
    resp_parser_close(&c->parser);
    craft_free(c->rbuf);
    wbuf_close(&c->wb);
    conn_multi_reset(c);
    craft_free(c->multi_cmds);
    craft_free(c);
}

void conn_close(struct conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

void conn_check_deadlines(struct conn *c, uint64_t now_ms)
{
    bool any = false;
    for (struct request *r = c->head; r != NULL; r = r->next) {
        if (r->done || r->deadline_ms > now_ms) {
            continue;
        }
        unsigned ms = c->srv->cfg.request_timeout_ms;
        resp_reply_clear(&r->reply);
        if (r->waiting) {
            resp_reply_errorf(&r->reply,
                              "TRYAGAIN no leader could take the command within %u ms (it did "
                              "not run)",
                              ms);
            r->done = true;
            any = true;
            continue;
        }
        switch (r->kind) {
        case REQ_WRITE:
            metrics_request_timeout(c->srv, r);
            resp_reply_errorf(&r->reply,
                              "NOQUORUM the write was not committed within %u ms: its outcome "
                              "is unknown",
                              ms);
            break;
        case REQ_FORWARD:
            resp_reply_errorf(&r->reply,
                              "TRYAGAIN the leader did not answer within %u ms: the outcome is "
                              "unknown",
                              ms);
            break;
        case REQ_READ:
        case REQ_INFO:
            resp_reply_errorf(&r->reply, "NOQUORUM the read was not confirmed within %u ms", ms);
            break;
        default:
            resp_reply_errorf(&r->reply, "TRYAGAIN no answer within %u ms", ms);
            break;
        }
        r->done = true;
        any = true;
    }
    if (any) {
        conn_flush(c);
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct server *s = listener->data;
    if (status < 0) {
        craft_log(CRAFT_LOG_WARN, s->cfg.id, 0, "accept: %s", uv_strerror(status));
        return;
    }
    (void)conn_accept(s);
}

int conn_listen(struct server *s)
{
    s->listener.data = s;
    return uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
}

static void free_unaccepted(uv_handle_t *h)
{
    craft_free(h->data);
}

void conn_multi_reset(struct conn *c)
{
    for (size_t i = 0; i < c->multi_n; i++) {
        cmd_args_free(&c->multi_cmds[i]);
    }
    c->multi_n = 0;
    c->in_multi = false;
    c->multi_error = false;
}

int conn_accept(struct server *s)
{
    struct conn *c = craft_calloc(1, sizeof *c);
    if (c == NULL) {
        return CRAFT_ENOMEM;
    }
    c->srv = s;
    uv_tcp_init(&s->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) != 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, free_unaccepted);
        return CRAFT_EIO;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    resp_parser_init(&c->parser, &s->limits);
    c->id = ++s->next_client_id;
    c->authed = s->cfg.requirepass[0] == '\0';
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        char ip[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            uv_ip4_name(in, ip, sizeof ip);
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            uv_ip6_name(in6, ip, sizeof ip);
            port = ntohs(in6->sin6_port);
        }
        snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
    }
    c->next = s->conns;
    if (s->conns != NULL) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->n_conns++;
    s->n_connections++;
    if (s->n_conns > SERVER_CONNS_MAX) {
        /* Redis's answer past maxclients, then the connection closes. */
        struct request *r = conn_request_new(c);
        if (r != NULL) {
            resp_reply_error(&r->reply, "ERR max number of clients reached");
            r->done = true;
        }
        c->close_after_flush = true;
        conn_flush(c);
        return 0;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) {
        c->reading = true;
    } else {
        conn_close(c);
    }
    return 0;
}
