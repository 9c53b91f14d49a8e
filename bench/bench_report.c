/* The one output format of craft-bench, so scripts can read every figure the same way. */
#include "bench_report.h"

#include <stdio.h>

void bench_report(const char *name, double value, const char *unit, double target)
{
    printf("%s %.0f %s\n", name, value, unit);
    printf("%s.target %.0f %s\n", name, target, unit);
    fflush(stdout);
}

void bench_report_value(const char *name, double value, const char *unit)
{
    printf("%s %.1f %s\n", name, value, unit);
    fflush(stdout);
}

void bench_report_ratio(const char *name, double ratio)
{
    printf("%s %.3f\n", name, ratio);
    fflush(stdout);
}
