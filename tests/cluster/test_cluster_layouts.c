/* Replication under each thread layout (struct craft_node_threads): log writer and apply on
 * their own threads or on the loop, all four combinations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cluster.h"

static void replicate_with(bool log_writer, bool apply)
{
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    struct craft_node_threads threads = {.log_writer = log_writer, .apply = apply};
    cl_init(c, 3, 3, threads);
    cl_start_all(c);
    int leader = cl_wait_leader(c, CL_WAIT_MS);
    assert_true(leader >= 0);
    for (uint64_t v = 1; v <= 30; v++) {
        struct craft_result r;
        assert_int_equal(cl_propose(c, (unsigned)leader, v, &r), 0);
        assert_true(r.index >= v);
    }
    assert_true(cl_wait_applied(c, 30, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    assert_int_equal(cl_fsm_view(&c->nodes[1].fsm).sum, 30 * 31 / 2);
    cl_free(c);
}

static void test_cluster_layout_all_threads(void **state)
{
    (void)state;
    replicate_with(true, true);
}

static void test_cluster_layout_loop_applies(void **state)
{
    (void)state;
    replicate_with(true, false);
}

static void test_cluster_layout_loop_writes(void **state)
{
    (void)state;
    replicate_with(false, true);
}

static void test_cluster_layout_one_thread(void **state)
{
    (void)state;
    replicate_with(false, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_layout_all_threads),
        cmocka_unit_test(test_cluster_layout_loop_applies),
        cmocka_unit_test(test_cluster_layout_loop_writes),
        cmocka_unit_test(test_cluster_layout_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
