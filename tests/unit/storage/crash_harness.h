/* Pieces the crash-enumeration tests share: choosing what a simulated crash does to unsynced
 * writes, and collecting failures so one run shows every crash point that breaks. Include after
 * <cmocka.h> (print_error). */
#ifndef CRAFT_TESTS_CRASH_HARNESS_H
#define CRAFT_TESTS_CRASH_HARNESS_H

#include <stdarg.h>
#include <stdio.h>

#include "io/sim/fs_sim.h"

static inline void set_policy(struct io_fs_sim *sim, enum io_fs_sim_crash_policy policy)
{
    struct io_fs_sim_faults faults;
    io_fs_sim_faults_init(&faults);
    faults.crash_policy = policy;
    io_fs_sim_set_faults(sim, &faults);
}

/* One crash policy a crash point is tried with (seed: the simulated disk's, for RANDOM). */
struct policy_case {
    enum io_fs_sim_crash_policy policy;
    uint64_t seed;
    const char *name;
};

struct failures {
    unsigned n;
    unsigned printed;
};

static inline void failed(struct failures *fl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void failed(struct failures *fl, const char *fmt, ...)
{
    fl->n++;
    if (fl->printed < 20) {
        va_list ap;
        va_start(ap, fmt);
        char line[512];
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        print_error("%s\n", line);
        fl->printed++;
    }
}

#endif
