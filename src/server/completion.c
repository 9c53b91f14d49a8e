/* The node-to-loop completion queue: see completion.h. */
#include "server/completion.h"

#include <stdbool.h>
#include <string.h>

#include "util/assert.h"

void completion_queue_init(struct completion_queue *q, uv_async_t *wake)
{
    pthread_mutex_init(&q->mu, NULL);
    q->head = NULL;
    q->tail = NULL;
    q->wake = wake;
    q->dispatch = NULL;
    q->dispatch_ctx = NULL;
}

void completion_queue_direct(struct completion_queue *q, completion_fn fn, void *ctx)
{
    q->loop_tid = uv_thread_self();
    q->dispatch = fn;
    q->dispatch_ctx = ctx;
}

void completion_queue_close(struct completion_queue *q)
{
    CRAFT_ASSERT(q->head == NULL);
    pthread_mutex_destroy(&q->mu);
}

void completion_push(struct completion_queue *q, struct completion *c,
                     const struct craft_result *r)
{
    c->next = NULL;
    c->status = r->status;
    c->value = r->value;
    c->index = r->index;
    c->leader = r->leader;
    memcpy(c->leader_address, r->leader_address, sizeof c->leader_address);
    c->leader_address[sizeof c->leader_address - 1] = '\0';
    /* On the loop's thread: no crossing at all. The thread is compared first, so dispatch
     * (the loop's) is read only there. */
    uv_thread_t self = uv_thread_self();
    if (uv_thread_equal(&self, &q->loop_tid) && q->dispatch != NULL) {
        q->dispatch(q->dispatch_ctx, c);
        return;
    }
    pthread_mutex_lock(&q->mu);
    bool was_empty = q->head == NULL;
    if (q->tail != NULL) {
        q->tail->next = c;
    } else {
        q->head = c;
    }
    q->tail = c;
    pthread_mutex_unlock(&q->mu);
    /* One wake-up per batch: the loop takes everything queued when it runs. */
    if (was_empty) {
        uv_async_send(q->wake);
    }
}

struct completion *completion_take_all(struct completion_queue *q)
{
    pthread_mutex_lock(&q->mu);
    struct completion *all = q->head;
    q->head = NULL;
    q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    return all;
}
