/* Draws one simulated run as a self-contained HTML page (--timeline): per node along simulated
 * time its role and term, durable log, commit and applied indexes, crashes and restarts, its
 * links, the messages between nodes and the violation, all read from the run's trace log. */
#ifndef SIM_TIMELINE_H
#define SIM_TIMELINE_H

#include <stdint.h>

#include "sim_trace.h"

/* Bounds of the page, so that a long run still gives a file a browser opens at once: the last
 * this many of each are drawn (the page says how many were left out). */
#define SIM_TIMELINE_MSGS_MAX 4000
#define SIM_TIMELINE_MARKS_MAX 2000
#define SIM_TIMELINE_NET_MAX 2000
#define SIM_TIMELINE_POINTS_MAX 8000 /* per node: role bands, index changes, link changes each */

/* What the page says about the run besides its records. Strings are borrowed for the call. */
struct sim_timeline_info {
    uint64_t seed;
    unsigned n_nodes;
    uint64_t steps;        /* steps run */
    uint64_t end_us;       /* simulated time at the end (at the violation, if any) */
    const char *violation; /* the invariant that fired, or NULL */
    const char *detail;    /* its detail line, or NULL */
    const char *params;    /* the seed's parameters in one line, or NULL */
    const char *replay;    /* the command that replays the run */
};

/* Writes the page for the records of log to path. Returns 0, or -1 after printing why on
 * stderr (the file could not be written). */
int sim_timeline_write(const char *path, const struct sim_timeline_info *info,
                       const struct sim_trace_log *log);

#endif
