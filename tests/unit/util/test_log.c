/* Unit tests for the logger: level filtering, line format, truncation, the sink hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/log.h"

struct capture {
    int n_lines;
    enum craft_log_level level;
    char line[CRAFT_LOG_LINE_MAX + 1];
};

static void capture_sink(void *ctx, enum craft_log_level level, const char *line)
{
    struct capture *c = ctx;

    c->n_lines++;
    c->level = level;
    assert_true(strlen(line) < sizeof c->line);
    strcpy(c->line, line);
}

static int setup(void **state)
{
    static struct capture c;

    memset(&c, 0, sizeof c);
    craft_log_set_sink(&c, capture_sink);
    craft_log_set_level(CRAFT_LOG_DEBUG);
    *state = &c;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    craft_log_set_sink(NULL, NULL);
    craft_log_set_level(CRAFT_LOG_INFO);
    return 0;
}

static void test_log_default_level_is_info(void **state)
{
    (void)state;
    /* Runs before any test changes the level: main() orders it first. */
    assert_int_equal(craft_log_get_level(), CRAFT_LOG_INFO);
}

static void test_log_line_names_level_node_and_group(void **state)
{
    struct capture *c = *state;

    craft_log(CRAFT_LOG_WARN, 3, 17, "term %d -> %d", 4, 5);
    assert_int_equal(c->n_lines, 1);
    assert_int_equal(c->level, CRAFT_LOG_WARN);
    assert_string_equal(c->line, "[WARN] node=3 group=17: term 4 -> 5");
}

static void test_log_filters_below_min_level(void **state)
{
    struct capture *c = *state;

    craft_log_set_level(CRAFT_LOG_WARN);
    craft_log(CRAFT_LOG_DEBUG, 1, 1, "debug");
    craft_log(CRAFT_LOG_INFO, 1, 1, "info");
    assert_int_equal(c->n_lines, 0);
    assert_false(craft_log_enabled(CRAFT_LOG_INFO));
    assert_true(craft_log_enabled(CRAFT_LOG_WARN));
    craft_log(CRAFT_LOG_WARN, 1, 1, "warn");
    craft_log(CRAFT_LOG_ERROR, 1, 1, "error");
    assert_int_equal(c->n_lines, 2);
    assert_int_equal(c->level, CRAFT_LOG_ERROR);
    assert_string_equal(c->line, "[ERROR] node=1 group=1: error");

    craft_log_set_level(CRAFT_LOG_ERROR);
    craft_log(CRAFT_LOG_WARN, 1, 1, "warn");
    assert_int_equal(c->n_lines, 2);
}

static void test_log_debug_level_writes_everything(void **state)
{
    struct capture *c = *state;

    craft_log_set_level(CRAFT_LOG_DEBUG);
    craft_log(CRAFT_LOG_DEBUG, 1, 2, "d");
    craft_log(CRAFT_LOG_INFO, 1, 2, "i");
    craft_log(CRAFT_LOG_WARN, 1, 2, "w");
    craft_log(CRAFT_LOG_ERROR, 1, 2, "e");
    assert_int_equal(c->n_lines, 4);
}

static void test_log_large_ids_print_in_full(void **state)
{
    struct capture *c = *state;

    craft_log(CRAFT_LOG_INFO, UINT64_MAX, 0, "x");
    assert_string_equal(c->line, "[INFO] node=18446744073709551615 group=0: x");
}

static void test_log_drops_trailing_newline(void **state)
{
    struct capture *c = *state;

    craft_log(CRAFT_LOG_INFO, 1, 1, "done\n");
    assert_string_equal(c->line, "[INFO] node=1 group=1: done");
}

static void test_log_cuts_long_lines_visibly(void **state)
{
    struct capture *c = *state;
    static char big[CRAFT_LOG_LINE_MAX * 2];
    size_t len;

    memset(big, 'a', sizeof big - 1);
    craft_log(CRAFT_LOG_INFO, 1, 1, "%s", big);
    len = strlen(c->line);
    assert_int_equal(len, CRAFT_LOG_LINE_MAX - 1);
    assert_memory_equal(c->line + len - 3, "...", 3);
}

static void test_log_level_names(void **state)
{
    (void)state;
    assert_string_equal(craft_log_level_name(CRAFT_LOG_ERROR), "ERROR");
    assert_string_equal(craft_log_level_name(CRAFT_LOG_WARN), "WARN");
    assert_string_equal(craft_log_level_name(CRAFT_LOG_INFO), "INFO");
    assert_string_equal(craft_log_level_name(CRAFT_LOG_DEBUG), "DEBUG");
    assert_string_equal(craft_log_level_name((enum craft_log_level)9), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_default_level_is_info),
        cmocka_unit_test_setup_teardown(test_log_line_names_level_node_and_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_filters_below_min_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_debug_level_writes_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_large_ids_print_in_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_drops_trailing_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_cuts_long_lines_visibly, setup, teardown),
        cmocka_unit_test(test_log_level_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
