/* Each node's memory comes from its own allocator (craft_node_config.allocator): three nodes in
 * one process, each with a counting allocator that tags its blocks. Every block a node frees is
 * one its own allocator gave out, every block is freed by the end, and each allocator was used
 * (by the node's threads and by the calls made into it from this thread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

struct counting {
    struct craft_allocator a;
    uint64_t tag;
    _Atomic long live;
    _Atomic long total;
    _Atomic long foreign; /* blocks freed here that another allocator gave out */
};

/* Each block: its allocator's tag and 8 bytes of padding, then the caller's bytes. */
#define HEADER 16

static void *counting_malloc(void *ctx, size_t size)
{
    struct counting *c = ctx;
    uint64_t *h = malloc(HEADER + size);
    if (h == NULL) {
        return NULL;
    }
    h[0] = c->tag;
    atomic_fetch_add(&c->live, 1);
    atomic_fetch_add(&c->total, 1);
    return (char *)h + HEADER;
}

static void note_owner(struct counting *c, void *ptr)
{
    uint64_t *h = (uint64_t *)((char *)ptr - HEADER);
    if (h[0] != c->tag) {
        atomic_fetch_add(&c->foreign, 1);
    }
}

static void *counting_realloc(void *ctx, void *ptr, size_t size)
{
    struct counting *c = ctx;
    if (ptr == NULL) {
        return counting_malloc(ctx, size);
    }
    note_owner(c, ptr);
    uint64_t *h = realloc((char *)ptr - HEADER, HEADER + size);
    return h != NULL ? (char *)h + HEADER : NULL;
}

static void counting_free(void *ctx, void *ptr)
{
    struct counting *c = ctx;
    if (ptr == NULL) {
        return;
    }
    note_owner(c, ptr);
    atomic_fetch_sub(&c->live, 1);
    free((char *)ptr - HEADER);
}

static void counting_init(struct counting *c, uint64_t tag)
{
    memset(c, 0, sizeof *c);
    c->a = (struct craft_allocator){c, counting_malloc, counting_realloc, counting_free};
    c->tag = tag;
}

static void test_cluster_each_node_its_allocator(void **state)
{
    (void)state;
    static struct counting allocs[3];
    struct cluster *c = malloc(sizeof *c);
    assert_non_null(c);
    cl_init(c, 3, 3, (struct craft_node_threads){.log_writer = true, .apply = true});
    c->snapshot_every = 16; /* snapshots and their streams allocate too */
    c->log_trailing = 0;
    for (unsigned i = 0; i < 3; i++) {
        counting_init(&allocs[i], 0xa110c000u + i);
        c->allocators[i] = &allocs[i].a;
    }
    cl_start_all(c);
    assert_true(cl_wait_leader(c, CL_WAIT_MS) >= 0);
    for (uint64_t v = 1; v <= 40; v++) {
        assert_int_equal(cl_propose_leader(c, v, CL_WAIT_MS), 0);
    }
    assert_true(cl_wait_applied(c, 40, CL_WAIT_MS));
    assert_true(cl_replicas_equal(c));
    cl_close(c);
    free(c);
    for (unsigned i = 0; i < 3; i++) {
        assert_true(atomic_load(&allocs[i].total) > 100);
        assert_int_equal(atomic_load(&allocs[i].foreign), 0);
        assert_int_equal(atomic_load(&allocs[i].live), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_each_node_its_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
