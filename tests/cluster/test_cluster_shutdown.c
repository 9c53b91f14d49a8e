/* craft_node_destroy: every request still pending ends with CRAFT_ESHUTDOWN before destroy
 * returns, a single-voter node serves by itself, and calls after a node stopped fail cleanly.
 * Also run under valgrind (ctest cluster_shutdown_valgrind): a clean shutdown leaks nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

struct tally {
    pthread_mutex_t mu;
    unsigned n_calls;
    unsigned n_ok;
    unsigned n_shutdown;
    unsigned n_other;
};

static void count(void *arg, const struct craft_result *r)
{
    struct tally *t = arg;
    pthread_mutex_lock(&t->mu);
    t->n_calls++;
    if (r->status == 0) {
        t->n_ok++;
        free(r->value);
    } else if (r->status == CRAFT_ESHUTDOWN) {
        t->n_shutdown++;
    } else {
        t->n_other++;
    }
    pthread_mutex_unlock(&t->mu);
}

static void test_cluster_single_voter_serves_alone(void **state)
{
    (void)state;
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    struct craft_node_threads threads = {.log_writer = true, .apply = true};
    cl_init(c, 1, 1, threads);
    cl_start(c, 0);
    assert_int_equal(cl_wait_leader(c, CL_WAIT_MS), 0);
    struct craft_result r;
    for (uint64_t v = 1; v <= 10; v++) {
        assert_int_equal(cl_propose(c, 0, v, &r), 0);
    }
    assert_int_equal(cl_fsm_view(&c->nodes[0].fsm).sum, 55);
    cl_free(c);
}

static void test_cluster_destroy_ends_pending_requests(void **state)
{
    (void)state;
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    struct craft_node_threads threads = {.log_writer = true, .apply = true};
    cl_init(c, 3, 3, threads);
    cl_start_all(c);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    struct craft_result r;
    assert_int_equal(cl_propose(c, (unsigned)leader, 1, &r), 0);
    /* Without its followers the leader cannot commit: what it is given now stays pending. */
    for (unsigned i = 0; i < c->n; i++) {
        if (i != (unsigned)leader) {
            cl_stop(c, i);
        }
    }
    struct tally t;
    memset(&t, 0, sizeof t);
    pthread_mutex_init(&t.mu, NULL);
    unsigned n_submitted = 0;
    struct craft_node *n = c->nodes[leader].node;
    for (uint64_t v = 0; v < 50; v++) {
        unsigned char buf[8] = {(unsigned char)v};
        if (craft_node_propose(n, buf, sizeof buf, count, &t) == 0) {
            n_submitted++;
        }
    }
    if (craft_node_read(n, CRAFT_NODE_READ_LINEARIZABLE, NULL, count, &t) == 0) {
        n_submitted++;
    }
    assert_true(n_submitted > 0);
    cl_stop(c, (unsigned)leader);
    /* Every callback ran before destroy returned, exactly once each. */
    assert_int_equal(t.n_calls, n_submitted);
    assert_int_equal(t.n_ok, 0);
    assert_true(t.n_shutdown > 0);
    pthread_mutex_destroy(&t.mu);
    cl_free(c);
}

static void test_cluster_failed_state_machine_stops_the_node(void **state)
{
    (void)state;
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    struct craft_node_threads threads = {.log_writer = true, .apply = true};
    cl_init(c, 1, 1, threads);
    cl_start(c, 0);
    assert_int_equal(cl_wait_leader(c, CL_WAIT_MS), 0);
    struct craft_result r;
    assert_int_equal(cl_propose(c, 0, 1, &r), 0);
    pthread_mutex_lock(&c->nodes[0].fsm.mu);
    c->nodes[0].fsm.fail_next = true;
    pthread_mutex_unlock(&c->nodes[0].fsm.mu);
    /* The proposal cannot be applied: the node stops and says so. */
    assert_int_equal(cl_propose(c, 0, 2, &r), CRAFT_ESHUTDOWN);
    struct craft_node_status st;
    assert_true(CL_WAIT_UNTIL((cl_status(c, 0, &st), st.role == CRAFT_NODE_STOPPED), CL_WAIT_MS));
    assert_int_equal(cl_propose(c, 0, 3, &r), CRAFT_ESHUTDOWN);
    cl_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_single_voter_serves_alone),
        cmocka_unit_test(test_cluster_destroy_ends_pending_requests),
        cmocka_unit_test(test_cluster_failed_state_machine_stops_the_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
