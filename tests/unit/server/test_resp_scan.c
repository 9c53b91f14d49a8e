/* Unit tests for resp_scan: where one RESP2 reply ends, for every type, nested arrays, partial
 * input at every length, and malformed replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/resp_scan.h"

/* Every complete value scans to its length, and every prefix of it needs more. */
static void test_resp_scan_values_and_prefixes(void **state)
{
    (void)state;
    static const char *const values[] = {
        "+OK\r\n",
        "-ERR no\r\n",
        ":-42\r\n",
        "$3\r\nabc\r\n",
        "$0\r\n\r\n",
        "$-1\r\n",
        "*-1\r\n",
        "*0\r\n",
        "*2\r\n+OK\r\n:2\r\n",
        "*2\r\n*2\r\n$1\r\na\r\n$-1\r\n*1\r\n-ERR x\r\n",
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        size_t n = strlen(values[i]);
        assert_int_equal(resp_scan(values[i], n), (long long)n);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(resp_scan(values[i], k), 0);
        }
    }
}

/* Only the first value counts when more follow. */
static void test_resp_scan_first_of_many(void **state)
{
    (void)state;
    const char in[] = "*1\r\n:1\r\n+PONG\r\n";
    assert_int_equal(resp_scan(in, sizeof in - 1), 8);
}

static void test_resp_scan_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "!x\r\n", "$x\r\n", "$-2\r\n", "$3\r\nabcd\r\n", "*x\r\n", "+OK\rx", "$1\r\na\n\r",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(resp_scan(bad[i], strlen(bad[i])), -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_scan_values_and_prefixes),
        cmocka_unit_test(test_resp_scan_first_of_many),
        cmocka_unit_test(test_resp_scan_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
