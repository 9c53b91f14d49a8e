/* Snapshot files (snapshot_writer.c, snapshot_reader.c, snapshot_dir.c, snapshot_format.c): the
 * version 2 header carries the whole membership and refuses one no cluster can have; the reader
 * refuses bytes after the trailer and a file pieced together from two files; a snapshot of
 * higher index survives the publication of a lower one. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "io/sim/fs_sim.h"
#include "snapshot_helpers.h"
#include "storage/snapshot_format.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

#define IMAGE_BYTES (600u << 10) /* three chunks: 256, 256 and 88 KiB */

static struct craft_snapshot_meta joint_meta(void)
{
    struct craft_snapshot_meta m = snap_meta(77, 5, 3);
    m.membership.voters[2] = 9;
    m.membership.n_voters_old = 2;
    m.membership.voters_old[0] = 1;
    m.membership.voters_old[1] = 4;
    m.membership.n_learners = 2;
    m.membership.learners[0] = 12;
    m.membership.learners[1] = 11;
    return m;
}

static void assert_meta_equal(const struct craft_snapshot_meta *a,
                              const struct craft_snapshot_meta *b)
{
    assert_int_equal(a->index, b->index);
    assert_int_equal(a->term, b->term);
    const struct craft_membership *x = &a->membership;
    const struct craft_membership *y = &b->membership;
    assert_int_equal(x->n_voters, y->n_voters);
    assert_int_equal(x->n_voters_old, y->n_voters_old);
    assert_int_equal(x->n_learners, y->n_learners);
    assert_memory_equal(x->voters, y->voters, x->n_voters * sizeof x->voters[0]);
    assert_memory_equal(x->voters_old, y->voters_old, x->n_voters_old * sizeof x->voters_old[0]);
    assert_memory_equal(x->learners, y->learners, x->n_learners * sizeof x->learners[0]);
}

static void test_snapshot_store_round_trip_keeps_the_whole_membership(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(1, &sim), 0);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct craft_snapshot_meta m = joint_meta();
    assert_int_equal(snap_write(fs, &m, IMAGE_BYTES, 0), 0);
    struct craft_snapshot_meta got;
    bool found = false;
    assert_int_equal(snapshot_latest(fs, &got, &found), 0);
    assert_true(found);
    assert_meta_equal(&got, &m);
    char errmsg[256] = "";
    if (snap_read_check(fs, m.index, m.term, IMAGE_BYTES, 0, errmsg, sizeof errmsg) != 0) {
        fail_msg("reading the image back: %s", errmsg);
    }
    /* Every list full: the largest header. */
    struct craft_snapshot_meta big = snap_meta(78, 5, CRAFT_VOTERS_MAX);
    big.membership.n_voters_old = CRAFT_VOTERS_MAX;
    big.membership.n_learners = CRAFT_LEARNERS_MAX;
    for (unsigned i = 0; i < CRAFT_VOTERS_MAX; i++) {
        big.membership.voters_old[i] = 100 + i;
    }
    for (unsigned i = 0; i < CRAFT_LEARNERS_MAX; i++) {
        big.membership.learners[i] = 200 + i;
    }
    assert_int_equal(snap_write(fs, &big, 1, 0), 0);
    assert_int_equal(snapshot_latest(fs, &got, &found), 0);
    assert_meta_equal(&got, &big);
    io_fs_sim_destroy(sim);
}

static void test_snapshot_store_invalid_membership_is_refused(void **state)
{
    (void)state;
    struct craft_snapshot_meta bad[10];
    for (size_t i = 0; i < 10; i++) {
        bad[i] = joint_meta();
    }
    bad[0].membership.n_voters = 0;                            /* no voter */
    bad[1].membership.voters[1] = bad[1].membership.voters[0]; /* a voter twice */
    bad[2].membership.voters_old[1] = 1;                       /* an old voter twice */
    bad[3].membership.learners[1] = 12;                        /* a learner twice */
    bad[4].membership.learners[0] = 9;                         /* a learner that votes */
    bad[5].membership.learners[0] = 4;                         /* a learner that voted in C_old */
    bad[6].membership.voters[0] = CRAFT_ID_NONE;               /* id 0 */
    bad[7].membership.n_learners = CRAFT_LEARNERS_MAX + 1;
    bad[8].index = 0;
    bad[9].term = 0;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(1, &sim), 0);
    for (size_t i = 0; i < 10; i++) {
        struct snapshot_writer *w;
        if (snapshot_writer_begin(io_fs_sim_fs(sim), &bad[i], &w) != CRAFT_EINVAL) {
            fail_msg("bad membership %zu was taken", i);
        }
        assert_false(snapshot_meta_valid(&bad[i]));
    }
    io_fs_sim_destroy(sim);
}

/* A header whose checksum holds over fields that do not: refused all the same. */
static void test_snapshot_store_header_with_a_valid_checksum_is_still_checked(void **state)
{
    (void)state;
    struct craft_snapshot_meta m = joint_meta();
    unsigned char b[SNAPSHOT_HEADER_MAX];
    size_t size = snapshot_header_encode(5, &m, b);
    assert_int_equal(size, 52 + 8 * 7);
    struct craft_snapshot_meta got;
    uint64_t group = 0;
    assert_int_equal(snapshot_header_decode(b, size, &group, &got), size);
    assert_meta_equal(&got, &m);
    assert_int_equal(group, 5);
    assert_int_equal(snapshot_header_decode(b, size - 1, &group, &got), 0); /* short */
    struct {
        size_t at;
        unsigned char value;
    } edits[] = {
        {36, 0},                      /* no voter */
        {37, CRAFT_VOTERS_MAX + 1},   /* too many old voters */
        {38, CRAFT_LEARNERS_MAX + 1}, /* too many learners */
        {39, 1},                      /* reserved */
        {40, 0},                      /* group 0 */
        {48 + 8, 1},                  /* voter 2 = voter 1 */
        {48 + 8 * 5, 9},              /* learner 12 becomes voter 9 */
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        unsigned char e[SNAPSHOT_HEADER_MAX];
        memcpy(e, b, size);
        if (edits[i].at >= 48) {
            put_u64le(e + edits[i].at, edits[i].value);
        } else {
            e[edits[i].at] = edits[i].value;
        }
        put_u32le(e + size - 4, crc32c(0, e, size - 4));
        if (snapshot_header_decode(e, sizeof e, &group, &got) != 0) {
            fail_msg("edit %zu (byte %zu = %u) was taken", i, edits[i].at, edits[i].value);
        }
    }
}

static int open_file(struct io_fs *fs, craft_index index, craft_term term, struct io_file **f)
{
    char name[IO_FS_NAME_MAX];
    snapshot_file_name(index, term, name, sizeof name);
    return io_fs_open(fs, name, 0, f);
}

static void expect_corrupt(struct io_fs *fs, const struct craft_snapshot_meta *m, const char *what)
{
    char errmsg[256] = "";
    int rv = snap_read_check(fs, m->index, m->term, IMAGE_BYTES, 0, errmsg, sizeof errmsg);
    if (rv != CRAFT_ECORRUPT || strstr(errmsg, what) == NULL || strstr(errmsg, "offset") == NULL) {
        fail_msg("%s, '%s' (want CRAFT_ECORRUPT: %s)", craft_errname(rv), errmsg, what);
    }
}

static void test_snapshot_store_bytes_after_the_trailer_are_corruption(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(1, &sim), 0);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct craft_snapshot_meta m = joint_meta();
    assert_int_equal(snap_write(fs, &m, IMAGE_BYTES, 0), 0);
    struct io_file *f;
    assert_int_equal(open_file(fs, m.index, m.term, &f), 0);
    uint64_t size;
    assert_int_equal(io_fs_size(fs, f, &size), 0);
    assert_int_equal(io_fs_pwrite(fs, f, "x", 1, size), 0);
    io_fs_close(fs, f);
    expect_corrupt(fs, &m, "after the trailer");
    io_fs_sim_destroy(sim);
}

/* Two files of the same snapshot with different images (a state machine need not serialise the
 * same state byte for byte on every node): a chunk of one in the other passes its own checksum,
 * and only the trailer's checksum of the whole file catches it. */
static void test_snapshot_store_chunks_from_another_file_are_corruption(void **state)
{
    (void)state;
    struct io_fs_sim *a;
    struct io_fs_sim *b;
    assert_int_equal(io_fs_sim_create(1, &a), 0);
    assert_int_equal(io_fs_sim_create(1, &b), 0);
    struct craft_snapshot_meta m = joint_meta();
    assert_int_equal(snap_write(io_fs_sim_fs(a), &m, IMAGE_BYTES, 0), 0);
    assert_int_equal(snap_write(io_fs_sim_fs(b), &m, IMAGE_BYTES, 1), 0);
    char name[IO_FS_NAME_MAX];
    snapshot_file_name(m.index, m.term, name, sizeof name);
    size_t chunk = SNAPSHOT_CHUNK_HEADER + SNAPSHOT_CHUNK_BYTES;
    uint64_t second = snapshot_header_size(&m.membership) + chunk;
    static unsigned char other[SNAPSHOT_CHUNK_HEADER + SNAPSHOT_CHUNK_BYTES];
    size_t n;
    assert_int_equal(io_fs_sim_read(b, name, IO_FS_SIM_CURRENT, second, other, chunk, &n), 0);
    assert_int_equal(n, chunk);
    struct io_file *f;
    assert_int_equal(open_file(io_fs_sim_fs(a), m.index, m.term, &f), 0);
    assert_int_equal(io_fs_pwrite(io_fs_sim_fs(a), f, other, chunk, second), 0);
    io_fs_close(io_fs_sim_fs(a), f);
    expect_corrupt(io_fs_sim_fs(a), &m, "checksum");
    io_fs_sim_destroy(a);
    io_fs_sim_destroy(b);
}

static bool exists(struct io_fs_sim *sim, craft_index index, craft_term term)
{
    char name[IO_FS_NAME_MAX];
    snapshot_file_name(index, term, name, sizeof name);
    return io_fs_sim_exists(sim, name, IO_FS_SIM_DURABLE);
}

static void test_snapshot_store_publish_removes_only_lower_indexes(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(1, &sim), 0);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct craft_snapshot_meta m100 = snap_meta(100, 3, 3);
    struct craft_snapshot_meta m50 = snap_meta(50, 2, 3);
    struct craft_snapshot_meta m150 = snap_meta(150, 3, 3);
    assert_int_equal(snap_write(fs, &m100, 1000, 0), 0);
    /* A local snapshot finishing after a newer one was installed leaves the newer one be. */
    assert_int_equal(snap_write(fs, &m50, 1000, 0), 0);
    assert_true(exists(sim, 100, 3));
    assert_true(exists(sim, 50, 2));
    struct craft_snapshot_meta got;
    bool found = false;
    assert_int_equal(snapshot_latest(fs, &got, &found), 0);
    assert_true(found);
    assert_int_equal(got.index, 100);
    assert_int_equal(snap_write(fs, &m150, 1000, 0), 0);
    assert_false(exists(sim, 100, 3));
    assert_false(exists(sim, 50, 2));
    assert_true(exists(sim, 150, 3));
    io_fs_sim_destroy(sim);
}

/* The sim file system with its n-th sync_dir from now on failing (CRAFT_EIO, nothing made
 * durable), the others passed through. */
static const struct io_fs_ops *inner_ops;
static unsigned sync_dirs_left;

static int failing_sync_dir(void *ctx)
{
    if (sync_dirs_left > 0 && --sync_dirs_left == 0) {
        return CRAFT_EIO;
    }
    return inner_ops->sync_dir(ctx);
}

/* A newer snapshot is durable once renamed and its directory synced: if removing the older ones
 * then fails (their directory sync), the publication still succeeded, and the older file may be
 * gone, so reporting a failure would leave the caller naming a file that no longer exists. */
static void test_snapshot_store_cleanup_failure_is_not_a_failed_publish(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(1, &sim), 0);
    struct craft_snapshot_meta m100 = snap_meta(100, 3, 3);
    struct craft_snapshot_meta m150 = snap_meta(150, 3, 3);
    assert_int_equal(snap_write(io_fs_sim_fs(sim), &m100, 1000, 0), 0);
    inner_ops = io_fs_sim_fs(sim)->ops;
    struct io_fs_ops ops = *inner_ops;
    ops.sync_dir = failing_sync_dir;
    struct io_fs fs = {.ctx = io_fs_sim_fs(sim)->ctx, .ops = &ops};
    sync_dirs_left = 2; /* the first makes 150 durable; the second follows the removals */
    assert_int_equal(snap_write(&fs, &m150, 1000, 0), 0);
    assert_int_equal(sync_dirs_left, 0);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    struct craft_snapshot_meta got;
    bool found = false;
    assert_int_equal(snapshot_latest(io_fs_sim_fs(sim), &got, &found), 0);
    assert_true(found);
    assert_int_equal(got.index, 150);
    assert_true(exists(sim, 150, 3));
    /* A failure before the new one is durable is one. */
    struct craft_snapshot_meta m200 = snap_meta(200, 3, 3);
    sync_dirs_left = 1;
    assert_int_equal(snap_write(&fs, &m200, 1000, 0), CRAFT_EIO);
    io_fs_sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_store_round_trip_keeps_the_whole_membership),
        cmocka_unit_test(test_snapshot_store_invalid_membership_is_refused),
        cmocka_unit_test(test_snapshot_store_header_with_a_valid_checksum_is_still_checked),
        cmocka_unit_test(test_snapshot_store_bytes_after_the_trailer_are_corruption),
        cmocka_unit_test(test_snapshot_store_chunks_from_another_file_are_corruption),
        cmocka_unit_test(test_snapshot_store_publish_removes_only_lower_indexes),
        cmocka_unit_test(test_snapshot_store_cleanup_failure_is_not_a_failed_publish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
