/* Membership changes through the core's API (src/core/change.c): single-server changes, joint
 * consensus, learners caught up before they vote, one change at a time, none before the leader's
 * term has committed an entry, removing the leader, removed nodes unable to disrupt. */
#include "core_harness.h"
#include "core/config.h"

/* n nodes (ids 1..n); the first n_voters bootstrap the cluster, the rest wait to be added. */
static void init_pool(struct harness *h, unsigned n, unsigned n_voters)
{
    memset(h, 0, sizeof *h);
    h->n = n;
    craft_id voters[H_NODES_MAX];
    for (unsigned i = 0; i < n_voters; i++) {
        voters[i] = i + 1;
    }
    for (unsigned i = 0; i < n; i++) {
        struct craft_core_config cfg;
        h_config(&cfg, i + 1, voters, i < n_voters ? n_voters : 0);
        if (i >= n_voters) {
            cfg.voters = NULL;
        }
        assert_int_equal(craft_core_create(&cfg, NULL, &h->nodes[i].core), 0);
        struct craft_input in = {.type = CRAFT_IN_TICK, .tick.now_ms = 0};
        struct craft_output out;
        assert_int_equal(craft_core_step(h->nodes[i].core, &in, &out), 0);
        h_take_output(h, i, &out);
    }
}

static int change(struct harness *h, craft_id at, const struct craft_membership *target)
{
    struct craft_input in = {.type = CRAFT_IN_CHANGE, .change = {.target = target}};
    return h_step(h, at, &in, NULL);
}

static bool has(struct harness *h, craft_id at, const struct craft_membership *want)
{
    struct craft_membership got;
    craft_core_membership(h_core(h, at), &got);
    return config_equal(&got, want);
}

static enum craft_role role_of(struct harness *h, craft_id id)
{
    struct craft_core_status st;
    h_status(h, id, &st);
    return st.role;
}

/* Lets the cluster run: deliver, persist, and tick everyone by ms a few times. */
static void run(struct harness *h, unsigned rounds, uint64_t ms)
{
    for (unsigned r = 0; r < rounds; r++) {
        h_stabilize(h);
        for (craft_id id = 1; id <= h->n; id++) {
            assert_int_equal(h_tick(h, id, ms), 0);
        }
    }
    h_stabilize(h);
}

static void test_core_change_adds_a_voter_after_it_caught_up(void **state)
{
    (void)state;
    struct harness *h = h_new();
    init_pool(h, 4, 3);
    h_elect(h, 1);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(h_propose(h, 1, "before", NULL), 0);
    }
    h_stabilize(h);
    const craft_id four[] = {1, 2, 3, 4};
    struct craft_membership target = h_voters(four, 4);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_CHANGE, .change = {.target = &target}};
    assert_int_equal(h_step(h, 1, &in, &out), 0);
    /* Node 4 is behind: it joins as a learner first. */
    struct craft_membership staged;
    craft_core_membership(h_core(h, 1), &staged);
    assert_int_equal(staged.n_voters, 3);
    assert_true(config_has_learner(&staged, 4));
    /* A second change meanwhile is refused. */
    const craft_id two[] = {1, 2};
    struct craft_membership other = h_voters(two, 2);
    assert_int_equal(change(h, 1, &other), CRAFT_EBUSY);
    run(h, 3, 10);
    for (craft_id id = 1; id <= 4; id++) {
        assert_true(has(h, id, &target));
    }
    struct craft_core_status st;
    h_status(h, 4, &st);
    /* Node 4 holds the entries from before it was added, but not the bootstrap configuration
     * they ran under: no snapshot of them there; one of the newest is fine. */
    struct craft_snapshot_meta meta;
    assert_int_equal(craft_core_snapshot_meta(h_core(h, 4), 3, &meta), CRAFT_ENOTFOUND);
    assert_int_equal(craft_core_snapshot_meta(h_core(h, 4), st.commit, &meta), 0);
    assert_true(config_has_voter(&meta.membership, 4) || config_has_learner(&meta.membership, 4));
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    /* Now a commit needs three of the four. */
    for (craft_id v = 2; v <= 3; v++) {
        h->cut[1][v] = true;
        h->cut[v][1] = true;
    }
    craft_index before = st.commit;
    assert_int_equal(h_propose(h, 1, "needs-three", NULL), 0);
    h_stabilize(h);
    h_status(h, 1, &st);
    assert_int_equal(st.commit, before);
    h_free(h);
}

static void test_core_change_joint_replaces_two_voters(void **state)
{
    (void)state;
    struct harness *h = h_new();
    init_pool(h, 5, 3);
    h_elect(h, 1);
    const craft_id next[] = {1, 4, 5};
    struct craft_membership target = h_voters(next, 3);
    assert_int_equal(change(h, 1, &target), 0);
    h_stabilize(h);
    /* Through learners, then C_old,new, then C_new: the leader's log holds all three. */
    struct craft_core_status st;
    h_status(h, 1, &st);
    unsigned n_learner_stage = 0;
    unsigned n_joint = 0;
    for (craft_index i = 1; i <= st.last_index; i++) {
        const struct craft_entry *e;
        assert_int_equal(craft_core_entry(h_core(h, 1), i, &e), 0);
        struct craft_membership m;
        if (e->type != CRAFT_ENTRY_CONFIG) {
            continue;
        }
        assert_int_equal(config_decode(e->data.base, e->data.len, &m), 0);
        n_learner_stage += m.n_learners == 2 && !config_is_joint(&m);
        n_joint += config_is_joint(&m);
    }
    assert_int_equal(n_learner_stage, 1);
    assert_int_equal(n_joint, 1);
    assert_true(has(h, 1, &target));
    assert_true(has(h, 4, &target));
    assert_true(has(h, 5, &target));
    assert_int_equal(role_of(h, 1), CRAFT_LEADER);
    /* The removed nodes cannot unseat the leader: their vote requests are ignored. */
    run(h, 60, 10);
    assert_int_equal(role_of(h, 1), CRAFT_LEADER);
    h_status(h, 1, &st);
    craft_term term = st.term;
    for (craft_id id = 2; id <= 3; id++) {
        struct craft_input campaign = {.type = CRAFT_IN_CAMPAIGN};
        assert_int_equal(h_step(h, id, &campaign, NULL), 0);
    }
    run(h, 5, 10);
    h_status(h, 1, &st);
    assert_int_equal(st.term, term);
    assert_int_equal(role_of(h, 1), CRAFT_LEADER);
    h_free(h);
}

static void test_core_change_removed_leader_steps_down(void **state)
{
    (void)state;
    struct harness *h = h_new();
    init_pool(h, 3, 3);
    h_elect(h, 1);
    const craft_id rest[] = {2, 3};
    struct craft_membership target = h_voters(rest, 2);
    assert_int_equal(change(h, 1, &target), 0);
    h_stabilize(h);
    assert_true(has(h, 2, &target));
    assert_int_not_equal(role_of(h, 1), CRAFT_LEADER); /* stepped down once C_new committed */
    run(h, 60, 10);                                    /* 2 or 3 takes over */
    bool led = role_of(h, 2) == CRAFT_LEADER || role_of(h, 3) == CRAFT_LEADER;
    assert_true(led);
    assert_int_not_equal(role_of(h, 1), CRAFT_LEADER);
    h_free(h);
}

static void cut_node(struct harness *h, craft_id id, bool cut)
{
    for (craft_id v = 1; v <= h->n; v++) {
        if (v != id) {
            h->cut[id][v] = cut;
            h->cut[v][id] = cut;
        }
    }
}

/* Thesis §4.2.2: a node removed by a configuration that has not committed yet may be the only one
 * able to win (its log is the longest), so it must still campaign until then. Here the leader 1
 * of {1,2,3,4} appends C_new = {2,3,4} while cut off, loses its lease, and 4 is gone: 2 and 3
 * need 1's vote in {1,2,3,4}, which 1 refuses (its log is longer); only 1 can win, in C_new. */
static void test_core_change_removed_node_campaigns_until_committed(void **state)
{
    (void)state;
    struct harness *h = h_new();
    init_pool(h, 4, 4);
    h_elect(h, 1);
    assert_int_equal(h_propose(h, 1, "before", NULL), 0);
    h_stabilize(h);
    cut_node(h, 1, true);
    const craft_id rest[] = {2, 3, 4};
    struct craft_membership target = h_voters(rest, 3);
    assert_int_equal(change(h, 1, &target), 0);
    cut_node(h, 4, true);
    run(h, 60, 10); /* 1 loses its lease; 2 and 3 cannot win without 1 or 4 */
    assert_int_not_equal(role_of(h, 1), CRAFT_LEADER);
    cut_node(h, 1, false);
    cut_node(h, 4, true);
    run(h, 120, 10);
    assert_true(has(h, 2, &target));
    assert_true(has(h, 3, &target));
    bool led = role_of(h, 2) == CRAFT_LEADER || role_of(h, 3) == CRAFT_LEADER;
    assert_true(led);
    assert_int_not_equal(role_of(h, 1), CRAFT_LEADER);
    h_free(h);
}

/* A node whose configuration is stale must still hear a newer configuration's voter whose log is
 * more up to date: here 3 was cut off while {1,2,3} became {2,3,4}, then 2 is gone; 4 needs 3's
 * vote, and 3 (still on the bootstrap {1,2,3}) must not take 4 for a stranger. */
static void test_core_change_stale_member_hears_newer_voter(void **state)
{
    (void)state;
    struct harness *h = h_new();
    init_pool(h, 4, 3);
    h_elect(h, 1);
    cut_node(h, 3, true);
    const craft_id next[] = {2, 3, 4};
    struct craft_membership target = h_voters(next, 3);
    assert_int_equal(change(h, 1, &target), 0);
    run(h, 10, 10);
    assert_true(has(h, 4, &target));
    assert_true(has(h, 2, &target));
    cut_node(h, 2, true);
    cut_node(h, 3, false);
    cut_node(h, 2, true);
    run(h, 150, 10);
    assert_true(has(h, 3, &target));
    bool led = role_of(h, 3) == CRAFT_LEADER || role_of(h, 4) == CRAFT_LEADER;
    assert_true(led);
    h_free(h);
}

/* A new leader whose log holds a committed joint configuration appends C_new only once an entry
 * of its own term has committed (thesis §4.1: no configuration entry before that). */
static void test_core_change_new_leader_completes_joint_after_term_commit(void **state)
{
    (void)state;
    struct craft_membership joint = {.voters = {1, 2}, .n_voters = 2,
                                     .voters_old = {1, 2, 3}, .n_voters_old = 3};
    unsigned char buf[CONFIG_BYTES_MAX];
    size_t len = config_encode(&joint, buf);
    static const char noop_data[] = "x";
    struct craft_entry entries[2] = {
        {.term = 1, .index = 1, .type = CRAFT_ENTRY_NORMAL, .data = {noop_data, 1}},
        {.term = 1, .index = 2, .type = CRAFT_ENTRY_CONFIG, .data = {buf, len}},
    };
    struct craft_core_boot boots[3];
    memset(boots, 0, sizeof boots);
    for (unsigned i = 0; i < 3; i++) {
        boots[i].hard_state.term = 1;
        boots[i].hard_state.commit = 2;
        boots[i].entries = entries;
        boots[i].n_entries = 2;
    }
    struct harness *h = h_new();
    h_init_boot(h, 3, NULL, boots);
    assert_true(has(h, 1, &joint));
    struct craft_input campaign = {.type = CRAFT_IN_CAMPAIGN};
    assert_int_equal(h_step(h, 1, &campaign, NULL), 0);
    for (int i = 0; i < 256 && role_of(h, 1) != CRAFT_LEADER; i++) {
        h_deliver_one(h);
        for (craft_id id = 1; id <= 3; id++) {
            h_persist(h, id);
        }
    }
    assert_int_equal(role_of(h, 1), CRAFT_LEADER);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.last_index, 3); /* its no-op, and no C_new before the no-op commits */
    h_stabilize(h);
    struct craft_membership next = {.voters = {1, 2}, .n_voters = 2};
    assert_true(has(h, 1, &next));
    assert_true(has(h, 2, &next));
    h_free(h);
}

/* A single voter wins its election in the step that raised its term, before that term is durable:
 * until its no-op is durable (and with it the term), it may send nothing at once. Otherwise a
 * crash lets it lead the same term again with other entries, and a learner that got the first
 * ones would hold two different entries under one (index, term). */
static void test_core_change_single_voter_sends_after_its_term_is_durable(void **state)
{
    (void)state;
    struct craft_membership m = {.voters = {1}, .n_voters = 1, .learners = {2}, .n_learners = 1};
    unsigned char buf[CONFIG_BYTES_MAX];
    size_t len = config_encode(&m, buf);
    struct craft_entry entries[1] = {
        {.term = 1, .index = 1, .type = CRAFT_ENTRY_CONFIG, .data = {buf, len}},
    };
    struct craft_core_boot boot;
    memset(&boot, 0, sizeof boot);
    boot.hard_state.term = 1;
    boot.hard_state.commit = 1;
    boot.entries = entries;
    boot.n_entries = 1;
    boot.applied = 1;
    struct craft_core *c = h_boot_core(1, 1, false, &boot);
    struct craft_output out;
    struct craft_input tick = {.type = CRAFT_IN_TICK, .tick.now_ms = 0};
    assert_int_equal(craft_core_step(c, &tick, &out), 0);
    struct craft_input campaign = {.type = CRAFT_IN_CAMPAIGN};
    assert_int_equal(craft_core_step(c, &campaign, &out), 0);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    assert_int_equal(out.n_msgs, 0);
    /* Its heartbeat waits for the persist, and it takes no command of the term yet. */
    struct craft_input later = {.type = CRAFT_IN_TICK, .tick.now_ms = 60};
    assert_int_equal(craft_core_step(c, &later, &out), 0);
    assert_int_equal(out.n_msgs, 0);
    struct craft_buf cmd = {.base = "x", .len = 1};
    struct craft_input propose = {.type = CRAFT_IN_PROPOSE, .propose = {.cmds = &cmd, .n = 1}};
    assert_int_equal(craft_core_step(c, &propose, &out), CRAFT_EBUSY);
    struct craft_input persisted = {.type = CRAFT_IN_PERSISTED,
                                    .persisted = {.term = st.term, .index = st.last_index}};
    assert_int_equal(craft_core_step(c, &persisted, &out), 0);
    assert_int_equal(craft_core_step(c, &propose, &out), 0);
    struct craft_input again = {.type = CRAFT_IN_TICK, .tick.now_ms = 120};
    assert_int_equal(craft_core_step(c, &again, &out), 0);
    assert_int_equal(out.n_msgs, 1); /* now at once */
    craft_core_destroy(c);
}

static void test_core_change_refusals(void **state)
{
    (void)state;
    struct harness *h = h_new();
    init_pool(h, 3, 3);
    const craft_id three[] = {1, 2, 3};
    struct craft_membership same = h_voters(three, 3);
    assert_int_equal(change(h, 2, &same), CRAFT_ENOTLEADER);
    /* Before its no-op commits, a new leader takes no change. */
    struct craft_input campaign = {.type = CRAFT_IN_CAMPAIGN};
    assert_int_equal(h_step(h, 1, &campaign, NULL), 0);
    for (int i = 0; i < 64 && role_of(h, 1) != CRAFT_LEADER; i++) {
        h_deliver_one(h);
        for (craft_id id = 1; id <= 3; id++) {
            h_persist(h, id);
        }
    }
    assert_int_equal(role_of(h, 1), CRAFT_LEADER);
    const craft_id two[] = {1, 2};
    struct craft_membership smaller = h_voters(two, 2);
    assert_int_equal(change(h, 1, &smaller), CRAFT_EBUSY);
    h_stabilize(h);
    assert_int_equal(change(h, 1, &same), CRAFT_EEXIST);
    struct craft_membership bad = {.voters = {1, 1}, .n_voters = 2};
    assert_int_equal(change(h, 1, &bad), CRAFT_EINVAL);
    struct craft_membership joint = {.voters = {1, 2}, .n_voters = 2, .voters_old = {1, 3},
                                     .n_voters_old = 2};
    assert_int_equal(change(h, 1, &joint), CRAFT_EINVAL);
    struct craft_input none = {.type = CRAFT_IN_CHANGE, .change = {.target = NULL}};
    assert_int_equal(h_step(h, 1, &none, NULL), CRAFT_EINVAL);
    /* A learner-only change goes straight in. */
    struct craft_membership with_learner = same;
    with_learner.learners[0] = 3;
    with_learner.n_voters = 2;
    with_learner.n_learners = 1;
    assert_int_equal(change(h, 1, &with_learner), 0); /* demote 3: one voter less */
    h_stabilize(h);
    assert_true(has(h, 1, &with_learner));
    assert_true(has(h, 3, &with_learner));
    h_free(h);
}

/* A removed node answering an old AppendEntries with its newer term (it kept campaigning) does
 * not unseat the leader that removed it (found by the simulator: seed 7222). */
static void test_core_change_removed_node_answer_changes_no_term(void **state)
{
    (void)state;
    struct harness *h = h_new();
    init_pool(h, 3, 3);
    h_elect(h, 1);
    const craft_id two[] = {1, 2};
    struct craft_membership target = h_voters(two, 2);
    assert_int_equal(change(h, 1, &target), 0);
    h_stabilize(h);
    assert_true(has(h, 2, &target));
    struct craft_core_status st;
    h_status(h, 1, &st);
    struct craft_msg old = {.type = CRAFT_MSG_APPEND_RESP, .from = 3, .to = 1, .term = st.term + 5,
                            .append_resp = {.success = false, .index = 1, .hint_index = 2}};
    struct craft_output out;
    assert_int_equal(h_feed(h_core(h, 1), &old, &out), 0);
    struct craft_core_status after;
    h_status(h, 1, &after);
    assert_int_equal(after.term, st.term);
    assert_int_equal(after.role, CRAFT_LEADER);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_change_removed_node_answer_changes_no_term),
        cmocka_unit_test(test_core_change_adds_a_voter_after_it_caught_up),
        cmocka_unit_test(test_core_change_joint_replaces_two_voters),
        cmocka_unit_test(test_core_change_removed_leader_steps_down),
        cmocka_unit_test(test_core_change_refusals),
        cmocka_unit_test(test_core_change_removed_node_campaigns_until_committed),
        cmocka_unit_test(test_core_change_stale_member_hears_newer_voter),
        cmocka_unit_test(test_core_change_new_leader_completes_joint_after_term_commit),
        cmocka_unit_test(test_core_change_single_voter_sends_after_its_term_is_durable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
