/* "craft-bench core": the pure core's throughput with three cores in one thread. */
#ifndef CRAFT_BENCH_CORE_H
#define CRAFT_BENCH_CORE_H

#include <stdbool.h>

/* Runs the three core figures and prints them. quick: a tiny count, for the smoke test.
 * Returns 0, or 1 after printing why a figure could not be measured. */
int bench_core_run(bool quick);

#endif
