/* Accounting of payload bytes copied on the way from a proposal to the disk, the wire and the
 * state machine, so craft-bench node can report bytes copied per entry (the hot path's copies
 * are what the zero-copy work removes). Counters per thread, summed when read: a statistic,
 * not state. */
#ifndef CRAFT_UTIL_COPY_STATS_H
#define CRAFT_UTIL_COPY_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Where a payload copy happens. */
enum copy_site {
    COPY_PROPOSE = 0,  /* the caller's command into the node's request queue */
    COPY_CORE_LOG,     /* into the core's in-memory log */
    COPY_LOG_WRITER,   /* into the log writer's request */
    COPY_WAL_BATCH,    /* into the WAL's batch buffer */
    COPY_WIRE_ENCODE,  /* into an AppendEntries frame */
    COPY_APPLY_QUEUE,  /* into the apply queue */
    COPY_SITES,
};

void copy_stats_add(enum copy_site site, size_t bytes);
/* Bytes copied at site (COPY_SITES: all sites) since the process started. */
uint64_t copy_stats_bytes(enum copy_site site);
const char *copy_site_name(enum copy_site site);

#endif
