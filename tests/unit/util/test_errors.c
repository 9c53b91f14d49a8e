/* Unit tests for the error table: craft_strerror() and craft_errname(). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "craft/errors.h"

/* Written out by hand so a row that slips out of place in the table is caught. */
static const struct {
    int code;
    const char *name;
} expected_names[] = {
    {CRAFT_OK, "CRAFT_OK"},
    {CRAFT_ENOMEM, "CRAFT_ENOMEM"},
    {CRAFT_EINVAL, "CRAFT_EINVAL"},
    {CRAFT_ENOTLEADER, "CRAFT_ENOTLEADER"},
    {CRAFT_EBUSY, "CRAFT_EBUSY"},
    {CRAFT_ESHUTDOWN, "CRAFT_ESHUTDOWN"},
    {CRAFT_ECORRUPT, "CRAFT_ECORRUPT"},
    {CRAFT_EIO, "CRAFT_EIO"},
    {CRAFT_ENOSPC, "CRAFT_ENOSPC"},
    {CRAFT_EUNKNOWN, "CRAFT_EUNKNOWN"},
    {CRAFT_ETOOBIG, "CRAFT_ETOOBIG"},
    {CRAFT_EMISMATCH, "CRAFT_EMISMATCH"},
    {CRAFT_ECOMPACTED, "CRAFT_ECOMPACTED"},
    {CRAFT_ENOTFOUND, "CRAFT_ENOTFOUND"},
    {CRAFT_EEXIST, "CRAFT_EEXIST"},
    {CRAFT_ESTALE, "CRAFT_ESTALE"},
    {CRAFT_ENOTSUP, "CRAFT_ENOTSUP"},
    {CRAFT_EDEADLOCK, "CRAFT_EDEADLOCK"},
};

#define N_EXPECTED (sizeof expected_names / sizeof expected_names[0])

static void test_errors_every_code_is_listed_here(void **state)
{
    (void)state;
    /* If a code is added, this test's table must grow with it. */
    assert_int_equal(N_EXPECTED, (size_t)(-CRAFT_ERROR_MIN) + 1);
}

static void test_errors_names_match_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_EXPECTED; i++) {
        assert_string_equal(craft_errname(expected_names[i].code), expected_names[i].name);
    }
}

static void test_errors_names_are_distinct(void **state)
{
    (void)state;
    for (int a = 0; a >= CRAFT_ERROR_MIN; a--) {
        for (int b = a - 1; b >= CRAFT_ERROR_MIN; b--) {
            assert_string_not_equal(craft_errname(a), craft_errname(b));
        }
    }
}

static void test_errors_texts_are_distinct_and_nonempty(void **state)
{
    (void)state;
    for (int a = 0; a >= CRAFT_ERROR_MIN; a--) {
        assert_non_null(craft_strerror(a));
        assert_true(strlen(craft_strerror(a)) > 0);
        for (int b = a - 1; b >= CRAFT_ERROR_MIN; b--) {
            assert_string_not_equal(craft_strerror(a), craft_strerror(b));
        }
    }
}

static void test_errors_text_differs_from_name(void **state)
{
    (void)state;
    assert_string_equal(craft_strerror(CRAFT_ENOMEM), "out of memory");
    for (int a = 0; a >= CRAFT_ERROR_MIN; a--) {
        assert_string_not_equal(craft_strerror(a), craft_errname(a));
    }
}

static void test_errors_unknown_codes_fall_back(void **state)
{
    const int unknown[] = {1, 42, INT_MAX, CRAFT_ERROR_MIN - 1, -1000, INT_MIN};

    (void)state;
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *name = craft_errname(unknown[i]);
        const char *text = craft_strerror(unknown[i]);

        assert_non_null(name);
        assert_non_null(text);
        assert_string_equal(name, "CRAFT_E?");
        assert_string_equal(text, "unknown error code");
        for (int code = 0; code >= CRAFT_ERROR_MIN; code--) {
            assert_string_not_equal(name, craft_errname(code));
            assert_string_not_equal(text, craft_strerror(code));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_every_code_is_listed_here),
        cmocka_unit_test(test_errors_names_match_codes),
        cmocka_unit_test(test_errors_names_are_distinct),
        cmocka_unit_test(test_errors_texts_are_distinct_and_nonempty),
        cmocka_unit_test(test_errors_text_differs_from_name),
        cmocka_unit_test(test_errors_unknown_codes_fall_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
