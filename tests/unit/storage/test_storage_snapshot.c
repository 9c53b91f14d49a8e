/* Storage with snapshots (storage.c, snapshot_suffix.c): recovery hands back exactly the WAL
 * entries that continue the newest snapshot, by each case of the rule in docs/DISK_FORMAT.md
 * ("Recovery with a snapshot"), and empties the WAL when it holds others, so the next append
 * starts right after the snapshot; an installed snapshot's drop_log; a local snapshot's prefix
 * drop (storage_snapshot_taken). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crash_harness.h"
#include "snapshot_helpers.h"
#include "storage/snapshot_suffix.h"
#include "storage_helpers.h"

/* The term of entry i in the base log: 1 up to 10, then 2. */
static craft_term base_term(craft_index i)
{
    return i <= 10 ? 1 : 2;
}

static void put_snapshot(struct io_fs_sim *sim, craft_index index, craft_term term)
{
    struct craft_snapshot_meta m = snap_meta(index, term, 3);
    assert_int_equal(snap_write(io_fs_sim_fs(sim), &m, 1000, 0), 0);
}

/* Recovers and checks: the snapshot (index 0: none) and entries from..to (from 0: none), each
 * of base_term unless term is given; and whether the WAL was left empty. */
static struct storage *expect(struct io_fs_sim *sim, craft_index snap, craft_index from,
                              craft_index to, craft_term term, bool wal_empty)
{
    struct storage_recovered rec;
    struct storage *s = sh_open_ok(sim, &rec);
    assert_int_equal(rec.have_snapshot, snap != 0);
    if (snap != 0) {
        assert_int_equal(rec.snapshot.index, snap);
        assert_int_equal(storage_snapshot_index(s), snap);
    }
    size_t n = from == 0 ? 0 : (size_t)(to - from + 1);
    if (rec.n_entries != n) {
        fail_msg("recovered %zu entries from %llu, want %zu from %llu", rec.n_entries,
                 rec.n_entries > 0 ? (unsigned long long)rec.entries[0].index : 0ull, n,
                 (unsigned long long)from);
    }
    for (size_t i = 0; i < n; i++) {
        sh_assert_entry(&rec.entries[i], from + i, term != 0 ? term : base_term(from + i));
    }
    assert_int_equal(wal_last_index(storage_wal(s)) == 0, wal_empty);
    storage_recovered_release(s);
    return s;
}

static void test_storage_snapshot_no_snapshot_gives_the_whole_wal(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sh_base_log(1, 30, 0);
    storage_close(expect(sim, 0, 1, 30, 0, false));
    io_fs_sim_destroy(sim);
}

static void test_storage_snapshot_empty_wal_gives_nothing(void **state)
{
    (void)state;
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(2, &sim), 0);
    struct storage_recovered rec;
    storage_close(sh_open_ok(sim, &rec)); /* claims the directory */
    put_snapshot(sim, 50, 3);
    struct storage *s = expect(sim, 50, 0, 0, 0, true);
    sh_append(s, 51, 52, 3);
    storage_close(s);
    storage_close(expect(sim, 50, 51, 52, 3, false));
    io_fs_sim_destroy(sim);
}

/* WL <= S: everything is covered; the WAL is emptied, durably, so the log restarts at S + 1. */
static void test_storage_snapshot_covered_wal_is_emptied(void **state)
{
    (void)state;
    craft_index snaps[] = {30, 45}; /* the WAL's last index, and beyond it */
    for (size_t i = 0; i < 2; i++) {
        struct io_fs_sim *sim = sh_base_log(3, 30, 0);
        put_snapshot(sim, snaps[i], 2);
        struct storage *s = expect(sim, snaps[i], 0, 0, 0, true);
        storage_close(s);
        /* Emptied for good: a power loss right after the open changes nothing. */
        set_policy(sim, IO_FS_SIM_CRASH_LOSE_ALL);
        assert_int_equal(io_fs_sim_crash(sim), 0);
        s = expect(sim, snaps[i], 0, 0, 0, true);
        sh_append(s, snaps[i] + 1, snaps[i] + 3, 3);
        storage_close(s);
        storage_close(expect(sim, snaps[i], snaps[i] + 1, snaps[i] + 3, 3, false));
        io_fs_sim_destroy(sim);
    }
}

/* W1 > S + 1: entries between the snapshot and the WAL are gone. */
static void test_storage_snapshot_gap_after_the_snapshot_is_corruption(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sh_base_log(4, 150, 0); /* several segments */
    put_snapshot(sim, 5, 1);
    struct storage_recovered rec;
    struct storage *s = expect(sim, 5, 6, 150, 0, false);
    /* Segments dropped behind storage's back, as if for a snapshot that is gone. */
    assert_int_equal(wal_drop_prefix(storage_wal(s), 100), 0);
    craft_index first = wal_first_index(storage_wal(s));
    assert_true(first > 6);
    storage_close(s);
    char errmsg[256] = "";
    assert_int_equal(sh_open(sim, &s, &rec, errmsg, sizeof errmsg), CRAFT_ECORRUPT);
    char want[64];
    snprintf(want, sizeof want, "WAL starts at %llu after snapshot 5", (unsigned long long)first);
    if (strstr(errmsg, want) == NULL) {
        fail_msg("errmsg '%s' does not say '%s'", errmsg, want);
    }
    io_fs_sim_destroy(sim);
}

/* W1 == S + 1: all of the WAL continues the snapshot (it restarted there after an install). */
static void test_storage_snapshot_wal_starting_right_after_it_is_kept(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sh_base_log(5, 30, 0);
    put_snapshot(sim, 40, 3);
    struct storage *s = expect(sim, 40, 0, 0, 0, true);
    sh_append(s, 41, 45, 3);
    storage_close(s);
    s = expect(sim, 40, 41, 45, 3, false);
    assert_int_equal(wal_first_index(storage_wal(s)), 41);
    storage_close(s);
    io_fs_sim_destroy(sim);
}

/* The WAL agrees with the snapshot at its index: the entries after it are handed back, and
 * nothing is truncated. */
static void test_storage_snapshot_matching_wal_gives_the_suffix(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sh_base_log(6, 30, 0);
    put_snapshot(sim, 20, 2);
    struct storage *s = expect(sim, 20, 21, 30, 0, false);
    assert_int_equal(wal_first_index(storage_wal(s)), 1);
    sh_append(s, 31, 31, 2);
    storage_close(s);
    storage_close(expect(sim, 20, 21, 31, 0, false));
    io_fs_sim_destroy(sim);
}

/* The crash between a received snapshot landing and the WAL truncation of its install: the WAL
 * still holds a log that diverged from the committed history at or before the snapshot's index
 * (its term there differs). Those entries never committed: none is handed back, the WAL is
 * emptied, and appends continue from S + 1. */
static void test_storage_snapshot_divergent_wal_is_dropped(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sh_base_log(7, 30, 10);
    put_snapshot(sim, 25, 3); /* the leader's: entry 25 has term 3 there, 2 here */
    struct storage *s = expect(sim, 25, 0, 0, 0, true);
    sh_append(s, 26, 27, 3);
    storage_close(s);
    set_policy(sim, IO_FS_SIM_CRASH_LOSE_ALL);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    storage_close(expect(sim, 25, 26, 27, 3, false));
    io_fs_sim_destroy(sim);
}

/* A divergent WAL whose entry at S the hard state's commit covers contradicts the snapshot:
 * damage, not an install cut short. */
static void test_storage_snapshot_divergent_committed_wal_is_corruption(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sh_base_log(8, 30, 28);
    put_snapshot(sim, 25, 3);
    struct storage *s;
    struct storage_recovered rec;
    char errmsg[256] = "";
    assert_int_equal(sh_open(sim, &s, &rec, errmsg, sizeof errmsg), CRAFT_ECORRUPT);
    assert_non_null(strstr(errmsg, "not the snapshot's term"));
    io_fs_sim_destroy(sim);
}

/* The rule itself, case by case (the cases above reach it through real files). */
static void test_storage_snapshot_suffix_rule(void **state)
{
    (void)state;
    struct {
        struct snapshot_suffix_in in;
        int rv;
        craft_index from;
        bool empty_wal;
    } cases[] = {
        {{0, 0, 0, 20, 3, 0}, 0, 0, false},                /* WAL empty */
        {{1, 30, 0, 0, 0, 30}, 0, 1, false},               /* no snapshot */
        {{1, 20, 2, 20, 2, 0}, 0, 0, true},                /* WL == S */
        {{1, 20, 0, 25, 3, 0}, 0, 0, true},                /* WL < S */
        {{27, 30, 0, 25, 3, 0}, CRAFT_ECORRUPT, 0, false}, /* gap */
        {{26, 30, 0, 25, 3, 30}, 0, 26, false},            /* W1 == S + 1 */
        {{1, 30, 3, 25, 3, 30}, 0, 26, false},             /* same term at S */
        {{25, 30, 3, 25, 3, 0}, 0, 26, false},             /* W1 == S, same term */
        {{1, 30, 2, 25, 3, 25}, 0, 0, true}, /* diverged, commit within the snapshot */
        {{1, 30, 2, 25, 3, 26}, CRAFT_ECORRUPT, 0, false}, /* diverged, yet committed */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct snapshot_suffix out;
        char errmsg[256] = "";
        int rv = snapshot_suffix_find(&cases[i].in, &out, errmsg, sizeof errmsg);
        if (rv != cases[i].rv ||
            (rv == 0 && (out.from != cases[i].from || out.empty_wal != cases[i].empty_wal))) {
            fail_msg("case %zu: %s from %llu empty %d (want %s from %llu empty %d) '%s'", i,
                     craft_errname(rv), (unsigned long long)out.from, out.empty_wal,
                     craft_errname(cases[i].rv), (unsigned long long)cases[i].from,
                     cases[i].empty_wal, errmsg);
        }
    }
}

/* A local snapshot: the segments it covers go, and a restart gives the snapshot and the log
 * after it. What was queued is synced before anything goes. */
static void test_storage_snapshot_taken_drops_the_prefix(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sh_base_log(9, 150, 0);
    struct storage *s = expect(sim, 0, 1, 150, 0, false);
    put_snapshot(sim, 100, 2);
    struct craft_persist p;
    memset(&p, 0, sizeof p);
    assert_int_equal(sh_persist_run(s, p, 151, 152, 2, false), 0); /* queued, not synced */
    struct craft_snapshot_meta m = snap_meta(100, 2, 3);
    assert_int_equal(storage_snapshot_taken(s, &m), 0);
    assert_int_equal(storage_snapshot_index(s), 100);
    craft_index first = wal_first_index(storage_wal(s));
    assert_true(first > 1);
    assert_true(first <= 101);
    storage_close(s);
    set_policy(sim, IO_FS_SIM_CRASH_LOSE_ALL);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    s = expect(sim, 100, 101, 152, 0, false);
    assert_int_equal(wal_first_index(storage_wal(s)), first);
    /* An older snapshot reported late drops nothing more and lowers nothing. */
    struct craft_snapshot_meta old = snap_meta(50, 2, 3);
    assert_int_equal(storage_snapshot_taken(s, &old), 0);
    assert_int_equal(storage_snapshot_index(s), 100);
    storage_close(s);
    io_fs_sim_destroy(sim);
}

/* A snapshot whose term at its index differs from the WAL's (received while the WAL still holds
 * a divergent log): nothing is dropped, so the WAL never starts right after the snapshot with
 * entries that do not continue it. */
static void test_storage_snapshot_taken_keeps_a_divergent_wal(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sh_base_log(10, 150, 0);
    struct storage *s = expect(sim, 0, 1, 150, 0, false);
    put_snapshot(sim, 100, 3);
    struct craft_snapshot_meta m = snap_meta(100, 3, 3);
    assert_int_equal(storage_snapshot_taken(s, &m), 0);
    assert_int_equal(storage_snapshot_index(s), 100);
    assert_int_equal(wal_first_index(storage_wal(s)), 1);
    storage_close(s);
    storage_close(expect(sim, 100, 0, 0, 0, true));
    io_fs_sim_destroy(sim);
}

/* An install with drop_log: the whole WAL goes, the entries after the snapshot follow at once
 * (same persist) or later, and the hard state's commit may reach the snapshot's index though
 * the WAL holds nothing there. A crash before the sync recovers the snapshot alone. */
static void test_storage_snapshot_drop_log_then_append(void **state)
{
    (void)state;
    for (int same_persist = 0; same_persist < 2; same_persist++) {
        struct io_fs_sim *sim = sh_base_log(11, 30, 10);
        struct storage *s = expect(sim, 0, 1, 30, 0, false);
        put_snapshot(sim, 50, 4); /* received and published first */
        struct craft_persist p;
        memset(&p, 0, sizeof p);
        p.hard_state_changed = true;
        p.hard_state = (struct craft_hard_state){.term = 4, .vote = 0, .commit = 50};
        p.snapshot = (struct craft_persist_snapshot){.index = 50, .term = 4, .drop_log = true};
        if (same_persist) {
            assert_int_equal(sh_persist_run(s, p, 51, 53, 4, true), 0);
        } else {
            assert_int_equal(sh_persist_run(s, p, 0, 0, 0, false), 0);
            assert_int_equal(wal_last_index(storage_wal(s)), 0);
            memset(&p, 0, sizeof p);
            assert_int_equal(sh_persist_run(s, p, 51, 53, 4, true), 0);
        }
        assert_int_equal(storage_snapshot_index(s), 50);
        storage_close(s);
        s = expect(sim, 50, 51, 53, 4, false);
        storage_close(s);
        struct storage_recovered rec;
        s = sh_open_ok(sim, &rec);
        assert_int_equal(rec.hard_state.term, 4);
        assert_int_equal(rec.hard_state.commit, 50);
        storage_close(s);
        io_fs_sim_destroy(sim);
    }
    /* The same install, with a power loss before its sync. */
    struct io_fs_sim *sim = sh_base_log(12, 30, 10);
    struct storage *s = expect(sim, 0, 1, 30, 0, false);
    put_snapshot(sim, 50, 4);
    struct craft_persist p;
    memset(&p, 0, sizeof p);
    p.snapshot = (struct craft_persist_snapshot){.index = 50, .term = 4, .drop_log = true};
    assert_int_equal(sh_persist_run(s, p, 51, 53, 4, false), 0);
    set_policy(sim, IO_FS_SIM_CRASH_LOSE_ALL);
    assert_int_equal(io_fs_sim_crash(sim), 0);
    storage_close(s);
    s = expect(sim, 50, 0, 0, 0, true);
    sh_append(s, 51, 51, 4);
    storage_close(s);
    storage_close(expect(sim, 50, 51, 51, 4, false));
    io_fs_sim_destroy(sim);
}

/* An install without drop_log (the log agrees with the snapshot): the entries after it stay. */
static void test_storage_snapshot_kept_log_stays(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sh_base_log(13, 30, 10);
    struct storage *s = expect(sim, 0, 1, 30, 0, false);
    put_snapshot(sim, 20, 2);
    struct craft_persist p;
    memset(&p, 0, sizeof p);
    p.snapshot = (struct craft_persist_snapshot){.index = 20, .term = 2, .drop_log = false};
    assert_int_equal(sh_persist_run(s, p, 31, 32, 2, true), 0);
    assert_int_equal(wal_first_index(storage_wal(s)), 1);
    storage_close(s);
    storage_close(expect(sim, 20, 21, 32, 0, false));
    io_fs_sim_destroy(sim);
}

/* A bit rots in the WAL's last batch, in an entry the snapshot covers, with acknowledged entries
 * after it in the same batch: the hard state's commit vouches that the batch was durable, so
 * recovery reports damage instead of cutting the batch as a torn tail and losing those entries
 * (craft-sim seed 28029: the commit check was off whenever a snapshot covered the commit). */
static void test_storage_snapshot_rot_in_a_covered_batch_is_damage(void **state)
{
    (void)state;
    struct io_fs_sim *sim = sh_base_log(11, 30, 0);
    struct storage_recovered rec;
    struct storage *s = sh_open_ok(sim, &rec);
    storage_recovered_release(s);
    sh_append(s, 31, 48, 2); /* one batch */
    struct craft_hard_state hs = {.term = 2, .vote = SH_NODE, .commit = 45};
    assert_int_equal(storage_save_hard_state(s, &hs), 0);
    storage_close(s); /* writes the commit */
    put_snapshot(sim, 45, 2);
    const char *name = "wal-0000000000000001.seg";
    uint64_t size = 0;
    assert_int_equal(io_fs_sim_file_size(sim, name, IO_FS_SIM_DURABLE, &size), 0);
    unsigned char *buf = malloc((size_t)size);
    assert_non_null(buf);
    size_t got = 0;
    assert_int_equal(io_fs_sim_read(sim, name, IO_FS_SIM_DURABLE, 0, buf, (size_t)size, &got), 0);
    unsigned char want[SH_PAYLOAD];
    sh_payload(40, 2, want);
    size_t at = 0;
    while (at + SH_PAYLOAD <= got && memcmp(buf + at, want, SH_PAYLOAD) != 0) {
        at++;
    }
    assert_true(at + SH_PAYLOAD <= got); /* entry 40 is in the last segment */
    free(buf);
    assert_int_equal(io_fs_sim_flip_bit(sim, name, (at + 3) * 8), 0);
    struct storage *s2 = NULL;
    char err[256];
    assert_int_equal(sh_open(sim, &s2, &rec, err, sizeof err), CRAFT_ECORRUPT);
    io_fs_sim_destroy(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_snapshot_no_snapshot_gives_the_whole_wal),
        cmocka_unit_test(test_storage_snapshot_empty_wal_gives_nothing),
        cmocka_unit_test(test_storage_snapshot_covered_wal_is_emptied),
        cmocka_unit_test(test_storage_snapshot_gap_after_the_snapshot_is_corruption),
        cmocka_unit_test(test_storage_snapshot_wal_starting_right_after_it_is_kept),
        cmocka_unit_test(test_storage_snapshot_matching_wal_gives_the_suffix),
        cmocka_unit_test(test_storage_snapshot_divergent_wal_is_dropped),
        cmocka_unit_test(test_storage_snapshot_divergent_committed_wal_is_corruption),
        cmocka_unit_test(test_storage_snapshot_suffix_rule),
        cmocka_unit_test(test_storage_snapshot_taken_drops_the_prefix),
        cmocka_unit_test(test_storage_snapshot_taken_keeps_a_divergent_wal),
        cmocka_unit_test(test_storage_snapshot_drop_log_then_append),
        cmocka_unit_test(test_storage_snapshot_kept_log_stays),
        cmocka_unit_test(test_storage_snapshot_rot_in_a_covered_batch_is_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
