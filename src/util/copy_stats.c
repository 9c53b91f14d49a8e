/* Each thread counts into a slot of its own (a plain load and store: no locked instruction and
 * no cache line bouncing between threads on the hot path); a read sums every slot. Slots are
 * never given back, so the counts of threads that ended stay in the totals. Threads past the
 * first COPY_STATS_SLOTS share the last slot with atomic adds. */
#include "copy_stats.h"

#include <stdatomic.h>
#include <stdbool.h>

#define COPY_STATS_SLOTS 64

struct copy_slot {
    _Alignas(64) _Atomic uint64_t bytes[COPY_SITES];
};

static struct copy_slot slots[COPY_STATS_SLOTS + 1]; /* the last: shared by the overflow */
static _Atomic unsigned slots_taken;
static _Thread_local struct copy_slot *own;

static struct copy_slot *slot_of_this_thread(void)
{
    if (own == NULL) {
        unsigned i = atomic_fetch_add_explicit(&slots_taken, 1, memory_order_relaxed);
        own = &slots[i < COPY_STATS_SLOTS ? i : COPY_STATS_SLOTS];
    }
    return own;
}

void copy_stats_add(enum copy_site site, size_t bytes)
{
    struct copy_slot *s = slot_of_this_thread();
    _Atomic uint64_t *c = &s->bytes[site];
    if (s == &slots[COPY_STATS_SLOTS]) {
        atomic_fetch_add_explicit(c, bytes, memory_order_relaxed);
    } else {
        /* Only this thread writes here; readers see a whole value (relaxed atomics). */
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + bytes,
                              memory_order_relaxed);
    }
}

static uint64_t site_total(int site)
{
    uint64_t total = 0;
    for (int i = 0; i <= COPY_STATS_SLOTS; i++) {
        total += atomic_load_explicit(&slots[i].bytes[site], memory_order_relaxed);
    }
    return total;
}

uint64_t copy_stats_bytes(enum copy_site site)
{
    if (site != COPY_SITES) {
        return site_total(site);
    }
    uint64_t total = 0;
    for (int i = 0; i < COPY_SITES; i++) {
        total += site_total(i);
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
