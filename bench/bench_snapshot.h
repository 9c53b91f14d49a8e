/* craft-bench core's snapshot install figure (bench_snapshot.c): a leader's snapshot streamed to
 * a follower and installed, in MB/s, beside the disk's limit for the same bytes. */
#ifndef CRAFT_BENCH_SNAPSHOT_H
#define CRAFT_BENCH_SNAPSHOT_H

#include <stdbool.h>

/* Runs in a fresh directory under /tmp (on the disk that holds it; removed at the end) and prints
 * the figures. quick: a 4 MiB snapshot installed once, for the smoke test; else 64 MiB, the
 * median of 5. Returns 0, or 1 after printing why the figure could not be measured. */
int bench_snapshot_run(bool quick);

#endif
