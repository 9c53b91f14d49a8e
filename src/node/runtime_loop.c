/* The loop thread: a libuv loop running the transport, the one timer, the node, and the wake-up
 * through which other threads hand it work in batches (user requests, "durable up to", "applied
 * up to", stop). The thread-less layouts' log and apply work runs from an idle handle, so it
 * never runs inside the node's call that submitted it. The loop is the node's own, on a thread
 * of its own, or the application's (config.loop), whose thread then runs all of this and hands
 * its own requests over after each turn's I/O (the check handle) without a wake-up. */
#include <string.h>

#include "runtime.h"
#include "util/alloc.h"
#include "util/assert.h"

static void *loop_main(void *arg);

uint64_t rt_now_ms(void)
{
    return io_monotonic_ns() / 1000000u;
}

/* ---- the node's environment ---- */

static uint64_t env_now_ms(void *ctx)
{
    (void)ctx;
    return rt_now_ms();
}

static void on_timer(uv_timer_t *h)
{
    struct craft_node *n = h->data;
    if (!n->node_dead) {
        node_on_timer(n->node);
    }
}

bool rt_on_loop(struct craft_node *n)
{
    uv_thread_t self = uv_thread_self();
    return n->loop_shared && uv_thread_equal(&self, &n->loop_tid);
}

static void env_timer_arm(void *ctx, uint64_t at_ms)
{
    struct craft_node *n = ctx;
    uint64_t now = rt_now_ms();
    uv_update_time(n->loop);
    int rv = uv_timer_start(&n->timer, on_timer, at_ms > now ? at_ms - now : 0, 0);
    CRAFT_ASSERT(rv == 0);
}

static void env_pre_commit(void *ctx, const struct craft_entry *entries, size_t k)
{
    struct craft_node *n = ctx;
    n->fsm.pre_commit(n->fsm_ctx, entries, k);
}

static void env_rollback(void *ctx, craft_index from)
{
    struct craft_node *n = ctx;
    n->fsm.rollback(n->fsm_ctx, from);
}

/* The node's state changes: role, term and leader into its log, and the status copy. */
static void env_stepped(void *ctx, const struct craft_input *in, int rv,
                        const struct craft_output *out)
{
    struct craft_node *n = ctx;
    (void)in;
    (void)rv;
    for (size_t i = 0; i < out->n_events; i++) {
        const struct craft_event *e = &out->events[i];
        if (e->type == CRAFT_EVENT_ROLE) {
            n->leading = e->role == CRAFT_LEADER;
            n->writer_start_failed = false;
            RT_LOG(n, CRAFT_LOG_INFO, "%s in term %llu, leader %llu",
                   craft_role_name((enum craft_role)e->role), (unsigned long long)e->term,
                   (unsigned long long)e->peer);
        }
    }
    if (out->n_events > 0) {
        /* Role, leader or commit moved: the status copy follows before any outcome of this step
         * reaches a caller, who may look at the status next (else once per loop turn). */
        rt_status_refresh(n);
    }
}

static void env_failed(void *ctx, int rv)
{
    rt_fatal(ctx, rv, "the node stopped");
}

void rt_env_fill(struct craft_node *n, struct node_env *env)
{
    memset(env, 0, sizeof *env);
    env->ctx = n;
    env->now_ms = env_now_ms;
    env->timer_arm = env_timer_arm;
    env->send = rt_transport_send;
    env->log_submit = rt_log_submit;
    env->apply_submit = rt_apply_submit;
    env->complete = rt_complete_env;
    env->pre_commit = n->fsm.pre_commit != NULL ? env_pre_commit : NULL;
    env->rollback = n->fsm.rollback != NULL ? env_rollback : NULL;
    env->stepped = env_stepped;
    env->failed = env_failed;
    env->snapshot_taken = rt_log_snapshot_taken;
    env->snapshot_received = rt_stats_snapshot_received;
    env->send_chunk = rt_transport_send_chunk;
    env->send_ack = rt_transport_send_ack;
}

/* ---- failure ---- */

void rt_fatal(struct craft_node *n, int rv, const char *why)
{
    if (n->node_dead) {
        return;
    }
    n->node_dead = true;
    atomic_store(&n->fatal, true);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_ERROR, "%s (%s): the node has stopped; destroy it", why,
               craft_strerror(rv));
    } else {
        RT_LOG(n, CRAFT_LOG_ERROR, "%s: the node has stopped; destroy it", why);
    }
    uv_timer_stop(&n->timer);
    /* Nothing will end the waiting requests now: end them. */
    rt_requests_fail_all(&n->requests, CRAFT_ESHUTDOWN);
}

/* ---- the deferred work of thread-less layouts ---- */

/* The shared loop's own requests, queued since the last hand-over (runtime_queue.c). */
static void hand_over_kicked(struct craft_node *n)
{
    if (n->loop_kick) {
        n->loop_kick = false;
        rt_queue_drain(n, false);
    }
}

static void on_idle(uv_idle_t *h)
{
    struct craft_node *n = h->data;
    /* On a shared loop the idle handle also runs for requests queued on the loop's thread (by a
     * timer, or a callback of this turn): they go now, and the loop's poll does not block. */
    hand_over_kicked(n);
    if (!n->node_dead && !n->log_plugged && n->writer == NULL) {
        rt_log_run_inline(n);
    }
    if (!n->node_dead && !n->cfg.threads.apply) {
        rt_apply_run_inline(n);
    }
    if (n->node_dead || (!n->inline_sync_due && !rt_apply_pending(n) && !n->loop_kick)) {
        uv_idle_stop(h);
    }
}

void rt_defer(struct craft_node *n)
{
    int rv = uv_idle_start(&n->idle, on_idle);
    CRAFT_ASSERT(rv == 0);
}

/* ---- the status copy, once per loop turn ---- */

static void on_prepare(uv_prepare_t *h)
{
    struct craft_node *n = h->data;
    rt_log_follow_role(n);
    rt_status_refresh(n);
}

/* ---- the messages of this turn, after its I/O ---- */

static void on_check(uv_check_t *h)
{
    struct craft_node *n = h->data;
    rt_net_flush(n);
    /* Requests the shared loop's I/O callbacks made this turn: one batch, in the same turn. */
    hand_over_kicked(n);
}

/* ---- wake-ups from other threads ---- */

void rt_wake_locked(struct craft_node *n)
{
    if (n->wake_open) {
        uv_async_send(&n->wake);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    struct craft_node *n = h->data;
    CRAFT_ASSERT(n->n_handles_open > 0);
    n->n_handles_open--;
    if (n->n_handles_open == 0 && n->free_on_close) {
        /* A shared loop's node: craft_node_destroy freed the rest (node_free). */
        const struct craft_allocator *prev = alloc_use(n->cfg.allocator);
        craft_free(n);
        (void)alloc_use(prev);
    }
}

bool rt_loop_closing(struct craft_node *n)
{
    return n->n_handles_open > 0;
}

/* Fails what is pending, stops the threads, and closes every handle (the loop then ends). On
 * the loop thread, or on the creating thread when create failed. */
static void shut_down(struct craft_node *n)
{
    n->node_dead = true;
    n->loop_kick = false;
    n->n_msgs_in = 0; /* arrived, never to be handled: Raft takes them for lost */
    uv_timer_stop(&n->timer);
    uv_idle_stop(&n->idle);
    rt_apply_stop(n);
    rt_builder_stop(n); /* after the apply thread: no view is handed over any more */
    /* The log store reads payloads in the core's memory until they are durable (zero-copy): it
     * is closed before the node goes. Arrivals from here on are dropped (node_dead). */
    rt_log_close(n);
    if (n->node != NULL) {
        node_destroy(n->node); /* ends the requests it holds with CRAFT_ESHUTDOWN */
        n->node = NULL;
    }
    rt_queue_drain(n, true);
    rt_requests_fail_all(&n->requests, CRAFT_ESHUTDOWN);
    rt_status_refresh(n);
    rt_transport_stop(n);
    io_mutex_lock(&n->wake_mu);
    n->wake_open = false;
    io_mutex_unlock(&n->wake_mu);
    uv_close((uv_handle_t *)&n->timer, on_handle_closed);
    uv_close((uv_handle_t *)&n->idle, on_handle_closed);
    uv_close((uv_handle_t *)&n->prepare, on_handle_closed);
    uv_close((uv_handle_t *)&n->check, on_handle_closed);
    uv_close((uv_handle_t *)&n->wake, on_handle_closed);
}

static void on_wake(uv_async_t *h)
{
    struct craft_node *n = h->data;

    io_mutex_lock(&n->wake_mu);
    bool stop = n->stop_requested;
    uint64_t durable = n->durable_seq;
    int durable_status = n->durable_status;
    craft_index applied = n->applied;
    int apply_status = n->apply_status;
    bool snap_saved_due = n->snap_saved_due;
    int snap_saved_rv = n->snap_saved_rv;
    struct craft_snapshot_meta snap_saved = n->snap_saved;
    n->snap_saved_due = false;
    io_mutex_unlock(&n->wake_mu);

    if (stop) {
        shut_down(n);
        return;
    }
    if (!n->node_dead && durable_status < 0) {
        rt_fatal(n, durable_status, "a log write failed");
    }
    if (!n->node_dead && apply_status < 0) {
        rt_fatal(n, 0, "the state machine failed to apply a committed entry");
    }
    if (!n->node_dead && durable > n->durable_done) {
        n->durable_done = durable;
        node_on_durable(n->node, durable);
    }
    if (!n->node_dead && applied > n->applied_done) {
        n->applied_done = applied;
        node_on_applied(n->node, applied);
    }
    if (!n->node_dead && snap_saved_due) {
        node_on_snapshot_saved(n->node, &snap_saved, snap_saved_rv);
    }
    if (n->transport_plugged) {
        rt_transport_drain(n);
    }
    rt_queue_drain(n, false);
}

int rt_loop_init(struct craft_node *n)
{
    n->msgs_in = craft_calloc(RT_MSGS_BATCH_MAX, sizeof n->msgs_in[0]);
    if (n->msgs_in == NULL) {
        return CRAFT_ENOMEM;
    }
    int rv = 0;
    if (n->cfg.loop != NULL) {
        /* The application's loop, run by this (the creating) thread. */
        n->loop = n->cfg.loop;
        n->loop_shared = true;
        n->loop_tid = uv_thread_self();
    } else {
        n->loop = &n->loop_own;
        rv = uv_loop_init(n->loop);
    }
    if (rv != 0) {
        craft_free(n->msgs_in);
        n->msgs_in = NULL;
        RT_LOG(n, CRAFT_LOG_ERROR, "uv_loop_init: %s", uv_strerror(rv));
        return CRAFT_ENOMEM;
    }
    rv = uv_async_init(n->loop, &n->wake, on_wake);
    CRAFT_ASSERT(rv == 0);
    n->wake.data = n;
    uv_timer_init(n->loop, &n->timer);
    n->timer.data = n;
    uv_idle_init(n->loop, &n->idle);
    n->idle.data = n;
    uv_prepare_init(n->loop, &n->prepare);
    n->prepare.data = n;
    rv = uv_prepare_start(&n->prepare, on_prepare);
    CRAFT_ASSERT(rv == 0);
    /* The status copy should not keep the loop alive by itself. */
    uv_unref((uv_handle_t *)&n->prepare);
    uv_check_init(n->loop, &n->check);
    n->check.data = n;
    rv = uv_check_start(&n->check, on_check);
    CRAFT_ASSERT(rv == 0);
    uv_unref((uv_handle_t *)&n->check);
    n->n_handles_open = 5;
    n->wake_open = true;
    return 0;
}

static void *loop_main(void *arg)
{
    struct craft_node *n = arg;
    uv_run(n->loop, UV_RUN_DEFAULT);
    return NULL;
}

int rt_loop_start(struct craft_node *n)
{
    if (n->loop_shared) {
        return 0; /* the application runs it */
    }
    int rv = io_thread_start(&n->loop_thread, loop_main, n);
    if (rv != 0) {
        return rv;
    }
    n->loop_started = true;
    return 0;
}

static void close_loop(struct craft_node *n)
{
    CRAFT_ASSERT(n->n_handles_open == 0);
    int rv = uv_loop_close(n->loop);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_ERROR, "uv_loop_close: %s (a handle is still open)", uv_strerror(rv));
    }
    CRAFT_ASSERT(rv == 0);
}

void rt_loop_stop(struct craft_node *n)
{
    if (n->loop_shared) {
        /* Everything but the handles' closing happens now, on the loop's thread; the caller's
         * loop runs their close callbacks (the last frees the node: node_free). */
        CRAFT_ASSERT(rt_on_loop(n));
        shut_down(n);
        return;
    }
    CRAFT_ASSERT(n->loop_started);
    io_mutex_lock(&n->wake_mu);
    n->stop_requested = true;
    rt_wake_locked(n);
    io_mutex_unlock(&n->wake_mu);
    io_thread_join(&n->loop_thread);
    n->loop_started = false;
    close_loop(n);
}

void rt_loop_abandon(struct craft_node *n)
{
    CRAFT_ASSERT(!n->loop_started);
    shut_down(n);
    if (n->loop_shared) {
        return; /* as rt_loop_stop: the caller's loop closes the handles */
    }
    uv_run(n->loop, UV_RUN_DEFAULT);
    close_loop(n);
}
