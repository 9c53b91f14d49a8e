/* The metrics endpoint: a minimal HTTP/1.0 and 1.1 server on the caller's libuv loop. One request
 * per connection (every response says "Connection: close"); a request head is bounded in size
 * and in time, and anything malformed gets its 4xx and the connection closed. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "server/metrics_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

/* How long a connection lingers after its response for the client to close it. */
#define METRICS_LINGER_MS 1000

struct http_conn {
    uv_tcp_t tcp; /* first: the handle's address is the connection's */
    uv_timer_t timer;
    uv_write_t write;
    uv_shutdown_t shutdown;
    struct metrics_http *http;
    struct http_conn *next; /* in http->conns */
    char *response;         /* owned while the write is in flight */
    size_t response_len;
    size_t len;
    unsigned open_handles; /* tcp and timer: the conn is freed when both closed */
    bool responded; /* from here on input is read and dropped until EOF (the lingering close) */
    bool closing;
    char head[METRICS_REQUEST_MAX];
};

struct metrics_http {
    struct metrics *m; /* borrowed; NULL once stopped */
    uv_loop_t *loop;
    uv_tcp_t listener;
    struct http_conn *conns;
    unsigned n_conns;
    uint16_t port;
    bool listener_open;
};

/* --- parsing (pure) --------------------------------------------------------------------------- */

static bool is_token_char(char c)
{
    return c > ' ' && c < 0x7f;
}

int metrics_http_parse(const char *buf, size_t len, struct metrics_http_request *req)
{
    /* The head ends at the first empty line. */
    size_t end = 0;
    bool found = false;
    for (size_t i = 0; i < len && !found; i++) {
        if (buf[i] != '\n') {
            continue;
        }
        if (i >= 1 && buf[i - 1] == '\n') {
            end = i + 1, found = true;
        } else if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n') {
            end = i + 1, found = true;
        }
    }
    if (!found) {
        return len >= METRICS_REQUEST_MAX ? METRICS_HTTP_TOO_LARGE : METRICS_HTTP_INCOMPLETE;
    }
    if (end > METRICS_REQUEST_MAX) {
        return METRICS_HTTP_TOO_LARGE;
    }
    memset(req, 0, sizeof *req);
    /* Request line: METHOD SP target SP HTTP/1.x (CR) LF */
    size_t i = 0, n = 0;
    while (i < end && is_token_char(buf[i])) {
        if (n + 1 >= sizeof req->method) {
            return METRICS_HTTP_BAD;
        }
        req->method[n++] = buf[i++];
    }
    if (n == 0 || i >= end || buf[i] != ' ') {
        return METRICS_HTTP_BAD;
    }
    i++;
    n = 0;
    bool query = false;
    while (i < end && is_token_char(buf[i])) {
        query = query || buf[i] == '?';
        if (!query) {
            if (n + 1 >= sizeof req->path) {
                return METRICS_HTTP_BAD;
            }
            req->path[n++] = buf[i];
        }
        i++;
    }
    if (n == 0 || req->path[0] != '/' || i >= end || buf[i] != ' ') {
        return METRICS_HTTP_BAD;
    }
    i++;
    if (end - i < 9 || memcmp(buf + i, "HTTP/1.", 7) != 0 || (buf[i + 7] != '0' &&
                                                              buf[i + 7] != '1')) {
        return METRICS_HTTP_BAD;
    }
    req->minor = buf[i + 7] - '0';
    i += 8;
    if (buf[i] == '\r') {
        i++;
    }
    if (i >= end || buf[i] != '\n') {
        return METRICS_HTTP_BAD;
    }
    i++;
    /* Header lines: each needs a name and a colon; their values are not used. */
    while (i < end) {
        size_t line = i;
        while (i < end && buf[i] != '\n') {
            i++;
        }
        size_t line_end = i > line && buf[i - 1] == '\r' ? i - 1 : i;
        i++;
        if (line_end == line) {
            break; /* the empty line */
        }
        const char *colon = memchr(buf + line, ':', line_end - line);
        if (colon == NULL || colon == buf + line) {
            return METRICS_HTTP_BAD;
        }
        for (const char *p = buf + line; p < colon; p++) {
            if (!is_token_char(*p)) {
                return METRICS_HTTP_BAD;
            }
        }
    }
    return METRICS_HTTP_OK;
}

static void status_head(struct metrics_buf *b, const char *status, const char *type,
                        size_t body_len)
{
    metrics_buf_printf(b,
                       "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n",
                       status, type, body_len);
}

static char *plain(const char *status, const char *body, size_t *len)
{
    struct metrics_buf b;
    metrics_buf_init(&b);
    status_head(&b, status, "text/plain; charset=utf-8", strlen(body));
    metrics_buf_append(&b, body, strlen(body));
    return metrics_buf_take(&b, len);
}

char *metrics_http_respond(struct metrics *m, int parse, const struct metrics_http_request *req,
                           size_t *len)
{
    if (parse == METRICS_HTTP_TOO_LARGE) {
        return plain("431 Request Header Fields Too Large", "request head too large\n", len);
    }
    if (parse != METRICS_HTTP_OK) {
        return plain("400 Bad Request", "bad request\n", len);
    }
    bool head_only = strcmp(req->method, "HEAD") == 0;
    if (strcmp(req->method, "GET") != 0 && !head_only) {
        return plain("405 Method Not Allowed", "only GET and HEAD\n", len);
    }
    if (strcmp(req->path, "/metrics") != 0) {
        return plain("404 Not Found", "not found; try /metrics\n", len);
    }
    metrics_run_refresh(m);
    size_t body_len = 0;
    char *body = metrics_render(m, &body_len);
    if (body == NULL) {
        return NULL;
    }
    struct metrics_buf b;
    metrics_buf_init(&b);
    status_head(&b, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body_len);
    if (!head_only) {
        metrics_buf_append(&b, body, body_len);
    }
    craft_free(body);
    return metrics_buf_take(&b, len);
}

/* --- connections ------------------------------------------------------------------------------ */

static void http_free_if_done(struct metrics_http *h)
{
    if (h->m == NULL && h->conns == NULL && !h->listener_open) {
        craft_free(h);
    }
}

static void on_conn_handle_closed(uv_handle_t *handle)
{
    struct http_conn *c = handle->data;
    CRAFT_ASSERT(c->open_handles > 0);
    if (--c->open_handles > 0) {
        return;
    }
    struct metrics_http *h = c->http;
    for (struct http_conn **p = &h->conns; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    h->n_conns--;
    craft_free(c->response);
    craft_free(c);
    http_free_if_done(h);
}

static void conn_close(struct http_conn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

static void on_timeout(uv_timer_t *timer)
{
    conn_close(timer->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    if (status != 0) {
        conn_close(req->data);
    }
}

/* One request per connection: after the response, the write side is shut and the connection
 * closes at the client's EOF or after METRICS_LINGER_MS. Closing at once could reset it while
 * the client's unread input (an oversized head) is still queued here, and a reset may drop the
 * response before the client reads it. */
static void on_written(uv_write_t *w, int status)
{
    struct http_conn *c = w->data;
    if (status != 0 || c->closing) {
        conn_close(c);
        return;
    }
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, METRICS_LINGER_MS, 0);
}

static void respond(struct http_conn *c, int parse, const struct metrics_http_request *req)
{
    c->responded = true;
    uv_timer_stop(&c->timer);
    c->response = metrics_http_respond(c->http->m, parse, req, &c->response_len);
    if (c->response == NULL) {
        conn_close(c); /* out of memory: the scraper sees a closed connection and retries */
        return;
    }
    uv_buf_t buf = uv_buf_init(c->response, (unsigned)c->response_len);
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        conn_close(c);
    }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct http_conn *c = handle->data;
    /* Never more than the head's room: an oversized head is refused, not buffered. */
    buf->base = c->head + c->len;
    buf->len = sizeof c->head - c->len;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct http_conn *c = stream->data;
    if (nread < 0) {
        conn_close(c); /* EOF before a whole head, or an error */
        return;
    }
    if (c->responded) {
        c->len = 0; /* dropped */
        return;
    }
    c->len += (size_t)nread;
    CRAFT_ASSERT(c->len <= sizeof c->head);
    struct metrics_http_request req;
    int parse = metrics_http_parse(c->head, c->len, &req);
    if (parse != METRICS_HTTP_INCOMPLETE) {
        respond(c, parse, &req);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct metrics_http *h = server->data;
    if (status < 0 || h->m == NULL) {
        return;
    }
    struct http_conn *c = craft_calloc(1, sizeof *c);
    if (c == NULL) {
        return; /* stays in the backlog; the scraper times out */
    }
    c->http = h;
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = h->conns;
    h->conns = c;
    h->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || h->n_conns > METRICS_CONNS_MAX) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, METRICS_REQUEST_TIMEOUT_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
    }
}

/* --- the listener ----------------------------------------------------------------------------- */

static void on_listener_closed(uv_handle_t *handle)
{
    struct metrics_http *h = handle->data;
    h->listener_open = false;
    http_free_if_done(h);
}

int metrics_serve_start(struct metrics *m, uv_loop_t *loop, const char *bind, uint16_t port,
                        char *errmsg, size_t errmsg_len)
{
    struct metrics_http **slot = metrics_http_slot(m);
    if (*slot != NULL) {
        return CRAFT_EBUSY;
    }
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    if (uv_ip4_addr(bind, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(bind, port, (struct sockaddr_in6 *)&addr) != 0) {
        if (errmsg != NULL) {
            snprintf(errmsg, errmsg_len, "metrics: bad bind address '%s'", bind);
        }
        return CRAFT_EINVAL;
    }
    struct metrics_http *h = craft_calloc(1, sizeof *h);
    if (h == NULL) {
        return CRAFT_ENOMEM;
    }
    h->m = m;
    h->loop = loop;
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    h->listener_open = true;
    int rv = uv_tcp_bind(&h->listener, (const struct sockaddr *)&addr, 0);
    if (rv == 0) {
        rv = uv_listen((uv_stream_t *)&h->listener, 64, on_connection);
    }
    if (rv != 0) {
        if (errmsg != NULL) {
            snprintf(errmsg, errmsg_len, "metrics: listen on %s:%u: %s", bind, (unsigned)port,
                     uv_strerror(rv));
        }
        h->m = NULL;
        uv_close((uv_handle_t *)&h->listener, on_listener_closed);
        return CRAFT_EIO;
    }
    struct sockaddr_storage bound;
    int bound_len = sizeof bound;
    uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound, &bound_len);
    h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    *slot = h;
    return 0;
}

uint16_t metrics_serve_port(struct metrics *m)
{
    struct metrics_http *h = metrics_http_of(m);
    return h == NULL ? 0 : h->port;
}

void metrics_serve_stop(struct metrics *m)
{
    struct metrics_http **slot = metrics_http_slot(m);
    struct metrics_http *h = *slot;
    if (h == NULL) {
        return;
    }
    *slot = NULL;
    h->m = NULL; /* from here on h frees itself once its handles have closed */
    for (struct http_conn *c = h->conns; c != NULL; c = c->next) {
        conn_close(c);
    }
    uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}
