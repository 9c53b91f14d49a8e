/* The group commit figure: requests of one 64-byte entry submitted back to back to the log
 * writer; whatever queues during a sync goes into the next one. Bounded by count and time. */
#define _GNU_SOURCE
#include "bench_group_commit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_tmpdir.h"
#include "io/fs.h"
#include "io/thread.h"
#include "storage/log_writer.h"
#include "storage/wal_record.h"

#define GC_ENTRY_BYTES 64u
#define GC_REQUESTS 200000u
#define GC_REQUESTS_QUICK 200u
#define GC_NS_MAX 3000000000ull
#define GC_RAW_SYNCS 2000u
#define GC_RAW_SYNCS_QUICK 10u

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

static int run_writer(const char *dir, uint64_t n_requests, uint64_t *n_done, uint64_t *ns,
                      uint64_t *n_syncs)
{
    struct io_fs *fs;
    if (io_fs_posix_create(dir, &fs) != 0) {
        return 1;
    }
    struct storage_config scfg;
    storage_config_init(&scfg);
    scfg.node = 1;
    scfg.cluster = 1;
    struct storage *st;
    struct storage_recovered rec;
    char err[256];
    int rv = storage_open(fs, &scfg, &st, &rec, err, sizeof err);
    if (rv != 0) {
        fprintf(stderr, "craft-bench wal: %s\n", err);
        io_fs_posix_destroy(fs);
        return 1;
    }
    storage_recovered_release(st);
    struct completions c = {.done_seq = 0};
    io_mutex_init(&c.mu);
    io_cond_init(&c.cv);
    struct log_writer_config lcfg;
    log_writer_config_init(&lcfg);
    lcfg.queue_bytes_max = 1u << 20;
    struct log_writer *lw;
    rv = log_writer_start(st, &lcfg, on_done, &c, &lw);
    char data[GC_ENTRY_BYTES];
    memset(data, 0x5a, sizeof data);
    uint64_t start = bench_now_ns();
    uint64_t last = 0;
    for (uint64_t i = 1; i <= n_requests && rv == 0; i++) {
        struct craft_entry e = {
            .term = 1, .index = i, .type = CRAFT_ENTRY_NORMAL, .data = {data, sizeof data}};
        struct craft_persist out;
        memset(&out, 0, sizeof out);
        out.entries = &e;
        out.n_entries = 1;
        uint64_t seq;
        while ((rv = log_writer_submit(lw, &out, &seq)) == CRAFT_EBUSY) {
            rv = wait_for(&c, last); /* the queue is full: let a batch finish */
            if (rv != 0) {
                break;
            }
        }
        last = seq;
        if (bench_now_ns() - start > GC_NS_MAX) {
            break;
        }
    }
    if (rv == 0) {
        rv = wait_for(&c, last);
    }
    *ns = bench_now_ns() - start;
    *n_done = last;
    struct log_writer_stats stats;
    log_writer_stats(lw, &stats);
    *n_syncs = stats.n_batches;
    log_writer_stop(lw);
    storage_close(st);
    io_fs_posix_destroy(fs);
    io_cond_close(&c.cv);
    io_mutex_close(&c.mu);
    return rv == 0 ? 0 : 1;
}

/* One record, one fdatasync, repeated: the rate without group commit. */
static int run_raw(const char *dir, uint64_t n_syncs, uint64_t *ns)
{
    char path[600];
    snprintf(path, sizeof path, "%.500s/raw.dat", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return 1;
    }
    unsigned char rec[WAL_RECORD_HEADER_BYTES + GC_ENTRY_BYTES];
    memset(rec, 0xa5, sizeof rec);
    int rv = fallocate(fd, 0, 0, (off_t)(n_syncs * sizeof rec)) == 0 && fdatasync(fd) == 0 ? 0 : 1;
    uint64_t start = bench_now_ns();
    for (uint64_t i = 0; i < n_syncs && rv == 0; i++) {
        if (pwrite(fd, rec, sizeof rec, (off_t)(i * sizeof rec)) != (ssize_t)sizeof rec ||
            fdatasync(fd) != 0) {
            rv = 1;
        }
    }
    *ns = bench_now_ns() - start;
    close(fd);
    unlink(path);
    return rv;
}

int bench_group_commit_run(const char *root, bool quick)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%.400s/group_commit", root);
    if (mkdir(dir, 0755) != 0) {
        perror("craft-bench wal: mkdir");
        return 1;
    }
    uint64_t n_done = 0;
    uint64_t ns = 0;
    uint64_t n_syncs = 0;
    uint64_t raw_ns = 0;
    uint64_t raw_syncs = quick ? GC_RAW_SYNCS_QUICK : GC_RAW_SYNCS;
    int rv = run_writer(dir, quick ? GC_REQUESTS_QUICK : GC_REQUESTS, &n_done, &ns, &n_syncs);
    if (rv != 0) {
        fprintf(stderr, "craft-bench wal: the group commit run failed\n");
    } else if ((rv = run_raw(dir, raw_syncs, &raw_ns)) != 0) {
        perror("craft-bench wal: raw one-per-sync");
    }
    bench_remove_dir(dir);
    if (rv != 0) {
        return 1;
    }
    double rate = ns > 0 ? (double)n_done * 1e9 / (double)ns : 0.0;
    double raw = raw_ns > 0 ? (double)raw_syncs * 1e9 / (double)raw_ns : 0.0;
    printf("wal.group_commit_64B %.1f appends/s\n", rate);
    printf("wal.group_commit_64B.raw_one_per_sync %.1f appends/s\n", raw);
    printf("wal.group_commit_64B.ratio %.3f\n", raw > 0 ? rate / raw : 0.0);
    printf("wal.group_commit_64B.entries_per_sync %.1f\n",
           n_syncs > 0 ? (double)n_done / (double)n_syncs : 0.0);
    return 0;
}
