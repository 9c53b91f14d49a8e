/* Allocation wrappers: every allocation in craft goes through these, so tests can make the
 * N-th one fail (alloc_fail_after) and check that each failure path cleans up. */
#ifndef CRAFT_UTIL_ALLOC_H
#define CRAFT_UTIL_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "craft/alloc.h"

void *craft_malloc(size_t size);
void *craft_calloc(size_t n, size_t size);
void *craft_realloc(void *ptr, size_t size);
void craft_free(void *ptr);
/* Makes *arr (of *cap elements of size bytes, owned by the caller) hold at least need elements,
 * doubling from 8. Returns false (and leaves *arr as it was) when the allocation fails. */
bool craft_grow(void **arr, size_t *cap, size_t need, size_t size);

/* The allocator of the calling thread (NULL: the C library's). alloc_use sets it and returns the
 * one it replaces, so a caller can restore it; threads started with io_thread_start inherit
 * their creator's. A node's threads all use the node's (craft_node_config.allocator). */
const struct craft_allocator *alloc_use(const struct craft_allocator *a);
const struct craft_allocator *alloc_current(void);

/* Test hook: the next n allocations succeed, every one after fails, until alloc_fail_reset().
 * Process-wide on purpose (the one mutable global in craft): it exists only for tests. */
void alloc_fail_after(long n);
void alloc_fail_reset(void);

#endif
