/* Unit tests for the kv commands: each command's replies and errors, byte for byte as Redis
 * answers, and expiry as a function of the entry's time only. */
#include "kv_test.h"

#define T0 1000000 /* an entry time, ms */

static int setup(void **state)
{
    *state = kv_store_create();
    return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    kv_store_destroy(*state);
    return 0;
}

static void test_commands_set_get_del(void **state)
{
    struct kv_store *s = *state;
    KVT_R(s, T0, "GET k", "$-1\r\n");
    KVT_W(s, T0, "SET k hello", "+OK\r\n");
    KVT_R(s, T0, "GET k", "$5\r\nhello\r\n");
    KVT_W(s, T0, "SET k bye", "+OK\r\n");
    KVT_R(s, T0, "GET k", "$3\r\nbye\r\n");
    KVT_R(s, T0, "STRLEN k", ":3\r\n");
    KVT_R(s, T0, "STRLEN nope", ":0\r\n");
    KVT_R(s, T0, "TYPE k", "+string\r\n");
    KVT_R(s, T0, "TYPE nope", "+none\r\n");
    KVT_W(s, T0, "SET j x", "+OK\r\n");
    KVT_R(s, T0, "EXISTS k j k nope", ":3\r\n");
    KVT_R(s, T0, "DBSIZE", ":2\r\n");
    KVT_R(s, T0, "MGET k nope j", "*3\r\n$3\r\nbye\r\n$-1\r\n$1\r\nx\r\n");
    KVT_W(s, T0, "DEL k nope j k", ":2\r\n");
    KVT_R(s, T0, "DBSIZE", ":0\r\n");
    assert_int_equal(kv_store_size(s), 0);
    assert_int_equal(kv_store_bytes(s), 0);
}

static void test_commands_set_options(void **state)
{
    struct kv_store *s = *state;
    KVT_W(s, T0, "SET k v XX", "$-1\r\n");
    KVT_W(s, T0, "SET k v NX", "+OK\r\n");
    KVT_W(s, T0, "SET k w NX", "$-1\r\n");
    KVT_W(s, T0, "SET k w NX GET", "$1\r\nv\r\n");
    KVT_W(s, T0, "SET k w XX GET", "$1\r\nv\r\n");
    KVT_R(s, T0, "GET k", "$1\r\nw\r\n");
    KVT_W(s, T0, "SET new x GET", "$-1\r\n");
    KVT_W(s, T0, "SET k v NX XX", "-ERR syntax error\r\n");
    KVT_W(s, T0, "SET k v EX 10 PX 100", "-ERR syntax error\r\n");
    KVT_W(s, T0, "SET k v EX 10 KEEPTTL", "-ERR syntax error\r\n");
    KVT_W(s, T0, "SET k v EX", "-ERR syntax error\r\n");
    KVT_W(s, T0, "SET k v FOO", "-ERR syntax error\r\n");
    KVT_W(s, T0, "SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n");
    KVT_W(s, T0, "SET k v EX -5", "-ERR invalid expire time in 'set' command\r\n");
    KVT_W(s, T0, "SET k v EX 9223372036854775", "-ERR invalid expire time in 'set' command\r\n");
    KVT_W(s, T0, "SET k v PX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n");
    KVT_W(s, T0, "SET k v EX ten", "-ERR value is not an integer or out of range\r\n");
    KVT_W(s, T0, "SET k v EX 010", "-ERR value is not an integer or out of range\r\n");
    KVT_W(s, T0, "SET", "-ERR wrong number of arguments for 'set' command\r\n");
    KVT_W(s, T0, "SET k", "-ERR wrong number of arguments for 'set' command\r\n");
    KVT_R(s, T0, "GET k", "$1\r\nw\r\n");
}

static void test_commands_set_expiry(void **state)
{
    struct kv_store *s = *state;
    KVT_W(s, T0, "SET a v EX 10", "+OK\r\n");
    KVT_W(s, T0, "SET b v PX 1500", "+OK\r\n");
    KVT_W(s, T0, "SET c v EXAT 2000", "+OK\r\n");    /* 2,000,000 ms */
    KVT_W(s, T0, "SET d v PXAT 1000500", "+OK\r\n"); /* 500 ms after T0 */
    KVT_W(s, T0, "SET e v PXAT 999", "+OK\r\n");     /* already past: gone */
    KVT_R(s, T0, "PTTL a", ":10000\r\n");
    KVT_R(s, T0, "TTL a", ":10\r\n");
    KVT_R(s, T0, "PTTL b", ":1500\r\n");
    KVT_R(s, T0, "TTL b", ":2\r\n"); /* rounded as Redis does */
    KVT_R(s, T0, "PTTL c", ":1000000\r\n");
    KVT_R(s, T0, "PTTL d", ":500\r\n");
    KVT_R(s, T0, "GET e", "$-1\r\n");
    KVT_R(s, T0, "TTL nope", ":-2\r\n");
    KVT_W(s, T0, "SET p v", "+OK\r\n");
    KVT_R(s, T0, "TTL p", ":-1\r\n");
    /* KEEPTTL keeps it; a plain SET drops it. */
    KVT_W(s, T0, "SET a w KEEPTTL", "+OK\r\n");
    KVT_R(s, T0, "PTTL a", ":10000\r\n");
    KVT_W(s, T0, "SET a w", "+OK\r\n");
    KVT_R(s, T0, "PTTL a", ":-1\r\n");
    /* At expiry time the key is absent for reads and writes alike. */
    KVT_R(s, T0 + 500, "GET d", "$-1\r\n");
    KVT_R(s, T0 + 499, "GET d", "$1\r\nv\r\n");
    KVT_W(s, T0 + 1500, "SET b x NX", "+OK\r\n");
    KVT_R(s, T0 + 1500, "PTTL b", ":-1\r\n");
}

static void test_commands_getset_setnx_append(void **state)
{
    struct kv_store *s = *state;
    KVT_W(s, T0, "GETSET k a", "$-1\r\n");
    KVT_W(s, T0, "GETSET k b", "$1\r\na\r\n");
    KVT_W(s, T0, "SETNX k c", ":0\r\n");
    KVT_W(s, T0, "SETNX n c", ":1\r\n");
    KVT_R(s, T0, "GET n", "$1\r\nc\r\n");
    KVT_W(s, T0, "APPEND x hello", ":5\r\n");
    KVT_W(s, T0, "APPEND x _world", ":11\r\n");
    KVT_R(s, T0, "GET x", "$11\r\nhello_world\r\n");
    for (int i = 1; i <= 50; i++) {
        char want[16];
        snprintf(want, sizeof want, ":%d\r\n", 2 * i);
        KVT_W(s, T0, "APPEND y ab", want);
    }
    KVT_R(s, T0, "STRLEN y", ":100\r\n");
    /* APPEND keeps the expiry; GETSET drops it. */
    KVT_W(s, T0, "SET t v PX 100", "+OK\r\n");
    KVT_W(s, T0, "APPEND t w", ":2\r\n");
    KVT_R(s, T0, "PTTL t", ":100\r\n");
    KVT_W(s, T0, "GETSET t z", "$2\r\nvw\r\n");
    KVT_R(s, T0, "PTTL t", ":-1\r\n");
    /* APPEND to an expired key starts afresh. */
    KVT_W(s, T0, "SET u old PX 10", "+OK\r\n");
    KVT_W(s, T0 + 10, "APPEND u new", ":3\r\n");
    KVT_R(s, T0 + 10, "GET u", "$3\r\nnew\r\n");
    assert_int_equal(kv_store_bytes(s), 1 + 1 + 1 + 1 + 1 + 11 + 1 + 100 + 1 + 1 + 1 + 3);
}

static void test_commands_incr_family(void **state)
{
    struct kv_store *s = *state;
    KVT_W(s, T0, "INCR n", ":1\r\n");
    KVT_W(s, T0, "INCRBY n 41", ":42\r\n");
    KVT_W(s, T0, "DECR n", ":41\r\n");
    KVT_W(s, T0, "DECRBY n 50", ":-9\r\n");
    KVT_R(s, T0, "GET n", "$2\r\n-9\r\n");
    KVT_W(s, T0, "SET s abc", "+OK\r\n");
    KVT_W(s, T0, "INCR s", "-ERR value is not an integer or out of range\r\n");
    KVT_W(s, T0, "SET s 007", "+OK\r\n");
    KVT_W(s, T0, "INCR s", "-ERR value is not an integer or out of range\r\n");
    KVT_W(s, T0, "INCRBY n x", "-ERR value is not an integer or out of range\r\n");
    KVT_W(s, T0, "INCRBY n 99999999999999999999",
          "-ERR value is not an integer or out of range\r\n");
    KVT_W(s, T0, "SET m 9223372036854775806", "+OK\r\n");
    KVT_W(s, T0, "INCR m", ":9223372036854775807\r\n");
    KVT_W(s, T0, "INCR m", "-ERR increment or decrement would overflow\r\n");
    KVT_R(s, T0, "GET m", "$19\r\n9223372036854775807\r\n");
    KVT_W(s, T0, "SET m -9223372036854775807", "+OK\r\n");
    KVT_W(s, T0, "DECR m", ":-9223372036854775808\r\n");
    KVT_W(s, T0, "DECR m", "-ERR increment or decrement would overflow\r\n");
    KVT_W(s, T0, "DECRBY n -9223372036854775808", "-ERR decrement would overflow\r\n");
    KVT_W(s, T0, "INCRBY z -9223372036854775808", ":-9223372036854775808\r\n");
    /* INCR keeps the expiry (Redis changes the value in place). */
    KVT_W(s, T0, "SET e 5 PX 300", "+OK\r\n");
    KVT_W(s, T0, "INCR e", ":6\r\n");
    KVT_R(s, T0, "PTTL e", ":300\r\n");
    KVT_W(s, T0, "INCR", "-ERR wrong number of arguments for 'incr' command\r\n");
}

static void test_commands_mset_and_expire(void **state)
{
    struct kv_store *s = *state;
    KVT_W(s, T0, "MSET a 1 b 2", "+OK\r\n");
    KVT_W(s, T0, "MSET a 1 b", "-ERR wrong number of arguments for 'mset' command\r\n");
    KVT_R(s, T0, "MGET a b", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    KVT_W(s, T0, "EXPIRE a 10", ":1\r\n");
    KVT_W(s, T0, "EXPIRE nope 10", ":0\r\n");
    KVT_R(s, T0, "PTTL a", ":10000\r\n");
    KVT_W(s, T0, "PEXPIRE a 20000 NX", ":0\r\n");
    KVT_W(s, T0, "PEXPIRE a 5000 GT", ":0\r\n");
    KVT_W(s, T0, "PEXPIRE a 20000 GT", ":1\r\n");
    KVT_W(s, T0, "PEXPIRE a 30000 LT", ":0\r\n");
    KVT_W(s, T0, "PEXPIRE a 3000 LT", ":1\r\n");
    KVT_W(s, T0, "PEXPIRE b 3000 XX", ":0\r\n");
    KVT_W(s, T0, "PEXPIRE b 3000 GT", ":0\r\n");
    KVT_W(s, T0, "PEXPIRE b 3000 LT", ":1\r\n");
    KVT_R(s, T0, "PTTL a", ":3000\r\n");
    KVT_W(s, T0, "EXPIRE a 10 NX XX",
          "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
    KVT_W(s, T0, "EXPIRE a 10 GT LT",
          "-ERR GT and LT options at the same time are not compatible\r\n");
    KVT_W(s, T0, "EXPIRE a 10 ZZ", "-ERR Unsupported option ZZ\r\n");
    KVT_W(s, T0, "EXPIRE a x", "-ERR value is not an integer or out of range\r\n");
    KVT_W(s, T0, "EXPIRE a 9223372036854775807",
          "-ERR invalid expire time in 'expire' command\r\n");
    KVT_W(s, T0, "PEXPIRE a 9223372036854775807",
          "-ERR invalid expire time in 'pexpire' command\r\n");
    KVT_W(s, T0, "PERSIST a", ":1\r\n");
    KVT_W(s, T0, "PERSIST a", ":0\r\n");
    KVT_W(s, T0, "PERSIST nope", ":0\r\n");
    KVT_R(s, T0, "TTL a", ":-1\r\n");
    /* A time in the past deletes the key. */
    KVT_W(s, T0, "EXPIRE a -1", ":1\r\n");
    KVT_R(s, T0, "EXISTS a", ":0\r\n");
    KVT_W(s, T0, "PEXPIRE b 0", ":1\r\n");
    KVT_R(s, T0, "DBSIZE", ":0\r\n");
}

static void test_commands_flushdb(void **state)
{
    struct kv_store *s = *state;
    char line[64];
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof line, "SET key%d value%d", i, i);
        KVT_W(s, T0, line, "+OK\r\n");
    }
    assert_int_equal(kv_store_size(s), 100);
    KVT_W(s, T0, "FLUSHDB FOO", "-ERR syntax error\r\n");
    KVT_W(s, T0, "FLUSHDB ASYNC", "+OK\r\n");
    assert_int_equal(kv_store_size(s), 0);
    assert_int_equal(kv_store_bytes(s), 0);
    KVT_R(s, T0, "GET key1", "$-1\r\n");
    KVT_W(s, T0, "SET key1 x", "+OK\r\n");
    KVT_W(s, T0, "FLUSHDB", "+OK\r\n");
    KVT_R(s, T0, "DBSIZE", ":0\r\n");
}

static void test_commands_table(void **state)
{
    (void)state;
    size_t n;
    const struct kv_command *all = kv_command_all(&n);
    assert_int_equal(n, 24);
    const struct kv_command *set = kv_command_find("SeT", 3);
    assert_non_null(set);
    assert_string_equal(set->name, "set");
    assert_int_equal(set->arity, -3);
    assert_int_equal(set->kind, KV_COMMAND_WRITE);
    const struct kv_command *mset = kv_command_find("mset", 4);
    assert_int_equal(mset->key_first, 1);
    assert_int_equal(mset->key_last, -1);
    assert_int_equal(mset->key_step, 2);
    assert_int_equal(kv_command_find("get", 3)->kind, KV_COMMAND_READ);
    assert_null(kv_command_find("ping", 4));
    assert_null(kv_command_find("raft.advertise", 14)); /* internal: not for clients */
    assert_null(kv_command_find("gets", 3 + 1));
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(kv_command_find(all[i].name, strlen(all[i].name)), &all[i]);
    }
    struct resp_reply r;
    resp_reply_init(&r);
    assert_true(kv_command_check_arity(kv_command_find("del", 3), 5, &r));
    assert_false(kv_command_check_arity(kv_command_find("get", 3), 3, &r));
    char *got = kvt_take(&r);
    assert_string_equal(got, "-ERR wrong number of arguments for 'get' command\r\n");
    free(got);
}

static void test_commands_unknown_in_entry(void **state)
{
    struct kv_store *s = *state;
    /* A read runs in an entry too (a MULTI mixing reads and writes), arity checked. */
    KVT_W(s, T0, "GET k", "$-1\r\n");
    KVT_W(s, T0, "GET k extra", "-ERR wrong number of arguments for 'get' command\r\n");
    KVT_W(s, T0, "bogus", "-ERR unknown command 'bogus', with args beginning with: \r\n");
    KVT_W(s, T0, "multi", "-ERR unknown command 'multi', with args beginning with: \r\n");
}

/* Entries are applied with the leader's time only: two stores applying the same entries at
 * different wall clocks give the same replies and hold the same keys. */
static void test_commands_expiry_is_deterministic(void **state)
{
    (void)state;
    static const char *const script[] = {
        "SET a 1 PX 100", "SET b 2 EX 1", "SET c 3",      "PEXPIRE c 250", "INCR a",
        "APPEND b x",     "SET d 4 PX 1", "MSET e 5 f 6", "EXPIRE e 1",    "PERSIST f",
    };
    struct kv_store *x = kv_store_create();
    struct kv_store *y = kv_store_create();
    uint64_t now = T0;
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof script / sizeof script[0]; i++) {
            now += 37;
            char *rx = kvt_apply(x, now, script[i]);
            char *ry = kvt_apply(y, now, script[i]);
            assert_string_equal(rx, ry);
            free(rx);
            free(ry);
        }
        /* Reads at different wall clocks but past the entries' time agree on what a write saw
         * expire. */
        char *gx = kvt_read(x, now, "MGET a b c d e f");
        char *gy = kvt_read(y, now - 1000, "MGET a b c d e f");
        assert_string_equal(gx, gy);
        free(gx);
        free(gy);
    }
    KVT_R(x, 0, "DBSIZE", ":5\r\n"); /* a b c e f; d expired */
    KVT_R(y, 0, "DBSIZE", ":5\r\n");
    kv_store_destroy(x);
    kv_store_destroy(y);
}

/* A leader whose clock is behind cannot bring an expired key back. */
static void test_commands_store_time_never_goes_back(void **state)
{
    struct kv_store *s = *state;
    KVT_W(s, T0, "SET k v PX 100", "+OK\r\n");
    KVT_W(s, T0 + 200, "SET other v", "+OK\r\n");
    KVT_W(s, T0 + 50, "SETNX k w", ":1\r\n");
    KVT_R(s, T0 + 50, "PTTL k", ":-1\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commands_set_get_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commands_set_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commands_set_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commands_getset_setnx_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commands_incr_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commands_mset_and_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commands_flushdb, setup, teardown),
        cmocka_unit_test(test_commands_table),
        cmocka_unit_test_setup_teardown(test_commands_unknown_in_entry, setup, teardown),
        cmocka_unit_test(test_commands_expiry_is_deterministic),
        cmocka_unit_test_setup_teardown(test_commands_store_time_never_goes_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
