/* Snapshots taken by the nodes themselves, and a follower that fell behind the leader's log
 * catching up from a snapshot streamed over TCP: its state machine is restored from it, then
 * it applies what came after, and ends equal to the others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

#define EVERY 10
#define WRITES 57

static void catch_up_from_a_snapshot(struct craft_node_threads threads)
{
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    cl_init(c, 3, 3, threads);
    c->snapshot_every = EVERY;
    c->log_trailing = 0; /* nothing kept below a snapshot: a follower behind needs it */
    cl_start_all(c);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    unsigned lagging = (unsigned)(leader + 1) % 3;
    cl_stop(c, lagging);
    for (uint64_t v = 1; v <= WRITES; v++) {
        assert_int_equal(cl_propose_leader(c, v, CL_WAIT_MS), 0);
    }
    /* The leader snapshotted at every multiple and dropped its log below the newest. */
    struct craft_node_status st;
    leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    assert_true(CL_WAIT_UNTIL((cl_status(c, (unsigned)leader, &st), st.snapshot_index >= 50),
                              CL_WAIT_MS));
    cl_start(c, lagging);
    assert_true(cl_wait_applied(c, WRITES, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    /* It got there by the snapshot: its own log starts after one. */
    cl_status(c, lagging, &st);
    assert_true(st.snapshot_index >= EVERY);
    /* And it goes on replicating after it. */
    assert_int_equal(cl_propose_leader(c, WRITES + 1, CL_WAIT_MS), 0);
    assert_true(cl_wait_applied(c, WRITES + 1, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    cl_free(c);
}

static void test_cluster_follower_catches_up_from_a_snapshot(void **state)
{
    (void)state;
    catch_up_from_a_snapshot((struct craft_node_threads){.log_writer = true, .apply = true});
}

static void test_cluster_follower_catches_up_from_a_snapshot_one_thread(void **state)
{
    (void)state;
    catch_up_from_a_snapshot((struct craft_node_threads){.log_writer = false, .apply = false});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_follower_catches_up_from_a_snapshot),
        cmocka_unit_test(test_cluster_follower_catches_up_from_a_snapshot_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
