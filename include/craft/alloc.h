/* A memory allocator a node's memory comes from (struct craft_node_config.allocator), so a
 * process hosting several nodes can account for, or limit, each one's memory on its own. */
#ifndef CRAFT_ALLOC_H
#define CRAFT_ALLOC_H

#include <stddef.h>

/* The three calls behave as malloc, realloc and free (free of NULL does nothing; a failed
 * allocation returns NULL, which craft handles as CRAFT_ENOMEM). They are called from any of
 * the node's threads, and from the threads that call the node's functions, at once: they must
 * be thread-safe. ctx is passed back. libuv's own allocations (its loop and handles' internals)
 * do not go through it. */
struct craft_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
};

#endif
