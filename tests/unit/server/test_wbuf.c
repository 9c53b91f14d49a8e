/* Unit tests for the double write buffer: appends wait while a write is in flight, the next
 * write takes them whole and in order, and big idle buffers are given back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/wbuf.h"

static void test_wbuf_swaps_in_order(void **state)
{
    (void)state;
    struct wbuf b;
    uv_buf_t buf;
    wbuf_init(&b);
    assert_false(wbuf_take(&b, &buf)); /* nothing waits */
    assert_true(wbuf_append(&b, "abc", 3));
    assert_true(wbuf_take(&b, &buf));
    assert_int_equal(buf.len, 3);
    assert_memory_equal(buf.base, "abc", 3);
    /* While it is written, appends wait and no second write starts. */
    assert_true(wbuf_append(&b, "de", 2));
    assert_true(wbuf_append(&b, "f", 1));
    assert_false(wbuf_take(&b, &buf));
    assert_int_equal(wbuf_pending(&b), 6);
    wbuf_written(&b, 1024);
    assert_int_equal(wbuf_pending(&b), 3);
    assert_true(wbuf_take(&b, &buf));
    assert_int_equal(buf.len, 3);
    assert_memory_equal(buf.base, "def", 3);
    wbuf_written(&b, 1024);
    assert_int_equal(wbuf_pending(&b), 0);
    wbuf_close(&b);
}

static void test_wbuf_truncate_and_give_back(void **state)
{
    (void)state;
    struct wbuf b;
    uv_buf_t buf;
    static char big[8192];
    wbuf_init(&b);
    assert_true(wbuf_append(&b, "keep", 4));
    size_t mark = b.out_len;
    assert_true(wbuf_append(&b, "drop", 4));
    wbuf_truncate(&b, mark);
    assert_int_equal(wbuf_pending(&b), 4);
    assert_true(wbuf_append(&b, big, sizeof big));
    assert_true(wbuf_take(&b, &buf));
    assert_int_equal(buf.len, 4 + sizeof big);
    wbuf_written(&b, 1024); /* a flight buffer past 1 KiB is freed */
    assert_null(b.flight);
    assert_int_equal(b.flight_cap, 0);
    wbuf_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wbuf_swaps_in_order),
        cmocka_unit_test(test_wbuf_truncate_and_give_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
