/* The requests of craft/node.h from user threads: each is checked, registered in the request
 * table and queued for the loop; the _wait forms block on a condition variable until the
 * callback has run (and refuse to on a shared loop's thread, which runs that callback). */
#include <string.h>

#include "runtime.h"
#include "util/alloc.h"
#include "util/copy_stats.h"

static int check_open(struct craft_node *n)
{
    if (atomic_load(&n->closing) || atomic_load(&n->fatal)) {
        return CRAFT_ESHUTDOWN;
    }
    return 0;
}

/* Registers req and queues m (whose data it owns from here on). 0: the callback will run. */
static int submit(struct craft_node *n, const struct rt_req *req, struct rt_msg *m)
{
    int rv = check_open(n);
    if (rv != 0) {
        goto fail;
    }
    rv = rt_requests_add(&n->requests, req, &m->cookie);
    if (rv != 0) {
        goto fail;
    }
    rv = rt_queue_push(n, m);
    if (rv != 0) {
        struct rt_req back;
        if (!rt_requests_take(&n->requests, m->cookie, &back)) {
            /* A shutdown ended it meanwhile: its callback has run, so this call succeeded. */
            craft_free(m->data);
            return 0;
        }
        goto fail;
    }
    return 0;
fail:
    craft_free(m->data);
    return rv;
}

static int propose_impl(struct craft_node *n, const void *data, size_t len, craft_result_fn cb,
                       void *arg)
{
    if (n == NULL || cb == NULL || (data == NULL && len > 0)) {
        return CRAFT_EINVAL;
    }
    if (len > n->cfg.entry_bytes_max) {
        return CRAFT_ETOOBIG;
    }
    struct rt_req req = {.kind = RT_REQ_PROPOSE, .cb = cb, .arg = arg};
    struct rt_msg m = {.kind = RT_MSG_PROPOSE, .len = len};
    m.data = craft_malloc(len > 0 ? len : 1);
    if (m.data == NULL) {
        return CRAFT_ENOMEM;
    }
    if (len > 0) {
        memcpy(m.data, data, len);
        copy_stats_add(COPY_PROPOSE, len);
    }
    return submit(n, &req, &m);
}

/* A read whose fn gets fn_arg and whose callback gets cb_arg. */
static int read_submit(struct craft_node *n, int mode, craft_read_fn fn, void *fn_arg,
                       craft_result_fn cb, void *cb_arg)
{
    if (n == NULL || cb == NULL) {
        return CRAFT_EINVAL;
    }
    if (mode != CRAFT_NODE_READ_LINEARIZABLE && mode != CRAFT_NODE_READ_LEASE &&
        mode != CRAFT_NODE_READ_STALE) {
        return CRAFT_EINVAL;
    }
    if (mode == CRAFT_NODE_READ_LEASE && !n->cfg.lease_reads) {
        return CRAFT_EINVAL;
    }
    static_assert((int)CRAFT_NODE_READ_LINEARIZABLE == (int)CRAFT_READ_INDEX &&
                      (int)CRAFT_NODE_READ_LEASE == (int)CRAFT_READ_LEASE &&
                      (int)CRAFT_NODE_READ_STALE == (int)CRAFT_READ_STALE,
                  "the node's read modes are the core's");
    struct rt_req req = {
        .kind = RT_REQ_READ, .cb = cb, .arg = cb_arg, .read_fn = fn, .read_arg = fn_arg};
    struct rt_msg m = {.kind = RT_MSG_READ, .arg = (uint64_t)mode};
    return submit(n, &req, &m);
}

static int read_impl(struct craft_node *n, int mode, craft_read_fn fn, craft_result_fn cb,
                    void *arg)
{
    return read_submit(n, mode, fn, arg, cb, arg);
}

/* Every node a target names is this one or has a known address. */
static bool target_known(struct craft_node *n, const struct craft_membership *t)
{
    struct rt_peer p;
    const craft_id *lists[3] = {t->voters, t->voters_old, t->learners};
    unsigned counts[3] = {t->n_voters, t->n_voters_old, t->n_learners};
    for (unsigned l = 0; l < 3; l++) {
        for (unsigned i = 0; i < counts[l]; i++) {
            if (lists[l][i] != n->cfg.id && !rt_peers_get(n, lists[l][i], &p)) {
                return false;
            }
        }
    }
    return true;
}

static int change_impl(struct craft_node *n, const struct craft_membership *target,
                      craft_result_fn cb, void *arg)
{
    if (n == NULL || target == NULL || cb == NULL) {
        return CRAFT_EINVAL;
    }
    if (target->n_voters > CRAFT_VOTERS_MAX || target->n_voters_old > CRAFT_VOTERS_MAX ||
        target->n_learners > CRAFT_LEARNERS_MAX) {
        return CRAFT_EINVAL;
    }
    if (!target_known(n, target)) {
        RT_LOG(n, CRAFT_LOG_WARN, "change refused: it names a node without a known address "
                                  "(craft_node_add_peer first)");
        return CRAFT_EINVAL;
    }
    struct rt_req req = {.kind = RT_REQ_CHANGE, .cb = cb, .arg = arg};
    struct rt_msg m = {.kind = RT_MSG_CHANGE};
    m.data = craft_malloc(sizeof *target);
    if (m.data == NULL) {
        return CRAFT_ENOMEM;
    }
    memcpy(m.data, target, sizeof *target);
    return submit(n, &req, &m);
}

static int transfer_impl(struct craft_node *n, craft_id target, craft_result_fn cb, void *arg)
{
    if (n == NULL || cb == NULL) {
        return CRAFT_EINVAL;
    }
    struct rt_req req = {.kind = RT_REQ_TRANSFER, .cb = cb, .arg = arg};
    struct rt_msg m = {.kind = RT_MSG_TRANSFER, .arg = target};
    return submit(n, &req, &m);
}

static int snapshot_impl(struct craft_node *n, craft_result_fn cb, void *arg)
{
    if (n == NULL || cb == NULL) {
        return CRAFT_EINVAL;
    }
    struct rt_req req = {.kind = RT_REQ_SNAPSHOT, .cb = cb, .arg = arg};
    struct rt_msg m = {.kind = RT_MSG_SNAPSHOT};
    return submit(n, &req, &m);
}

static int add_peer_impl(struct craft_node *n, const struct craft_peer *peer)
{
    char why[128];
    if (n == NULL || peer == NULL) {
        return CRAFT_EINVAL;
    }
    int rv = check_open(n);
    if (rv != 0) {
        return rv;
    }
    rv = rt_peers_add(n, peer, why, sizeof why);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_WARN, "add_peer: %s", why);
        return rv;
    }
    struct rt_msg m = {.kind = RT_MSG_ADD_PEER, .arg = peer->id};
    rv = rt_queue_push(n, &m);
    if (rv != 0) {
        rt_peers_remove(n, peer->id);
    }
    return rv;
}

/* ---- blocking forms ---- */

struct waiter {
    struct io_mutex mu;
    struct io_cond cond;
    bool done;
    struct craft_result r;
};

static void waiter_init(struct waiter *w)
{
    memset(w, 0, sizeof *w);
    io_mutex_init(&w->mu);
    io_cond_init(&w->cond);
}

static void waiter_done(void *arg, const struct craft_result *r)
{
    struct waiter *w = arg;
    io_mutex_lock(&w->mu);
    w->r = *r;
    w->done = true;
    io_cond_signal(&w->cond);
    io_mutex_unlock(&w->mu);
}

/* A _wait call on a shared loop's thread would wait for that thread: CRAFT_EDEADLOCK instead,
 * before anything is submitted. */
static int wait_allowed(struct craft_node *n)
{
    if (n != NULL && rt_on_loop(n)) {
        RT_LOG(n, CRAFT_LOG_ERROR,
               "a _wait call on the node's loop thread (config.loop) would "
               "never return: use the callback form there");
        return CRAFT_EDEADLOCK;
    }
    return 0;
}

/* Waits for the outcome when rv (the submission's) is 0; fills *r either way. */
static int waiter_finish(struct waiter *w, int rv, struct craft_result *r)
{
    if (rv == 0) {
        io_mutex_lock(&w->mu);
        while (!w->done) {
            io_cond_wait(&w->cond, &w->mu);
        }
        io_mutex_unlock(&w->mu);
    } else {
        memset(&w->r, 0, sizeof w->r);
        w->r.status = rv;
    }
    io_cond_close(&w->cond);
    io_mutex_close(&w->mu);
    if (r != NULL) {
        *r = w->r;
    }
    return w->r.status;
}

int craft_node_propose_wait(struct craft_node *n, const void *data, size_t len,
                            struct craft_result *r)
{
    struct waiter w;
    waiter_init(&w);
    int rv = wait_allowed(n);
    return waiter_finish(&w, rv != 0 ? rv : craft_node_propose(n, data, len, waiter_done, &w), r);
}

int craft_node_read_wait(struct craft_node *n, int mode, craft_read_fn fn, void *arg,
                         struct craft_result *r)
{
    struct waiter w;
    waiter_init(&w);
    int rv = wait_allowed(n);
    return waiter_finish(&w, rv != 0 ? rv : read_submit(n, mode, fn, arg, waiter_done, &w), r);
}

int craft_node_change_wait(struct craft_node *n, const struct craft_membership *target,
                           struct craft_result *r)
{
    struct waiter w;
    waiter_init(&w);
    int rv = wait_allowed(n);
    return waiter_finish(&w, rv != 0 ? rv : craft_node_change(n, target, waiter_done, &w), r);
}

int craft_node_transfer_wait(struct craft_node *n, craft_id target, struct craft_result *r)
{
    struct waiter w;
    waiter_init(&w);
    int rv = wait_allowed(n);
    return waiter_finish(&w, rv != 0 ? rv : craft_node_transfer(n, target, waiter_done, &w), r);
}

int craft_node_snapshot_wait(struct craft_node *n, struct craft_result *r)
{
    struct waiter w;
    waiter_init(&w);
    int rv = wait_allowed(n);
    return waiter_finish(&w, rv != 0 ? rv : craft_node_snapshot(n, waiter_done, &w), r);
}

/* The public entry points run under the node's allocator (its memory, whichever thread calls). */
#define UNDER_NODE_ALLOCATOR(n, call)                                                              \
    do {                                                                                           \
        const struct craft_allocator *prev_ = alloc_use((n) != NULL ? (n)->cfg.allocator : NULL); \
        int rv_ = (call);                                                                          \
        (void)alloc_use(prev_);                                                                    \
        return rv_;                                                                                \
    } while (0)

int craft_node_propose(struct craft_node *n, const void *data, size_t len, craft_result_fn cb,
                       void *arg)
{
    UNDER_NODE_ALLOCATOR(n, propose_impl(n, data, len, cb, arg));
}

int craft_node_read(struct craft_node *n, int mode, craft_read_fn fn, craft_result_fn cb,
                    void *arg)
{
    UNDER_NODE_ALLOCATOR(n, read_impl(n, mode, fn, cb, arg));
}

int craft_node_change(struct craft_node *n, const struct craft_membership *target,
                      craft_result_fn cb, void *arg)
{
    UNDER_NODE_ALLOCATOR(n, change_impl(n, target, cb, arg));
}

int craft_node_transfer(struct craft_node *n, craft_id target, craft_result_fn cb, void *arg)
{
    UNDER_NODE_ALLOCATOR(n, transfer_impl(n, target, cb, arg));
}

int craft_node_snapshot(struct craft_node *n, craft_result_fn cb, void *arg)
{
    UNDER_NODE_ALLOCATOR(n, snapshot_impl(n, cb, arg));
}

int craft_node_add_peer(struct craft_node *n, const struct craft_peer *peer)
{
    UNDER_NODE_ALLOCATOR(n, add_peer_impl(n, peer));
}
