/* Outcomes of proposals that carry a cookie (src/core/proposals.c): each accepted one comes out
 * once, done when its entry commits, unknown when the leadership that appended it ends first;
 * a refused one gets none (the step's return says why). */
#include "core_harness.h"

static int propose_with(struct harness *h, craft_id id, const uint64_t *cookies, size_t n)
{
    struct craft_buf bufs[8];
    for (size_t i = 0; i < n; i++) {
        bufs[i] = (struct craft_buf){.base = "cmd", .len = 3};
    }
    struct craft_input in = {.type = CRAFT_IN_PROPOSE,
                             .propose = {.cmds = bufs, .n = n, .cookies = cookies}};
    return h_step(h, id, &in, NULL);
}

static void test_core_proposals_done_once_committed(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    const uint64_t cookies[] = {70, 71};
    assert_int_equal(propose_with(h, 1, cookies, 2), 0);
    assert_int_equal(h->nodes[0].n_proposals, 0); /* not committed yet */
    h_stabilize(h);
    assert_int_equal(h->nodes[0].n_proposals, 2);
    struct craft_core_status st;
    h_status(h, 1, &st);
    for (size_t i = 0; i < 2; i++) {
        const struct craft_propose_result *r = &h->nodes[0].proposals[i];
        assert_int_equal(r->cookie, cookies[i]);
        assert_int_equal(r->status, 0);
        assert_int_equal(r->index, st.last_index - 1 + i);
        assert_int_equal(r->term, st.term);
    }
    /* Proposals without cookies get no outcome; a follower refuses at once, without one. */
    assert_int_equal(h_propose(h, 1, "plain", NULL), 0);
    assert_int_equal(propose_with(h, 2, cookies, 1), CRAFT_ENOTLEADER);
    h_stabilize(h);
    assert_int_equal(h->nodes[0].n_proposals, 2);
    assert_int_equal(h->nodes[1].n_proposals, 0);
    h_free(h);
}

/* Plain elections, so 2 can win while 1 is cut off and still thinks it leads. */
static void plain(struct craft_core_config *cfg)
{
    cfg->pre_vote = false;
    cfg->check_quorum = false;
}

static void test_core_proposals_unknown_when_leadership_ends(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, plain);
    h_elect(h, 1);
    for (craft_id to = 2; to <= 3; to++) {
        h->cut[1][to] = h->cut[to][1] = true;
    }
    const uint64_t cookie = 90;
    assert_int_equal(propose_with(h, 1, &cookie, 1), 0);
    h_stabilize(h);
    assert_int_equal(h->nodes[0].n_proposals, 0); /* cut off: it cannot commit */
    h_elect(h, 2); /* 2 and 3 move on */
    for (craft_id to = 2; to <= 3; to++) {
        h->cut[1][to] = h->cut[to][1] = false;
    }
    assert_int_equal(h_tick(h, 2, 60), 0); /* 2's heartbeat tells 1 of the newer term */
    h_stabilize(h);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_FOLLOWER);
    assert_int_equal(h->nodes[0].n_proposals, 1);
    assert_int_equal(h->nodes[0].proposals[0].cookie, cookie);
    assert_int_equal(h->nodes[0].proposals[0].status, CRAFT_EUNKNOWN);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_proposals_done_once_committed),
        cmocka_unit_test(test_core_proposals_unknown_when_leadership_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
