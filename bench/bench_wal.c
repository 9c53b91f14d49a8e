/* The WAL figures: appends/s and MB/s for three entry sizes and three batch sizes (one wal_sync
 * per batch) through io_fs_posix, the WAL configured as the node configures it and the other way
 * (zero-copy for small payloads, copying for big ones), each beside the limit the disk sets for
 * the same bytes and the same I/O (bench_raw_log.h), batch by batch in turn; then the time to
 * open a warm 1 GiB log. Every figure is bounded by a count and a time. */
#define _GNU_SOURCE /* mkdtemp */
#include "bench_wal.h"

#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_group_commit.h"
#include "bench_latency.h"
#include "bench_raw_log.h"
#include "bench_tmpdir.h"
#include "io/fs.h"
#include "storage/wal.h"
#include "storage/wal_record.h"

#define FIGURE_NS_MAX 1500000000ull     /* each side of a figure stops after ~1.5 s ... */
#define FIGURE_BYTES_MAX (512ull << 20) /* ... or this many payload bytes ... */
#define FIGURE_SYNCS_MAX 20000u         /* ... or this many syncs */
#define QUICK_NS_MAX 20000000ull
#define QUICK_SYNCS_MAX 8u
#define RECOVER_BYTES (1ull << 30)
#define RECOVER_BYTES_QUICK (8ull << 20)
#define RECOVER_ENTRY 16384u
#define RECOVER_BATCH 256u
#define BATCH_MAX 256u
#define ENTRY_BYTES_MAX 16384u

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

/* The three sides of a figure: the WAL as the node configures it (wal_config.inline_bytes_max
 * WAL_INLINE_BYTES_NODE: payloads up to 256 bytes copied into the batch, bigger ones written from
 * the caller's memory with pwritev), the WAL the other way for this entry size (every payload in
 * place, inline_bytes_max 0, for small entries; every payload copied, the library's default, for
 * big ones), and the raw log (bench_raw_log.h), the limit. */
enum side_kind { SIDE_NODE, SIDE_OTHER, SIDE_RAW, N_SIDES };

static const char *const side_dir[N_SIDES] = {"node", "other", "raw"};

/* Whether the node copies payloads of this size into the batch. */
static bool node_copies(unsigned entry_bytes)
{
    return entry_bytes <= WAL_INLINE_BYTES_NODE;
}

static uint32_t side_inline_bytes_max(enum side_kind kind, unsigned entry_bytes)
{
    if (kind == SIDE_NODE) {
        return WAL_INLINE_BYTES_NODE;
    }
    return node_copies(entry_bytes) ? 0u : WAL_INLINE_BYTES_MAX_DEFAULT;
}

struct side {
    struct io_fs *fs;
    struct wal *w;
    struct bench_raw_log raw;
    craft_index next;
    struct result res;
    uint64_t last_ns; /* the last batch's time */
};

/* Per round of a figure, raw's batch time over the node-configured WAL's: the rounds are adjacent in
 * time, so their median says what the WAL costs when no stall of the disk lands on one side. */
static double round_ratio[FIGURE_SYNCS_MAX];

static int open_wal(const char *dir, uint32_t inline_bytes_max, struct io_fs **fs, struct wal **w,
                    struct wal_open_report *rep)
{
    int rv = io_fs_posix_create(dir, fs);
    if (rv != 0) {
        return rv;
    }
    struct wal_config cfg;
    wal_config_init(&cfg);
    cfg.inline_bytes_max = inline_bytes_max;
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

/* Opens a side in dir (new): a WAL opened (its first segment made) or the raw log's first
 * segment made, before the clock starts for both. */
static int side_open(enum side_kind kind, const char *dir, unsigned entry_bytes, struct side *sd)
{
    *sd = (struct side){.next = 1};
    if (kind == SIDE_RAW) {
        return bench_raw_log_open(&sd->raw, dir, WAL_SEGMENT_BYTES_DEFAULT);
    }
    return open_wal(dir, side_inline_bytes_max(kind, entry_bytes), &sd->fs, &sd->w, NULL);
}

static void side_close(enum side_kind kind, struct side *sd, const char *dir)
{
    if (kind == SIDE_RAW) {
        bench_raw_log_close(&sd->raw);
        return;
    }
    close_wal(sd->fs, sd->w);
    bench_remove_dir(dir);
}

/* One batch made durable, timed: wal_append + wal_sync, or the raw log's pwrite + fdatasync of
 * the same record bytes (records holds a batch of them). */
static int side_batch(enum side_kind kind, struct side *sd, const struct shape *sh,
                      const unsigned char *payload, const unsigned char *records)
{
    struct craft_entry entries[BATCH_MAX];
    int rv;
    uint64_t start = bench_now_ns();
    if (kind == SIDE_RAW) {
        rv = bench_raw_log_append(&sd->raw, records, wal_record_size(sh->entry_bytes), sh->batch);
    } else {
        for (unsigned i = 0; i < sh->batch; i++) {
            entries[i] = (struct craft_entry){.term = 1,
                                              .index = sd->next++,
                                              .type = CRAFT_ENTRY_NORMAL,
                                              .data = {payload, sh->entry_bytes}};
        }
        rv = wal_append(sd->w, entries, sh->batch);
        if (rv == 0) {
            rv = wal_sync(sd->w);
        }
        if (rv != 0) {
            fprintf(stderr, "craft-bench wal: %s\n", wal_errmsg(sd->w));
        }
    }
    sd->last_ns = bench_now_ns() - start;
    sd->res.ns += sd->last_ns;
    sd->res.entries += sh->batch;
    sd->res.payload_bytes += (uint64_t)sh->batch * sh->entry_bytes;
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

/* The three sides take turns batch by batch (the first of each round rotating), each batch timed
 * on its own, until one side has spent its time or bytes: this VM's fdatasync swings by half
 * from one second to the next, and taking turns this closely gives every side the same disk. */
static int figure(const char *root, const struct shape *sh, bool quick)
{
    static unsigned char payload[ENTRY_BYTES_MAX];
    static unsigned char records[BATCH_MAX * (WAL_RECORD_HEADER_BYTES + ENTRY_BYTES_MAX)];
    memset(payload, 0xa5, sizeof payload);
    memset(records, 0xa5, sizeof records);
    char dir[N_SIDES][600];
    struct side sides[N_SIDES];
    int n_open = 0;
    int rv = 0;
    for (; n_open < N_SIDES && rv == 0; n_open++) {
        snprintf(dir[n_open], sizeof dir[n_open], "%.400s/%ub_x%u.%s", root, sh->entry_bytes,
                 sh->batch, side_dir[n_open]);
        rv = side_open((enum side_kind)n_open, dir[n_open], sh->entry_bytes, &sides[n_open]);
    }
    if (rv != 0) {
        n_open--; /* the one that failed cleaned up after itself */
    }
    uint64_t ns_max = quick ? QUICK_NS_MAX : FIGURE_NS_MAX;
    unsigned syncs_max = quick ? QUICK_SYNCS_MAX : FIGURE_SYNCS_MAX;
    unsigned n_rounds = 0;
    for (unsigned s = 0; s < syncs_max && rv == 0; s++) {
        for (unsigned j = 0; j < N_SIDES && rv == 0; j++) {
            enum side_kind k = (enum side_kind)((s + j) % N_SIDES);
            rv = side_batch(k, &sides[k], sh, payload, records);
        }
        n_rounds = s + 1;
        round_ratio[s] =
            sides[SIDE_NODE].last_ns > 0
                ? (double)sides[SIDE_RAW].last_ns / (double)sides[SIDE_NODE].last_ns
                : 0.0;
        bool spent = false;
        for (unsigned k = 0; k < N_SIDES; k++) {
            spent = spent || sides[k].res.ns >= ns_max ||
                    sides[k].res.payload_bytes >= FIGURE_BYTES_MAX;
        }
        if (spent) {
            break;
        }
    }
    for (int k = n_open - 1; k >= 0; k--) {
        side_close((enum side_kind)k, &sides[k], dir[k]);
    }
    if (rv != 0) {
        fprintf(stderr, "craft-bench wal: %ub x %u failed\n", sh->entry_bytes, sh->batch);
        return 1;
    }
    const struct result *node = &sides[SIDE_NODE].res;
    const struct result *other = &sides[SIDE_OTHER].res;
    const struct result *raw = &sides[SIDE_RAW].res;
    char name[128];
    snprintf(name, sizeof name, "wal.append.%ub_x%u", sh->entry_bytes, sh->batch);
    report(name, per_s(node->entries, node->ns), per_s(raw->entries, raw->ns), "appends/s");
    double other_rate = per_s(other->entries, other->ns);
    double raw_rate = per_s(raw->entries, raw->ns);
    printf("%s.ratio_p50 %.3f\n", name, bench_median(round_ratio, n_rounds));
    const char *other_name = node_copies(sh->entry_bytes) ? "zero_copy" : "copy";
    printf("%s.%s %.1f appends/s\n", name, other_name, other_rate);
    printf("%s.%s_ratio %.3f\n", name, other_name, raw_rate > 0 ? other_rate / raw_rate : 0.0);
    snprintf(name, sizeof name, "wal.mbps.%ub_x%u", sh->entry_bytes, sh->batch);
    report(name, per_s(node->payload_bytes, node->ns) / 1e6, per_s(raw->payload_bytes, raw->ns) / 1e6,
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
    int rv = open_wal(dir, 0, &fs, &w, NULL);
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
    rv = open_wal(dir, 0, &fs, &w, &rep);
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
#ifdef __GLIBC__
    /* glibc raises its mmap threshold each time a block above it is freed, up to 32 MiB: after
     * the first figures freed their WAL's index (tens of MiB), a later index grew by heap realloc
     * (copying) instead of mremap, and the group-commit figure lost 6-7 % (0.85 against 0.91
     * alone). A fixed threshold, glibc's starting one, gives every figure a fresh process's
     * allocator. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
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
