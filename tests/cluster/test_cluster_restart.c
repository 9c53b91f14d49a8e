/* Crashes of a kind: a node destroyed and created again on its directory catches up and rebuilds
 * its state machine from the log; a destroyed leader is replaced and keeps acknowledged writes;
 * a whole cluster restarted comes back with its state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cluster.h"

static const struct craft_node_threads default_threads = {.log_writer = true, .apply = true};

static struct cluster *started(void)
{
    struct cluster *c = cl_open(3, 3, default_threads, NULL);
    return c;
}

static void done(struct cluster *c)
{
    cl_free(c);
}

static void test_cluster_restarted_follower_catches_up(void **state)
{
    (void)state;
    struct cluster *c = started();
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    unsigned follower = ((unsigned)leader + 1) % c->n;
    struct craft_result r;
    for (uint64_t v = 1; v <= 10; v++) {
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
    }
    assert_true(cl_wait_applied(c, 10, CL_WAIT_MS));
    cl_stop(c, follower);
    /* Its state machine lived in memory: the new life starts empty and re-applies the log. */
    cl_fsm_close(&c->nodes[follower].fsm);
    cl_fsm_init(&c->nodes[follower].fsm);
    for (uint64_t v = 11; v <= 20; v++) {
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
    }
    cl_start(c, follower);
    assert_true(cl_wait_applied(c, 20, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    struct cl_fsm_view v = cl_fsm_view(&c->nodes[follower].fsm);
    assert_int_equal(v.n_applied, 20);
    assert_int_equal(v.sum, 20 * 21 / 2);
    done(c);
}

static void test_cluster_leader_killed_new_leader_keeps_writes(void **state)
{
    (void)state;
    struct cluster *c = started();
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    struct craft_node_status before;
    cl_status(c, (unsigned)leader, &before);
    struct craft_result r;
    for (uint64_t v = 100; v < 110; v++) {
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
    }
    cl_stop(c, (unsigned)leader);
    int next = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(next >= 0);
    assert_true(next != leader);
    struct craft_node_status after;
    cl_status(c, (unsigned)next, &after);
    assert_true(after.term > before.term);
    /* Every acknowledged write is on both survivors, and the new leader takes more. */
    assert_true(cl_wait_applied(c, 10, CL_WAIT_MS));
    for (unsigned i = 0; i < c->n; i++) {
        if (c->nodes[i].node == NULL) {
            continue;
        }
        for (uint64_t v = 100; v < 110; v++) {
            assert_true(cl_fsm_has(&c->nodes[i].fsm, v));
        }
    }
    assert_int_equal(cl_propose(c, (unsigned)next, 200, &r), 0);
    assert_true(cl_wait_applied(c, 11, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    done(c);
}

static void test_cluster_whole_restart_keeps_state(void **state)
{
    (void)state;
    struct cluster *c = started();
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    struct craft_result r;
    for (uint64_t v = 1; v <= 15; v++) {
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
    }
    assert_true(cl_wait_applied(c, 15, CL_WAIT_MS));
    struct cl_fsm_view want = cl_fsm_view(&c->nodes[0].fsm);
    for (unsigned i = 0; i < c->n; i++) {
        cl_stop(c, i);
        cl_fsm_close(&c->nodes[i].fsm);
        cl_fsm_init(&c->nodes[i].fsm);
    }
    cl_start_all(c);
    leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    /* The new leader's first entry commits the old ones; then everything is applied again. */
    assert_int_equal(cl_propose(c, (unsigned)leader, 16, &r), 0);
    assert_true(cl_wait_applied(c, 16, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    struct cl_fsm_view got = cl_fsm_view(&c->nodes[0].fsm);
    assert_int_equal(got.sum, want.sum + 16);
    done(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_restarted_follower_catches_up),
        cmocka_unit_test(test_cluster_leader_killed_new_leader_keeps_writes),
        cmocka_unit_test(test_cluster_whole_restart_keeps_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
