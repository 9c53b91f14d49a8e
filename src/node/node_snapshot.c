/* Taking snapshots: the node queues a snapshot item right behind the entry at each multiple of
 * snapshot_every (so every node snapshots the same points), tells the core once the snapshot is
 * durable and applied, lets storage drop the log it covers, and compacts its memory log. */
#include <inttypes.h>

#include "node_internal.h"

static int submit_entries(struct node *n, const struct craft_entry *entries,
                          const uint64_t *cookies, size_t k)
{
    if (k == 0) {
        return 0;
    }
    struct node_apply_item item = {.kind = NODE_APPLY_ENTRIES};
    item.entries = entries;
    item.cookies = cookies;
    item.n = k;
    return n->env.apply_submit(n->env.ctx, &item, 1);
}

/* The multiple of snapshot_every among entries[0..k) to snapshot at, or 0. */
static craft_index due_point(struct node *n, const struct craft_entry *entries, size_t k)
{
    if (n->snapshot_every == 0 || n->snapshot_saving || n->snapshot_ready || k == 0) {
        return 0;
    }
    craft_index first = entries[0].index;
    craft_index last = entries[k - 1].index;
    craft_index at = last / n->snapshot_every * n->snapshot_every;
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    if (at < first || at <= st.snapshot_index) {
        return 0;
    }
    return at;
}

int node_snapshot_hand_over(struct node *n, const struct craft_entry *entries,
                            const uint64_t *cookies, size_t k)
{
    craft_index at = due_point(n, entries, k);
    struct craft_snapshot_meta meta;
    if (at != 0 && craft_core_snapshot_meta(n->core, at, &meta) != 0) {
        at = 0; /* compacted past it meanwhile: the next multiple will do */
    }
    if (at == 0) {
        return submit_entries(n, entries, cookies, k);
    }
    size_t head = (size_t)(at - entries[0].index + 1);
    int rv = submit_entries(n, entries, cookies, head);
    if (rv == 0) {
        struct node_apply_item item = {.kind = NODE_APPLY_SNAPSHOT};
        item.meta = &meta;
        rv = n->env.apply_submit(n->env.ctx, &item, 1);
        n->snapshot_saving = rv == 0;
    }
    if (rv == 0) {
        rv = submit_entries(n, entries + head, cookies + head, k - head);
    }
    return rv;
}

void node_on_snapshot_saved(struct node *n, const struct craft_snapshot_meta *m, int rv)
{
    n->snapshot_saving = false;
    if (n->failed != 0) {
        return;
    }
    if (rv == CRAFT_ESTALE) {
        /* A restore put the state machine past it: the snapshot installed may serve the
         * requests waiting, else another is saved for them. */
        node_snapshot_requests_settle(n);
        return;
    }
    if (rv != 0) {
        /* Not durable: the next multiple tries again; requests waiting get the error. */
        node_snapshot_requests_fail(n, rv);
        return;
    }
    n->saved = *m;
    n->snapshot_ready = true;
    node_snapshot_settle(n);
}

/* Tells the core about the saved snapshot; 0 when it is the core's newest now. */
static int tell_core(struct node *n)
{
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_TAKEN};
    in.snapshot_taken.meta = &n->saved;
    int rv = node_step(n, &in);
    if (rv != 0) {
        return rv;
    }
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    return st.snapshot_index == n->saved.index ? 0 : CRAFT_ESTALE;
}

void node_snapshot_settle(struct node *n)
{
    if (!n->snapshot_ready || n->applied < n->saved.index || n->failed != 0) {
        return;
    }
    n->snapshot_ready = false;
    /* Not the newest (an installed snapshot is newer): nothing to drop. */
    if (tell_core(n) == 0) {
        if (n->env.snapshot_taken != NULL) {
            n->env.snapshot_taken(n->env.ctx, &n->saved);
        }
        if (n->log_trailing != NODE_NEVER_COMPACT && n->saved.index > n->log_trailing) {
            struct craft_input compact = {.type = CRAFT_IN_COMPACT};
            compact.compact.index = n->saved.index - n->log_trailing;
            (void)node_step(n, &compact);
        }
    }
    node_snapshot_requests_settle(n);
}
