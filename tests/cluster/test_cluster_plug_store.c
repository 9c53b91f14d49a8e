/* A plugged log store (craft/plug.h): three nodes whose logs and hard states live in a
 * user-written in-memory store, each batch made "durable" by the store's own thread after a
 * short deferral and reported from there. The nodes elect, replicate, take snapshots (whose files
 * stay in the data directory), and come back after a restart with what the store kept; their
 * data directories never hold a WAL. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cluster.h"

/* ---- the user's log store, in memory ---- */

#define STORE_DEFER_NS 2000000L /* a "device" that makes a batch durable 2 ms after it came */

/* One submission, or a snapshot taken, waiting for the store's thread (deep copies). */
struct pending {
    struct pending *next;
    bool snapshot_taken;
    struct craft_snapshot_meta taken;
    uint64_t seq;
    bool hard_state_changed;
    struct craft_hard_state hard_state;
    struct craft_persist_snapshot install;
    craft_index truncate_from;
    struct craft_entry *entries; /* each entry's data its own allocation */
    size_t n_entries;
};

struct mem_store {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* What is durable: survives the node (this struct outlives it). entries[i] has index
     * base + 1 + i; snapshot is the newest snapshot the log continues from. */
    struct craft_hard_state hard_state;
    craft_index base;
    struct craft_snapshot_meta snapshot;
    struct craft_entry *entries;
    size_t n, cap;
    /* While open. */
    bool open;
    bool stop;
    pthread_t thread;
    void (*durable)(void *ctx, uint64_t seq, int status);
    void *durable_ctx;
    struct pending *head, *tail;
    uint64_t submitted;
    /* Read by the test. */
    atomic_uint n_opens;
    atomic_uint n_closes;
    atomic_uint n_releases;
    atomic_ullong n_submits;
    atomic_ullong n_reports;
    atomic_ullong n_taken;
    craft_index recovered_last; /* the last index open handed back */
};

static void free_entry_data(struct craft_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((void *)e[i].data.base);
    }
}

static void copy_entries(const struct craft_entry *src, size_t n, struct craft_entry *dst)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = src[i];
        dst[i].data.base = NULL;
        if (src[i].data.len > 0) {
            void *p = malloc(src[i].data.len);
            assert_non_null(p);
            memcpy(p, src[i].data.base, src[i].data.len);
            dst[i].data.base = p;
        }
    }
}

/* Keeps the log's first k entries (k <= n). */
static void keep_first(struct mem_store *s, size_t k)
{
    if (k < s->n) {
        free_entry_data(s->entries + k, s->n - k);
        s->n = k;
    }
}

/* Drops the entries up to index, which becomes the base. */
static void drop_through(struct mem_store *s, craft_index index)
{
    if (index <= s->base) {
        return;
    }
    size_t k = index - s->base < s->n ? (size_t)(index - s->base) : s->n;
    if (k > 0) {
        free_entry_data(s->entries, k);
        memmove(s->entries, s->entries + k, (s->n - k) * sizeof *s->entries);
        s->n -= k;
    }
    s->base = index;
}

static void append(struct mem_store *s, const struct craft_entry *e, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        /* An entry at index i replaces i and everything after it. */
        assert_true(e[i].index > s->base);
        assert_true(e[i].index <= s->base + s->n + 1);
        keep_first(s, (size_t)(e[i].index - s->base - 1));
        if (s->n == s->cap) {
            s->cap = s->cap != 0 ? 2 * s->cap : 64;
            s->entries = realloc(s->entries, s->cap * sizeof *s->entries);
            assert_non_null(s->entries);
        }
        s->entries[s->n++] = e[i]; /* takes the data */
    }
}

/* Makes one pending item durable, in core.h's order. With s->mu held. */
static void apply_pending(struct mem_store *s, struct pending *p)
{
    if (p->snapshot_taken) {
        /* Nothing dropped when the log holds another term at the snapshot's index. */
        if (p->taken.index <= s->base ||
            (p->taken.index <= s->base + s->n &&
             s->entries[p->taken.index - s->base - 1].term != p->taken.term)) {
            return;
        }
        drop_through(s, p->taken.index);
        s->snapshot = p->taken;
        return;
    }
    if (p->hard_state_changed) {
        s->hard_state = p->hard_state;
    }
    if (p->install.index != 0) {
        if (p->install.drop_log) {
            keep_first(s, 0);
            s->base = p->install.index;
        } else {
            drop_through(s, p->install.index);
        }
        memset(&s->snapshot, 0, sizeof s->snapshot);
        s->snapshot.index = p->install.index;
        s->snapshot.term = p->install.term;
    }
    if (p->truncate_from != 0 && p->truncate_from <= s->base + s->n) {
        assert_true(p->truncate_from > s->base);
        keep_first(s, (size_t)(p->truncate_from - s->base - 1));
    }
    append(s, p->entries, p->n_entries);
    free(p->entries);
    p->n_entries = 0;
}

static void *store_main(void *arg)
{
    struct mem_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->head == NULL && !s->stop) {
            pthread_cond_wait(&s->cond, &s->mu);
        }
        if (s->stop) {
            break;
        }
        pthread_mutex_unlock(&s->mu);
        struct timespec defer = {.tv_sec = 0, .tv_nsec = STORE_DEFER_NS};
        nanosleep(&defer, NULL); /* the device's latency */
        pthread_mutex_lock(&s->mu);
        uint64_t seq = 0;
        while (s->head != NULL) {
            struct pending *p = s->head;
            s->head = p->next;
            apply_pending(s, p);
            if (!p->snapshot_taken) {
                seq = p->seq;
            }
            free(p);
        }
        s->tail = NULL;
        if (seq != 0) {
            pthread_mutex_unlock(&s->mu);
            s->durable(s->durable_ctx, seq, 0); /* from this thread, any time before close */
            atomic_fetch_add(&s->n_reports, 1);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void store_init(struct mem_store *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
}

static void store_free(struct mem_store *s)
{
    assert_false(s->open);
    keep_first(s, 0);
    free(s->entries);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
}

static int store_open(void *ctx, const struct craft_log_store_open *o,
                      struct craft_log_store_recovered *rec, char *errmsg, size_t errmsg_len)
{
    struct mem_store *s = ctx;
    assert_false(s->open);
    assert_non_null(o->durable);
    assert_non_null(o->data_dir);
    /* The log continues the newest snapshot of craft's snapshot store: entries it covers go,
     * a log that diverged from it goes whole, a gap is damage. */
    craft_index snap = o->snapshot.index;
    if (snap != 0) {
        if (snap <= s->base + s->n && snap > s->base &&
            s->entries[snap - s->base - 1].term != o->snapshot.term) {
            keep_first(s, 0);
            s->base = snap;
        } else if (s->base > snap) {
            snprintf(errmsg, errmsg_len, "the log starts after %llu, the snapshot is at %llu",
                     (unsigned long long)s->base, (unsigned long long)snap);
            return CRAFT_ECORRUPT;
        } else {
            drop_through(s, snap);
        }
        s->snapshot = o->snapshot;
    } else if (s->base != 0) {
        snprintf(errmsg, errmsg_len, "no snapshot, and the log starts after %llu",
                 (unsigned long long)s->base);
        return CRAFT_ECORRUPT;
    }
    /* The commit saved is a hint: never past the log. */
    craft_index last = s->base + s->n;
    if (s->hard_state.commit > last) {
        s->hard_state.commit = last;
    }
    memset(rec, 0, sizeof *rec);
    rec->hard_state = s->hard_state;
    rec->snapshot = o->snapshot;
    rec->entries = s->entries; /* untouched until release: nothing is submitted before */
    rec->n_entries = s->n;
    s->recovered_last = last;
    s->durable = o->durable;
    s->durable_ctx = o->durable_ctx;
    s->stop = false;
    s->submitted = 0;
    s->open = true;
    assert_int_equal(pthread_create(&s->thread, NULL, store_main, s), 0);
    atomic_fetch_add(&s->n_opens, 1);
    return 0;
}

static void store_release(void *ctx)
{
    struct mem_store *s = ctx;
    atomic_fetch_add(&s->n_releases, 1);
}

static void enqueue(struct mem_store *s, struct pending *p)
{
    pthread_mutex_lock(&s->mu);
    if (s->tail != NULL) {
        s->tail->next = p;
    } else {
        s->head = p;
    }
    s->tail = p;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

static int store_submit(void *ctx, const struct craft_persist *b, uint64_t seq)
{
    struct mem_store *s = ctx;
    assert_int_equal(seq, s->submitted + 1); /* 1, 2, 3, ... */
    s->submitted = seq;
    struct pending *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->seq = seq;
    p->hard_state_changed = b->hard_state_changed;
    p->hard_state = b->hard_state;
    p->install = b->snapshot;
    p->truncate_from = b->truncate_from;
    p->n_entries = b->n_entries;
    p->entries = calloc(b->n_entries > 0 ? b->n_entries : 1, sizeof *p->entries);
    assert_non_null(p->entries);
    copy_entries(b->entries, b->n_entries, p->entries);
    enqueue(s, p);
    atomic_fetch_add(&s->n_submits, 1);
    return 0;
}

static int store_snapshot_taken(void *ctx, const struct craft_snapshot_meta *m)
{
    struct mem_store *s = ctx;
    struct pending *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->snapshot_taken = true;
    p->taken = *m;
    enqueue(s, p);
    atomic_fetch_add(&s->n_taken, 1);
    return 0;
}

/* What was submitted but not reported is lost, as after a crash. */
static void store_close(void *ctx)
{
    struct mem_store *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    while (s->head != NULL) {
        struct pending *p = s->head;
        s->head = p->next;
        free_entry_data(p->entries, p->n_entries);
        free(p->entries);
        free(p);
    }
    s->tail = NULL;
    s->open = false;
    atomic_fetch_add(&s->n_closes, 1);
}

static const struct craft_log_store_ops store_ops = {
    .version = CRAFT_PLUG_VERSION,
    .open = store_open,
    .release = store_release,
    .submit = store_submit,
    .snapshot_taken = store_snapshot_taken,
    .close = store_close,
};

/* ---- tests ---- */

/* The index the store's log continues from (its newest snapshot's). */
static craft_index store_base(struct mem_store *s)
{
    pthread_mutex_lock(&s->mu);
    craft_index base = s->base;
    pthread_mutex_unlock(&s->mu);
    return base;
}

/* The last index the store holds durable. */
static craft_index store_last(struct mem_store *s)
{
    pthread_mutex_lock(&s->mu);
    craft_index last = s->base + s->n;
    pthread_mutex_unlock(&s->mu);
    return last;
}

/* The data directory holds craft's snapshots and nothing else: no WAL, no identity. */
static void assert_no_wal(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (strncmp(e->d_name, "snapshot-", 9) != 0) {
            fail_msg("%s holds %s", dir, e->d_name);
        }
    }
    closedir(d);
}

static struct cluster *open_on_stores(struct mem_store *stores, unsigned n,
                                      struct craft_node_threads threads)
{
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    cl_init(c, n, n, threads);
    c->log_store = &store_ops;
    for (unsigned i = 0; i < n; i++) {
        store_init(&stores[i]);
        c->log_store_ctx[i] = &stores[i];
    }
    return c;
}

static void close_stores(struct cluster *c, struct mem_store *stores)
{
    unsigned n = c->n;
    cl_close(c);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(atomic_load(&stores[i].n_opens), atomic_load(&stores[i].n_closes));
        assert_int_equal(atomic_load(&stores[i].n_opens), atomic_load(&stores[i].n_releases));
        store_free(&stores[i]);
    }
    free(c);
}

static void elect_replicate_restart(struct craft_node_threads threads, uint64_t snapshot_every)
{
    struct mem_store stores[3];
    struct cluster *c = open_on_stores(stores, 3, threads);
    c->snapshot_every = snapshot_every;
    c->log_trailing = 5;
    cl_start_all(c);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    for (uint64_t v = 1; v <= 25; v++) {
        struct craft_result r;
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
        assert_true(r.index > 0);
    }
    assert_true(cl_wait_applied(c, 25, CL_WAIT_MS));
    for (unsigned i = 0; i < 3; i++) {
        assert_true(atomic_load(&stores[i].n_submits) > 0);
        assert_true(atomic_load(&stores[i].n_reports) > 0);
        assert_no_wal(c->nodes[i].dir);
        /* craft sees none of the store's I/O: its WAL figures stay zero (craft_node_stats). */
        struct craft_node_stats ns;
        craft_node_stats(c->nodes[i].node, &ns);
        assert_int_equal(ns.wal_fsync.n, 0);
        assert_int_equal(ns.wal_bytes_written, 0);
    }

    /* A follower restarted recovers its log from its store, then catches up. */
    unsigned follower = ((unsigned)leader + 1) % 3;
    /* It applied what was committed; wait until its own store holds it too. */
    assert_true(CL_WAIT_UNTIL(store_last(&stores[follower]) >= 25, CL_WAIT_MS));
    cl_stop(c, follower);
    cl_fsm_close(&c->nodes[follower].fsm);
    cl_fsm_init(&c->nodes[follower].fsm);
    for (uint64_t v = 26; v <= 30; v++) {
        assert_int_equal(cl_propose_leader(c, v, CL_WAIT_MS), 0);
    }
    cl_start(c, follower);
    assert_int_equal(atomic_load(&stores[follower].n_opens), 2);
    assert_true(stores[follower].recovered_last >= 25); /* all it had acknowledged */
    assert_true(cl_wait_applied(c, 30, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));

    /* The whole cluster restarted, state machines empty: everything comes back from the
     * stores (and the snapshots) alone. */
    for (unsigned i = 0; i < 3; i++) {
        cl_stop(c, i);
        cl_fsm_close(&c->nodes[i].fsm);
        cl_fsm_init(&c->nodes[i].fsm);
    }
    cl_start_all(c);
    assert_true(cl_wait_leader(c, CL_WAIT_MS) >= 0);
    assert_true(cl_wait_applied(c, snapshot_every != 0 ? 0 : 30, CL_WAIT_MS));
    assert_int_equal(cl_propose_leader(c, 31, CL_WAIT_MS), 0);
    assert_true(cl_wait_applied(c, snapshot_every != 0 ? 1 : 31, CL_WAIT_MS));
    assert_true(CL_WAIT_UNTIL(cl_replicas_equal(c), CL_WAIT_MS));
    for (unsigned i = 0; i < 3; i++) {
        struct cl_fsm_view v = cl_fsm_view(&c->nodes[i].fsm);
        struct craft_node_status st;
        cl_status(c, i, &st);
        if (snapshot_every == 0) {
            assert_int_equal(v.n_applied, 31);
            assert_int_equal(v.sum, 31 * 32 / 2);
        } else {
            /* The view (restored from a snapshot, then the log after it) holds every write. */
            assert_true(CL_WAIT_UNTIL((v = cl_fsm_view(&c->nodes[i].fsm), v.sum == 31 * 32 / 2),
                                      CL_WAIT_MS));
            assert_true(st.snapshot_index >= snapshot_every);
            assert_true(atomic_load(&stores[i].n_taken) > 0);
        }
        assert_no_wal(c->nodes[i].dir);
    }
    close_stores(c, stores);
}

static void test_plug_store_elects_replicates_restarts(void **state)
{
    (void)state;
    elect_replicate_restart((struct craft_node_threads){.log_writer = true, .apply = false}, 0);
}

static void test_plug_store_one_thread(void **state)
{
    (void)state;
    elect_replicate_restart((struct craft_node_threads){.log_writer = false, .apply = false}, 0);
}

static void test_plug_store_with_snapshots(void **state)
{
    (void)state;
    elect_replicate_restart((struct craft_node_threads){.log_writer = true, .apply = true}, 10);
}

/* A follower behind the leader's compacted log installs a streamed snapshot: its store takes the
 * install (drop_log) through submit, and the follower restarted afterwards boots from the
 * snapshot file and what its store kept after it. */
static void test_plug_store_takes_an_installed_snapshot(void **state)
{
    (void)state;
    struct mem_store stores[3];
    struct cluster *c = open_on_stores(stores, 3, (struct craft_node_threads){.log_writer = true});
    c->snapshot_every = 10;
    c->log_trailing = 0; /* nothing kept below a snapshot: a follower behind needs it */
    cl_start_all(c);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    unsigned lagging = (unsigned)(leader + 1) % 3;
    cl_stop(c, lagging);
    for (uint64_t v = 1; v <= 35; v++) {
        assert_int_equal(cl_propose_leader(c, v, CL_WAIT_MS), 0);
    }
    struct craft_node_status st;
    leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    assert_true(
        CL_WAIT_UNTIL((cl_status(c, (unsigned)leader, &st), st.snapshot_index >= 30), CL_WAIT_MS));
    cl_start(c, lagging);
    assert_true(cl_wait_applied(c, 35, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    cl_status(c, lagging, &st);
    assert_true(st.snapshot_index >= 10);
    /* Its store continues the installed snapshot (or a newer one it took itself), once the
     * store's thread made the install durable. */
    assert_true(CL_WAIT_UNTIL(store_base(&stores[lagging]) >= 10, CL_WAIT_MS));
    assert_int_equal(cl_propose_leader(c, 36, CL_WAIT_MS), 0);
    assert_true(CL_WAIT_UNTIL(store_last(&stores[lagging]) >= st.snapshot_index + 1, CL_WAIT_MS));
    cl_stop(c, lagging);
    cl_fsm_close(&c->nodes[lagging].fsm);
    cl_fsm_init(&c->nodes[lagging].fsm);
    cl_start(c, lagging);
    assert_true(CL_WAIT_UNTIL(cl_replicas_equal(c), CL_WAIT_MS));
    struct cl_fsm_view v = cl_fsm_view(&c->nodes[lagging].fsm);
    assert_int_equal(v.sum, 36 * 37 / 2);
    assert_no_wal(c->nodes[lagging].dir);
    close_stores(c, stores);
}

/* Incomplete ops are refused with a clear message, and a store whose recovered log is not a
 * log fails the create. */
static void test_plug_store_config_checked(void **state)
{
    (void)state;
    struct mem_store stores[1];
    struct cluster *c = open_on_stores(stores, 1, (struct craft_node_threads){.log_writer = true});
    struct craft_node_config cfg;
    struct craft_log_store_ops ops = store_ops;
    struct cl_fsm fsm;
    struct craft_node *node = NULL;
    char errmsg[256];
    cl_fsm_init(&fsm);

    ops.submit = NULL;
    cl_config(c, 0, &cfg);
    cfg.log_store = &ops;
    assert_int_equal(craft_node_create(&cfg, &cl_fsm_ops, &fsm, &node, errmsg, sizeof errmsg),
                     CRAFT_EINVAL);
    assert_non_null(strstr(errmsg, "log_store: open, release, submit and close"));

    cl_config(c, 0, &cfg);
    cfg.log_store = NULL;
    cfg.log_store_ctx = &stores[0];
    assert_int_equal(craft_node_create(&cfg, &cl_fsm_ops, &fsm, &node, errmsg, sizeof errmsg),
                     CRAFT_EINVAL);
    assert_non_null(strstr(errmsg, "log_store_ctx"));

    /* A gap in what the store recovered. */
    struct craft_entry bad[2] = {{.term = 1, .index = 1}, {.term = 1, .index = 3}};
    stores[0].hard_state.term = 1;
    append(&stores[0], bad, 1);
    stores[0].entries[1] = bad[1]; /* append made room for 64 */
    stores[0].n = 2;
    cl_config(c, 0, &cfg);
    assert_int_equal(craft_node_create(&cfg, &cl_fsm_ops, &fsm, &node, errmsg, sizeof errmsg),
                     CRAFT_ECORRUPT);
    assert_non_null(strstr(errmsg, "index 3, want 2"));
    assert_null(node);
    assert_int_equal(atomic_load(&stores[0].n_closes), 1); /* opened, so closed */
    cl_fsm_close(&fsm);
    close_stores(c, stores);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plug_store_elects_replicates_restarts),
        cmocka_unit_test(test_plug_store_one_thread),
        cmocka_unit_test(test_plug_store_with_snapshots),
        cmocka_unit_test(test_plug_store_takes_an_installed_snapshot),
        cmocka_unit_test(test_plug_store_config_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
