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
        /* A single voter takes commands once its no-op (and with it its term) is durable. */
        struct craft_core_status won;
        craft_core_status(leader, &won);
        in = (struct craft_input){.type = CRAFT_IN_PERSISTED,
                                  .persisted = {.term = won.last_term, .index = won.last_index}};
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
        /* Reads, a change and a transfer allocate too (read queues, a CONFIG entry). */
        for (uint32_t mode = CRAFT_READ_INDEX; mode <= CRAFT_READ_STALE; mode++) {
            in = (struct craft_input){.type = CRAFT_IN_READ, .read = {.cookie = mode, .mode = mode}};
            rv = craft_core_step(leader, &in, &out);
            assert_true(rv == CRAFT_EINVAL || ok_or_nomem(rv, &failed)); /* no lease configured */
        }
        struct craft_membership two = {.voters = {1, 2}, .n_voters = 2};
        in = (struct craft_input){.type = CRAFT_IN_CHANGE, .change = {.target = &two}};
        rv = craft_core_step(leader, &in, &out);
        assert_true(rv == CRAFT_EBUSY || rv == CRAFT_ENOTLEADER || ok_or_nomem(rv, &failed));
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
        struct craft_msg m = {
            .type = CRAFT_MSG_APPEND,
            .from = 1,
            .to = 2,
            .term = 2,
            .append = {
                .prev_index = 2, .prev_term = 1, .commit = 3, .entries = es, .n_entries = 2}};
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

/* Allocation failures in the middle of a run, each aimed at one output that cannot be queued:
 * the step reports CRAFT_ENOMEM (or succeeds), the message is lost (which Raft tolerates), and
 * the core goes on. */
static struct craft_core *boot_follower(craft_term term, const craft_term *terms, size_t n)
{
    static struct craft_entry entries[4];
    assert_true(n <= 4);
    h_make_entries(entries, terms, n);
    struct craft_core_boot boot = {
        .hard_state = {.term = term}, .entries = entries, .n_entries = n};
    return h_boot_core(2, 3, false, &boot);
}

static void test_core_alloc_failures_in_later_steps(void **state)
{
    (void)state;
    bool failed = false;
    struct craft_output out;
    const craft_term one[] = {1};
    for (long k = 0; k < 8; k++) {
        /* A campaign whose vote requests (or their hold until the vote is durable) fail. */
        struct craft_core *c = boot_follower(1, one, 1);
        alloc_fail_after(k);
        struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
        assert_true(ok_or_nomem(craft_core_step(c, &in, &out), &failed));
        alloc_fail_reset();
        /* Elected with no message queue yet: the first AppendEntries and heartbeats fail. */
        struct craft_msg grant = {.type = CRAFT_MSG_VOTE_RESP,
                                  .from = 1,
                                  .to = 2,
                                  .term = 2,
                                  .vote_resp = {.granted = true}};
        alloc_fail_after(k);
        assert_true(ok_or_nomem(h_feed(c, &grant, &out), &failed));
        in = (struct craft_input){.type = CRAFT_IN_TICK, .tick.now_ms = 1};
        assert_true(ok_or_nomem(craft_core_step(c, &in, &out), &failed));
        in.tick.now_ms = 1000;
        assert_true(ok_or_nomem(craft_core_step(c, &in, &out), &failed));
        alloc_fail_reset();
        craft_core_destroy(c);
    }
    /* The answer that tells a deposed leader about the newer term. */
    struct craft_core *f = boot_follower(5, one, 1);
    alloc_fail_after(0);
    struct craft_msg stale = {.type = CRAFT_MSG_APPEND,
                              .from = 1,
                              .to = 2,
                              .term = 3,
                              .append = {.prev_index = 1, .prev_term = 1}};
    assert_true(ok_or_nomem(h_feed(f, &stale, &out), &failed));
    alloc_fail_reset();
    /* A vote response that cannot be queued. */
    struct craft_msg vote = {.type = CRAFT_MSG_VOTE,
                             .from = 3,
                             .to = 2,
                             .term = 6,
                             .vote = {.last_index = 1, .last_term = 1}};
    alloc_fail_after(0);
    assert_true(ok_or_nomem(h_feed(f, &vote, &out), &failed));
    alloc_fail_reset();
    craft_core_destroy(f);
    /* A follower that truncates a conflicting entry and cannot hold the new one (a payload bigger
     * than a slab needs a fresh allocation): nothing is acknowledged. */
    f = boot_follower(1, one, 1);
    static unsigned char big[300 * 1024];
    struct craft_entry e = {.term = 2,
                            .index = 1,
                            .type = CRAFT_ENTRY_NORMAL,
                            .data = {.base = big, .len = sizeof big}};
    struct craft_msg m = {
        .type = CRAFT_MSG_APPEND,
        .from = 1,
        .to = 2,
        .term = 2,
        .append = {.prev_index = 0, .prev_term = 0, .entries = &e, .n_entries = 1}};
    alloc_fail_after(0);
    assert_int_equal(h_feed(f, &m, &out), CRAFT_ENOMEM);
    alloc_fail_reset();
    assert_int_equal(out.truncate_from, 1);
    assert_int_equal(out.n_entries, 0);
    assert_int_equal(out.n_msgs + out.n_msgs_after_persist, 0);
    assert_int_equal(h_feed(f, &m, &out), 0); /* with memory it takes the entry */
    assert_int_equal(out.n_entries, 1);
    craft_core_destroy(f);
    assert_true(failed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_alloc_every_failure_is_enomem),
        cmocka_unit_test(test_core_alloc_failures_in_later_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
