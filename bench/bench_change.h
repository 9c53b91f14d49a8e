/* craft-bench core's membership-change figures (bench_change.c). */
#ifndef CRAFT_BENCH_CHANGE_H
#define CRAFT_BENCH_CHANGE_H

#include <stdbool.h>

/* Prints the figures; returns 0, or 1 when a change did not complete. */
int bench_change_run(bool quick);

#endif
