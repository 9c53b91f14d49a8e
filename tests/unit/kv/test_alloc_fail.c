/* Unit tests for allocation failure: whichever allocation fails while an entry applies, the
 * store is exactly as before and kv_apply says CRAFT_ENOMEM; with memory back, the same entry
 * gives the reply and state a store that never failed gives. Likewise restore and create. */
#include "kv_test.h"

#include "util/alloc.h"

static struct kv_store *base(void)
{
    struct kv_store *s = kv_store_create();
    char line[64];
    for (int i = 0; i < 40; i++) {
        snprintf(line, sizeof line, "SET key:%d value%d", i, i);
        free(kvt_apply(s, 100, line));
    }
    free(kvt_apply(s, 100, "SET n 41"));
    free(kvt_apply(s, 100, "SET t v PX 5000"));
    free(kvt_apply(s, 100, "SET s short"));
    free(kvt_apply_s(s, 100, 5, 1, "INCR c"));
    free(kvt_apply(s, 100, "raft.advertise 1 a:1"));
    return s;
}

static void build(struct kv_entry *e, uint64_t client, uint64_t seq, bool multi,
                  const char *const *lines, size_t n)
{
    kv_entry_init(e);
    assert_int_equal(kv_entry_begin(e, 200, client, seq, multi), 0);
    for (size_t i = 0; i < n; i++) {
        struct kvt_cmd c;
        kvt_split(&c, lines[i]);
        assert_int_equal(kv_entry_add(e, c.argc, c.argv, c.lens), 0);
    }
}

/* Fails the n-th allocation for n = 0, 1, ... until the entry applies; checks both sides. */
static void check_entry(uint64_t client, uint64_t seq, bool multi, const char *const *lines,
                        size_t n_lines)
{
    struct kv_entry e;
    struct resp_reply r;
    size_t want_len, before_len;
    build(&e, client, seq, multi, lines, n_lines);
    struct kv_store *ref = base();
    resp_reply_init(&r);
    assert_int_equal(kv_apply(ref, e.data, e.len, &r), 0);
    char *want = kvt_take(&r);
    unsigned char *want_state = kvt_dump(ref, &want_len);
    struct kv_store *s = base();
    unsigned char *before = kvt_dump(s, &before_len);
    int failures = 0;
    for (long n = 0;; n++) {
        resp_reply_init(&r);
        alloc_fail_after(n);
        int rv = kv_apply(s, e.data, e.len, &r);
        alloc_fail_reset();
        if (rv == 0) {
            char *got = kvt_take(&r);
            assert_string_equal(got, want);
            free(got);
            kvt_assert_state(s, want_state, want_len);
            break;
        }
        assert_int_equal(rv, CRAFT_ENOMEM);
        failures++;
        resp_reply_close(&r);
        kvt_assert_state(s, before, before_len);
    }
    assert_true(failures > 0); /* the entry did allocate, so failing it was tried */
    free(want);
    free(want_state);
    free(before);
    kv_store_destroy(ref);
    kv_store_destroy(s);
    kv_entry_close(&e);
}

static void test_alloc_fail_each_command(void **state)
{
    (void)state;
    static const char *const one[] = {
        "SET new v",       "SET key:3 newer EX 10", "GETSET key:4 x",       "SETNX fresh v",
        "DEL key:1 key:2", "APPEND s _longer_tail", "APPEND none v",        "INCR n",
        "INCRBY z 5",      "MSET a 1 b 2 c 3 d 4",  "EXPIRE key:5 9",       "PERSIST t",
        "FLUSHDB",         "raft.advertise 2 b:2",  "raft.advertise 1 c:3",
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        check_entry(0, 0, false, &one[i], 1);
    }
}

static void test_alloc_fail_multi_and_session(void **state)
{
    (void)state;
    static const char *const multi[] = {
        "SET x 1", "APPEND key:7 more",    "DEL key:8",     "FLUSHDB", "SET y 2",
        "INCR n",  "raft.advertise 4 d:4", "PEXPIRE y 100",
    };
    check_entry(0, 0, true, multi, sizeof multi / sizeof multi[0]);
    check_entry(9, 1, true, multi, sizeof multi / sizeof multi[0]); /* a new session */
    check_entry(5, 2, false, multi, 3);                             /* an existing one */
}

/* A MULTI mixing reads and writes: a failure anywhere, a read's reply included, takes back the
 * writes before it; with memory back the reads see those writes. */
static void test_alloc_fail_mixed_reads_and_writes(void **state)
{
    (void)state;
    static const char *const mixed[] = {
        "GET key:7",
        "SET key:7 changed",
        "GET key:7",
        "MGET key:1 key:2 key:3",
        "DEL key:1",
        "KEYS key:1*",
        "APPEND s _tail",
        "STRLEN s",
        "INCR n",
        "DBSIZE",
        "SCAN 0 COUNT 1000",
        "PTTL t",
        "FLUSHDB",
        "GET s",
    };
    check_entry(0, 0, true, mixed, sizeof mixed / sizeof mixed[0]);
    /* And the reads did run, seeing the writes before them. */
    struct kv_entry e;
    struct resp_reply r;
    struct kv_store *s = base();
    build(&e, 0, 0, true, mixed, 3);
    resp_reply_init(&r);
    assert_int_equal(kv_apply(s, e.data, e.len, &r), 0);
    char *got = kvt_take(&r);
    assert_string_equal(got, "*3\r\n$6\r\nvalue7\r\n+OK\r\n$7\r\nchanged\r\n");
    free(got);
    kv_entry_close(&e);
    kv_store_destroy(s);
}

static void test_alloc_fail_restore_and_create(void **state)
{
    (void)state;
    struct kv_store *s = base();
    struct kvt_buf b = {0};
    assert_int_equal(kv_snapshot_save(s, kvt_buf_write, &b), 0);
    struct kv_store *t = kv_store_create();
    free(kvt_apply(t, 1, "SET mine 1"));
    size_t before_len;
    unsigned char *before = kvt_dump(t, &before_len);
    long n = 0;
    for (;; n++) {
        b.pos = 0;
        alloc_fail_after(n);
        int rv = kv_snapshot_restore(t, kvt_buf_read, &b);
        alloc_fail_reset();
        if (rv == 0) {
            break;
        }
        assert_int_equal(rv, CRAFT_ENOMEM);
        kvt_assert_state(t, before, before_len);
    }
    assert_true(n > 40); /* one per key at least */
    kvt_assert_same_state(s, t);
    /* Save: the chunk buffer. */
    alloc_fail_after(0);
    struct kvt_buf o = {0};
    assert_int_equal(kv_snapshot_save(s, kvt_buf_write, &o), CRAFT_ENOMEM);
    alloc_fail_reset();
    assert_int_equal(o.len, 0);
    for (n = 0;; n++) {
        alloc_fail_after(n);
        struct kv_store *c = kv_store_create();
        alloc_fail_reset();
        if (c != NULL) {
            kv_store_destroy(c);
            break;
        }
    }
    assert_true(n >= 2);
    free(before);
    free(b.data);
    kv_store_destroy(s);
    kv_store_destroy(t);
}

static void test_alloc_fail_entry_builder(void **state)
{
    (void)state;
    struct kv_entry e;
    struct kvt_cmd c;
    kvt_split(&c, "SET k v");
    kv_entry_init(&e);
    alloc_fail_after(0);
    assert_int_equal(kv_entry_begin(&e, 1, 0, 0, false), CRAFT_ENOMEM);
    alloc_fail_reset();
    assert_int_equal(kv_entry_begin(&e, 1, 0, 0, false), 0);
    static char big[4096];
    const char *argv[] = {"set", "k", big};
    size_t lens[] = {3, 1, sizeof big};
    alloc_fail_after(0);
    assert_int_equal(kv_entry_add(&e, 3, argv, lens), CRAFT_ENOMEM);
    alloc_fail_reset();
    assert_int_equal(e.n_commands, 0);
    assert_int_equal(kv_entry_add(&e, 3, argv, lens), 0);
    assert_int_equal(e.n_commands, 1);
    kv_entry_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_fail_each_command),
        cmocka_unit_test(test_alloc_fail_multi_and_session),
        cmocka_unit_test(test_alloc_fail_mixed_reads_and_writes),
        cmocka_unit_test(test_alloc_fail_restore_and_create),
        cmocka_unit_test(test_alloc_fail_entry_builder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
