/* The one output format of craft-bench, so scripts can read every figure the same way. */
#include "bench_report.h"

#include <stdio.h>

void bench_report(const char *name, double value, const char *unit, double target)
{
    printf("%s %.0f %s\n", name, value, unit);
    printf("%s.target %.0f %s\n", name, target, unit);
    fflush(stdout);
}
