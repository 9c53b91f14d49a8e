/* The disk's limit beside the replicated benchmarks: how long one small append made durable takes
 * (4 KiB written after the last into a preallocated file, then fdatasync), in plain system calls.
 */
#ifndef CRAFT_BENCH_FSYNC_LIMIT_H
#define CRAFT_BENCH_FSYNC_LIMIT_H

#include <stdint.h>

#define BENCH_FSYNC_LIMIT_BLOCK 4096u /* one page: the smallest append a log makes durable */

struct bench_fsync_limit {
    uint32_t n_syncs; /* appends timed */
    double p50_us;    /* write + fdatasync of one block */
    double p99_us;
    double per_s; /* appends made durable per second: n_syncs over the sum of their times */
};

/* In a fresh directory /tmp/craft-bench-fsync.XXXXXX (the disk the other benchmarks use), makes a
 * file of n_max blocks with fallocate (not timed), then writes BENCH_FSYNC_LIMIT_BLOCK bytes after
 * the last written and fdatasyncs it, n_max times or for seconds_max, whichever ends first,
 * timing each write + fdatasync. The directory is removed before
 * returning. Returns 0, or -1 after printing why. */
int bench_fsync_limit_measure(double seconds_max, uint32_t n_max, struct bench_fsync_limit *out);

#endif
