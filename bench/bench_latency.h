/* Latency samples of the benchmarks that time each operation: sorting and percentiles; and the
 * median of a few figures (rounds of a benchmark). */
#ifndef CRAFT_BENCH_LATENCY_H
#define CRAFT_BENCH_LATENCY_H

#include <stddef.h>
#include <stdint.h>

/* Sorts ns[0..n) ascending. */
void bench_latency_sort(uint64_t *ns, size_t n);

/* The q-quantile (0 <= q <= 1, nearest rank) of sorted[0..n), in microseconds; 0 when n == 0. */
double bench_latency_quantile_us(const uint64_t *sorted, size_t n, double q);

/* Sorts v[0..n) ascending and returns v[n / 2] (for an even n, the upper of the middle two);
 * 0 when n == 0. */
double bench_median(double *v, size_t n);

#endif
