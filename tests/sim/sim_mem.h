/* Allocation for the simulator: craft_malloc that aborts on failure. The simulator is a test
 * tool; running out of memory there is not an operating condition it must survive. */
#ifndef SIM_MEM_H
#define SIM_MEM_H

#include <stddef.h>

#include "util/alloc.h"
#include "util/assert.h"

static inline void *sim_xmalloc(size_t size)
{
    void *p = craft_malloc(size == 0 ? 1 : size);
    CRAFT_ASSERT(p != NULL);
    return p;
}

static inline void *sim_xcalloc(size_t n, size_t size)
{
    void *p = craft_calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
    CRAFT_ASSERT(p != NULL);
    return p;
}

static inline void *sim_xrealloc(void *ptr, size_t size)
{
    void *p = craft_realloc(ptr, size == 0 ? 1 : size);
    CRAFT_ASSERT(p != NULL);
    return p;
}

/* Grows *arr (of elem bytes each, capacity *cap) to hold at least need elements. */
static inline void sim_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return;
    }
    size_t n = *cap == 0 ? 16 : *cap;
    while (n < need) {
        n *= 2;
    }
    *arr = sim_xrealloc(*arr, n * elem);
    *cap = n;
}

#endif
