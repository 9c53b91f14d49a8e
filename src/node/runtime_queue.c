/* The bounded queue of user requests to the loop: any thread pushes (one wake-up when the queue
 * turns non-empty), the loop takes the whole queue per wake-up and hands it to the node. A shared
 * loop's own thread pushes without a wake-up: its requests go after the turn's I/O. */
#include <string.h>

#include "runtime.h"
#include "util/alloc.h"
#include "util/assert.h"

int rt_queue_init(struct rt_queue *q)
{
    memset(q, 0, sizeof *q);
    q->back = craft_calloc(RT_QUEUE_MAX, sizeof q->back[0]);
    q->front = craft_calloc(RT_QUEUE_MAX, sizeof q->front[0]);
    q->cookies = craft_calloc(RT_QUEUE_MAX, sizeof q->cookies[0]);
    q->cmds = craft_calloc(RT_QUEUE_MAX, sizeof q->cmds[0]);
    if (q->back == NULL || q->front == NULL || q->cookies == NULL || q->cmds == NULL) {
        craft_free(q->back);
        craft_free(q->front);
        craft_free(q->cookies);
        craft_free(q->cmds);
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
    craft_free(q->cookies);
    craft_free(q->cmds);
    io_mutex_close(&q->mu);
}

int rt_queue_push(struct craft_node *n, const struct rt_msg *m)
{
    struct rt_queue *q = &n->queue;
    /* On a shared loop's thread the loop itself takes the request later in this turn: no wake-up
     * (the lock below is then uncontended but for other threads' pushes, and keeps one FIFO for
     * all of them). It is handed over from the check handle, after this turn's I/O, or from the
     * idle handle, started so that the loop's poll does not block first; never from inside the
     * call that made the request, so its callback never runs there. */
    bool local = rt_on_loop(n);
    int rv = 0;
    io_mutex_lock(&q->mu);
    if (q->closed) {
        rv = CRAFT_ESHUTDOWN;
    } else if (q->n_back == RT_QUEUE_MAX) {
        rv = CRAFT_EBUSY;
    } else {
        q->back[q->n_back++] = *m;
        if (local) {
            n->loop_kick = true;
        } else if (q->n_back == 1) {
            /* The loop drains the whole queue per wake-up: wake it when it turns non-empty. The
             * async handle outlives the queue's open state (closed under this mutex first). */
            uv_async_send(&n->wake);
        }
    }
    io_mutex_unlock(&q->mu);
    if (local && rv == 0) {
        rt_defer(n);
    }
    return rv;
}

static void free_msg(struct rt_msg *m)
{
    craft_free(m->data);
    m->data = NULL;
}

/* Hands m (not a proposal) to the node; next is the message after it in the batch, if any. */
static void hand_to_node(struct craft_node *n, struct rt_msg *m, const struct rt_msg *next)
{
    switch (m->kind) {
    case RT_MSG_READ: {
        /* Reads queued together share one heartbeat round: each but the last says more follow
         * (only linearizable reads wait for a round). */
        bool more = next != NULL && next->kind == RT_MSG_READ &&
                    next->arg == (uint64_t)CRAFT_NODE_READ_LINEARIZABLE;
        (void)node_read(n->node, m->cookie, (int)m->arg, more); /* a refusal completes it */
        break;
    }
    case RT_MSG_CHANGE:
        (void)node_change(n->node, m->cookie, m->data);
        break;
    case RT_MSG_TRANSFER:
        (void)node_transfer(n->node, m->cookie, (craft_id)m->arg);
        break;
    case RT_MSG_ADD_PEER:
        rt_transport_add_peer(n, (craft_id)m->arg);
        break;
    case RT_MSG_SNAPSHOT:
        (void)node_snapshot(n->node, m->cookie);
        break;
    default:
        CRAFT_ASSERT(false);
    }
}

/* Proposes batch[0..k) (all proposals) in one step of the core. */
static void propose_run(struct craft_node *n, const struct rt_msg *batch, size_t k)
{
    struct rt_queue *q = &n->queue;
    for (size_t i = 0; i < k; i++) {
        CRAFT_ASSERT(batch[i].kind == RT_MSG_PROPOSE);
        q->cookies[i] = batch[i].cookie;
        q->cmds[i].base = batch[i].data;
        q->cmds[i].len = batch[i].len;
    }
    (void)node_propose(n->node, q->cookies, q->cmds, k); /* the core copies the bytes */
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
        size_t i = 0;
        while (i < k) {
            if (closing || n->node_dead) {
                fail_msg(n, &batch[i], CRAFT_ESHUTDOWN);
                i++;
                continue;
            }
            if (batch[i].kind != RT_MSG_PROPOSE) {
                hand_to_node(n, &batch[i], i + 1 < k ? &batch[i + 1] : NULL);
                i++;
                continue;
            }
            /* Consecutive proposals go to the core as one batch. */
            size_t j = i;
            while (j < k && batch[j].kind == RT_MSG_PROPOSE) {
                j++;
            }
            propose_run(n, &batch[i], j - i);
            i = j;
        }
        for (i = 0; i < k; i++) {
            free_msg(&batch[i]);
        }
        if (!closing) {
            /* What arrived while this batch ran waits for its own wake-up (it sent one). */
            return;
        }
    }
}
