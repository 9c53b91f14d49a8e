/* Allocation wrappers with a test hook that fails the N-th allocation. */
#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local const struct craft_allocator *current;

const struct craft_allocator *alloc_use(const struct craft_allocator *a)
{
    const struct craft_allocator *prev = current;
    current = a;
    return prev;
}

const struct craft_allocator *alloc_current(void)
{
    return current;
}

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
    if (alloc_should_fail()) {
        return NULL;
    }
    return current != NULL ? current->malloc(current->ctx, size) : malloc(size);
}

void *craft_calloc(size_t n, size_t size)
{
    if (current == NULL) {
        return alloc_should_fail() ? NULL : calloc(n, size);
    }
    if (size != 0 && n > (size_t)-1 / size) {
        return NULL;
    }
    void *p = craft_malloc(n * size);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

void *craft_realloc(void *ptr, size_t size)
{
    if (alloc_should_fail()) {
        return NULL;
    }
    return current != NULL ? current->realloc(current->ctx, ptr, size) : realloc(ptr, size);
}

void craft_free(void *ptr)
{
    if (current != NULL) {
        current->free(current->ctx, ptr);
    } else {
        free(ptr);
    }
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
