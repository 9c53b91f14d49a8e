/* Latency samples of the benchmarks that time each operation: sorting and percentiles; and the
 * median of a few figures. */
#include "bench_latency.h"

#include <math.h>
#include <stdlib.h>

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void bench_latency_sort(uint64_t *ns, size_t n)
{
    qsort(ns, n, sizeof ns[0], compare_u64);
}

double bench_latency_quantile_us(const uint64_t *sorted, size_t n, double q)
{
    if (n == 0) {
        return 0;
    }
    /* Nearest rank: the smallest sample with at least q of the samples at or below it. */
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank == 0) {
        rank = 1;
    }
    if (rank > n) {
        rank = n;
    }
    return (double)sorted[rank - 1] / 1000.0;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    if (n == 0) {
        return 0.0;
    }
    qsort(v, n, sizeof v[0], compare_double);
    return v[n / 2];
}
