/* The node's I/O statistics (craft_node_stats): the WAL's fdatasyncs are counted and timed where
 * they happen (the log writer thread, or the loop without it), at most one per group-commit
 * batch; snapshots saved and received are counted with their sizes, durations and syncs. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "cluster.h"

#define N_PROPOSALS 64

/* The histogram is one consistent copy: its count is the sum of its buckets, and a sample of
 * at least 1 ns counts as at least 1 us. */
static void check_histogram(const struct craft_node_histogram *h)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < CRAFT_NODE_HIST_BUCKETS; i++) {
        sum += h->buckets[i];
    }
    assert_int_equal(sum, h->n);
    assert_true(h->sum_us >= h->n);
}

/* Counts outcomes of asynchronous proposals; the test thread waits on it with a deadline. */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    unsigned n_done;
    unsigned n_ok;
};

static void on_result(void *arg, const struct craft_result *r)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->n_done++;
    w->n_ok += r->status == 0;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    free(r->value);
}

static bool wait_done(struct waiter *w, unsigned n, unsigned timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000 + 1;
    pthread_mutex_lock(&w->mu);
    int rv = 0;
    while (w->n_done < n && rv == 0) {
        rv = pthread_cond_timedwait(&w->cond, &w->mu, &deadline);
    }
    bool done = w->n_done >= n;
    pthread_mutex_unlock(&w->mu);
    return done;
}

static void fsyncs_counted(struct craft_node_threads threads)
{
    int leader;
    struct cluster *c = cl_open(1, 1, threads, &leader);
    struct craft_node *node = c->nodes[leader].node;
    struct craft_node_status st;
    /* The new leader's first entry is durable, committed and applied: no sync of it is left. */
    assert_true(CL_WAIT_UNTIL((cl_status(c, 0, &st), st.commit >= 1 && st.applied >= st.commit),
                              CL_WAIT_MS));
    struct craft_node_stats before;
    craft_node_stats(node, &before);
    check_histogram(&before.wal_fsync);
    assert_true(before.wal_fsync.n >= 1); /* its term, vote and first entry are durable */
    assert_true(before.wal_bytes_written > 0);

    struct waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    for (uint64_t v = 1; v <= N_PROPOSALS; v++) {
        unsigned char cmd[8];
        for (int b = 0; b < 8; b++) {
            cmd[b] = (unsigned char)(v >> (8 * b));
        }
        assert_int_equal(craft_node_propose(node, cmd, sizeof cmd, on_result, &w), 0);
    }
    assert_true(wait_done(&w, N_PROPOSALS, CL_WAIT_MS));
    assert_int_equal(w.n_ok, N_PROPOSALS);

    struct craft_node_stats after;
    craft_node_stats(node, &after);
    check_histogram(&after.wal_fsync);
    /* Each proposal was durable before its outcome: at least one sync, at most one per
     * proposal (group commit may have made it fewer). */
    uint64_t syncs = after.wal_fsync.n - before.wal_fsync.n;
    assert_true(syncs >= 1);
    assert_true(syncs <= N_PROPOSALS);
    assert_true(after.wal_fsync.sum_us - before.wal_fsync.sum_us >= syncs);
    for (unsigned i = 0; i < CRAFT_NODE_HIST_BUCKETS; i++) {
        assert_true(after.wal_fsync.buckets[i] >= before.wal_fsync.buckets[i]);
    }
    /* Every payload went to the WAL, with a record header each. */
    assert_true(after.wal_bytes_written - before.wal_bytes_written >= N_PROPOSALS * 8 * 2);
    /* No snapshot was taken or received (snapshots are off), and no snapshot file synced. */
    assert_int_equal(after.snapshot_save.n, 0);
    assert_int_equal(after.n_snapshots_received, 0);
    assert_int_equal(after.snapshot_fsync.n, 0);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.mu);
    cl_free(c);
}

static void test_cluster_stats_fsyncs_counted_on_the_log_writer(void **state)
{
    (void)state;
    fsyncs_counted((struct craft_node_threads){.log_writer = true, .apply = false});
}

static void test_cluster_stats_fsyncs_counted_on_the_loop(void **state)
{
    (void)state;
    fsyncs_counted((struct craft_node_threads){.log_writer = false, .apply = false});
}

/* The size of the one snapshot file in dir whose name begins with prefix; 0 if none. */
static uint64_t snapshot_file_bytes(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    uint64_t bytes = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && len > 5 &&
            strcmp(e->d_name + len - 5, ".snap") == 0) {
            char path[512];
            struct stat sb;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            assert_int_equal(stat(path, &sb), 0);
            bytes = (uint64_t)sb.st_size;
        }
    }
    closedir(d);
    return bytes;
}

#define EVERY 10
#define WRITES 35

static void snapshots_counted(struct craft_node_threads threads)
{
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    cl_init(c, 3, 3, threads);
    c->snapshot_every = EVERY;
    c->log_trailing = 0; /* nothing kept below a snapshot: a follower behind needs it */
    cl_start_all(c);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    unsigned lagging = (unsigned)(leader + 1) % 3;
    cl_stop(c, lagging);
    for (uint64_t v = 1; v <= WRITES; v++) {
        assert_int_equal(cl_propose_leader(c, v, CL_WAIT_MS), 0);
    }
    leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    struct craft_node *ln = c->nodes[leader].node;
    struct craft_node_stats s;
    /* Snapshots at 10, 20 and 30 (the leader's entry of its term is one of the 35 indexes). */
    assert_true(
        CL_WAIT_UNTIL((craft_node_stats(ln, &s), s.snapshot_saved_last_index >= 30), CL_WAIT_MS));
    check_histogram(&s.snapshot_save);
    assert_true(s.snapshot_save.n >= 3);
    assert_int_equal(s.n_snapshot_save_failures, 0);
    assert_int_equal(s.snapshot_saved_last_index % EVERY, 0);
    assert_true(s.snapshot_saved_last_us >= 1);
    assert_true(s.snapshot_saved_last_us <= s.snapshot_save.sum_us);
    /* The size is the published file's. */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "snapshot-%016llx-%016llx-", 1ull, /* DISK_FORMAT.md */
             (unsigned long long)s.snapshot_saved_last_index);
    assert_true(s.snapshot_saved_last_bytes > 0);
    assert_int_equal(s.snapshot_saved_last_bytes,
                     snapshot_file_bytes(c->nodes[leader].dir, prefix));
    assert_int_equal(s.n_snapshots_received, 0); /* a leader receives none */
    /* Each save made its file durable with an fdatasync. */
    check_histogram(&s.snapshot_fsync);
    assert_true(s.snapshot_fsync.n >= s.snapshot_save.n);

    /* The follower behind gets a snapshot streamed: counted once whole, checked and durable. */
    cl_start(c, lagging);
    assert_true(cl_wait_applied(c, WRITES, CL_WAIT_MS));
    struct craft_node_stats f;
    craft_node_stats(c->nodes[lagging].node, &f);
    assert_true(f.n_snapshots_received >= 1);
    assert_true(f.snapshot_received_last_index >= EVERY);
    assert_int_equal(f.snapshot_received_last_index % EVERY, 0);
    assert_true(f.snapshot_received_last_bytes > 0);
    assert_true(f.snapshot_received_bytes >= f.snapshot_received_last_bytes);
    check_histogram(&f.snapshot_fsync);
    assert_true(f.snapshot_fsync.n >= f.n_snapshots_received); /* the received file synced */
    /* Its WAL synced what came after the snapshot. */
    check_histogram(&f.wal_fsync);
    assert_true(f.wal_fsync.n >= 1);
    cl_free(c);
}

static void test_cluster_stats_snapshots_counted(void **state)
{
    (void)state;
    snapshots_counted((struct craft_node_threads){.log_writer = true, .apply = true});
}

static void test_cluster_stats_snapshots_counted_one_thread(void **state)
{
    (void)state;
    snapshots_counted((struct craft_node_threads){.log_writer = false, .apply = false});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_stats_fsyncs_counted_on_the_log_writer),
        cmocka_unit_test(test_cluster_stats_fsyncs_counted_on_the_loop),
        cmocka_unit_test(test_cluster_stats_snapshots_counted),
        cmocka_unit_test(test_cluster_stats_snapshots_counted_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
