/* Replication under each thread layout (struct craft_node_threads): log writer and apply on
 * their own threads or on the loop, all four combinations; and the log writer following the
 * role (threads.log_writer_followers false, the default): only the leader runs the thread, and
 * leadership moving around under writes loses nothing, also across a restart. */
#include <dirent.h>
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
    struct craft_node_threads threads = {
        .log_writer = log_writer, .log_writer_followers = true, .apply = apply};
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

/* This process's threads (every node of a cluster runs in it). */
static unsigned count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    unsigned n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

/* Writes values first..last through whichever node leads. */
static void propose_range(struct cluster *c, uint64_t first, uint64_t last)
{
    for (uint64_t v = first; v <= last; v++) {
        assert_int_equal(cl_propose_leader(c, v, CL_WAIT_MS), 0);
    }
}

static unsigned threads_once_settled(struct cluster *c)
{
    /* A node stops its writer a loop turn after it stepped down (a heartbeat turns it at the
     * latest): wait until every node reports its role, then for the count to hold still. */
    unsigned n = count_threads();
    for (int i = 0; i < 3; i++) {
        cl_pause_ms(150);
        unsigned again = count_threads();
        if (again == n) {
            break;
        }
        n = again;
    }
    (void)c;
    return n;
}

static void test_cluster_layout_writer_follows_role(void **state)
{
    (void)state;
    /* The same cluster twice, with and without followers' writer threads: two writers apart
     * (a writer may run more than one thread). */
    struct craft_node_threads own = {.log_writer = true, .log_writer_followers = true};
    int leader;
    struct cluster *c = cl_open(3, 3, own, &leader);
    propose_range(c, 1, 5);
    unsigned with_followers = threads_once_settled(c);
    cl_free(c);

    struct craft_node_threads follows = {.log_writer = true};
    c = cl_open(3, 3, follows, &leader);
    propose_range(c, 1, 5);
    unsigned leader_only = threads_once_settled(c);
    assert_true(with_followers > leader_only);
    assert_int_equal((with_followers - leader_only) % 2, 0);

    /* Leadership goes round under writes: each new leader starts its writer, each old one
     * stops it once what it took is durable, and the count comes back to one writer. */
    uint64_t v = 5;
    for (unsigned k = 1; k <= 3; k++) {
        unsigned target = ((unsigned)leader + 1) % c->n;
        struct craft_result r;
        assert_int_equal(craft_node_transfer_wait(c->nodes[leader].node, c->nodes[target].id, &r),
                         0);
        propose_range(c, v + 1, v + 20);
        v += 20;
        leader = cl_wait_leader(c, CL_WAIT_MS);
        assert_true(leader >= 0);
        assert_true(CL_WAIT_UNTIL(count_threads() == leader_only, CL_WAIT_MS));
    }
    assert_true(cl_wait_applied(c, v, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    assert_int_equal(cl_fsm_view(&c->nodes[0].fsm).sum, v * (v + 1) / 2);

    /* Everything written under either layout was durable: a restart of all finds it. */
    for (unsigned i = 0; i < c->n; i++) {
        cl_stop(c, i);
        /* Its state machine lived in memory: the new life starts empty and re-applies the log. */
        cl_fsm_close(&c->nodes[i].fsm);
        cl_fsm_init(&c->nodes[i].fsm);
    }
    cl_start_all(c);
    assert_true(cl_wait_leader(c, CL_WAIT_MS) >= 0);
    assert_true(cl_wait_applied(c, v, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    for (unsigned i = 0; i < c->n; i++) {
        struct cl_fsm_view view = cl_fsm_view(&c->nodes[i].fsm);
        assert_int_equal(view.n_applied, v);
        assert_int_equal(view.sum, v * (v + 1) / 2);
    }
    cl_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_layout_writer_follows_role),
        cmocka_unit_test(test_cluster_layout_all_threads),
        cmocka_unit_test(test_cluster_layout_loop_applies),
        cmocka_unit_test(test_cluster_layout_loop_writes),
        cmocka_unit_test(test_cluster_layout_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
