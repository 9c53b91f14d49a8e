/* Allocation wrappers with a test hook that fails the N-th allocation. */
#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Allocations left before failures start; negative means never fail. */
static _Atomic long alloc_budget = -1;

static int alloc_should_fail(void)
{
    long left = atomic_load_explicit(&alloc_budget, memory_order_relaxed);
    if (left < 0) {
        return 0;
    }
    if (left == 0) {
        return 1;
    }
    atomic_fetch_sub_explicit(&alloc_budget, 1, memory_order_relaxed);
    return 0;
}

void *craft_malloc(size_t size)
{
    return alloc_should_fail() ? NULL : malloc(size);
}

void *craft_calloc(size_t n, size_t size)
{
    return alloc_should_fail() ? NULL : calloc(n, size);
}

void *craft_realloc(void *ptr, size_t size)
{
    return alloc_should_fail() ? NULL : realloc(ptr, size);
}

void craft_free(void *ptr)
{
    free(ptr);
}

void alloc_fail_after(long n)
{
    atomic_store(&alloc_budget, n);
}

void alloc_fail_reset(void)
{
    atomic_store(&alloc_budget, -1);
}
