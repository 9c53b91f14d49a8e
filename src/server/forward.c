/* The forwarder: see forward.h. Each connection first sends AUTH (with --requirepass) and
 * CLIENT REDIRECT on, so a node that is no longer the leader answers -MOVED instead of
 * forwarding again; the command did not run there, and waits to be routed again. */
#include "server/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/resp_scan.h"
#include "server/server.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"

/* A request whose replies are awaited, in the order they were sent. r is NULL for the
 * connection's own AUTH and CLIENT REDIRECT. */
struct fwd_item {
    struct fwd_item *next;
    struct request *r;
    unsigned left; /* replies still to come; the last is relayed */
};

struct fwd_conn {
    struct forwarder *f;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    char address[SERVER_ADDR_MAX];
    bool connected;
    bool writing;
    bool closing;
    struct fwd_item *head, *tail;
    uv_getaddrinfo_t gai; /* resolving a leader's host name */
    bool resolving;       /* gai in progress: fc lives until it ends */
    bool handle_closed;
    struct wbuf wb; /* commands not yet written */
    char *in; /* owned: replies read, not yet complete */
    size_t in_len, in_cap;
};

void forwarder_init(struct forwarder *f, struct server *s)
{
    f->srv = s;
    f->cur = NULL;
}

static bool put(struct fwd_conn *fc, const void *p, size_t n)
{
    return wbuf_append(&fc->wb, p, n);
}

static bool put_command(struct fwd_conn *fc, int argc, const char *const *argv,
                        const size_t *lens)
{
    char head[32];
    int n = snprintf(head, sizeof head, "*%d\r\n", argc);
    bool ok = put(fc, head, (size_t)n);
    for (int i = 0; ok && i < argc; i++) {
        n = snprintf(head, sizeof head, "$%zu\r\n", lens[i]);
        ok = put(fc, head, (size_t)n) && put(fc, argv[i], lens[i]) && put(fc, "\r\n", 2);
    }
    return ok;
}

static bool put_words(struct fwd_conn *fc, int argc, const char *const *words)
{
    size_t lens[4];
    CRAFT_ASSERT(argc <= 4);
    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(words[i]);
    }
    return put_command(fc, argc, words, lens);
}

static struct fwd_item *add_item(struct fwd_conn *fc, struct request *r, unsigned left)
{
    struct fwd_item *it = craft_calloc(1, sizeof *it);
    if (it == NULL) {
        return NULL;
    }
    it->r = r;
    it->left = left;
    if (fc->tail != NULL) {
        fc->tail->next = it;
    } else {
        fc->head = it;
    }
    fc->tail = it;
    return it;
}

/* Answers r with text unless it was answered (timed out) or its client left; drops the hold. */
static void finish(struct request *r, const char *reply, size_t len, bool raw)
{
    if (!r->queued || r->done) {
        request_release(r);
    } else if (raw) {
        resp_reply_raw(&r->reply, reply, len);
        request_complete(r);
    } else {
        resp_reply_error(&r->reply, reply);
        request_complete(r);
    }
}

static void free_conn(struct fwd_conn *fc)
{
    wbuf_close(&fc->wb);
    craft_free(fc->in);
    craft_free(fc);
}

static void on_closed(uv_handle_t *h)
{
    struct fwd_conn *fc = h->data;
    fc->handle_closed = true;
    if (!fc->resolving) {
        free_conn(fc);
    }
}

static void conn_fail(struct fwd_conn *fc, const char *why)
{
    if (fc->closing) {
        return;
    }
    fc->closing = true;
    if (fc->f->cur == fc) {
        fc->f->cur = NULL;
    }
    craft_log(CRAFT_LOG_INFO, fc->f->srv->cfg.id, 0, "forwarding to %s stops: %s", fc->address,
              why);
    while (fc->head != NULL) {
        struct fwd_item *it = fc->head;
        fc->head = it->next;
        struct request *r = it->r;
        if (r != NULL && !fc->connected && r->queued && !r->done && !fc->f->srv->stopping) {
            /* Never sent: wait for the leader (or a new one) like a write that found none. */
            r->in_flight = false;
            data_wait(fc->f->srv, r);
        } else if (r != NULL) {
            finish(r, "TRYAGAIN the connection to the leader was lost: the outcome is unknown",
                   0, false);
        }
        craft_free(it);
    }
    fc->tail = NULL;
    uv_close((uv_handle_t *)&fc->tcp, on_closed);
}

static void start_write(struct fwd_conn *fc);

static void on_write(uv_write_t *w, int status)
{
    struct fwd_conn *fc = w->data;
    fc->writing = false;
    if (fc->closing) {
        return;
    }
    if (status < 0) {
        conn_fail(fc, uv_strerror(status));
        return;
    }
    wbuf_written(&fc->wb, CONN_READ_CHUNK);
    start_write(fc);
}

static void start_write(struct fwd_conn *fc)
{
    uv_buf_t buf;
    if (fc->writing || !fc->connected || fc->closing || !wbuf_take(&fc->wb, &buf)) {
        return;
    }
    fc->wreq.data = fc;
    int rv = uv_write(&fc->wreq, (uv_stream_t *)&fc->tcp, &buf, 1, on_write);
    if (rv != 0) {
        conn_fail(fc, uv_strerror(rv));
        return;
    }
    fc->writing = true;
}

/* One complete reply at in[0..n): counts toward the head item; its last reply is relayed. */
static void on_reply(struct fwd_conn *fc, const char *p, size_t n)
{
    struct fwd_item *it = fc->head;
    if (it == NULL) {
        conn_fail(fc, "a reply nobody asked for");
        return;
    }
    CRAFT_ASSERT(it->left > 0);
    if (--it->left > 0) {
        return;
    }
    fc->head = it->next;
    if (fc->head == NULL) {
        fc->tail = NULL;
    }
    struct request *r = it->r;
    if (r != NULL) {
        if (n >= 6 && memcmp(p, "-MOVED", 6) == 0 && r->queued && !r->done &&
            !fc->f->srv->stopping) {
            /* That node no longer leads, and did not run the command: route it again. */
            r->in_flight = false;
            data_wait(fc->f->srv, r);
        } else {
            finish(r, p, n, true);
        }
    } else if (p[0] == '-') {
        craft_log(CRAFT_LOG_WARN, fc->f->srv->cfg.id, 0, "forwarding to %s: %.*s", fc->address,
                  (int)(n > 200 ? 200 : n - 2), p);
    }
    craft_free(it);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct fwd_conn *fc = h->data;
    (void)suggested;
    if (!craft_grow((void **)&fc->in, &fc->in_cap, fc->in_len + CONN_READ_CHUNK, 1)) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init(fc->in + fc->in_len, (unsigned)(fc->in_cap - fc->in_len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct fwd_conn *fc = stream->data;
    (void)buf;
    if (nread < 0) {
        conn_fail(fc, nread == UV_EOF ? "closed by the leader" : uv_strerror((int)nread));
        return;
    }
    fc->in_len += (size_t)nread;
    size_t pos = 0;
    while (!fc->closing && pos < fc->in_len) {
        long long n = resp_scan(fc->in + pos, fc->in_len - pos);
        if (n == 0) {
            break;
        }
        if (n < 0) {
            conn_fail(fc, "the leader's reply is not RESP");
            return;
        }
        on_reply(fc, fc->in + pos, (size_t)n);
        pos += (size_t)n;
    }
    if (fc->closing) {
        return;
    }
    memmove(fc->in, fc->in + pos, fc->in_len - pos);
    fc->in_len -= pos;
}

static void on_connect(uv_connect_t *req, int status)
{
    struct fwd_conn *fc = req->data;
    if (fc->closing) {
        return;
    }
    if (status < 0) {
        conn_fail(fc, uv_strerror(status));
        return;
    }
    fc->connected = true;
    uv_tcp_nodelay(&fc->tcp, 1);
    if (uv_read_start((uv_stream_t *)&fc->tcp, on_alloc, on_read) != 0) {
        conn_fail(fc, "cannot read");
        return;
    }
    start_write(fc);
}

/* Splits "host:port" ("[v6]:port" too) into host and port; false when it is not that. */
static bool split_address(const char *address, char *host, size_t host_len, char *port,
                          size_t port_len)
{
    const char *colon = strrchr(address, ':');
    if (colon == NULL) {
        return false;
    }
    const char *h = address;
    size_t hn = (size_t)(colon - address);
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    }
    size_t pn = strlen(colon + 1);
    if (hn == 0 || hn >= host_len || pn == 0 || pn >= port_len) {
        return false;
    }
    memcpy(host, h, hn);
    host[hn] = '\0';
    memcpy(port, colon + 1, pn + 1);
    int n = atoi(port);
    return n > 0 && n <= 65535;
}

static void start_connect(struct fwd_conn *fc, const struct sockaddr *sa)
{
    if (uv_tcp_connect(&fc->creq, &fc->tcp, sa, on_connect) != 0) {
        conn_fail(fc, "cannot connect");
    }
}

/* A leader advertised by host name (its --peers host, with a wildcard --bind): resolved
 * without blocking the loop. */
static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct fwd_conn *fc = req->data;
    fc->resolving = false;
    if (fc->closing) {
        if (fc->handle_closed) {
            free_conn(fc);
        }
    } else if (status < 0 || res == NULL) {
        conn_fail(fc, status < 0 ? uv_strerror(status) : "no address");
    } else {
        start_connect(fc, res->ai_addr);
    }
    uv_freeaddrinfo(res);
}

static struct fwd_conn *open_conn(struct forwarder *f, const char *address)
{
    struct server *s = f->srv;
    char host[SERVER_ADDR_MAX];
    char port[8];
    if (!split_address(address, host, sizeof host, port, sizeof port)) {
        craft_log(CRAFT_LOG_WARN, s->cfg.id, 0, "cannot forward to '%s': not HOST:PORT",
                  address);
        return NULL;
    }
    struct fwd_conn *fc = craft_calloc(1, sizeof *fc);
    if (fc == NULL) {
        return NULL;
    }
    fc->f = f;
    wbuf_init(&fc->wb);
    snprintf(fc->address, sizeof fc->address, "%s", address);
    uv_tcp_init(&s->loop, &fc->tcp);
    fc->tcp.data = fc;
    fc->creq.data = fc;
    fc->gai.data = fc;
    bool ok = true;
    if (s->cfg.requirepass[0] != '\0') {
        const char *auth[2] = {"AUTH", s->cfg.requirepass};
        ok = put_words(fc, 2, auth) && add_item(fc, NULL, 1) != NULL;
    }
    const char *redirect[3] = {"CLIENT", "REDIRECT", "on"};
    ok = ok && put_words(fc, 3, redirect) && add_item(fc, NULL, 1) != NULL;
    if (!ok) {
        conn_fail(fc, "out of memory");
        return NULL;
    }
    craft_log(CRAFT_LOG_INFO, s->cfg.id, 0, "forwarding writes to the leader at %s", address);
    struct sockaddr_storage ss;
    int p = atoi(port);
    if (uv_ip4_addr(host, p, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(host, p, (struct sockaddr_in6 *)&ss) == 0) {
        start_connect(fc, (struct sockaddr *)&ss);
    } else {
        struct addrinfo hints;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        fc->resolving = true;
        if (uv_getaddrinfo(&s->loop, &fc->gai, on_resolved, host, port, &hints) != 0) {
            fc->resolving = false;
            conn_fail(fc, "cannot resolve");
        }
    }
    /* A connection that failed at once is closing: its requests already went elsewhere. */
    return fc->closing ? NULL : fc;
}

int forward_request(struct forwarder *f, const char *address, struct request *r)
{
    if (f->cur != NULL && strcmp(f->cur->address, address) != 0) {
        conn_fail(f->cur, "the leader changed");
    }
    if (f->cur == NULL) {
        f->cur = open_conn(f, address);
        if (f->cur == NULL) {
            return CRAFT_EIO;
        }
    }
    struct fwd_conn *fc = f->cur;
    size_t mark = fc->wb.out_len;
    bool ok = true;
    static const char *const multi[1] = {"MULTI"};
    static const char *const exec[1] = {"EXEC"};
    if (r->multi) {
        ok = put_words(fc, 1, multi);
    }
    for (size_t i = 0; ok && i < r->n_cmds; i++) {
        ok = put_command(fc, r->cmds[i].argc, r->cmds[i].argv, r->cmds[i].lens);
    }
    if (ok && r->multi) {
        ok = put_words(fc, 1, exec);
    }
    unsigned replies = (unsigned)r->n_cmds + (r->multi ? 2u : 0u);
    if (!ok || add_item(fc, r, replies) == NULL) {
        wbuf_truncate(&fc->wb, mark);
        return CRAFT_ENOMEM;
    }
    r->in_flight = true;
    start_write(fc);
    return 0;
}

void forwarder_tick(struct forwarder *f, uint64_t now_ms)
{
    struct fwd_conn *fc = f->cur;
    if (fc == NULL) {
        return;
    }
    for (struct fwd_item *it = fc->head; it != NULL; it = it->next) {
        if (it->r != NULL) {
            if (it->r->deadline_ms + f->srv->cfg.request_timeout_ms < now_ms) {
                conn_fail(fc, "the leader does not answer");
            }
            return;
        }
    }
}

void forwarder_close(struct forwarder *f)
{
    if (f->cur != NULL) {
        conn_fail(f->cur, "the server stops");
    }
}
