/* Unit tests for the log entry: its bytes, round trips through kv_apply, multi replies, and
 * that every truncated or corrupted entry is rejected with the store unchanged. */
#include "kv_test.h"

#include "kv/kv_internal.h"
#include "util/byteorder.h"

static void test_entry_bytes(void **state)
{
    (void)state;
    struct kv_entry e;
    const char *argv[] = {"SET", "k", "v"};
    size_t lens[] = {3, 1, 1};
    kv_entry_init(&e);
    assert_int_equal(kv_entry_begin(&e, 0x0102030405060708ull, 7, 9, true), 0);
    assert_int_equal(kv_entry_add(&e, 3, argv, lens), 0);
    static const unsigned char want[] = {
        1, 1, 8, 7, 6, 5, 4, 3, 2, 1, 7, 0, 0,   0,   0,   0, 0, 0, 9, 0,   0, 0, 0, 0, 0,  0,
        1, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 'S', 'E', 'T', 1, 0, 0, 0, 'k', 1, 0, 0, 0, 'v'};
    assert_int_equal(e.len, sizeof want);
    assert_memory_equal(e.data, want, sizeof want);
    assert_int_equal(e.n_commands, 1);
    assert_true(e.multi);
    /* begin restarts it */
    assert_int_equal(kv_entry_begin(&e, 1, 0, 0, false), 0);
    assert_int_equal(e.len, KV_ENTRY_HEADER);
    assert_int_equal(e.n_commands, 0);
    kv_entry_close(&e);
}

/* Binary-safe arguments survive the entry: a key and value with NUL and CR LF bytes. */
static void test_entry_round_trip_binary(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    struct kv_entry e;
    struct resp_reply r;
    const char *set[] = {"set", "k\0\r\n", "v\0\0x"};
    size_t set_lens[] = {3, 4, 4};
    const char *empty[] = {"set", "", ""};
    size_t empty_lens[] = {3, 0, 0};
    kv_entry_init(&e);
    resp_reply_init(&r);
    assert_int_equal(kv_entry_begin(&e, 5, 0, 0, false), 0);
    assert_int_equal(kv_entry_add(&e, 3, set, set_lens), 0);
    assert_int_equal(kv_entry_add(&e, 3, empty, empty_lens), 0);
    assert_int_equal(kv_apply(s, e.data, e.len, &r), 0);
    /* A plain entry of two commands replies with both, one after the other. */
    assert_int_equal(r.len, 10);
    assert_memory_equal(r.data, "+OK\r\n+OK\r\n", 10);
    resp_reply_clear(&r);
    const char *get[] = {"get", "k\0\r\n"};
    size_t get_lens[] = {3, 4};
    kv_read(s, 2, get, get_lens, 5, &r);
    assert_int_equal(r.len, 10);
    assert_memory_equal(r.data, "$4\r\nv\0\0x\r\n", 10);
    resp_reply_clear(&r);
    get_lens[1] = 0;
    kv_read(s, 2, get, get_lens, 5, &r);
    assert_memory_equal(r.data, "$0\r\n\r\n", 6);
    assert_int_equal(kv_store_size(s), 2);
    assert_int_equal(kv_store_bytes(s), 8);
    resp_reply_close(&r);
    kv_entry_close(&e);
    kv_store_destroy(s);
}

static void add_line(struct kv_entry *e, const char *line)
{
    struct kvt_cmd c;
    kvt_split(&c, line);
    assert_int_equal(kv_entry_add(e, c.argc, c.argv, c.lens), 0);
}

/* A multi entry replies with one array; a failing command gives its error, the others run. */
static void test_entry_multi_reply(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    struct kv_entry e;
    struct resp_reply r;
    kv_entry_init(&e);
    assert_int_equal(kv_entry_begin(&e, 5, 0, 0, true), 0);
    add_line(&e, "SET n abc");
    add_line(&e, "INCR n");
    add_line(&e, "SET m 1");
    add_line(&e, "INCR m");
    add_line(&e, "GET m");
    resp_reply_init(&r);
    assert_int_equal(kv_apply(s, e.data, e.len, &r), 0);
    char *got = kvt_take(&r);
    assert_string_equal(got, "*5\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"
                             ":2\r\n$1\r\n2\r\n");
    free(got);
    /* An empty EXEC. */
    assert_int_equal(kv_entry_begin(&e, 5, 0, 0, true), 0);
    resp_reply_init(&r);
    assert_int_equal(kv_apply(s, e.data, e.len, &r), 0);
    got = kvt_take(&r);
    assert_string_equal(got, "*0\r\n");
    free(got);
    kv_entry_close(&e);
    kv_store_destroy(s);
}

/* Applies a multi entry of lines at now_ms; its reply (malloc'd). */
static char *apply_multi(struct kv_store *s, uint64_t now_ms, const char *const *lines, size_t n)
{
    struct kv_entry e;
    struct resp_reply r;
    kv_entry_init(&e);
    assert_int_equal(kv_entry_begin(&e, now_ms, 0, 0, true), 0);
    for (size_t i = 0; i < n; i++) {
        add_line(&e, lines[i]);
    }
    resp_reply_init(&r);
    assert_int_equal(kv_apply(s, e.data, e.len, &r), 0);
    kv_entry_close(&e);
    return kvt_take(&r);
}

/* MULTI mixing reads and writes (Redis: SET k 1; INCR k; GET k gives OK, 2, "2"): each read
 * answers from the store as the entry's earlier commands left it, at the entry's time. */
static void test_entry_mixed_reads_see_earlier_writes(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    static const char *const redis[] = {"SET k 1", "INCR k", "GET k"};
    char *got = apply_multi(s, 5, redis, 3);
    assert_string_equal(got, "*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
    free(got);
    /* Reads before, between and after writes; every read command; an arity error in a read
     * is that command's error only. */
    static const char *const mixed[] = {
        "GET a",  "EXISTS a b", "SET a x",        "MGET a b", "APPEND a yz",  "STRLEN a",
        "TYPE a", "DEL k",      "DBSIZE",         "KEYS *",   "SET b 1 PX 7", "PTTL b",
        "TTL a",  "GET",        "SCAN 0 MATCH b", "FLUSHDB",  "DBSIZE",       "GET a",
    };
    got = apply_multi(s, 10, mixed, sizeof mixed / sizeof mixed[0]);
    assert_string_equal(got, "*18\r\n"
                             "$-1\r\n"                  /* GET a: not yet */
                             ":0\r\n"                   /* EXISTS a b */
                             "+OK\r\n"                  /* SET a x */
                             "*2\r\n$1\r\nx\r\n$-1\r\n" /* MGET a b */
                             ":3\r\n"                   /* APPEND a yz */
                             ":3\r\n"                   /* STRLEN a */
                             "+string\r\n"              /* TYPE a */
                             ":1\r\n"                   /* DEL k */
                             ":1\r\n"                   /* DBSIZE: a alone */
                             "*1\r\n$1\r\na\r\n"        /* KEYS * */
                             "+OK\r\n"                  /* SET b 1 PX 7 */
                             ":7\r\n"                   /* PTTL b, at the entry's time */
                             ":-1\r\n"                  /* TTL a */
                             "-ERR wrong number of arguments for 'get' command\r\n"
                             "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nb\r\n" /* SCAN: the walk ends */
                             "+OK\r\n"                            /* FLUSHDB */
                             ":0\r\n"                             /* DBSIZE */
                             "$-1\r\n");                          /* GET a */
    free(got);
    /* Nothing of the entry is visible in a read outside it but what it left: b was flushed. */
    KVT_R(s, 10, "DBSIZE", ":0\r\n");
    kv_store_destroy(s);
}

/* A read in an entry runs at the entry's store time (the larger of its now_ms and the store's
 * time before), not at a replica's clock: a key whose expiry is <= that time is absent. */
static void test_entry_mixed_read_of_expired_key(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    KVT_W(s, 100, "SET e v PX 50", "+OK\r\n"); /* expires at 150 */
    KVT_W(s, 100, "SET f v PX 51", "+OK\r\n"); /* expires at 151 */
    static const char *const at150[] = {"GET e", "GET f", "EXISTS e f", "PTTL f", "SET g 1"};
    char *got = apply_multi(s, 150, at150, 5);
    assert_string_equal(got, "*5\r\n$-1\r\n$1\r\nv\r\n:1\r\n:1\r\n+OK\r\n");
    free(got);
    /* An entry stamped earlier (another leader's slower clock) still runs at store time 150. */
    static const char *const early[] = {"GET e", "PTTL f", "SET g 2"};
    got = apply_multi(s, 120, early, 3);
    assert_string_equal(got, "*3\r\n$-1\r\n:1\r\n+OK\r\n");
    free(got);
    /* A write in the entry that sets an expiry already past makes the key absent to the read
     * after it (SET ... PXAT in the past deletes). */
    static const char *const past[] = {"SET f w PXAT 10", "GET f", "EXISTS f"};
    got = apply_multi(s, 150, past, 3);
    assert_string_equal(got, "*3\r\n+OK\r\n$-1\r\n:0\r\n");
    free(got);
    kv_store_destroy(s);
}

/* Applies bytes that must be rejected: CRAFT_ECORRUPT, no reply, and the store as before. */
static void assert_rejected(struct kv_store *s, const unsigned char *before, size_t before_len,
                            const void *entry, size_t len)
{
    struct resp_reply r;
    resp_reply_init(&r);
    assert_int_equal(kv_apply(s, entry, len, &r), CRAFT_ECORRUPT);
    assert_int_equal(r.len, 0);
    resp_reply_close(&r);
    kvt_assert_state(s, before, before_len);
}

static void test_entry_every_truncation_rejected(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    struct kv_entry e;
    KVT_W(s, 5, "SET base 1", "+OK\r\n");
    kv_entry_init(&e);
    assert_int_equal(kv_entry_begin(&e, 9, 3, 1, true), 0);
    add_line(&e, "SET a 1");
    add_line(&e, "MSET b 2 c 3");
    add_line(&e, "INCR base");
    size_t before_len;
    unsigned char *before = kvt_dump(s, &before_len);
    for (size_t n = 0; n < e.len; n++) {
        /* A copy of exactly n bytes, so ASan sees any read past the end. */
        unsigned char *cut = malloc(n + 1);
        memcpy(cut, e.data, n);
        assert_rejected(s, before, before_len, cut, n);
        free(cut);
    }
    /* One byte more is corruption too. */
    unsigned char *longer = malloc(e.len + 1);
    memcpy(longer, e.data, e.len);
    longer[e.len] = 0;
    assert_rejected(s, before, before_len, longer, e.len + 1);
    free(longer);
    free(before);
    KVT_R(s, 9, "GET base", "$1\r\n1\r\n");
    kv_entry_close(&e);
    kv_store_destroy(s);
}

/* Every byte flipped: either rejected with nothing changed, or a valid entry (a flip inside an
 * argument's bytes); never a read out of bounds. */
static void test_entry_flipped_bytes(void **state)
{
    (void)state;
    struct kv_entry e;
    kv_entry_init(&e);
    assert_int_equal(kv_entry_begin(&e, 9, 0, 0, false), 0);
    add_line(&e, "SET a 1");
    add_line(&e, "APPEND a 2");
    size_t rejected = 0;
    static const unsigned char masks[] = {0x01, 0x80, 0xff, 0x10};
    for (size_t i = 0; i < e.len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            struct kv_store *s = kv_store_create();
            struct resp_reply r;
            size_t before_len;
            unsigned char *before = kvt_dump(s, &before_len);
            unsigned char *bad = malloc(e.len);
            memcpy(bad, e.data, e.len);
            bad[i] ^= masks[m];
            resp_reply_init(&r);
            int rv = kv_apply(s, bad, e.len, &r);
            resp_reply_close(&r);
            if (rv != 0) {
                assert_int_equal(rv, CRAFT_ECORRUPT);
                assert_rejected(s, before, before_len, bad, e.len);
                rejected++;
            }
            free(bad);
            free(before);
            kv_store_destroy(s);
        }
    }
    /* The version, flags, counts and lengths are all checked (argument bytes are not). */
    assert_true(rejected > 2 * 4 + 4 * 4 * 8);
    kv_entry_close(&e);
}

static void test_entry_bad_header_fields(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    struct kv_entry e;
    size_t before_len;
    unsigned char *before = kvt_dump(s, &before_len);
    kv_entry_init(&e);
    assert_int_equal(kv_entry_begin(&e, 9, 0, 0, false), 0);
    add_line(&e, "SET a 1");
    unsigned char *bad = malloc(e.len);
    memcpy(bad, e.data, e.len);
    bad[0] = 2; /* a version this code does not know */
    assert_rejected(s, before, before_len, bad, e.len);
    memcpy(bad, e.data, e.len);
    bad[1] = 0x02; /* an unknown flag */
    assert_rejected(s, before, before_len, bad, e.len);
    memcpy(bad, e.data, e.len);
    put_u32le(bad + 26, 0); /* a plain entry without commands */
    assert_rejected(s, before, before_len, bad, e.len);
    memcpy(bad, e.data, e.len);
    put_u32le(bad + 30, 0); /* argc 0 */
    assert_rejected(s, before, before_len, bad, e.len);
    memcpy(bad, e.data, e.len);
    put_u32le(bad + 34, 0xffffffffu); /* a length past the end */
    assert_rejected(s, before, before_len, bad, e.len);
    free(bad);
    free(before);
    kv_entry_close(&e);
    kv_store_destroy(s);
}

/* An argument kv_apply would refuse never gets into an entry. */
static void test_entry_argument_too_big(void **state)
{
    (void)state;
    struct kv_entry e;
    const char *argv[] = {"set", "k", "v"};
    size_t lens[] = {3, 1, (size_t)512 * 1024 * 1024 + 1}; /* never read: refused first */
    kv_entry_init(&e);
    assert_int_equal(kv_entry_begin(&e, 1, 0, 0, false), 0);
    assert_int_equal(kv_entry_add(&e, 3, argv, lens), CRAFT_ETOOBIG);
    assert_int_equal(e.len, KV_ENTRY_HEADER);
    assert_int_equal(e.n_commands, 0);
    kv_entry_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_bytes),
        cmocka_unit_test(test_entry_round_trip_binary),
        cmocka_unit_test(test_entry_multi_reply),
        cmocka_unit_test(test_entry_mixed_reads_see_earlier_writes),
        cmocka_unit_test(test_entry_mixed_read_of_expired_key),
        cmocka_unit_test(test_entry_every_truncation_rejected),
        cmocka_unit_test(test_entry_flipped_bytes),
        cmocka_unit_test(test_entry_bad_header_fields),
        cmocka_unit_test(test_entry_argument_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
