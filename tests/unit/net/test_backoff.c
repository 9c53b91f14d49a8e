/* Unit tests for the reconnect delays: capped exponential growth, jitter within bounds, reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/backoff.h"

/* Each delay lies in [ceiling / 2, ceiling]; the ceiling doubles and stops at the cap. */
static void test_backoff_doubles_to_cap_with_jitter(void **state)
{
    (void)state;
    struct prng prng;
    prng_seed(&prng, 42);
    struct backoff b;
    backoff_init(&b, 10, 1000, &prng);
    uint32_t ceiling = 10;
    for (int i = 0; i < 20; i++) {
        uint32_t d = backoff_next(&b);
        assert_true(d >= ceiling - ceiling / 2);
        assert_true(d <= ceiling);
        ceiling = ceiling * 2 > 1000 ? 1000 : ceiling * 2;
    }
    assert_int_equal(b.ms_next, 1000);
}

/* Two generators give different delays: peers that lost each other together spread apart. */
static void test_backoff_jitter_spreads(void **state)
{
    (void)state;
    struct prng p1, p2;
    prng_seed(&p1, 1);
    prng_seed(&p2, 2);
    struct backoff a, b;
    backoff_init(&a, 100, 100000, &p1);
    backoff_init(&b, 100, 100000, &p2);
    int differ = 0;
    for (int i = 0; i < 10; i++) {
        differ += backoff_next(&a) != backoff_next(&b);
    }
    assert_true(differ > 5);
}

/* After a success the delays start again from the minimum. */
static void test_backoff_reset_starts_over(void **state)
{
    (void)state;
    struct prng prng;
    prng_seed(&prng, 7);
    struct backoff b;
    backoff_init(&b, 4, 64, &prng);
    for (int i = 0; i < 10; i++) {
        (void)backoff_next(&b);
    }
    backoff_reset(&b);
    assert_true(backoff_next(&b) <= 4);
    /* min == max: a constant delay window. */
    backoff_init(&b, 1, 1, &prng);
    assert_int_equal(backoff_next(&b), 1);
    assert_int_equal(backoff_next(&b), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_to_cap_with_jitter),
        cmocka_unit_test(test_backoff_jitter_spreads),
        cmocka_unit_test(test_backoff_reset_starts_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
