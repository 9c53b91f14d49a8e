/* The C peer craft is measured against: canonical raft (Debian's libraft-dev 0.15) with its own
 * libuv disk io (raft_uv) and TCP transport (raft_uv_tcp). Three servers share one uv loop on
 * this thread; the leader is kept busy with K raft_apply requests outstanding and each one's
 * time from raft_apply to its callback (committed and applied on the leader) is recorded. */
#include "bench_peer_libraft.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "bench_clock.h"
#include "bench_latency.h"
#include "bench_tmpdir.h"

#define N_SERVERS 3u
#define PROPOSERS_MAX 256u /* the largest point */
#define LEADER_WAIT_NS 10000000000ull
/* Server 1 times out first (100..200 ms) so the first election is quick and rarely split; its
 * timeout goes back to libraft's default (1000 ms) once a leader is known. */
#define FIRST_ELECTION_MS 100u
#define DEFAULT_ELECTION_MS 1000u
/* Proposals still outstanding when a point's time is up must finish within this. */
#define DRAIN_GRACE_NS 10000000000ull

struct peer;

struct server {
    struct peer *peer;
    raft_id id;
    char dir[256];
    char address[32];
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft_fsm fsm;
    struct raft raft;
    uint64_t n_applied; /* the state machine: a count of 64-byte commands */
    bool made_dir;
    bool transport_ready;
    bool io_ready;
    bool raft_ready;
    bool closed;
};

struct proposal {
    struct raft_apply req; /* req.data points back here */
    struct peer *peer;
    uint64_t start_ns;
};

struct peer {
    uv_loop_t loop;
    struct server servers[N_SERVERS];
    struct raft *leader;
    struct proposal proposals[PROPOSERS_MAX];
    uint64_t *samples; /* owned: commits_max latencies of the current point */
    uint32_t commits_max;
    uint32_t n_samples;
    uint32_t n_submitted;
    uint32_t n_outstanding;
    uint64_t stop_ns; /* no new proposal from here on */
    uint64_t last_ns; /* the latest commit of the point */
    int failed;       /* libraft's code of the first failure of the point */
    bool closing;     /* proposals cancelled by the shutdown are not failures */
    unsigned n_closed;
};

/* --- the state machine: counts commands --- */

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct server *s = fsm->data;
    if (buf->len != BENCH_PEER_ENTRY_BYTES) {
        return RAFT_MALFORMED;
    }
    s->n_applied++;
    *result = NULL;
    return 0;
}

/* Version 1: libraft takes the buffers (raft_malloc'd) and frees them. */
static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    struct server *s = fsm->data;
    struct raft_buffer *b = raft_malloc(sizeof *b);
    uint64_t *count = raft_malloc(sizeof *count);
    if (b == NULL || count == NULL) {
        raft_free(b);
        raft_free(count);
        return RAFT_NOMEM;
    }
    *count = s->n_applied;
    b->base = count;
    b->len = sizeof *count;
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

/* The state machine owns buf->base from here. */
static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct server *s = fsm->data;
    if (buf->len != sizeof s->n_applied) {
        return RAFT_MALFORMED;
    }
    memcpy(&s->n_applied, buf->base, sizeof s->n_applied);
    raft_free(buf->base);
    return 0;
}

/* --- set-up and shutdown --- */

/* N_SERVERS distinct free ports of 127.0.0.1, all bound at once so the kernel cannot hand out
 * one twice; released before libraft binds them (nothing else here takes ports meanwhile). */
static int free_ports(unsigned ports[N_SERVERS])
{
    int fds[N_SERVERS];
    int rv = 0;
    unsigned n = 0;
    for (; n < N_SERVERS && rv == 0; n++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        fds[n] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[n] < 0 || bind(fds[n], (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(fds[n], (struct sockaddr *)&a, &len) != 0) {
            perror("craft-bench: libraft: free port");
            rv = -1;
        }
        ports[n] = ntohs(a.sin_port);
    }
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
    return rv;
}

static int server_init(struct peer *p, struct server *s, unsigned i, unsigned port,
                       uint32_t snapshot_threshold)
{
    s->peer = p;
    s->id = i + 1;
    char tag[32];
    snprintf(tag, sizeof tag, "libraft%u", i + 1);
    if (bench_make_dir(tag, s->dir, sizeof s->dir) != 0) {
        return -1;
    }
    s->made_dir = true;
    snprintf(s->address, sizeof s->address, "127.0.0.1:%u", port);
    int rv = raft_uv_tcp_init(&s->transport, &p->loop);
    if (rv != 0) {
        fprintf(stderr, "craft-bench: libraft: raft_uv_tcp_init: %s\n", raft_strerror(rv));
        return -1;
    }
    s->transport_ready = true;
    rv = raft_uv_init(&s->io, &p->loop, s->dir, &s->transport);
    if (rv != 0) {
        fprintf(stderr, "craft-bench: libraft: raft_uv_init(%s): %s (%s)\n", s->dir,
                raft_strerror(rv), s->io.errmsg);
        return -1;
    }
    s->io_ready = true;
    s->fsm = (struct raft_fsm){.version = 1,
                               .data = s,
                               .apply = fsm_apply,
                               .snapshot = fsm_snapshot,
                               .restore = fsm_restore};
    rv = raft_init(&s->raft, &s->io, &s->fsm, s->id, s->address);
    if (rv != 0) {
        fprintf(stderr, "craft-bench: libraft: raft_init: %s (%s)\n", raft_strerror(rv),
                raft_errmsg(&s->raft));
        return -1;
    }
    s->raft_ready = true;
    s->raft.data = s;
    raft_set_snapshot_threshold(&s->raft, snapshot_threshold);
    return 0;
}

/* Bootstraps every server with the same three voters and starts them. */
static int cluster_start(struct peer *p, uint32_t snapshot_threshold)
{
    unsigned ports[N_SERVERS];
    if (free_ports(ports) != 0) {
        return -1;
    }
    for (unsigned i = 0; i < N_SERVERS; i++) {
        if (server_init(p, &p->servers[i], i, ports[i], snapshot_threshold) != 0) {
            return -1;
        }
    }
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    int rv = 0;
    for (unsigned i = 0; i < N_SERVERS && rv == 0; i++) {
        rv = raft_configuration_add(&conf, p->servers[i].id, p->servers[i].address, RAFT_VOTER);
    }
    for (unsigned i = 0; i < N_SERVERS && rv == 0; i++) {
        rv = raft_bootstrap(&p->servers[i].raft, &conf);
    }
    raft_configuration_close(&conf);
    if (rv != 0) {
        fprintf(stderr, "craft-bench: libraft: bootstrap: %s\n", raft_strerror(rv));
        return -1;
    }
    raft_set_election_timeout(&p->servers[0].raft, FIRST_ELECTION_MS);
    for (unsigned i = 0; i < N_SERVERS; i++) {
        rv = raft_start(&p->servers[i].raft);
        if (rv != 0) {
            fprintf(stderr, "craft-bench: libraft: raft_start: %s (%s)\n", raft_strerror(rv),
                    raft_errmsg(&p->servers[i].raft));
            return -1;
        }
    }
    return 0;
}

static struct raft *find_leader(struct peer *p)
{
    for (unsigned i = 0; i < N_SERVERS; i++) {
        if (raft_state(&p->servers[i].raft) == RAFT_LEADER) {
            return &p->servers[i].raft;
        }
    }
    return NULL;
}

/* Runs the loop until a server leads. libraft's tick timer (every heartbeat, 100 ms) wakes the
 * loop, so the deadline is looked at often enough. */
static int wait_leader(struct peer *p)
{
    uint64_t deadline = bench_now_ns() + LEADER_WAIT_NS;
    while ((p->leader = find_leader(p)) == NULL) {
        if (bench_now_ns() >= deadline) {
            fprintf(stderr, "craft-bench: libraft: no leader after 10 s\n");
            return -1;
        }
        uv_run(&p->loop, UV_RUN_ONCE);
    }
    raft_set_election_timeout(&p->servers[0].raft, DEFAULT_ELECTION_MS);
    return 0;
}

static void on_raft_closed(struct raft *r)
{
    struct server *s = r->data;
    raft_uv_close(&s->io);
    raft_uv_tcp_close(&s->transport);
    s->closed = true;
    s->peer->n_closed++;
}

/* Closes what was opened (raft_close cancels outstanding proposals), drains the loop and
 * removes the directories. Returns 0, or -1 if something would not close. */
static int cluster_stop(struct peer *p)
{
    int rv = 0;
    unsigned n_raft = 0;
    p->closing = true;
    for (unsigned i = 0; i < N_SERVERS; i++) {
        struct server *s = &p->servers[i];
        if (s->raft_ready) {
            raft_close(&s->raft, on_raft_closed);
            n_raft++;
        } else {
            /* Never got a raft: release the io and transport directly. */
            if (s->io_ready) {
                raft_uv_close(&s->io);
            }
            if (s->transport_ready) {
                raft_uv_tcp_close(&s->transport);
            }
        }
    }
    uint64_t deadline = bench_now_ns() + LEADER_WAIT_NS;
    while (p->n_closed < n_raft && bench_now_ns() < deadline) {
        uv_run(&p->loop, UV_RUN_ONCE);
    }
    if (p->n_closed < n_raft) {
        fprintf(stderr, "craft-bench: libraft: servers did not close within 10 s\n");
        rv = -1;
    } else {
        uv_run(&p->loop, UV_RUN_DEFAULT); /* the close callbacks of the io's handles */
        if (uv_loop_close(&p->loop) != 0) {
            fprintf(stderr, "craft-bench: libraft: the loop still has handles at close\n");
            rv = -1;
        }
    }
    for (unsigned i = 0; i < N_SERVERS; i++) {
        if (p->servers[i].made_dir) {
            bench_remove_dir(p->servers[i].dir);
        }
    }
    return rv;
}

/* --- the load --- */

static void fail(struct peer *p, int code, const char *what)
{
    if (p->failed == 0 && !p->closing) {
        fprintf(stderr, "craft-bench: libraft: %s: %s\n", what, raft_strerror(code));
    }
    if (p->failed == 0) {
        p->failed = code;
    }
}

static void on_applied(struct raft_apply *req, int status, void *result);

static void submit(struct peer *p, struct proposal *prop)
{
    /* libraft takes the payload (raft_malloc'd) when raft_apply returns 0. */
    void *data = raft_malloc(BENCH_PEER_ENTRY_BYTES);
    if (data == NULL) {
        fail(p, RAFT_NOMEM, "proposal");
        return;
    }
    memset(data, (int)(p->n_submitted & 0xff), BENCH_PEER_ENTRY_BYTES);
    struct raft_buffer buf = {.base = data, .len = BENCH_PEER_ENTRY_BYTES};
    prop->peer = p;
    prop->req.data = prop;
    prop->start_ns = bench_now_ns();
    p->n_submitted++;
    p->n_outstanding++;
    int rv = raft_apply(p->leader, &prop->req, &buf, 1, on_applied);
    if (rv != 0) {
        p->n_submitted--;
        p->n_outstanding--;
        raft_free(data);
        fail(p, rv, "raft_apply");
    }
}

static void on_applied(struct raft_apply *req, int status, void *result)
{
    struct proposal *prop = req->data;
    struct peer *p = prop->peer;
    uint64_t now = bench_now_ns();
    (void)result;
    p->n_outstanding--;
    if (status != 0) {
        fail(p, status, "proposal");
        return;
    }
    p->samples[p->n_samples++] = now - prop->start_ns; /* n_samples <= n_submitted <= max */
    p->last_ns = now;
    if (p->failed == 0 && !p->closing && p->n_submitted < p->commits_max && now < p->stop_ns) {
        submit(p, prop);
    }
}

/* Keeps `proposers` proposals outstanding until cfg's time or count is reached, then waits for
 * the last ones. */
static int measure_point(struct peer *p, const struct bench_peer_config *cfg, unsigned proposers,
                         struct bench_peer_point *point)
{
    p->commits_max = cfg->commits_max;
    p->n_samples = 0;
    p->n_submitted = 0;
    p->failed = 0;
    uint64_t t0 = bench_now_ns();
    p->stop_ns = t0 + (uint64_t)(cfg->seconds_max * 1e9);
    p->last_ns = t0;
    for (unsigned i = 0; i < proposers && p->n_submitted < p->commits_max && p->failed == 0; i++) {
        submit(p, &p->proposals[i]);
    }
    uint64_t deadline = p->stop_ns + DRAIN_GRACE_NS;
    while (p->n_outstanding > 0) {
        if (bench_now_ns() >= deadline) {
            fprintf(stderr, "craft-bench: libraft: %u proposals still outstanding 10 s late\n",
                    p->n_outstanding);
            return -1;
        }
        uv_run(&p->loop, UV_RUN_ONCE);
    }
    if (p->failed != 0) {
        return -1;
    }
    bench_latency_sort(p->samples, p->n_samples);
    point->proposers = proposers;
    point->n_commits = p->n_samples;
    double seconds = (double)(p->last_ns - t0) / 1e9;
    point->commits_per_s = seconds > 0 ? p->n_samples / seconds : 0;
    point->p50_us = bench_latency_quantile_us(p->samples, p->n_samples, 0.50);
    point->p99_us = bench_latency_quantile_us(p->samples, p->n_samples, 0.99);
    return 0;
}

bool bench_peer_libraft_built(void)
{
    return true;
}

int bench_peer_libraft_measure(const struct bench_peer_config *cfg, struct bench_peer_figures *out)
{
    memset(out, 0, sizeof *out);
    struct peer *p = calloc(1, sizeof *p); /* owned here; libraft points into it until closed */
    uint64_t *samples = malloc((cfg->commits_max + 1u) * sizeof samples[0]);
    if (p == NULL || samples == NULL) {
        fprintf(stderr, "craft-bench: libraft: out of memory\n");
        free(samples);
        free(p);
        return -1;
    }
    p->samples = samples;
    int rv = uv_loop_init(&p->loop);
    if (rv != 0) {
        fprintf(stderr, "craft-bench: libraft: uv_loop_init: %s\n", uv_strerror(rv));
        free(samples);
        free(p);
        return -1;
    }
    rv = cluster_start(p, cfg->snapshot_threshold);
    if (rv == 0) {
        rv = wait_leader(p);
    }
    for (unsigned i = 0; i < BENCH_PEER_N_POINTS && rv == 0; i++) {
        rv = measure_point(p, cfg, bench_peer_proposers(i), &out->points[i]);
    }
    if (cluster_stop(p) != 0) {
        /* libraft may still point into p: leave it (and the samples) to the process's exit. */
        return -1;
    }
    free(samples);
    free(p);
    return rv;
}
