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

bool craft_grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return true;
    }
    size_t cap2 = *cap == 0 ? 8 : *cap;
    while (cap2 < need) {
        cap2 *= 2;
    }
    void *p = craft_realloc(*arr, cap2 * size);
    if (p == NULL) {
        return false;
    }
    *arr = p;
    *cap = cap2;
    return true;
}

void alloc_fail_after(long n)
{
    atomic_store(&alloc_budget, n);
}

void alloc_fail_reset(void)
{
    atomic_store(&alloc_budget, -1);
}
