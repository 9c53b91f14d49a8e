/* Snapshots that do not stop applies (fsm snapshot_begin / snapshot_write / snapshot_end): the
 * view is taken between two apply batches, and written on the node's snapshot thread while the
 * state machine goes on applying. The test's snapshot_write waits until entries proposed after
 * the snapshot's index are applied: with a save that held applies back it could never see them,
 * and the snapshot would fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cluster.h"

#define SNAPSHOT_EVERY 10
#define AFTER 5 /* entries applied while the view is written */

struct view_stats {
    pthread_mutex_t mu;
    struct cl_fsm *fsm;
    unsigned begins;
    unsigned ends;
    bool saw_applies; /* snapshot_write saw applies past its view */
};

static struct view_stats stats = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int view_begin(void *ctx, void **view)
{
    struct cl_fsm_view *v = malloc(sizeof *v);
    if (v == NULL) {
        return -1;
    }
    *v = cl_fsm_view(ctx);
    pthread_mutex_lock(&stats.mu);
    stats.begins++;
    pthread_mutex_unlock(&stats.mu);
    *view = v;
    return 0;
}

static int view_write(void *ctx, void *view, struct craft_snapshot_writer *w)
{
    const struct cl_fsm_view *v = view;
    /* Bounded poll: the entries after the view must be applied while this runs. */
    struct timespec step = {.tv_sec = 0, .tv_nsec = 1000000};
    for (unsigned waited_ms = 0; waited_ms < CL_WAIT_MS; waited_ms++) {
        if (cl_fsm_view(ctx).n_applied >= v->n_applied + AFTER) {
            pthread_mutex_lock(&stats.mu);
            stats.saw_applies = true;
            pthread_mutex_unlock(&stats.mu);
            return craft_snapshot_write(w, v, sizeof *v);
        }
        nanosleep(&step, NULL);
    }
    return -1; /* applies stood still while the view was written */
}

static void view_end(void *ctx, void *view)
{
    (void)ctx;
    free(view);
    pthread_mutex_lock(&stats.mu);
    stats.ends++;
    pthread_mutex_unlock(&stats.mu);
}

static void start_node(struct cluster *c, const struct craft_fsm_ops *ops)
{
    struct craft_node_config cfg;
    cl_config(c, 0, &cfg);
    char errmsg[256];
    struct craft_node *n = NULL;
    int rv = craft_node_create(&cfg, ops, &c->nodes[0].fsm, &n, errmsg, sizeof errmsg);
    if (rv != 0) {
        print_error("create: %s\n", errmsg);
    }
    assert_int_equal(rv, 0);
    c->nodes[0].node = n;
}

static void test_cluster_snapshot_view_written_while_applies_go_on(void **state)
{
    (void)state;
    struct craft_fsm_ops ops = cl_fsm_ops;
    ops.snapshot_restore = cl_fsm_restore;
    ops.snapshot_begin = view_begin;
    ops.snapshot_write = view_write;
    ops.snapshot_end = view_end;

    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    struct craft_node_threads threads = {.log_writer = true, .apply = true};
    cl_init(c, 1, 1, threads);
    c->snapshot_every = SNAPSHOT_EVERY;
    start_node(c, &ops);
    assert_int_equal(cl_wait_leader(c, CL_WAIT_MS), 0);
    struct craft_result r;
    for (uint64_t v = 1; v <= SNAPSHOT_EVERY + AFTER; v++) {
        assert_int_equal(cl_propose(c, 0, v, &r), 0);
    }
    struct craft_node_status st;
    CL_WAIT_UNTIL((cl_status(c, 0, &st), st.snapshot_index >= SNAPSHOT_EVERY), CL_WAIT_MS);
    cl_status(c, 0, &st);
    assert_true(st.snapshot_index >= SNAPSHOT_EVERY);
    pthread_mutex_lock(&stats.mu);
    assert_true(stats.saw_applies);
    assert_int_equal(stats.begins, 1);
    pthread_mutex_unlock(&stats.mu);
    struct cl_fsm_view want = cl_fsm_view(&c->nodes[0].fsm);
    cl_stop(c, 0);
    pthread_mutex_lock(&stats.mu);
    assert_int_equal(stats.ends, stats.begins); /* every view released by the stop */
    pthread_mutex_unlock(&stats.mu);

    /* Restarted from that snapshot: its view, then the entries after it. */
    cl_fsm_close(&c->nodes[0].fsm);
    cl_fsm_init(&c->nodes[0].fsm);
    start_node(c, &ops);
    assert_true(cl_wait_applied(c, want.n_applied, CL_WAIT_MS));
    struct cl_fsm_view got = cl_fsm_view(&c->nodes[0].fsm);
    assert_int_equal(got.n_applied, want.n_applied);
    assert_int_equal(got.sum, want.sum);
    assert_int_equal(got.hash, want.hash);
    cl_free(c);
}

/* The three go together, and not with snapshot_save. */
static void test_cluster_snapshot_view_ops_checked(void **state)
{
    (void)state;
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    struct craft_node_threads threads = {.log_writer = true, .apply = true};
    cl_init(c, 1, 1, threads);
    struct craft_node_config cfg;
    cl_config(c, 0, &cfg);
    struct craft_fsm_ops ops = cl_fsm_ops;
    ops.snapshot_restore = cl_fsm_restore;
    ops.snapshot_begin = view_begin; /* without write and end */
    char errmsg[256];
    struct craft_node *n = NULL;
    assert_int_equal(craft_node_create(&cfg, &ops, &c->nodes[0].fsm, &n, errmsg, sizeof errmsg),
                     CRAFT_EINVAL);
    assert_non_null(strstr(errmsg, "snapshot_begin, snapshot_write and snapshot_end"));
    ops.snapshot_write = view_write;
    ops.snapshot_end = view_end;
    ops.snapshot_save = cl_fsm_save;
    assert_int_equal(craft_node_create(&cfg, &ops, &c->nodes[0].fsm, &n, errmsg, sizeof errmsg),
                     CRAFT_EINVAL);
    assert_non_null(strstr(errmsg, "one way to save"));
    cl_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_snapshot_view_written_while_applies_go_on),
        cmocka_unit_test(test_cluster_snapshot_view_ops_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
