/* Membership and leadership: a fourth node joins as a voter through craft_node_change_wait,
 * leadership moves to a chosen node with craft_node_transfer_wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static const struct craft_node_threads default_threads = {.log_writer = true, .apply = true};

static bool is_voter(const struct craft_node_status *st, craft_id id)
{
    for (unsigned i = 0; i < st->membership.n_voters; i++) {
        if (st->membership.voters[i] == id) {
            return true;
        }
    }
    return false;
}

static void test_cluster_adds_a_fourth_voter(void **state)
{
    (void)state;
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    cl_init(c, 4, 3, default_threads); /* node 4 boots with no configuration: it waits */
    cl_start(c, 0);
    cl_start(c, 1);
    cl_start(c, 2);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    struct craft_result r;
    for (uint64_t v = 1; v <= 5; v++) {
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
    }

    /* A target naming a node whose address nobody gave is refused at once. */
    struct craft_membership target;
    memset(&target, 0, sizeof target);
    for (unsigned i = 0; i < 4; i++) {
        target.voters[target.n_voters++] = c->nodes[i].id;
    }
    assert_int_equal(craft_node_change_wait(c->nodes[leader].node, &target, &r), CRAFT_EINVAL);

    cl_start(c, 3); /* the others learn its address (craft_node_add_peer) */
    struct craft_node_status st;
    cl_status(c, 3, &st);
    assert_int_equal(st.membership.n_voters, 0);
    assert_int_equal(craft_node_change_wait(c->nodes[leader].node, &target, &r), 0);
    assert_int_equal(r.status, 0);

    cl_status(c, (unsigned)leader, &st);
    assert_int_equal(st.membership.n_voters, 4);
    assert_true(is_voter(&st, 4));
    /* The new node caught up, knows itself a voter and applies new commands. */
    assert_int_equal(cl_propose(c, (unsigned)leader, 6, &r), 0);
    assert_true(cl_wait_applied(c, 6, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    assert_true(CL_WAIT_UNTIL((cl_status(c, 3, &st), is_voter(&st, 4)), CL_WAIT_MS));
    cl_free(c);
}

static void test_cluster_transfers_leadership(void **state)
{
    (void)state;
    int leader;
    struct cluster *c = cl_open(3, 3, default_threads, &leader);
    struct craft_result r;
    assert_int_equal(cl_propose(c, (unsigned)leader, 1, &r), 0);
    unsigned target = ((unsigned)leader + 2) % c->n;

    /* Only the leader hands leadership over. */
    assert_int_equal(craft_node_transfer_wait(c->nodes[target].node, c->nodes[leader].id, &r),
                     CRAFT_ENOTLEADER);

    assert_int_equal(craft_node_transfer_wait(c->nodes[leader].node, c->nodes[target].id, &r), 0);
    assert_int_equal(cl_wait_leader(c, CL_WAIT_MS), (int)target);
    struct craft_node_status st;
    cl_status(c, target, &st);
    assert_int_equal(st.role, CRAFT_NODE_LEADER);
    assert_int_equal(cl_propose(c, target, 2, &r), 0);
    assert_true(cl_wait_applied(c, 2, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    cl_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_adds_a_fourth_voter),
        cmocka_unit_test(test_cluster_transfers_leadership),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
