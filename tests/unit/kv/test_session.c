/* Unit tests for exactly-once sessions and the node directory: a retried (client, seq) gets
 * the same reply without running twice, older seqs are refused, idle clients are forgotten in
 * entry time. */
#include "kv_test.h"

#include <pthread.h>
#include <stdatomic.h>

#include "kv/kv_internal.h"

static void test_session_retry_runs_once(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    char *a = kvt_apply_s(s, 10, 77, 1, "INCR n");
    assert_string_equal(a, ":1\r\n");
    char *b = kvt_apply_s(s, 20, 77, 1, "INCR n"); /* the retry */
    assert_string_equal(b, ":1\r\n");
    KVT_R(s, 20, "GET n", "$1\r\n1\r\n");
    free(a);
    free(b);
    a = kvt_apply_s(s, 30, 77, 2, "INCR n");
    assert_string_equal(a, ":2\r\n");
    free(a);
    a = kvt_apply_s(s, 40, 77, 1, "INCR n");
    assert_string_equal(a, "-ERR stale request\r\n");
    free(a);
    /* Another client's seq 1 is its own. */
    a = kvt_apply_s(s, 50, 78, 1, "INCR n");
    assert_string_equal(a, ":3\r\n");
    free(a);
    /* Client 0: no session, every entry runs. */
    a = kvt_apply_s(s, 60, 0, 1, "INCR n");
    b = kvt_apply_s(s, 60, 0, 1, "INCR n");
    assert_string_equal(a, ":4\r\n");
    assert_string_equal(b, ":5\r\n");
    free(a);
    free(b);
    assert_int_equal(s->sessions.n, 2);
    kv_store_destroy(s);
}

/* The stored reply is the whole entry's: a multi entry's array comes back whole. */
static void test_session_multi_reply_kept(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    struct kv_entry e;
    struct kvt_cmd c;
    struct resp_reply r;
    kv_entry_init(&e);
    assert_int_equal(kv_entry_begin(&e, 5, 9, 4, true), 0);
    kvt_split(&c, "INCR a");
    assert_int_equal(kv_entry_add(&e, c.argc, c.argv, c.lens), 0);
    kvt_split(&c, "APPEND b xy");
    assert_int_equal(kv_entry_add(&e, c.argc, c.argv, c.lens), 0);
    for (int i = 0; i < 3; i++) {
        resp_reply_init(&r);
        assert_int_equal(kv_apply(s, e.data, e.len, &r), 0);
        char *got = kvt_take(&r);
        assert_string_equal(got, "*2\r\n:1\r\n:2\r\n");
        free(got);
    }
    KVT_R(s, 5, "GET b", "$2\r\nxy\r\n");
    kv_entry_close(&e);
    kv_store_destroy(s);
}

static void test_session_idle_expiry(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    uint64_t t = 1000;
    free(kvt_apply_s(s, t, 1, 1, "INCR n"));
    free(kvt_apply_s(s, t + 10, 2, 1, "INCR n"));
    /* Exactly the idle limit after client 1's use: both remembered. */
    free(kvt_apply_s(s, t + KV_SESSION_IDLE_MS, 3, 1, "INCR n"));
    assert_non_null(kv_session_find(&s->sessions, 1));
    assert_non_null(kv_session_find(&s->sessions, 2));
    /* One more ms: client 1 is forgotten, 2 (used 10 ms later) is not. */
    free(kvt_apply_s(s, t + 1 + KV_SESSION_IDLE_MS, 3, 2, "INCR n"));
    assert_null(kv_session_find(&s->sessions, 1));
    assert_non_null(kv_session_find(&s->sessions, 2));
    assert_int_equal(s->sessions.n, 2);
    /* A forgotten client's retry runs again: the price of forgetting. */
    char *a = kvt_apply_s(s, t + 12 + KV_SESSION_IDLE_MS, 1, 1, "INCR n");
    assert_string_equal(a, ":5\r\n");
    free(a);
    /* Using a session keeps it. */
    free(kvt_apply_s(s, t + 2 * KV_SESSION_IDLE_MS, 3, 3, "INCR n"));
    free(kvt_apply_s(s, t + 3 * KV_SESSION_IDLE_MS, 3, 4, "INCR n"));
    assert_non_null(kv_session_find(&s->sessions, 3));
    assert_null(kv_session_find(&s->sessions, 2));
    assert_null(kv_session_find(&s->sessions, 1));
    assert_int_equal(s->sessions.n, 1);
    kv_store_destroy(s);
}

/* Many clients: the table grows and each keeps its own last reply. */
static void test_session_many_clients(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    char line[64];
    for (uint64_t c = 1; c <= 500; c++) {
        snprintf(line, sizeof line, "SET k%llu v", (unsigned long long)c);
        free(kvt_apply_s(s, 1, c, 1, line));
    }
    for (uint64_t c = 1; c <= 500; c++) {
        char *a = kvt_apply_s(s, 2, c, 1, "INCR z");
        assert_string_equal(a, "+OK\r\n");
        free(a);
    }
    KVT_R(s, 2, "EXISTS z", ":0\r\n");
    assert_int_equal(s->sessions.n, 500);
    kv_store_destroy(s);
}

static void test_session_node_directory(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    char buf[64];
    assert_int_equal(kv_store_node_address(s, 1, buf, sizeof buf), CRAFT_ENOTFOUND);
    KVT_W(s, 1, "raft.advertise 1 10.0.0.1:6379", "+OK\r\n");
    KVT_W(s, 1, "RAFT.ADVERTISE 2 10.0.0.2:6379", "+OK\r\n");
    KVT_W(s, 1, "raft.advertise 1 10.0.0.9:7000", "+OK\r\n");
    KVT_W(s, 1, "raft.advertise x 10.0.0.9:7000", "-ERR invalid node id\r\n");
    KVT_W(s, 1, "raft.advertise 0 10.0.0.9:7000", "-ERR invalid node id\r\n");
    KVT_W(s, 1, "raft.advertise 1",
          "-ERR wrong number of arguments for 'raft.advertise' command\r\n");
    char line[1100] = "raft.advertise 4 ";
    memset(line + strlen(line), 'h', 1025);
    KVT_W(s, 1, line, "-ERR invalid address\r\n");
    assert_int_equal(kv_store_node_address(s, 4, buf, sizeof buf), CRAFT_ENOTFOUND);
    assert_int_equal(kv_store_node_address(s, 1, buf, sizeof buf), 0);
    assert_string_equal(buf, "10.0.0.9:7000");
    assert_int_equal(kv_store_node_address(s, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "10.0.0.2:6379");
    assert_int_equal(kv_store_node_address(s, 2, buf, 5), CRAFT_ETOOBIG);
    assert_int_equal(kv_store_node_address(s, 3, buf, sizeof buf), CRAFT_ENOTFOUND);
    /* Not a key: FLUSHDB leaves it. */
    KVT_W(s, 1, "FLUSHDB", "+OK\r\n");
    assert_int_equal(kv_store_node_address(s, 2, buf, sizeof buf), 0);
    kv_store_destroy(s);
}

struct reader_arg {
    struct kv_store *s;
    _Atomic int stop;
    _Atomic int found;
};

static void *reader(void *p)
{
    struct reader_arg *a = p;
    char buf[64];
    while (!a->stop) {
        int id = 1 + a->found % 20;
        if (kv_store_node_address(a->s, (uint64_t)id, buf, sizeof buf) == 0) {
            assert_int_equal(strncmp(buf, "host", 4), 0);
            a->found++;
        }
    }
    return NULL;
}

/* Another thread reads the directory while apply rewrites and grows it (run under TSan/ASan). */
static void test_session_node_directory_concurrent(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    struct reader_arg a = {.s = s};
    pthread_t t;
    char line[64];
    KVT_W(s, 1, "raft.advertise 1 host-first", "+OK\r\n");
    assert_int_equal(pthread_create(&t, NULL, reader, &a), 0);
    /* Until the reader has seen plenty (bounded, should the reader never run). */
    for (int i = 0; i < 2000 || (a.found < 1000 && i < 10000000); i++) {
        snprintf(line, sizeof line, "raft.advertise %d host-%d", 1 + i % 20, i);
        KVT_W(s, 1, line, "+OK\r\n");
    }
    a.stop = 1;
    pthread_join(t, NULL);
    assert_true(a.found > 0);
    kv_store_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_retry_runs_once),
        cmocka_unit_test(test_session_multi_reply_kept),
        cmocka_unit_test(test_session_idle_expiry),
        cmocka_unit_test(test_session_many_clients),
        cmocka_unit_test(test_session_node_directory),
        cmocka_unit_test(test_session_node_directory_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
