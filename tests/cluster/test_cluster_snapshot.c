/* A node whose directory holds a snapshot restores its state machine from it at startup, then
 * applies only the entries after it; without snapshot_restore it refuses to start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"
#include "io/fs.h"
#include "storage/snapshot_store.h"

static void write_snapshot(const char *dir, const struct craft_snapshot_meta *meta,
                           const struct cl_fsm_view *state)
{
    struct io_fs *fs;
    struct snapshot_writer *w;
    assert_int_equal(io_fs_posix_create(dir, &fs), 0);
    assert_int_equal(snapshot_writer_begin(fs, meta, &w), 0);
    assert_int_equal(snapshot_writer_write(w, state, sizeof *state), 0);
    assert_int_equal(snapshot_writer_finish(w), 0);
    io_fs_posix_destroy(fs);
}

static void test_cluster_restores_from_a_snapshot(void **state)
{
    (void)state;
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    struct craft_node_threads threads = {.log_writer = true, .apply = true};
    cl_init(c, 1, 1, threads);
    cl_start(c, 0);
    assert_int_equal(cl_wait_leader(c, CL_WAIT_MS), 0);
    struct craft_result r;
    struct craft_snapshot_meta meta;
    struct cl_fsm_view at_snapshot = {0};
    memset(&meta, 0, sizeof meta);
    for (uint64_t v = 1; v <= 5; v++) {
        assert_int_equal(cl_propose(c, 0, v, &r), 0);
        if (v == 3) {
            /* A single voter applied it before answering: the state as of this entry. */
            at_snapshot = cl_fsm_view(&c->nodes[0].fsm);
            meta.index = r.index;
            meta.term = r.term;
        }
    }
    struct cl_fsm_view want = cl_fsm_view(&c->nodes[0].fsm);
    assert_int_equal(at_snapshot.n_applied, 3);
    cl_stop(c, 0);

    meta.membership.voters[0] = 1;
    meta.membership.n_voters = 1;
    write_snapshot(c->nodes[0].dir, &meta, &at_snapshot);

    /* Without snapshot_restore the node cannot start from that directory. */
    struct craft_node_config cfg;
    cl_config(c, 0, &cfg);
    struct craft_node *n = NULL;
    char errmsg[256];
    assert_int_equal(craft_node_create(&cfg, &cl_fsm_ops, &c->nodes[0].fsm, &n, errmsg,
                                       sizeof errmsg),
                     CRAFT_EINVAL);
    assert_non_null(strstr(errmsg, "snapshot_restore"));

    /* With it: restored to entry 3, then entries 4 and 5 applied on top. */
    struct craft_fsm_ops ops = cl_fsm_ops;
    ops.snapshot_save = cl_fsm_save;
    ops.snapshot_restore = cl_fsm_restore;
    cl_fsm_close(&c->nodes[0].fsm);
    cl_fsm_init(&c->nodes[0].fsm);
    cl_config(c, 0, &cfg);
    assert_int_equal(craft_node_create(&cfg, &ops, &c->nodes[0].fsm, &n, errmsg, sizeof errmsg),
                     0);
    c->nodes[0].node = n;
    assert_true(cl_wait_applied(c, 5, CL_WAIT_MS));
    struct cl_fsm_view got = cl_fsm_view(&c->nodes[0].fsm);
    assert_int_equal(got.n_applied, want.n_applied);
    assert_int_equal(got.sum, want.sum);
    assert_int_equal(got.hash, want.hash);
    struct craft_node_status st;
    cl_status(c, 0, &st);
    assert_int_equal(st.snapshot_index, meta.index);
    cl_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_restores_from_a_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
