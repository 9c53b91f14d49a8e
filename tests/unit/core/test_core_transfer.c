/* Leadership transfer through the core's API (src/core/transfer.c): TimeoutNow only once the
 * target caught up, no proposals meanwhile, voters in the old leader's lease answer the
 * transfer's vote request, and the leader gives up after an election timeout. */
#include "core_harness.h"

static int transfer(struct harness *h, craft_id at, craft_id target)
{
    struct craft_input in = {.type = CRAFT_IN_TRANSFER, .transfer = {.target = target}};
    return h_step(h, at, &in, NULL);
}

static enum craft_role role_of(struct harness *h, craft_id id)
{
    struct craft_core_status st;
    h_status(h, id, &st);
    return st.role;
}

static void test_core_transfer_hands_over_within_the_lease(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    assert_int_equal(h_propose(h, 1, "x", NULL), 0);
    h_stabilize(h);
    size_t prevotes = h->n_delivered[CRAFT_MSG_PREVOTE];
    assert_int_equal(transfer(h, 1, 2), 0);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.transfer_target, 2);
    assert_int_equal(h_propose(h, 1, "refused", NULL), CRAFT_EBUSY);
    h_stabilize(h);
    /* Node 3 heard from leader 1 moments ago, yet it voted: the request came from a transfer. */
    assert_int_equal(role_of(h, 2), CRAFT_LEADER);
    assert_int_equal(role_of(h, 1), CRAFT_FOLLOWER);
    assert_int_equal(h->n_delivered[CRAFT_MSG_PREVOTE], prevotes); /* no pre-vote */
    assert_int_equal(h->n_delivered[CRAFT_MSG_TIMEOUT_NOW], 1);
    h_free(h);
}

static void test_core_transfer_waits_for_the_target_to_catch_up(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    h->cut[1][3] = true; /* node 3 falls behind */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(h_propose(h, 1, "y", NULL), 0);
    }
    h_stabilize(h);
    h->cut[1][3] = false;
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_TRANSFER, .transfer = {.target = 3}};
    assert_int_equal(h_step(h, 1, &in, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_TIMEOUT_NOW, false), 0); /* not before it caught up */
    /* Heartbeats find its window stalled and repair it (two intervals at most). */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(h_tick(h, 1, 60), 0);
        h_stabilize(h);
    }
    assert_int_equal(role_of(h, 3), CRAFT_LEADER);
    struct craft_core_status st;
    h_status(h, 3, &st);
    assert_int_equal(st.commit, st.last_index);
    h_free(h);
}

static void test_core_transfer_gives_up_after_an_election_timeout(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    h->cut[1][2] = true;
    h->cut[2][1] = true;
    assert_int_equal(transfer(h, 1, 2), 0);
    assert_int_equal(transfer(h, 1, 3), CRAFT_EBUSY);
    assert_int_equal(h_propose(h, 1, "z", NULL), CRAFT_EBUSY);
    for (int i = 0; i < 31; i++) { /* 310 ms > election_timeout_ms_max */
        assert_int_equal(h_tick(h, 1, 10), 0);
        h_deliver_n(h, h->n_net);
        h_persist(h, 1);
        h_persist(h, 3);
    }
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    assert_int_equal(st.transfer_target, CRAFT_ID_NONE);
    assert_int_equal(h_propose(h, 1, "again", NULL), 0);
    h_free(h);
}

static void test_core_transfer_to_the_most_caught_up(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    h->cut[1][2] = true;
    assert_int_equal(h_propose(h, 1, "w", NULL), 0);
    h_stabilize(h);
    h->cut[1][2] = false;
    assert_int_equal(transfer(h, 1, CRAFT_ID_NONE), 0);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.transfer_target, 3);
    h_stabilize(h);
    assert_int_equal(role_of(h, 3), CRAFT_LEADER);
    h_free(h);
}

static void test_core_transfer_refusals(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    assert_int_equal(transfer(h, 2, 3), CRAFT_ENOTLEADER);
    assert_int_equal(transfer(h, 1, 1), CRAFT_EINVAL);
    assert_int_equal(transfer(h, 1, 9), CRAFT_EINVAL);
    /* TimeoutNow from a node that is not our leader is ignored. */
    struct craft_core_status st;
    h_status(h, 2, &st);
    struct craft_msg m = {.type = CRAFT_MSG_TIMEOUT_NOW, .from = 3, .to = 2, .term = st.term};
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_MSGS, .msgs = {.msgs = &m, .n = 1}};
    assert_int_equal(h_step(h, 2, &in, &out), 0);
    assert_int_equal(role_of(h, 2), CRAFT_FOLLOWER);
    /* One of an earlier term neither. */
    m.from = 1;
    m.term = st.term - 1;
    assert_int_equal(h_step(h, 2, &in, &out), 0);
    assert_int_equal(role_of(h, 2), CRAFT_FOLLOWER);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_transfer_hands_over_within_the_lease),
        cmocka_unit_test(test_core_transfer_waits_for_the_target_to_catch_up),
        cmocka_unit_test(test_core_transfer_gives_up_after_an_election_timeout),
        cmocka_unit_test(test_core_transfer_to_the_most_caught_up),
        cmocka_unit_test(test_core_transfer_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
