/* The disk's limit beside the replicated benchmarks: how long one small append made durable takes
 * (4 KiB written after the last into a preallocated file, then fdatasync), in plain system calls.
 * Preallocated as both logs do (craft's WAL and libraft's segments use fallocate), so the file's
 * size does not change on each append; and, as craft's WAL does (io/fs.h), zeros are written
 * ahead of the appends 256 KiB at a time, so an fdatasync seldom has an unwritten extent to
 * convert (each of them did before 30 November 2026: 1.5 times the time on ext4 here). */
#define _GNU_SOURCE /* O_CLOEXEC, fallocate */
#include "bench_fsync_limit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_file.h"
#include "bench_latency.h"
#include "bench_tmpdir.h"

/* Times n_max appends (or as many as fit in seconds_max) into samples; *n gets how many. */
static int time_appends(int fd, double seconds_max, uint32_t n_max, uint64_t *samples, uint32_t *n)
{
    static unsigned char block[BENCH_FSYNC_LIMIT_BLOCK];
    memset(block, 0x5a, sizeof block);
    uint64_t deadline = bench_now_ns() + (uint64_t)(seconds_max * 1e9);
    uint64_t size = (uint64_t)n_max * BENCH_FSYNC_LIMIT_BLOCK;
    uint64_t zeroed_to = 0;
    *n = 0;
    while (*n < n_max) {
        uint64_t t0 = bench_now_ns();
        uint64_t end = (uint64_t)(*n + 1) * BENCH_FSYNC_LIMIT_BLOCK;
        int rv =
            bench_pwrite_all(fd, block, BENCH_FSYNC_LIMIT_BLOCK, end - BENCH_FSYNC_LIMIT_BLOCK);
        if (rv == 0) {
            rv = bench_zero_ahead(fd, end, size, &zeroed_to);
        }
        if (rv != 0 || fdatasync(fd) != 0) {
            perror("craft-bench: fsync limit: append");
            return -1;
        }
        uint64_t t1 = bench_now_ns();
        samples[(*n)++] = t1 - t0;
        if (t1 >= deadline) {
            break;
        }
    }
    return 0;
}

int bench_fsync_limit_measure(double seconds_max, uint32_t n_max, struct bench_fsync_limit *out)
{
    memset(out, 0, sizeof *out);
    if (n_max == 0) {
        return 0;
    }
    char dir[256];
    if (bench_make_dir("fsync", dir, sizeof dir) != 0) {
        return -1;
    }
    int rv = -1;
    uint64_t *samples = malloc(n_max * sizeof samples[0]); /* owned here */
    char path[300];
    snprintf(path, sizeof path, "%s/append", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (samples == NULL || fd < 0) {
        perror("craft-bench: fsync limit");
        goto out;
    }
    /* Room for every append, made durable before the timing starts. */
    if (fallocate(fd, 0, 0, (off_t)n_max * BENCH_FSYNC_LIMIT_BLOCK) != 0 || fsync(fd) != 0) {
        perror("craft-bench: fsync limit: fallocate");
        goto out;
    }
    uint32_t n = 0;
    if (time_appends(fd, seconds_max, n_max, samples, &n) != 0) {
        goto out;
    }
    uint64_t total_ns = 0;
    for (uint32_t i = 0; i < n; i++) {
        total_ns += samples[i];
    }
    out->per_s = total_ns > 0 ? (double)n * 1e9 / (double)total_ns : 0.0;
    bench_latency_sort(samples, n);
    out->n_syncs = n;
    out->p50_us = bench_latency_quantile_us(samples, n, 0.50);
    out->p99_us = bench_latency_quantile_us(samples, n, 0.99);
    rv = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(samples);
    bench_remove_dir(dir);
    return rv;
}
