/* "craft-bench wal": the write-ahead log on the real file system, zero-copy and copying, beside
 * a raw log doing the same I/O in plain pwrite + fdatasync (bench_raw_log.h), and the time to
 * open (recover) a 1 GiB log. */
#ifndef CRAFT_BENCH_WAL_H
#define CRAFT_BENCH_WAL_H

#include <stdbool.h>

/* Runs the WAL figures in a temporary directory under /tmp (removed afterwards) and prints them.
 * quick: tiny counts and a small log, for the smoke test. Returns 0, or 1 after printing why a
 * figure could not be measured. */
int bench_wal_run(bool quick);

#endif
