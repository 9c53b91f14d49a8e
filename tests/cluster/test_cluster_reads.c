/* Reads through the node: linearizable (ReadIndex) on the leader and through a follower, lease
 * reads on the leader, stale reads anywhere; the read's fn sees the state machine at or past
 * the read index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cluster.h"

static const struct craft_node_threads default_threads = {.log_writer = true, .apply = true};

struct seen {
    uint64_t sum;
    uint64_t n_applied;
    unsigned calls;
};

/* Runs on the apply thread: the state machine holds still meanwhile. */
static void read_fsm(void *arg, void *fsm_ctx)
{
    struct seen *s = arg;
    struct cl_fsm_view v = cl_fsm_view(fsm_ctx);
    s->sum = v.sum;
    s->n_applied = v.n_applied;
    s->calls++;
}

static struct cluster *started(bool lease)
{
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    cl_init(c, 3, 3, default_threads);
    c->lease_reads = lease;
    cl_start_all(c);
    return c;
}

static void test_cluster_linearizable_reads(void **state)
{
    (void)state;
    struct cluster *c = started(false);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    struct craft_result r;
    for (uint64_t v = 1; v <= 5; v++) {
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
    }
    /* Each node, the followers through the leader's read index, sees every acknowledged write. */
    for (unsigned i = 0; i < c->n; i++) {
        struct seen s = {0};
        assert_int_equal(
            craft_node_read_wait(c->nodes[i].node, CRAFT_NODE_READ_LINEARIZABLE, read_fsm, &s, &r),
            0);
        assert_int_equal(s.calls, 1);
        assert_int_equal(s.sum, 15);
        assert_int_equal(s.n_applied, 5);
        assert_true(r.index >= 5);
    }
    /* Lease reads are off in this cluster. */
    struct seen s = {0};
    assert_int_equal(
        craft_node_read_wait(c->nodes[leader].node, CRAFT_NODE_READ_LEASE, read_fsm, &s, &r),
        CRAFT_EINVAL);
    assert_int_equal(s.calls, 0);
    assert_int_equal(craft_node_read_wait(c->nodes[leader].node, 99, read_fsm, &s, &r),
                     CRAFT_EINVAL);
    cl_free(c);
}

static void test_cluster_lease_and_stale_reads(void **state)
{
    (void)state;
    struct cluster *c = started(true);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    struct craft_result r;
    for (uint64_t v = 1; v <= 4; v++) {
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
    }
    struct seen s = {0};
    /* The lease needs the leader's followers to have answered recently: poll until it holds. */
    int rv;
    assert_true(CL_WAIT_UNTIL((rv = craft_node_read_wait(c->nodes[leader].node,
                                                         CRAFT_NODE_READ_LEASE, read_fsm, &s,
                                                         &r)) == 0,
                              CL_WAIT_MS));
    assert_int_equal(s.sum, 10);
    /* A follower holds no lease: it asks the leader for the read index, and still sees every
     * acknowledged write. */
    unsigned follower = ((unsigned)leader + 1) % c->n;
    struct seen f = {0};
    rv = craft_node_read_wait(c->nodes[follower].node, CRAFT_NODE_READ_LEASE, read_fsm, &f, &r);
    assert_int_equal(rv, 0);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.sum, 10);
    /* A stale read runs on any node, with whatever it has applied. */
    assert_true(cl_wait_applied(c, 4, CL_WAIT_MS));
    struct seen st = {0};
    assert_int_equal(
        craft_node_read_wait(c->nodes[follower].node, CRAFT_NODE_READ_STALE, read_fsm, &st, &r),
        0);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.sum, 10);
    /* fn may be NULL: only the outcome. */
    assert_int_equal(
        craft_node_read_wait(c->nodes[follower].node, CRAFT_NODE_READ_STALE, NULL, NULL, &r), 0);
    cl_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_linearizable_reads),
        cmocka_unit_test(test_cluster_lease_and_stale_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
