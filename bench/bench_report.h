/* Prints a benchmark figure beside the target it is measured against, one line each:
 * "<name> <value> <unit>", "<name>.target <target> <unit>", "<name>.ratio <value/target>". */
#ifndef CRAFT_BENCH_REPORT_H
#define CRAFT_BENCH_REPORT_H

void bench_report(const char *name, double value, const char *unit, double target);

#endif
