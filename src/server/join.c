/* The --join client: one short RESP connection per attempt (see join.h), to an IP literal or
 * to one of the addresses a host name resolves to. */
#include "server/join.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/transport.h"
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
    uv_getaddrinfo_t gai; /* resolving a host name */
    bool resolving;       /* gai in flight: j lives until its callback */
    bool closed;          /* tcp's close callback ran */
    char out[512];
    size_t out_len;
    char in[1024];
    size_t in_len;
    unsigned replies_left; /* the last one is RAFT.ADDNODE's */
};

static int bad(char *err, size_t err_len, const char *addr, const char *why)
{
    snprintf(err, err_len, "--join: address \"%s\": %s", addr, why);
    return CRAFT_EINVAL;
}

int join_address_parse(const char *addr, char host[CRAFT_ADDRESS_MAX], uint16_t *port, char *err,
                       size_t err_len)
{
    unsigned char probe[sizeof(struct in6_addr)];
    const char *host_begin = addr;
    const char *host_end;
    const char *port_text;
    if (addr[0] == '[') {
        host_begin = addr + 1;
        host_end = strchr(host_begin, ']');
        if (host_end == NULL || host_end[1] != ':') {
            return bad(err, err_len, addr, "want [ipv6]:port");
        }
        port_text = host_end + 2;
    } else {
        host_end = strrchr(addr, ':');
        if (host_end == NULL) {
            return bad(err, err_len, addr, "no port (want host:port)");
        }
        if (memchr(addr, ':', (size_t)(host_end - addr)) != NULL) {
            return bad(err, err_len, addr, "an IPv6 host goes in brackets: [ipv6]:port");
        }
        port_text = host_end + 1;
    }
    size_t len = (size_t)(host_end - host_begin);
    if (len == 0 || len >= CRAFT_ADDRESS_MAX || len >= NET_HOST_MAX) {
        return bad(err, err_len, addr, "empty or overlong host");
    }
    memcpy(host, host_begin, len);
    host[len] = '\0';
    if (addr[0] == '[') {
        if (inet_pton(AF_INET6, host, probe) != 1) {
            return bad(err, err_len, addr, "not an IPv6 literal");
        }
    } else if (inet_pton(AF_INET, host, probe) != 1) {
        const char *why = net_host_name_check(host);
        if (why != NULL) {
            return bad(err, err_len, addr, why);
        }
    }
    char *end;
    unsigned long value = strtoul(port_text, &end, 10);
    if (port_text[0] < '0' || port_text[0] > '9' || *end != '\0' || value == 0 || value > 65535) {
        return bad(err, err_len, addr, "port is not a number in 1..65535");
    }
    *port = (uint16_t)value;
    return 0;
}

/* j goes once its handle is closed and no lookup is in flight. */
static void release(struct join *j)
{
    if (!j->closed || j->resolving) {
        return;
    }
    struct server *s = j->srv;
    if (s->join == j) {
        s->join = NULL;
    }
    craft_free(j);
}

static void on_closed(uv_handle_t *h)
{
    struct join *j = h->data;
    j->closed = true;
    release(j);
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

static void connect_to(struct join *j, const struct sockaddr *sa)
{
    if (uv_tcp_connect(&j->creq, &j->tcp, sa, on_connect) != 0) {
        finish(j, false, "cannot connect");
    }
}

/* The name's addresses: this attempt dials the next one in turn (a name with an IPv6 and an
 * IPv4 address, only one of them served, is reached on one attempt of two). */
static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct join *j = req->data;
    struct server *s = j->srv;
    j->resolving = false;
    if (uv_is_closing((uv_handle_t *)&j->tcp)) {
        /* Stopped meanwhile (join_stop): the handle is closed or closing. */
        uv_freeaddrinfo(res);
        release(j);
        return;
    }
    if (status < 0 || res == NULL) {
        finish(j, false, status < 0 ? uv_strerror(status) : "the name has no address");
        uv_freeaddrinfo(res);
        return;
    }
    unsigned n = 0;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        n++;
    }
    struct addrinfo *pick = res;
    for (unsigned k = s->join_attempts++ % n; k > 0; k--) {
        pick = pick->ai_next;
    }
    connect_to(j, pick->ai_addr);
    uv_freeaddrinfo(res);
}

static void attempt(struct server *s)
{
    struct sockaddr_storage ss;
    char host[CRAFT_ADDRESS_MAX];
    uint16_t port;
    char err[160];
    if (join_address_parse(s->cfg.join, host, &port, err, sizeof err) != 0) {
        /* The flags' check (server_config.c) refused it already; not worth retrying. */
        craft_log(CRAFT_LOG_ERROR, s->cfg.id, 0, "%s", err);
        s->joined = true;
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
    j->gai.data = j;
    s->join = j;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) == 0) {
        connect_to(j, (struct sockaddr *)&ss);
        return;
    }
    /* A host name: resolved in libuv's thread pool, never on the loop. */
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    j->resolving = true;
    if (uv_getaddrinfo(&s->loop, &j->gai, on_resolved, host, port_text, &hints) != 0) {
        j->resolving = false;
        finish(j, false, "cannot resolve");
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
    struct join *j = s->join;
    if (j == NULL) {
        return;
    }
    if (j->resolving) {
        uv_cancel((uv_req_t *)&j->gai); /* its callback runs anyway (UV_EAI_CANCELED) */
    }
    if (!uv_is_closing((uv_handle_t *)&j->tcp)) {
        uv_close((uv_handle_t *)&j->tcp, on_closed);
    }
}
