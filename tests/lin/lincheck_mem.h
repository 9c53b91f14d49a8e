/* Allocation for the checker: malloc that aborts on failure (a test tool; running out of memory
 * is not a condition it must survive). */
#ifndef CRAFT_LINCHECK_MEM_H
#define CRAFT_LINCHECK_MEM_H

#include <stdlib.h>

#include "util/assert.h"

static inline void *lin_xmalloc(size_t size)
{
    void *p = malloc(size == 0 ? 1 : size);
    CRAFT_ASSERT(p != NULL);
    return p;
}

static inline void *lin_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size == 0 ? 1 : size);
    CRAFT_ASSERT(p != NULL);
    return p;
}

static inline void *lin_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
    CRAFT_ASSERT(p != NULL);
    return p;
}

#endif
