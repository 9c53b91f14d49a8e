/* The log store: the node's side of whichever store (craft/plug.h: the plugged ops, or the
 * default below), and the default itself, the WAL of storage in the data directory behind the
 * same ops: the node's persist batches go to the log writer thread (group commit), whose
 * "durable up to" reports come back to the loop in one wake-up per batch; or, without that
 * thread, to storage on the loop, synced once per loop turn from the idle handle. By default the
 * thread runs only while the node leads (rt_log_follow_role). */
#include <stdio.h>
#include <string.h>

#include "runtime.h"
#include "storage/snapshot_store.h"
#include "util/assert.h"

/* The writer's queue bound: above the core's uncommitted bytes bound (64 MiB by default), so the
 * leader's own appends never fill it; a full queue stops the node (node.h: an error from
 * log_submit is fatal). */
#define RT_LOG_QUEUE_BYTES (256ull << 20)
/* Payloads bigger than this are written from the core's memory (pwritev); smaller ones are
 * copied into the WAL's batch (wal.h). */
#define RT_WAL_INLINE_BYTES_MAX WAL_INLINE_BYTES_NODE

/* The store's "durable up to" (plugged or the writer thread's): any thread. */
static void on_durable(void *arg, uint64_t seq, int status)
{
    struct craft_node *n = arg;
    io_mutex_lock(&n->wake_mu);
    if (status < 0) {
        if (n->durable_status == 0) {
            n->durable_status = status;
        }
    } else if (seq > n->durable_seq && seq <= n->log_seq_max) {
        n->durable_seq = seq;
    }
    rt_wake_locked(n);
    io_mutex_unlock(&n->wake_mu);
}

/* The writer counts its submissions from 1; the node's count went on while the loop wrote. */
static void on_writer_durable(void *arg, uint64_t seq, int status)
{
    struct craft_node *n = arg;
    on_durable(n, status < 0 ? 0 : seq + n->writer_seq_base, status);
}

/* ---- the default store: storage and the log writer ---- */

/* Starts the log writer thread over the loop's storage, whose writes are all synced: the next
 * submission is the writer's first. */
static int writer_start(struct craft_node *n)
{
    struct log_writer_config c;
    log_writer_config_init(&c);
    if (c.queue_bytes_max < RT_LOG_QUEUE_BYTES) {
        c.queue_bytes_max = RT_LOG_QUEUE_BYTES;
    }
    n->writer_seq_base = n->log_seq_max;
    n->writer_snap_given = false;
    int rv = log_writer_start(n->storage, &c, on_writer_durable, n, &n->writer);
    if (rv != 0) {
        n->writer = NULL;
    }
    return rv;
}

/* Stops the log writer, all of whose submissions were reported durable: storage is the loop's
 * again. A snapshot's log drop handed to the writer is done again (it is idempotent), in case
 * the writer stopped before its turn came. */
static int writer_stop(struct craft_node *n)
{
    log_writer_stop(n->writer);
    n->writer = NULL;
    n->inline_seq = n->log_seq_max;
    return n->writer_snap_given ? storage_snapshot_taken(n->storage, &n->writer_snap) : 0;
}

static int store_open(void *ctx, const struct craft_log_store_open *o,
                      struct craft_log_store_recovered *rec, char *errmsg, size_t errmsg_len)
{
    struct craft_node *n = ctx;
    struct storage_config sc;
    struct storage_recovered srec;

    storage_config_init(&sc);
    sc.node = o->node;
    sc.cluster = o->cluster;
    /* The node keeps payloads in place until durable (payload tickets): the WAL writes them
     * from there. */
    sc.wal.inline_bytes_max = RT_WAL_INLINE_BYTES_MAX;
    /* storage finds the newest snapshot itself (the same one as o->snapshot). It runs over
     * the metered view of the fs, which counts its bytes and times its fdatasyncs
     * (craft_node_stats). */
    int rv = storage_open(rt_stats_wal_fs(n), &sc, &n->storage, &srec, errmsg, errmsg_len);
    if (rv != 0) {
        n->storage = NULL;
        return rv;
    }
    /* A node starts as a follower: with threads.log_writer_followers false, its loop writes
     * until it leads. */
    if (n->cfg.threads.log_writer && n->cfg.threads.log_writer_followers) {
        rv = writer_start(n);
        if (rv != 0) {
            snprintf(errmsg, errmsg_len, "cannot start the log writer: %s", craft_strerror(rv));
            storage_recovered_release(n->storage);
            storage_close(n->storage);
            n->storage = NULL;
            n->writer = NULL;
            return rv;
        }
    }
    memset(rec, 0, sizeof *rec);
    rec->hard_state = srec.hard_state;
    if (srec.have_snapshot) {
        rec->snapshot = srec.snapshot;
    }
    rec->entries = srec.entries;
    rec->n_entries = srec.n_entries;
    return 0;
}

static void store_release(void *ctx)
{
    struct craft_node *n = ctx;
    storage_recovered_release(n->storage);
}

static int store_submit(void *ctx, const struct craft_persist *p, uint64_t seq)
{
    struct craft_node *n = ctx;
    uint64_t writer_seq;
    int rv;
    if (n->writer != NULL) {
        rv = log_writer_submit(n->writer, p, &writer_seq);
        if (rv != 0) {
            RT_LOG(n, CRAFT_LOG_ERROR, "log writer refused a batch: %s", craft_strerror(rv));
            return rv;
        }
        CRAFT_ASSERT(writer_seq + n->writer_seq_base == seq);
        return 0;
    }
    rv = storage_persist(n->storage, p);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_ERROR, "storage: %s (%s)", craft_strerror(rv),
               storage_errmsg(n->storage));
        return rv;
    }
    CRAFT_ASSERT(seq == n->inline_seq + 1);
    n->inline_seq = seq;
    n->inline_sync_due = true;
    rt_defer(n); /* durable on the next idle turn, never from inside this call */
    return 0;
}

static int store_snapshot_taken(void *ctx, const struct craft_snapshot_meta *m)
{
    struct craft_node *n = ctx;
    if (n->writer != NULL) {
        log_writer_snapshot_taken(n->writer, m); /* a failure there fails its next batch */
        n->writer_snap = *m;
        n->writer_snap_given = true;
        return 0;
    }
    return storage_snapshot_taken(n->storage, m);
}

static void store_close(void *ctx)
{
    struct craft_node *n = ctx;
    if (n->writer != NULL) {
        log_writer_stop(n->writer);
        n->writer = NULL;
    }
    if (n->storage != NULL) {
        storage_close(n->storage);
        n->storage = NULL;
    }
}

const struct craft_log_store_ops rt_wal_ops = {
    .version = CRAFT_PLUG_VERSION,
    .open = store_open,
    .release = store_release,
    .submit = store_submit,
    .snapshot_taken = store_snapshot_taken,
    .close = store_close,
};

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

/* The log writer follows the role (threads.log_writer without log_writer_followers): a leader's
 * loop must keep reading requests and acknowledgements while its log syncs, so its log goes to
 * the thread; a follower's loop has nothing to do until its log is durable but answer, so it
 * writes and syncs itself, and its acknowledgement leaves without two thread hand-offs. The
 * switch waits until the side it leaves has nothing in flight: everything the writer took
 * reported durable (its stop would write what is queued, but with the loop blocked meanwhile),
 * everything the loop wrote synced (the writer would sync it, but never report it). Once per
 * loop turn, on the loop. */
void rt_log_follow_role(struct craft_node *n)
{
    if (n->log_plugged || !n->log_open || n->node_dead || n->storage == NULL ||
        !n->cfg.threads.log_writer || n->cfg.threads.log_writer_followers) {
        return;
    }
    if (n->leading && n->writer == NULL && !n->inline_sync_due && !n->writer_start_failed) {
        int rv = writer_start(n);
        if (rv != 0) {
            n->writer_start_failed = true; /* the loop goes on writing: slower, not wrong */
            RT_LOG(n, CRAFT_LOG_WARN, "cannot start the log writer (%s): the loop writes",
                   craft_strerror(rv));
        }
    } else if (!n->leading && n->writer != NULL && n->durable_done == n->log_seq_max) {
        int rv = writer_stop(n);
        if (rv != 0) {
            rt_fatal(n, rv, "dropping the log a snapshot covers failed");
        }
    }
}

/* ---- the node's side ---- */

/* What the node boots from must be a log: contiguous after the snapshot, terms never falling. */
static int check_recovered(const struct craft_log_store_recovered *rec, char *errmsg,
                           size_t errmsg_len)
{
    if (rec->n_entries > 0 && rec->entries == NULL) {
        snprintf(errmsg, errmsg_len, "log store: %zu entries recovered, none given",
                 rec->n_entries);
        return CRAFT_ECORRUPT;
    }
    craft_term term = rec->snapshot.term;
    for (size_t i = 0; i < rec->n_entries; i++) {
        const struct craft_entry *e = &rec->entries[i];
        if (e->index != rec->snapshot.index + 1 + i) {
            snprintf(errmsg, errmsg_len,
                     "log store: recovered entry %zu has index %llu, want %llu (the snapshot's "
                     "%llu + 1 on, without gaps)",
                     i, (unsigned long long)e->index,
                     (unsigned long long)(rec->snapshot.index + 1 + i),
                     (unsigned long long)rec->snapshot.index);
            return CRAFT_ECORRUPT;
        }
        if (e->term < term || e->term > rec->hard_state.term) {
            snprintf(errmsg, errmsg_len,
                     "log store: recovered entry %llu has term %llu (want %llu..%llu)",
                     (unsigned long long)e->index, (unsigned long long)e->term,
                     (unsigned long long)term, (unsigned long long)rec->hard_state.term);
            return CRAFT_ECORRUPT;
        }
        term = e->term;
    }
    return 0;
}

int rt_log_open(struct craft_node *n, struct craft_log_store_recovered *rec, char *errmsg,
                size_t errmsg_len)
{
    struct craft_log_store_open o = {
        .cluster = n->cfg.cluster,
        .node = n->cfg.id,
        .data_dir = n->data_dir,
        .durable = on_durable,
        .durable_ctx = n,
    };
    int rv;
    if (n->log_plugged) {
        /* The default finds it itself (storage_open): only a plugged store is told. */
        bool found = false;
        rv = snapshot_latest(n->fs, &o.snapshot, &found);
        if (rv != 0) {
            snprintf(errmsg, errmsg_len, "looking for snapshots: %s", craft_strerror(rv));
            return rv;
        }
        if (!found) {
            memset(&o.snapshot, 0, sizeof o.snapshot);
        }
    }
    memset(rec, 0, sizeof *rec);
    rv = n->log_ops.open(n->log_ctx, &o, rec, errmsg, errmsg_len);
    if (rv != 0) {
        if (errmsg[0] == '\0') {
            snprintf(errmsg, errmsg_len, "log store: open: %s", craft_strerror(rv));
        }
        return rv;
    }
    n->log_open = true;
    rv = check_recovered(rec, errmsg, errmsg_len);
    if (rv != 0) {
        rt_log_release(n);
        rt_log_close(n);
    }
    return rv;
}

void rt_log_release(struct craft_node *n)
{
    if (!n->log_released) {
        n->log_released = true;
        n->log_ops.release(n->log_ctx);
    }
}

int rt_log_submit(void *ctx, const struct craft_persist *p, uint64_t *seq)
{
    struct craft_node *n = ctx;
    io_mutex_lock(&n->wake_mu);
    uint64_t next = ++n->log_seq_max; /* durable reports above it are ignored */
    io_mutex_unlock(&n->wake_mu);
    int rv = n->log_ops.submit(n->log_ctx, p, next);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_ERROR, "log store refused batch %llu: %s", (unsigned long long)next,
               craft_strerror(rv));
        return rv;
    }
    *seq = next;
    return 0;
}

void rt_log_snapshot_taken(void *ctx, const struct craft_snapshot_meta *m)
{
    struct craft_node *n = ctx;
    if (n->log_ops.snapshot_taken == NULL) {
        return;
    }
    int rv = n->log_ops.snapshot_taken(n->log_ctx, m);
    if (rv != 0) {
        rt_fatal(n, rv, "dropping the log a snapshot covers failed");
    }
}

void rt_log_close(struct craft_node *n)
{
    if (n->log_open) {
        rt_log_release(n);
        n->log_open = false;
        n->log_ops.close(n->log_ctx); /* no durable report runs once it returns */
    }
}
