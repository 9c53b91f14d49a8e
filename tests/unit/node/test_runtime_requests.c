/* The request table: cookies name one request each, a stale cookie finds nothing, the table is
 * bounded, and a shutdown ends every request once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/runtime.h"

struct calls {
    unsigned n;
    int last_status;
};

static void on_result(void *arg, const struct craft_result *r)
{
    struct calls *c = arg;
    c->n++;
    c->last_status = r->status;
}

static void test_runtime_requests_cookies_are_unique_and_single_use(void **state)
{
    (void)state;
    struct rt_requests t;
    struct calls calls = {0};
    struct rt_req req = {.kind = RT_REQ_PROPOSE, .cb = on_result, .arg = &calls};
    uint64_t a;
    uint64_t b;
    rt_requests_init(&t);
    assert_int_equal(rt_requests_add(&t, &req, &a), 0);
    assert_int_equal(rt_requests_add(&t, &req, &b), 0);
    assert_true(a != 0);
    assert_true(b != 0);
    assert_true(a != b);
    assert_int_equal(rt_requests_count(&t), 2);

    struct rt_req got;
    assert_true(rt_requests_take(&t, a, &got));
    assert_ptr_equal(got.arg, &calls);
    assert_false(rt_requests_take(&t, a, &got)); /* once only */
    /* The slot is reused with a new generation: the old cookie still finds nothing. */
    uint64_t c;
    assert_int_equal(rt_requests_add(&t, &req, &c), 0);
    assert_true(c != a);
    assert_false(rt_requests_take(&t, a, &got));
    assert_false(rt_requests_take(&t, 0, &got));
    assert_false(rt_requests_take(&t, (uint64_t)1 << 40 | 99999, &got));

    rt_requests_fail_all(&t, CRAFT_ESHUTDOWN);
    assert_int_equal(calls.n, 2);
    assert_int_equal(calls.last_status, CRAFT_ESHUTDOWN);
    assert_int_equal(rt_requests_count(&t), 0);
    assert_false(rt_requests_take(&t, b, &got));
    rt_requests_close(&t);
}

static void test_runtime_requests_table_is_bounded(void **state)
{
    (void)state;
    struct rt_requests t;
    struct calls calls = {0};
    struct rt_req req = {.kind = RT_REQ_READ, .cb = on_result, .arg = &calls};
    uint64_t cookie;
    rt_requests_init(&t);
    for (unsigned i = 0; i < RT_PENDING_MAX; i++) {
        assert_int_equal(rt_requests_add(&t, &req, &cookie), 0);
    }
    assert_int_equal(rt_requests_add(&t, &req, &cookie), CRAFT_EBUSY);
    struct rt_req got;
    assert_true(rt_requests_take(&t, cookie, &got));
    assert_int_equal(rt_requests_add(&t, &req, &cookie), 0);
    rt_requests_fail_all(&t, CRAFT_ESHUTDOWN);
    assert_int_equal(calls.n, RT_PENDING_MAX);
    rt_requests_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_requests_cookies_are_unique_and_single_use),
        cmocka_unit_test(test_runtime_requests_table_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
