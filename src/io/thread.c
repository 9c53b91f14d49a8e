/* POSIX threads behind the io thread interface. */
#include "thread.h"

#include <errno.h>
#include <time.h>

#include "util/alloc.h"
#include "util/assert.h"

/* What a new thread needs before it runs fn: its creator's allocator. */
struct thread_start {
    void *(*fn)(void *);
    void *arg;
    const struct craft_allocator *alloc;
};

static void *thread_main(void *p)
{
    struct thread_start s = *(struct thread_start *)p;
    (void)alloc_use(s.alloc);
    craft_free(p); /* allocated under the same allocator */
    return s.fn(s.arg);
}

int io_thread_start(struct io_thread *t, void *(*fn)(void *), void *arg)
{
    struct thread_start *s = craft_malloc(sizeof *s);
    if (s == NULL) {
        return CRAFT_ENOMEM;
    }
    s->fn = fn;
    s->arg = arg;
    s->alloc = alloc_current();
    if (pthread_create(&t->tid, NULL, thread_main, s) != 0) {
        craft_free(s);
        return CRAFT_ENOMEM;
    }
    return 0;
}

void io_thread_join(struct io_thread *t)
{
    int rv = pthread_join(t->tid, NULL);
    CRAFT_ASSERT(rv == 0);
}

void io_mutex_init(struct io_mutex *m)
{
    int rv = pthread_mutex_init(&m->m, NULL);
    CRAFT_ASSERT(rv == 0);
}

void io_mutex_close(struct io_mutex *m)
{
    int rv = pthread_mutex_destroy(&m->m);
    CRAFT_ASSERT(rv == 0);
}

void io_mutex_lock(struct io_mutex *m)
{
    int rv = pthread_mutex_lock(&m->m);
    CRAFT_ASSERT(rv == 0);
}

void io_mutex_unlock(struct io_mutex *m)
{
    int rv = pthread_mutex_unlock(&m->m);
    CRAFT_ASSERT(rv == 0);
}

void io_cond_init(struct io_cond *c)
{
    pthread_condattr_t attr;
    int rv = pthread_condattr_init(&attr);
    CRAFT_ASSERT(rv == 0);
    rv = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    CRAFT_ASSERT(rv == 0);
    rv = pthread_cond_init(&c->c, &attr);
    CRAFT_ASSERT(rv == 0);
    pthread_condattr_destroy(&attr);
}

void io_cond_close(struct io_cond *c)
{
    int rv = pthread_cond_destroy(&c->c);
    CRAFT_ASSERT(rv == 0);
}

void io_cond_wait(struct io_cond *c, struct io_mutex *m)
{
    int rv = pthread_cond_wait(&c->c, &m->m);
    CRAFT_ASSERT(rv == 0);
}

bool io_cond_wait_until(struct io_cond *c, struct io_mutex *m, uint64_t deadline_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
                          .tv_nsec = (long)(deadline_ns % 1000000000u)};
    int rv = pthread_cond_timedwait(&c->c, &m->m, &ts);
    CRAFT_ASSERT(rv == 0 || rv == ETIMEDOUT);
    return rv == 0;
}

void io_cond_signal(struct io_cond *c)
{
    int rv = pthread_cond_signal(&c->c);
    CRAFT_ASSERT(rv == 0);
}

void io_cond_broadcast(struct io_cond *c)
{
    int rv = pthread_cond_broadcast(&c->c);
    CRAFT_ASSERT(rv == 0);
}

uint64_t io_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
