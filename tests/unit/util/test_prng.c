/* Unit tests for the deterministic generator: reproducibility, bounds and coverage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/prng.h"

#define N_DRAWS 1000

static void test_prng_same_seed_same_sequence(void **state)
{
    struct prng a;
    struct prng b;

    (void)state;
    prng_seed(&a, 12345);
    prng_seed(&b, 12345);
    for (int i = 0; i < N_DRAWS; i++) {
        assert_int_equal(prng_next(&a), prng_next(&b));
    }
}

/* The simulator replays a seed on any machine: the sequence itself is part of the contract. The
 * values are those of the reference splitmix64-seeded xoshiro256**, checked independently. */
static void test_prng_sequence_is_stable(void **state)
{
    static const uint64_t seed_42[] = {
        UINT64_C(0x15780b2e0c2ec716),
        UINT64_C(0x6104d9866d113a7e),
        UINT64_C(0xae17533239e499a1),
    };
    struct prng p;

    (void)state;
    prng_seed(&p, 42);
    for (size_t i = 0; i < sizeof seed_42 / sizeof seed_42[0]; i++) {
        assert_int_equal(prng_next(&p), seed_42[i]);
    }
    /* The first outputs do not yet depend on every state word; the 1000th does. */
    for (int i = 3; i < 999; i++) {
        prng_next(&p);
    }
    assert_int_equal(prng_next(&p), UINT64_C(0x8de5848c61ab8968));
}

static void test_prng_different_seeds_differ(void **state)
{
    const uint64_t seeds[] = {0, 1, 2, 3, UINT64_MAX};
    uint64_t first[5];

    (void)state;
    for (size_t s = 0; s < 5; s++) {
        struct prng p;
        prng_seed(&p, seeds[s]);
        first[s] = prng_next(&p);
    }
    for (size_t a = 0; a < 5; a++) {
        for (size_t b = a + 1; b < 5; b++) {
            assert_int_not_equal(first[a], first[b]);
        }
    }
}

/* Seed 0 must not leave the all-zero state, which would yield zeros forever. */
static void test_prng_seed_zero_is_not_stuck(void **state)
{
    struct prng p;
    int nonzero = 0;

    (void)state;
    prng_seed(&p, 0);
    for (int i = 0; i < 8; i++) {
        nonzero += prng_next(&p) != 0;
    }
    assert_true(nonzero > 0);
}

static void test_prng_below_stays_in_range(void **state)
{
    const uint64_t bounds[] = {1, 2, 3, 7, 1000, (UINT64_C(1) << 63) + 1, UINT64_MAX};
    struct prng p;

    (void)state;
    prng_seed(&p, 7);
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        for (int i = 0; i < N_DRAWS; i++) {
            assert_true(prng_below(&p, bounds[b]) < bounds[b]);
        }
    }
    assert_int_equal(prng_below(&p, 0), 0);
}

static void test_prng_below_covers_small_ranges(void **state)
{
    struct prng p;

    (void)state;
    prng_seed(&p, 99);
    for (uint64_t bound = 1; bound <= 10; bound++) {
        int seen[10] = {0};
        for (int i = 0; i < N_DRAWS; i++) {
            seen[prng_below(&p, bound)] = 1;
        }
        for (uint64_t v = 0; v < bound; v++) {
            assert_true(seen[v]);
        }
    }
}

static void test_prng_below_large_bound_reaches_top_half(void **state)
{
    const uint64_t bound = UINT64_MAX;
    struct prng p;
    int high = 0;

    (void)state;
    prng_seed(&p, 5);
    for (int i = 0; i < 64; i++) {
        high += prng_below(&p, bound) > bound / 2;
    }
    assert_true(high > 0);
    assert_true(high < 64);
}

static void test_prng_range_edge_cases(void **state)
{
    struct prng p;

    (void)state;
    prng_seed(&p, 3);
    assert_int_equal(prng_range(&p, 10, 10), 10); /* empty: lo */
    assert_int_equal(prng_range(&p, 10, 5), 10);  /* inverted: lo */
    assert_int_equal(prng_range(&p, 0, 0), 0);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(prng_range(&p, 10, 11), 10); /* one value */
        assert_true(prng_range(&p, UINT64_MAX - 2, UINT64_MAX) >= UINT64_MAX - 2);
        assert_true(prng_range(&p, UINT64_MAX - 2, UINT64_MAX) < UINT64_MAX);
    }
}

static void test_prng_range_covers_interval(void **state)
{
    struct prng p;
    int seen[4] = {0};

    (void)state;
    prng_seed(&p, 11);
    for (int i = 0; i < N_DRAWS; i++) {
        uint64_t v = prng_range(&p, 150, 154);
        assert_true(v >= 150);
        assert_true(v < 154);
        seen[v - 150] = 1;
    }
    for (int v = 0; v < 4; v++) {
        assert_true(seen[v]);
    }
}

static void test_prng_chance_extremes(void **state)
{
    struct prng p;
    int hits = 0;

    (void)state;
    prng_seed(&p, 17);
    for (int i = 0; i < N_DRAWS; i++) {
        assert_false(prng_chance(&p, 0));
        assert_true(prng_chance(&p, 1000000));
        hits += prng_chance(&p, 500000);
    }
    /* Half the time, give or take far more than any fair generator strays in 1000 draws. */
    assert_true(hits > 350);
    assert_true(hits < 650);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prng_same_seed_same_sequence),
        cmocka_unit_test(test_prng_sequence_is_stable),
        cmocka_unit_test(test_prng_different_seeds_differ),
        cmocka_unit_test(test_prng_seed_zero_is_not_stuck),
        cmocka_unit_test(test_prng_below_stays_in_range),
        cmocka_unit_test(test_prng_below_covers_small_ranges),
        cmocka_unit_test(test_prng_below_large_bound_reaches_top_half),
        cmocka_unit_test(test_prng_range_edge_cases),
        cmocka_unit_test(test_prng_range_covers_interval),
        cmocka_unit_test(test_prng_chance_extremes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
