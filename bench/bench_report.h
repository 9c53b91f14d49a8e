/* Prints a benchmark figure beside the target we aim at, one line each: "<name> <value> <unit>",
 * "<name>.target <target> <unit>". A target is an aspiration, so no ratio is printed; figures
 * measured against a limit or a peer measured in the same run print their own ".ratio". */
#ifndef CRAFT_BENCH_REPORT_H
#define CRAFT_BENCH_REPORT_H

void bench_report(const char *name, double value, const char *unit, double target);

/* A figure without a target (a measured limit, or one measured against it): "<name> <value>
 * <unit>" with one decimal. */
void bench_report_value(const char *name, double value, const char *unit);

/* The ratio of a figure to the limit or peer measured beside it: "<name> <ratio>", no unit. */
void bench_report_ratio(const char *name, double ratio);

#endif
