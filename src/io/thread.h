/* Threads, mutexes and condition variables: thin wrappers over POSIX threads, so the layers above
 * name one interface (and deadlines use the monotonic clock). Failures to create or lock are
 * programmer or resource errors: create returns an error, the rest assert. */
#ifndef CRAFT_IO_THREAD_H
#define CRAFT_IO_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "craft/errors.h"

struct io_thread {
    pthread_t tid;
};

struct io_mutex {
    pthread_mutex_t m;
};

struct io_cond {
    pthread_cond_t c; /* waits measure time on CLOCK_MONOTONIC */
};

/* Starts fn(arg) on a new thread. Returns 0 or CRAFT_ENOMEM (no resources for a thread). */
CRAFT_MUST_CHECK int io_thread_start(struct io_thread *t, void *(*fn)(void *), void *arg);
void io_thread_join(struct io_thread *t);

void io_mutex_init(struct io_mutex *m);
void io_mutex_close(struct io_mutex *m);
void io_mutex_lock(struct io_mutex *m);
void io_mutex_unlock(struct io_mutex *m);

void io_cond_init(struct io_cond *c);
void io_cond_close(struct io_cond *c);
void io_cond_wait(struct io_cond *c, struct io_mutex *m);
/* Waits until signalled or until the monotonic clock passes deadline_ns; false on timeout. */
bool io_cond_wait_until(struct io_cond *c, struct io_mutex *m, uint64_t deadline_ns);
void io_cond_signal(struct io_cond *c);
void io_cond_broadcast(struct io_cond *c);

/* The monotonic clock in nanoseconds. */
uint64_t io_monotonic_ns(void);

#endif
