/* The bounded queue of user requests to the loop: any thread pushes (one wake-up when the queue
 * turns non-empty), the loop takes the whole queue per wake-up and hands it to the node. */
#include <string.h>

#include "runtime.h"
#include "util/alloc.h"
#include "util/assert.h"

int rt_queue_init(struct rt_queue *q)
{
    memset(q, 0, sizeof *q);
    q->back = craft_calloc(RT_QUEUE_MAX, sizeof q->back[0]);
    q->front = craft_calloc(RT_QUEUE_MAX, sizeof q->front[0]);
    if (q->back == NULL || q->front == NULL) {
        craft_free(q->back);
        craft_free(q->front);
        return CRAFT_ENOMEM;
    }
    io_mutex_init(&q->mu);
    return 0;
}

void rt_queue_close(struct rt_queue *q)
{
    CRAFT_ASSERT(q->n_back == 0);
    craft_free(q->back);
    craft_free(q->front);
    io_mutex_close(&q->mu);
}

int rt_queue_push(struct craft_node *n, const struct rt_msg *m)
{
    struct rt_queue *q = &n->queue;
    int rv = 0;
    io_mutex_lock(&q->mu);
    if (q->closed) {
        rv = CRAFT_ESHUTDOWN;
    } else if (q->n_back == RT_QUEUE_MAX) {
        rv = CRAFT_EBUSY;
    } else {
        q->back[q->n_back++] = *m;
        if (q->n_back == 1) {
            /* The loop drains the whole queue per wake-up: wake it when it turns non-empty. The
             * async handle outlives the queue's open state (closed under this mutex first). */
            uv_async_send(&n->wake);
        }
    }
    io_mutex_unlock(&q->mu);
    return rv;
}

static void free_msg(struct rt_msg *m)
{
    craft_free(m->data);
    m->data = NULL;
}

static void hand_to_node(struct craft_node *n, struct rt_msg *m)
{
    switch (m->kind) {
    case RT_MSG_PROPOSE: {
        struct craft_buf cmd = {.base = m->data, .len = m->len};
        node_propose(n->node, m->cookie, &cmd); /* the core copies the bytes */
        break;
    }
    case RT_MSG_READ:
        node_read(n->node, m->cookie, (int)m->arg);
        break;
    case RT_MSG_CHANGE:
        node_change(n->node, m->cookie, m->data);
        break;
    case RT_MSG_TRANSFER:
        node_transfer(n->node, m->cookie, (craft_id)m->arg);
        break;
    case RT_MSG_ADD_PEER:
        rt_net_add_peer(n, (craft_id)m->arg);
        break;
    default:
        CRAFT_ASSERT(false);
    }
}

static void fail_msg(struct craft_node *n, struct rt_msg *m, int status)
{
    if (m->kind == RT_MSG_ADD_PEER) {
        return;
    }
    struct craft_result r;
    memset(&r, 0, sizeof r);
    r.status = status;
    rt_complete(n, m->cookie, &r);
}

void rt_queue_drain(struct craft_node *n, bool closing)
{
    struct rt_queue *q = &n->queue;
    for (;;) {
        io_mutex_lock(&q->mu);
        size_t k = q->n_back;
        struct rt_msg *batch = q->back;
        q->back = q->front;
        q->front = batch;
        q->n_back = 0;
        if (closing) {
            q->closed = true;
        }
        io_mutex_unlock(&q->mu);
        if (k == 0) {
            return;
        }
        for (size_t i = 0; i < k; i++) {
            if (closing || n->node_dead) {
                fail_msg(n, &batch[i], CRAFT_ESHUTDOWN);
            } else {
                hand_to_node(n, &batch[i]);
            }
            free_msg(&batch[i]);
        }
        if (!closing) {
            /* What arrived while this batch ran waits for its own wake-up (it sent one). */
            return;
        }
    }
}
