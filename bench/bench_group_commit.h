/* "wal.group_commit": the log writer thread under a stream of one-entry requests that do not
 * wait for each other, beside the raw log (bench_raw_log.h) writing as many records per sync as
 * the writer's batches held: what the same batching costs in plain system calls. */
#ifndef CRAFT_BENCH_GROUP_COMMIT_H
#define CRAFT_BENCH_GROUP_COMMIT_H

#include <stdbool.h>

/* Runs in a fresh subdirectory of root (removed by the caller with root). Returns 0 or 1. */
int bench_group_commit_run(const char *root, bool quick);

#endif
