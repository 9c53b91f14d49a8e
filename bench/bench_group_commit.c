/* The group commit figure: requests of one 64-byte entry submitted back to back to the log
 * writer; whatever queues during a sync goes into the next one. Beside it, the raw log writing
 * the same number of records per sync. Bounded by count and time. */
#define _GNU_SOURCE
#include "bench_group_commit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_latency.h"
#include "bench_raw_log.h"
#include "bench_tmpdir.h"
#include "io/fs.h"
#include "io/thread.h"
#include "storage/log_writer.h"
#include "storage/wal.h"
#include "storage/wal_record.h"

#define GC_ENTRY_BYTES 64u
#define GC_REQUESTS 1000000u
#define GC_REQUESTS_QUICK 200u
#define GC_NS_MAX 3000000000ull
#define GC_ROUNDS 7u /* odd, so a median is one of the rounds */
#define GC_CLOCK_EVERY 256u /* requests between two reads of the clock (well under 1 ms) */

struct completions {
    struct io_mutex mu;
    struct io_cond cv;
    uint64_t done_seq;
    int status;
};

static void on_done(void *arg, uint64_t seq, int status)
{
    struct completions *c = arg;
    io_mutex_lock(&c->mu);
    c->done_seq = seq;
    if (status != 0) {
        c->status = status;
    }
    io_cond_broadcast(&c->cv);
    io_mutex_unlock(&c->mu);
}

/* Waits until request seq is durable (or a failure). */
static int wait_for(struct completions *c, uint64_t seq)
{
    io_mutex_lock(&c->mu);
    while (c->done_seq < seq && c->status == 0) {
        io_cond_wait(&c->cv, &c->mu);
    }
    int status = c->status;
    io_mutex_unlock(&c->mu);
    return status;
}

/* Waits until a batch after request seen is durable (or a failure); *seen becomes the newest
 * durable request. */
static int wait_progress(struct completions *c, uint64_t *seen)
{
    io_mutex_lock(&c->mu);
    while (c->done_seq <= *seen && c->status == 0) {
        io_cond_wait(&c->cv, &c->mu);
    }
    *seen = c->done_seq;
    int status = c->status;
    io_mutex_unlock(&c->mu);
    return status;
}

/* What one side of a round did: records made durable, wall and CPU (all threads) time. */
struct gc_run {
    uint64_t records;
    uint64_t ns;
    uint64_t cpu_ns;
};

/* The writer's side, kept from round to round as a node keeps its log: storage, compacted
 * after each round as a node's is after a snapshot, so the rounds measure the steady state (the
 * WAL's index of live entries reused, not grown from nothing in every round), and where the log
 * ends. */
struct gc_log {
    struct io_fs *fs;
    struct storage *st;
    craft_index last;
};

static int gc_log_open(const char *dir, struct gc_log *g)
{
    *g = (struct gc_log){0};
    if (mkdir(dir, 0755) != 0) {
        perror("craft-bench wal: mkdir");
        return 1;
    }
    if (io_fs_posix_create(dir, &g->fs) != 0) {
        bench_remove_dir(dir);
        return 1;
    }
    struct storage_config scfg;
    storage_config_init(&scfg);
    scfg.node = 1;
    scfg.cluster = 1;
    scfg.wal.inline_bytes_max = WAL_INLINE_BYTES_NODE; /* as the node */
    struct storage_recovered rec;
    char err[256];
    if (storage_open(g->fs, &scfg, &g->st, &rec, err, sizeof err) != 0) {
        fprintf(stderr, "craft-bench wal: %s\n", err);
        io_fs_posix_destroy(g->fs);
        bench_remove_dir(dir);
        return 1;
    }
    storage_recovered_release(g->st);
    return 0;
}

static void gc_log_close(struct gc_log *g, const char *dir)
{
    storage_close(g->st);
    io_fs_posix_destroy(g->fs);
    bench_remove_dir(dir);
}

/* As a node once a snapshot covers its whole log: the segments before the last one go. Not
 * timed. */
static int gc_log_compact(struct gc_log *g)
{
    struct craft_snapshot_meta m = {.index = g->last, .term = 1};
    int rv = g->last > 0 ? storage_snapshot_taken(g->st, &m) : 0;
    if (rv != 0) {
        fprintf(stderr, "craft-bench wal: dropping the log's prefix: %s\n", craft_strerror(rv));
    }
    return rv;
}

/* Submits up to n_requests one-entry requests after g's last (or for GC_NS_MAX) and waits for the
 * last to be durable; *out and *n_syncs say what it did. */
static int run_writer(struct gc_log *g, uint64_t n_requests, struct gc_run *out, uint64_t *n_syncs)
{
    int rv = 0;
    struct completions c = {.done_seq = 0};
    io_mutex_init(&c.mu);
    io_cond_init(&c.cv);
    struct log_writer_config lcfg;
    log_writer_config_init(&lcfg);
    lcfg.queue_bytes_max = 1u << 20;
    struct log_writer *lw;
    rv = log_writer_start(g->st, &lcfg, on_done, &c, &lw);
    if (rv != 0) {
        fprintf(stderr, "craft-bench wal: log_writer_start: %s\n", craft_strerror(rv));
        goto out_cond;
    }
    static char data[GC_ENTRY_BYTES]; /* borrowed by the writer until durable: lives on */
    memset(data, 0x5a, sizeof data);
    uint64_t start = bench_now_ns();
    uint64_t cpu_start = bench_cpu_ns();
    uint64_t last = 0;
    uint64_t durable = 0; /* the newest request seen durable while waiting for room */
    for (uint64_t i = 1; i <= n_requests && rv == 0; i++) {
        struct craft_entry e = {.term = 1,
                                .index = g->last + i,
                                .type = CRAFT_ENTRY_NORMAL,
                                .data = {data, sizeof data}};
        struct craft_persist req;
        memset(&req, 0, sizeof req);
        req.entries = &e;
        req.n_entries = 1;
        uint64_t seq = 0;
        while ((rv = log_writer_submit(lw, &req, &seq)) == CRAFT_EBUSY) {
            /* The queue is full: wait for the batch in flight to finish (the writer then takes
             * the queue), not for everything submitted: waiting for `last` drained the pipeline
             * at every full queue and left the writer idle while the queue refilled, a stall
             * raw's back-to-back batches do not have. */
            rv = wait_progress(&c, &durable);
            if (rv != 0) {
                break;
            }
        }
        if (rv != 0) {
            break; /* seq was not given: the last request is still `last` */
        }
        last = seq;
        /* The clock is read every GC_CLOCK_EVERY requests: a read per request (tens of ns in this
         * VM) was 8 % of the run's samples, a cost the raw side does not pay. */
        if (i % GC_CLOCK_EVERY == 0 && bench_now_ns() - start > GC_NS_MAX) {
            break;
        }
    }
    int wait_rv = wait_for(&c, last);
    out->ns = bench_now_ns() - start;
    out->cpu_ns = bench_cpu_ns() - cpu_start;
    out->records = last; /* the writer's sequence numbers start at 1: one per request */
    g->last += last;
    if (rv == 0) {
        rv = wait_rv;
    }
    struct log_writer_stats stats;
    log_writer_stats(lw, &stats);
    *n_syncs = stats.n_batches;
    log_writer_stop(lw);
out_cond:
    io_cond_close(&c.cv);
    io_mutex_close(&c.mu);
    return rv == 0 ? 0 : 1;
}

/* Without a log writer: records_per_sync records written and made durable at a time (the raw
 * log, as the WAL's I/O), n_syncs times or for GC_NS_MAX; *out says what it did. */
static int run_raw(const char *dir, uint64_t records_per_sync, uint64_t n_syncs,
                   struct gc_run *out)
{
    size_t record = wal_record_size(GC_ENTRY_BYTES);
    unsigned char *buf = calloc(records_per_sync, record); /* owned here */
    struct bench_raw_log log;
    if (buf == NULL || bench_raw_log_open(&log, dir, WAL_SEGMENT_BYTES_DEFAULT) != 0) {
        free(buf);
        return 1;
    }
    memset(buf, 0xa5, records_per_sync * record);
    int rv = 0;
    out->records = 0;
    uint64_t start = bench_now_ns();
    uint64_t cpu_start = bench_cpu_ns();
    for (uint64_t i = 0; i < n_syncs && rv == 0; i++) {
        rv = bench_raw_log_append(&log, buf, record, records_per_sync);
        out->records += records_per_sync;
        if (bench_now_ns() - start > GC_NS_MAX) {
            break;
        }
    }
    out->ns = bench_now_ns() - start;
    out->cpu_ns = bench_cpu_ns() - cpu_start;
    bench_raw_log_close(&log);
    free(buf);
    return rv == 0 ? 0 : 1;
}

/* One round: the writer, and the raw log at that run's records per sync for as many syncs, in
 * the order given. *n_syncs is the writer's syncs (in: the previous round's, which a raw run
 * going first copies; 0 in the first round). */
static int gc_round(struct gc_log *g, const char *raw_dir, bool quick, bool raw_first,
                    struct gc_run *wal, struct gc_run *raw, uint64_t *n_syncs)
{
    uint64_t per_sync = *n_syncs > 0 ? (wal->records + *n_syncs / 2) / *n_syncs : 0;
    bool raw_done = false;
    if (raw_first && per_sync > 0) {
        if (run_raw(raw_dir, per_sync, *n_syncs, raw) != 0) {
            fprintf(stderr, "craft-bench wal: the raw run beside group commit failed\n");
            return 1;
        }
        raw_done = true;
    }
    int rv = run_writer(g, quick ? GC_REQUESTS_QUICK : GC_REQUESTS, wal, n_syncs);
    if (rv == 0) {
        rv = gc_log_compact(g);
    }
    if (rv != 0 || *n_syncs == 0) {
        fprintf(stderr, "craft-bench wal: the group commit run failed\n");
        return 1;
    }
    if (!raw_done) {
        per_sync = (wal->records + *n_syncs / 2) / *n_syncs;
        if (run_raw(raw_dir, per_sync > 0 ? per_sync : 1, *n_syncs, raw) != 0) {
            fprintf(stderr, "craft-bench wal: the raw run beside group commit failed\n");
            return 1;
        }
    }
    return 0;
}

static double run_rate(const struct gc_run *r)
{
    return r->ns > 0 ? (double)r->records * 1e9 / (double)r->ns : 0.0;
}

static double run_cpu_per_record(const struct gc_run *r)
{
    return r->records > 0 ? (double)r->cpu_ns / (double)r->records : 0.0;
}

/* Makes the file system's pending work durable before the figure (the WAL figures before it
 * create and remove gigabytes of preallocated segments; their journal and freeing work would
 * otherwise run in the background during the first rounds). */
static void settle(const char *root)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)syncfs(fd);
        close(fd);
    }
}

/* GC_ROUNDS rounds of the writer and the raw log side by side, which one goes first alternating
 * (a slow moment of the disk should not land on one side only). From run to run on this VM one
 * round's ratio swings from 0.75 to 0.96, so the figures are medians: of each side's rate, and
 * of the rounds' ratios (each round's two runs are adjacent in time). The CPU time per record
 * (every thread of the process, so the submitter's too) says what the figure costs beyond the
 * disk: on a busy machine it is what decides. */
int bench_group_commit_run(const char *root, bool quick)
{
    char dir[512];
    char raw_dir[512];
    snprintf(dir, sizeof dir, "%.400s/group_commit", root);
    snprintf(raw_dir, sizeof raw_dir, "%.400s/group_commit_raw", root);
    double rates[GC_ROUNDS];
    double raws[GC_ROUNDS];
    double ratios[GC_ROUNDS];
    double cpu[GC_ROUNDS];
    double raw_cpu[GC_ROUNDS];
    uint64_t total_done = 0;
    uint64_t total_syncs = 0;
    struct gc_run wal = {0};
    uint64_t n_syncs = 0;
    unsigned rounds = quick ? 1u : GC_ROUNDS;
    settle(root);
    struct gc_log g;
    if (gc_log_open(dir, &g) != 0) {
        return 1;
    }
    /* A first run, not counted: the index grows to its steady size, as in a node's first
     * minutes. */
    int rv = quick ? 0 : run_writer(&g, GC_REQUESTS, &wal, &n_syncs);
    if (rv == 0) {
        rv = gc_log_compact(&g);
    }
    for (unsigned round = 0; round < rounds && rv == 0; round++) {
        struct gc_run raw = {0};
        rv = gc_round(&g, raw_dir, quick, round % 2 == 1, &wal, &raw, &n_syncs);
        if (rv != 0) {
            break;
        }
        rates[round] = run_rate(&wal);
        raws[round] = run_rate(&raw);
        ratios[round] = raws[round] > 0 ? rates[round] / raws[round] : 0.0;
        cpu[round] = run_cpu_per_record(&wal);
        raw_cpu[round] = run_cpu_per_record(&raw);
        total_done += wal.records;
        total_syncs += n_syncs;
    }
    gc_log_close(&g, dir);
    if (rv != 0) {
        return 1;
    }
    printf("wal.group_commit_64B %.1f appends/s\n", bench_median(rates, rounds));
    printf("wal.group_commit_64B.raw %.1f appends/s\n", bench_median(raws, rounds));
    printf("wal.group_commit_64B.ratio %.3f\n", bench_median(ratios, rounds));
    printf("wal.group_commit_64B.ratio_min %.3f\n", ratios[0]); /* sorted by bench_median() */
    printf("wal.group_commit_64B.entries_per_sync %.1f\n",
           (double)total_done / (double)total_syncs);
    printf("wal.group_commit_64B.cpu_per_entry %.1f ns\n", bench_median(cpu, rounds));
    printf("wal.group_commit_64B.raw.cpu_per_entry %.1f ns\n", bench_median(raw_cpu, rounds));
    fflush(stdout);
    return 0;
}
