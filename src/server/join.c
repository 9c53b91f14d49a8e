/* The --join client: one short RESP connection per attempt (see join.h). */
#include "server/join.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/resp_scan.h"
#include "server/server.h"
#include "util/alloc.h"
#include "util/log.h"

#define JOIN_RETRY_MS 1000

struct join {
    struct server *srv;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    char out[512];
    size_t out_len;
    char in[1024];
    size_t in_len;
    unsigned replies_left; /* the last one is RAFT.ADDNODE's */
};

static void on_closed(uv_handle_t *h)
{
    struct join *j = h->data;
    struct server *s = j->srv;
    if (s->join == j) {
        s->join = NULL;
    }
    craft_free(j);
}

static void finish(struct join *j, bool joined, const char *why)
{
    struct server *s = j->srv;
    if (joined) {
        s->joined = true;
        craft_log(CRAFT_LOG_INFO, s->cfg.id, 0, "joined the cluster through %s", s->cfg.join);
    } else {
        s->join_next_ms = server_now_ms(s) + JOIN_RETRY_MS;
        craft_log(CRAFT_LOG_INFO, s->cfg.id, 0, "join through %s: %s; retrying", s->cfg.join,
                  why);
    }
    if (!uv_is_closing((uv_handle_t *)&j->tcp)) {
        uv_close((uv_handle_t *)&j->tcp, on_closed);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct join *j = h->data;
    (void)suggested;
    *buf = uv_buf_init(j->in + j->in_len, (unsigned)(sizeof j->in - j->in_len));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct join *j = st->data;
    (void)buf;
    if (nread < 0) {
        finish(j, false, nread == UV_EOF ? "connection closed" : uv_strerror((int)nread));
        return;
    }
    j->in_len += (size_t)nread;
    for (;;) {
        long long n = resp_scan(j->in, j->in_len);
        if (n < 0 || (n == 0 && j->in_len == sizeof j->in)) {
            finish(j, false, "bad reply");
            return;
        }
        if (n == 0) {
            return;
        }
        bool ok = j->in[0] == '+';
        bool member = strstr(j->in, "already a member") != NULL && n < (long long)sizeof j->in;
        char text[256];
        snprintf(text, sizeof text, "%.*s", (int)(n > 200 ? 200 : n - 2), j->in);
        memmove(j->in, j->in + n, j->in_len - (size_t)n);
        j->in_len -= (size_t)n;
        if (--j->replies_left == 0) {
            finish(j, ok || member, text);
            return;
        }
        if (!ok) {
            finish(j, false, text);
            return;
        }
    }
}

static void on_write(uv_write_t *w, int status)
{
    struct join *j = w->data;
    if (status < 0 && !uv_is_closing((uv_handle_t *)&j->tcp)) {
        finish(j, false, uv_strerror(status));
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    struct join *j = req->data;
    if (status < 0) {
        finish(j, false, uv_strerror(status));
        return;
    }
    uv_buf_t b = uv_buf_init(j->out, (unsigned)j->out_len);
    j->wreq.data = j;
    if (uv_read_start((uv_stream_t *)&j->tcp, on_alloc, on_read) != 0 ||
        uv_write(&j->wreq, (uv_stream_t *)&j->tcp, &b, 1, on_write) != 0) {
        finish(j, false, "cannot send");
    }
}

static void add_command(struct join *j, int argc, const char *const *argv)
{
    int n = snprintf(j->out + j->out_len, sizeof j->out - j->out_len, "*%d\r\n", argc);
    j->out_len += (size_t)n;
    for (int i = 0; i < argc; i++) {
        n = snprintf(j->out + j->out_len, sizeof j->out - j->out_len, "$%zu\r\n%s\r\n",
                     strlen(argv[i]), argv[i]);
        j->out_len += (size_t)n;
    }
    j->replies_left++;
}

static void attempt(struct server *s)
{
    struct sockaddr_storage ss;
    char host[CRAFT_ADDRESS_MAX];
    snprintf(host, sizeof host, "%s", s->cfg.join);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    if (uv_ip4_addr(host, atoi(colon + 1), (struct sockaddr_in *)&ss) != 0) {
        craft_log(CRAFT_LOG_ERROR, s->cfg.id, 0, "--join %s: not IPv4:PORT", s->cfg.join);
        s->joined = true; /* nothing to retry */
        return;
    }
    struct join *j = craft_calloc(1, sizeof *j);
    if (j == NULL) {
        return;
    }
    j->srv = s;
    char id[24];
    char addr[CRAFT_ADDRESS_MAX];
    snprintf(id, sizeof id, "%llu", (unsigned long long)s->cfg.id);
    peer_dir_own_address(s, addr, sizeof addr);
    if (s->cfg.requirepass[0] != '\0') {
        const char *auth[2] = {"AUTH", s->cfg.requirepass};
        add_command(j, 2, auth);
    }
    const char *add[3] = {"RAFT.ADDNODE", id, addr};
    add_command(j, 3, add);
    uv_tcp_init(&s->loop, &j->tcp);
    j->tcp.data = j;
    j->creq.data = j;
    s->join = j;
    if (uv_tcp_connect(&j->creq, &j->tcp, (struct sockaddr *)&ss, on_connect) != 0) {
        finish(j, false, "cannot connect");
    }
}

void join_start(struct server *s)
{
    s->joined = s->cfg.join[0] == '\0';
    s->join_next_ms = 0;
}

void join_tick(struct server *s, uint64_t now_ms)
{
    if (s->joined || s->join != NULL || s->stopping || now_ms < s->join_next_ms) {
        return;
    }
    attempt(s);
}

void join_stop(struct server *s)
{
    s->joined = true;
    if (s->join != NULL && !uv_is_closing((uv_handle_t *)&s->join->tcp)) {
        uv_close((uv_handle_t *)&s->join->tcp, on_closed);
    }
}
