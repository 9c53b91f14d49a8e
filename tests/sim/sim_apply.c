#include "sim_apply.h"

#include <inttypes.h>
#include <string.h>

#include "node/node.h"
#include "sim_cluster.h"
#include "sim_mem.h"

struct sim_apply_item {
    struct sim_apply_item *next;
    uint32_t kind;
    struct craft_entry *entries; /* with cookies and bytes after them, one block */
    uint64_t *cookies;
    size_t n;
    uint64_t cookie;
    craft_index index;
    struct craft_snapshot_meta meta; /* NODE_APPLY_SNAPSHOT and _RESTORE */
};

/* Copies the item but for its entries' payloads, which the node keeps in place until they are
 * applied (zero-copy, craft_core_payload_ticket): the apply reads them there, and a payload
 * reused too early fails the apply checks (the cores poison reused memory in the simulator). */
static struct sim_apply_item *copy_item(const struct node_apply_item *it)
{
    size_t n = it->kind == NODE_APPLY_ENTRIES ? it->n : 0;
    struct sim_apply_item *q =
        sim_xcalloc(1, sizeof *q + n * (sizeof(struct craft_entry) + sizeof(uint64_t)));
    q->kind = it->kind;
    q->cookie = it->cookie;
    q->index = it->index;
    if (it->kind == NODE_APPLY_SNAPSHOT || it->kind == NODE_APPLY_RESTORE) {
        q->meta = *it->meta;
    }
    q->n = n;
    q->entries = (struct craft_entry *)(q + 1);
    q->cookies = (uint64_t *)(q->entries + n);
    for (size_t i = 0; i < n; i++) {
        q->entries[i] = it->entries[i];
        q->cookies[i] = it->cookies[i];
    }
    return q;
}

static void run_entries(struct sim_cluster *c, struct sim_node *n, const struct craft_entry *ents,
                        const uint64_t *cookies, size_t k)
{
    for (size_t i = 0; i < k && !sim_checks_failed(&c->checks); i++) {
        const struct craft_entry *e = &ents[i];
        if (e->index <= n->apply_floor) {
            continue; /* a newer snapshot than its item was restored (sim_snap_restore) */
        }
        sim_checks_apply(&c->checks, n, e);
        sim_outcomes_check_result(c, n, e, cookies[i]);
        sim_kv_apply(c, n, e, cookies[i]);
        if (c->healed && e->data.len > 0 && ((const char *)e->data.base)[0] == 'h') {
            n->applied_new = true;
        }
    }
    if (c->p.sm_flush_ppm > 0 && prng_chance(&c->rng_sm, c->p.sm_flush_ppm)) {
        n->sm_durable_applied = n->applied;
    }
    n->applied_in_call = true;
    sim_trace_add(&c->trace, c->now_us, SIM_TR_APPLY, (uint32_t)n->id, ents[0].index,
                  ents[k - 1].index, 0);
}

static void run_read(struct sim_cluster *c, struct sim_node *n, uint64_t cookie,
                     craft_index index)
{
    if (n->applied < index) {
        sim_checks_fail(&c->checks, n->id, "read_run_early",
                        "n%" PRIu64 " runs read %" PRIu64 " at index %" PRIu64
                        " with its state machine at %" PRIu64,
                        n->id, cookie, index, n->applied);
    }
    (void)sim_kv_run_read(c, n, cookie);
}

int sim_apply_submit(struct sim_cluster *c, struct sim_node *n,
                     const struct node_apply_item *items, size_t k)
{
    if (c->p.apply_us_max == 0) {
        for (size_t i = 0; i < k; i++) {
            const struct node_apply_item *it = &items[i];
            if (it->kind == NODE_APPLY_ENTRIES) {
                run_entries(c, n, it->entries, it->cookies, it->n);
            } else if (it->kind == NODE_APPLY_SNAPSHOT) {
                sim_snap_save(c, n, it->meta);
            } else if (it->kind == NODE_APPLY_RESTORE) {
                sim_snap_restore(c, n, it->meta);
            } else {
                run_read(c, n, it->cookie, it->index);
            }
        }
        return 0;
    }
    struct sim_apply_queue *q = &n->apply_q;
    bool idle = q->head == NULL;
    for (size_t i = 0; i < k; i++) {
        struct sim_apply_item *copy = copy_item(&items[i]);
        if (q->tail == NULL) {
            q->head = copy;
        } else {
            q->tail->next = copy;
        }
        q->tail = copy;
    }
    if (idle) {
        uint64_t delay = prng_below(&c->rng_sm, (uint64_t)c->p.apply_us_max + 1);
        sim_heap_push(&c->heap, c->now_us + delay, SIM_EV_APPLY, (uint32_t)n->id, n->epoch, NULL);
    }
    return 0;
}

void sim_apply_on_event(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_node *n = &c->nodes[ev->node];
    if (!n->up || ev->arg != n->epoch) {
        return;
    }
    /* One batch: what is queued now; items queued while it runs (none: the node hears of this
     * batch only after it) form the next. */
    struct sim_apply_item *it = n->apply_q.head;
    n->apply_q.head = NULL;
    n->apply_q.tail = NULL;
    craft_index applied_before = n->applied;
    while (it != NULL) {
        struct sim_apply_item *next = it->next;
        if (!n->up || n->epoch != ev->arg) {
            craft_free(it); /* the node stopped during this batch */
            it = next;
            continue;
        }
        if (it->kind == NODE_APPLY_READ) {
            run_read(c, n, it->cookie, it->index);
        } else if (it->kind == NODE_APPLY_SNAPSHOT) {
            sim_snap_save(c, n, &it->meta);
        } else if (it->kind == NODE_APPLY_RESTORE) {
            sim_snap_restore(c, n, &it->meta);
        } else if (it->n > 0) {
            run_entries(c, n, it->entries, it->cookies, it->n);
        }
        craft_free(it);
        it = next;
    }
    if (n->up && n->epoch == ev->arg) {
        sim_cluster_after_call(c, n, applied_before, CRAFT_IN_APPLIED);
    }
}

void sim_apply_crash(struct sim_node *n)
{
    struct sim_apply_item *it = n->apply_q.head;
    while (it != NULL) {
        struct sim_apply_item *next = it->next;
        craft_free(it);
        it = next;
    }
    n->apply_q.head = NULL;
    n->apply_q.tail = NULL;
}
