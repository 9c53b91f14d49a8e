/* Crashes of a node running several Raft groups over one WAL: a seeded random workload (appends,
 * conflicting suffixes replaced in a new term, votes, commits, snapshots and the segment drops
 * they allow, per group, interleaved in shared batches), killed at a random mutating call and
 * crashed under the random policy. Each group must come back with exactly its acknowledged log
 * plus a prefix of its part of the batch in flight, the hard state acknowledged or the one in
 * flight (never an entry of the batch without the hard state written ahead of it), and its
 * newest finished snapshot. */
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
#include "io/sim/fs_sim.h"
#include "snapshot_helpers.h"
#include "storage/storage.h"
#include "util/prng.h"
#include "wal_model.h"

#define NODE 4
#define CLUSTER 0x6A0Bull
#define SEGMENT_BYTES 4096u
#define N_GROUPS 3
#define ROUNDS 60
#define SEEDS 2000

static const uint64_t group_ids[N_GROUPS] = {1, 5, 9};
/* How often each group takes part in a batch (per million): the last one is mostly idle, so its
 * hard state ages in old segments that the others' snapshots let go. */
static const uint32_t group_ppm[N_GROUPS] = {700000, 700000, 40000};

/* What one group was told, and what it has in flight. */
struct group_model {
    uint64_t id;
    struct wal_model log;
    struct craft_hard_state hs_durable;  /* acknowledged by the last sync that returned 0 */
    struct craft_hard_state hs_inflight; /* the newest saved since (valid if hs_pending) */
    bool hs_pending;
    craft_term term;    /* the group's current term (of its newest entries) */
    craft_index commit; /* entries up to here are committed: never truncated */
    craft_index snap;   /* the newest snapshot taken */
};

struct run {
    struct prng rng;
    struct group_model g[N_GROUPS];
    bool failed; /* a call failed: the process is dead from here on */
};

static craft_index model_last(const struct group_model *m)
{
    struct wal_model_log s = m->log.durable;
    for (size_t i = 0; i < m->log.n_ops; i++) {
        wal_model_apply(&s, &m->log.ops[i]);
    }
    return s.last;
}

/* Queues one group's part of a batch: maybe a new term replacing its uncommitted suffix, maybe
 * a vote, some entries, maybe a commit. */
static int queue_group(struct run *r, struct storage *s, struct group_model *m)
{
    struct craft_persist p;
    memset(&p, 0, sizeof p);
    struct craft_entry e[8];
    static unsigned char data[8][WAL_MODEL_DATA_MAX];
    craft_index last = model_last(m);
    craft_index next = last + 1;
    if (last > m->commit && last > m->snap && prng_chance(&r->rng, 200000)) {
        /* A new leader's entries replace the uncommitted suffix. */
        craft_index low = m->commit > m->snap ? m->commit : m->snap;
        next = low + 1 + prng_below(&r->rng, last - low);
        p.truncate_from = next;
        m->log.ops[m->log.n_ops++] = (struct wal_model_op){.index = next};
        m->term++;
    } else if (prng_chance(&r->rng, 100000)) {
        m->term++; /* an election without entries yet */
    }
    size_t n = (size_t)prng_below(&r->rng, 5);
    if (next + n > WAL_MODEL_INDEX_MAX) {
        n = 0;
    }
    for (size_t i = 0; i < n; i++) {
        craft_index idx = next + i;
        size_t len = wal_model_data(idx, m->term, data[i]);
        e[i] = (struct craft_entry){
            .term = m->term, .index = idx, .type = CRAFT_ENTRY_NORMAL, .data = {data[i], len}};
        m->log.ops[m->log.n_ops++] = (struct wal_model_op){.index = idx, .term = m->term};
    }
    p.entries = e;
    p.n_entries = n;
    struct craft_hard_state hs = m->hs_pending ? m->hs_inflight : m->hs_durable;
    if (hs.term != m->term) {
        hs.term = m->term;
        hs.vote = prng_chance(&r->rng, 500000) ? NODE : CRAFT_ID_NONE;
    } else if (hs.vote == CRAFT_ID_NONE && prng_chance(&r->rng, 100000)) {
        hs.vote = m->id; /* a vote for another node, later in the same term */
    }
    /* Commit what was durable before this batch (never what it truncates). */
    craft_index durable = m->log.durable.last;
    if (p.truncate_from != 0 && p.truncate_from - 1 < durable) {
        durable = p.truncate_from - 1;
    }
    if (durable > m->commit && prng_chance(&r->rng, 500000)) {
        m->commit += 1 + prng_below(&r->rng, durable - m->commit);
    }
    hs.commit = m->commit;
    struct craft_hard_state cur = m->hs_pending ? m->hs_inflight : m->hs_durable;
    if (hs.term != cur.term || hs.vote != cur.vote || hs.commit != cur.commit) {
        p.hard_state_changed = true;
        p.hard_state = hs;
        if (hs.term != cur.term || hs.vote != cur.vote) {
            m->hs_inflight = hs; /* goes with the batch */
            m->hs_pending = true;
        }
    }
    return storage_persist_group(s, m->id, &p);
}

/* Publishes a snapshot of group m at its committed index and reports it. */
static int snapshot_group(struct io_fs *fs, struct storage *s, struct group_model *m)
{
    craft_index at = m->commit;
    if (at == 0 || at <= m->snap || at > m->log.durable.last) {
        return 0;
    }
    struct craft_snapshot_meta meta = snap_meta(at, m->log.durable.term[at], 3);
    struct snapshot_writer *w;
    int rv = snapshot_writer_begin_group(fs, m->id, &meta, &w);
    if (rv != 0) {
        return rv;
    }
    unsigned char img[64];
    memset(img, (int)m->id, sizeof img);
    rv = snapshot_writer_write(w, img, sizeof img);
    if (rv != 0) {
        snapshot_writer_abort(w);
        return rv;
    }
    rv = snapshot_writer_finish(w);
    if (rv == 0) {
        m->snap = at;
        rv = storage_snapshot_taken_group(s, m->id, &meta);
    }
    return rv;
}

static void synced(struct run *r)
{
    for (size_t k = 0; k < N_GROUPS; k++) {
        struct group_model *m = &r->g[k];
        for (size_t i = 0; i < m->log.n_ops; i++) {
            wal_model_apply(&m->log.durable, &m->log.ops[i]);
        }
        m->log.n_ops = 0;
        if (m->hs_pending) {
            m->hs_durable = m->hs_inflight;
            m->hs_pending = false;
        }
    }
}

static void run_workload(struct io_fs_sim *sim, struct run *r)
{
    struct storage_config cfg;
    storage_config_init(&cfg);
    cfg.node = NODE;
    cfg.cluster = CLUSTER;
    cfg.wal.segment_bytes = SEGMENT_BYTES;
    struct storage *s;
    struct storage_recovered rec;
    char errmsg[256];
    int rv = storage_open(io_fs_sim_fs(sim), &cfg, &s, &rec, errmsg, sizeof errmsg);
    if (rv != 0) {
        assert_int_not_equal(rv, CRAFT_ECORRUPT);
        r->failed = true;
        return;
    }
    storage_recovered_release(s);
    for (unsigned round = 0; round < ROUNDS && rv == 0; round++) {
        for (size_t k = 0; k < N_GROUPS && rv == 0; k++) {
            if (prng_chance(&r->rng, group_ppm[k])) {
                rv = queue_group(r, s, &r->g[k]);
            }
        }
        if (rv == 0) {
            rv = storage_sync(s);
            if (rv == 0) {
                synced(r);
            }
        }
        if (rv == 0 && prng_chance(&r->rng, 150000)) {
            rv = snapshot_group(io_fs_sim_fs(sim), s, &r->g[prng_below(&r->rng, N_GROUPS - 1)]);
        }
    }
    r->failed = rv != 0;
    storage_close(s);
}

static void check_group(const struct storage *s, const struct group_model *m, uint64_t seed,
                        struct failures *fl)
{
    struct storage_recovered rec;
    bool found = storage_recovered_group(s, m->id, &rec);
    struct wal_model model = m->log;
    if (rec.have_snapshot && rec.snapshot.index > model.floor) {
        model.floor = rec.snapshot.index;
    }
    if (m->snap != 0 && (!rec.have_snapshot || rec.snapshot.index < m->snap)) {
        failed(fl, "seed %llu group %llu: the snapshot at %llu is gone", (unsigned long long)seed,
               (unsigned long long)m->id, (unsigned long long)m->snap);
    }
    char why[512];
    int prefix = wal_model_check(&model, rec.entries, rec.n_entries, why, sizeof why);
    if (prefix < 0) {
        failed(fl, "seed %llu group %llu: log: %s", (unsigned long long)seed,
               (unsigned long long)m->id, why);
        return;
    }
    const struct craft_hard_state *d = &m->hs_durable;
    const struct craft_hard_state *f = &m->hs_inflight;
    bool is_d = rec.hard_state.term == d->term && rec.hard_state.vote == d->vote;
    bool is_f = m->hs_pending && rec.hard_state.term == f->term && rec.hard_state.vote == f->vote;
    if (!found && (d->term != 0 || prefix > 0)) {
        failed(fl, "seed %llu group %llu: the group is gone", (unsigned long long)seed,
               (unsigned long long)m->id);
    } else if (!is_d && !is_f) {
        failed(fl,
               "seed %llu group %llu: hard state term %llu vote %llu is neither the "
               "acknowledged (%llu, %llu) nor the one in flight",
               (unsigned long long)seed, (unsigned long long)m->id,
               (unsigned long long)rec.hard_state.term, (unsigned long long)rec.hard_state.vote,
               (unsigned long long)d->term, (unsigned long long)d->vote);
    } else if (m->hs_pending && !is_f && rec.n_entries > 0 &&
               rec.entries[rec.n_entries - 1].term > d->term) {
        failed(fl, "seed %llu group %llu: entries of term %llu without their hard state",
               (unsigned long long)seed, (unsigned long long)m->id,
               (unsigned long long)rec.entries[rec.n_entries - 1].term);
    }
    craft_index reach = rec.n_entries > 0 ? rec.entries[rec.n_entries - 1].index : 0;
    if (rec.have_snapshot && rec.snapshot.index > reach) {
        reach = rec.snapshot.index;
    }
    if (rec.hard_state.commit > reach || rec.hard_state.commit > m->commit) {
        failed(fl, "seed %llu group %llu: commit %llu past the log (%llu) or the model (%llu)",
               (unsigned long long)seed, (unsigned long long)m->id,
               (unsigned long long)rec.hard_state.commit, (unsigned long long)reach,
               (unsigned long long)m->commit);
    }
}

static void test_storage_groups_crash_random_workloads(void **state)
{
    (void)state;
    struct failures fl = {0};
    unsigned n_crashed_mid = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct run r;
        memset(&r, 0, sizeof r);
        prng_seed(&r.rng, seed);
        for (size_t k = 0; k < N_GROUPS; k++) {
            r.g[k].id = group_ids[k];
            r.g[k].term = 1;
        }
        struct io_fs_sim *sim;
        assert_int_equal(io_fs_sim_create(seed, &sim), 0);
        set_policy(sim, IO_FS_SIM_CRASH_RANDOM);
        io_fs_sim_die_after(sim, 20 + prng_below(&r.rng, 600));
        run_workload(sim, &r);
        n_crashed_mid += r.failed;
        assert_int_equal(io_fs_sim_crash(sim), 0);

        struct storage_config cfg;
        storage_config_init(&cfg);
        cfg.node = NODE;
        cfg.cluster = CLUSTER;
        cfg.wal.segment_bytes = SEGMENT_BYTES;
        struct storage *s;
        struct storage_recovered rec;
        char errmsg[256] = "";
        int rv = storage_open(io_fs_sim_fs(sim), &cfg, &s, &rec, errmsg, sizeof errmsg);
        if (rv != 0) {
            failed(&fl, "seed %llu: storage_open after a plain crash: %s: %s",
                   (unsigned long long)seed, craft_errname(rv), errmsg);
        } else {
            for (size_t k = 0; k < N_GROUPS; k++) {
                check_group(s, &r.g[k], seed, &fl);
            }
            storage_close(s);
        }
        io_fs_sim_destroy(sim);
    }
    print_message("multi-group crashes: %u seeds, %u died mid-workload, %u failed\n", SEEDS,
                  n_crashed_mid, fl.n);
    assert_true(n_crashed_mid > SEEDS / 4); /* the kill points reach into the workload */
    assert_int_equal(fl.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_groups_crash_random_workloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
