/* Unit tests for the allocation wrappers and their fail-the-N-th-allocation hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/alloc.h"

static int reset_hook(void **state)
{
    (void)state;
    alloc_fail_reset();
    return 0;
}

static void test_alloc_succeeds_without_hook(void **state)
{
    void *p;
    void *q;

    (void)state;
    p = craft_malloc(16);
    assert_non_null(p);
    q = craft_calloc(4, 8);
    assert_non_null(q);
    for (size_t i = 0; i < 32; i++) {
        assert_int_equal(((unsigned char *)q)[i], 0);
    }
    p = craft_realloc(p, 4096);
    assert_non_null(p);
    craft_free(p);
    craft_free(q);
}

/* alloc_fail_after(n): allocations 1..n succeed, the (n+1)-th fails. */
static void test_alloc_fail_after_fails_exactly_the_next_one(void **state)
{
    (void)state;
    for (long n = 0; n < 5; n++) {
        void *ok[5];

        alloc_fail_after(n);
        for (long i = 0; i < n; i++) {
            ok[i] = craft_malloc(8);
            assert_non_null(ok[i]);
        }
        assert_null(craft_malloc(8));
        for (long i = 0; i < n; i++) {
            craft_free(ok[i]);
        }
        alloc_fail_reset();
    }
}

static void test_alloc_fail_after_keeps_failing(void **state)
{
    (void)state;
    alloc_fail_after(0);
    assert_null(craft_malloc(1));
    assert_null(craft_malloc(1));
    assert_null(craft_calloc(1, 1));
}

/* calloc and realloc count against the same budget as malloc. */
static void test_alloc_fail_after_counts_every_wrapper(void **state)
{
    void *a;
    void *b;

    (void)state;
    alloc_fail_after(2);
    a = craft_calloc(2, 8);
    assert_non_null(a);
    a = craft_realloc(a, 64);
    assert_non_null(a);
    b = craft_realloc(a, 128);
    assert_null(b); /* a failed realloc leaves the old block to its owner */
    craft_free(a);
}

static void test_alloc_reset_restores(void **state)
{
    void *p;

    (void)state;
    alloc_fail_after(0);
    assert_null(craft_malloc(8));
    alloc_fail_reset();
    for (int i = 0; i < 100; i++) {
        p = craft_malloc(8);
        assert_non_null(p);
        craft_free(p);
    }
}

static void test_alloc_grow_doubles_and_keeps_on_failure(void **state)
{
    (void)state;
    int *arr = NULL;
    size_t cap = 0;
    assert_true(craft_grow((void **)&arr, &cap, 20, sizeof *arr));
    assert_int_equal(cap, 32);
    arr[19] = 7;
    assert_true(craft_grow((void **)&arr, &cap, 32, sizeof *arr)); /* already room */
    assert_int_equal(cap, 32);
    alloc_fail_after(0);
    assert_false(craft_grow((void **)&arr, &cap, 33, sizeof *arr));
    alloc_fail_reset();
    assert_int_equal(cap, 32);
    assert_int_equal(arr[19], 7); /* untouched */
    craft_free(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_grow_doubles_and_keeps_on_failure),
        cmocka_unit_test_teardown(test_alloc_succeeds_without_hook, reset_hook),
        cmocka_unit_test_teardown(test_alloc_fail_after_fails_exactly_the_next_one, reset_hook),
        cmocka_unit_test_teardown(test_alloc_fail_after_keeps_failing, reset_hook),
        cmocka_unit_test_teardown(test_alloc_fail_after_counts_every_wrapper, reset_hook),
        cmocka_unit_test_teardown(test_alloc_reset_restores, reset_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
