/* The request table: cookie -> the user's callback, from submission to the one outcome. A cookie
 * is (generation << 32 | slot + 1), so the cookie of a request that ended finds nothing. */
#include <string.h>

#include "runtime.h"
#include "util/alloc.h"
#include "util/assert.h"

struct rt_slot {
    struct rt_req req;
    uint32_t gen;
    bool used;
    uint32_t next_free; /* slot index + 1 */
};

void rt_requests_init(struct rt_requests *t)
{
    memset(t, 0, sizeof *t);
    io_mutex_init(&t->mu);
}

void rt_requests_close(struct rt_requests *t)
{
    CRAFT_ASSERT(t->n_used == 0);
    craft_free(t->slots);
    io_mutex_close(&t->mu);
}

static int grow(struct rt_requests *t)
{
    size_t old = t->cap;
    void *slots = t->slots;
    if (old >= RT_PENDING_MAX) {
        return CRAFT_EBUSY;
    }
    if (!craft_grow(&slots, &t->cap, old + 1, sizeof t->slots[0])) {
        return CRAFT_ENOMEM;
    }
    t->slots = slots;
    if (t->cap > RT_PENDING_MAX) {
        t->cap = RT_PENDING_MAX;
    }
    /* New slots join the free list, lowest first. */
    for (size_t i = t->cap; i > old; i--) {
        memset(&t->slots[i - 1], 0, sizeof t->slots[0]);
        t->slots[i - 1].next_free = t->free_head;
        t->free_head = (uint32_t)i;
    }
    return 0;
}

int rt_requests_add(struct rt_requests *t, const struct rt_req *req, uint64_t *cookie)
{
    int rv = 0;
    io_mutex_lock(&t->mu);
    if (t->free_head == 0) {
        rv = grow(t);
        if (rv != 0) {
            goto out;
        }
    }
    uint32_t i = t->free_head - 1;
    struct rt_slot *s = &t->slots[i];
    CRAFT_ASSERT(!s->used);
    t->free_head = s->next_free;
    s->used = true;
    s->gen++;
    s->req = *req;
    t->n_used++;
    *cookie = ((uint64_t)s->gen << 32) | (uint64_t)(i + 1);
    CRAFT_ASSERT(*cookie != 0);
out:
    io_mutex_unlock(&t->mu);
    return rv;
}

bool rt_requests_take(struct rt_requests *t, uint64_t cookie, struct rt_req *out)
{
    uint64_t i = (cookie & UINT32_MAX);
    uint32_t gen = (uint32_t)(cookie >> 32);
    bool found = false;

    io_mutex_lock(&t->mu);
    if (i >= 1 && i <= t->cap) {
        struct rt_slot *s = &t->slots[i - 1];
        if (s->used && s->gen == gen) {
            *out = s->req;
            s->used = false;
            s->next_free = t->free_head;
            t->free_head = (uint32_t)i;
            CRAFT_ASSERT(t->n_used > 0);
            t->n_used--;
            found = true;
        }
    }
    io_mutex_unlock(&t->mu);
    return found;
}

void rt_requests_fail_all(struct rt_requests *t, int status)
{
    struct craft_result r;
    memset(&r, 0, sizeof r);
    r.status = status;
    size_t next = 0; /* slots before it are free (new requests are refused meanwhile) */
    for (;;) {
        struct rt_req req;
        bool found = false;
        io_mutex_lock(&t->mu);
        for (size_t i = next; i < t->cap && t->n_used > 0; i++) {
            struct rt_slot *s = &t->slots[i];
            next = i;
            if (s->used) {
                req = s->req;
                s->used = false;
                s->next_free = t->free_head;
                t->free_head = (uint32_t)(i + 1);
                t->n_used--;
                found = true;
                break;
            }
        }
        io_mutex_unlock(&t->mu);
        if (!found) {
            return;
        }
        /* Outside the lock: the callback may submit (and get CRAFT_ESHUTDOWN). */
        req.cb(req.arg, &r);
    }
}

size_t rt_requests_count(struct rt_requests *t)
{
    io_mutex_lock(&t->mu);
    size_t n = t->n_used;
    io_mutex_unlock(&t->mu);
    return n;
}

void rt_complete(struct craft_node *n, uint64_t cookie, const struct craft_result *r)
{
    struct rt_req req;
    if (!rt_requests_take(&n->requests, cookie, &req)) {
        /* Ended already (shutdown or a fatal stop failed it): nobody takes the result. */
        if (r->value != NULL && n->fsm.release_result != NULL) {
            n->fsm.release_result(n->fsm_ctx, r->value);
        }
        return;
    }
    if (req.kind == RT_REQ_SNAPSHOT && r->status == 0) {
        /* On the loop, where snapshots end: craft_node_status shows it once the caller hears. */
        rt_status_refresh(n);
    }
    if (r->status == CRAFT_ENOTLEADER && r->leader != CRAFT_ID_NONE &&
        r->leader_address[0] == '\0') {
        struct craft_result copy = *r;
        rt_peers_address(n, r->leader, copy.leader_address);
        req.cb(req.arg, &copy);
        return;
    }
    req.cb(req.arg, r);
}

void rt_complete_env(void *ctx, uint64_t cookie, const struct craft_result *r)
{
    rt_complete(ctx, cookie, r);
}
