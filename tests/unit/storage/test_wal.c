/* Unit tests of the write-ahead log (src/storage/wal*.c) over the simulated file system: appends
 * survive a reopen, truncation records, segment rollover, torn tails cut and reported, damage to
 * durable data reported as corruption with file and offset, prefix drop, reads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "io/sim/fs_sim.h"
#include "storage/wal.h"
#include "storage/wal_record.h"

struct fixture {
    struct io_fs_sim *sim;
    struct wal *wal;
    struct wal_config cfg;
    struct wal_open_report report;
    char errmsg[256];
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    assert_int_equal(io_fs_sim_create(42, &f.sim), 0);
    wal_config_init(&f.cfg);
    f.cfg.segment_bytes = 8192; /* small, so tests roll over segments */
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    wal_close(f->wal);
    io_fs_sim_destroy(f->sim);
    return 0;
}

static int reopen(struct fixture *f)
{
    wal_close(f->wal);
    f->wal = NULL;
    return wal_open(io_fs_sim_fs(f->sim), &f->cfg, &f->wal, &f->report, f->errmsg,
                    sizeof f->errmsg);
}

static void crash_and_reopen(struct fixture *f, int want)
{
    wal_close(f->wal);
    f->wal = NULL;
    assert_int_equal(io_fs_sim_crash(f->sim), 0);
    int rv = wal_open(io_fs_sim_fs(f->sim), &f->cfg, &f->wal, &f->report, f->errmsg,
                      sizeof f->errmsg);
    if (rv != want) {
        print_error("wal_open: %s\n", f->errmsg);
    }
    assert_int_equal(rv, want);
}

/* Appends entries first..last of term with payload "e<index>" and syncs them. */
static void append_range(struct fixture *f, craft_index first, craft_index last, craft_term term,
                         bool sync)
{
    for (craft_index i = first; i <= last; i++) {
        char data[32];
        int len = snprintf(data, sizeof data, "e%llu-t%llu", (unsigned long long)i,
                           (unsigned long long)term);
        struct craft_entry e = {.term = term,
                                .index = i,
                                .type = CRAFT_ENTRY_NORMAL,
                                .data = {.base = data, .len = (size_t)len}};
        assert_int_equal(wal_append(f->wal, &e, 1), 0);
    }
    if (sync) {
        assert_int_equal(wal_sync(f->wal), 0);
    }
}

static void assert_recovered(struct fixture *f, craft_index first, craft_index last,
                             const craft_term *terms)
{
    size_t n;
    const struct craft_entry *entries = wal_recovered(f->wal, &n);
    assert_int_equal(n, last >= first ? last - first + 1 : 0);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        int len = snprintf(want, sizeof want, "e%llu-t%llu", (unsigned long long)(first + i),
                           (unsigned long long)terms[i]);
        assert_int_equal(entries[i].index, first + i);
        assert_int_equal(entries[i].term, terms[i]);
        assert_int_equal(entries[i].data.len, (size_t)len);
        assert_memory_equal(entries[i].data.base, want, (size_t)len);
    }
}

static void test_wal_synced_entries_survive_a_crash(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 300, 1, true); /* rolls over several 8 KiB segments */
    append_range(f, 301, 310, 1, false); /* never synced: may go */
    crash_and_reopen(f, 0);
    craft_term terms[300];
    for (int i = 0; i < 300; i++) {
        terms[i] = 1;
    }
    assert_recovered(f, 1, 300, terms);
    assert_true(f->report.n_segments >= 2);
}

static void test_wal_truncate_record_replaces_suffix(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 10, 1, true);
    assert_int_equal(wal_truncate(f->wal, 6), 0);
    append_range(f, 6, 8, 2, true);
    assert_int_equal(wal_last_index(f->wal), 8);
    assert_int_equal(wal_term_at(f->wal, 7), 2);
    assert_int_equal(reopen(f), 0);
    craft_term terms[] = {1, 1, 1, 1, 1, 2, 2, 2};
    assert_recovered(f, 1, 8, terms);
    assert_int_equal(wal_truncate(f->wal, 12), CRAFT_EINVAL);
}

/* A core step may append an entry and take it back (a newer leader's AppendEntries in the same
 * batch): its output truncates from just past the durable log, which on an empty WAL is index 1.
 * That is a no-op, not an error that fails the storage. */
static void test_wal_truncate_past_the_end_of_an_empty_log_is_a_no_op(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_truncate(f->wal, 1), 0);
    append_range(f, 1, 3, 2, true);
    assert_int_equal(reopen(f), 0);
    craft_term terms[] = {2, 2, 2};
    assert_recovered(f, 1, 3, terms);
}

static void test_wal_torn_tail_is_cut_and_reported(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 5, 1, true);
    append_range(f, 6, 9, 1, false);
    /* The unsynced batch lands in part: write it, then tear it with a misdirected garbage write
     * over its middle, as a crash mid-writeback would. */
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = IO_FS_SIM_CRASH_KEEP_ALL;
    io_fs_sim_set_faults(f->sim, &faults);
    assert_int_equal(wal_sync(f->wal), 0);
    /* Flip a bit inside entry 7's record (the last batch): a tear the crash left behind. */
    char name[64];
    snprintf(name, sizeof name, "wal-%016llx.seg", 1ULL);
    uint64_t off = WAL_SEGMENT_HEADER_BYTES + 6 * wal_record_size(7) + 44;
    assert_int_equal(io_fs_sim_flip_bit(f->sim, name, off * 8), 0);
    crash_and_reopen(f, 0);
    craft_term terms[] = {1, 1, 1, 1, 1, 1};
    assert_recovered(f, 1, 6, terms);
    assert_true(f->report.tail_truncated);
    /* The log goes on from the cut. */
    append_range(f, 7, 7, 2, true);
    assert_int_equal(reopen(f), 0);
    craft_term terms2[] = {1, 1, 1, 1, 1, 1, 2};
    assert_recovered(f, 1, 7, terms2);
}

static void test_wal_damage_before_later_batches_is_corruption(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 5, 1, true);
    append_range(f, 6, 10, 1, true);
    char name[64];
    snprintf(name, sizeof name, "wal-%016llx.seg", 1ULL);
    uint64_t off = WAL_SEGMENT_HEADER_BYTES + 2 * wal_record_size(7) + 41;
    assert_int_equal(io_fs_sim_flip_bit(f->sim, name, off * 8), 0);
    crash_and_reopen(f, CRAFT_ECORRUPT);
    assert_non_null(strstr(f->errmsg, name));
    char where[64];
    snprintf(where, sizeof where, "offset %llu",
             (unsigned long long)(WAL_SEGMENT_HEADER_BYTES + 2 * wal_record_size(7)));
    assert_non_null(strstr(f->errmsg, where));
}

static void test_wal_drop_prefix_removes_whole_segments(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 400, 3, true);
    uint64_t before = f->report.n_segments;
    (void)before;
    assert_int_equal(wal_drop_prefix(f->wal, 200), 0);
    assert_true(wal_first_index(f->wal) > 1);
    assert_true(wal_first_index(f->wal) <= 201);
    craft_index first = wal_first_index(f->wal);
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_first_index(f->wal), first);
    assert_int_equal(wal_last_index(f->wal), 400);
    char buf[128];
    struct craft_entry e;
    assert_int_equal(wal_read(f->wal, 1, &e, buf, sizeof buf), CRAFT_ECOMPACTED);
    assert_int_equal(wal_read(f->wal, 399, &e, buf, sizeof buf), 0);
    assert_int_equal(e.term, 3);
    assert_int_equal(e.data.len, strlen("e399-t3"));
    assert_memory_equal(e.data.base, "e399-t3", e.data.len);
}

static void test_wal_failed_sync_fails_for_good(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 3, 1, true);
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.fsync_eio_ppm = 1000000;
    io_fs_sim_set_faults(f->sim, &faults);
    append_range(f, 4, 4, 1, false);
    assert_int_equal(wal_sync(f->wal), CRAFT_EIO);
    io_fs_sim_faults_init(&faults);
    io_fs_sim_set_faults(f->sim, &faults);
    /* Not retried: the WAL stays failed, whatever the disk does now. */
    struct craft_entry e = {.term = 1, .index = 5, .type = CRAFT_ENTRY_NORMAL};
    assert_int_equal(wal_append(f->wal, &e, 1), CRAFT_EIO);
    assert_int_equal(wal_sync(f->wal), CRAFT_EIO);
}

static void test_wal_big_entry_gets_its_own_segment(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    static char big[20000];
    memset(big, 'x', sizeof big);
    struct craft_entry e = {
        .term = 1, .index = 1, .type = CRAFT_ENTRY_NORMAL, .data = {.base = big, .len = sizeof big}};
    assert_int_equal(wal_append(f->wal, &e, 1), 0);
    assert_int_equal(wal_sync(f->wal), 0);
    append_range(f, 2, 3, 1, true);
    assert_int_equal(reopen(f), 0);
    size_t n;
    const struct craft_entry *got = wal_recovered(f->wal, &n);
    assert_int_equal(n, 3);
    assert_int_equal(got[0].data.len, sizeof big);
    assert_memory_equal(got[0].data.base, big, sizeof big);
}

/* A truncate record reaching back into a segment that a later prefix drop removes must still
 * replay: the recovered log is the one written (10..18 of term 3), never the superseded term-2
 * entries, and the open does not call it corruption. */
static void test_wal_drop_prefix_keeps_truncate_into_dropped_segment(void **state)
{
    struct fixture *f = *state;
    f->cfg.segment_bytes = 4096; /* about 75 entries of "eN-tM" per segment */
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 150, 1, true);   /* segments 1 and 2 */
    append_range(f, 151, 300, 2, true); /* segments 2 to 4 */
    assert_int_equal(wal_truncate(f->wal, 100), 0);
    append_range(f, 100, 120, 3, true); /* the truncate and the new suffix go into segment 4 */
    assert_int_equal(wal_drop_prefix(f->wal, 110), 0);
    assert_int_equal(wal_last_index(f->wal), 120);
    craft_index first = wal_first_index(f->wal);
    assert_true(first > 1); /* segment 1 was dropped */
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_last_index(f->wal), 120);
    assert_int_equal(wal_term_at(f->wal, 120), 3);
    assert_int_equal(wal_term_at(f->wal, 111), 3);
}

/* A crash between creating a new segment and making its header durable leaves an empty last
 * segment, which recovery removes; the batch left open in the segment before must be closed, or
 * the next batch is taken for "lost records" on the following open. */
static void test_wal_removed_empty_segment_leaves_no_open_batch(void **state)
{
    struct fixture *f = *state;
    f->cfg.segment_bytes = 4096;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 5, 1, true);
    /* A batch too big for the rest of segment 1: part of it goes in, segment 1 is synced, then
     * segment 2 is created (write, fdatasync, create: three calls) and the process dies at the
     * fallocate, before the new header is written. */
    append_range(f, 6, 400, 1, false);
    io_fs_sim_die_after(f->sim, io_fs_sim_ops(f->sim) + 3);
    assert_int_equal(wal_sync(f->wal), CRAFT_EIO);
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = IO_FS_SIM_CRASH_KEEP_ALL;
    io_fs_sim_set_faults(f->sim, &faults);
    crash_and_reopen(f, 0);
    craft_index last = wal_last_index(f->wal);
    assert_true(last > 5); /* part of the unacknowledged batch made it into segment 1 */
    append_range(f, last + 1, last + 300, 2, true); /* the next batch rolls into a new segment */
    assert_int_equal(reopen(f), 0);
    assert_int_equal(wal_last_index(f->wal), last + 300);
}

/* A segment created but never named durably (its creation failed before the directory sync, and
 * the process restarted without a crash): once the WAL reopens and writes into it, a crash must
 * not take it away with the entries reported durable. */
static void test_wal_open_makes_every_segment_name_durable(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(reopen(f), 0);
    append_range(f, 1, 3, 1, true);
    wal_close(f->wal);
    f->wal = NULL;
    struct io_fs *fs = io_fs_sim_fs(f->sim);
    struct io_file *file;
    unsigned char header[WAL_SEGMENT_HEADER_BYTES];
    wal_segment_header_encode(2, header);
    assert_int_equal(io_fs_open(fs, "wal-0000000000000002.seg", IO_FS_CREATE, &file), 0);
    assert_int_equal(io_fs_fallocate(fs, file, f->cfg.segment_bytes), 0);
    assert_int_equal(io_fs_pwrite(fs, file, header, sizeof header, 0), 0);
    assert_int_equal(io_fs_fdatasync(fs, file), 0);
    io_fs_close(fs, file);
    assert_false(io_fs_sim_exists(f->sim, "wal-0000000000000002.seg", IO_FS_SIM_DURABLE));
    assert_int_equal(reopen(f), 0); /* no crash in between: the name is still in the cache */
    append_range(f, 4, 6, 1, true);
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = IO_FS_SIM_CRASH_LOSE_ALL;
    io_fs_sim_set_faults(f->sim, &faults);
    crash_and_reopen(f, 0);
    craft_term terms[] = {1, 1, 1, 1, 1, 1};
    assert_recovered(f, 1, 6, terms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wal_open_makes_every_segment_name_durable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wal_synced_entries_survive_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_truncate_record_replaces_suffix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_truncate_past_the_end_of_an_empty_log_is_a_no_op,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_torn_tail_is_cut_and_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_damage_before_later_batches_is_corruption, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wal_drop_prefix_removes_whole_segments, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wal_failed_sync_fails_for_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_big_entry_gets_its_own_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_drop_prefix_keeps_truncate_into_dropped_segment,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_removed_empty_segment_leaves_no_open_batch, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
