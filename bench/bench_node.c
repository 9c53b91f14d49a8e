#include "bench_node.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_latency.h"
#include "bench_tmpdir.h"
#include "util/copy_stats.h"

#define NODES 3
#define LEADER_WAIT_S 10.0
#define DRAIN_WAIT_S 10.0

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The state machine: counts what it applied. */
static int counter_apply(void *fsm, const struct craft_entry *entries, size_t n, void **results)
{
    (void)entries;
    (void)results;
    atomic_fetch_add((_Atomic uint64_t *)fsm, n);
    return 0;
}

/* One point's run: proposals issued from their predecessors' callbacks. */
struct point_run {
    struct craft_node *leader;
    uint64_t start_ns;
    uint64_t deadline_ns;
    uint32_t max;            /* proposals to issue at most */
    _Atomic uint32_t issued; /* proposals issued (their slot in lat_ns) */
    _Atomic uint32_t done;   /* callbacks run */
    _Atomic uint32_t failed;
    _Atomic int first_failure; /* the status of the first failed proposal */
    _Atomic uint64_t last_ns; /* the last successful commit */
    uint64_t *start_of;       /* per issued proposal: when it was made */
    uint64_t *lat_ns;         /* per issued proposal: its latency (0: failed) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char payload[BENCH_PEER_ENTRY_BYTES];
};

static void on_result(void *arg, const struct craft_result *r);

/* Issues the next proposal if the run still wants one; false when it does not. */
static bool issue(struct point_run *run)
{
    if (now_ns() >= run->deadline_ns) {
        return false;
    }
    uint32_t slot = atomic_fetch_add(&run->issued, 1);
    if (slot >= run->max) {
        atomic_fetch_sub(&run->issued, 1);
        return false;
    }
    run->start_of[slot] = now_ns();
    int rv = craft_node_propose(run->leader, run->payload, sizeof run->payload, on_result,
                                (void *)(uintptr_t)slot);
    if (rv != 0) {
        /* Refused at once (no callback will run): that slot ends here, and this chain of
         * proposals with it (a retry from here would recurse). */
        run->lat_ns[slot] = 0;
        int none = 0;
        atomic_compare_exchange_strong(&run->first_failure, &none, rv);
        atomic_fetch_add(&run->failed, 1);
        pthread_mutex_lock(&run->mu);
        atomic_fetch_add(&run->done, 1);
        pthread_cond_signal(&run->cv);
        pthread_mutex_unlock(&run->mu);
        return false;
    }
    return true;
}

/* The run under way (one at a time): the callbacks' arguments carry only their slot. */
static struct point_run *current_run;

static void on_result(void *arg, const struct craft_result *r)
{
    struct point_run *run = current_run;
    size_t slot = (size_t)(uintptr_t)arg;
    uint64_t t = now_ns();
    if (r->status == 0) {
        run->lat_ns[slot] = t - run->start_of[slot];
        atomic_store(&run->last_ns, t);
    } else {
        run->lat_ns[slot] = 0;
        int none = 0;
        atomic_compare_exchange_strong(&run->first_failure, &none, r->status);
        atomic_fetch_add(&run->failed, 1);
    }
    (void)issue(run);
    pthread_mutex_lock(&run->mu);
    atomic_fetch_add(&run->done, 1);
    pthread_cond_signal(&run->cv);
    pthread_mutex_unlock(&run->mu);
}

static int run_point(struct craft_node *leader, unsigned proposers, const struct bench_peer_config *cfg,
                     struct bench_peer_point *out)
{
    struct point_run *run = calloc(1, sizeof *run);
    uint64_t *start_of = calloc(cfg->commits_max, sizeof(uint64_t));
    uint64_t *lat = calloc(cfg->commits_max, sizeof(uint64_t));
    if (run == NULL || start_of == NULL || lat == NULL) {
        free(run);
        free(start_of);
        free(lat);
        fprintf(stderr, "craft-bench node: out of memory\n");
        return -1;
    }
    run->leader = leader;
    run->max = cfg->commits_max;
    run->start_of = start_of;
    run->lat_ns = lat;
    memset(run->payload, 'x', sizeof run->payload);
    pthread_mutex_init(&run->mu, NULL);
    pthread_cond_init(&run->cv, NULL);
    current_run = run;
    uint64_t copied_before[COPY_SITES];
    for (int s = 0; s < COPY_SITES; s++) {
        copied_before[s] = copy_stats_bytes((enum copy_site)s);
    }
    run->start_ns = now_ns();
    run->deadline_ns = run->start_ns + (uint64_t)(cfg->seconds_max * 1e9);
    for (unsigned i = 0; i < proposers; i++) {
        (void)issue(run);
    }
    /* Every issued proposal ends in one callback; wait for all of them (bounded). */
    uint64_t give_up = run->deadline_ns + (uint64_t)(DRAIN_WAIT_S * 1e9);
    int rc = 0;
    pthread_mutex_lock(&run->mu);
    while (atomic_load(&run->done) < atomic_load(&run->issued) || now_ns() < run->deadline_ns) {
        if (now_ns() >= give_up) {
            fprintf(stderr, "craft-bench node: %u of %u proposals never ended\n",
                    atomic_load(&run->issued) - atomic_load(&run->done), atomic_load(&run->issued));
            rc = -1;
            break;
        }
        if (atomic_load(&run->done) >= atomic_load(&run->issued) && atomic_load(&run->issued) >= run->max) {
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&run->cv, &run->mu, &ts);
    }
    pthread_mutex_unlock(&run->mu);
    uint32_t n = atomic_load(&run->issued);
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (lat[i] != 0) {
            lat[k++] = lat[i];
        }
    }
    bench_latency_sort(lat, k);
    uint64_t span = atomic_load(&run->last_ns) > run->start_ns ? atomic_load(&run->last_ns) - run->start_ns : 1;
    out->proposers = proposers;
    out->n_commits = (uint32_t)k;
    out->commits_per_s = (double)k / ((double)span / 1e9);
    out->p50_us = bench_latency_quantile_us(lat, k, 0.50);
    out->p99_us = bench_latency_quantile_us(lat, k, 0.99);
    /* Copies go on for a moment on the followers after the leader's last commit: a fair share. */
    out->copied_per_entry = 0;
    for (int s = 0; s < COPY_SITES && k > 0; s++) {
        double per = (double)(copy_stats_bytes((enum copy_site)s) - copied_before[s]) / (double)k;
        out->copied_per_entry_site[s] = per;
        out->copied_per_entry += per;
    }
    if (atomic_load(&run->failed) > 0) {
        fprintf(stderr, "craft-bench node: %u proposals failed at %u in flight (the first: %s)\n",
                atomic_load(&run->failed), proposers, craft_errname(atomic_load(&run->first_failure)));
    }
    current_run = NULL;
    pthread_cond_destroy(&run->cv);
    pthread_mutex_destroy(&run->mu);
    free(run);
    free(start_of);
    free(lat);
    return rc;
}

struct cluster {
    char dirs[NODES][256];
    struct craft_node *nodes[NODES];
    _Atomic uint64_t applied[NODES];
};

static void quiet_log(void *ctx, int level, const char *line)
{
    (void)ctx;
    /* CRAFT_BENCH_LOG set: the nodes' INFO lines too (role changes), with a clock in ms. */
    if (level <= (getenv("CRAFT_BENCH_LOG") ? CRAFT_LOG_INFO : CRAFT_LOG_WARN)) {
        fprintf(stderr, "craft-bench node: %.3f %s\n", (double)now_ns() / 1e6, line);
    }
}

static void cluster_close(struct cluster *c)
{
    for (int i = 0; i < NODES; i++) {
        if (c->nodes[i] != NULL) {
            craft_node_destroy(c->nodes[i]);
            c->nodes[i] = NULL;
        }
        if (c->dirs[i][0] != '\0') {
            bench_remove_dir(c->dirs[i]);
        }
    }
}

static int cluster_open(struct cluster *c, const struct craft_node_threads *threads)
{
    static const struct craft_fsm_ops fsm = {.apply = counter_apply};
    craft_id voters[NODES] = {1, 2, 3};
    uint64_t cluster_id = now_ns() | 1;
    for (int i = 0; i < NODES; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "node%d", i + 1);
        if (bench_make_dir(tag, c->dirs[i], sizeof c->dirs[i]) != 0) {
            return -1;
        }
        struct craft_node_config cfg;
        craft_node_config_init(&cfg);
        cfg.cluster = cluster_id;
        cfg.id = (craft_id)(i + 1);
        cfg.data_dir = c->dirs[i];
        cfg.listen = "127.0.0.1:0";
        cfg.voters = voters;
        cfg.n_voters = NODES;
        cfg.snapshot_every = 0; /* replication alone, as the peer's figures */
        cfg.threads = *threads;
        cfg.log = quiet_log;
        char err[256] = "";
        int rv = craft_node_create(&cfg, &fsm, (void *)&c->applied[i], &c->nodes[i], err,
                                   sizeof err);
        if (rv != 0) {
            fprintf(stderr, "craft-bench node: node %d: %s (%s)\n", i + 1, err,
                    craft_errname(rv));
            return -1;
        }
    }
    for (int i = 0; i < NODES; i++) {
        for (int j = 0; j < NODES; j++) {
            if (i == j) {
                continue;
            }
            struct craft_peer peer = {.id = (craft_id)(j + 1)};
            snprintf(peer.address, sizeof peer.address, "127.0.0.1:%u",
                     (unsigned)craft_node_listen_port(c->nodes[j]));
            if (craft_node_add_peer(c->nodes[i], &peer) != 0) {
                fprintf(stderr, "craft-bench node: adding peer %d to node %d failed\n", j + 1,
                        i + 1);
                return -1;
            }
        }
    }
    return 0;
}

static struct craft_node *await_leader(struct cluster *c)
{
    uint64_t until = now_ns() + (uint64_t)(LEADER_WAIT_S * 1e9);
    while (now_ns() < until) {
        for (int i = 0; i < NODES; i++) {
            struct craft_node_status st;
            craft_node_status(c->nodes[i], &st);
            if (st.role == CRAFT_NODE_LEADER && st.commit >= 1 && st.applied >= st.commit) {
                return c->nodes[i];
            }
        }
        sleep_ms(5);
    }
    fprintf(stderr, "craft-bench node: no leader within %.0f s\n", LEADER_WAIT_S);
    return NULL;
}

int bench_node_measure(const struct bench_peer_config *cfg, const struct craft_node_threads *threads,
                       struct bench_peer_figures *out)
{
    struct cluster *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return -1;
    }
    int rc = cluster_open(c, threads);
    struct craft_node *leader = rc == 0 ? await_leader(c) : NULL;
    rc = leader != NULL ? 0 : -1;
    for (unsigned i = 0; i < BENCH_PEER_N_POINTS && rc == 0; i++) {
        rc = run_point(leader, bench_peer_proposers(i), cfg, &out->points[i]);
    }
    cluster_close(c);
    free(c);
    return rc;
}
