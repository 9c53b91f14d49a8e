/* Unit tests for the node-to-loop completion queue: outcomes pushed from several threads all
 * arrive, each thread's in its order, with their fields, and a batch costs one wake-up. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/completion.h"

#define THREADS 4
#define PER_THREAD 2000

struct item {
    struct completion ev;
    int thread;
    int seq;
};

struct ctx {
    struct completion_queue q;
    uv_async_t wake;
    struct item items[THREADS][PER_THREAD];
    int next_seq[THREADS];
    int received;
    int wakeups;
    int thread;
};

static void *pusher(void *arg)
{
    struct ctx *c = arg;
    int t = __atomic_fetch_add(&c->thread, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < PER_THREAD; i++) {
        struct craft_result r = {.status = -i, .index = (craft_index)i, .leader = (craft_id)t};
        snprintf(r.leader_address, sizeof r.leader_address, "t%d", t);
        c->items[t][i].thread = t;
        c->items[t][i].seq = i;
        completion_push(&c->q, &c->items[t][i].ev, &r);
    }
    return NULL;
}

static void on_wake(uv_async_t *h)
{
    struct ctx *c = h->data;
    c->wakeups++;
    for (struct completion *e = completion_take_all(&c->q); e != NULL;) {
        struct completion *next = e->next;
        struct item *it = (struct item *)(void *)e;
        assert_int_equal(it->seq, c->next_seq[it->thread]);
        assert_int_equal(e->status, -it->seq);
        assert_int_equal(e->index, (craft_index)it->seq);
        assert_int_equal(e->leader, (craft_id)it->thread);
        c->next_seq[it->thread]++;
        c->received++;
        e = next;
    }
    if (c->received == THREADS * PER_THREAD) {
        uv_stop(h->loop); /* the pushers may still be in their last uv_async_send */
    }
}

static void test_completion_all_arrive_in_order(void **state)
{
    (void)state;
    static struct ctx c;
    memset(&c, 0, sizeof c);
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_async_init(&loop, &c.wake, on_wake);
    c.wake.data = &c;
    completion_queue_init(&c.q, &c.wake);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, pusher, &c), 0);
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* until every outcome arrived */
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    uv_close((uv_handle_t *)&c.wake, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(c.received, THREADS * PER_THREAD);
    /* Wake-ups come per batch, not per outcome. */
    assert_true(c.wakeups <= c.received);
    completion_queue_close(&c.q);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Nothing queued: take_all gives nothing; one push gives exactly it. */
static void test_completion_take_empty_and_one(void **state)
{
    (void)state;
    struct completion_queue q;
    uv_loop_t loop;
    uv_async_t wake;
    uv_loop_init(&loop);
    uv_async_init(&loop, &wake, NULL);
    completion_queue_init(&q, &wake);
    assert_null(completion_take_all(&q));
    struct completion e;
    struct craft_result r = {.status = CRAFT_EUNKNOWN, .leader = 3};
    completion_push(&q, &e, &r);
    struct completion *got = completion_take_all(&q);
    assert_ptr_equal(got, &e);
    assert_null(got->next);
    assert_int_equal(got->status, CRAFT_EUNKNOWN);
    assert_null(completion_take_all(&q));
    completion_queue_close(&q);
    uv_close((uv_handle_t *)&wake, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completion_all_arrive_in_order),
        cmocka_unit_test(test_completion_take_empty_and_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
