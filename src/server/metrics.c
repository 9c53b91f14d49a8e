/* craftd's metrics registry: the series table, lock-free updates from any thread, and the
 * rendering in Prometheus's text exposition format 0.0.4 (one HELP and TYPE per family). */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "server/metrics.h"
#include "server/metrics_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

enum kind { COUNTER = 1, GAUGE = 2, HISTOGRAM = 3 };

struct series_def {
    const char *family; /* the metric name; ids of one family are adjacent */
    const char *labels; /* the fixed label set without braces, or NULL */
    int kind;
    const char *help;
};

#define PROPOSALS_HELP "Write proposals by outcome."
#define ROLE_HELP "This node's Raft role: 1 for the current one."
static const struct series_def defs[METRIC_N] = {
    [METRIC_PROPOSALS_OK] = {"craftd_proposals_total", "outcome=\"ok\"", COUNTER, PROPOSALS_HELP},
    [METRIC_PROPOSALS_NOT_LEADER] = {"craftd_proposals_total", "outcome=\"not_leader\"", COUNTER,
                                     PROPOSALS_HELP},
    [METRIC_PROPOSALS_UNKNOWN] = {"craftd_proposals_total", "outcome=\"unknown\"", COUNTER,
                                  PROPOSALS_HELP},
    [METRIC_PROPOSALS_BUSY] = {"craftd_proposals_total", "outcome=\"busy\"", COUNTER,
                               PROPOSALS_HELP},
    [METRIC_PROPOSALS_TIMEOUT] = {"craftd_proposals_total", "outcome=\"timeout\"", COUNTER,
                                  PROPOSALS_HELP},
    [METRIC_PROPOSALS_ERROR] = {"craftd_proposals_total", "outcome=\"error\"", COUNTER,
                                PROPOSALS_HELP},
    [METRIC_CONNECTIONS_TOTAL] = {"craftd_connections_total", NULL, COUNTER,
                                  "Client connections accepted."},
    [METRIC_COMMANDS_TOTAL] = {"craftd_commands_total", NULL, COUNTER,
                               "Client commands dispatched."},
    [METRIC_ROLE_FOLLOWER] = {"craftd_role", "role=\"follower\"", GAUGE, ROLE_HELP},
    [METRIC_ROLE_CANDIDATE] = {"craftd_role", "role=\"candidate\"", GAUGE, ROLE_HELP},
    [METRIC_ROLE_LEADER] = {"craftd_role", "role=\"leader\"", GAUGE, ROLE_HELP},
    [METRIC_ROLE_STOPPED] = {"craftd_role", "role=\"stopped\"", GAUGE, ROLE_HELP},
    [METRIC_TERM] = {"craftd_term", NULL, GAUGE, "Current Raft term."},
    [METRIC_LEADER_ID] = {"craftd_leader_id", NULL, GAUGE, "The known leader's id (0: none)."},
    [METRIC_COMMIT_INDEX] = {"craftd_commit_index", NULL, GAUGE, "Highest committed log index."},
    [METRIC_APPLIED_INDEX] = {"craftd_applied_index", NULL, GAUGE,
                              "Highest log index applied to the store."},
    [METRIC_LAST_INDEX] = {"craftd_last_index", NULL, GAUGE, "Highest log index held."},
    [METRIC_SNAPSHOT_INDEX] = {"craftd_snapshot_index", NULL, GAUGE,
                               "Log index of the latest snapshot (0: none)."},
    [METRIC_CONNECTED_CLIENTS] = {"craftd_connected_clients", NULL, GAUGE,
                                  "Client connections open."},
    [METRIC_COMMIT_LATENCY] = {"craftd_commit_latency_seconds", NULL, HISTOGRAM,
                               "Write latency from propose to its result, every outcome."},
    [METRIC_READ_LATENCY] = {"craftd_read_latency_seconds", NULL, HISTOGRAM,
                             "Linearizable read latency from request to result."},
};
#define PEER_LAG_FAMILY "craftd_peer_lag"
#define PEER_LAG_HELP "Leader only: entries a follower lacks (leader's last index - match)."

const uint64_t metrics_bucket_bounds_us[METRICS_BUCKETS_N] = {
    50,     100,    250,     500,     1000,    2500,    5000,     10000,   25000,
    50000,  100000, 250000,  500000,  1000000, 2500000, 5000000,  10000000,
};

struct histogram {
    _Atomic uint64_t buckets[METRICS_BUCKETS_N + 1]; /* per bucket, not cumulative; last: +Inf */
    _Atomic uint64_t sum_us;
    _Atomic uint64_t count;
};

struct metrics {
    _Atomic int64_t values[METRIC_N]; /* counters and gauges */
    struct histogram hist[METRIC_N];  /* used at histogram ids only */
    /* The peer lag series and the node's I/O statistics: replaced whole under the lock, so a
     * scrape sees one refresh. */
    pthread_mutex_t lag_lock;
    unsigned n_lags;
    craft_id lag_peers[METRICS_PEERS_MAX];
    uint64_t lags[METRICS_PEERS_MAX];
    struct craft_node_stats io;
    metrics_refresh_fn refresh;
    void *refresh_ctx;
    struct metrics_http *http; /* owned; NULL when not serving (metrics_http.c) */
};

struct metrics *metrics_create(void)
{
    struct metrics *m = craft_calloc(1, sizeof *m);
    if (m == NULL) {
        return NULL;
    }
    for (int i = 0; i < METRIC_N; i++) {
        CRAFT_ASSERT(defs[i].family != NULL); /* every id has a row */
        atomic_init(&m->values[i], 0);
    }
    int rv = pthread_mutex_init(&m->lag_lock, NULL);
    CRAFT_ASSERT(rv == 0);
    return m;
}

void metrics_destroy(struct metrics *m)
{
    if (m == NULL) {
        return;
    }
    CRAFT_ASSERT(metrics_http_of(m) == NULL); /* metrics_serve_stop first */
    pthread_mutex_destroy(&m->lag_lock);
    craft_free(m);
}

struct metrics_http **metrics_http_slot(struct metrics *m)
{
    return &m->http;
}

struct metrics_http *metrics_http_of(struct metrics *m)
{
    return m->http;
}

void metrics_counter_add(struct metrics *m, enum metrics_id id, uint64_t v)
{
    CRAFT_ASSERT(id < METRIC_N);
    CRAFT_ASSERT(defs[id].kind == COUNTER);
    atomic_fetch_add_explicit(&m->values[id], (int64_t)v, memory_order_relaxed);
}

void metrics_counter_set(struct metrics *m, enum metrics_id id, uint64_t v)
{
    CRAFT_ASSERT(id < METRIC_N);
    CRAFT_ASSERT(defs[id].kind == COUNTER);
    atomic_store_explicit(&m->values[id], (int64_t)v, memory_order_relaxed);
}

void metrics_gauge_set(struct metrics *m, enum metrics_id id, int64_t v)
{
    CRAFT_ASSERT(id < METRIC_N);
    CRAFT_ASSERT(defs[id].kind == GAUGE);
    atomic_store_explicit(&m->values[id], v, memory_order_relaxed);
}

void metrics_gauge_add(struct metrics *m, enum metrics_id id, int64_t v)
{
    CRAFT_ASSERT(id < METRIC_N);
    CRAFT_ASSERT(defs[id].kind == GAUGE);
    atomic_fetch_add_explicit(&m->values[id], v, memory_order_relaxed);
}

int64_t metrics_value(struct metrics *m, enum metrics_id id)
{
    CRAFT_ASSERT(id < METRIC_N);
    CRAFT_ASSERT(defs[id].kind != HISTOGRAM);
    return atomic_load_explicit(&m->values[id], memory_order_relaxed);
}

void metrics_histogram_observe(struct metrics *m, enum metrics_id id, uint64_t value_us)
{
    CRAFT_ASSERT(id < METRIC_N);
    CRAFT_ASSERT(defs[id].kind == HISTOGRAM);
    unsigned b = 0;
    while (b < METRICS_BUCKETS_N && value_us > metrics_bucket_bounds_us[b]) {
        b++; /* le: a value equal to a bound falls in that bound's bucket */
    }
    struct histogram *h = &m->hist[id];
    atomic_fetch_add_explicit(&h->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, value_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void metrics_proposal_done(struct metrics *m, int status, int timed_out, uint64_t latency_us)
{
    enum metrics_id id = METRIC_PROPOSALS_ERROR;
    if (timed_out) {
        id = METRIC_PROPOSALS_TIMEOUT;
    } else if (status == 0) {
        id = METRIC_PROPOSALS_OK;
    } else if (status == CRAFT_ENOTLEADER) {
        id = METRIC_PROPOSALS_NOT_LEADER;
    } else if (status == CRAFT_EUNKNOWN) {
        id = METRIC_PROPOSALS_UNKNOWN;
    } else if (status == CRAFT_EBUSY) {
        id = METRIC_PROPOSALS_BUSY;
    }
    metrics_counter_add(m, id, 1);
    metrics_histogram_observe(m, METRIC_COMMIT_LATENCY, latency_us);
}

void metrics_peer_lag_set(struct metrics *m, const craft_id *peers, const uint64_t *lags,
                          unsigned n)
{
    CRAFT_ASSERT(n <= METRICS_PEERS_MAX);
    pthread_mutex_lock(&m->lag_lock);
    m->n_lags = n;
    if (n > 0) {
        memcpy(m->lag_peers, peers, n * sizeof *peers);
        memcpy(m->lags, lags, n * sizeof *lags);
    }
    pthread_mutex_unlock(&m->lag_lock);
}

void metrics_update_from_status(struct metrics *m, const struct craft_node_status *st)
{
    metrics_gauge_set(m, METRIC_ROLE_FOLLOWER, st->role == CRAFT_NODE_FOLLOWER);
    metrics_gauge_set(m, METRIC_ROLE_CANDIDATE, st->role == CRAFT_NODE_CANDIDATE);
    metrics_gauge_set(m, METRIC_ROLE_LEADER, st->role == CRAFT_NODE_LEADER);
    metrics_gauge_set(m, METRIC_ROLE_STOPPED, st->role == CRAFT_NODE_STOPPED);
    metrics_gauge_set(m, METRIC_TERM, (int64_t)st->term);
    metrics_gauge_set(m, METRIC_LEADER_ID, (int64_t)st->leader);
    metrics_gauge_set(m, METRIC_COMMIT_INDEX, (int64_t)st->commit);
    metrics_gauge_set(m, METRIC_APPLIED_INDEX, (int64_t)st->applied);
    metrics_gauge_set(m, METRIC_LAST_INDEX, (int64_t)st->last_index);
    metrics_gauge_set(m, METRIC_SNAPSHOT_INDEX, (int64_t)st->snapshot_index);
    craft_id peers[METRICS_PEERS_MAX];
    uint64_t lags[METRICS_PEERS_MAX];
    unsigned n = 0;
    /* Followers are filled on the leader only; a follower exports no lag rather than a stale one. */
    for (unsigned i = 0; st->role == CRAFT_NODE_LEADER && i < st->n_followers; i++) {
        if (st->followers[i].id == st->id || n == METRICS_PEERS_MAX) {
            continue;
        }
        craft_index match = st->followers[i].match;
        peers[n] = st->followers[i].id;
        lags[n] = match < st->last_index ? st->last_index - match : 0;
        n++;
    }
    metrics_peer_lag_set(m, peers, lags, n);
}

void metrics_update_from_stats(struct metrics *m, const struct craft_node_stats *st)
{
    pthread_mutex_lock(&m->lag_lock);
    m->io = *st;
    pthread_mutex_unlock(&m->lag_lock);
}

void metrics_refresh_node(void *ctx, struct metrics *m)
{
    struct craft_node_status st;
    struct craft_node_stats io;
    craft_node_status(ctx, &st);
    metrics_update_from_status(m, &st);
    craft_node_stats(ctx, &io);
    metrics_update_from_stats(m, &io);
}

void metrics_set_refresh(struct metrics *m, metrics_refresh_fn fn, void *ctx)
{
    m->refresh = fn;
    m->refresh_ctx = ctx;
}

void metrics_run_refresh(struct metrics *m)
{
    if (m->refresh != NULL) {
        m->refresh(m->refresh_ctx, m);
    }
}

/* "# HELP" and "# TYPE" once per family, at its first series. */
static void family_head(struct metrics_buf *b, const char *family, const char *help,
                        const char *type)
{
    metrics_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", family, help, family, type);
}

/* Microseconds as seconds, exactly (no float rounding): "0.00025", "10". */
static void print_seconds(struct metrics_buf *b, uint64_t us)
{
    uint64_t whole = us / 1000000, frac = us % 1000000;
    if (frac == 0) {
        metrics_buf_printf(b, "%" PRIu64, whole);
        return;
    }
    char digits[8];
    snprintf(digits, sizeof digits, "%06" PRIu64, frac);
    size_t n = strlen(digits);
    while (n > 0 && digits[n - 1] == '0') {
        digits[--n] = '\0';
    }
    metrics_buf_printf(b, "%" PRIu64 ".%s", whole, digits);
}

static void render_histogram(struct metrics_buf *b, const char *family, struct histogram *h)
{
    /* Buckets are read one by one while others add: the count is read last and raised to the
     * cumulative total, so a scrape never shows +Inf below a finite bucket. */
    uint64_t cumulative = 0;
    for (unsigned i = 0; i < METRICS_BUCKETS_N; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        metrics_buf_printf(b, "%s_bucket{le=\"", family);
        print_seconds(b, metrics_bucket_bounds_us[i]);
        metrics_buf_printf(b, "\"} %" PRIu64 "\n", cumulative);
    }
    cumulative += atomic_load_explicit(&h->buckets[METRICS_BUCKETS_N], memory_order_relaxed);
    uint64_t sum = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
    metrics_buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum ", family, cumulative,
                       family);
    print_seconds(b, sum);
    metrics_buf_printf(b, "\n%s_count %" PRIu64 "\n", family, cumulative);
}

static void render_peer_lag(struct metrics *m, struct metrics_buf *b)
{
    family_head(b, PEER_LAG_FAMILY, PEER_LAG_HELP, "gauge");
    pthread_mutex_lock(&m->lag_lock);
    for (unsigned i = 0; i < m->n_lags; i++) {
        metrics_buf_printf(b, PEER_LAG_FAMILY "{peer=\"%" PRIu64 "\"} %" PRIu64 "\n",
                           m->lag_peers[i], m->lags[i]);
    }
    pthread_mutex_unlock(&m->lag_lock);
}

/* A histogram of the node's (log2 buckets of 2^i us, not cumulative) in the exposition format:
 * cumulative buckets with their bounds in seconds, +Inf equal to _count. */
static void render_node_histogram(struct metrics_buf *b, const char *family,
                                  const struct craft_node_histogram *h)
{
    uint64_t cumulative = 0;
    for (unsigned i = 0; i + 1 < CRAFT_NODE_HIST_BUCKETS; i++) {
        cumulative += h->buckets[i];
        metrics_buf_printf(b, "%s_bucket{le=\"", family);
        print_seconds(b, CRAFT_NODE_HIST_BOUND_US(i));
        metrics_buf_printf(b, "\"} %" PRIu64 "\n", cumulative);
    }
    cumulative += h->buckets[CRAFT_NODE_HIST_BUCKETS - 1];
    metrics_buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum ", family, cumulative,
                       family);
    print_seconds(b, h->sum_us);
    metrics_buf_printf(b, "\n%s_count %" PRIu64 "\n", family, cumulative);
}

static void render_value(struct metrics_buf *b, const char *family, const char *type,
                         const char *help, uint64_t v)
{
    family_head(b, family, help, type);
    metrics_buf_printf(b, "%s %" PRIu64 "\n", family, v);
}

/* The node's disk I/O (craft_node_stats), as of the last refresh. */
static void render_node_io(struct metrics *m, struct metrics_buf *b)
{
    pthread_mutex_lock(&m->lag_lock);
    struct craft_node_stats io = m->io;
    pthread_mutex_unlock(&m->lag_lock);
    family_head(b, "craftd_wal_fsync_duration_seconds",
                "Duration of the WAL's fdatasyncs (one per group-commit batch).", "histogram");
    render_node_histogram(b, "craftd_wal_fsync_duration_seconds", &io.wal_fsync);
    render_value(b, "craftd_wal_written_bytes_total", "counter",
                 "Bytes written to the WAL (records, padding, segment headers).",
                 io.wal_bytes_written);
    family_head(b, "craftd_snapshot_save_duration_seconds",
                "Duration of this node's snapshot saves, from the start until the file is "
                "durable.",
                "histogram");
    render_node_histogram(b, "craftd_snapshot_save_duration_seconds", &io.snapshot_save);
    family_head(b, "craftd_snapshot_fsync_duration_seconds",
                "Duration of the fdatasyncs of snapshot files, saved or received.", "histogram");
    render_node_histogram(b, "craftd_snapshot_fsync_duration_seconds", &io.snapshot_fsync);
    render_value(b, "craftd_snapshots_saved_total", "counter",
                 "Snapshots this node saved (durable).", io.snapshot_save.n);
    render_value(b, "craftd_snapshot_save_failures_total", "counter", "Snapshot saves that failed.",
                 io.n_snapshot_save_failures);
    render_value(b, "craftd_snapshot_size_bytes", "gauge",
                 "Size of the last snapshot file this node saved (0: none yet).",
                 io.snapshot_saved_last_bytes);
    render_value(b, "craftd_snapshots_received_total", "counter",
                 "Snapshots received whole from a leader (checked and durable).",
                 io.n_snapshots_received);
    render_value(b, "craftd_snapshot_received_bytes_total", "counter",
                 "Bytes of the snapshot files received whole from a leader.",
                 io.snapshot_received_bytes);
    render_value(b, "craftd_snapshot_received_size_bytes", "gauge",
                 "Size of the last snapshot file received from a leader (0: none yet).",
                 io.snapshot_received_last_bytes);
}

char *metrics_render(struct metrics *m, size_t *len)
{
    struct metrics_buf b;
    metrics_buf_init(&b);
    static const char *const type_names[] = {[COUNTER] = "counter", [GAUGE] = "gauge",
                                             [HISTOGRAM] = "histogram"};
    for (int i = 0; i < METRIC_N; i++) {
        const struct series_def *d = &defs[i];
        if (i == 0 || strcmp(defs[i - 1].family, d->family) != 0) {
            family_head(&b, d->family, d->help, type_names[d->kind]);
        }
        if (d->kind == HISTOGRAM) {
            render_histogram(&b, d->family, &m->hist[i]);
            continue;
        }
        int64_t v = atomic_load_explicit(&m->values[i], memory_order_relaxed);
        if (d->labels != NULL) {
            metrics_buf_printf(&b, "%s{%s} %" PRId64 "\n", d->family, d->labels, v);
        } else {
            metrics_buf_printf(&b, "%s %" PRId64 "\n", d->family, v);
        }
    }
    render_peer_lag(m, &b);
    render_node_io(m, &b);
    return metrics_buf_take(&b, len);
}
