/* The apply side: a queue of apply batches (the node's items, copied with their entries' headers
 * into one allocation per submission; the payloads stay in the core's log memory, held by the
 * node's payload ticket until applied), run in order on the apply thread, or on the loop's idle turn
 * without that thread. Proposals complete with the state machine's results, reads run their fn;
 * "applied up to" goes back to the loop once per batch taken. */
#include <string.h>

#include "runtime.h"
#include "util/alloc.h"
#include "util/assert.h"

/* One submission: the items, then their snapshot metas, entries and cookies, in one
 * allocation. */
struct rt_apply_batch {
    struct rt_apply_batch *next;
    size_t n_items;
    struct node_apply_item items[];
};

static bool has_meta(uint32_t kind)
{
    return kind == NODE_APPLY_SNAPSHOT || kind == NODE_APPLY_RESTORE;
}

static size_t align8(size_t x)
{
    return (x + 7u) & ~(size_t)7u;
}

int rt_apply_init(struct craft_node *n)
{
    struct rt_apply *a = &n->apply;
    memset(a, 0, sizeof *a);
    a->threaded = n->cfg.threads.apply;
    io_mutex_init(&a->mu);
    io_cond_init(&a->cond);
    return 0;
}

/* Copies items (and everything they point to) into one batch. */
static struct rt_apply_batch *batch_copy(const struct node_apply_item *items, size_t k)
{
    size_t n_entries = 0;
    for (size_t i = 0; i < k; i++) {
        if (items[i].kind == NODE_APPLY_ENTRIES) {
            n_entries += items[i].n;
        }
    }
    size_t n_metas = 0;
    for (size_t i = 0; i < k; i++) {
        n_metas += has_meta(items[i].kind);
    }
    size_t head = align8(sizeof(struct rt_apply_batch) + k * sizeof(struct node_apply_item));
    head = align8(head + n_metas * sizeof(struct craft_snapshot_meta));
    size_t size = head + n_entries * (sizeof(struct craft_entry) + sizeof(uint64_t));
    struct rt_apply_batch *b = craft_malloc(size);
    if (b == NULL) {
        return NULL;
    }
    b->next = NULL;
    b->n_items = k;
    struct craft_snapshot_meta *metas = (struct craft_snapshot_meta *)(b->items + k);
    struct craft_entry *entries = (struct craft_entry *)((char *)b + head);
    uint64_t *cookies = (uint64_t *)(entries + n_entries);
    for (size_t i = 0; i < k; i++) {
        struct node_apply_item *it = &b->items[i];
        *it = items[i];
        if (has_meta(it->kind)) {
            *metas = *items[i].meta;
            it->meta = metas++;
        }
        if (it->kind != NODE_APPLY_ENTRIES) {
            it->entries = NULL;
            it->cookies = NULL;
            continue;
        }
        for (size_t j = 0; j < it->n; j++) {
            entries[j] = items[i].entries[j]; /* the payload is read in place */
            cookies[j] = items[i].cookies != NULL ? items[i].cookies[j] : 0;
        }
        it->entries = entries;
        it->cookies = cookies;
        entries += it->n;
        cookies += it->n;
    }
    CRAFT_ASSERT((char *)cookies == (char *)b + size);
    return b;
}

int rt_apply_submit(void *ctx, const struct node_apply_item *items, size_t k)
{
    struct craft_node *n = ctx;
    struct rt_apply *a = &n->apply;
    if (k == 0) {
        return 0;
    }
    struct rt_apply_batch *b = batch_copy(items, k);
    if (b == NULL) {
        return CRAFT_ENOMEM;
    }
    io_mutex_lock(&a->mu);
    if (a->tail != NULL) {
        a->tail->next = b;
    } else {
        a->head = b;
    }
    a->tail = b;
    if (a->threaded) {
        io_cond_signal(&a->cond);
    }
    io_mutex_unlock(&a->mu);
    if (!a->threaded) {
        rt_defer(n); /* runs on the next idle turn, never from inside this call */
    }
    return 0;
}

static struct rt_apply_batch *take_all(struct rt_apply *a)
{
    struct rt_apply_batch *b = a->head;
    a->head = NULL;
    a->tail = NULL;
    return b;
}

static void free_batches(struct rt_apply_batch *b)
{
    while (b != NULL) {
        struct rt_apply_batch *next = b->next;
        craft_free(b);
        b = next;
    }
}

/* Applies one run of NORMAL entries and hands each result to its request (or releases it). */
static int apply_run(struct craft_node *n, const struct craft_entry *entries,
                     const uint64_t *cookies, size_t k)
{
    struct rt_apply *a = &n->apply;
    void *grown = a->results;
    if (!craft_grow(&grown, &a->results_cap, k, sizeof a->results[0])) {
        return CRAFT_ENOMEM;
    }
    a->results = grown;
    memset(a->results, 0, k * sizeof a->results[0]);
    int rv = n->fsm.apply(n->fsm_ctx, entries, k, a->results);
    for (size_t i = 0; i < k; i++) {
        void *value = a->results[i];
        if (rv == 0 && cookies[i] != 0) {
            struct craft_result r;
            memset(&r, 0, sizeof r);
            r.index = entries[i].index;
            r.term = entries[i].term;
            r.value = value;
            rt_complete(n, cookies[i], &r); /* releases value when nobody waits */
        } else if (value != NULL && n->fsm.release_result != NULL) {
            n->fsm.release_result(n->fsm_ctx, value);
        }
    }
    return rv;
}

static int apply_entries(struct craft_node *n, const struct node_apply_item *it,
                         craft_index *applied)
{
    size_t i = 0;
    while (i < it->n && it->entries[i].index <= *applied) {
        i++; /* covered by a snapshot restored since it was queued */
    }
    while (i < it->n) {
        if (it->entries[i].type != CRAFT_ENTRY_NORMAL) {
            *applied = it->entries[i].index;
            i++;
            continue;
        }
        size_t j = i;
        while (j < it->n && it->entries[j].type == CRAFT_ENTRY_NORMAL) {
            j++;
        }
        int rv = apply_run(n, &it->entries[i], &it->cookies[i], j - i);
        if (rv != 0) {
            RT_LOG(n, CRAFT_LOG_ERROR, "apply of entries %llu..%llu returned %d",
                   (unsigned long long)it->entries[i].index,
                   (unsigned long long)it->entries[j - 1].index, rv);
            return CRAFT_EIO; /* what the state machine returned is its own code: logged */
        }
        *applied = it->entries[j - 1].index;
        i = j;
    }
    return 0;
}

static void run_read(struct craft_node *n, const struct node_apply_item *it)
{
    struct rt_req req;
    if (!rt_requests_take(&n->requests, it->cookie, &req)) {
        return;
    }
    CRAFT_ASSERT(req.kind == RT_REQ_READ);
    if (req.read_fn != NULL) {
        req.read_fn(req.read_arg, n->fsm_ctx);
    }
    struct craft_result r;
    memset(&r, 0, sizeof r);
    r.index = it->index;
    req.cb(req.arg, &r);
}

/* Saves the snapshot item's state (the state machine holds exactly its entries, unless a
 * restore since put it past them: then the save is moot) and reports to the loop. */
static void save_snapshot(struct craft_node *n, const struct craft_snapshot_meta *meta,
                          craft_index applied)
{
    int rv = CRAFT_ESTALE;
    if (applied == meta->index && n->fsm.snapshot_begin != NULL) {
        rv = rt_builder_save(n, meta);
        if (rv == 0) {
            return; /* the snapshot thread reports */
        }
    } else if (applied == meta->index) {
        rv = rt_snapshot_save(n, meta);
    }
    rt_snapshot_saved(n, meta, rv);
}

void rt_snapshot_saved(struct craft_node *n, const struct craft_snapshot_meta *meta, int rv)
{
    io_mutex_lock(&n->wake_mu);
    n->snap_saved = *meta;
    n->snap_saved_rv = rv;
    n->snap_saved_due = true;
    rt_wake_locked(n);
    io_mutex_unlock(&n->wake_mu);
}

/* A received snapshot replaces the state machine (unless a newer restore already did). */
static int restore(struct craft_node *n, const struct craft_snapshot_meta *meta,
                   craft_index *applied)
{
    if (meta->index <= *applied) {
        return 0;
    }
    craft_index restored;
    int rv = rt_snapshot_restore_received(n, meta, &restored);
    if (rv != 0) {
        return rv;
    }
    *applied = restored;
    return 0;
}

/* Runs and frees the batches; *applied rises to the last entry applied. */
static int run_batches(struct craft_node *n, struct rt_apply_batch *b, craft_index *applied)
{
    int rv = 0;
    while (b != NULL) {
        struct rt_apply_batch *next = b->next;
        for (size_t i = 0; i < b->n_items && rv == 0; i++) {
            const struct node_apply_item *it = &b->items[i];
            if (it->kind == NODE_APPLY_ENTRIES) {
                rv = apply_entries(n, it, applied);
            } else if (it->kind == NODE_APPLY_SNAPSHOT) {
                save_snapshot(n, it->meta, *applied);
            } else if (it->kind == NODE_APPLY_RESTORE) {
                rv = restore(n, it->meta, applied);
            } else {
                CRAFT_ASSERT(it->kind == NODE_APPLY_READ);
                run_read(n, it);
            }
        }
        craft_free(b);
        b = next;
    }
    return rv;
}

static void *apply_main(void *arg)
{
    struct craft_node *n = arg;
    struct rt_apply *a = &n->apply;
    craft_index applied = a->applied_base;
    bool failed = false;
    for (;;) {
        io_mutex_lock(&a->mu);
        while (a->head == NULL && !a->stop) {
            io_cond_wait(&a->cond, &a->mu);
        }
        if (a->stop) {
            io_mutex_unlock(&a->mu);
            return NULL;
        }
        struct rt_apply_batch *b = take_all(a);
        io_mutex_unlock(&a->mu);
        if (failed) {
            free_batches(b);
            continue;
        }
        craft_index before = applied;
        int rv = run_batches(n, b, &applied);
        io_mutex_lock(&n->wake_mu);
        if (rv != 0) {
            failed = true;
            n->apply_status = rv;
        } else if (applied > before) {
            n->applied = applied;
        }
        if (rv != 0 || applied > before) {
            rt_wake_locked(n);
        }
        io_mutex_unlock(&n->wake_mu);
    }
}

int rt_apply_start(struct craft_node *n)
{
    struct rt_apply *a = &n->apply;
    if (!a->threaded) {
        return 0;
    }
    int rv = io_thread_start(&a->thread, apply_main, n);
    if (rv == 0) {
        a->started = true;
    }
    return rv;
}

void rt_apply_run_inline(struct craft_node *n)
{
    struct rt_apply *a = &n->apply;
    io_mutex_lock(&a->mu);
    struct rt_apply_batch *b = take_all(a);
    io_mutex_unlock(&a->mu);
    if (b == NULL) {
        return;
    }
    craft_index applied = n->applied_done;
    int rv = run_batches(n, b, &applied);
    if (rv != 0) {
        rt_fatal(n, 0, "the state machine failed to apply a committed entry");
        return;
    }
    if (applied > n->applied_done && !n->node_dead) {
        n->applied_done = applied;
        node_on_applied(n->node, applied);
    }
}

bool rt_apply_pending(struct craft_node *n)
{
    io_mutex_lock(&n->apply.mu);
    bool pending = n->apply.head != NULL;
    io_mutex_unlock(&n->apply.mu);
    return pending;
}

void rt_apply_stop(struct craft_node *n)
{
    struct rt_apply *a = &n->apply;
    if (!a->started) {
        return;
    }
    io_mutex_lock(&a->mu);
    a->stop = true;
    io_cond_signal(&a->cond);
    io_mutex_unlock(&a->mu);
    io_thread_join(&a->thread);
    a->started = false;
}

void rt_apply_close(struct craft_node *n)
{
    struct rt_apply *a = &n->apply;
    CRAFT_ASSERT(!a->started);
    free_batches(take_all(a));
    craft_free(a->results);
    io_cond_close(&a->cond);
    io_mutex_close(&a->mu);
}
