/* The node's I/O meters (runtime_stats.c): log2 buckets with inclusive bounds, a metered file
 * system that passes calls through and counts bytes and fdatasyncs, and copies that stay
 * consistent while the one writer updates. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "io/sim/fs_sim.h"
#include "node/runtime.h"

static void test_runtime_stats_buckets(void **state)
{
    (void)state;
    assert_int_equal(rt_stats_bucket(0), 0);
    assert_int_equal(rt_stats_bucket(1), 0);
    assert_int_equal(rt_stats_bucket(2), 1);
    assert_int_equal(rt_stats_bucket(3), 2);
    assert_int_equal(rt_stats_bucket(4), 2);
    assert_int_equal(rt_stats_bucket(5), 3);
    assert_int_equal(rt_stats_bucket(1000), 10); /* <= 1024 us */
    assert_int_equal(rt_stats_bucket(1024), 10);
    assert_int_equal(rt_stats_bucket(1025), 11);
    /* Every bound falls in its own bucket, one more in the next. */
    for (unsigned i = 0; i + 1 < CRAFT_NODE_HIST_BUCKETS; i++) {
        assert_int_equal(rt_stats_bucket(CRAFT_NODE_HIST_BOUND_US(i)), i);
        assert_int_equal(rt_stats_bucket(CRAFT_NODE_HIST_BOUND_US(i) + 1), i + 1);
    }
    assert_int_equal(rt_stats_bucket(UINT64_MAX), CRAFT_NODE_HIST_BUCKETS - 1);
}

static uint64_t bucket_sum(const struct craft_node_histogram *h)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < CRAFT_NODE_HIST_BUCKETS; i++) {
        sum += h->buckets[i];
    }
    return sum;
}

/* Writes and syncs through the meter reach the file system and are counted; reads are not. */
static void meter_counts(struct io_mutex *mu)
{
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(1, &sim), 0);
    struct rt_fs_meter m;
    memset(&m, 0, sizeof m);
    struct io_fs *fs = rt_fs_meter_init(&m, io_fs_sim_fs(sim), mu);
    struct io_file *f;
    assert_int_equal(io_fs_open(fs, "f", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwrite(fs, f, "hello", 5, 0), 0);
    struct iovec iov[2] = {{.iov_base = "ab", .iov_len = 2}, {.iov_base = "cde", .iov_len = 3}};
    assert_int_equal(io_fs_pwritev(fs, f, iov, 2, 5), 0);
    assert_int_equal(io_fs_fdatasync(fs, f), 0);
    assert_int_equal(io_fs_fdatasync(fs, f), 0);
    char buf[16];
    size_t got;
    assert_int_equal(io_fs_pread(io_fs_sim_fs(sim), f, buf, sizeof buf, 0, &got), 0);
    assert_int_equal(got, 10);
    assert_memory_equal(buf, "helloabcde", 10);

    struct craft_node_histogram h;
    uint64_t bytes;
    if (mu != NULL) {
        io_mutex_lock(mu);
    }
    rt_fs_meter_read(&m, &h, &bytes);
    if (mu != NULL) {
        io_mutex_unlock(mu);
    }
    assert_int_equal(h.n, 2);
    assert_int_equal(bucket_sum(&h), 2);
    /* The metered view with a mutex (snapshot files) counts no bytes: files report sizes. */
    assert_int_equal(bytes, mu == NULL ? 10 : 0);
    io_fs_close(fs, f);
    io_fs_sim_destroy(sim);
}

static void test_runtime_stats_meter_counts(void **state)
{
    (void)state;
    meter_counts(NULL);
}

static void test_runtime_stats_meter_counts_under_a_mutex(void **state)
{
    (void)state;
    struct io_mutex mu;
    io_mutex_init(&mu);
    meter_counts(&mu);
    io_mutex_close(&mu);
}

#define SYNCS 1000000 /* enough for reads to overlap updates many times */

struct writer {
    struct io_fs *fs;
    struct io_file *f;
    atomic_bool done;
    int rv;
};

static void *write_syncs(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < SYNCS && w->rv == 0; i++) {
        w->rv = io_fs_fdatasync(w->fs, w->f);
    }
    atomic_store(&w->done, true);
    return NULL;
}

/* A reader on another thread never sees a half-done update: the count is always the sum of the
 * buckets, and never falls. */
static void test_runtime_stats_meter_copies_are_consistent(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(2, &sim), 0);
    struct rt_fs_meter m;
    memset(&m, 0, sizeof m);
    struct writer w = {.fs = rt_fs_meter_init(&m, io_fs_sim_fs(sim), NULL)};
    atomic_init(&w.done, false);
    assert_int_equal(io_fs_open(w.fs, "f", IO_FS_CREATE, &w.f), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_syncs, &w), 0);
    uint64_t last = 0;
    unsigned long reads = 0;
    while (!atomic_load(&w.done)) {
        struct craft_node_histogram h;
        uint64_t bytes;
        rt_fs_meter_read(&m, &h, &bytes);
        assert_int_equal(bucket_sum(&h), h.n);
        assert_true(h.n >= last);
        last = h.n;
        reads++;
    }
    pthread_join(t, NULL);
    assert_int_equal(w.rv, 0);
    struct craft_node_histogram h;
    uint64_t bytes;
    rt_fs_meter_read(&m, &h, &bytes);
    assert_int_equal(h.n, SYNCS);
    assert_int_equal(bucket_sum(&h), SYNCS);
    assert_true(reads > 0);
    io_fs_close(w.fs, w.f);
    io_fs_sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_stats_buckets),
        cmocka_unit_test(test_runtime_stats_meter_counts),
        cmocka_unit_test(test_runtime_stats_meter_counts_under_a_mutex),
        cmocka_unit_test(test_runtime_stats_meter_copies_are_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
