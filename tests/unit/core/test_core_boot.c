/* Starting a core from what storage recovered: term, vote and log are kept, committed entries past
 * the applied index are handed out again, and a log that cannot be a Raft log is refused. */
#include "core_harness.h"

static const craft_term boot_terms[10] = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5};

static struct craft_core *booted(struct craft_entry *entries, craft_index applied)
{
    h_make_entries(entries, boot_terms, 10);
    struct craft_core_boot boot = {.hard_state = {.term = 5, .vote = 2, .commit = 8},
                                   .entries = entries,
                                   .n_entries = 10,
                                   .applied = applied};
    return h_boot_core(1, 3, false, &boot);
}

static void test_core_boot_keeps_term_vote_and_log(void **state)
{
    (void)state;
    struct craft_entry entries[10];
    struct craft_core *c = booted(entries, 3);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.role, CRAFT_FOLLOWER);
    assert_int_equal(st.term, 5);
    assert_int_equal(st.vote, 2);
    assert_int_equal(st.commit, 8);
    assert_int_equal(st.applied, 3);
    assert_int_equal(st.last_index, 10);
    assert_int_equal(st.last_term, 5);
    assert_int_equal(st.persisted, 10);
    /* The vote survives: another up-to-date candidate of term 5 is refused, node 2 is not. */
    struct craft_msg m = {.type = CRAFT_MSG_VOTE, .from = 3, .to = 1, .term = 5,
                          .vote = {.last_index = 10, .last_term = 5}};
    struct craft_output out;
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_VOTE_RESP, false), 1);
    assert_false(out.msgs[0].vote_resp.granted);
    m.from = 2;
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_VOTE_RESP, true), 1);
    assert_true(out.msgs_after_persist[0].vote_resp.granted);
    /* The log was copied: the caller's buffers may go. */
    memset(entries, 0, sizeof entries);
    const struct craft_entry *e;
    assert_int_equal(craft_core_entry(c, 7, &e), 0);
    assert_int_equal(e->term, 4);
    assert_int_equal(e->index, 7);
    craft_core_destroy(c);
}

static void test_core_boot_reemits_committed_after_applied(void **state)
{
    (void)state;
    struct craft_entry entries[10];
    struct craft_core *c = booted(entries, 3);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_TICK, .tick.now_ms = 1};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(out.n_committed, 5);
    assert_int_equal(out.committed[0].index, 4);
    assert_int_equal(out.committed[4].index, 8);
    assert_int_equal(out.n_entries, 0); /* all of it is durable already */
    in = (struct craft_input){.type = CRAFT_IN_APPLIED, .applied.index = 8};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(out.n_committed, 0); /* handed out once */
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.applied, 8);
    /* An applied index beyond what was handed out is not believed. */
    in = (struct craft_input){.type = CRAFT_IN_APPLIED, .applied.index = 10};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    craft_core_status(c, &st);
    assert_int_equal(st.applied, 8);
    craft_core_destroy(c);
}

/* Issue 10, bug 3: a state machine may apply committed entries before they are durable locally,
 * and it may keep what it applied across a restart. The core then boots with an applied index
 * beyond its durable log and must never hand out anything at or below it again, even once the
 * log catches up: an INCR would run twice. */
static void test_core_boot_never_reemits_at_or_below_applied(void **state)
{
    (void)state;
    struct craft_entry entries[10];
    h_make_entries(entries, boot_terms, 10);
    /* Durable log 1..8, the state machine applied up to 10 before the crash. */
    struct craft_core_boot boot = {.hard_state = {.term = 5, .vote = 2, .commit = 8},
                                   .entries = entries,
                                   .n_entries = 8,
                                   .applied = 10};
    struct craft_core *c = h_boot_core(1, 3, false, &boot);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.applied, 10);
    assert_true(st.commit <= st.last_index);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_TICK, .tick.now_ms = 1};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(out.n_committed, 0);
    /* The leader of term 5 sends 9..10 again plus a new entry 11, and commits 11. */
    struct craft_entry more[3];
    const craft_term more_terms[3] = {5, 5, 5};
    h_make_entries(more, more_terms, 3);
    for (int i = 0; i < 3; i++) {
        more[i].index = 9 + (craft_index)i;
    }
    struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 2, .to = 1, .term = 5,
                          .append = {.prev_index = 8, .prev_term = 4, .commit = 11,
                                     .entries = more, .n_entries = 3}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    for (size_t i = 0; i < out.n_committed; i++) {
        assert_true(out.committed[i].index > 10);
    }
    assert_int_equal(out.n_committed, 1);
    assert_int_equal(out.committed[0].index, 11);
    craft_core_destroy(c);
}

/* The state machine's applied index says nothing about the durable log: it may have applied
 * committed entries of a newer term while the disk still holds older, uncommitted entries at those
 * indexes. Those must stay open to the leader's overwrite (found by the simulator's
 * ack_not_leader_prefix rule when boot took applied for commit). */
static void test_core_boot_applied_does_not_commit_stale_log(void **state)
{
    (void)state;
    struct craft_entry entries[10];
    h_make_entries(entries, boot_terms, 10);
    /* Durable: 1..10 (terms up to 5), hard-state commit 6; applied 8 (entries 7, 8 of term 6). */
    struct craft_core_boot boot = {.hard_state = {.term = 6, .vote = 2, .commit = 6},
                                   .entries = entries,
                                   .n_entries = 10,
                                   .applied = 8};
    struct craft_core *c = h_boot_core(1, 3, false, &boot);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.commit, 6);
    struct craft_entry newer[3];
    const craft_term newer_terms[3] = {6, 6, 6};
    h_make_entries(newer, newer_terms, 3);
    for (int i = 0; i < 3; i++) {
        newer[i].index = 7 + (craft_index)i;
    }
    struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 2, .to = 1, .term = 6,
                          .append = {.prev_index = 6, .prev_term = 3, .commit = 9,
                                     .entries = newer, .n_entries = 3}};
    struct craft_output out;
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.truncate_from, 7);
    assert_int_equal(out.n_entries, 3);
    assert_int_equal(out.n_committed, 1);
    assert_int_equal(out.committed[0].index, 9);
    assert_int_equal(out.committed[0].term, 6);
    craft_core_status(c, &st);
    assert_int_equal(st.commit, 9);
    assert_int_equal(st.last_index, 9);
    craft_core_destroy(c);
}

static void test_core_boot_refuses_broken_log(void **state)
{
    (void)state;
    craft_id voters[] = {1, 2, 3};
    struct craft_core_config cfg;
    h_config(&cfg, 1, voters, 3);
    struct craft_entry entries[3];
    const craft_term terms[] = {1, 2, 2};
    struct craft_core *c = NULL;

    h_make_entries(entries, terms, 3);
    entries[2].index = 4; /* a gap */
    struct craft_core_boot boot = {.hard_state = {.term = 2}, .entries = entries, .n_entries = 3};
    assert_int_equal(craft_core_create(&cfg, &boot, &c), CRAFT_ECORRUPT);

    h_make_entries(entries, terms, 3);
    entries[2].term = 1; /* terms fall */
    assert_int_equal(craft_core_create(&cfg, &boot, &c), CRAFT_ECORRUPT);

    h_make_entries(entries, terms, 3);
    boot.hard_state.term = 1; /* entries from a term the node never reached */
    assert_int_equal(craft_core_create(&cfg, &boot, &c), CRAFT_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_boot_keeps_term_vote_and_log),
        cmocka_unit_test(test_core_boot_reemits_committed_after_applied),
        cmocka_unit_test(test_core_boot_never_reemits_at_or_below_applied),
        cmocka_unit_test(test_core_boot_applied_does_not_commit_stale_log),
        cmocka_unit_test(test_core_boot_refuses_broken_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
