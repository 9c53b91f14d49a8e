/* One WAL for every Raft group of a node (docs/DISK_FORMAT.md): recovery hands each group its own
 * log and hard state, truncations stay in their group, a torn batch loses only its own hard
 * states, damage is still damage, segments go only when no group needs them, snapshots are per
 * group, a batch costs one fdatasync, and the default-group API is the group-1 API. */
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crash_harness.h"
#include "storage_helpers.h"

#include "snapshot_helpers.h"
#include "storage/snapshot_stream.h"
#include "storage/wal_record.h"

/* Three groups, their ids out of order on purpose; each writes entries of its own term so that
 * an entry handed to the wrong group shows. */
#define N_GROUPS 3
static const uint64_t group_ids[N_GROUPS] = {1, 7, 3};

static craft_term group_term(uint64_t group)
{
    return group == 1 ? 1 : group == 7 ? 3 : 4;
}

static struct craft_hard_state group_hs(uint64_t group, craft_index commit)
{
    return (struct craft_hard_state){.term = group_term(group), .vote = group, .commit = commit};
}

/* Queues entries first..last of the group's term (and, if hs, its hard state) in group. */
static void queue_run(struct storage *s, uint64_t group, craft_index first, craft_index last,
                      craft_term term, const struct craft_hard_state *hs)
{
    struct craft_entry e[SH_RUN_MAX];
    static unsigned char data[SH_RUN_MAX][SH_PAYLOAD];
    struct craft_persist p;
    memset(&p, 0, sizeof p);
    if (first != 0) {
        p.entries = e;
        p.n_entries = sh_entries(first, last, term, e, data);
    }
    if (hs != NULL) {
        p.hard_state_changed = true;
        p.hard_state = *hs;
    }
    assert_int_equal(storage_persist_group(s, group, &p), 0);
}

/* n_batches batches, each with entries 3b+1..3b+3 of every group (interleaved in the batch) and
 * every group's hard state committing the batches before; one sync per batch. */
static void write_interleaved(struct storage *s, unsigned n_batches)
{
    for (unsigned b = 0; b < n_batches; b++) {
        for (size_t k = 0; k < N_GROUPS; k++) {
            uint64_t g = group_ids[k];
            struct craft_hard_state hs = group_hs(g, 3 * b);
            queue_run(s, g, 3 * b + 1, 3 * b + 3, group_term(g), &hs);
        }
        assert_int_equal(storage_sync(s), 0);
    }
}

static void assert_run(const struct storage_recovered *rec, craft_index first, craft_index last,
                       craft_term term)
{
    assert_int_equal(rec->n_entries, last - first + 1);
    for (craft_index i = first; i <= last; i++) {
        sh_assert_entry(&rec->entries[i - first], i, term);
    }
}

static void test_storage_groups_recovery_of_interleaved_batches(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(1, &sim), 0);
    struct storage_recovered rec;
    struct storage *s = sh_open_ok(sim, &rec);
    storage_recovered_release(s);
    write_interleaved(s, 20); /* 60 entries per group, over several segments */
    storage_close(s);

    s = sh_open_ok(sim, &rec);
    assert_int_equal(storage_n_groups(s), N_GROUPS);
    assert_int_equal(storage_group_id(s, 0), 1);
    assert_int_equal(storage_group_id(s, 1), 3);
    assert_int_equal(storage_group_id(s, 2), 7);
    /* The default group's recovery, as storage_open hands it, is group 1's. */
    assert_run(&rec, 1, 60, 1);
    assert_int_equal(rec.hard_state.term, 1);
    for (size_t k = 0; k < N_GROUPS; k++) {
        uint64_t g = group_ids[k];
        struct storage_recovered gr;
        assert_true(storage_recovered_group(s, g, &gr));
        assert_run(&gr, 1, 60, group_term(g));
        assert_int_equal(gr.hard_state.term, group_term(g));
        assert_int_equal(gr.hard_state.vote, g);
        assert_int_equal(gr.hard_state.commit, 57); /* the last batch committed the ones before */
        assert_false(gr.have_snapshot);
    }
    struct storage_recovered none;
    assert_false(storage_recovered_group(s, 2, &none));
    assert_int_equal(none.n_entries, 0);
    storage_close(s);
    io_fs_sim_destroy(sim);
}

static void test_storage_groups_truncate_stays_in_its_group(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(2, &sim), 0);
    struct storage_recovered rec;
    struct storage *s = sh_open_ok(sim, &rec);
    storage_recovered_release(s);
    write_interleaved(s, 4); /* 1..12 everywhere, committed up to 9 */
    /* Group 7 replaces its uncommitted 11..12 with 11..14 of a higher term; the others append
     * on. */
    struct craft_entry e[SH_RUN_MAX];
    static unsigned char data[SH_RUN_MAX][SH_PAYLOAD];
    struct craft_persist p;
    memset(&p, 0, sizeof p);
    p.truncate_from = 11;
    p.entries = e;
    p.n_entries = sh_entries(11, 14, 9, e, data);
    p.hard_state_changed = true;
    p.hard_state = (struct craft_hard_state){.term = 9, .vote = 0, .commit = 9};
    assert_int_equal(storage_persist_group(s, 7, &p), 0);
    queue_run(s, 1, 13, 14, 1, NULL);
    queue_run(s, 3, 13, 13, 4, NULL);
    assert_int_equal(storage_sync(s), 0);
    assert_int_equal(wal_last_index_group(storage_wal(s), 7), 14);
    assert_int_equal(wal_last_index_group(storage_wal(s), 1), 14);
    storage_close(s);

    s = sh_open_ok(sim, &rec);
    assert_run(&rec, 1, 14, 1);
    struct storage_recovered gr;
    assert_true(storage_recovered_group(s, 3, &gr));
    assert_run(&gr, 1, 13, 4);
    assert_true(storage_recovered_group(s, 7, &gr));
    assert_int_equal(gr.n_entries, 14);
    for (craft_index i = 1; i <= 14; i++) {
        sh_assert_entry(&gr.entries[i - 1], i, i <= 10 ? 3 : 9);
    }
    assert_int_equal(gr.hard_state.term, 9);
    storage_close(s);
    io_fs_sim_destroy(sim);
}

/* The last batch carries new hard states of two groups and entries of their new terms; it is
 * written but never synced, and the crash keeps a random part of it. Each group comes back with
 * its durable hard state or the batch's, never with an entry of the batch but not the hard
 * state that precedes it, and the other batches are whole. */
static void test_storage_groups_torn_last_batch_with_two_hard_states(void **state)
{
    (void)state;
    unsigned n_old = 0;
    unsigned n_new = 0;
    for (uint64_t seed = 0; seed < 60; seed++) {
        struct io_fs_sim *sim;
        assert_int_equal(io_fs_sim_create(seed, &sim), 0);
        struct storage_recovered rec;
        struct storage *s = sh_open_ok(sim, &rec);
        storage_recovered_release(s);
        struct craft_hard_state old1 = {.term = 1, .vote = 1, .commit = 0};
        struct craft_hard_state old2 = {.term = 2, .vote = 2, .commit = 0};
        queue_run(s, 1, 1, 5, 1, &old1);
        queue_run(s, 2, 1, 5, 2, &old2);
        assert_int_equal(storage_sync(s), 0);
        struct craft_hard_state new1 = {.term = 5, .vote = 1, .commit = 5};
        struct craft_hard_state new2 = {.term = 6, .vote = 2, .commit = 5};
        queue_run(s, 1, 6, 20, 5, &new1);
        queue_run(s, 2, 6, 20, 6, &new2);
        assert_int_equal(storage_write(s), 0);
        set_policy(sim, seed == 0 ? IO_FS_SIM_CRASH_LOSE_ALL : IO_FS_SIM_CRASH_RANDOM);
        assert_int_equal(io_fs_sim_crash(sim), 0);
        storage_close(s);

        s = sh_open_ok(sim, &rec);
        for (uint64_t g = 1; g <= 2; g++) {
            const struct craft_hard_state *old = g == 1 ? &old1 : &old2;
            const struct craft_hard_state *nw = g == 1 ? &new1 : &new2;
            struct storage_recovered gr;
            assert_true(storage_recovered_group(s, g, &gr));
            assert_true(gr.n_entries >= 5);
            for (craft_index i = 1; i <= gr.n_entries; i++) {
                sh_assert_entry(&gr.entries[i - 1], i, i <= 5 ? old->term : nw->term);
            }
            if (gr.hard_state.term == old->term) {
                n_old++;
                assert_int_equal(gr.hard_state.vote, old->vote);
                if (gr.n_entries > 5) {
                    fail_msg("seed %llu group %llu: entries of term %llu came back without the "
                             "hard state written ahead of them",
                             (unsigned long long)seed, (unsigned long long)g,
                             (unsigned long long)nw->term);
                }
            } else {
                n_new++;
                assert_int_equal(gr.hard_state.term, nw->term);
                assert_int_equal(gr.hard_state.vote, nw->vote);
                assert_int_equal(gr.hard_state.commit, 5);
            }
        }
        storage_close(s);
        io_fs_sim_destroy(sim);
    }
    /* Both outcomes were seen: the batch's hard states are durable only with it. */
    assert_true(n_old > 0);
    assert_true(n_new > 0);
}

/* Interleaved synced batches of groups 1 and 2; a bit flips in a record of group 2 in a batch a
 * later one follows: damage, reported with file and offset, never cut as a torn tail. */
static void test_storage_groups_damage_in_one_groups_record_is_corruption(void **state)
{
    (void)state;
    /* Batch 1: hs 1, hs 2, entries 1..3 of group 1, entries 1..3 of group 2. Batch 2 the same
     * with 4..6 (no hard state). */
    size_t hs_size = wal_record_size(WAL_HARD_STATE_PAYLOAD);
    size_t rec_size = wal_record_size(SH_PAYLOAD);
    uint64_t at = WAL_SEGMENT_HEADER_BYTES + 2 * hs_size + 4 * rec_size; /* group 2's entry 2 */
    for (uint64_t b = at; b < at + rec_size; b += 7) {
        struct io_fs_sim *sim;
        assert_int_equal(io_fs_sim_create(b, &sim), 0);
        struct storage_recovered rec;
        struct storage *s = sh_open_ok(sim, &rec);
        storage_recovered_release(s);
        struct craft_hard_state hs1 = {.term = 1, .vote = 1, .commit = 0};
        struct craft_hard_state hs2 = {.term = 1, .vote = 2, .commit = 0};
        queue_run(s, 1, 1, 3, 1, &hs1);
        queue_run(s, 2, 1, 3, 1, &hs2);
        assert_int_equal(storage_sync(s), 0);
        queue_run(s, 1, 4, 6, 1, NULL);
        queue_run(s, 2, 4, 6, 1, NULL);
        assert_int_equal(storage_sync(s), 0);
        storage_close(s);
        assert_int_equal(io_fs_sim_flip_bit(sim, "wal-0000000000000001.seg", b * 8 + b % 8), 0);
        char errmsg[256] = "";
        int rv = sh_open(sim, &s, &rec, errmsg, sizeof errmsg);
        char where[64];
        snprintf(where, sizeof where, "offset %llu", (unsigned long long)at);
        if (rv != CRAFT_ECORRUPT || strstr(errmsg, "wal-0000000000000001.seg") == NULL ||
            strstr(errmsg, where) == NULL) {
            fail_msg("flip at byte %llu: %s, '%s' (want CRAFT_ECORRUPT naming %s)",
                     (unsigned long long)b, craft_errname(rv), errmsg, where);
        }
        io_fs_sim_destroy(sim);
    }
}

static bool segment_exists(struct io_fs_sim *sim, uint64_t seq)
{
    char name[64];
    snprintf(name, sizeof name, "wal-%016llx.seg", (unsigned long long)seq);
    return io_fs_sim_exists(sim, name, IO_FS_SIM_CURRENT);
}

/* Publishes a snapshot of group at (index, term) and tells storage. */
static void take_snapshot(struct io_fs_sim *sim, struct storage *s, uint64_t group,
                          craft_index index, craft_term term)
{
    struct craft_snapshot_meta m = snap_meta(index, term, 3);
    struct snapshot_writer *w;
    assert_int_equal(snapshot_writer_begin_group(io_fs_sim_fs(sim), group, &m, &w), 0);
    unsigned char img[100];
    memset(img, (int)group, sizeof img);
    assert_int_equal(snapshot_writer_write(w, img, sizeof img), 0);
    assert_int_equal(snapshot_writer_finish(w), 0);
    assert_int_equal(storage_snapshot_taken_group(s, group, &m), 0);
}

/* Groups 1 and 2 fill several segments side by side; group 5 saved a hard state in the first
 * segment and nothing since. A snapshot of group 1 alone deletes nothing (group 2 still needs
 * every segment); one of group 2 then lets the covered segments go, and group 5's hard state,
 * whose only record was in them, survives. */
static void test_storage_groups_retirement_waits_for_the_slowest_group(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(5, &sim), 0);
    struct storage_recovered rec;
    struct storage *s = sh_open_ok(sim, &rec);
    storage_recovered_release(s);
    struct craft_hard_state idle = {.term = 4, .vote = 5, .commit = 0};
    assert_int_equal(storage_save_hard_state_group(s, 5, &idle), 0);
    for (craft_index i = 1; i <= 100; i += 10) {
        queue_run(s, 1, i, i + 9, 1, NULL);
        queue_run(s, 2, i, i + 9, 1, NULL);
        assert_int_equal(storage_sync(s), 0);
    }
    assert_true(segment_exists(sim, 4));
    take_snapshot(sim, s, 1, 100, 1);
    assert_true(segment_exists(sim, 1)); /* group 2 needs it */
    assert_int_equal(wal_first_index_group(storage_wal(s), 1), 1);
    take_snapshot(sim, s, 2, 60, 1);
    assert_false(segment_exists(sim, 1));
    craft_index first2 = wal_first_index_group(storage_wal(s), 2);
    assert_true(first2 > 1);
    assert_true(first2 <= 61); /* whatever group 2 still needs is kept */
    storage_close(s);

    s = sh_open_ok(sim, &rec);
    assert_true(rec.have_snapshot);
    assert_int_equal(rec.snapshot.index, 100);
    assert_int_equal(rec.n_entries, 0);
    struct storage_recovered gr;
    assert_true(storage_recovered_group(s, 2, &gr));
    assert_int_equal(gr.snapshot.index, 60);
    assert_run(&gr, 61, 100, 1);
    assert_true(storage_recovered_group(s, 5, &gr));
    assert_int_equal(gr.hard_state.term, 4);
    assert_int_equal(gr.hard_state.vote, 5);
    storage_close(s);
    io_fs_sim_destroy(sim);
}

/* Each group recovers from its own newest snapshot and the part of its log that continues it;
 * publishing one group's snapshot leaves the other groups' files alone. */
static void test_storage_groups_snapshots_and_suffix_per_group(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(6, &sim), 0);
    struct storage_recovered rec;
    struct storage *s = sh_open_ok(sim, &rec);
    storage_recovered_release(s);
    queue_run(s, 1, 1, 20, 1, NULL);
    queue_run(s, 2, 1, 20, 2, NULL);
    assert_int_equal(storage_sync(s), 0);
    take_snapshot(sim, s, 2, 10, 2);
    take_snapshot(sim, s, 1, 12, 1);
    take_snapshot(sim, s, 1, 15, 1); /* removes group 1's snapshot at 12, not group 2's at 10 */
    char name[IO_FS_NAME_MAX];
    snapshot_file_name_group(2, 10, 2, name, sizeof name);
    assert_string_equal(name, "snapshot-0000000000000002-000000000000000a-0000000000000002.snap");
    assert_true(io_fs_sim_exists(sim, name, IO_FS_SIM_CURRENT));
    snapshot_file_name_group(1, 12, 1, name, sizeof name);
    assert_false(io_fs_sim_exists(sim, name, IO_FS_SIM_CURRENT));
    assert_int_equal(storage_snapshot_index_group(s, 2), 10);
    assert_int_equal(storage_snapshot_index(s), 15);
    storage_close(s);

    s = sh_open_ok(sim, &rec);
    assert_true(rec.have_snapshot);
    assert_int_equal(rec.snapshot.index, 15);
    assert_run(&rec, 16, 20, 1);
    struct storage_recovered gr;
    assert_true(storage_recovered_group(s, 2, &gr));
    assert_true(gr.have_snapshot);
    assert_int_equal(gr.snapshot.index, 10);
    assert_int_equal(gr.snapshot.term, 2);
    assert_run(&gr, 11, 20, 2);
    struct craft_snapshot_meta m;
    bool found;
    assert_int_equal(snapshot_latest_group(io_fs_sim_fs(sim), 2, &m, &found), 0);
    assert_true(found);
    assert_int_equal(m.index, 10);
    storage_close(s);
    io_fs_sim_destroy(sim);
}

/* The header names the group too: a group's file under another group's name is not taken for
 * that group's snapshot, by the directory scan, a reader, a sender or a receiver. */
static void test_storage_groups_snapshot_header_names_its_group(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(9, &sim), 0);
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct craft_snapshot_meta m = snap_meta(10, 2, 3);
    struct snapshot_writer *w;
    assert_int_equal(snapshot_writer_begin_group(fs, 2, &m, &w), 0);
    assert_int_equal(snapshot_writer_write(w, "two", 3), 0);
    assert_int_equal(snapshot_writer_finish(w), 0);
    char two[IO_FS_NAME_MAX];
    char three[IO_FS_NAME_MAX];
    snapshot_file_name_group(2, 10, 2, two, sizeof two);
    snapshot_file_name_group(3, 10, 2, three, sizeof three);
    static unsigned char file[4096];
    size_t n;
    assert_int_equal(io_fs_sim_read(sim, two, IO_FS_SIM_CURRENT, 0, file, sizeof file, &n), 0);
    assert_true(n < sizeof file);
    /* Group 2's own: found and read. */
    struct craft_snapshot_meta got;
    bool found;
    assert_int_equal(snapshot_latest_group(fs, 2, &got, &found), 0);
    assert_true(found);
    struct snapshot_reader *r;
    assert_int_equal(snapshot_reader_open_group(fs, 2, 10, 2, &r, &got), 0);
    snapshot_reader_close(r);
    /* The same bytes under group 3's name. */
    assert_int_equal(io_fs_rename(fs, two, three), 0);
    assert_int_equal(snapshot_latest_group(fs, 3, &got, &found), 0);
    assert_false(found);
    assert_int_equal(snapshot_reader_open_group(fs, 3, 10, 2, &r, &got), CRAFT_ECORRUPT);
    struct snapshot_source *src;
    uint64_t size;
    assert_int_equal(snapshot_source_open_group(fs, 3, 10, 2, &src, &got, &size), CRAFT_ECORRUPT);
    /* Streamed to a receiver of group 3: refused at the end, nothing published. */
    struct snapshot_sink *sink;
    assert_int_equal(snapshot_sink_begin_group(fs, 3, 10, 2, &sink), 0);
    assert_int_equal(snapshot_sink_write(sink, 0, file, n), 0);
    char errmsg[256];
    assert_int_equal(snapshot_sink_finish(sink, &got, errmsg, sizeof errmsg), CRAFT_ECORRUPT);
    assert_true(io_fs_sim_exists(sim, three, IO_FS_SIM_CURRENT)); /* the renamed one, untouched */
    assert_int_equal(io_fs_unlink(fs, three), 0);
    assert_int_equal(snapshot_sink_begin_group(fs, 2, 10, 2, &sink), 0);
    assert_int_equal(snapshot_sink_write(sink, 0, file, n), 0);
    assert_int_equal(snapshot_sink_finish(sink, &got, errmsg, sizeof errmsg), 0); /* its own */
    assert_true(io_fs_sim_exists(sim, two, IO_FS_SIM_CURRENT));
    io_fs_sim_destroy(sim);
}

/* A batch holding every group's entries and new hard states costs one fdatasync. */
static void test_storage_groups_one_fdatasync_per_batch(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(7, &sim), 0);
    struct storage_recovered rec;
    struct storage *s = sh_open_ok(sim, &rec);
    storage_recovered_release(s);
    for (craft_term t = 1; t <= 3; t++) {
        uint64_t before = io_fs_sim_fdatasyncs(sim);
        for (size_t k = 0; k < N_GROUPS; k++) {
            uint64_t g = group_ids[k];
            struct craft_hard_state hs = {.term = t, .vote = g, .commit = t - 1};
            queue_run(s, g, t, t, t, &hs); /* a new term and vote in every group */
        }
        assert_int_equal(storage_sync(s), 0);
        assert_int_equal(io_fs_sim_fdatasyncs(sim) - before, 1);
    }
    /* A hard state alone (a vote, nothing to append) is a batch of its own: one sync too. */
    uint64_t before = io_fs_sim_fdatasyncs(sim);
    struct craft_hard_state hs = {.term = 4, .vote = 3, .commit = 2};
    assert_int_equal(storage_save_hard_state_group(s, 3, &hs), 0);
    assert_int_equal(io_fs_sim_fdatasyncs(sim) - before, 0); /* nothing before the sync */
    assert_int_equal(storage_sync(s), 0);
    assert_int_equal(io_fs_sim_fdatasyncs(sim) - before, 1);
    storage_close(s);
    s = sh_open_ok(sim, &rec);
    struct storage_recovered gr;
    assert_true(storage_recovered_group(s, 3, &gr));
    assert_int_equal(gr.hard_state.term, 4);
    assert_int_equal(gr.hard_state.vote, 3);
    storage_close(s);
    io_fs_sim_destroy(sim);
}

/* The same workload through the old calls and through the group calls with the default group
 * leaves byte-identical directories, and its records name group 1. */
static void run_default(struct io_fs_sim *sim, bool via_group)
{
    struct storage_recovered rec;
    struct storage *s = sh_open_ok(sim, &rec);
    storage_recovered_release(s);
    struct craft_entry e[SH_RUN_MAX];
    static unsigned char data[SH_RUN_MAX][SH_PAYLOAD];
    for (craft_index i = 1; i <= 60; i += 6) {
        struct craft_persist p;
        memset(&p, 0, sizeof p);
        p.entries = e;
        p.n_entries = sh_entries(i, i + 5, 2, e, data);
        p.hard_state_changed = i == 1;
        p.hard_state = (struct craft_hard_state){.term = 2, .vote = SH_NODE, .commit = 0};
        if (via_group) {
            assert_int_equal(storage_persist_group(s, STORAGE_GROUP_DEFAULT, &p), 0);
        } else {
            assert_int_equal(storage_persist(s, &p), 0);
        }
        assert_int_equal(storage_sync(s), 0);
    }
    struct craft_hard_state hs = {.term = 2, .vote = SH_NODE, .commit = 40};
    struct craft_snapshot_meta m = snap_meta(30, 2, 3);
    struct snapshot_writer *w;
    if (via_group) {
        assert_int_equal(storage_save_hard_state_group(s, STORAGE_GROUP_DEFAULT, &hs), 0);
        assert_int_equal(
            snapshot_writer_begin_group(io_fs_sim_fs(sim), STORAGE_GROUP_DEFAULT, &m, &w), 0);
    } else {
        assert_int_equal(storage_save_hard_state(s, &hs), 0);
        assert_int_equal(snapshot_writer_begin(io_fs_sim_fs(sim), &m, &w), 0);
    }
    assert_int_equal(snapshot_writer_write(w, "image", 5), 0);
    assert_int_equal(snapshot_writer_finish(w), 0);
    if (via_group) {
        assert_int_equal(storage_snapshot_taken_group(s, STORAGE_GROUP_DEFAULT, &m), 0);
    } else {
        assert_int_equal(storage_snapshot_taken(s, &m), 0);
    }
    storage_close(s);
}

static int collect_name(void *arg, const char *name)
{
    char *names = arg;
    strcat(names, name);
    strcat(names, " ");
    return 0;
}

static void test_storage_groups_default_wrappers_are_group_one(void **state)
{
    (void)state;
    struct io_fs_sim *a;
    struct io_fs_sim *b;
    assert_int_equal(io_fs_sim_create(8, &a), 0);
    assert_int_equal(io_fs_sim_create(8, &b), 0);
    run_default(a, false);
    run_default(b, true);
    static char names_a[4096];
    static char names_b[4096];
    names_a[0] = names_b[0] = '\0';
    assert_int_equal(io_fs_list(io_fs_sim_fs(a), collect_name, names_a), 0);
    assert_int_equal(io_fs_list(io_fs_sim_fs(b), collect_name, names_b), 0);
    assert_string_equal(names_a, names_b);
    char snap[IO_FS_NAME_MAX];
    char snap1[IO_FS_NAME_MAX];
    snapshot_file_name(30, 2, snap, sizeof snap);
    snapshot_file_name_group(1, 30, 2, snap1, sizeof snap1);
    assert_string_equal(snap, snap1);
    assert_non_null(strstr(names_a, snap));
    static unsigned char seg_a[SH_SEGMENT_BYTES];
    static unsigned char seg_b[SH_SEGMENT_BYTES];
    for (uint64_t seq = 1; seq <= 16; seq++) {
        char name[64];
        snprintf(name, sizeof name, "wal-%016llx.seg", (unsigned long long)seq);
        if (!io_fs_sim_exists(a, name, IO_FS_SIM_DURABLE)) {
            assert_false(io_fs_sim_exists(b, name, IO_FS_SIM_DURABLE));
            continue;
        }
        size_t na;
        size_t nb;
        assert_int_equal(io_fs_sim_read(a, name, IO_FS_SIM_DURABLE, 0, seg_a, sizeof seg_a, &na),
                         0);
        assert_int_equal(io_fs_sim_read(b, name, IO_FS_SIM_DURABLE, 0, seg_b, sizeof seg_b, &nb),
                         0);
        assert_int_equal(na, nb);
        assert_memory_equal(seg_a, seg_b, na);
        /* Every record names group 1. */
        for (size_t off = WAL_SEGMENT_HEADER_BYTES; off < na;) {
            struct wal_record r;
            size_t size;
            if (wal_record_decode(seg_a + off, na - off, &r, &size) != WAL_DECODE_OK) {
                break;
            }
            assert_int_equal(r.group, STORAGE_GROUP_DEFAULT);
            off += size;
        }
    }
    /* And the old calls read it back as before. */
    struct storage_recovered rec;
    struct storage *s = sh_open_ok(a, &rec);
    assert_true(rec.have_snapshot);
    assert_int_equal(rec.snapshot.index, 30);
    assert_run(&rec, 31, 60, 2);
    assert_int_equal(rec.hard_state.term, 2);
    assert_int_equal(rec.hard_state.vote, SH_NODE);
    assert_int_equal(rec.hard_state.commit, 40);
    assert_int_equal(storage_snapshot_index(s), 30);
    assert_int_equal(storage_n_groups(s), 1);
    storage_close(s);
    io_fs_sim_destroy(a);
    io_fs_sim_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_groups_recovery_of_interleaved_batches),
        cmocka_unit_test(test_storage_groups_truncate_stays_in_its_group),
        cmocka_unit_test(test_storage_groups_torn_last_batch_with_two_hard_states),
        cmocka_unit_test(test_storage_groups_damage_in_one_groups_record_is_corruption),
        cmocka_unit_test(test_storage_groups_retirement_waits_for_the_slowest_group),
        cmocka_unit_test(test_storage_groups_snapshots_and_suffix_per_group),
        cmocka_unit_test(test_storage_groups_snapshot_header_names_its_group),
        cmocka_unit_test(test_storage_groups_one_fdatasync_per_batch),
        cmocka_unit_test(test_storage_groups_default_wrappers_are_group_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
