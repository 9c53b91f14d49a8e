#include "copy_stats.h"

#include <stdatomic.h>

static _Atomic uint64_t copied[COPY_SITES];

void copy_stats_add(enum copy_site site, size_t bytes)
{
    atomic_fetch_add_explicit(&copied[site], bytes, memory_order_relaxed);
}

uint64_t copy_stats_bytes(enum copy_site site)
{
    if (site != COPY_SITES) {
        return atomic_load_explicit(&copied[site], memory_order_relaxed);
    }
    uint64_t total = 0;
    for (int i = 0; i < COPY_SITES; i++) {
        total += atomic_load_explicit(&copied[i], memory_order_relaxed);
    }
    return total;
}

const char *copy_site_name(enum copy_site site)
{
    static const char *const names[COPY_SITES] = {
        "propose", "core_log", "log_writer", "wal_batch", "wire_encode", "apply_queue",
    };
    return site < COPY_SITES ? names[site] : "all";
}
