/* Leader election through the public core API (§5.2, §5.4.1), with pre-vote and check-quorum
 * (thesis §9.6, §6.2), and config validation. */
#include "core_harness.h"

static void no_pre_vote(struct craft_core_config *cfg)
{
    cfg->pre_vote = false;
}

static void test_core_election_single_node_commits_only_after_persist(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 1, NULL);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
    assert_int_equal(h_step(h, 1, &in, &out), 0);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    assert_int_equal(st.term, 1);
    assert_int_equal(out.n_entries, 1); /* the new leader's no-op, to persist */
    assert_int_equal(out.entries[0].type, CRAFT_ENTRY_NOOP);
    assert_int_equal(out.n_committed, 0);
    assert_int_equal(st.commit, 0); /* not durable yet: nothing commits */

    h_persist(h, 1);
    h_status(h, 1, &st);
    assert_int_equal(st.commit, 1);

    assert_int_equal(h_propose(h, 1, "cmd", &out), 0);
    assert_int_equal(out.proposed_index_first, 2);
    assert_int_equal(out.proposed_term, 1);
    assert_int_equal(out.n_entries, 1);
    assert_int_equal(out.n_committed, 0);
    h_status(h, 1, &st);
    assert_int_equal(st.commit, 1);
    in = (struct craft_input){.type = CRAFT_IN_TICK, .tick.now_ms = 10};
    assert_int_equal(h_step(h, 1, &in, &out), 0);
    h_status(h, 1, &st);
    assert_int_equal(st.commit, 1); /* still not durable */

    in = (struct craft_input){.type = CRAFT_IN_PERSISTED, .persisted = {.term = 1, .index = 2}};
    assert_int_equal(h_step(h, 1, &in, &out), 0);
    assert_int_equal(out.n_committed, 1); /* the no-op went out with the first persist */
    assert_int_equal(out.committed[0].index, 2);
    assert_memory_equal(out.committed[0].data.base, "cmd", 3);
    h_status(h, 1, &st);
    assert_int_equal(st.commit, 2);
    h_free(h);
}

static void test_core_election_three_nodes_elect_and_commit(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    for (craft_id id = 1; id <= 3; id++) {
        assert_int_equal(craft_core_leader(h_core(h, id)), CRAFT_ID_NONE);
    }
    h_elect(h, 1);
    for (craft_id id = 1; id <= 3; id++) {
        assert_int_equal(craft_core_leader(h_core(h, id)), 1);
    }
    assert_int_equal(h_propose(h, 1, "hello", NULL), 0);
    h_stabilize(h);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.commit, 2);
    /* Followers learn the commit index from the next heartbeat. */
    assert_int_equal(h_tick(h, 1, 50), 0);
    h_stabilize(h);
    for (craft_id id = 1; id <= 3; id++) {
        h_status(h, id, &st);
        assert_int_equal(st.term, 1);
        assert_int_equal(st.commit, 2);
        assert_int_equal(h->nodes[id - 1].applied_last, 2);
        const struct craft_entry *e;
        assert_int_equal(craft_core_entry(h_core(h, id), 2, &e), 0);
        assert_memory_equal(e->data.base, "hello", 5);
    }
    h_free(h);
}

static void test_core_election_ticks_elect_a_leader(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    for (int i = 0; i < 100; i++) {
        for (craft_id id = 1; id <= 3; id++) {
            assert_int_equal(h_tick(h, id, 10), 0);
        }
        h_stabilize(h);
    }
    craft_id leader = craft_core_leader(h_core(h, 1));
    assert_int_not_equal(leader, CRAFT_ID_NONE);
    for (craft_id id = 2; id <= 3; id++) {
        assert_int_equal(craft_core_leader(h_core(h, id)), leader);
    }
    h_free(h);
}

/* Node 1 holds [1:t1, 2:t2] in term 2. */
static struct craft_core *voter_with_log(bool check_quorum)
{
    static struct craft_entry entries[2];
    const craft_term terms[] = {1, 2};
    h_make_entries(entries, terms, 2);
    struct craft_core_boot boot = {.hard_state = {.term = 2}, .entries = entries, .n_entries = 2};
    craft_id voters[] = {1, 2, 3};
    struct craft_core_config cfg;
    h_config(&cfg, 1, voters, 3);
    cfg.check_quorum = check_quorum;
    struct craft_core *c = NULL;
    assert_int_equal(craft_core_create(&cfg, &boot, &c), 0);
    return c;
}

static const struct craft_msg *find_vote_resp(const struct craft_output *out, craft_id to)
{
    for (size_t k = 0; k < out->n_msgs; k++) {
        if (out->msgs[k].type == CRAFT_MSG_VOTE_RESP && out->msgs[k].to == to) {
            return &out->msgs[k];
        }
    }
    for (size_t k = 0; k < out->n_msgs_after_persist; k++) {
        if (out->msgs_after_persist[k].type == CRAFT_MSG_VOTE_RESP &&
            out->msgs_after_persist[k].to == to) {
            return &out->msgs_after_persist[k];
        }
    }
    return NULL;
}

static void test_core_election_refuses_vote_for_older_or_shorter_log(void **state)
{
    (void)state;
    struct craft_core *c = voter_with_log(false);
    struct craft_output out;
    /* Longer, but its last term is older. */
    struct craft_msg m = {.type = CRAFT_MSG_VOTE, .from = 2, .to = 1, .term = 3,
                          .vote = {.last_index = 9, .last_term = 1}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    const struct craft_msg *r = find_vote_resp(&out, 2);
    assert_non_null(r);
    assert_false(r->vote_resp.granted);
    /* Same last term, but shorter. */
    m = (struct craft_msg){.type = CRAFT_MSG_VOTE, .from = 3, .to = 1, .term = 3,
                           .vote = {.last_index = 1, .last_term = 2}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    r = find_vote_resp(&out, 3);
    assert_non_null(r);
    assert_false(r->vote_resp.granted);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.vote, CRAFT_ID_NONE);
    /* An up-to-date log gets the vote. */
    m = (struct craft_msg){.type = CRAFT_MSG_VOTE, .from = 3, .to = 1, .term = 3,
                           .vote = {.last_index = 2, .last_term = 2}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    r = find_vote_resp(&out, 3);
    assert_non_null(r);
    assert_true(r->vote_resp.granted);
    craft_core_destroy(c);
}

static void test_core_election_granted_vote_waits_for_persist(void **state)
{
    (void)state;
    struct craft_core *c = voter_with_log(false);
    struct craft_output out;
    struct craft_msg m = {.type = CRAFT_MSG_VOTE, .from = 2, .to = 1, .term = 3,
                          .vote = {.last_index = 2, .last_term = 2}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_VOTE_RESP, false), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_VOTE_RESP, true), 1);
    assert_true(out.msgs_after_persist[0].vote_resp.granted);
    assert_int_equal(out.msgs_after_persist[0].term, 3);
    assert_true(out.hard_state_changed);
    assert_int_equal(out.hard_state.term, 3);
    assert_int_equal(out.hard_state.vote, 2);
    /* The same request again, before the caller reported anything: the vote it repeats may not
     * be durable yet, so the answer still waits for the persist. */
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_VOTE_RESP, false), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_VOTE_RESP, true), 1);
    assert_true(out.msgs_after_persist[0].vote_resp.granted);
    /* Another candidate in the same term is refused: one vote per term. */
    m.from = 3;
    assert_int_equal(h_feed(c, &m, &out), 0);
    const struct craft_msg *r = find_vote_resp(&out, 3);
    assert_non_null(r);
    assert_false(r->vote_resp.granted);
    craft_core_destroy(c);
}

static void test_core_election_pre_vote_keeps_partitioned_term(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    struct craft_core_status st;
    h_status(h, 3, &st);
    craft_term term = st.term;
    for (craft_id other = 1; other <= 2; other++) {
        h->cut[3][other] = true;
        h->cut[other][3] = true;
    }
    for (int i = 0; i < 30; i++) { /* 3 s: ten maximal election timeouts */
        assert_int_equal(h_tick(h, 3, 100), 0);
        h_stabilize(h);
    }
    h_status(h, 3, &st);
    assert_int_equal(st.term, term);
    assert_int_not_equal(st.role, CRAFT_LEADER);
    assert_int_not_equal(st.role, CRAFT_CANDIDATE);
    h_free(h);
}

static void test_core_election_without_pre_vote_partitioned_term_rises(void **state)
{
    (void)state;
    /* The control for the test above: the same partition raises the term without pre-vote. */
    struct harness *h = h_new();
    h_init(h, 3, no_pre_vote);
    h_elect(h, 1);
    for (craft_id other = 1; other <= 2; other++) {
        h->cut[3][other] = true;
        h->cut[other][3] = true;
    }
    for (int i = 0; i < 30; i++) {
        assert_int_equal(h_tick(h, 3, 100), 0);
        h_stabilize(h);
    }
    struct craft_core_status st;
    h_status(h, 3, &st);
    assert_true(st.term > 1);
    h_free(h);
}

static void test_core_election_check_quorum_leader_steps_down(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    /* While followers answer, the leader stays. */
    for (int i = 0; i < 40; i++) {
        assert_int_equal(h_tick(h, 1, 50), 0);
        h_stabilize(h);
    }
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    for (craft_id other = 2; other <= 3; other++) {
        h->cut[1][other] = true;
        h->cut[other][1] = true;
    }
    /* An election timeout (at most 300 ms) with nobody heard, plus the grace interval. */
    for (int i = 0; i < 14; i++) {
        assert_int_equal(h_tick(h, 1, 50), 0);
        h_stabilize(h);
    }
    h_status(h, 1, &st);
    /* Stepped down (and, cut off, may be running a pre-vote by now). */
    assert_int_not_equal(st.role, CRAFT_LEADER);
    assert_int_equal(st.term, 1); /* stepping down does not raise the term */
    assert_int_equal(craft_core_leader(h_core(h, 1)), CRAFT_ID_NONE);
    h_free(h);
}

static void test_core_election_config_validation(void **state)
{
    (void)state;
    craft_id voters[] = {1, 2, 3};
    struct craft_core_config cfg;
    struct craft_core *c = NULL;
    h_config(&cfg, 1, voters, 3);
    assert_int_equal(craft_core_create(&cfg, NULL, &c), 0);
    craft_core_destroy(c);

    struct craft_core_config bad;
    bad = cfg;
    bad.election_timeout_ms_min = 0;
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
    bad = cfg;
    bad.election_timeout_ms_max = bad.election_timeout_ms_min; /* empty range */
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
    bad = cfg;
    bad.election_timeout_ms_max = bad.election_timeout_ms_min - 1;
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
    bad = cfg;
    bad.heartbeat_interval_ms = bad.election_timeout_ms_min;
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
    bad = cfg;
    bad.heartbeat_interval_ms = 0;
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
    bad = cfg;
    bad.id = CRAFT_ID_NONE;
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
    bad = cfg;
    bad.voters = NULL; /* with n_voters > 0 */
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
    bad = cfg;
    bad.n_voters = CRAFT_VOTERS_MAX + 1;
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
    /* No bootstrap voters: a node waiting to be added. It starts, but never campaigns. */
    bad = cfg;
    bad.voters = NULL;
    bad.n_voters = 0;
    assert_int_equal(craft_core_create(&bad, NULL, &c), 0);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(out.n_msgs, 0);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.role, CRAFT_FOLLOWER);
    craft_core_destroy(c);
    bad = cfg;
    bad.inflight_msgs_max = 0;
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
    bad = cfg;
    bad.append_entries_max = 0;
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
    craft_id dup[] = {1, 1};
    bad = cfg;
    bad.voters = dup;
    bad.n_voters = 2;
    assert_int_equal(craft_core_create(&bad, NULL, &c), CRAFT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_election_single_node_commits_only_after_persist),
        cmocka_unit_test(test_core_election_three_nodes_elect_and_commit),
        cmocka_unit_test(test_core_election_ticks_elect_a_leader),
        cmocka_unit_test(test_core_election_refuses_vote_for_older_or_shorter_log),
        cmocka_unit_test(test_core_election_granted_vote_waits_for_persist),
        cmocka_unit_test(test_core_election_pre_vote_keeps_partitioned_term),
        cmocka_unit_test(test_core_election_without_pre_vote_partitioned_term_rises),
        cmocka_unit_test(test_core_election_check_quorum_leader_steps_down),
        cmocka_unit_test(test_core_election_config_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
