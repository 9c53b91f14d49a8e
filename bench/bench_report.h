/* Prints a benchmark figure beside the target we aim at, one line each: "<name> <value> <unit>",
 * "<name>.target <target> <unit>". A target is an aspiration, so no ratio is printed; figures
 * measured against a limit or a peer measured in the same run print their own ".ratio". */
#ifndef CRAFT_BENCH_REPORT_H
#define CRAFT_BENCH_REPORT_H

void bench_report(const char *name, double value, const char *unit, double target);

#endif
