/* The WAL figures: appends/s and MB/s for three entry sizes and three batch sizes (one wal_sync
 * per batch) through io_fs_posix, each beside the limit the disk sets for the same bytes (raw
 * pwrite + fdatasync of records of the same size, the same number of syncs, same directory, same
 * run); then the time to open a warm 1 GiB log. Every figure is bounded by a count and a time. */
#define _GNU_SOURCE /* mkdtemp, fallocate */
#include "bench_wal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_group_commit.h"
#include "bench_tmpdir.h"
#include "io/fs.h"
#include "storage/wal.h"
#include "storage/wal_record.h"

#define FIGURE_NS_MAX 2000000000ull     /* stop a figure after ~2 s ... */
#define FIGURE_BYTES_MAX (768ull << 20) /* ... or this many payload bytes ... */
#define FIGURE_SYNCS_MAX 20000u         /* ... or this many syncs */
#define FIGURE_PAIRS 2u                 /* WAL and raw runs, alternating, per figure */
#define QUICK_NS_MAX 20000000ull
#define QUICK_SYNCS_MAX 8u
#define RECOVER_BYTES (1ull << 30)
#define RECOVER_BYTES_QUICK (8ull << 20)
#define RECOVER_ENTRY 16384u
#define RECOVER_BATCH 256u

struct shape {
    unsigned entry_bytes;
    unsigned batch;
};

struct result {
    uint64_t entries;
    uint64_t payload_bytes;
    uint64_t ns;
};

static const struct shape shapes[] = {
    {64, 1},     {64, 16},   {64, 256},   {1024, 1},    {1024, 16},
    {1024, 256}, {16384, 1}, {16384, 16}, {16384, 256},
};


static int open_wal(const char *dir, struct io_fs **fs, struct wal **w, struct wal_open_report *rep)
{
    int rv = io_fs_posix_create(dir, fs);
    if (rv != 0) {
        return rv;
    }
    struct wal_config cfg;
    wal_config_init(&cfg);
    char errmsg[256];
    rv = wal_open(*fs, &cfg, w, rep, errmsg, sizeof errmsg);
    if (rv != 0) {
        fprintf(stderr, "craft-bench wal: wal_open: %s\n", errmsg);
        io_fs_posix_destroy(*fs);
    }
    return rv;
}

static void close_wal(struct io_fs *fs, struct wal *w)
{
    wal_close(w);
    io_fs_posix_destroy(fs);
}

/* Appends batches of sh->batch entries and syncs each, until a bound is reached. */
static int run_wal(const char *dir, const struct shape *sh, bool quick, struct result *res)
{
    struct io_fs *fs;
    struct wal *w;
    int rv = open_wal(dir, &fs, &w, NULL);
    if (rv != 0) {
        return rv;
    }
    static unsigned char payload[16384];
    memset(payload, 0xa5, sizeof payload);
    struct craft_entry entries[256];
    uint64_t ns_max = quick ? QUICK_NS_MAX : FIGURE_NS_MAX;
    unsigned syncs_max = quick ? QUICK_SYNCS_MAX : FIGURE_SYNCS_MAX;
    craft_index next = 1;
    *res = (struct result){0};
    uint64_t start = bench_now_ns();
    for (unsigned s = 0; s < syncs_max && rv == 0; s++) {
        for (unsigned i = 0; i < sh->batch; i++) {
            entries[i] = (struct craft_entry){.term = 1,
                                              .index = next++,
                                              .type = CRAFT_ENTRY_NORMAL,
                                              .data = {payload, sh->entry_bytes}};
        }
        rv = wal_append(w, entries, sh->batch);
        if (rv == 0) {
            rv = wal_sync(w);
        }
        res->entries += sh->batch;
        res->payload_bytes += (uint64_t)sh->batch * sh->entry_bytes;
        res->ns = bench_now_ns() - start;
        if (res->ns >= ns_max || res->payload_bytes >= FIGURE_BYTES_MAX) {
            break;
        }
    }
    if (rv != 0) {
        fprintf(stderr, "craft-bench wal: %s\n", wal_errmsg(w));
    }
    close_wal(fs, w);
    return rv;
}

/* The same record bytes and the same syncs, straight to a preallocated file: the disk's limit. */
static int run_raw(const char *dir, const struct shape *sh, uint64_t n_syncs, struct result *res)
{
    char path[512];
    snprintf(path, sizeof path, "%s/raw.dat", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror("craft-bench wal: open raw.dat");
        return 1;
    }
    size_t record = wal_record_size(sh->entry_bytes);
    size_t batch_bytes = record * sh->batch;
    unsigned char *buf = malloc(batch_bytes);
    if (buf == NULL) {
        close(fd);
        return 1;
    }
    memset(buf, 0xa5, batch_bytes);
    /* Preallocated in 64 MiB steps, as the WAL preallocates its segments. */
    uint64_t alloc = 0;
    uint64_t off = 0;
    int rv = 0;
    *res = (struct result){0};
    uint64_t start = bench_now_ns();
    for (uint64_t s = 0; s < n_syncs && rv == 0; s++) {
        if (off + batch_bytes > alloc) {
            alloc += (uint64_t)WAL_SEGMENT_BYTES_DEFAULT;
            if (fallocate(fd, 0, 0, (off_t)alloc) != 0 || fdatasync(fd) != 0) {
                rv = 1;
                break;
            }
        }
        if (pwrite(fd, buf, batch_bytes, (off_t)off) != (ssize_t)batch_bytes ||
            fdatasync(fd) != 0) {
            rv = 1;
        }
        off += batch_bytes;
        res->entries += sh->batch;
        res->payload_bytes += (uint64_t)sh->batch * sh->entry_bytes;
    }
    res->ns = bench_now_ns() - start;
    if (rv != 0) {
        perror("craft-bench wal: raw write");
    }
    free(buf);
    close(fd);
    unlink(path);
    return rv;
}

static double per_s(uint64_t n, uint64_t ns)
{
    return ns > 0 ? (double)n * 1e9 / (double)ns : 0.0;
}

static void report(const char *name, double wal, double raw, const char *unit)
{
    printf("%s %.1f %s\n", name, wal, unit);
    printf("%s.raw %.1f %s\n", name, raw, unit);
    printf("%s.ratio %.3f\n", name, raw > 0 ? wal / raw : 0.0);
    fflush(stdout);
}

/* The faster of two results, by time per entry. */
static struct result best(struct result a, struct result b)
{
    if (a.entries == 0) {
        return b;
    }
    return (double)b.ns / (double)b.entries < (double)a.ns / (double)a.entries ? b : a;
}

/* WAL and raw run in alternation, FIGURE_PAIRS times, and the best of each is reported: this
 * VM's fdatasync swings by half from one second to the next, and alternating keeps a slow
 * moment from landing on one side only. */
static int figure(const char *root, const struct shape *sh, bool quick)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%ub_x%u", root, sh->entry_bytes, sh->batch);
    struct result wal = {0};
    struct result raw = {0};
    int rv = 0;
    for (unsigned pair = 0; pair < (quick ? 1u : FIGURE_PAIRS) && rv == 0; pair++) {
        struct result w;
        struct result r;
        rv = run_wal(dir, sh, quick, &w);
        bench_remove_dir(dir);
        if (rv == 0) {
            rv = run_raw(root, sh, w.entries / sh->batch, &r);
        }
        if (rv == 0) {
            wal = best(wal, w);
            raw = best(raw, r);
        }
    }
    if (rv != 0) {
        fprintf(stderr, "craft-bench wal: %ub x %u failed\n", sh->entry_bytes, sh->batch);
        return 1;
    }
    char name[128];
    snprintf(name, sizeof name, "wal.append.%ub_x%u", sh->entry_bytes, sh->batch);
    report(name, per_s(wal.entries, wal.ns), per_s(raw.entries, raw.ns), "appends/s");
    snprintf(name, sizeof name, "wal.mbps.%ub_x%u", sh->entry_bytes, sh->batch);
    report(name, per_s(wal.payload_bytes, wal.ns) / 1e6, per_s(raw.payload_bytes, raw.ns) / 1e6,
           "MB/s");
    return 0;
}

/* Writes a log of `bytes` payload bytes, closes it, and times the open that recovers it. The
 * page cache is warm (dropping it needs root): this is recovery's CPU cost, checksums and all. */
static int recover_figure(const char *root, bool quick)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/recover", root);
    uint64_t bytes = quick ? RECOVER_BYTES_QUICK : RECOVER_BYTES;
    struct io_fs *fs;
    struct wal *w;
    int rv = open_wal(dir, &fs, &w, NULL);
    if (rv != 0) {
        return 1;
    }
    static unsigned char payload[RECOVER_ENTRY];
    memset(payload, 0x3c, sizeof payload);
    static struct craft_entry entries[RECOVER_BATCH];
    craft_index next = 1;
    for (uint64_t written = 0; written < bytes && rv == 0;) {
        for (unsigned i = 0; i < RECOVER_BATCH; i++) {
            entries[i] = (struct craft_entry){.term = 1 + next / 10000,
                                              .index = next,
                                              .type = CRAFT_ENTRY_NORMAL,
                                              .data = {payload, RECOVER_ENTRY}};
            next++;
        }
        rv = wal_append(w, entries, RECOVER_BATCH);
        if (rv == 0) {
            rv = wal_sync(w);
        }
        written += (uint64_t)RECOVER_ENTRY * RECOVER_BATCH;
    }
    close_wal(fs, w);
    if (rv != 0) {
        bench_remove_dir(dir);
        return 1;
    }
    struct wal_open_report rep;
    uint64_t start = bench_now_ns();
    rv = open_wal(dir, &fs, &w, &rep);
    uint64_t ns = bench_now_ns() - start;
    if (rv == 0) {
        if (wal_last_index(w) != next - 1) {
            fprintf(stderr, "craft-bench wal: recovered %llu entries, wrote %llu\n",
                    (unsigned long long)wal_last_index(w), (unsigned long long)(next - 1));
            rv = 1;
        }
        close_wal(fs, w);
    }
    bench_remove_dir(dir);
    if (rv != 0) {
        return 1;
    }
    double s = (double)ns / 1e9;
    double gib = (double)rep.bytes_scanned / (double)(1ull << 30);
    /* With --quick this is the small log's time: a smoke figure, not the 1 GiB one. */
    printf("wal.recover_1gib %.3f s\n", s);
    printf("wal.recover_rate %.3f GiB/s\n", s > 0 ? gib / s : 0.0);
    printf("wal.recover_log_bytes %llu B\n", (unsigned long long)rep.bytes_scanned);
    fflush(stdout);
    return 0;
}

int bench_wal_run(bool quick)
{
    char root[] = "/tmp/craft-bench-wal.XXXXXX";
    if (mkdtemp(root) == NULL) {
        perror("craft-bench wal: mkdtemp");
        return 1;
    }
    int rv = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0] && rv == 0; i++) {
        rv = figure(root, &shapes[i], quick);
    }
    if (rv == 0) {
        rv = bench_group_commit_run(root, quick);
    }
    if (rv == 0) {
        rv = recover_figure(root, quick);
    }
    bench_remove_dir(root);
    return rv;
}
