/* Allocation failure through the public core API: with the n-th allocation failing, for every n,
 * creating and stepping cores either works or returns CRAFT_ENOMEM, never crashes, and (under
 * ASan) leaks nothing. */
#include "core_harness.h"
#include "util/alloc.h"

static bool ok_or_nomem(int rv, bool *failed)
{
    if (rv == CRAFT_ENOMEM) {
        *failed = true;
        return true;
    }
    return rv == 0;
}

/* One pass of work: a single-node leader that proposes, persists and applies; and a follower
 * booted from a log that takes an AppendEntries. Returns true if some allocation failed. */
static bool run_once(void)
{
    bool failed = false;
    craft_id one[] = {1};
    struct craft_core_config cfg;
    h_config(&cfg, 1, one, 1);
    struct craft_core *leader = NULL;
    int rv = craft_core_create(&cfg, NULL, &leader);
    assert_true(ok_or_nomem(rv, &failed));
    if (rv == 0) {
        struct craft_output out;
        struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
        assert_true(ok_or_nomem(craft_core_step(leader, &in, &out), &failed));
        struct craft_buf cmds[3] = {{"a", 1}, {"bb", 2}, {"ccc", 3}};
        in = (struct craft_input){.type = CRAFT_IN_PROPOSE, .propose = {.cmds = cmds, .n = 3}};
        rv = craft_core_step(leader, &in, &out);
        assert_true(rv == CRAFT_ENOTLEADER || ok_or_nomem(rv, &failed));
        struct craft_core_status st;
        craft_core_status(leader, &st);
        in = (struct craft_input){.type = CRAFT_IN_PERSISTED,
                                  .persisted = {.term = st.last_term, .index = st.last_index}};
        assert_true(ok_or_nomem(craft_core_step(leader, &in, &out), &failed));
        in = (struct craft_input){.type = CRAFT_IN_APPLIED, .applied.index = st.commit};
        assert_true(ok_or_nomem(craft_core_step(leader, &in, &out), &failed));
        in = (struct craft_input){.type = CRAFT_IN_TICK, .tick.now_ms = 1000};
        assert_true(ok_or_nomem(craft_core_step(leader, &in, &out), &failed));
        craft_core_destroy(leader);
    }

    struct craft_entry entries[3];
    const craft_term terms[] = {1, 1, 1};
    h_make_entries(entries, terms, 3);
    struct craft_core_boot boot = {.hard_state = {.term = 1}, .entries = entries, .n_entries = 3};
    craft_id three[] = {1, 2, 3};
    h_config(&cfg, 2, three, 3);
    struct craft_core *f = NULL;
    rv = craft_core_create(&cfg, &boot, &f);
    assert_true(ok_or_nomem(rv, &failed));
    if (rv == 0) {
        struct craft_entry es[2] = {
            {.term = 2, .index = 3, .type = CRAFT_ENTRY_NORMAL, .data = {"x", 1}},
            {.term = 2, .index = 4, .type = CRAFT_ENTRY_NORMAL, .data = {"y", 1}},
        };
        struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 1, .to = 2, .term = 2,
                              .append = {.prev_index = 2, .prev_term = 1, .commit = 3,
                                         .entries = es, .n_entries = 2}};
        struct craft_output out;
        assert_true(ok_or_nomem(h_feed(f, &m, &out), &failed));
        struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
        assert_true(ok_or_nomem(craft_core_step(f, &in, &out), &failed));
        craft_core_destroy(f);
    }
    return failed;
}

/* Far more than one run allocates, so the last budgets cover every failure point even if some
 * failure were handled silently (the loop does not stop at the first clean run). */
#define BUDGET_MAX 300

static void test_core_alloc_every_failure_is_enomem(void **state)
{
    (void)state;
    bool failed_first = false;
    bool failed_last = true;
    for (long n = 0; n <= BUDGET_MAX; n++) {
        alloc_fail_after(n);
        bool failed = run_once();
        alloc_fail_reset();
        if (n == 0) {
            failed_first = failed;
        }
        failed_last = failed;
    }
    assert_true(failed_first); /* with no allocation allowed, something reported CRAFT_ENOMEM */
    assert_false(failed_last); /* with a large budget the run completes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_alloc_every_failure_is_enomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
