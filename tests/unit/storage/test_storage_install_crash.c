/* Crash-point enumeration of a follower installing a snapshot from its leader: the node opens
 * its storage (a WAL whose suffix diverged from the leader's history), receives the snapshot
 * file through a sink, persists the install (drop_log, new hard state, the entries after it),
 * and tells storage the snapshot is durable. Killed at every mutating call and crashed under
 * each policy, the directory must reopen as either the old log, or the snapshot followed only
 * by entries that continue it (never the divergent ones), and take the next append. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crash_harness.h"
#include "snapshot_helpers.h"
#include "storage/snapshot_stream.h"
#include "storage_helpers.h"

#define OLD_LAST 30
#define OLD_COMMIT 10
#define SNAP_INDEX 25 /* the leader's entry 25 has term 3; this node's has term 2 */
#define SNAP_TERM 3
#define SNAP_BYTES (300u << 10)
#define NEW_LAST 28

static craft_term old_term(craft_index i)
{
    return i <= 10 ? 1 : 2;
}

/* The follower before the install: WAL 1..30, hard state term 2, commit 10. */
static struct io_fs_sim *follower(uint64_t seed)
{
    return sh_base_log(seed, OLD_LAST, OLD_COMMIT);
}

struct outcome {
    bool received; /* snapshot_sink_finish returned 0 */
    bool synced;   /* the install's persist and sync returned 0 */
};

/* The install as the node does it, until the first error. */
static void install(struct io_fs_sim *sim, struct snapshot_source *src, uint64_t size,
                    struct outcome *o)
{
    memset(o, 0, sizeof *o);
    struct storage *s;
    struct storage_recovered rec;
    char errmsg[256];
    int rv = sh_open(sim, &s, &rec, errmsg, sizeof errmsg);
    if (rv != 0) {
        assert_int_not_equal(rv, CRAFT_ECORRUPT);
        return;
    }
    storage_recovered_release(s);
    struct snapshot_sink *sink;
    rv = snapshot_sink_begin(io_fs_sim_fs(sim), SNAP_INDEX, SNAP_TERM, &sink);
    static unsigned char buf[100000];
    for (uint64_t off = 0; rv == 0 && off < size;) {
        size_t n;
        assert_int_equal(snapshot_source_read(src, off, buf, sizeof buf, &n), 0);
        if (snapshot_sink_write(sink, off, buf, n) != 0) {
            break; /* finish reports it */
        }
        off += n;
    }
    struct craft_snapshot_meta meta;
    if (rv == 0) {
        rv = snapshot_sink_finish(sink, &meta, errmsg, sizeof errmsg);
        o->received = rv == 0;
    }
    if (rv == 0) {
        struct craft_persist p;
        memset(&p, 0, sizeof p);
        p.hard_state_changed = true;
        p.hard_state = (struct craft_hard_state){.term = SNAP_TERM, .vote = 0, .commit = 27};
        p.snapshot = (struct craft_persist_snapshot){
            .index = SNAP_INDEX, .term = SNAP_TERM, .drop_log = true};
        rv = sh_persist_run(s, p, SNAP_INDEX + 1, NEW_LAST, SNAP_TERM, true);
        o->synced = rv == 0;
    }
    if (rv == 0) {
        rv = storage_snapshot_taken(s, &meta);
    }
    storage_close(s);
}

/* Reopens and checks what the crash left, then appends the next entry and checks it stays. */
static void check(struct io_fs_sim *sim, const struct outcome *o, const char *what,
                  struct failures *fl)
{
    struct storage *s;
    struct storage_recovered rec;
    char errmsg[256] = "";
    int rv = sh_open(sim, &s, &rec, errmsg, sizeof errmsg);
    if (rv != 0) {
        failed(fl, "%s: storage_open: %s: %s", what, craft_errname(rv), errmsg);
        return;
    }
    craft_index last;
    craft_index commit_max;
    if (rec.have_snapshot) {
        if (rec.snapshot.index != SNAP_INDEX || rec.snapshot.term != SNAP_TERM) {
            failed(fl, "%s: snapshot (%llu, %llu)", what, (unsigned long long)rec.snapshot.index,
                   (unsigned long long)rec.snapshot.term);
        }
        /* Nothing but a prefix of the install's own entries may follow it. */
        if (rec.n_entries > NEW_LAST - SNAP_INDEX || (o->synced && rec.n_entries == 0)) {
            failed(fl, "%s: %zu entries after the snapshot", what, rec.n_entries);
        }
        for (size_t i = 0; i < rec.n_entries; i++) {
            if (rec.entries[i].index != SNAP_INDEX + 1 + i || rec.entries[i].term != SNAP_TERM) {
                failed(fl, "%s: entry (%llu, %llu) after the snapshot", what,
                       (unsigned long long)rec.entries[i].index,
                       (unsigned long long)rec.entries[i].term);
                break;
            }
        }
        if (o->synced && rec.n_entries != NEW_LAST - SNAP_INDEX) {
            failed(fl, "%s: the install was synced but %zu entries follow the snapshot", what,
                   rec.n_entries);
        }
        last = SNAP_INDEX + rec.n_entries;
        commit_max = last;
    } else {
        if (o->received) {
            failed(fl, "%s: the received snapshot is gone", what);
        }
        if (rec.n_entries != OLD_LAST) {
            failed(fl, "%s: %zu entries without the snapshot", what, rec.n_entries);
        }
        for (size_t i = 0; i < rec.n_entries; i++) {
            if (rec.entries[i].term != old_term(i + 1)) {
                failed(fl, "%s: entry %zu has term %llu", what, i + 1,
                       (unsigned long long)rec.entries[i].term);
                break;
            }
        }
        last = OLD_LAST;
        commit_max = OLD_COMMIT;
    }
    if (rec.hard_state.commit > commit_max) {
        failed(fl, "%s: commit %llu past %llu", what, (unsigned long long)rec.hard_state.commit,
               (unsigned long long)commit_max);
    }
    storage_recovered_release(s);
    struct craft_persist p;
    memset(&p, 0, sizeof p);
    rv = sh_persist_run(s, p, last + 1, last + 1, SNAP_TERM, true);
    storage_close(s);
    if (rv != 0) {
        failed(fl, "%s: appending %llu: %s", what, (unsigned long long)last + 1, craft_errname(rv));
        return;
    }
    rv = sh_open(sim, &s, &rec, errmsg, sizeof errmsg);
    if (rv != 0) {
        failed(fl, "%s: reopening after the append: %s: %s", what, craft_errname(rv), errmsg);
        return;
    }
    if (rec.n_entries == 0 || rec.entries[rec.n_entries - 1].index != last + 1) {
        failed(fl, "%s: the append of %llu did not stay", what, (unsigned long long)last + 1);
    }
    storage_close(s);
}

static const struct policy_case policies[] = {
    {IO_FS_SIM_CRASH_LOSE_ALL, 1, "lose_all"}, {IO_FS_SIM_CRASH_KEEP_ALL, 1, "keep_all"},
    {IO_FS_SIM_CRASH_RANDOM, 5, "random/5"},   {IO_FS_SIM_CRASH_RANDOM, 6, "random/6"},
    {IO_FS_SIM_CRASH_RANDOM, 7, "random/7"},
};

static void test_storage_install_crash_anywhere_recovers_old_log_or_snapshot(void **state)
{
    (void)state;
    struct io_fs_sim *leader;
    assert_int_equal(io_fs_sim_create(1, &leader), 0);
    struct craft_snapshot_meta m = snap_meta(SNAP_INDEX, SNAP_TERM, 3);
    assert_int_equal(snap_write(io_fs_sim_fs(leader), &m, SNAP_BYTES, 0), 0);
    struct snapshot_source *src;
    uint64_t size;
    assert_int_equal(
        snapshot_source_open(io_fs_sim_fs(leader), SNAP_INDEX, SNAP_TERM, &src, &m, &size), 0);
    struct io_fs_sim *sim = follower(1);
    uint64_t start = io_fs_sim_ops(sim);
    struct outcome o;
    install(sim, src, size, &o);
    assert_true(o.synced);
    uint64_t n = io_fs_sim_ops(sim) - start;
    io_fs_sim_destroy(sim);
    struct failures fl = {0};
    unsigned checked = 0;
    for (uint64_t k = 0; k <= n; k++) {
        for (size_t c = 0; c < sizeof policies / sizeof policies[0]; c++) {
            sim = follower(policies[c].seed);
            io_fs_sim_die_after(sim, io_fs_sim_ops(sim) + k);
            install(sim, src, size, &o);
            set_policy(sim, policies[c].policy);
            assert_int_equal(io_fs_sim_crash(sim), 0);
            char what[96];
            snprintf(what, sizeof what, "crash after op %llu of %llu, %s", (unsigned long long)k,
                     (unsigned long long)n, policies[c].name);
            check(sim, &o, what, &fl);
            io_fs_sim_destroy(sim);
            checked++;
        }
    }
    snapshot_source_close(src);
    io_fs_sim_destroy(leader);
    print_message("install crash points: %llu, %u cases checked, %u failed\n",
                  (unsigned long long)n + 1, checked, fl.n);
    assert_int_equal(fl.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_install_crash_anywhere_recovers_old_log_or_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
