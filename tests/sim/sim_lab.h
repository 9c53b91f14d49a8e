/* The named deterministic scenarios (6.824 Raft lab parts A-C, plus partial-connectivity tests):
 * the registry and the runner. */
#ifndef SIM_LAB_H
#define SIM_LAB_H

#include <stdint.h>
#include <stdio.h>

struct sim_lab_test {
    const char *name;
    int (*run)(uint64_t seed);
};

/* Returns the test named name, or NULL. */
const struct sim_lab_test *sim_lab_find(const char *name);
void sim_lab_list(FILE *out);
/* Runs one test (or every test for "all"); returns 0 when all passed. */
int sim_lab_run(const char *name, uint64_t seed);

#endif
