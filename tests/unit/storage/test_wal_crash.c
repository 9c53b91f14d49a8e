/* Crash-point enumeration for the WAL: a scripted workload (batches, a truncate and re-append, a
 * truncate reaching back into an older segment, segment rollovers, a prefix drop) is killed at
 * every one of its mutating file-system calls in turn, the disk crashes under each policy, and
 * recovery must keep everything acknowledged, nothing after a torn record, and never call a plain
 * crash corruption. A second pass also kills recovery itself at each of its calls. */
#include <stdarg.h>
#include <stddef.h>
#include <assert.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crash_harness.h"

#include "io/sim/fs_sim.h"
#include "storage/wal.h"
#include "wal_model.h"

enum step_kind { APPEND, TRUNCATE, SYNC, DROP };

struct step {
    enum step_kind kind;
    craft_index a; /* APPEND: first; TRUNCATE: from; DROP: upto */
    craft_index b; /* APPEND: last */
    craft_term term;
};

/* With 4 KiB segments and 50..350-byte records this rolls over many times; batch 4 spans a
 * segment boundary; the truncate to 10 reaches back to the first segment; the drop after it can
 * remove segments whose entries that truncate superseded. */
static const struct step workload[] = {
    {APPEND, 1, 6, 1},    {SYNC, 0, 0, 0},      {APPEND, 7, 20, 1},  {SYNC, 0, 0, 0},
    {TRUNCATE, 15, 0, 0}, {APPEND, 15, 22, 2},  {SYNC, 0, 0, 0},     {APPEND, 23, 40, 2},
    {SYNC, 0, 0, 0},      {TRUNCATE, 10, 0, 0}, {APPEND, 10, 18, 3}, {SYNC, 0, 0, 0},
    {DROP, 9, 0, 0},      {APPEND, 19, 30, 3},  {SYNC, 0, 0, 0},     {DROP, 24, 0, 0},
    {APPEND, 31, 33, 4},  {SYNC, 0, 0, 0},
};

#define SEGMENT_BYTES 4096u
#define N_RANDOM_SEEDS 4

struct run {
    struct io_fs_sim *sim;
    struct wal_config cfg;
    struct wal_model model;
    bool opened;
};

/* The cases run twice: payloads copied into the batch, then written from the caller's memory
 * (which must then stay put until the sync: each payload gets its own slot here). */
static uint32_t inline_bytes_max = UINT32_MAX;
static unsigned char payload_slots[WAL_MODEL_OPS_MAX + 1][WAL_MODEL_DATA_MAX];

static void run_init(struct run *r, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(io_fs_sim_create(seed, &r->sim), 0);
    wal_config_init(&r->cfg);
    r->cfg.segment_bytes = SEGMENT_BYTES;
    r->cfg.inline_bytes_max = inline_bytes_max;
}

static void append_entries(struct wal *w, struct wal_model *m, craft_index first, craft_index last,
                           craft_term term)
{
    for (craft_index i = first; i <= last; i++) {
        assert_true(m->n_ops < WAL_MODEL_OPS_MAX);
        unsigned char *data = payload_slots[m->n_ops];
        size_t len = wal_model_data(i, term, data);
        struct craft_entry e = {
            .term = term, .index = i, .type = CRAFT_ENTRY_NORMAL, .data = {data, len}};
        assert_int_equal(wal_append(w, &e, 1), 0);
        m->ops[m->n_ops++] = (struct wal_model_op){.index = i, .term = term};
    }
}

/* Runs the workload until its first failing call; the model records what was acknowledged. */
static void run_workload(struct run *r)
{
    struct wal *w = NULL;
    char errmsg[256];
    int rv = wal_open(io_fs_sim_fs(r->sim), &r->cfg, &w, NULL, errmsg, sizeof errmsg);
    if (rv != 0) {
        assert_int_not_equal(rv, CRAFT_ECORRUPT);
        return;
    }
    r->opened = true;
    struct wal_model *m = &r->model;
    for (size_t s = 0; s < sizeof workload / sizeof workload[0] && rv == 0; s++) {
        const struct step *st = &workload[s];
        switch (st->kind) {
        case APPEND:
            append_entries(w, m, st->a, st->b, st->term);
            break;
        case TRUNCATE:
            assert_int_equal(wal_truncate(w, st->a), 0);
            m->ops[m->n_ops++] = (struct wal_model_op){.index = st->a, .term = 0};
            break;
        case SYNC:
            rv = wal_sync(w);
            if (rv == 0) {
                for (size_t i = 0; i < m->n_ops; i++) {
                    wal_model_apply(&m->durable, &m->ops[i]);
                }
                m->n_ops = 0;
            }
            break;
        case DROP:
            m->floor = st->a; /* from the first unlink on, those entries may be gone */
            rv = wal_drop_prefix(w, st->a);
            break;
        }
    }
    wal_close(w);
}

static int note_tmp(void *arg, const char *name)
{
    size_t len = strlen(name);
    if (strncmp(name, "wal-", 4) == 0 && len > 4 && strcmp(name + len - 4, ".tmp") == 0) {
        (*(unsigned *)arg)++;
    }
    return 0;
}

/* Opens the crashed WAL and checks it against the model (and that no segment creation cut short
 * is left as a `.tmp`); then the log must go on: one more batch is written and a clean reopen
 * returns it too. */
static void reopen_and_check(struct run *r, const char *what, struct failures *fl)
{
    struct wal *w = NULL;
    char errmsg[256] = "";
    struct wal_open_report report;
    int rv = wal_open(io_fs_sim_fs(r->sim), &r->cfg, &w, &report, errmsg, sizeof errmsg);
    if (rv != 0) {
        failed(fl, "%s: wal_open after a plain crash: %s: %s", what, craft_errname(rv), errmsg);
        return;
    }
    unsigned n_tmp = 0;
    assert_int_equal(io_fs_list(io_fs_sim_fs(r->sim), note_tmp, &n_tmp), 0);
    if (n_tmp != 0) {
        failed(fl, "%s: %u wal-*.tmp left after the open", what, n_tmp);
    }
    size_t n;
    const struct craft_entry *got = wal_recovered(w, &n);
    char why[512];
    int p = wal_model_check(&r->model, got, n, why, sizeof why);
    if (p < 0) {
        failed(fl, "%s: %s", what, why);
        wal_close(w);
        return;
    }
    /* wal_read agrees with what recovery handed out. */
    for (size_t i = 0; i < n; i++) {
        unsigned char buf[WAL_MODEL_DATA_MAX + 64];
        struct craft_entry e;
        assert_int_equal(wal_read(w, got[i].index, &e, buf, sizeof buf), 0);
        assert_int_equal(e.term, got[i].term);
        assert_int_equal(e.data.len, got[i].data.len);
        assert_memory_equal(e.data.base, got[i].data.base, e.data.len);
    }
    craft_index last = n > 0 ? got[n - 1].index : 0;
    craft_term term = n > 0 ? got[n - 1].term : 1;
    if (n == 0) {
        /* An empty log takes any index: continue where the matched model log ended. */
        struct wal_model_log s = r->model.durable;
        for (int i = 0; i < p; i++) {
            wal_model_apply(&s, &r->model.ops[i]);
        }
        last = s.last;
    }
    wal_recovered_release(w);
    unsigned char *data = payload_slots[WAL_MODEL_OPS_MAX];
    size_t len = wal_model_data(last + 1, term + 10, data);
    struct craft_entry e = {
        .term = term + 10, .index = last + 1, .type = CRAFT_ENTRY_NORMAL, .data = {data, len}};
    assert_int_equal(wal_append(w, &e, 1), 0);
    assert_int_equal(wal_sync(w), 0);
    wal_close(w);
    w = NULL;
    rv = wal_open(io_fs_sim_fs(r->sim), &r->cfg, &w, &report, errmsg, sizeof errmsg);
    if (rv != 0) {
        failed(fl, "%s: clean reopen after recovery and one more batch: %s: %s", what,
               craft_errname(rv), errmsg);
        return;
    }
    assert_false(report.tail_truncated);
    assert_int_equal(wal_last_index(w), last + 1);
    assert_int_equal(wal_term_at(w, last + 1), term + 10);
    wal_close(w);
}

/* The number of mutating calls the whole workload makes when nothing fails. */
static uint64_t count_ops(void)
{
    struct run r;
    run_init(&r, 1);
    run_workload(&r);
    uint64_t n = io_fs_sim_ops(r.sim);
    /* The script ran to its end: its last batch is durable. */
    assert_int_equal(r.model.n_ops, 0);
    assert_int_equal(r.model.durable.last, 33);
    io_fs_sim_destroy(r.sim);
    return n;
}

static const struct policy_case policies[] = {
    {IO_FS_SIM_CRASH_LOSE_ALL, 1, "lose_all"}, {IO_FS_SIM_CRASH_KEEP_ALL, 1, "keep_all"},
    {IO_FS_SIM_CRASH_RANDOM, 11, "random/11"}, {IO_FS_SIM_CRASH_RANDOM, 22, "random/22"},
    {IO_FS_SIM_CRASH_RANDOM, 33, "random/33"}, {IO_FS_SIM_CRASH_RANDOM, 44, "random/44"},
};
static_assert(sizeof policies / sizeof policies[0] == 2 + N_RANDOM_SEEDS, "policy table");

/* Kills the workload after k calls, crashes, and returns the run ready for recovery. */
static void crash_at(struct run *r, const struct policy_case *pc, uint64_t k)
{
    run_init(r, pc->seed);
    io_fs_sim_die_after(r->sim, k);
    run_workload(r);
    set_policy(r->sim, pc->policy);
    assert_int_equal(io_fs_sim_crash(r->sim), 0);
}

static void test_wal_crash_every_point_recovers_acknowledged_prefix(void **state)
{
    (void)state;
    uint64_t n = count_ops();
    assert_true(n > 40); /* the script really rolls over, truncates and drops */
    unsigned checked = 0;
    struct failures fl = {0};
    for (uint64_t k = 0; k <= n; k++) {
        for (size_t c = 0; c < sizeof policies / sizeof policies[0]; c++) {
            struct run r;
            crash_at(&r, &policies[c], k);
            char what[96];
            snprintf(what, sizeof what, "crash after op %llu of %llu, %s", (unsigned long long)k,
                     (unsigned long long)n, policies[c].name);
            reopen_and_check(&r, what, &fl);
            io_fs_sim_destroy(r.sim);
            checked++;
        }
    }
    print_message("wal crash points: %llu (ops 0..%llu), %u crash cases checked, %u failed\n",
                  (unsigned long long)n + 1, (unsigned long long)n, checked, fl.n);
    assert_int_equal(fl.n, 0);
}

/* A crash while recovering from a crash: kill wal_open at each of its own calls (it cuts torn
 * tails, writes a closing record, removes segments), crash again, and recover once more. */
static void test_wal_crash_during_recovery_recovers_acknowledged_prefix(void **state)
{
    (void)state;
    uint64_t n = count_ops();
    unsigned checked = 0;
    struct failures fl = {0};
    for (uint64_t k = 0; k <= n; k++) {
        for (size_t c = 0; c < sizeof policies / sizeof policies[0]; c++) {
            if (policies[c].policy == IO_FS_SIM_CRASH_KEEP_ALL) {
                continue;
            }
            /* How many calls does this recovery make? */
            struct run r;
            crash_at(&r, &policies[c], k);
            uint64_t before = io_fs_sim_ops(r.sim);
            struct wal *w = NULL;
            char errmsg[256];
            if (wal_open(io_fs_sim_fs(r.sim), &r.cfg, &w, NULL, errmsg, sizeof errmsg) != 0) {
                io_fs_sim_destroy(r.sim);
                continue; /* the first pass reports this crash point */
            }
            wal_close(w);
            uint64_t m = io_fs_sim_ops(r.sim) - before;
            io_fs_sim_destroy(r.sim);
            for (uint64_t j = 0; j < m; j++) {
                crash_at(&r, &policies[c], k);
                io_fs_sim_die_after(r.sim, io_fs_sim_ops(r.sim) + j);
                w = NULL;
                int rv = wal_open(io_fs_sim_fs(r.sim), &r.cfg, &w, NULL, errmsg, sizeof errmsg);
                if (rv == CRAFT_ECORRUPT) {
                    failed(&fl,
                           "crash after op %llu, %s: recovery killed after %llu calls "
                           "reports corruption: %s",
                           (unsigned long long)k, policies[c].name, (unsigned long long)j, errmsg);
                }
                if (rv == 0) {
                    wal_close(w);
                }
                assert_int_equal(io_fs_sim_crash(r.sim), 0);
                char what[128];
                snprintf(what, sizeof what, "crash after op %llu, %s, recovery killed after %llu",
                         (unsigned long long)k, policies[c].name, (unsigned long long)j);
                reopen_and_check(&r, what, &fl);
                io_fs_sim_destroy(r.sim);
                checked++;
            }
        }
    }
    print_message("wal crash-during-recovery cases checked: %u, failed %u\n", checked, fl.n);
    assert_int_equal(fl.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_crash_every_point_recovers_acknowledged_prefix),
        cmocka_unit_test(test_wal_crash_during_recovery_recovers_acknowledged_prefix),
    };
    int failed = cmocka_run_group_tests_name("wal crash, payloads copied", tests, NULL, NULL);
    inline_bytes_max = 0;
    failed += cmocka_run_group_tests_name("wal crash, payloads written in place", tests, NULL, NULL);
    return failed;
}
