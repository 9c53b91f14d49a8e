/* The log glue: the node's persist batches go to the log writer thread (group commit), whose
 * "durable up to" reports come back to the loop in one wake-up per batch; or, without that
 * thread, to storage on the loop, synced once per loop turn from the idle handle. */
#include "runtime.h"
#include "util/assert.h"

/* The writer's queue bound: above the core's uncommitted bytes bound (64 MiB by default), so the
 * leader's own appends never fill it; a full queue stops the node (node.h: an error from
 * log_submit is fatal). */
#define RT_LOG_QUEUE_BYTES (256ull << 20)

/* On the writer thread. */
static void on_durable(void *arg, uint64_t seq, int status)
{
    struct craft_node *n = arg;
    io_mutex_lock(&n->wake_mu);
    if (status < 0) {
        if (n->durable_status == 0) {
            n->durable_status = status;
        }
    } else if (seq > n->durable_seq) {
        n->durable_seq = seq;
    }
    rt_wake_locked(n);
    io_mutex_unlock(&n->wake_mu);
}

int rt_log_start(struct craft_node *n)
{
    if (!n->cfg.threads.log_writer) {
        return 0;
    }
    struct log_writer_config c;
    log_writer_config_init(&c);
    if (c.queue_bytes_max < RT_LOG_QUEUE_BYTES) {
        c.queue_bytes_max = RT_LOG_QUEUE_BYTES;
    }
    return log_writer_start(n->storage, &c, on_durable, n, &n->writer);
}

int rt_log_submit(void *ctx, const struct craft_persist *p, uint64_t *seq)
{
    struct craft_node *n = ctx;
    int rv;
    if (n->writer != NULL) {
        rv = log_writer_submit(n->writer, p, seq);
        if (rv != 0) {
            RT_LOG(n, CRAFT_LOG_ERROR, "log writer refused a batch: %s", craft_strerror(rv));
        }
        return rv;
    }
    CRAFT_ASSERT(!n->cfg.threads.log_writer);
    rv = storage_persist(n->storage, p);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_ERROR, "storage: %s (%s)", craft_strerror(rv),
               storage_errmsg(n->storage));
        return rv;
    }
    *seq = ++n->inline_seq;
    n->inline_sync_due = true;
    rt_defer(n); /* durable on the next idle turn, never from inside this call */
    return 0;
}

void rt_log_run_inline(struct craft_node *n)
{
    if (!n->inline_sync_due) {
        return;
    }
    n->inline_sync_due = false;
    int rv = storage_sync(n->storage);
    if (rv != 0) {
        rt_fatal(n, rv, "a log write failed");
        return;
    }
    CRAFT_ASSERT(n->inline_seq > n->durable_done);
    n->durable_done = n->inline_seq;
    node_on_durable(n->node, n->inline_seq);
}

void rt_log_stop(struct craft_node *n)
{
    if (n->writer != NULL) {
        log_writer_stop(n->writer);
        n->writer = NULL;
    }
}

void rt_log_snapshot_taken(void *ctx, const struct craft_snapshot_meta *m)
{
    struct craft_node *n = ctx;
    if (n->writer != NULL) {
        log_writer_snapshot_taken(n->writer, m); /* a failure there fails its next batch */
        return;
    }
    int rv = storage_snapshot_taken(n->storage, m);
    if (rv != 0) {
        rt_fatal(n, rv, "dropping the log a snapshot covers failed");
    }
}
