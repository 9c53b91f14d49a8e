/* Unit tests for the RESP2 reply builder: each type's bytes, and the sticky failure. */
#include "kv_test.h"

#include "util/alloc.h"

static void test_resp_reply_types(void **state)
{
    (void)state;
    struct resp_reply r;
    resp_reply_init(&r);
    resp_reply_simple(&r, "OK");
    resp_reply_error(&r, "ERR bad\r\nthing");
    resp_reply_errorf(&r, "ERR %s %d", "x", 7);
    resp_reply_integer(&r, -42);
    resp_reply_integer(&r, INT64_MIN);
    resp_reply_bulk(&r, "a\0b", 3);
    resp_reply_bulk_cstr(&r, "");
    resp_reply_null(&r);
    resp_reply_null_array(&r);
    resp_reply_array(&r, 2);
    resp_reply_raw(&r, ":1\r\n", 4);
    static const char want[] = "+OK\r\n-ERR bad  thing\r\n-ERR x 7\r\n:-42\r\n"
                               ":-9223372036854775808\r\n$3\r\na\0b\r\n$0\r\n\r\n$-1\r\n*-1\r\n"
                               "*2\r\n:1\r\n";
    assert_int_equal(r.len, sizeof want - 1);
    assert_memory_equal(r.data, want, sizeof want - 1);
    resp_reply_clear(&r);
    assert_int_equal(r.len, 0);
    resp_reply_integer(&r, 5);
    assert_memory_equal(r.data, ":5\r\n", 4);
    resp_reply_close(&r);
}

static void test_resp_reply_failure_is_sticky(void **state)
{
    (void)state;
    struct resp_reply r;
    resp_reply_init(&r);
    alloc_fail_after(0);
    resp_reply_simple(&r, "OK");
    alloc_fail_reset();
    assert_true(resp_reply_failed(&r));
    resp_reply_integer(&r, 1); /* memory is back, but the reply stays failed */
    assert_true(resp_reply_failed(&r));
    assert_int_equal(r.len, 0);
    resp_reply_clear(&r);
    assert_false(resp_reply_failed(&r));
    resp_reply_integer(&r, 1);
    assert_memory_equal(r.data, ":1\r\n", 4);
    resp_reply_close(&r);
}

static void test_resp_reply_grows(void **state)
{
    (void)state;
    struct resp_reply r;
    char big[10000];
    memset(big, 'x', sizeof big);
    resp_reply_init(&r);
    for (int i = 0; i < 10; i++) {
        resp_reply_bulk(&r, big, sizeof big);
    }
    assert_false(resp_reply_failed(&r));
    assert_int_equal(r.len, 10 * (sizeof big + 10)); /* "$10000\r\n" and "\r\n" */
    assert_memory_equal(r.data, "$10000\r\nxxx", 11);
    resp_reply_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_reply_types),
        cmocka_unit_test(test_resp_reply_failure_is_sticky),
        cmocka_unit_test(test_resp_reply_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
