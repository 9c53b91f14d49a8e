/* Unit tests for the store's snapshot: save then restore gives the same state (keys, expiry,
 * sessions and their order, node directory), it streams in bounded chunks, and every torn or
 * damaged snapshot is refused with the store unchanged. */
#include <signal.h>

#include "kv_test.h"

#include "kv/kv_internal.h"

/* A store with a bit of everything; store time ends at 5000. */
static struct kv_store *populated(void)
{
    struct kv_store *s = kv_store_create();
    char line[96];
    for (int i = 0; i < 200; i++) {
        snprintf(line, sizeof line, "SET key:%d value-%d", i, i * 7);
        free(kvt_apply(s, 1000, line));
    }
    free(kvt_apply(s, 1000, "SET gone v PX 10"));
    free(kvt_apply(s, 1000, "SET later v PX 100000"));
    free(kvt_apply(s, 1000,
                   "SET empty"
                   " x"));
    free(kvt_apply_s(s, 2000, 11, 5, "INCR counter"));
    free(kvt_apply_s(s, 3000, 12, 1, "APPEND log a"));
    free(kvt_apply_s(s, 4000, 11, 6, "INCR counter"));
    free(kvt_apply(s, 4500, "raft.advertise 1 10.0.0.1:6379"));
    free(kvt_apply(s, 5000, "raft.advertise 3 [::1]:7001"));
    return s;
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    struct kv_store *s = populated();
    struct kvt_buf b = {0};
    assert_int_equal(kv_snapshot_save(s, kvt_buf_write, &b), 0);
    struct kv_store *t = kv_store_create();
    free(kvt_apply(t, 1, "SET stale x")); /* replaced by the restore */
    b.chunk = 7;                          /* reads come back in odd pieces */
    assert_int_equal(kv_snapshot_restore(t, kvt_buf_read, &b), 0);
    kvt_assert_same_state(s, t);
    /* 200 + later, empty, counter, log: "gone" expired before the save (s may still hold it
     * until the sweep reaches it). */
    assert_int_equal(kv_store_size(t), 204);
    bool gone_held = kv_table_get(&s->t, "gone", 4) != NULL;
    assert_int_equal(kv_store_size(s), 204 + (gone_held ? 1 : 0));
    assert_int_equal(kv_store_bytes(t), kv_store_bytes(s) - (gone_held ? 5 : 0));
    KVT_R(t, 0, "GET stale", "$-1\r\n");
    KVT_R(t, 0, "GET key:17", "$9\r\nvalue-119\r\n");
    KVT_R(t, 0, "PTTL later", ":96000\r\n"); /* store time came along: 5000 */
    KVT_R(t, 0, "GET counter", "$1\r\n2\r\n");
    char buf[64];
    assert_int_equal(kv_store_node_address(t, 3, buf, sizeof buf), 0);
    assert_string_equal(buf, "[::1]:7001");
    /* Sessions came along: a retry is answered, not run. */
    char *a = kvt_apply_s(t, 6000, 11, 6, "INCR counter");
    assert_string_equal(a, ":2\r\n");
    free(a);
    /* Both go on identically, session forgetting included (its order came along too). */
    static const char *const next[] = {"INCR counter", "APPEND log b", "SET x y"};
    for (int i = 0; i < 3; i++) {
        uint64_t when = 2000 + KV_SESSION_IDLE_MS + 500 * (uint64_t)i;
        char *x = kvt_apply_s(s, when, 11 + (uint64_t)i % 2, 7 + (uint64_t)i, next[i]);
        char *y = kvt_apply_s(t, when, 11 + (uint64_t)i % 2, 7 + (uint64_t)i, next[i]);
        assert_string_equal(x, y);
        free(x);
        free(y);
        kvt_assert_same_state(s, t);
    }
    free(b.data);
    kv_store_destroy(s);
    kv_store_destroy(t);
}

/* A view taken before changes is the state as of then, however much changes before it is
 * written; a view released unwritten leaves nothing behind. */
static void test_snapshot_view_is_the_state_when_taken(void **state)
{
    (void)state;
    struct kv_store *s = populated();
    struct kv_store *then = kv_store_create();
    struct kvt_buf b0 = {0};
    assert_int_equal(kv_snapshot_save(s, kvt_buf_write, &b0), 0);
    assert_int_equal(kv_snapshot_restore(then, kvt_buf_read, &b0), 0);

    struct kv_snapshot_view *v = NULL;
    assert_int_equal(kv_snapshot_view_begin(s, &v), 0);
    char line[96];
    for (int i = 0; i < 200; i += 2) {
        snprintf(line, sizeof line, "SET key:%d changed-%d", i, i);
        free(kvt_apply(s, 6000, line));
    }
    free(kvt_apply(s, 6000, "DEL later"));
    free(kvt_apply(s, 6000, "raft.advertise 2 10.0.0.2:6379"));
    struct kvt_buf b = {0};
    assert_int_equal(kv_snapshot_view_write(v, kvt_buf_write, &b), 0);
    kv_snapshot_view_end(v);
    struct kv_store *t = kv_store_create();
    assert_int_equal(kv_snapshot_restore(t, kvt_buf_read, &b), 0);
    kvt_assert_same_state(then, t);
    KVT_R(t, 0, "GET key:0", "$7\r\nvalue-0\r\n");
    KVT_R(s, 0, "GET key:0", "$9\r\nchanged-0\r\n");

    /* Taken and released without writing: the child is reaped, nothing leaks. */
    assert_int_equal(kv_snapshot_view_begin(s, &v), 0);
    kv_snapshot_view_end(v);
    free(b0.data);
    free(b.data);
    kv_store_destroy(s);
    kv_store_destroy(then);
    kv_store_destroy(t);
}

/* A child that dies before its verdict (killed while the pipe is full) fails the write, whatever
 * it sent before. */
static void test_snapshot_view_child_killed(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    static char big[1024 * 1024]; /* more than a pipe holds: the child blocks on it */
    memset(big, 'v', sizeof big);
    const char *argv[] = {"set", "big", big};
    size_t lens[] = {3, 3, sizeof big};
    struct kv_entry e;
    struct resp_reply r;
    kv_entry_init(&e);
    resp_reply_init(&r);
    assert_int_equal(kv_entry_begin(&e, 1000, 0, 0, false), 0);
    assert_int_equal(kv_entry_add(&e, 3, argv, lens), 0);
    assert_int_equal(kv_apply(s, e.data, e.len, &r), 0);

    struct kv_snapshot_view *v = NULL;
    assert_int_equal(kv_snapshot_view_begin(s, &v), 0);
    assert_true(kv_snapshot_view_pid(v) > 0);
    assert_int_equal(kill(kv_snapshot_view_pid(v), SIGKILL), 0);
    struct kvt_buf b = {0};
    assert_int_equal(kv_snapshot_view_write(v, kvt_buf_write, &b), CRAFT_EIO);
    assert_true(b.len < sizeof big);
    assert_int_equal(kv_snapshot_view_pid(v), 0);
    kv_snapshot_view_end(v);

    /* The next view of the same store is whole. */
    assert_int_equal(kv_snapshot_view_begin(s, &v), 0);
    struct kvt_buf c = {0};
    assert_int_equal(kv_snapshot_view_write(v, kvt_buf_write, &c), 0);
    kv_snapshot_view_end(v);
    struct kv_store *t = kv_store_create();
    assert_int_equal(kv_snapshot_restore(t, kvt_buf_read, &c), 0);
    kvt_assert_same_state(s, t);
    free(b.data);
    free(c.data);
    kv_entry_close(&e);
    resp_reply_close(&r);
    kv_store_destroy(s);
    kv_store_destroy(t);
}

/* Writes go out in pieces of at most KV_SNAPSHOT_CHUNK, and a writer's error ends the save. */
static void test_snapshot_chunked_and_write_error(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    struct kv_entry e;
    static char big[300 * 1024];
    memset(big, 'b', sizeof big);
    const char *argv[] = {"set", "big", big};
    size_t lens[] = {3, 3, sizeof big};
    struct resp_reply r;
    kv_entry_init(&e);
    resp_reply_init(&r);
    assert_int_equal(kv_entry_begin(&e, 1, 0, 0, false), 0);
    assert_int_equal(kv_entry_add(&e, 3, argv, lens), 0);
    assert_int_equal(kv_apply(s, e.data, e.len, &r), 0);
    struct kvt_buf b = {0};
    assert_int_equal(kv_snapshot_save(s, kvt_buf_write, &b), 0);
    assert_true(b.calls >= 5);
    assert_true(b.len > sizeof big);
    struct kvt_buf f = {.fail_at = 2};
    assert_int_equal(kv_snapshot_save(s, kvt_buf_write, &f), CRAFT_EIO);
    assert_int_equal(f.calls, 2); /* nothing more after the failure */
    struct kv_store *t = kv_store_create();
    assert_int_equal(kv_snapshot_restore(t, kvt_buf_read, &b), 0);
    kvt_assert_same_state(s, t);
    free(b.data);
    free(f.data);
    resp_reply_close(&r);
    kv_entry_close(&e);
    kv_store_destroy(s);
    kv_store_destroy(t);
}

/* Restores bytes that must be refused; t's state stays as it was. */
static void assert_refused(struct kv_store *t, const unsigned char *p, size_t n)
{
    size_t before_len;
    unsigned char *before = kvt_dump(t, &before_len);
    struct kvt_buf b = {.data = malloc(n + 1), .len = n};
    memcpy(b.data, p, n);
    int rv = kv_snapshot_restore(t, kvt_buf_read, &b);
    assert_int_equal(rv, CRAFT_ECORRUPT);
    kvt_assert_state(t, before, before_len);
    free(b.data);
    free(before);
}

static void test_snapshot_torn_and_flipped_refused(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    free(kvt_apply(s, 10, "MSET a 1 b 22"));
    free(kvt_apply(s, 10, "SET c 333 PX 1000"));
    free(kvt_apply_s(s, 20, 5, 1, "INCR d"));
    free(kvt_apply(s, 30, "raft.advertise 2 h:1"));
    struct kvt_buf b = {0};
    assert_int_equal(kv_snapshot_save(s, kvt_buf_write, &b), 0);
    struct kv_store *t = kv_store_create();
    free(kvt_apply(t, 1, "SET keep me"));
    for (size_t n = 0; n < b.len; n++) {
        assert_refused(t, b.data, n);
    }
    for (size_t i = 0; i < b.len; i++) {
        for (unsigned mask = 1; mask < 256; mask <<= 1) {
            b.data[i] ^= (unsigned char)mask;
            assert_refused(t, b.data, b.len);
            b.data[i] ^= (unsigned char)mask;
        }
    }
    unsigned char *longer = malloc(b.len + 1);
    memcpy(longer, b.data, b.len);
    longer[b.len] = 0;
    assert_refused(t, longer, b.len + 1);
    free(longer);
    KVT_R(t, 1, "GET keep", "$2\r\nme\r\n");
    /* The undamaged bytes still restore. */
    b.pos = 0;
    assert_int_equal(kv_snapshot_restore(t, kvt_buf_read, &b), 0);
    kvt_assert_same_state(s, t);
    free(b.data);
    kv_store_destroy(s);
    kv_store_destroy(t);
}

/* An empty store's snapshot restores to an empty store. */
static void test_snapshot_empty(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    struct kv_store *t = populated();
    struct kvt_buf b = {0};
    assert_int_equal(kv_snapshot_save(s, kvt_buf_write, &b), 0);
    assert_int_equal(b.len, 4 + 4 + 8 + 1 + 8 * 3 + 4);
    assert_int_equal(kv_snapshot_restore(t, kvt_buf_read, &b), 0);
    assert_int_equal(kv_store_size(t), 0);
    assert_int_equal(t->sessions.n, 0);
    char buf[16];
    assert_int_equal(kv_store_node_address(t, 1, buf, sizeof buf), CRAFT_ENOTFOUND);
    kvt_assert_same_state(s, t);
    free(b.data);
    kv_store_destroy(s);
    kv_store_destroy(t);
}

/* A damaged length that claims far more than the stream holds fails at the stream's end. */
static void test_snapshot_huge_length_refused(void **state)
{
    (void)state;
    unsigned char snap[64] = {
        0x43, 0x56, 0x4b, 0x53, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, KV_SNAPSHOT_KEY,
        0,    0,    0,    0,    0, 0, 0, 0, /* no expiry */
        1,    0,    0,    0,                /* key: 1 byte */
        0,    0,    0,    0x20};            /* value: 512 MiB */
    struct kv_store *t = kv_store_create();
    free(kvt_apply(t, 1, "SET keep me"));
    for (size_t n = 33; n <= sizeof snap; n += 31) {
        assert_refused(t, snap, n);
    }
    snap[32] = 0x21; /* past the limit */
    assert_refused(t, snap, sizeof snap);
    kv_store_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_snapshot_view_is_the_state_when_taken),
        cmocka_unit_test(test_snapshot_view_child_killed),
        cmocka_unit_test(test_snapshot_chunked_and_write_error),
        cmocka_unit_test(test_snapshot_torn_and_flipped_refused),
        cmocka_unit_test(test_snapshot_empty),
        cmocka_unit_test(test_snapshot_huge_length_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
