/* Unit tests for glob matching (Redis's stringmatchlen) and KEYS / SCAN over it, and the
 * SCAN cursor's guarantee across table resizes. */
#include "kv_test.h"

#include "kv/kv_internal.h"

static bool m(const char *pat, const char *s)
{
    return kv_glob_match(pat, strlen(pat), s, strlen(s));
}

static void test_glob_patterns(void **state)
{
    (void)state;
    assert_true(m("*", "anything"));
    assert_true(m("*", ""));
    assert_true(m("h?llo", "hello"));
    assert_false(m("h?llo", "hllo"));
    assert_true(m("h*llo", "hllo"));
    assert_true(m("h*llo", "heeeello"));
    assert_true(m("h[ae]llo", "hallo"));
    assert_false(m("h[ae]llo", "hillo"));
    assert_true(m("h[^e]llo", "hallo"));
    assert_false(m("h[^e]llo", "hello"));
    assert_true(m("h[a-b]llo", "hbllo"));
    assert_true(m("h[b-a]llo", "hallo")); /* reversed range, as Redis */
    assert_false(m("h[a-b]llo", "hcllo"));
    assert_true(m("h\\*llo", "h*llo"));
    assert_false(m("h\\*llo", "hello"));
    assert_true(m("h[\\]]llo", "h]llo"));
    assert_true(m("a*b*c", "aXbYc"));
    assert_false(m("a*b*c", "aXbY"));
    assert_true(m("*x", "abcx"));
    assert_false(m("", "a"));
    assert_true(m("", ""));
    assert_true(m("ab**", "ab"));
    assert_true(m("[abc", "c")); /* an unclosed class ends the pattern */
    assert_false(m("[abc", "cd"));
    assert_true(m("a\\", "a\\"));
    /* Binary: a NUL inside key and pattern. */
    assert_true(kv_glob_match("a\0?", 3, "a\0b", 3));
    assert_false(kv_glob_match("a\0?", 3, "a\1b", 3));
}

static void test_glob_keys(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    KVT_W(s, 1, "MSET hello 1 hallo 2 hxllo 3 other 4", "+OK\r\n");
    KVT_W(s, 1, "SET hullo 5 PX 1", "+OK\r\n");
    char *got = kvt_read(s, 10, "KEYS h[ae]llo");
    assert_int_equal(strncmp(got, "*2\r\n", 4), 0);
    assert_non_null(strstr(got, "$5\r\nhello\r\n"));
    assert_non_null(strstr(got, "$5\r\nhallo\r\n"));
    free(got);
    got = kvt_read(s, 10, "KEYS *");
    assert_int_equal(strncmp(got, "*4\r\n", 4), 0); /* hullo expired */
    assert_null(strstr(got, "hullo"));
    free(got);
    KVT_R(s, 10, "KEYS nomatch*", "*0\r\n");
    kv_store_destroy(s);
}

/* Runs SCAN from cursor 0 to 0, counting how often each of n keys "k<i>" is returned; between
 * calls, step(i) may change the store. */
static void scan_all(struct kv_store *s, int n, int *seen, const char *extra,
                     void (*step)(struct kv_store *, int))
{
    char line[128];
    char cursor[32] = "0";
    int calls = 0;
    do {
        snprintf(line, sizeof line, "SCAN %s%s", cursor, extra);
        char *got = kvt_read(s, 1, line);
        /* *2\r\n$<len>\r\n<cursor>\r\n*<n>\r\n then bulk keys */
        char *p = strchr(got + 4, '\n') + 1;
        char *e = strchr(p, '\r');
        memcpy(cursor, p, (size_t)(e - p));
        cursor[e - p] = '\0';
        p = strchr(e + 2, '\n') + 1;
        while (*p == '$') {
            p = strchr(p, '\n') + 1;
            int k = atoi(p + 1);
            assert_true(p[0] == 'k');
            assert_true(k >= 0 && k < n);
            seen[k]++;
            p = strchr(p, '\n') + 1;
        }
        free(got);
        if (step != NULL) {
            step(s, calls);
        }
        calls++;
        assert_true(calls < 100000);
    } while (strcmp(cursor, "0") != 0);
}

static void insert_more(struct kv_store *s, int call)
{
    /* Keys the walk need not return, added in bulk: the table doubles several times. */
    char line[64];
    for (int i = 0; i < 40; i++) {
        snprintf(line, sizeof line, "SET x%d_%d v", call, i);
        KVT_W(s, 1, line, "+OK\r\n");
    }
}

static void test_glob_scan_complete_across_resizes(void **state)
{
    (void)state;
    enum { N = 300 };
    struct kv_store *s = kv_store_create();
    char line[64];
    for (int i = 0; i < N; i++) {
        snprintf(line, sizeof line, "SET k%d v", i);
        KVT_W(s, 1, line, "+OK\r\n");
    }
    int seen[N] = {0};
    scan_all(s, N, seen, " MATCH k* COUNT 7", insert_more);
    for (int i = 0; i < N; i++) {
        assert_true(seen[i] >= 1);
    }
    assert_true(kv_store_size(s) > 2000); /* it did grow during the walk */
    /* A still table: every key exactly once. */
    KVT_W(s, 1, "FLUSHDB", "+OK\r\n");
    for (int i = 0; i < N; i++) {
        snprintf(line, sizeof line, "SET k%d v", i);
        KVT_W(s, 1, line, "+OK\r\n");
    }
    int once[N] = {0};
    scan_all(s, N, once, "", NULL);
    for (int i = 0; i < N; i++) {
        assert_int_equal(once[i], 1);
    }
    kv_store_destroy(s);
}

static void test_glob_scan_errors(void **state)
{
    (void)state;
    struct kv_store *s = kv_store_create();
    KVT_R(s, 1, "SCAN x", "-ERR invalid cursor\r\n");
    KVT_R(s, 1, "SCAN -1", "-ERR invalid cursor\r\n");
    KVT_R(s, 1, "SCAN 0 COUNT 0", "-ERR syntax error\r\n");
    KVT_R(s, 1, "SCAN 0 COUNT x", "-ERR value is not an integer or out of range\r\n");
    KVT_R(s, 1, "SCAN 0 MATCH", "-ERR syntax error\r\n");
    KVT_R(s, 1, "SCAN 0 FOO bar", "-ERR syntax error\r\n");
    KVT_R(s, 1, "SCAN 0", "*2\r\n$1\r\n0\r\n*0\r\n");
    KVT_W(s, 1, "SET a b", "+OK\r\n");
    KVT_R(s, 1, "SCAN 0 TYPE hash", "*2\r\n$1\r\n0\r\n*0\r\n");
    KVT_R(s, 1, "SCAN 0 TYPE string", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n");
    kv_store_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_patterns),
        cmocka_unit_test(test_glob_keys),
        cmocka_unit_test(test_glob_scan_complete_across_resizes),
        cmocka_unit_test(test_glob_scan_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
