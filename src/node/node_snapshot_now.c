/* Snapshots on request (node_snapshot): a request waits for a durable snapshot covering what the
 * node had handed to its state machine when it came, joining the save under way when that one
 * covers it, else getting a save of its own at the index handed over so far (one at a time). */
#include "node_internal.h"
#include "util/assert.h"

static uint64_t pop(struct node_held *h)
{
    CRAFT_ASSERT(h->n > 0);
    uint64_t cookie = h->items[h->head].cookie;
    h->head++;
    h->n--;
    if (h->n == 0) {
        h->head = 0;
    }
    return cookie;
}

/* Ends the requests the core's newest snapshot covers. */
static void end_covered(struct node *n)
{
    struct node_held *h = &n->snap_waiters;
    if (h->n == 0) {
        return;
    }
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    while (h->n > 0 && h->items[h->head].index <= st.snapshot_index) {
        /* The core knows it only once it is durable (taken, installed or booted from). */
        node_complete(n, pop(h), 0, st.snapshot_index, st.snapshot_term);
    }
}

void node_snapshot_requests_fail(struct node *n, int status)
{
    CRAFT_ASSERT(status != 0);
    struct node_held *h = &n->snap_waiters;
    end_covered(n);
    while (h->n > 0) {
        node_complete(n, pop(h), status, 0, 0);
    }
}

/* Queues a snapshot item at the index handed to the state machine so far: the apply side
 * reaches it with the state machine holding exactly the entries up to there. */
static void start_save(struct node *n)
{
    const struct node_held *h = &n->snap_waiters;
    craft_index at = n->handed;
#ifdef CRAFT_MUTATION_SNAPSHOT_NOW_AT_COMMIT
    at = n->committed; /* mutation: at the commit index, entries still held back from apply */
#endif
    CRAFT_ASSERT(at >= h->items[h->head + h->n - 1].index); /* handed never goes back */
    struct craft_snapshot_meta meta;
    if (craft_core_snapshot_meta(n->core, at, &meta) != 0) {
        /* Not describable yet (a node added to a running cluster, before the entry that added
         * it, knows no configuration there): retry later. */
        node_snapshot_requests_fail(n, CRAFT_EBUSY);
        return;
    }
    struct node_apply_item item = {.kind = NODE_APPLY_SNAPSHOT};
    item.meta = &meta;
    int rv = n->env.apply_submit(n->env.ctx, &item, 1);
    if (rv != 0) {
        node_fail(n, rv); /* the requests end at destroy */
        return;
    }
    n->snapshot_saving = true;
#ifdef CRAFT_MUTATION_SNAPSHOT_NOW_EARLY
    /* mutation: the requests end as soon as the save is queued, before the file is durable. */
    while (n->snap_waiters.n > 0) {
        node_complete(n, pop(&n->snap_waiters), 0, meta.index, meta.term);
    }
#endif
}

void node_snapshot_requests_settle(struct node *n)
{
    if (n->failed != 0) {
        return; /* the requests end at destroy, with CRAFT_ESHUTDOWN */
    }
    end_covered(n);
    if (n->snap_waiters.n == 0 || n->snapshot_saving || n->snapshot_ready) {
        return; /* nothing left, or the snapshot under way ends first and settles again */
    }
    start_save(n);
}

int node_snapshot(struct node *n, uint64_t cookie)
{
    int rv = 0;
    if (n->failed != 0) {
        rv = CRAFT_ESHUTDOWN;
    } else if (!n->snapshots) {
        rv = CRAFT_ENOTSUP;
    } else if (n->snap_waiters.n >= NODE_SNAPSHOT_WAITERS_MAX) {
        rv = CRAFT_EBUSY;
    } else {
        rv = node_held_push(&n->snap_waiters, n->handed, cookie);
    }
    if (rv != 0) {
        node_complete(n, cookie, rv, 0, 0);
        return rv;
    }
    node_snapshot_requests_settle(n);
    return 0;
}
