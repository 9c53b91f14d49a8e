/* craftd's server: the loop's handles (client listener, signals, the tick, the completion
 * wake-up), the node (created from the flags with kv's state machine, on the same loop), and
 * the order things start and stop in. */
#include "server/server_api.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "server/join.h"
#include "server/metrics.h"
#include "server/server.h"
#include "util/alloc.h"
#include "util/log.h"

uint64_t server_now_ms(struct server *s)
{
    return uv_now(&s->loop);
}

uint64_t server_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void server_status(struct server *s, struct craft_node_status *st)
{
    craft_node_status(s->node, st);
}

/* One outcome, on the loop: straight from the node's callback when it ran on the loop (the
 * node shares it), else from the queue. */
static void on_outcome(void *ctx, struct completion *e)
{
    struct server *s = ctx;
    switch (e->what) {
    case COMPLETION_DATA:
        data_on_completion(s, e);
        break;
    case COMPLETION_ADMIN:
    case COMPLETION_PROMOTE:
        admin_on_completion(s, e);
        break;
    case COMPLETION_ADVERTISE:
        leader_on_advertised(s, e);
        break;
    default:
        break;
    }
}

static void on_wake(uv_async_t *h)
{
    struct server *s = h->data;
    struct completion *e = completion_take_all(&s->cq);
    while (e != NULL) {
        struct completion *next = e->next;
        on_outcome(s, e);
        e = next;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct server *s = t->data;
    uint64_t now = server_now_ms(s);
    struct craft_node_status st;
    server_status(s, &st);
    if (st.role == CRAFT_NODE_STOPPED) {
        /* A failed fdatasync or apply stopped the node: it cannot serve again. */
        craft_log(CRAFT_LOG_ERROR, s->cfg.id, 0, "the node stopped after a fatal error: exiting");
        s->exit_code = 1;
        server_stop(s);
        return;
    }
    for (struct conn *c = s->conns; c != NULL; c = c->next) {
        if (!c->closing) {
            conn_check_deadlines(c, now);
        }
    }
    data_retry_waiting(s);
    leader_tick(s);
    admin_tick(s);
    forwarder_tick(&s->fwd, now);
    peer_dir_tick(s);
    join_tick(s, now);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    craft_log(CRAFT_LOG_INFO, s->cfg.id, 0, "signal %d: stopping", signum);
    server_stop(s);
}

/* "ip:port", with brackets for an IPv6 literal. */
static void join_host_port(char *buf, size_t len, const char *host, unsigned port)
{
    int n = strchr(host, ':') != NULL ? snprintf(buf, len, "[%s]:%u", host, port)
                                      : snprintf(buf, len, "%s:%u", host, port);
    if (n < 0 || (size_t)n >= len) {
        buf[0] = '\0'; /* cannot be: addresses are checked to fit */
    }
}

/* The address clients should use: the bind address, unless it is a wildcard; then the host of
 * this node's --peers entry (reachable by the others), else loopback. */
static void client_address(struct server *s)
{
    const struct server_config *c = &s->cfg;
    if (strcmp(c->bind, "0.0.0.0") != 0 && strcmp(c->bind, "::") != 0) {
        join_host_port(s->client_address, sizeof s->client_address, c->bind, c->port);
        return;
    }
    for (unsigned i = 0; i < c->n_peers; i++) {
        if (c->peers[i].id == c->id) {
            char host[CRAFT_ADDRESS_MAX];
            snprintf(host, sizeof host, "%s", c->peers[i].address);
            char *colon = strrchr(host, ':');
            if (colon != NULL) {
                *colon = '\0';
                /* A bracketed IPv6 host keeps its brackets: strip them for join_host_port. */
                size_t n = strlen(host);
                if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
                    host[n - 1] = '\0';
                    join_host_port(s->client_address, sizeof s->client_address, host + 1,
                                   c->port);
                } else {
                    join_host_port(s->client_address, sizeof s->client_address, host, c->port);
                }
                return;
            }
        }
    }
    snprintf(s->client_address, sizeof s->client_address, "127.0.0.1:%u", (unsigned)c->port);
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char p[SERVER_PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *q = p + 1; *q != '\0'; q++) {
        if (*q == '/') {
            *q = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                return -1;
            }
            *q = '/';
        }
    }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int start_node(struct server *s, char *err, size_t err_len)
{
    const struct server_config *c = &s->cfg;
    struct craft_peer peers[SERVER_PEERS_MAX];
    craft_id voters[CRAFT_VOTERS_MAX];
    unsigned n_peers = 0;
    unsigned n_voters = 0;
    char listen[CRAFT_ADDRESS_MAX + 8];
    join_host_port(listen, sizeof listen, c->bind, c->peer_port);
    for (unsigned i = 0; i < c->n_peers; i++) {
        if (c->peers[i].id != c->id) {
            peers[n_peers++] = c->peers[i];
        }
        if (c->join[0] == '\0' && n_voters < CRAFT_VOTERS_MAX) {
            voters[n_voters++] = c->peers[i].id;
        }
    }
    /* This node votes in a cluster it starts, listed or not; a joining node waits. */
    bool self_listed = false;
    for (unsigned i = 0; i < n_voters; i++) {
        self_listed = self_listed || voters[i] == c->id;
    }
    if (c->join[0] == '\0' && !self_listed) {
        if (n_voters == CRAFT_VOTERS_MAX) {
            snprintf(err, err_len, "--peers: more than %d voters", CRAFT_VOTERS_MAX);
            return -1;
        }
        voters[n_voters++] = c->id;
    }
    struct craft_node_config nc;
    craft_node_config_init(&nc);
    nc.cluster = c->cluster_id;
    nc.id = c->id;
    nc.data_dir = c->dir;
    nc.listen = listen;
    nc.peers = peers;
    nc.n_peers = n_peers;
    nc.voters = voters;
    nc.n_voters = n_voters;
    nc.election_timeout_ms = c->election_timeout_ms;
    nc.heartbeat_interval_ms = c->heartbeat_ms;
    nc.snapshot_every = c->snapshot_every;
    nc.log_level = c->log_level;
    /* The node runs on the server's loop: a request and its outcome never change threads (the
     * state machine applies on this loop too, between its turns); only the log writer's
     * "durable up to" crosses, once per group commit. */
    nc.loop = &s->loop;
    /* A write's entry holds its arguments: room for one --max-bulk value, within what a peer
     * frame carries (a larger write is refused with CRAFT_ETOOBIG). */
    uint64_t entry_max = c->max_bulk + SERVER_ENTRY_SLACK;
    if (entry_max < nc.entry_bytes_max) {
        entry_max = nc.entry_bytes_max;
    }
    nc.entry_bytes_max = entry_max < SERVER_ENTRY_MAX ? entry_max : SERVER_ENTRY_MAX;
    if (craft_node_create(&nc, &kv_fsm_ops, s->store, &s->node, err, err_len) != 0) {
        s->node = NULL;
        return -1;
    }
    return 0;
}

static int listen_clients(struct server *s, char *err, size_t err_len)
{
    struct sockaddr_storage ss;
    const struct server_config *c = &s->cfg;
    if (uv_ip4_addr(c->bind, c->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(c->bind, c->port, (struct sockaddr_in6 *)&ss) != 0) {
        snprintf(err, err_len, "--bind: '%s' is not an IP address", c->bind);
        return -1;
    }
    uv_tcp_init(&s->loop, &s->listener);
    int rv = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
    if (rv == 0) {
        rv = conn_listen(s);
    }
    if (rv != 0) {
        snprintf(err, err_len, "listen on %s:%u: %s", c->bind, (unsigned)c->port,
                 uv_strerror(rv));
        return -1;
    }
    return 0;
}

static void close_handles(struct server *s);

struct server *server_create(const struct server_config *cfg, char *err, size_t err_len)
{
    struct server *s = craft_calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    craft_log_set_level(cfg->log_level);
    resp_limits_default(&s->limits);
    s->limits.bulk_max = cfg->max_bulk;
    client_address(s);
    kv_entry_init(&s->entry);
    forwarder_init(&s->fwd, s);
    uv_loop_init(&s->loop);
    s->started_ms = uv_now(&s->loop);
    uv_async_init(&s->loop, &s->wake, on_wake);
    s->wake.data = s;
    completion_queue_init(&s->cq, &s->wake);
    completion_queue_direct(&s->cq, on_outcome, s); /* this thread runs the loop */
    uv_timer_init(&s->loop, &s->tick);
    s->tick.data = s;
    conn_writer_init(s);
    uv_signal_init(&s->loop, &s->sigint);
    uv_signal_init(&s->loop, &s->sigterm);
    s->sigint.data = s;
    s->sigterm.data = s;
    /* Signals are caught from here on: one that comes while the node recovers stops the
     * server as soon as the loop runs. */
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    if (make_dirs(cfg->dir) != 0) {
        snprintf(err, err_len, "--dir %s: %s", cfg->dir, strerror(errno));
        goto fail;
    }
    s->store = kv_store_create();
    if (s->store == NULL) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (listen_clients(s, err, err_len) != 0) {
        goto fail;
    }
    if (start_node(s, err, err_len) != 0) {
        goto fail;
    }
    if (metrics_start(s) != 0) {
        snprintf(err, err_len, "--metrics-port %u: cannot start", (unsigned)cfg->metrics_port);
        goto fail;
    }
    uv_timer_start(&s->tick, on_tick, SERVER_TICK_MS, SERVER_TICK_MS);
    join_start(s);
    craft_log(CRAFT_LOG_INFO, cfg->id, 0, "craftd %llu: clients on %s:%u, peers on %s:%u, data in %s",
              (unsigned long long)cfg->id, cfg->bind, (unsigned)cfg->port, cfg->bind,
              (unsigned)cfg->peer_port, cfg->dir);
    return s;

fail:
    completion_queue_direct(&s->cq, NULL, NULL);
    if (s->node != NULL) {
        craft_node_destroy(s->node);
        s->node = NULL;
    }
    s->stopping = true;
    close_handles(s);
    uv_run(&s->loop, UV_RUN_DEFAULT); /* closes the node's handles too */
    server_destroy(s);
    return NULL;
}

static void close_handles(struct server *s)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&s->wake, (uv_handle_t *)&s->tick,
                         (uv_handle_t *)&s->writer,
                         (uv_handle_t *)&s->sigint, (uv_handle_t *)&s->sigterm,
                         (uv_handle_t *)&s->listener};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        if (hs[i]->type != UV_UNKNOWN_HANDLE && !uv_is_closing(hs[i])) {
            uv_close(hs[i], NULL);
        }
    }
}

void server_run(struct server *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
}

void server_stop(struct server *s)
{
    if (s->stopping) {
        return;
    }
    s->stopping = true;
    metrics_stop(s);
    join_stop(s);
    for (struct conn *c = s->conns; c != NULL; c = c->next) {
        conn_close(c);
    }
    forwarder_close(&s->fwd);
    /* The node ends what is pending with CRAFT_ESHUTDOWN before it returns; those outcomes go
     * to the queue (not straight on: the node is mid-destroy), and release their requests here.
     * Its handles close as the loop runs on (server_run returns after). */
    completion_queue_direct(&s->cq, NULL, NULL);
    craft_node_destroy(s->node);
    s->node = NULL;
    on_wake(&s->wake);
    data_release_waiting(s);
    close_handles(s);
}

int server_exit_code(const struct server *s)
{
    return s->exit_code;
}

void server_destroy(struct server *s)
{
    if (s == NULL) {
        return;
    }
    int rv = uv_loop_close(&s->loop);
    if (rv != 0) {
        craft_log(CRAFT_LOG_WARN, s->cfg.id, 0, "loop close: %s", uv_strerror(rv));
    }
    completion_queue_close(&s->cq);
    kv_entry_close(&s->entry);
    if (s->store != NULL) {
        kv_store_destroy(s->store);
    }
    craft_free(s);
}
