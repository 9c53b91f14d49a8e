/* The CONFIG entry format and membership checks (src/core/config.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"

static struct craft_membership joint_with_learners(void)
{
    struct craft_membership m = {.voters = {1, 2, 4}, .n_voters = 3,
                                 .voters_old = {1, 2, 3}, .n_voters_old = 3,
                                 .learners = {9, 10}, .n_learners = 2};
    return m;
}

static void test_config_round_trip(void **state)
{
    (void)state;
    struct craft_membership m = joint_with_learners();
    unsigned char buf[CONFIG_BYTES_MAX];
    size_t len = config_encode(&m, buf);
    assert_int_equal(len, CONFIG_HEADER_BYTES + 8 * 8);
    struct craft_membership back;
    assert_int_equal(config_decode(buf, len, &back), 0);
    assert_true(config_equal(&m, &back));
    assert_true(config_is_joint(&back));
    assert_true(config_has_voter(&back, 3)); /* old half */
    assert_true(config_has_voter(&back, 4)); /* new half */
    assert_false(config_has_voter(&back, 9));
    assert_true(config_has_learner(&back, 9));
    assert_true(config_has_member(&back, 10));
    assert_false(config_has_member(&back, 5));
}

static void test_config_decode_rejects_malformed(void **state)
{
    (void)state;
    struct craft_membership m = joint_with_learners();
    unsigned char buf[CONFIG_BYTES_MAX];
    size_t len = config_encode(&m, buf);
    struct craft_membership out;
    assert_int_equal(config_decode(buf, len - 1, &out), CRAFT_EINVAL); /* short */
    assert_int_equal(config_decode(buf, 3, &out), CRAFT_EINVAL);       /* no header */
    unsigned char bad[CONFIG_BYTES_MAX];
    memcpy(bad, buf, len);
    bad[0] = 2; /* unknown version */
    assert_int_equal(config_decode(bad, len, &out), CRAFT_EINVAL);
    memcpy(bad, buf, len);
    bad[1] = CRAFT_VOTERS_MAX + 1; /* too many voters */
    assert_int_equal(config_decode(bad, len, &out), CRAFT_EINVAL);
    /* A learner that also votes. */
    struct craft_membership both = {.voters = {1, 2}, .n_voters = 2, .learners = {2},
                                    .n_learners = 1};
    assert_false(config_is_valid(&both));
    /* No voters, a duplicate, id 0. */
    struct craft_membership none = {.n_voters = 0};
    assert_false(config_is_valid(&none));
    struct craft_membership dup = {.voters = {3, 3}, .n_voters = 2};
    assert_false(config_is_valid(&dup));
    struct craft_membership zero = {.voters = {0}, .n_voters = 1};
    assert_false(config_is_valid(&zero));
}

static void test_config_rejects_every_bad_list(void **state)
{
    (void)state;
    struct craft_membership m = joint_with_learners();
    assert_true(config_is_valid(&m));
    struct craft_membership bad = m;
    bad.n_voters_old = CRAFT_VOTERS_MAX + 1;
    assert_false(config_is_valid(&bad));
    bad = m;
    bad.n_learners = CRAFT_LEARNERS_MAX + 1;
    assert_false(config_is_valid(&bad));
    bad = m;
    bad.voters_old[1] = bad.voters_old[0]; /* a duplicate in the old half */
    assert_false(config_is_valid(&bad));
    bad = m;
    bad.learners[1] = 0; /* id 0 among the learners */
    assert_false(config_is_valid(&bad));
    bad = m;
    bad.learners[0] = 3; /* a learner that votes in the old half */
    assert_false(config_is_valid(&bad));
    /* Counts in the header beyond the bounds, and a valid-looking but invalid membership. */
    unsigned char buf[CONFIG_BYTES_MAX];
    size_t len = config_encode(&m, buf);
    struct craft_membership out;
    unsigned char copy[CONFIG_BYTES_MAX];
    memcpy(copy, buf, len);
    copy[2] = CRAFT_VOTERS_MAX + 1;
    assert_int_equal(config_decode(copy, len, &out), CRAFT_EINVAL);
    memcpy(copy, buf, len);
    copy[3] = CRAFT_LEARNERS_MAX + 1;
    assert_int_equal(config_decode(copy, len, &out), CRAFT_EINVAL);
    memcpy(copy, buf, len);
    memcpy(copy + CONFIG_HEADER_BYTES + 8 * 7, copy + CONFIG_HEADER_BYTES, 8); /* learner = voter */
    assert_int_equal(config_decode(copy, len, &out), CRAFT_EINVAL);
    /* Equal voters, different old halves. */
    struct craft_membership other = m;
    other.voters_old[2] = 7;
    assert_false(config_equal(&m, &other));
}

static void test_config_equal_ignores_order(void **state)
{
    (void)state;
    struct craft_membership a = {.voters = {1, 2, 3}, .n_voters = 3};
    struct craft_membership b = {.voters = {3, 1, 2}, .n_voters = 3};
    struct craft_membership c = {.voters = {1, 2}, .n_voters = 2};
    assert_true(config_equal(&a, &b));
    assert_false(config_equal(&a, &c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_round_trip),
        cmocka_unit_test(test_config_decode_rejects_malformed),
        cmocka_unit_test(test_config_rejects_every_bad_list),
        cmocka_unit_test(test_config_equal_ignores_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
