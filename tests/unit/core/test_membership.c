/* Unit tests of voter sets and majority arithmetic (src/core/membership.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/membership.h"

static void test_membership_quorum_sizes_1_to_7(void **state)
{
    (void)state;
    const unsigned expect[] = {0, 1, 2, 2, 3, 3, 4, 4};
    craft_id ids[7] = {1, 2, 3, 4, 5, 6, 7};
    for (unsigned n = 1; n <= 7; n++) {
        struct membership m;
        assert_int_equal(membership_init(&m, ids, n), 0);
        assert_int_equal(m.n_voters, n);
        assert_int_equal(membership_quorum(&m), expect[n]);
    }
}

static void test_membership_sorts_and_finds_slots(void **state)
{
    (void)state;
    craft_id ids[] = {30, 10, 20};
    struct membership m;
    assert_int_equal(membership_init(&m, ids, 3), 0);
    assert_int_equal(m.voters[0], 10);
    assert_int_equal(m.voters[2], 30);
    assert_int_equal(membership_slot(&m, 20), 1);
    assert_int_equal(membership_slot(&m, 40), -1);
    assert_true(membership_is_voter(&m, 30));
    assert_false(membership_is_voter(&m, 31));
}

static void test_membership_quorum_index(void **state)
{
    (void)state;
    craft_id ids[7] = {1, 2, 3, 4, 5, 6, 7};
    struct membership m;
    assert_int_equal(membership_init(&m, ids, 1), 0);
    craft_index one[] = {9};
    assert_int_equal(membership_quorum_index(&m, one), 9);

    assert_int_equal(membership_init(&m, ids, 3), 0);
    craft_index three[] = {5, 9, 7};
    assert_int_equal(membership_quorum_index(&m, three), 7);

    assert_int_equal(membership_init(&m, ids, 4), 0);
    craft_index four[] = {10, 1, 8, 4}; /* quorum 3: the third highest */
    assert_int_equal(membership_quorum_index(&m, four), 4);

    assert_int_equal(membership_init(&m, ids, 5), 0);
    craft_index five[] = {0, 0, 3, 100, 2};
    assert_int_equal(membership_quorum_index(&m, five), 2);

    assert_int_equal(membership_init(&m, ids, 7), 0);
    craft_index seven[] = {7, 6, 5, 4, 3, 2, 1};
    assert_int_equal(membership_quorum_index(&m, seven), 4);
    craft_index same[] = {3, 3, 3, 3, 3, 3, 3};
    assert_int_equal(membership_quorum_index(&m, same), 3);
}

static void test_membership_rejects_bad_sets(void **state)
{
    (void)state;
    struct membership m;
    craft_id dup[] = {1, 2, 1};
    assert_int_equal(membership_init(&m, dup, 3), CRAFT_EINVAL);
    craft_id zero[] = {1, CRAFT_ID_NONE};
    assert_int_equal(membership_init(&m, zero, 2), CRAFT_EINVAL);
    craft_id many[CRAFT_VOTERS_MAX + 1];
    for (unsigned i = 0; i <= CRAFT_VOTERS_MAX; i++) {
        many[i] = i + 1;
    }
    assert_int_equal(membership_init(&m, many, CRAFT_VOTERS_MAX + 1), CRAFT_EINVAL);
    assert_int_equal(membership_init(&m, many, CRAFT_VOTERS_MAX), 0);
    assert_int_equal(membership_init(&m, many, 0), CRAFT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_membership_quorum_sizes_1_to_7),
        cmocka_unit_test(test_membership_sorts_and_finds_slots),
        cmocka_unit_test(test_membership_quorum_index),
        cmocka_unit_test(test_membership_rejects_bad_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
