/* EXPECT for the simulator's plain test programs: counts a failure and goes on. Each program
 * defines `static int failures;` before including this. */
#ifndef SIM_EXPECT_H
#define SIM_EXPECT_H

#include <stdio.h>

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                    \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#endif
