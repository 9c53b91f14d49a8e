/* Unit tests for the copy accounting: counts from many threads (more than there are slots of
 * their own) all reach the totals, per site and together, including those of threads that
 * ended. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/copy_stats.h"

#define THREADS 100 /* past the 64 slots of their own: the rest share one */
#define ADDS 10000

static void *adder(void *arg)
{
    size_t k = (size_t)(uintptr_t)arg;
    for (int i = 0; i < ADDS; i++) {
        copy_stats_add(COPY_WAL_BATCH, k);
        copy_stats_add(COPY_CORE_LOG, 1);
    }
    return NULL;
}

static void test_copy_stats_sums_every_thread(void **state)
{
    (void)state;
    uint64_t wal0 = copy_stats_bytes(COPY_WAL_BATCH);
    uint64_t log0 = copy_stats_bytes(COPY_CORE_LOG);
    uint64_t all0 = copy_stats_bytes(COPY_SITES);
    pthread_t t[THREADS];
    uint64_t want = 0;
    for (size_t i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, adder, (void *)(uintptr_t)(i + 1)), 0);
        want += (uint64_t)(i + 1) * ADDS;
    }
    for (size_t i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    copy_stats_add(COPY_PROPOSE, 7); /* this thread too */
    assert_int_equal(copy_stats_bytes(COPY_WAL_BATCH) - wal0, want);
    assert_int_equal(copy_stats_bytes(COPY_CORE_LOG) - log0, (uint64_t)THREADS * ADDS);
    assert_int_equal(copy_stats_bytes(COPY_SITES) - all0, want + (uint64_t)THREADS * ADDS + 7);
    assert_string_equal(copy_site_name(COPY_WAL_BATCH), "wal_batch");
    assert_string_equal(copy_site_name(COPY_SITES), "all");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_stats_sums_every_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
