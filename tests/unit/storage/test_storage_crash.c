/* Crash-point enumeration for a whole data directory (storage.c): opening (identity claim, WAL),
 * log batches with a truncate and rollovers, hard states in those batches, a snapshot write and
 * the prefix drop that follows it (storage_snapshot_taken), killed at every mutating call in turn
 * and crashed under each policy. Reopening must succeed, keep every save, batch and snapshot
 * reported durable, and return a consistent log after the snapshot. */
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crash_harness.h"

#include "io/sim/fs_sim.h"
#include "storage/storage.h"
#include "wal_model.h"

#define NODE 3
#define CLUSTER 0xC1A55ull
#define SEGMENT_BYTES 4096u
#define SNAP_INDEX 24
#define SNAP_TERM 2
#define SNAP_BYTES (640u << 10) /* ten writes of 64 KiB: chunks of 256, 256 and 128 KiB */
#define N_SAVES_MAX 8

enum step_kind { PERSIST, SYNC, SNAPSHOT, DROP };

struct step {
    enum step_kind kind;
    craft_term hs_term; /* PERSIST: non-zero to change the hard state */
    craft_id hs_vote;
    craft_index commit;
    craft_index truncate_from;
    craft_index first, last; /* entries first..last of term entry_term */
    craft_term entry_term;
};

static const struct step workload[] = {
    {PERSIST, 1, NODE, 0, 0, 1, 8, 1},  {SYNC, 0, 0, 0, 0, 0, 0, 0},
    {PERSIST, 0, 0, 0, 0, 9, 22, 1},    {SYNC, 0, 0, 0, 0, 0, 0, 0},
    {PERSIST, 2, 1, 12, 15, 15, 26, 2}, {SYNC, 0, 0, 0, 0, 0, 0, 0},
    {SNAPSHOT, 0, 0, 0, 0, 0, 0, 0},    {DROP, 0, 0, 0, 0, 0, 0, 0},
    {PERSIST, 3, 2, 20, 0, 27, 31, 3},  {SYNC, 0, 0, 0, 0, 0, 0, 0},
};

/* What the run was told was durable, and what it tried. */
struct outcome {
    struct wal_model model;
    struct craft_hard_state saves[N_SAVES_MAX]; /* every save attempted, in order */
    unsigned n_saves;
    unsigned n_saves_ok; /* the first n_saves_ok were made durable by a sync that returned 0 */
    bool snapshot_started;
    bool snapshot_ok;
    craft_index first_after_drop;
};

static unsigned char snap_byte(size_t i)
{
    return (unsigned char)(i * 131 + (i >> 11));
}

static int write_snapshot(struct io_fs *fs, struct outcome *o)
{
    struct craft_snapshot_meta meta = {.index = SNAP_INDEX, .term = SNAP_TERM};
    meta.membership.n_voters = 3;
    meta.membership.voters[0] = 1;
    meta.membership.voters[1] = 2;
    meta.membership.voters[2] = NODE;
    struct snapshot_writer *sw;
    o->snapshot_started = true;
    int rv = snapshot_writer_begin(fs, &meta, &sw);
    if (rv != 0) {
        return rv;
    }
    static unsigned char buf[64 << 10];
    for (size_t off = 0; off < SNAP_BYTES && rv == 0; off += sizeof buf) {
        for (size_t i = 0; i < sizeof buf; i++) {
            buf[i] = snap_byte(off + i);
        }
        rv = snapshot_writer_write(sw, buf, sizeof buf);
    }
    if (rv != 0) {
        snapshot_writer_abort(sw);
        return rv;
    }
    rv = snapshot_writer_finish(sw);
    o->snapshot_ok = rv == 0;
    return rv;
}

static void queue_entries(struct outcome *o, const struct step *st, struct craft_persist *out,
                          struct craft_entry *entries, unsigned char (*data)[WAL_MODEL_DATA_MAX])
{
    size_t n = 0;
    if (st->truncate_from != 0) {
        out->truncate_from = st->truncate_from;
        o->model.ops[o->model.n_ops++] = (struct wal_model_op){.index = st->truncate_from};
    }
    for (craft_index i = st->first; i <= st->last && st->first != 0; i++, n++) {
        size_t len = wal_model_data(i, st->entry_term, data[n]);
        entries[n] = (struct craft_entry){
            .term = st->entry_term, .index = i, .type = CRAFT_ENTRY_NORMAL, .data = {data[n], len}};
        o->model.ops[o->model.n_ops++] = (struct wal_model_op){.index = i, .term = st->entry_term};
    }
    out->entries = entries;
    out->n_entries = n;
}

/* Runs the workload until its first error. */
static void run_workload(struct io_fs *fs, struct storage_config *cfg, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    struct storage *s;
    struct storage_recovered rec;
    char errmsg[256];
    int rv = storage_open(fs, cfg, &s, &rec, errmsg, sizeof errmsg);
    if (rv != 0) {
        assert_int_not_equal(rv, CRAFT_ECORRUPT);
        return;
    }
    storage_recovered_release(s);
    struct craft_hard_state hs = {0};
    for (size_t k = 0; k < sizeof workload / sizeof workload[0] && rv == 0; k++) {
        const struct step *st = &workload[k];
        struct craft_persist out = {0};
        struct craft_entry entries[32];
        static unsigned char data[32][WAL_MODEL_DATA_MAX];
        switch (st->kind) {
        case PERSIST:
            if (st->hs_term != 0) {
                hs = (struct craft_hard_state){st->hs_term, st->hs_vote, st->commit};
                out.hard_state_changed = true;
                out.hard_state = hs;
                o->saves[o->n_saves++] = hs; /* a term or vote change: durable with the batch */
            }
            queue_entries(o, st, &out, entries, data);
            rv = storage_persist(s, &out);
            break;
        case SYNC:
            rv = storage_sync(s);
            if (rv == 0) {
                o->n_saves_ok = o->n_saves;
                for (size_t i = 0; i < o->model.n_ops; i++) {
                    wal_model_apply(&o->model.durable, &o->model.ops[i]);
                }
                o->model.n_ops = 0;
            }
            break;
        case SNAPSHOT:
            rv = write_snapshot(fs, o);
            break;
        case DROP: {
            o->model.floor = SNAP_INDEX;
            struct craft_snapshot_meta taken = {.index = SNAP_INDEX, .term = SNAP_TERM};
            rv = storage_snapshot_taken(s, &taken);
            o->first_after_drop = wal_first_index(storage_wal(s));
            if (rv == 0) {
                assert_int_equal(storage_snapshot_index(s), SNAP_INDEX);
            }
            break;
        }
        }
    }
    /* Every hard state change in the script changes the term, so close has no commit to save. */
    storage_close(s);
}

static bool hs_equal(const struct craft_hard_state *a, const struct craft_hard_state *b)
{
    return a->term == b->term && a->vote == b->vote && a->commit == b->commit;
}

/* Reads the whole snapshot image and compares it; returns an error text or NULL. */
static const char *check_snapshot(struct io_fs *fs, const struct craft_snapshot_meta *meta)
{
    if (meta->index != SNAP_INDEX || meta->term != SNAP_TERM || meta->membership.n_voters != 3 ||
        meta->membership.voters[2] != NODE) {
        return "snapshot meta differs";
    }
    struct snapshot_reader *r;
    struct craft_snapshot_meta m;
    if (snapshot_reader_open(fs, meta->index, meta->term, &r, &m) != 0) {
        return "snapshot_reader_open failed";
    }
    static unsigned char buf[100000];
    size_t total = 0;
    const char *err = NULL;
    for (;;) {
        size_t n;
        if (snapshot_reader_read(r, buf, sizeof buf, &n) != 0) {
            err = "snapshot_reader_read failed";
            break;
        }
        if (n == 0) {
            break;
        }
        for (size_t i = 0; i < n && err == NULL; i++) {
            if (buf[i] != snap_byte(total + i)) {
                err = "snapshot image differs";
            }
        }
        total += n;
    }
    snapshot_reader_close(r);
    if (err == NULL && total != SNAP_BYTES) {
        err = "snapshot image has the wrong length";
    }
    return err;
}

static void reopen_and_check(struct io_fs_sim *sim, struct storage_config *cfg,
                             const struct outcome *o, const char *what, struct failures *fl)
{
    struct io_fs *fs = io_fs_sim_fs(sim);
    struct storage *s;
    struct storage_recovered rec;
    char errmsg[256] = "";
    int rv = storage_open(fs, cfg, &s, &rec, errmsg, sizeof errmsg);
    if (rv != 0) {
        failed(fl, "%s: storage_open after a plain crash: %s: %s", what, craft_errname(rv), errmsg);
        return;
    }
    /* The hard state is one of the saves from the last acknowledged one on (or the zero state if
     * none was acknowledged and the first attempt did not land). */
    bool hs_ok = false;
    struct craft_hard_state zero = {0};
    if (o->n_saves_ok == 0 && hs_equal(&rec.hard_state, &zero)) {
        hs_ok = true;
    }
    unsigned from = o->n_saves_ok > 0 ? o->n_saves_ok - 1 : 0;
    for (unsigned i = from; i < o->n_saves && !hs_ok; i++) {
        hs_ok = hs_equal(&rec.hard_state, &o->saves[i]);
    }
    if (!hs_ok) {
        failed(fl,
               "%s: hard state term %llu vote %llu commit %llu is older than the last save "
               "acknowledged (%u of %u)",
               what, (unsigned long long)rec.hard_state.term,
               (unsigned long long)rec.hard_state.vote, (unsigned long long)rec.hard_state.commit,
               o->n_saves_ok, o->n_saves);
    }
    /* The entries a snapshot covers are not handed back; the rest continue it. */
    struct wal_model model = o->model;
    if (rec.have_snapshot && rec.snapshot.index > model.floor) {
        model.floor = rec.snapshot.index;
    }
    if (rec.have_snapshot && rec.n_entries > 0 && rec.entries[0].index != rec.snapshot.index + 1) {
        failed(fl, "%s: the log after snapshot %llu starts at %llu", what,
               (unsigned long long)rec.snapshot.index, (unsigned long long)rec.entries[0].index);
    }
    char why[512];
    if (wal_model_check(&model, rec.entries, rec.n_entries, why, sizeof why) < 0) {
        failed(fl, "%s: log: %s", what, why);
    }
    if (o->snapshot_ok && !rec.have_snapshot) {
        failed(fl, "%s: the finished snapshot is gone", what);
    }
    if (rec.have_snapshot) {
        /* A snapshot under its final name is complete, finished or not. */
        const char *err = check_snapshot(fs, &rec.snapshot);
        if (err != NULL) {
            failed(fl, "%s: %s", what, err);
        }
        if (!o->snapshot_started) {
            failed(fl, "%s: a snapshot appeared from nowhere", what);
        }
    }
    /* Leftover temporary files are gone after an open (docs/DISK_FORMAT.md). */
    char tmp[IO_FS_NAME_MAX];
    snapshot_file_name(SNAP_INDEX, SNAP_TERM, tmp, sizeof tmp - 4);
    strcat(tmp, ".tmp");
    if (io_fs_sim_exists(sim, tmp, IO_FS_SIM_CURRENT)) {
        failed(fl, "%s: %s survived the open", what, tmp);
    }
    storage_recovered_release(s);
    storage_close(s);
}

static const struct policy_case policies[] = {
    {IO_FS_SIM_CRASH_LOSE_ALL, 1, "lose_all"}, {IO_FS_SIM_CRASH_KEEP_ALL, 1, "keep_all"},
    {IO_FS_SIM_CRASH_RANDOM, 5, "random/5"},   {IO_FS_SIM_CRASH_RANDOM, 6, "random/6"},
    {IO_FS_SIM_CRASH_RANDOM, 7, "random/7"},   {IO_FS_SIM_CRASH_RANDOM, 8, "random/8"},
};

static void test_storage_crash_every_point_keeps_what_was_acknowledged(void **state)
{
    (void)state;
    struct storage_config cfg;
    storage_config_init(&cfg);
    cfg.node = NODE;
    cfg.cluster = CLUSTER;
    cfg.wal.segment_bytes = SEGMENT_BYTES;

    struct io_fs_sim *sim;
    struct outcome o;
    assert_int_equal(io_fs_sim_create(1, &sim), 0);
    run_workload(io_fs_sim_fs(sim), &cfg, &o);
    uint64_t n = io_fs_sim_ops(sim);
    assert_int_equal(o.model.durable.last, 31);
    assert_true(o.snapshot_ok);
    assert_int_equal(o.n_saves_ok, 3);
    assert_true(o.first_after_drop > 1); /* the drop removed at least one segment */
    io_fs_sim_destroy(sim);

    struct failures fl = {0};
    unsigned checked = 0;
    for (uint64_t k = 0; k <= n; k++) {
        for (size_t c = 0; c < sizeof policies / sizeof policies[0]; c++) {
            assert_int_equal(io_fs_sim_create(policies[c].seed, &sim), 0);
            io_fs_sim_die_after(sim, k);
            run_workload(io_fs_sim_fs(sim), &cfg, &o);
            set_policy(sim, policies[c].policy);
            assert_int_equal(io_fs_sim_crash(sim), 0);
            char what[96];
            snprintf(what, sizeof what, "crash after op %llu of %llu, %s", (unsigned long long)k,
                     (unsigned long long)n, policies[c].name);
            reopen_and_check(sim, &cfg, &o, what, &fl);
            io_fs_sim_destroy(sim);
            checked++;
        }
    }
    print_message("storage crash points: %llu (ops 0..%llu), %u crash cases checked, %u failed\n",
                  (unsigned long long)n + 1, (unsigned long long)n, checked, fl.n);
    assert_int_equal(fl.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_crash_every_point_keeps_what_was_acknowledged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
