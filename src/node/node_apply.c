/* The hand-over to the state machine: committed entries, with the cookies of the proposals they
 * answer, in log order, at most apply_window of them handed but not yet applied (the rest wait
 * in the core's log, which keeps everything past the applied index); safe reads behind the
 * entries up to their index. */
#include <string.h>

#include "node_internal.h"
#include "util/alloc.h"

/* FIFOs of (index, cookie): proposals' entries and reads not handed over yet. */
int node_held_push(struct node_held *h, craft_index index, uint64_t cookie)
{
    if (h->head > 0 && h->head + h->n == h->cap) {
        memmove(h->items, h->items + h->head, h->n * sizeof *h->items);
        h->head = 0;
    }
    void *arr = h->items;
    if (!craft_grow(&arr, &h->cap, h->head + h->n + 1, sizeof *h->items)) {
        return CRAFT_ENOMEM;
    }
    h->items = arr;
    h->items[h->head + h->n++] = (struct node_held_item){index, cookie};
    return 0;
}

void node_held_close(struct node_held *h)
{
    craft_free(h->items);
    memset(h, 0, sizeof *h);
}

/* Outcomes of this output: a proposal done with an entry of this output waits for its entry's
 * hand-over; any other outcome ends at once. */
static int note_outcomes(struct node *n, const struct craft_output *out)
{
    size_t k = out->n_committed;
    craft_index first = k > 0 ? out->committed[0].index : 0;
    for (size_t i = 0; i < out->n_proposals; i++) {
        const struct craft_propose_result *r = &out->proposals[i];
        if (r->status == 0 && k > 0 && r->index >= first && r->index < first + k &&
            out->committed[r->index - first].term == r->term) {
            craft_index index = r->index;
#ifdef CRAFT_MUTATION_NODE_RESULT_MISROUTED
            index -= index > first; /* mutation: the result goes with the entry before */
#endif
            if (node_held_push(&n->held_results, index, r->cookie) != 0) {
                return CRAFT_ENOMEM;
            }
        } else {
            node_complete(n, r->cookie, r->status, r->index, r->term);
        }
    }
    return 0;
}

/* The cookies of entries[0..k) from the held results (popped), into n->apply_cookies. */
static const uint64_t *take_cookies(struct node *n, const struct craft_entry *entries, size_t k)
{
    void *arr = n->apply_cookies;
    if (!craft_grow(&arr, &n->cap_apply_cookies, k, sizeof(uint64_t))) {
        return NULL;
    }
    n->apply_cookies = arr;
    memset(n->apply_cookies, 0, k * sizeof(uint64_t));
    struct node_held *h = &n->held_results;
    craft_index first = entries[0].index;
    while (h->n > 0 && h->items[h->head].index < first + k) {
        struct node_held_item it = h->items[h->head++];
        h->n--;
        if (it.index >= first) {
            n->apply_cookies[it.index - first] = it.cookie;
        }
    }
    return n->apply_cookies;
}

/* Reads whose index the hand-over reached go to apply, behind those entries. */
static int release_reads(struct node *n)
{
    struct node_held *h = &n->held_reads;
    size_t kept = 0;
    for (size_t i = 0; i < h->n; i++) {
        struct node_held_item it = h->items[h->head + i];
        if (it.index > n->handed) {
            h->items[h->head + kept++] = it;
            continue;
        }
        struct node_apply_item item = {.kind = NODE_APPLY_READ};
        item.cookie = it.cookie;
        item.index = it.index;
        int rv = n->env.apply_submit(n->env.ctx, &item, 1);
        if (rv != 0) {
            return rv;
        }
    }
    h->n = kept;
    return 0;
}

void node_hand_over(struct node *n)
{
    craft_index handed_before = n->handed;
    while (n->failed == 0 && n->handed < n->committed) {
        craft_index last = n->committed;
        if (n->apply_window != 0 && n->applied + n->apply_window < last) {
            last = n->applied + n->apply_window;
        }
        if (last <= n->handed) {
            break; /* the window is full: node_on_applied goes on */
        }
        const struct craft_entry *run;
        size_t k;
        craft_index from = n->handed + 1;
#ifdef CRAFT_MUTATION_NODE_WINDOW_SKIPS
        from += n->apply_window != 0 && n->handed > n->applied; /* mutation: one entry skipped */
#endif
        int rv = from <= last ? craft_core_entries(n->core, from, (size_t)(last - from + 1), &run, &k)
                              : CRAFT_EINVAL;
        const uint64_t *cookies = rv == 0 ? take_cookies(n, run, k) : NULL;
        rv = rv != 0 ? rv : cookies == NULL ? CRAFT_ENOMEM : 0;
        if (rv == 0) {
            rv = node_snapshot_hand_over(n, run, cookies, k);
        }
        if (rv != 0) {
            node_fail(n, rv);
            return;
        }
        n->handed = run[k - 1].index;
    }
    if (n->handed > handed_before && node_payload_hand_over(n, n->handed) != 0) {
        node_fail(n, CRAFT_ENOMEM);
        return;
    }
    int rv = release_reads(n);
    if (rv != 0) {
        node_fail(n, rv);
    }
}

void node_apply_output(struct node *n, const struct craft_output *out)
{
    if (note_outcomes(n, out) != 0) {
        node_fail(n, CRAFT_ENOMEM);
        return;
    }
    if (out->n_committed > 0) {
        craft_index last = out->committed[out->n_committed - 1].index;
        n->committed = last > n->committed ? last : n->committed;
    }
    for (size_t i = 0; i < out->n_reads; i++) {
        const struct craft_read_result *r = &out->reads[i];
        if (r->status != 0) {
            node_complete(n, r->cookie, r->status, r->index, 0);
        } else if (node_held_push(&n->held_reads, r->index, r->cookie) != 0) {
            node_fail(n, CRAFT_ENOMEM);
            return;
        }
    }
    node_hand_over(n);
}

void node_apply_covered(struct node *n, craft_index index)
{
    /* Whatever waited to be handed over up to index is in the restored state machine: the
     * entries need not go; the results of proposals among them are not known here. */
    struct node_held *h = &n->held_results;
    while (h->n > 0 && h->items[h->head].index <= index) {
        struct node_held_item it = h->items[h->head++];
        h->n--;
        node_complete(n, it.cookie, CRAFT_EUNKNOWN, it.index, 0);
    }
    n->handed = index;
    if (n->committed < index) {
        n->committed = index;
    }
}
