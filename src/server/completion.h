/* Outcomes crossing from the node's threads to the server's loop: an intrusive queue under a
 * mutex (pushing never allocates, so it cannot fail) and one uv_async_send per batch, sent only
 * when the queue was empty. */
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

struct completion_queue {
    pthread_mutex_t mu;
    struct completion *head, *tail;
    uv_async_t *wake; /* borrowed: the loop's async handle */
};

void completion_queue_init(struct completion_queue *q, uv_async_t *wake);
void completion_queue_close(struct completion_queue *q);
/* Records r into c and queues it; wakes the loop if the queue was empty. Any thread. */
void completion_push(struct completion_queue *q, struct completion *c,
                     const struct craft_result *r);
/* Takes every queued completion, oldest first (a list linked by next). Loop thread. */
struct completion *completion_take_all(struct completion_queue *q);

#endif
