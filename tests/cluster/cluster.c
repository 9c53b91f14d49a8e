/* The in-process cluster of the node tests (cluster.h). */
#include "cluster.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../unit/scratch_dir.h"
#include "node/runtime.h"
#include "util/log.h"

/* ---- the test state machine ---- */

static uint64_t get_u64(const void *p)
{
    const unsigned char *b = p;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | b[i];
    }
    return v;
}

static int fsm_apply(void *ctx, const struct craft_entry *entries, size_t n, void **results)
{
    struct cl_fsm *f = ctx;
    pthread_mutex_lock(&f->mu);
    if (f->fail_next) {
        pthread_mutex_unlock(&f->mu);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t v = entries[i].data.len == 8 ? get_u64(entries[i].data.base) : 0;
        if (f->n_applied < CL_RECORD_MAX) {
            f->record[f->n_applied] = v;
        }
        f->n_applied++;
        f->sum += v;
        f->hash = (f->hash ^ v) * 1099511628211ull + entries[i].data.len;
        uint64_t *result = malloc(sizeof *result);
        if (result == NULL) {
            abort(); /* not cmocka's assert: this is the apply thread */
        }
        *result = f->n_applied;
        results[i] = result;
    }
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static void fsm_release(void *ctx, void *result)
{
    struct cl_fsm *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->n_results_released++;
    pthread_mutex_unlock(&f->mu);
    free(result);
}

const struct craft_fsm_ops cl_fsm_ops = {.apply = fsm_apply, .release_result = fsm_release};

int cl_fsm_save(void *ctx, struct craft_snapshot_writer *w)
{
    struct cl_fsm_view v = cl_fsm_view(ctx);
    return craft_snapshot_write(w, &v, sizeof v);
}

int cl_fsm_restore(void *ctx, struct craft_snapshot_reader *r)
{
    struct cl_fsm *f = ctx;
    struct cl_fsm_view v;
    size_t got;
    int rv = craft_snapshot_read(r, &v, sizeof v, &got);
    if (rv != 0 || got != sizeof v) {
        return -1;
    }
    pthread_mutex_lock(&f->mu);
    f->n_applied = v.n_applied;
    f->sum = v.sum;
    f->hash = v.hash;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

const struct craft_fsm_ops cl_fsm_snapshot_ops = {.apply = fsm_apply,
                                                  .release_result = fsm_release,
                                                  .snapshot_save = cl_fsm_save,
                                                  .snapshot_restore = cl_fsm_restore};

void cl_fsm_init(struct cl_fsm *f)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
}

void cl_fsm_close(struct cl_fsm *f)
{
    pthread_mutex_destroy(&f->mu);
}

struct cl_fsm_view cl_fsm_view(struct cl_fsm *f)
{
    struct cl_fsm_view v;
    pthread_mutex_lock(&f->mu);
    v.n_applied = f->n_applied;
    v.sum = f->sum;
    v.hash = f->hash;
    pthread_mutex_unlock(&f->mu);
    return v;
}

bool cl_fsm_has(struct cl_fsm *f, uint64_t value)
{
    bool found = false;
    pthread_mutex_lock(&f->mu);
    for (uint64_t i = 0; i < f->n_applied && i < CL_RECORD_MAX; i++) {
        if (f->record[i] == value) {
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return found;
}

/* ---- time ---- */

uint64_t cl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cl_pause_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- logs: quiet unless CRAFT_TEST_LOG is set ---- */

static void test_log(void *ctx, int level, const char *line)
{
    (void)ctx;
    (void)level;
    fprintf(stderr, "%s\n", line);
}

static int test_log_level(void)
{
    const char *v = getenv("CRAFT_TEST_LOG");
    if (v == NULL) {
        return CRAFT_LOG_ERROR;
    }
    return strcmp(v, "debug") == 0 ? CRAFT_LOG_DEBUG : CRAFT_LOG_INFO;
}

/* ---- the cluster ---- */

bool cl_slow(void)
{
    return getenv("CRAFT_TEST_SLOW") != NULL;
}

void cl_init(struct cluster *c, unsigned n, unsigned n_voters, struct craft_node_threads threads)
{
    assert_true(n <= CL_NODES_MAX);
    assert_true(n_voters <= n);
    memset(c, 0, sizeof *c);
    /* The transport and storage log through the process-wide logger: quiet it too. */
    craft_log_set_level(getenv("CRAFT_TEST_LOG") != NULL ? CRAFT_LOG_DEBUG : CRAFT_LOG_ERROR);
    c->cluster_id = 0xc1a5;
    c->n = n;
    c->threads = threads;
    c->election_timeout_ms = cl_slow() ? 1500 : 200;
    c->heartbeat_interval_ms = cl_slow() ? 300 : 40;
    c->entry_bytes_max = 1u << 16;
    for (unsigned i = 0; i < n; i++) {
        struct cl_node *cn = &c->nodes[i];
        cn->id = i + 1;
        snprintf(cn->dir, sizeof cn->dir, "/tmp/craft-cluster-XXXXXX");
        assert_non_null(mkdtemp(cn->dir));
        cl_fsm_init(&cn->fsm);
        if (i < n_voters) {
            c->voters[c->n_voters++] = cn->id;
            cn->voter_at_boot = true;
        }
    }
}

void cl_config(struct cluster *c, unsigned i, struct craft_node_config *cfg)
{
    static char listen[CRAFT_ADDRESS_MAX];
    static struct craft_peer peers[CL_NODES_MAX];
    struct cl_node *cn = &c->nodes[i];
    unsigned k = 0;

    craft_node_config_init(cfg);
    cfg->cluster = c->cluster_id;
    cfg->id = cn->id;
    cfg->data_dir = cn->dir;
    snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)cn->port);
    cfg->listen = c->transport != NULL ? NULL : listen;
    for (unsigned j = 0; j < c->n; j++) {
        if (j != i && c->transport != NULL) {
            peers[k].id = c->nodes[j].id;
            snprintf(peers[k].address, sizeof peers[k].address, "127.0.0.1:%u",
                     10000u + (unsigned)c->nodes[j].id);
            k++;
        } else if (j != i && c->nodes[j].port != 0) {
            peers[k].id = c->nodes[j].id;
            snprintf(peers[k].address, sizeof peers[k].address, "127.0.0.1:%u",
                     (unsigned)c->nodes[j].port);
            k++;
        }
    }
    cfg->peers = peers;
    cfg->n_peers = k;
    if (cn->voter_at_boot) {
        cfg->voters = c->voters;
        cfg->n_voters = c->n_voters;
    }
    cfg->election_timeout_ms = c->election_timeout_ms;
    cfg->heartbeat_interval_ms = c->heartbeat_interval_ms;
    cfg->lease_reads = c->lease_reads;
    cfg->entry_bytes_max = c->entry_bytes_max;
    cfg->threads = c->threads;
    cfg->snapshot_every = c->snapshot_every;
    cfg->log_trailing = c->log_trailing;
    cfg->allocator = c->allocators[i];
    cfg->log = test_log;
    cfg->log_level = test_log_level();
    cfg->transport = c->transport;
    cfg->transport_ctx = c->transport != NULL ? c->transport_ctx[i] : NULL;
    cfg->log_store = c->log_store;
    cfg->log_store_ctx = c->log_store != NULL ? c->log_store_ctx[i] : NULL;
    cfg->loop = c->loops[i];
}

struct cluster *cl_open(unsigned n, unsigned n_voters, struct craft_node_threads threads,
                        int *leader)
{
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    cl_init(c, n, n_voters, threads);
    cl_start_all(c);
    if (leader != NULL) {
        *leader = cl_wait_leader(c, CL_WAIT_MS);
        assert_true(*leader >= 0);
    }
    return c;
}

void cl_free(struct cluster *c)
{
    cl_close(c);
    free(c);
}

void cl_start(struct cluster *c, unsigned i)
{
    struct cl_node *cn = &c->nodes[i];
    struct craft_node_config cfg;
    char errmsg[256];
    bool first = cn->port == 0;

    assert_null(cn->node);
    cl_config(c, i, &cfg);
    const struct craft_fsm_ops *ops = c->snapshot_every != 0 ? &cl_fsm_snapshot_ops : &cl_fsm_ops;
    int rv = craft_node_create(&cfg, ops, &cn->fsm, &cn->node, errmsg, sizeof errmsg);
    if (rv != 0) {
        fail_msg("node %u: craft_node_create: %s: %s", (unsigned)cn->id, craft_errname(rv), errmsg);
    }
    if (c->transport != NULL) {
        assert_true(craft_node_listen_port(cn->node) == 0); /* listens on nothing */
        return; /* every peer was in its config */
    }
    cn->port = craft_node_listen_port(cn->node);
    assert_true(cn->port != 0);
    if (first) {
        /* The nodes already running learn the new one's address. */
        struct craft_peer p = {.id = cn->id};
        snprintf(p.address, sizeof p.address, "127.0.0.1:%u", (unsigned)cn->port);
        for (unsigned j = 0; j < c->n; j++) {
            if (j != i && c->nodes[j].node != NULL) {
                rv = craft_node_add_peer(c->nodes[j].node, &p);
                assert_true(rv == 0 || rv == CRAFT_EEXIST);
            }
        }
    }
}

void cl_start_all(struct cluster *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        cl_start(c, i);
    }
}

void cl_stop(struct cluster *c, unsigned i)
{
    struct cl_node *cn = &c->nodes[i];
    if (cn->node != NULL) {
        craft_node_destroy(cn->node);
        cn->node = NULL;
    }
}

void cl_close(struct cluster *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        cl_stop(c, i);
    }
    for (unsigned i = 0; i < c->n; i++) {
        scratch_dir_remove(c->nodes[i].dir);
        cl_fsm_close(&c->nodes[i].fsm);
    }
}

void cl_status(struct cluster *c, unsigned i, struct craft_node_status *st)
{
    assert_non_null(c->nodes[i].node);
    craft_node_status(c->nodes[i].node, st);
}

static int agreed_leader(struct cluster *c)
{
    int leader = -1;
    craft_term term = 0;
    for (unsigned i = 0; i < c->n; i++) {
        struct craft_node_status st;
        if (c->nodes[i].node == NULL) {
            continue;
        }
        craft_node_status(c->nodes[i].node, &st);
        if (st.role == CRAFT_NODE_LEADER) {
            if (leader >= 0) {
                return -1; /* two leaders (of different terms): not settled yet */
            }
            leader = (int)i;
            term = st.term;
        }
    }
    if (leader < 0) {
        return -1;
    }
    for (unsigned i = 0; i < c->n; i++) {
        struct craft_node_status st;
        if (c->nodes[i].node == NULL) {
            continue;
        }
        craft_node_status(c->nodes[i].node, &st);
        bool member = false;
        for (unsigned v = 0; v < st.membership.n_voters; v++) {
            member = member || st.membership.voters[v] == c->nodes[i].id;
        }
        if (member && (st.term != term || st.leader != c->nodes[leader].id)) {
            return -1;
        }
    }
    return leader;
}

int cl_wait_leader(struct cluster *c, unsigned timeout_ms)
{
    int leader = -1;
    CL_WAIT_UNTIL((leader = agreed_leader(c)) >= 0, timeout_ms);
    return leader;
}

static bool all_applied(struct cluster *c, uint64_t n)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (c->nodes[i].node != NULL && cl_fsm_view(&c->nodes[i].fsm).n_applied < n) {
            return false;
        }
    }
    return true;
}

bool cl_wait_applied(struct cluster *c, uint64_t n, unsigned timeout_ms)
{
    return CL_WAIT_UNTIL(all_applied(c, n), timeout_ms);
}

bool cl_replicas_equal(struct cluster *c)
{
    bool have = false;
    struct cl_fsm_view first = {0};
    for (unsigned i = 0; i < c->n; i++) {
        if (c->nodes[i].node == NULL) {
            continue;
        }
        struct cl_fsm_view v = cl_fsm_view(&c->nodes[i].fsm);
        if (!have) {
            first = v;
            have = true;
        } else if (v.n_applied != first.n_applied || v.sum != first.sum ||
                   v.hash != first.hash) {
            return false;
        }
    }
    return have;
}

int cl_propose(struct cluster *c, unsigned i, uint64_t value, struct craft_result *r)
{
    unsigned char buf[8];
    for (int b = 0; b < 8; b++) {
        buf[b] = (unsigned char)(value >> (8 * b));
    }
    assert_non_null(c->nodes[i].node);
    /* CRAFT_EBUSY means retry later (e.g. a single voter's new term is not durable yet). */
    int rv;
    uint64_t deadline = cl_now_ms() + CL_WAIT_MS;
    while ((rv = craft_node_propose_wait(c->nodes[i].node, buf, sizeof buf, r)) == CRAFT_EBUSY &&
           cl_now_ms() < deadline) {
        cl_pause_ms(5);
    }
    if (rv == 0) {
        assert_non_null(r->value);
        free(r->value); /* the fsm's result is the caller's */
        r->value = NULL;
    }
    return rv;
}

int cl_propose_leader(struct cluster *c, uint64_t value, unsigned timeout_ms)
{
    uint64_t deadline = cl_now_ms() + timeout_ms;
    int rv = CRAFT_ENOTLEADER;
    while (cl_now_ms() < deadline) {
        int leader = cl_wait_leader(c, (unsigned)(deadline - cl_now_ms()));
        if (leader < 0) {
            break;
        }
        struct craft_result r;
        rv = cl_propose(c, (unsigned)leader, value, &r);
        if (rv == 0 || rv == CRAFT_EUNKNOWN) {
            return rv;
        }
        cl_pause_ms(10);
    }
    return rv;
}
