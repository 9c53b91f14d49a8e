/* Unit tests of the log writer (src/storage/log_writer.c): requests that arrive while a sync is
 * in flight go out together in the next batch (group commit), completions come in order, a full
 * queue refuses, a failed sync fails every later request, and what was reported is durable. The
 * next batch is queued into storage while a sync runs, but written and reported only after it:
 * the tests below block fdatasync on a gate to hold a sync in flight. */
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "io/sim/fs_sim.h"
#include "io/thread.h"
#include "storage/log_writer.h"
#include "util/alloc.h"
#include "util/assert.h"

/* A file system that forwards to another, except that fdatasync waits while the gate is shut
 * (but for the next `passes` ones). It counts writes, and the writes seen when the last gated
 * fdatasync started waiting. */
struct gate_fs {
    struct io_fs fs;
    struct io_fs *inner;
    struct io_mutex mu;
    struct io_cond cv;
    bool shut;
    unsigned passes;
    unsigned n_waiting;
    uint64_t n_writes;
    uint64_t writes_at_wait;
};

static int g_open(void *ctx, const char *name, unsigned flags, struct io_file **out)
{
    struct gate_fs *g = ctx;
    return g->inner->ops->open(g->inner->ctx, name, flags, out);
}
static void g_close(void *ctx, struct io_file *f)
{
    struct gate_fs *g = ctx;
    g->inner->ops->close(g->inner->ctx, f);
}
static int g_pwritev(void *ctx, struct io_file *f, const struct iovec *iov, int n, uint64_t off)
{
    struct gate_fs *g = ctx;
    io_mutex_lock(&g->mu);
    g->n_writes++;
    io_mutex_unlock(&g->mu);
    return g->inner->ops->pwritev(g->inner->ctx, f, iov, n, off);
}
static int g_pread(void *ctx, struct io_file *f, void *buf, size_t len, uint64_t off, size_t *n)
{
    struct gate_fs *g = ctx;
    return g->inner->ops->pread(g->inner->ctx, f, buf, len, off, n);
}
static int g_fdatasync(void *ctx, struct io_file *f)
{
    struct gate_fs *g = ctx;
    io_mutex_lock(&g->mu);
    while (g->shut && g->passes == 0) {
        g->writes_at_wait = g->n_writes;
        g->n_waiting++;
        io_cond_broadcast(&g->cv);
        io_cond_wait(&g->cv, &g->mu);
        g->n_waiting--;
    }
    if (g->shut) {
        g->passes--;
    }
    io_mutex_unlock(&g->mu);
    return g->inner->ops->fdatasync(g->inner->ctx, f);
}
static int g_size(void *ctx, struct io_file *f, uint64_t *out)
{
    struct gate_fs *g = ctx;
    return g->inner->ops->size(g->inner->ctx, f, out);
}
static int g_truncate(void *ctx, struct io_file *f, uint64_t size)
{
    struct gate_fs *g = ctx;
    return g->inner->ops->truncate(g->inner->ctx, f, size);
}
static int g_fallocate(void *ctx, struct io_file *f, uint64_t size)
{
    struct gate_fs *g = ctx;
    return g->inner->ops->fallocate(g->inner->ctx, f, size);
}
static int g_sync_dir(void *ctx)
{
    struct gate_fs *g = ctx;
    return g->inner->ops->sync_dir(g->inner->ctx);
}
static int g_rename(void *ctx, const char *from, const char *to)
{
    struct gate_fs *g = ctx;
    return g->inner->ops->rename(g->inner->ctx, from, to);
}
static int g_unlink(void *ctx, const char *name)
{
    struct gate_fs *g = ctx;
    return g->inner->ops->unlink(g->inner->ctx, name);
}
static int g_list(void *ctx, io_fs_list_cb cb, void *arg)
{
    struct gate_fs *g = ctx;
    return g->inner->ops->list(g->inner->ctx, cb, arg);
}

static const struct io_fs_ops gate_ops = {
    .open = g_open,
    .close = g_close,
    .pwritev = g_pwritev,
    .pread = g_pread,
    .fdatasync = g_fdatasync,
    .size = g_size,
    .truncate = g_truncate,
    .fallocate = g_fallocate,
    .sync_dir = g_sync_dir,
    .rename = g_rename,
    .unlink = g_unlink,
    .list = g_list,
};

#define DEADLINE_NS (10ull * 1000000000ull) /* generous: a deadline, not a sleep */

/* Everything a test shares with the writer thread's completion callback. */
struct fixture {
    struct io_fs_sim *sim;
    struct gate_fs gate;
    struct storage *st;
    struct log_writer *lw;
    struct io_mutex mu;
    struct io_cond cv;
    uint64_t done_seqs[64]; /* the first 64 reports */
    int done_status[64];
    unsigned n_done;
    uint64_t last_done_seq; /* the newest report's, past the first 64 too */
};

static void on_done(void *arg, uint64_t seq, int status)
{
    struct fixture *f = arg;
    io_mutex_lock(&f->mu);
    if (seq > f->last_done_seq) {
        f->last_done_seq = seq;
    }
    if (f->n_done < 64) {
        f->done_seqs[f->n_done] = seq;
        f->done_status[f->n_done] = status;
        f->n_done++;
    }
    io_cond_broadcast(&f->cv);
    io_mutex_unlock(&f->mu);
}

static void open_storage(struct fixture *f)
{
    struct storage_config cfg;
    storage_config_init(&cfg);
    cfg.node = 1;
    cfg.cluster = 7;
    cfg.wal.segment_bytes = 16384;
    struct storage_recovered rec;
    char err[256];
    assert_int_equal(storage_open(&f->gate.fs, &cfg, &f->st, &rec, err, sizeof err), 0);
    storage_recovered_release(f->st);
}

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    assert_int_equal(io_fs_sim_create(9, &f.sim), 0);
    f.gate.inner = io_fs_sim_fs(f.sim);
    f.gate.fs.ctx = &f.gate;
    f.gate.fs.ops = &gate_ops;
    io_mutex_init(&f.gate.mu);
    io_cond_init(&f.gate.cv);
    io_mutex_init(&f.mu);
    io_cond_init(&f.cv);
    open_storage(&f);
    *state = &f;
    return 0;
}

static void stop_writer(struct fixture *f)
{
    log_writer_stop(f->lw);
    f->lw = NULL;
}

static void set_gate(struct fixture *f, bool shut);

static int teardown(void **state)
{
    struct fixture *f = *state;
    set_gate(f, false); /* a test that failed half-way must not leave the writer stuck */
    if (f->lw != NULL) {
        stop_writer(f);
    }
    storage_close(f->st);
    io_fs_sim_destroy(f->sim);
    io_cond_close(&f->cv);
    io_mutex_close(&f->mu);
    io_cond_close(&f->gate.cv);
    io_mutex_close(&f->gate.mu);
    return 0;
}

static void start_writer_waking(struct fixture *f, uint64_t queue_bytes_max, uint64_t wake_records)
{
    struct log_writer_config cfg;
    log_writer_config_init(&cfg);
    cfg.queue_bytes_max = queue_bytes_max;
    cfg.wake_records = wake_records;
    assert_int_equal(log_writer_start(f->st, &cfg, on_done, f, &f->lw), 0);
}

static void start_writer(struct fixture *f, uint64_t queue_bytes_max)
{
    start_writer_waking(f, queue_bytes_max, LOG_WRITER_WAKE_RECORDS_DEFAULT);
}

static void set_gate(struct fixture *f, bool shut)
{
    io_mutex_lock(&f->gate.mu);
    f->gate.shut = shut;
    io_cond_broadcast(&f->gate.cv);
    io_mutex_unlock(&f->gate.mu);
}

/* The waits below fail (with the lock released, so teardown can open the gate) when their
 * deadline passes. */

/* Waits (with a deadline) until the writer thread sits in a gated fdatasync. */
static void wait_writer_in_sync(struct fixture *f)
{
    uint64_t deadline = io_monotonic_ns() + DEADLINE_NS;
    io_mutex_lock(&f->gate.mu);
    bool in = f->gate.n_waiting > 0;
    while (!in && io_cond_wait_until(&f->gate.cv, &f->gate.mu, deadline)) {
        in = f->gate.n_waiting > 0;
    }
    in = f->gate.n_waiting > 0;
    io_mutex_unlock(&f->gate.mu);
    assert_true(in);
}

static bool done_covers(const struct fixture *f, uint64_t seq)
{
    return f->last_done_seq >= seq;
}

/* Waits (with a deadline) until a completion covers seq. */
static void wait_done(struct fixture *f, uint64_t seq)
{
    uint64_t deadline = io_monotonic_ns() + DEADLINE_NS;
    io_mutex_lock(&f->mu);
    while (!done_covers(f, seq) && io_cond_wait_until(&f->cv, &f->mu, deadline)) {
    }
    bool done = done_covers(f, seq);
    io_mutex_unlock(&f->mu);
    assert_true(done);
}

/* Waits (with a deadline) until the writer took n requests from its queue (while a sync is held
 * on the gate: the encoder queued them into storage). No event says so: the stats are polled. */
static void wait_taken(struct fixture *f, uint64_t n)
{
    uint64_t deadline = io_monotonic_ns() + DEADLINE_NS;
    struct log_writer_stats st;
    for (log_writer_stats(f->lw, &st); st.n_taken < n; log_writer_stats(f->lw, &st)) {
        assert_true(io_monotonic_ns() < deadline);
        sched_yield();
    }
}

/* Closes storage, crashes the file system (only what was synced is sure to survive) and opens it
 * again into f->st. */
static void crash_and_reopen(struct fixture *f, struct storage_recovered *rec)
{
    storage_close(f->st);
    assert_int_equal(io_fs_sim_crash(f->sim), 0);
    struct storage_config cfg;
    storage_config_init(&cfg);
    cfg.node = 1;
    cfg.cluster = 7;
    char err[256];
    int rv = storage_open(io_fs_sim_fs(f->sim), &cfg, &f->st, rec, err, sizeof err);
    if (rv != 0) {
        fail_msg("reopen: %s", err);
    }
}

/* crash_and_reopen where the crash keeps nothing that was not synced. */
static void crash_losing_unsynced_and_reopen(struct fixture *f, struct storage_recovered *rec)
{
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = IO_FS_SIM_CRASH_LOSE_ALL;
    io_fs_sim_set_faults(f->sim, &faults);
    crash_and_reopen(f, rec);
}

/* Payloads are borrowed by the writer until durable: they live here, one per index (and
 * group), for the whole test program. */
#define PAYLOAD_SLOTS 8
static char payloads[PAYLOAD_SLOTS][PAYLOAD_SLOTS][16];

static uint64_t submit_entry(struct fixture *f, craft_index index, int want)
{
    assert_true(index < PAYLOAD_SLOTS);
    char *data = payloads[0][index];
    int len = snprintf(data, sizeof payloads[0][0], "cmd%llu", (unsigned long long)index);
    struct craft_entry e = {
        .term = 1, .index = index, .type = CRAFT_ENTRY_NORMAL, .data = {data, (size_t)len}};
    struct craft_persist out;
    memset(&out, 0, sizeof out);
    out.entries = &e;
    out.n_entries = 1;
    if (index == 1) {
        out.hard_state_changed = true;
        out.hard_state = (struct craft_hard_state){.term = 1, .vote = 1, .commit = 0};
    }
    uint64_t seq = 0;
    assert_int_equal(log_writer_submit(f->lw, &out, &seq), want);
    return seq;
}

static void test_log_writer_batches_what_arrives_during_a_sync(void **state)
{
    struct fixture *f = *state;
    start_writer(f, LOG_WRITER_QUEUE_BYTES_DEFAULT);
    set_gate(f, true);
    assert_int_equal(submit_entry(f, 1, 0), 1);
    wait_writer_in_sync(f); /* request 1 is being synced alone */
    for (craft_index i = 2; i <= 6; i++) {
        assert_int_equal(submit_entry(f, i, 0), i);
    }
    set_gate(f, false);
    wait_done(f, 6);
    struct log_writer_stats st;
    log_writer_stats(f->lw, &st);
    stop_writer(f);
    /* Exactly two syncs: the one in flight, and one for all five that queued behind it. */
    assert_int_equal(st.n_batches, 2);
    assert_int_equal(st.n_requests, 6);
    assert_int_equal(f->n_done, 2);
    assert_int_equal(f->done_seqs[0], 1);
    assert_int_equal(f->done_seqs[1], 6);
    assert_int_equal(f->done_status[1], 0);
    /* Reported durable means durable: a crash keeps all six. */
    struct storage_recovered rec;
    crash_and_reopen(f, &rec);
    assert_int_equal(rec.n_entries, 6);
    assert_int_equal(rec.hard_state.term, 1);
    assert_int_equal(rec.hard_state.vote, 1);
    assert_memory_equal(rec.entries[5].data.base, "cmd6", 4);
    storage_recovered_release(f->st);
}

static void test_log_writer_refuses_when_the_queue_is_full(void **state)
{
    struct fixture *f = *state;
    start_writer(f, 6); /* bytes */
    set_gate(f, true);
    submit_entry(f, 1, 0);
    wait_writer_in_sync(f);
    submit_entry(f, 2, 0);           /* an empty queue always takes one */
    submit_entry(f, 3, CRAFT_EBUSY); /* 4 bytes wait already: 4 more would pass 6 */
    set_gate(f, false);
    wait_done(f, 2);
    stop_writer(f);
}

static void test_log_writer_failed_sync_fails_every_later_request(void **state)
{
    struct fixture *f = *state;
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.fsync_eio_ppm = 1000000;
    io_fs_sim_set_faults(f->sim, &faults);
    start_writer(f, LOG_WRITER_QUEUE_BYTES_DEFAULT);
    submit_entry(f, 1, 0);
    wait_done(f, 1);
    assert_int_equal(f->done_status[0], CRAFT_EIO);
    /* The failure was recorded before it was reported: every later submission is refused. */
    uint64_t seq;
    struct craft_persist out;
    memset(&out, 0, sizeof out);
    assert_int_equal(log_writer_submit(f->lw, &out, &seq), CRAFT_EIO);
    stop_writer(f);
}

/* Lets n gated fdatasyncs through, then waits (with a deadline) until the writer sits in the
 * next one. */
static void pass_syncs(struct fixture *f, unsigned n)
{
    uint64_t deadline = io_monotonic_ns() + DEADLINE_NS;
    io_mutex_lock(&f->gate.mu);
    f->gate.passes = n;
    io_cond_broadcast(&f->gate.cv);
    while ((f->gate.passes > 0 || f->gate.n_waiting == 0) &&
           io_cond_wait_until(&f->gate.cv, &f->gate.mu, deadline)) {
    }
    bool in = f->gate.passes == 0 && f->gate.n_waiting > 0;
    io_mutex_unlock(&f->gate.mu);
    assert_true(in);
}

static uint64_t submit(struct fixture *f, const struct craft_persist *out)
{
    uint64_t seq = 0;
    assert_int_equal(log_writer_submit(f->lw, out, &seq), 0);
    return seq;
}

/* One batch replaces entries 2-3 of term 1 with entries of term 2 and carries a hard state
 * committing them. The hard state is written in the batch, ahead of its entries; a torn batch
 * may keep it while the durable log still holds the old 2-3, so the commit it carries must not
 * cover them. */
static void test_log_writer_saved_commit_knows_the_batchs_truncation(void **state)
{
    struct fixture *f = *state;
    start_writer(f, LOG_WRITER_QUEUE_BYTES_DEFAULT);
    struct craft_entry e[3];
    for (craft_index i = 1; i <= 3; i++) {
        e[i - 1] = (struct craft_entry){
            .term = 1, .index = i, .type = CRAFT_ENTRY_NORMAL, .data = {"old", 3}};
    }
    struct craft_persist out;
    memset(&out, 0, sizeof out);
    out.hard_state_changed = true;
    out.hard_state = (struct craft_hard_state){.term = 1, .vote = 1, .commit = 0};
    out.entries = e;
    out.n_entries = 3;
    wait_done(f, submit(f, &out));
    set_gate(f, true);
    submit_entry(f, 4, 0); /* term 1; its sync holds the gate while the next two queue */
    wait_writer_in_sync(f);
    for (size_t i = 1; i < 3; i++) {
        e[i].term = 2;
        e[i].data = (struct craft_buf){"new", 3};
    }
    memset(&out, 0, sizeof out);
    out.truncate_from = 2;
    out.entries = e + 1;
    out.n_entries = 2;
    submit(f, &out);
    memset(&out, 0, sizeof out);
    out.hard_state_changed = true;
    out.hard_state = (struct craft_hard_state){.term = 2, .vote = 0, .commit = 3};
    uint64_t last = submit(f, &out);
    /* Entry 4's sync; the next one the writer waits in is the batch's only one (its hard state,
     * truncation and entries written). */
    pass_syncs(f, 1);
    struct craft_hard_state hs;
    assert_true(wal_hard_state_group(storage_wal(f->st), STORAGE_GROUP_DEFAULT, &hs));
    assert_int_equal(hs.term, 2);
    if (hs.commit > 1) {
        fail_msg("the hard state saved commit %llu while the durable log still holds the old "
                 "entries 2-4",
                 (unsigned long long)hs.commit);
    }
    set_gate(f, false);
    wait_done(f, last);
    stop_writer(f);
}

/* An installed snapshot goes through the writer like any persist: its drop_log empties the WAL
 * in the batch, and the entries after it follow. */
static void test_log_writer_carries_an_installed_snapshot(void **state)
{
    struct fixture *f = *state;
    start_writer(f, LOG_WRITER_QUEUE_BYTES_DEFAULT);
    for (craft_index i = 1; i <= 5; i++) {
        submit_entry(f, i, 0);
    }
    struct craft_entry e = {.term = 2, .index = 41, .type = CRAFT_ENTRY_NORMAL, .data = {"x", 1}};
    struct craft_persist out;
    memset(&out, 0, sizeof out);
    out.snapshot = (struct craft_persist_snapshot){.index = 40, .term = 2, .drop_log = true};
    out.entries = &e;
    out.n_entries = 1;
    wait_done(f, submit(f, &out));
    stop_writer(f);
    assert_int_equal(storage_snapshot_index(f->st), 40);
    assert_int_equal(wal_first_index(storage_wal(f->st)), 41);
    assert_int_equal(wal_last_index(storage_wal(f->st)), 41);
}

/* Requests of three groups queued behind one sync go out as one batch with one fdatasync, and
 * each group gets back its own entries and hard state. */
static void test_log_writer_batches_many_groups(void **state)
{
    struct fixture *f = *state;
    start_writer(f, LOG_WRITER_QUEUE_BYTES_DEFAULT);
    set_gate(f, true);
    submit_entry(f, 1, 0); /* group 1: term 1, vote 1 */
    wait_writer_in_sync(f);
    uint64_t last = 0;
    for (uint64_t g = 2; g <= 4; g++) {
        for (craft_index i = 1; i <= 3; i++) {
            char *data = payloads[g][i];
            int len = snprintf(data, sizeof payloads[0][0], "g%llu-%llu", (unsigned long long)g,
                               (unsigned long long)i);
            struct craft_entry e = {
                .term = g, .index = i, .type = CRAFT_ENTRY_NORMAL, .data = {data, (size_t)len}};
            struct craft_persist out;
            memset(&out, 0, sizeof out);
            out.entries = &e;
            out.n_entries = 1;
            out.hard_state_changed = i == 1;
            out.hard_state = (struct craft_hard_state){.term = g, .vote = g, .commit = 0};
            assert_int_equal(log_writer_submit_group(f->lw, g, &out, &last), 0);
        }
    }
    uint64_t syncs = io_fs_sim_fdatasyncs(f->sim);
    set_gate(f, false);
    wait_done(f, last);
    struct log_writer_stats st;
    log_writer_stats(f->lw, &st);
    stop_writer(f);
    assert_int_equal(st.n_batches, 2); /* the first request's, then all nine together */
    assert_int_equal(io_fs_sim_fdatasyncs(f->sim) - syncs, 2); /* the gated one, and one more */
    struct storage_recovered rec;
    crash_and_reopen(f, &rec);
    assert_int_equal(rec.n_entries, 1);
    assert_int_equal(storage_n_groups(f->st), 4);
    for (uint64_t g = 2; g <= 4; g++) {
        struct storage_recovered gr;
        assert_true(storage_recovered_group(f->st, g, &gr));
        assert_int_equal(gr.n_entries, 3);
        assert_int_equal(gr.hard_state.term, g);
        assert_int_equal(gr.hard_state.vote, g);
        char want[16];
        int len = snprintf(want, sizeof want, "g%llu-3", (unsigned long long)g);
        assert_int_equal(gr.entries[2].data.len, (size_t)len);
        assert_memory_equal(gr.entries[2].data.base, want, (size_t)len);
    }
    storage_recovered_release(f->st);
}

/* Requests live in chunks of the writer's (log_writer.c): many queued at once span several, one
 * with more entries than a chunk holds gets its own, and the chunks of a durable batch are
 * reused by the next. Order and contents must survive all of it. */
#define MANY_SINGLE 3000u /* one-entry requests: several chunks */
#define MANY_BIG 2500u    /* entries of one request: more than a chunk */
#define MANY_ROUND (MANY_SINGLE + MANY_BIG)
static char many_payloads[2 * MANY_ROUND + 2][8];

static uint64_t submit_run(struct fixture *f, craft_index first, size_t n)
{
    static struct craft_entry es[MANY_BIG];
    CRAFT_ASSERT(n <= MANY_BIG);
    for (size_t i = 0; i < n; i++) {
        craft_index index = first + i;
        char *data = many_payloads[index];
        int len = snprintf(data, sizeof many_payloads[0], "%llu", (unsigned long long)index);
        es[i] = (struct craft_entry){
            .term = 1, .index = index, .type = CRAFT_ENTRY_NORMAL, .data = {data, (size_t)len}};
    }
    struct craft_persist out;
    memset(&out, 0, sizeof out);
    out.entries = es;
    out.n_entries = n;
    uint64_t seq = 0;
    assert_int_equal(log_writer_submit(f->lw, &out, &seq), 0);
    return seq;
}

/* rec holds entries 1 to last, entry i (from 2) of payload "<i>" (submit_run's), in order. */
static void assert_run_recovered(struct fixture *f, const struct storage_recovered *rec,
                                 craft_index last)
{
    assert_int_equal(rec->n_entries, last);
    for (size_t i = 1; i < rec->n_entries; i++) {
        char want[8];
        int len = snprintf(want, sizeof want, "%zu", i + 1);
        assert_int_equal(rec->entries[i].index, i + 1);
        assert_int_equal(rec->entries[i].data.len, (size_t)len);
        assert_memory_equal(rec->entries[i].data.base, want, (size_t)len);
    }
    storage_recovered_release(f->st);
}

static void test_log_writer_keeps_order_across_chunks(void **state)
{
    struct fixture *f = *state;
    start_writer(f, LOG_WRITER_QUEUE_BYTES_DEFAULT);
    uint64_t seq = submit_entry(f, 1, 0);
    craft_index next = 2;
    for (unsigned round = 0; round < 2; round++) {
        wait_done(f, seq); /* the previous round is durable: its chunks are back */
        set_gate(f, true);
        assert_int_equal(submit_run(f, next++, 1), ++seq);
        wait_writer_in_sync(f); /* everything below queues behind this one */
        for (unsigned i = 1; i < MANY_SINGLE / 2; i++) {
            assert_int_equal(submit_run(f, next++, 1), ++seq);
        }
        assert_int_equal(submit_run(f, next, MANY_BIG), ++seq);
        next += MANY_BIG;
        for (unsigned i = MANY_SINGLE / 2; i < MANY_SINGLE; i++) {
            assert_int_equal(submit_run(f, next++, 1), ++seq);
        }
        set_gate(f, false);
    }
    wait_done(f, seq);
    struct log_writer_stats st;
    log_writer_stats(f->lw, &st);
    stop_writer(f);
    assert_int_equal(st.n_requests, 1 + 2 * (MANY_SINGLE + 1));
    assert_int_equal(st.n_entries, next - 1);
    struct storage_recovered rec;
    crash_and_reopen(f, &rec);
    assert_run_recovered(f, &rec, next - 1);
}

/* Syncs end while the encoder is in the middle of queueing thousands of requests: it stops there
 * and puts the rest back at the head of the queue, with their chunks (log_writer.c, take). Order,
 * contents and durability must survive it, whenever it happens. */
#define YIELD_ROUNDS 2u
#define YIELD_RUN 4000u /* requests per round, half of them submitted after the gate opens */
static void test_log_writer_keeps_order_when_the_encoder_yields(void **state)
{
    struct fixture *f = *state;
    start_writer_waking(f, LOG_WRITER_QUEUE_BYTES_DEFAULT, 1);
    uint64_t seq = submit_entry(f, 1, 0);
    craft_index next = 2;
    for (unsigned round = 0; round < YIELD_ROUNDS; round++) {
        wait_done(f, seq);
        set_gate(f, true);
        assert_int_equal(submit_run(f, next++, 1), ++seq);
        wait_writer_in_sync(f);
        for (unsigned i = 1; i < YIELD_RUN; i++) {
            if (i == YIELD_RUN / 2) {
                set_gate(f, false); /* the encoder is likely busy with the first half */
            }
            assert_int_equal(submit_run(f, next++, 1), ++seq);
        }
    }
    wait_done(f, seq);
    stop_writer(f);
    struct storage_recovered rec;
    crash_losing_unsynced_and_reopen(f, &rec);
    assert_run_recovered(f, &rec, next - 1);
}

/* Out of memory for a request's room: refused, nothing queued, no sequence number spent. */
static void test_log_writer_refuses_without_memory(void **state)
{
    struct fixture *f = *state;
    start_writer(f, LOG_WRITER_QUEUE_BYTES_DEFAULT);
    alloc_fail_after(0);
    submit_entry(f, 1, CRAFT_ENOMEM);
    alloc_fail_reset();
    assert_int_equal(submit_entry(f, 1, 0), 1);
    wait_done(f, 1);
    assert_int_equal(f->n_done, 1);
    assert_int_equal(f->done_status[0], 0);
    stop_writer(f);
}

/* After a stopped writer reported requests 1 to last (submit_entry's) in two batches: all of
 * them durable, so a crash that keeps only what was synced recovers every one. */
static void two_reports_then_all_recovered(struct fixture *f, craft_index last)
{
    assert_int_equal(f->n_done, 2);
    assert_int_equal(f->done_seqs[1], last);
    assert_int_equal(f->done_status[1], 0);
    struct storage_recovered rec;
    crash_losing_unsynced_and_reopen(f, &rec);
    assert_int_equal(rec.n_entries, last);
    char want[16];
    int len = snprintf(want, sizeof want, "cmd%llu", (unsigned long long)last);
    assert_int_equal(rec.entries[last - 1].data.len, (size_t)len);
    assert_memory_equal(rec.entries[last - 1].data.base, want, (size_t)len);
    storage_recovered_release(f->st);
}

/* The batch behind a sync in flight is queued into storage meanwhile, but neither written during
 * that sync nor reported by it: only by a sync of its own, started after its write. */
static void test_log_writer_reports_a_batch_only_after_its_own_sync(void **state)
{
    struct fixture *f = *state;
    start_writer_waking(f, LOG_WRITER_QUEUE_BYTES_DEFAULT, 1);
    set_gate(f, true);
    assert_int_equal(submit_entry(f, 1, 0), 1);
    wait_writer_in_sync(f); /* batch {1}'s sync is in flight */
    assert_int_equal(submit_entry(f, 2, 0), 2);
    assert_int_equal(submit_entry(f, 3, 0), 3);
    wait_taken(f, 3); /* 2 and 3 are queued into storage during that sync */
    io_mutex_lock(&f->gate.mu);
    uint64_t writes = f->gate.n_writes;
    uint64_t writes_at_wait = f->gate.writes_at_wait;
    io_mutex_unlock(&f->gate.mu);
    assert_int_equal(writes, writes_at_wait); /* the disk is not written during the sync */
    pass_syncs(f, 1); /* batch {1}'s sync ends; the writer waits in {2, 3}'s */
    wait_done(f, 1);
    io_mutex_lock(&f->mu);
    unsigned n_done = f->n_done;
    io_mutex_unlock(&f->mu);
    if (n_done != 1 || f->done_seqs[0] != 1 || f->done_status[0] != 0) {
        fail_msg("after the first sync: %u reports, the last of seq %llu", n_done,
                 (unsigned long long)f->done_seqs[n_done - 1]);
    }
    set_gate(f, false);
    wait_done(f, 3);
    stop_writer(f);
    two_reports_then_all_recovered(f, 3);
}

/* Starts the writer (woken by every submission during a sync), holds request 1's sync on the
 * gate, and waits until request 2 is queued into storage behind it. */
static void hold_a_sync_with_one_behind(struct fixture *f)
{
    start_writer_waking(f, LOG_WRITER_QUEUE_BYTES_DEFAULT, 1);
    set_gate(f, true);
    submit_entry(f, 1, 0);
    wait_writer_in_sync(f);
    submit_entry(f, 2, 0);
    wait_taken(f, 2);
}

/* A failed fdatasync fails its batch and the one queued behind it while it ran (Linux: the
 * unsynced pages may be gone), and every later submission. */
static void test_log_writer_failed_sync_fails_the_batch_behind_it(void **state)
{
    struct fixture *f = *state;
    hold_a_sync_with_one_behind(f);
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.fsync_eio_ppm = 1000000;
    io_fs_sim_set_faults(f->sim, &faults); /* the sync held at the gate fails */
    set_gate(f, false);
    wait_done(f, 2); /* the writer reports nothing more: the fields below stay */
    assert_int_equal(f->n_done, 2);
    assert_int_equal(f->done_seqs[0], 1);
    assert_int_equal(f->done_status[0], CRAFT_EIO);
    assert_int_equal(f->done_seqs[1], 2);
    assert_true(f->done_status[1] < 0);
    uint64_t seq;
    struct craft_persist out;
    memset(&out, 0, sizeof out);
    assert_int_equal(log_writer_submit(f->lw, &out, &seq), CRAFT_EIO);
    struct log_writer_stats st;
    log_writer_stats(f->lw, &st);
    assert_int_equal(st.n_requests, 0); /* none was counted durable */
    stop_writer(f);
    assert_true(storage_failed(f->st));
}

/* Runs of entries of `size` bytes each, term `term`, from index first on (payloads live for the
 * test program). */
#define BIG_ENTRY 200u
#define BIG_RUN 120u /* 24 KB: more than a 16 KiB segment holds */
static char big_payload[BIG_ENTRY];

static void big_run(struct craft_entry *es, craft_index first, craft_term term)
{
    memset(big_payload, 'b', sizeof big_payload);
    for (size_t i = 0; i < BIG_RUN; i++) {
        es[i] = (struct craft_entry){.term = term,
                                     .index = first + i,
                                     .type = CRAFT_ENTRY_NORMAL,
                                     .data = {big_payload, sizeof big_payload}};
    }
}

/* While batch {4}'s sync is in flight, the next batch truncates the log below 4 (a follower's
 * rewrite), changes term and vote, commits, and fills more than a segment: all of it ends
 * durable, the saved commit never above the durable log, and the log recovers after a crash that
 * keeps only what was synced. */
static void test_log_writer_roll_truncation_and_hard_state_behind_a_sync(void **state)
{
    struct fixture *f = *state;
    start_writer_waking(f, LOG_WRITER_QUEUE_BYTES_DEFAULT, 1);
    for (craft_index i = 1; i <= 3; i++) {
        submit_entry(f, i, 0);
    }
    wait_done(f, 3);
    set_gate(f, true);
    submit_entry(f, 4, 0);
    wait_writer_in_sync(f);
    static struct craft_entry es[BIG_RUN];
    big_run(es, 3, 2);
    struct craft_persist out;
    memset(&out, 0, sizeof out);
    out.truncate_from = 3;
    out.entries = es;
    out.n_entries = BIG_RUN;
    out.hard_state_changed = true;
    out.hard_state = (struct craft_hard_state){.term = 2, .vote = 2, .commit = 2 + BIG_RUN};
    uint64_t last = submit(f, &out);
    wait_taken(f, last);
    set_gate(f, false);
    wait_done(f, last);
    struct log_writer_stats st;
    log_writer_stats(f->lw, &st);
    stop_writer(f);
    assert_int_equal(f->done_status[f->n_done - 1], 0);
    assert_int_equal(st.n_requests, last);
    struct craft_hard_state hs;
    assert_true(wal_hard_state_group(storage_wal(f->st), STORAGE_GROUP_DEFAULT, &hs));
    assert_int_equal(hs.term, 2);
    assert_true(hs.commit <= 2); /* cut when written: the new entries were not durable yet */
    struct storage_recovered rec;
    crash_losing_unsynced_and_reopen(f, &rec);
    assert_true(rec.wal.n_segments >= 2); /* the batch rolled into a new segment */
    assert_int_equal(rec.hard_state.term, 2);
    assert_int_equal(rec.hard_state.vote, 2);
    assert_int_equal(rec.n_entries, 2 + BIG_RUN);
    assert_int_equal(rec.entries[1].term, 1);
    assert_memory_equal(rec.entries[1].data.base, "cmd2", 4);
    for (size_t i = 2; i < rec.n_entries; i++) {
        assert_int_equal(rec.entries[i].index, i + 1);
        assert_int_equal(rec.entries[i].term, 2);
        assert_int_equal(rec.entries[i].data.len, BIG_ENTRY);
    }
    storage_recovered_release(f->st);
}

/* A snapshot reported while a sync is in flight drops the log's prefix once the pipeline is
 * drained, after the batches queued before it are durable. */
static void test_log_writer_snapshot_taken_during_a_sync(void **state)
{
    struct fixture *f = *state;
    start_writer_waking(f, LOG_WRITER_QUEUE_BYTES_DEFAULT, 1);
    static struct craft_entry es[BIG_RUN];
    for (unsigned k = 0; k < 3; k++) {
        big_run(es, 1 + k * BIG_RUN, 1);
        struct craft_persist out;
        memset(&out, 0, sizeof out);
        out.entries = es;
        out.n_entries = BIG_RUN;
        out.hard_state_changed = k == 0;
        out.hard_state = (struct craft_hard_state){.term = 1, .vote = 1, .commit = 0};
        wait_done(f, submit(f, &out));
    }
    set_gate(f, true);
    big_run(es, 1 + 3 * BIG_RUN, 1);
    struct craft_persist out;
    memset(&out, 0, sizeof out);
    out.entries = es;
    out.n_entries = 1;
    submit(f, &out);
    wait_writer_in_sync(f);
    struct craft_snapshot_meta m = {.index = 2 * BIG_RUN, .term = 1};
    log_writer_snapshot_taken(f->lw, &m);
    out.entries = es + 1;
    uint64_t last = submit(f, &out);
    wait_taken(f, last);
    set_gate(f, false);
    wait_done(f, last);
    stop_writer(f); /* handles the snapshot before it returns */
    assert_int_equal(f->done_status[f->n_done - 1], 0);
    assert_false(storage_failed(f->st));
    assert_int_equal(storage_snapshot_index(f->st), 2 * BIG_RUN);
    assert_true(wal_first_index(storage_wal(f->st)) > 1);
    assert_true(wal_first_index(storage_wal(f->st)) <= 2 * BIG_RUN + 1);
    assert_int_equal(wal_last_index(storage_wal(f->st)), 3 * BIG_RUN + 2);
}

struct stopper {
    struct fixture *f;
    struct io_thread thread;
    bool called;
};

static void *stop_thread(void *arg)
{
    struct stopper *s = arg;
    io_mutex_lock(&s->f->mu);
    s->called = true;
    io_cond_broadcast(&s->f->cv);
    io_mutex_unlock(&s->f->mu);
    log_writer_stop(s->f->lw);
    return NULL;
}

/* Stopping while a sync is blocked waits for it, then writes and syncs what queued behind it,
 * reports everything and joins both threads (the sanitizer builds check nothing leaks). */
static void test_log_writer_stops_during_a_blocked_sync(void **state)
{
    struct fixture *f = *state;
    hold_a_sync_with_one_behind(f);
    struct stopper s = {.f = f};
    assert_int_equal(io_thread_start(&s.thread, stop_thread, &s), 0);
    /* The stop is under way (its flag may land just before or after the gate opens: the sync is
     * in flight either way). */
    io_mutex_lock(&f->mu);
    while (!s.called) {
        io_cond_wait(&f->cv, &f->mu);
    }
    io_mutex_unlock(&f->mu);
    set_gate(f, false);
    io_thread_join(&s.thread);
    f->lw = NULL;
    two_reports_then_all_recovered(f, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_writer_batches_what_arrives_during_a_sync, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_refuses_when_the_queue_is_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_failed_sync_fails_every_later_request,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_saved_commit_knows_the_batchs_truncation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_carries_an_installed_snapshot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_batches_many_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_keeps_order_across_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_keeps_order_when_the_encoder_yields, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_refuses_without_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_reports_a_batch_only_after_its_own_sync,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_failed_sync_fails_the_batch_behind_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_log_writer_roll_truncation_and_hard_state_behind_a_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_snapshot_taken_during_a_sync, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_writer_stops_during_a_blocked_sync, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
