/* craft_node_snapshot: a snapshot taken on request, on the leader and on a follower, far from
 * any snapshot_every threshold; it covers what the node applied, is durable (a restart boots
 * from it) and the log behind it is compacted; a node whose state machine cannot save one is
 * refused with CRAFT_ENOTSUP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

#define WRITES 23
#define NEVER 1000000 /* snapshot_every: far beyond this test, so only requests take one */

static void snapshot_on_request(struct craft_node_threads threads)
{
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    cl_init(c, 3, 3, threads);
    c->snapshot_every = NEVER; /* the state machine saves and restores (cl_fsm_snapshot_ops) */
    c->log_trailing = 0;
    cl_start_all(c);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    struct craft_result r;
    craft_index last = 0;
    for (uint64_t v = 1; v <= WRITES; v++) {
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
        last = r.index;
    }
    /* The leader applied every write before answering it: its snapshot covers them all. */
    struct craft_node_status st;
    assert_int_equal(craft_node_snapshot_wait(c->nodes[leader].node, &r), 0);
    assert_true(r.index >= last);
    assert_true(r.term >= 1);
    cl_status(c, (unsigned)leader, &st);
    assert_int_equal(st.snapshot_index, r.index);
    assert_true(st.applied >= r.index);
    /* Asked again with nothing new applied: the same snapshot. */
    craft_index first = r.index;
    assert_int_equal(craft_node_snapshot_wait(c->nodes[leader].node, &r), 0);
    assert_int_equal(r.index, first);

    /* A follower, once it applied the writes. */
    unsigned f = (unsigned)(leader + 1) % 3;
    assert_true(cl_wait_applied(c, WRITES, CL_WAIT_MS));
    assert_int_equal(craft_node_snapshot_wait(c->nodes[f].node, &r), 0);
    assert_true(r.index >= last);
    cl_status(c, f, &st);
    assert_int_equal(st.snapshot_index, r.index);
    craft_index taken = r.index;
    struct cl_fsm_view before = cl_fsm_view(&c->nodes[f].fsm);

    /* Durable: restarted, it boots from it (a fresh state machine restored, not replayed from
     * entry 1) and holds the same state. */
    cl_stop(c, f);
    cl_fsm_close(&c->nodes[f].fsm);
    cl_fsm_init(&c->nodes[f].fsm);
    cl_start(c, f);
    cl_status(c, f, &st);
    assert_true(st.snapshot_index >= taken);
    assert_true(CL_WAIT_UNTIL(cl_fsm_view(&c->nodes[f].fsm).n_applied >= WRITES, CL_WAIT_MS));
    struct cl_fsm_view after = cl_fsm_view(&c->nodes[f].fsm);
    assert_int_equal(after.sum, before.sum);
    assert_int_equal(after.hash, before.hash);
    assert_false(cl_fsm_has(&c->nodes[f].fsm, 1)); /* entry 1 came from the snapshot */
    assert_int_equal(cl_propose_leader(c, WRITES + 1, CL_WAIT_MS), 0);
    assert_true(cl_wait_applied(c, WRITES + 1, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    cl_free(c);
}

static void test_cluster_snapshot_now(void **state)
{
    (void)state;
    snapshot_on_request((struct craft_node_threads){.log_writer = true, .apply = true});
}

static void test_cluster_snapshot_now_one_thread(void **state)
{
    (void)state;
    snapshot_on_request((struct craft_node_threads){.log_writer = false, .apply = false});
}

/* A state machine without snapshot_save: refused, and the node goes on. */
static void test_cluster_snapshot_now_not_supported(void **state)
{
    (void)state;
    int leader;
    struct cluster *c = cl_open(1, 1, (struct craft_node_threads){.log_writer = true}, &leader);
    struct craft_result r;
    assert_int_equal(craft_node_snapshot_wait(c->nodes[0].node, &r), CRAFT_ENOTSUP);
    assert_int_equal(r.status, CRAFT_ENOTSUP);
    assert_int_equal(cl_propose(c, 0, 5, &r), 0);
    assert_int_equal(craft_node_snapshot(NULL, NULL, NULL), CRAFT_EINVAL);
    cl_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_snapshot_now),
        cmocka_unit_test(test_cluster_snapshot_now_one_thread),
        cmocka_unit_test(test_cluster_snapshot_now_not_supported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
