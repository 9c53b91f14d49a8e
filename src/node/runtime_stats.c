/* The node's I/O statistics (craft_node_stats): fdatasyncs and bytes counted by pass-through
 * views of the file system (the WAL's storage and the snapshot files run over them), and the
 * snapshots saved and received, recorded where the runtime sees them end. */
#include <string.h>

#include "runtime.h"
#include "util/assert.h"

static_assert(CRAFT_NODE_HIST_BUCKETS >= 2, "a finite bucket and the overflow one");
static_assert(CRAFT_NODE_HIST_BUCKETS - 2 < 64, "bounds are powers of two in a u64");

uint64_t rt_stats_now_ns(void)
{
    return io_monotonic_ns();
}

/* A duration in whole microseconds, rounded up, so a sample never exceeds its bucket's bound. */
static uint64_t ns_to_us(uint64_t ns)
{
    return ns / 1000u + (ns % 1000u != 0);
}

unsigned rt_stats_bucket(uint64_t us)
{
    if (us <= 1) {
        return 0;
    }
    unsigned i = 64u - (unsigned)__builtin_clzll(us - 1); /* ceil(log2(us)) */
    unsigned last = CRAFT_NODE_HIST_BUCKETS - 1;
    return i < last ? i : last;
}

static void histogram_add(struct craft_node_histogram *h, uint64_t us)
{
    unsigned b = rt_stats_bucket(us);
    CRAFT_ASSERT(b == CRAFT_NODE_HIST_BUCKETS - 1 || us <= CRAFT_NODE_HIST_BOUND_US(b));
    h->buckets[b]++;
    h->n++;
    h->sum_us += us;
}

/* ---- the meters: a seqlock with one writer at a time, or a mutex ---- */

static void meter_begin(struct rt_fs_meter *m)
{
    if (m->mu != NULL) {
        io_mutex_lock(m->mu);
        return;
    }
    uint64_t s = atomic_load_explicit(&m->seq, memory_order_relaxed);
    CRAFT_ASSERT(s % 2 == 0); /* one writer at a time: storage runs on one thread at a time */
    atomic_store_explicit(&m->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void meter_end(struct rt_fs_meter *m)
{
    if (m->mu != NULL) {
        io_mutex_unlock(m->mu);
        return;
    }
    uint64_t s = atomic_load_explicit(&m->seq, memory_order_relaxed);
    atomic_store_explicit(&m->seq, s + 1, memory_order_release);
}

/* Only the writer (or the mutex's holder) changes the fields: a plain load and store each, no
 * read-modify-write. */
static void meter_add(_Atomic uint64_t *field, uint64_t v)
{
    uint64_t old = atomic_load_explicit(field, memory_order_relaxed);
    atomic_store_explicit(field, old + v, memory_order_relaxed);
}

static void meter_copy(struct rt_fs_meter *m, struct craft_node_histogram *sync,
                       uint64_t *bytes_written)
{
    *bytes_written = atomic_load_explicit(&m->bytes_written, memory_order_relaxed);
    sync->n = atomic_load_explicit(&m->sync_n, memory_order_relaxed);
    sync->sum_us = atomic_load_explicit(&m->sync_sum_us, memory_order_relaxed);
    for (unsigned i = 0; i < CRAFT_NODE_HIST_BUCKETS; i++) {
        sync->buckets[i] = atomic_load_explicit(&m->sync_buckets[i], memory_order_relaxed);
    }
}

void rt_fs_meter_read(struct rt_fs_meter *m, struct craft_node_histogram *sync,
                      uint64_t *bytes_written)
{
    if (m->mu != NULL) {
        meter_copy(m, sync, bytes_written);
        return;
    }
    for (;;) {
        uint64_t s1 = atomic_load_explicit(&m->seq, memory_order_acquire);
        meter_copy(m, sync, bytes_written);
        atomic_thread_fence(memory_order_acquire);
        uint64_t s2 = atomic_load_explicit(&m->seq, memory_order_relaxed);
        if (s1 == s2 && s1 % 2 == 0) {
            return;
        }
    }
}

/* The pass-through ops: ctx is the meter, the file handles are the inner fs's. */

static struct io_fs *inner(void *ctx)
{
    return ((struct rt_fs_meter *)ctx)->inner;
}

static int m_open(void *ctx, const char *name, unsigned flags, struct io_file **out)
{
    return io_fs_open(inner(ctx), name, flags, out);
}

static void m_close(void *ctx, struct io_file *f)
{
    io_fs_close(inner(ctx), f);
}

static int m_pwritev(void *ctx, struct io_file *f, const struct iovec *iov, int n_iov,
                     uint64_t offset)
{
    struct rt_fs_meter *m = ctx;
    int rv = io_fs_pwritev(m->inner, f, iov, n_iov, offset);
    /* Snapshot files are reported by their sizes, not write by write: no lock per chunk. */
    if (rv == 0 && m->mu == NULL) {
        uint64_t bytes = 0;
        for (int i = 0; i < n_iov; i++) {
            bytes += iov[i].iov_len;
        }
        meter_begin(m);
        meter_add(&m->bytes_written, bytes);
        meter_end(m);
    }
    return rv;
}

static int m_pread(void *ctx, struct io_file *f, void *buf, size_t len, uint64_t offset,
                   size_t *n_read)
{
    return io_fs_pread(inner(ctx), f, buf, len, offset, n_read);
}

/* Every fdatasync is counted and timed, a failed one too (it took that long to fail). */
static int m_fdatasync(void *ctx, struct io_file *f)
{
    struct rt_fs_meter *m = ctx;
    uint64_t t0 = io_monotonic_ns();
    int rv = io_fs_fdatasync(m->inner, f);
    uint64_t t1 = io_monotonic_ns();
    uint64_t us = ns_to_us(t1 > t0 ? t1 - t0 : 0);
    unsigned b = rt_stats_bucket(us);
    meter_begin(m);
    meter_add(&m->sync_buckets[b], 1);
    meter_add(&m->sync_sum_us, us);
    meter_add(&m->sync_n, 1);
    meter_end(m);
    return rv;
}

static int m_size(void *ctx, struct io_file *f, uint64_t *out)
{
    return io_fs_size(inner(ctx), f, out);
}

static int m_truncate(void *ctx, struct io_file *f, uint64_t size)
{
    return io_fs_truncate(inner(ctx), f, size);
}

static int m_fallocate(void *ctx, struct io_file *f, uint64_t size)
{
    return io_fs_fallocate(inner(ctx), f, size);
}

static int m_sync_dir(void *ctx)
{
    return io_fs_sync_dir(inner(ctx));
}

static int m_rename(void *ctx, const char *from, const char *to)
{
    return io_fs_rename(inner(ctx), from, to);
}

static int m_unlink(void *ctx, const char *name)
{
    return io_fs_unlink(inner(ctx), name);
}

static int m_list(void *ctx, io_fs_list_cb cb, void *arg)
{
    return io_fs_list(inner(ctx), cb, arg);
}

static int m_map(void *ctx, struct io_file *f, uint64_t size, const void **out)
{
    return io_fs_map(inner(ctx), f, size, out);
}

static void m_unmap(void *ctx, const void *addr, uint64_t size)
{
    io_fs_unmap(inner(ctx), addr, size);
}

static const struct io_fs_ops meter_ops = {
    .open = m_open,
    .close = m_close,
    .pwritev = m_pwritev,
    .pread = m_pread,
    .fdatasync = m_fdatasync,
    .size = m_size,
    .truncate = m_truncate,
    .fallocate = m_fallocate,
    .sync_dir = m_sync_dir,
    .rename = m_rename,
    .unlink = m_unlink,
    .list = m_list,
    .map = m_map,
    .unmap = m_unmap,
};

struct io_fs *rt_fs_meter_init(struct rt_fs_meter *m, struct io_fs *inner, struct io_mutex *mu)
{
    CRAFT_ASSERT(inner != NULL);
    m->inner = inner;
    m->mu = mu;
    m->fs.ctx = m;
    m->fs.ops = &meter_ops; /* map: the inner fs's answer, "not offered" included */
    return &m->fs;
}

struct io_fs *rt_stats_wal_fs(struct craft_node *n)
{
    return rt_fs_meter_init(&n->wal_meter, n->fs, NULL);
}

struct io_fs *rt_stats_snapshot_fs(struct craft_node *n)
{
    return rt_fs_meter_init(&n->snap_meter, n->fs, &n->status_mu);
}

/* ---- snapshots: rare events, recorded under the status lock ---- */

void rt_stats_snapshot_saved(struct craft_node *n, const struct craft_snapshot_meta *meta, int rv,
                             uint64_t file_bytes, uint64_t began_ns)
{
    uint64_t now = io_monotonic_ns();
    uint64_t us = ns_to_us(now > began_ns ? now - began_ns : 0);
    io_mutex_lock(&n->status_mu);
    struct craft_node_stats *s = &n->snap_stats;
    if (rv != 0) {
        s->n_snapshot_save_failures++;
    } else {
        histogram_add(&s->snapshot_save, us);
        s->snapshot_saved_last_index = meta->index;
        s->snapshot_saved_last_bytes = file_bytes;
        s->snapshot_saved_last_us = us;
    }
    io_mutex_unlock(&n->status_mu);
}

void rt_stats_snapshot_received(void *ctx, craft_id from, const struct craft_snap_chunk *last,
                                const struct craft_snapshot_meta *meta, int rv, const char *errmsg)
{
    struct craft_node *n = ctx;
    (void)from;
    (void)errmsg; /* the node answers the leader, which starts over */
    if (rv != 0) {
        return;
    }
    io_mutex_lock(&n->status_mu);
    struct craft_node_stats *s = &n->snap_stats;
    s->n_snapshots_received++;
    s->snapshot_received_bytes += last->size;
    s->snapshot_received_last_index = meta->index;
    s->snapshot_received_last_bytes = last->size;
    io_mutex_unlock(&n->status_mu);
}

void craft_node_stats(struct craft_node *n, struct craft_node_stats *out)
{
    uint64_t snapshot_bytes_written; /* not counted (m_pwritev): the files' sizes are */
    io_mutex_lock(&n->status_mu);
    *out = n->snap_stats;
    rt_fs_meter_read(&n->snap_meter, &out->snapshot_fsync, &snapshot_bytes_written);
    io_mutex_unlock(&n->status_mu);
    /* All zero while no storage ran over it (a plugged store). */
    rt_fs_meter_read(&n->wal_meter, &out->wal_fsync, &out->wal_bytes_written);
}
