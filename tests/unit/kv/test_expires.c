/* Unit tests for the count of keys with an expiry (kv_store_expires): after random sequences of
 * every write, delete, overwrite, PERSIST, FLUSHDB, expiry sweep, snapshot restore and rollback,
 * the debug check kv_table_check recounts the table and must agree; and the sweep does no work
 * while no key has an expiry. */
#include "kv_test.h"

#include "kv/kv_internal.h"
#include "util/alloc.h"

#define N_KEYS 8

static uint64_t rng_next(uint64_t *x)
{
    /* xorshift64*: a fixed seed per run, so a failure replays. */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545f4914f6cdd1dull;
}

static unsigned pick(uint64_t *x, unsigned n)
{
    return (unsigned)(rng_next(x) % n);
}

/* One random command into line (len bytes) at store time now. */
static void random_command(uint64_t *x, uint64_t now, char *line, size_t len)
{
    unsigned k = pick(x, N_KEYS), k2 = pick(x, N_KEYS);
    unsigned ttl = 1 + pick(x, 60);
    switch (pick(x, 22)) {
    case 0:
    case 1:
        snprintf(line, len, "SET k%u v", k);
        break;
    case 2:
    case 3:
        snprintf(line, len, "SET k%u v PX %u", k, ttl);
        break;
    case 4:
        snprintf(line, len, "SET k%u w KEEPTTL", k);
        break;
    case 5:
        /* An absolute expiry, now and then already past (the key goes at once). */
        snprintf(line, len, "SET k%u v PXAT %llu", k,
                 (unsigned long long)(pick(x, 2) ? now + ttl : now - ttl));
        break;
    case 6:
        snprintf(line, len, "SET k%u v NX PX %u", k, ttl);
        break;
    case 7:
        snprintf(line, len, "SET k%u v XX GET", k);
        break;
    case 8:
        snprintf(line, len, "GETSET k%u g", k);
        break;
    case 9:
        snprintf(line, len, "SETNX k%u n", k);
        break;
    case 10:
        snprintf(line, len, "DEL k%u k%u", k, k2);
        break;
    case 11:
        snprintf(line, len, "APPEND k%u a", k);
        break;
    case 12:
        snprintf(line, len, "INCR c%u", k);
        break;
    case 13:
        snprintf(line, len, "PEXPIRE c%u %u", k, ttl);
        break;
    case 14:
        /* Negative: the key is deleted. */
        snprintf(line, len, "PEXPIRE k%u %d", k, (int)ttl - 20);
        break;
    case 15:
        snprintf(line, len, "EXPIRE k%u 1 %s", k, pick(x, 2) ? "GT" : "NX");
        break;
    case 16:
    case 17:
        snprintf(line, len, "PERSIST k%u", k);
        break;
    case 18:
        snprintf(line, len, "MSET k%u m k%u m", k, k2);
        break;
    case 19:
        snprintf(line, len, pick(x, 8) == 0 ? "FLUSHDB" : "GET k%u", k);
        break;
    case 20:
        snprintf(line, len, "INCRBY k%u 2", k);
        break;
    default:
        snprintf(line, len, "PTTL k%u", k);
        break;
    }
}

/* Applies one random entry of 1-4 commands; with fail >= 0 the fail-th allocation fails
 * (the entry then either applies or is rolled back whole). */
static void random_entry(struct kv_store *s, uint64_t *x, uint64_t now, long fail)
{
    struct kv_entry e;
    struct resp_reply r;
    unsigned n = 1 + pick(x, 4);
    kv_entry_init(&e);
    assert_int_equal(kv_entry_begin(&e, now, 0, 0, pick(x, 2) == 0), 0);
    for (unsigned i = 0; i < n; i++) {
        char line[96];
        struct kvt_cmd c;
        random_command(x, now, line, sizeof line);
        kvt_split(&c, line);
        assert_int_equal(kv_entry_add(&e, c.argc, c.argv, c.lens), 0);
    }
    resp_reply_init(&r);
    if (fail >= 0) {
        alloc_fail_after(fail);
    }
    int rv = kv_apply(s, e.data, e.len, &r);
    alloc_fail_reset();
    assert_true(rv == 0 || (fail >= 0 && rv == CRAFT_ENOMEM));
    resp_reply_close(&r);
    kv_entry_close(&e);
}

/* Restores s from its own snapshot (the table rebuilt from records). */
static void restore_self(struct kv_store *s)
{
    struct kvt_buf b = {0};
    assert_int_equal(kv_snapshot_save(s, kvt_buf_write, &b), 0);
    assert_int_equal(kv_snapshot_restore(s, kvt_buf_read, &b), 0);
    free(b.data);
}

static void test_expires_count_exact_under_random_operations(void **state)
{
    (void)state;
    uint64_t seen_max = 0, zero_after_some = 0, rollbacks_checked = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint64_t x = seed * 0x9e3779b97f4a7c15ull;
        struct kv_store *s = kv_store_create();
        assert_non_null(s);
        uint64_t now = 1000;
        for (int step = 0; step < 400; step++) {
            now += pick(&x, 12); /* keys expire, and the sweep removes some after each entry */
            unsigned what = pick(&x, 40);
            if (what == 0) {
                restore_self(s);
            } else if (what < 5) {
                random_entry(s, &x, now, (long)pick(&x, 6));
                rollbacks_checked++;
            } else {
                random_entry(s, &x, now, -1);
            }
            assert_true(kv_table_check(&s->t));
            uint64_t n = kv_store_expires(s);
            assert_true(n <= kv_store_size(s));
            seen_max = n > seen_max ? n : seen_max;
            zero_after_some += n == 0 && seen_max > 0 ? 1 : 0;
        }
        kv_store_destroy(s);
    }
    /* The sequences did reach many keys with expiries, and none again. */
    assert_true(seen_max >= 4);
    assert_true(zero_after_some > 0);
    assert_true(rollbacks_checked > 100);
}

/* The count by hand through each path, and INFO's arithmetic: live keys with an expiry are the
 * count less the keys held but expired. */
static void test_expires_count_each_path(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    KVT_W(s, 100, "SET a 1", "+OK\r\n");
    assert_int_equal(kv_store_expires(s), 0);
    KVT_W(s, 100, "SET b 1 PX 50", "+OK\r\n");
    KVT_W(s, 100, "PEXPIRE a 500", ":1\r\n");
    assert_int_equal(kv_store_expires(s), 2);
    KVT_W(s, 100, "PEXPIRE a 600", ":1\r\n"); /* a new expiry on a key that had one */
    assert_int_equal(kv_store_expires(s), 2);
    KVT_W(s, 100, "SET a 2", "+OK\r\n"); /* an overwrite drops the expiry */
    assert_int_equal(kv_store_expires(s), 1);
    KVT_W(s, 100, "SET b 2 KEEPTTL", "+OK\r\n");
    assert_int_equal(kv_store_expires(s), 1);
    KVT_W(s, 100, "PERSIST b", ":1\r\n");
    assert_int_equal(kv_store_expires(s), 0);
    KVT_W(s, 100, "SET c 1 PX 10", "+OK\r\n");
    KVT_W(s, 100, "DEL c", ":1\r\n");
    assert_int_equal(kv_store_expires(s), 0);
    KVT_W(s, 100, "MSET c 1 d 1", "+OK\r\n");
    KVT_W(s, 100, "PEXPIRE c 10", ":1\r\n");
    KVT_W(s, 100, "PEXPIRE d 10", ":1\r\n");
    assert_int_equal(kv_store_expires(s), 2);
    KVT_W(s, 100, "FLUSHDB", "+OK\r\n");
    assert_int_equal(kv_store_expires(s), 0);
    /* A FLUSHDB rolled back brings the old table's count back with it. */
    KVT_W(s, 100, "SET c 1 PX 10", "+OK\r\n");
    struct kv_entry e;
    struct resp_reply r;
    kvt_entry(&e, 100, 0, 0, "FLUSHDB");
    resp_reply_init(&r);
    alloc_fail_after(1);
    assert_int_equal(kv_apply(s, e.data, e.len, &r), CRAFT_ENOMEM);
    alloc_fail_reset();
    resp_reply_close(&r);
    kv_entry_close(&e);
    assert_int_equal(kv_store_expires(s), 1);
    assert_true(kv_table_check(&s->t));
    /* Expired and still held (no entry has run since): counted until the sweep or a write
     * removes it, and INFO's live figure (count less the held keys not live) says 0. */
    KVT_R(s, 200, "DBSIZE", ":0\r\n");
    assert_int_equal(kv_store_size(s), 1);
    assert_int_equal(kv_store_expires(s), 1);
    assert_true(kv_table_check(&s->t));
    kv_store_destroy(s);
}

/* The sweep visits no bucket while no key has an expiry (its cursor stays put), and still
 * removes expired keys once some have one. */
static void test_expires_sweep_idle_without_ttls(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    char line[64];
    for (int i = 0; i < 200; i++) {
        snprintf(line, sizeof line, "SET key:%d v", i);
        free(kvt_apply(s, 100, line));
    }
    assert_int_equal(s->sweep_pos, 0);
    KVT_W(s, 100, "SET t v PX 5", "+OK\r\n");
    assert_true(s->sweep_pos != 0); /* one key with an expiry: the sweep walks again */
    /* Expired: entries at later times sweep it out, and the count follows. */
    uint64_t now = 200;
    while (kv_store_size(s) > 200) {
        KVT_W(s, now++, "SET key:0 v", "+OK\r\n");
        assert_true(now < 200 + 256 / 16 + 2); /* 256 buckets, 16 per entry */
    }
    assert_int_equal(kv_store_expires(s), 0);
    uint64_t pos = s->sweep_pos;
    KVT_W(s, now, "SET key:1 w", "+OK\r\n");
    assert_int_equal(s->sweep_pos, pos);
    assert_true(kv_table_check(&s->t));
    kv_store_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expires_count_exact_under_random_operations),
        cmocka_unit_test(test_expires_count_each_path),
        cmocka_unit_test(test_expires_sweep_idle_without_ttls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
