/* Configurations through the core's API: taken from the log as soon as appended, reverted when
 * truncated, kept across compaction, booted from a snapshot; learners replicate but never vote or
 * count; a joint configuration needs a majority of both halves. */
#include "core_harness.h"
#include "core/config.h"

/* A CONFIG entry (data in buf) at index with term. */
static struct craft_entry config_entry(const struct craft_membership *m, craft_index index,
                                       craft_term term, unsigned char *buf)
{
    size_t len = config_encode(m, buf);
    return (struct craft_entry){.term = term, .index = index, .type = CRAFT_ENTRY_CONFIG,
                                .data = {.base = buf, .len = len}};
}

static bool membership_is(struct craft_core *c, const struct craft_membership *want)
{
    struct craft_membership got;
    craft_core_membership(c, &got);
    return config_equal(&got, want);
}

static void test_core_membership_follows_the_log(void **state)
{
    (void)state;
    const craft_id three[] = {1, 2, 3};
    const craft_id four[] = {1, 2, 3, 4};
    struct craft_membership m3 = h_voters(three, 3);
    struct craft_membership m4 = h_voters(four, 4);
    struct craft_entry entries[2];
    const craft_term terms[2] = {1, 1};
    h_make_entries(entries, terms, 2);
    struct craft_core_boot boot = {.hard_state = {.term = 2}, .entries = entries, .n_entries = 2};
    struct craft_core *c = h_boot_core(3, 3, false, &boot);
    assert_true(membership_is(c, &m3)); /* bootstrap: no CONFIG entry yet */

    /* Leader 1 of term 2 appends a CONFIG entry adding 4: in force at once, uncommitted. */
    unsigned char buf[CONFIG_BYTES_MAX];
    struct craft_entry e3 = config_entry(&m4, 3, 2, buf);
    struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 1, .to = 3, .term = 2,
                          .append = {.prev_index = 2, .prev_term = 1, .commit = 2,
                                     .entries = &e3, .n_entries = 1}};
    struct craft_output out;
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_true(membership_is(c, &m4));
    assert_int_equal(craft_core_membership(c, &(struct craft_membership){0}), 3);

    /* Leader 2 of term 3 overwrites index 3: the bootstrap configuration is back. */
    struct craft_entry other = {.term = 3, .index = 3, .type = CRAFT_ENTRY_NORMAL,
                                .data = {.base = "x", .len = 1}};
    m = (struct craft_msg){.type = CRAFT_MSG_APPEND, .from = 2, .to = 3, .term = 3,
                           .append = {.prev_index = 2, .prev_term = 1, .commit = 2,
                                      .entries = &other, .n_entries = 1}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.truncate_from, 3);
    assert_true(membership_is(c, &m3));
    craft_core_destroy(c);
}

static void test_core_membership_malformed_config_is_ignored(void **state)
{
    (void)state;
    struct craft_core *c = h_boot_core(3, 3, false, NULL);
    struct craft_entry bad = {.term = 1, .index = 1, .type = CRAFT_ENTRY_CONFIG,
                              .data = {.base = "junk", .len = 4}};
    struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 1, .to = 3, .term = 1,
                          .append = {.prev_index = 0, .prev_term = 0, .commit = 0,
                                     .entries = &bad, .n_entries = 1}};
    struct craft_output out;
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.n_entries, 0);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.last_index, 0);
    craft_core_destroy(c);
}

static void test_core_membership_boots_from_snapshot(void **state)
{
    (void)state;
    const craft_id ids[] = {1, 2, 5};
    struct craft_entry entries[2];
    const craft_term terms[2] = {3, 4};
    h_make_entries(entries, terms, 2);
    entries[0].index = 11;
    entries[1].index = 12;
    struct craft_core_boot boot = {
        .hard_state = {.term = 4, .commit = 11},
        .snapshot = {.index = 10, .term = 3, .membership = h_voters(ids, 3)},
        .entries = entries,
        .n_entries = 2,
        .applied = 10,
    };
    struct craft_core *c = h_boot_core(1, 3, false, &boot); /* bootstrap {1,2,3} is ignored */
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.first_index, 11);
    assert_int_equal(st.last_index, 12);
    assert_int_equal(st.commit, 11);
    assert_int_equal(st.applied, 10);
    struct craft_membership want = h_voters(ids, 3);
    assert_true(membership_is(c, &want));
    /* Entry 11 is handed out (committed, above applied); 10 never is. */
    struct craft_output out;
    struct craft_input tick = {.type = CRAFT_IN_TICK, .tick.now_ms = 1};
    assert_int_equal(craft_core_step(c, &tick, &out), 0);
    assert_int_equal(out.n_committed, 1);
    assert_int_equal(out.committed[0].index, 11);
    /* A leader's check at the snapshot point matches. */
    struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 2, .to = 1, .term = 4,
                          .append = {.prev_index = 10, .prev_term = 3, .commit = 12}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND_RESP, true), 1);
    assert_true(out.msgs_after_persist[0].append_resp.success);
    craft_core_destroy(c);

    /* A state machine that does not hold the snapshot yet, or a snapshot of a future term. */
    boot.applied = 9;
    craft_id voters[] = {1, 2, 3};
    struct craft_core_config cfg;
    h_config(&cfg, 1, voters, 3);
    assert_int_equal(craft_core_create(&cfg, &boot, &c), CRAFT_EINVAL);
    boot.applied = 10;
    boot.snapshot.term = 5;
    assert_int_equal(craft_core_create(&cfg, &boot, &c), CRAFT_ECORRUPT);
}

static void test_core_membership_compaction_keeps_the_config(void **state)
{
    (void)state;
    const craft_id two[] = {1, 2};
    const craft_id five[] = {1, 2, 3, 4, 5};
    struct craft_membership m2 = h_voters(two, 2);
    struct craft_membership m5 = h_voters(five, 5);
    unsigned char buf[CONFIG_BYTES_MAX];
    unsigned char buf5[CONFIG_BYTES_MAX];
    struct craft_entry entries[4];
    const craft_term terms[4] = {1, 1, 1, 1};
    h_make_entries(entries, terms, 4);
    entries[1] = config_entry(&m2, 2, 1, buf);
    struct craft_core_boot boot = {.hard_state = {.term = 1, .commit = 4}, .entries = entries,
                                   .n_entries = 4, .applied = 4};
    struct craft_core *c = h_boot_core(1, 3, false, &boot);
    assert_true(membership_is(c, &m2));
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_COMPACT, .compact.index = 4};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.first_index, 5);
    /* An uncommitted CONFIG at 5 from leader 2, then overwritten: back to the compacted one. */
    struct craft_entry e5 = config_entry(&m5, 5, 1, buf5);
    struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 2, .to = 1, .term = 1,
                          .append = {.prev_index = 4, .prev_term = 1, .commit = 4,
                                     .entries = &e5, .n_entries = 1}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_true(membership_is(c, &m5));
    struct craft_entry other = {.term = 2, .index = 5, .type = CRAFT_ENTRY_NORMAL,
                                .data = {.base = "y", .len = 1}};
    m = (struct craft_msg){.type = CRAFT_MSG_APPEND, .from = 2, .to = 1, .term = 2,
                           .append = {.prev_index = 4, .prev_term = 1, .commit = 4,
                                      .entries = &other, .n_entries = 1}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_true(membership_is(c, &m2));
    craft_core_destroy(c);
}

/* Boots every node of h (ids 1..n) from the same one-entry log holding configuration m. */
static void boot_all(struct harness *h, unsigned n, const struct craft_membership *m)
{
    static unsigned char buf[CONFIG_BYTES_MAX];
    static struct craft_entry e;
    e = config_entry(m, 1, 1, buf);
    struct craft_core_boot boots[H_NODES_MAX];
    for (unsigned i = 0; i < n; i++) {
        boots[i] = (struct craft_core_boot){.hard_state = {.term = 1, .commit = 1},
                                            .entries = &e, .n_entries = 1, .applied = 1};
    }
    h_init_boot(h, n, NULL, boots);
}

static void test_core_membership_learner_replicates_without_voting(void **state)
{
    (void)state;
    struct craft_membership m = {.voters = {1, 2, 3}, .n_voters = 3, .learners = {4},
                                 .n_learners = 1};
    struct harness *h = h_new();
    boot_all(h, 4, &m);
    h_elect(h, 1);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    assert_int_equal(h->n_delivered[CRAFT_MSG_VOTE] + h->n_delivered[CRAFT_MSG_PREVOTE] > 0, 1);
    /* Nobody asked the learner for a vote... */
    struct craft_input campaign = {.type = CRAFT_IN_CAMPAIGN};
    struct craft_output out;
    assert_int_equal(h_step(h, 4, &campaign, &out), 0);
    assert_int_equal(out.n_msgs, 0); /* ...and it does not campaign itself */
    /* ...but it gets the log. */
    assert_int_equal(h_propose(h, 1, "cmd", NULL), 0);
    h_stabilize(h);
    h_status(h, 4, &st);
    assert_int_equal(st.last_index, 3);
    /* With both other voters cut off, the learner's acknowledgement commits nothing. */
    for (craft_id v = 2; v <= 3; v++) {
        h->cut[1][v] = true;
        h->cut[v][1] = true;
    }
    assert_int_equal(h_propose(h, 1, "lonely", NULL), 0);
    h_stabilize(h);
    h_status(h, 4, &st);
    assert_int_equal(st.last_index, 4);
    h_status(h, 1, &st);
    assert_int_equal(st.commit, 3);
    h_free(h);
}

static void test_core_membership_joint_election_needs_both_halves(void **state)
{
    (void)state;
    struct craft_membership j = {.voters = {1, 4, 5}, .n_voters = 3,
                                 .voters_old = {1, 2, 3}, .n_voters_old = 3};
    struct harness *h = h_new();
    boot_all(h, 5, &j);
    for (craft_id v = 4; v <= 5; v++) { /* the new half cannot hear node 1 */
        h->cut[1][v] = true;
        h->cut[v][1] = true;
    }
    h_elect(h, 1);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_not_equal(st.role, CRAFT_LEADER); /* a majority of C_old alone is not enough */
    for (craft_id v = 4; v <= 5; v++) {
        h->cut[1][v] = false;
        h->cut[v][1] = false;
    }
    h_elect(h, 1);
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_membership_follows_the_log),
        cmocka_unit_test(test_core_membership_malformed_config_is_ignored),
        cmocka_unit_test(test_core_membership_boots_from_snapshot),
        cmocka_unit_test(test_core_membership_compaction_keeps_the_config),
        cmocka_unit_test(test_core_membership_learner_replicates_without_voting),
        cmocka_unit_test(test_core_membership_joint_election_needs_both_halves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
