/* Unit tests for kv_fsm_ops (apply's results and their release, a corrupt entry stopping the
 * batch) and the expiry sweep that apply runs. */
#include "kv_test.h"

#include "craft/types.h"

static void test_fsm_apply_results(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    struct kv_entry e[3];
    kvt_entry(&e[0], 10, 0, 0, "SET k 5");
    kvt_entry(&e[1], 11, 0, 0, "INCR k");
    kvt_entry(&e[2], 12, 0, 0, "INCRBY k 10");
    struct craft_entry entries[4] = {
        {.term = 1, .index = 1, .type = CRAFT_ENTRY_NORMAL, .data = {e[0].data, e[0].len}},
        {.term = 1, .index = 2, .type = CRAFT_ENTRY_NOOP, .data = {NULL, 0}},
        {.term = 1, .index = 3, .type = CRAFT_ENTRY_NORMAL, .data = {e[1].data, e[1].len}},
        {.term = 1, .index = 4, .type = CRAFT_ENTRY_NORMAL, .data = {e[2].data, e[2].len}},
    };
    void *results[4] = {NULL};
    assert_int_equal(kv_fsm_ops.apply(s, entries, 4, results), 0);
    struct kv_result *r0 = results[0], *r2 = results[2], *r3 = results[3];
    assert_null(results[1]);
    assert_int_equal(r0->len, 5);
    assert_memory_equal(r0->data, "+OK\r\n", 5);
    assert_memory_equal(r2->data, ":6\r\n", r2->len);
    assert_memory_equal(r3->data, ":16\r\n", r3->len);
    kv_result_free(r0);
    kv_fsm_ops.release_result(s, r2);
    kv_fsm_ops.release_result(s, r3);
    assert_non_null(kv_fsm_ops.snapshot_save);
    assert_non_null(kv_fsm_ops.snapshot_restore);
    for (int i = 0; i < 3; i++) {
        kv_entry_close(&e[i]);
    }
    kv_store_destroy(s);
}

/* A corrupt committed entry stops the batch with CRAFT_ECORRUPT; entries before it applied. */
static void test_fsm_corrupt_entry_stops(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    struct kv_entry e;
    kvt_entry(&e, 10, 0, 0, "SET k 5");
    struct craft_entry entries[3] = {
        {.type = CRAFT_ENTRY_NORMAL, .data = {e.data, e.len}},
        {.type = CRAFT_ENTRY_NORMAL, .data = {e.data, e.len - 1}},
        {.type = CRAFT_ENTRY_NORMAL, .data = {e.data, e.len}},
    };
    void *results[3] = {NULL};
    assert_int_equal(kv_fsm_ops.apply(s, entries, 3, results), CRAFT_ECORRUPT);
    assert_non_null(results[0]);
    assert_null(results[1]);
    assert_null(results[2]);
    kv_result_free(results[0]);
    assert_int_equal(kv_store_size(s), 1);
    kv_entry_close(&e);
    kv_store_destroy(s);
}

/* Expired keys nobody touches are removed by apply's sweep, a few buckets per entry. */
static void test_fsm_sweep_removes_expired(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    char line[64];
    for (int i = 0; i < 500; i++) {
        snprintf(line, sizeof line, "SET k%d v PX %d", i, i < 400 ? 10 : 100000);
        free(kvt_apply(s, 1000, line));
    }
    assert_int_equal(kv_store_size(s), 500);
    uint64_t bytes = kv_store_bytes(s);
    for (int i = 0; i < 200; i++) {
        free(kvt_apply(s, 2000, "SET other v"));
    }
    assert_int_equal(kv_store_size(s), 101);
    assert_true(kv_store_bytes(s) < bytes);
    KVT_R(s, 2000, "DBSIZE", ":101\r\n");
    kv_store_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fsm_apply_results),
        cmocka_unit_test(test_fsm_corrupt_entry_stops),
        cmocka_unit_test(test_fsm_sweep_removes_expired),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
