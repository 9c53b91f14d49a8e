/* Outcomes of the node's requests, to the server's loop. The node runs on that loop (craft_node
 * config.loop), so most outcomes arrive on the loop's thread already and are handed on at once
 * (completion_queue_direct); those from another thread (the node's log writer or apply thread,
 * or any outcome while direct hand-over is off) cross in an intrusive queue under a mutex
 * (pushing never allocates, so it cannot fail) with one uv_async_send per batch, sent only when
 * the queue was empty. */
#ifndef CRAFT_SERVER_COMPLETION_H
#define CRAFT_SERVER_COMPLETION_H

#include <pthread.h>
#include <uv.h>

#include "craft/node.h"

enum completion_what {
    COMPLETION_DATA = 1, /* a request's proposal or read */
    COMPLETION_ADMIN,    /* a request's membership change or transfer */
    COMPLETION_ADVERTISE, /* the server's raft.advertise proposal */
    COMPLETION_PROMOTE,   /* the server's promotion of a caught-up learner */
};

/* Embedded in whatever waits for the outcome (a request, the server); one outstanding call
 * each. Between push and take the queue owns the link; value is then the receiver's. */
struct completion {
    struct completion *next;
    int what; /* enum completion_what */
    int status;
    void *value;
    craft_index index;
    craft_id leader;
    char leader_address[CRAFT_ADDRESS_MAX];
};

typedef void (*completion_fn)(void *ctx, struct completion *c);

struct completion_queue {
    pthread_mutex_t mu;
    struct completion *head, *tail;
    uv_async_t *wake; /* borrowed: the loop's async handle */
    /* Direct hand-over on the loop's thread (loop thread only): */
    uv_thread_t loop_tid;
    completion_fn dispatch; /* NULL: everything goes through the queue */
    void *dispatch_ctx;
};

void completion_queue_init(struct completion_queue *q, uv_async_t *wake);
/* From now on (fn not NULL) an outcome pushed on the calling thread, which must be the loop's,
 * goes straight to fn(ctx, c) instead of the queue; fn NULL turns that off again (e.g. while
 * the node is destroyed, whose outcomes the server then takes from the queue). Loop thread. */
void completion_queue_direct(struct completion_queue *q, completion_fn fn, void *ctx);
void completion_queue_close(struct completion_queue *q);
/* Records r into c; on the loop's thread with direct hand-over on, hands c to the dispatch
 * function before returning; else queues it and wakes the loop if the queue was empty. Any
 * thread. */
void completion_push(struct completion_queue *q, struct completion *c,
                     const struct craft_result *r);
/* Takes every queued completion, oldest first (a list linked by next). Loop thread. */
struct completion *completion_take_all(struct completion_queue *q);

#endif
