/* The state machine's snapshots through the snapshot store (fsm.h's reader and writer streams
 * are defined here): restored at startup from the newest one storage recovered, saved and
 * restored on the apply side when the node's apply items say so; with snapshot_begin, the
 * state machine's view is written on the snapshot thread while applies go on. */
#include <stdio.h>
#include <string.h>

#include "runtime.h"
#include "storage/snapshot_store.h"
#include "util/assert.h"

/* The streams handed to the state machine: thin wrappers over the snapshot store's. */
struct craft_snapshot_reader {
    struct snapshot_reader *r;
    int error; /* the first read error, for the caller's message */
};

struct craft_snapshot_writer {
    struct snapshot_writer *w;
};

int craft_snapshot_read(struct craft_snapshot_reader *r, void *buf, size_t len, size_t *got)
{
    int rv = snapshot_reader_read(r->r, buf, len, got);
    if (rv != 0 && r->error == 0) {
        r->error = rv;
    }
    return rv;
}

int craft_snapshot_write(struct craft_snapshot_writer *w, const void *buf, size_t len)
{
    return snapshot_writer_write(w->w, buf, len);
}

/* What the state machine left unread is read (and dropped) so the whole file's checksum is
 * checked before the node trusts what was restored. */
static int read_to_end(struct craft_snapshot_reader *r)
{
    unsigned char buf[4096];
    size_t got;
    do {
        int rv = craft_snapshot_read(r, buf, sizeof buf, &got);
        if (rv != 0) {
            return rv;
        }
    } while (got > 0);
    return 0;
}

int rt_snapshot_restore(struct craft_node *n, const struct craft_snapshot_meta *meta,
                        char *errmsg, size_t errmsg_len)
{
    struct craft_snapshot_meta header;
    struct craft_snapshot_reader reader = {0};
    int rv;

    if (n->fsm.snapshot_restore == NULL) {
        snprintf(errmsg, errmsg_len,
                 "data_dir %s holds a snapshot (index %llu) but the state machine has no "
                 "snapshot_restore",
                 n->data_dir, (unsigned long long)meta->index);
        return CRAFT_EINVAL;
    }
    rv = snapshot_reader_open(n->fs, meta->index, meta->term, &reader.r, &header);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "snapshot %llu/%llu: cannot open: %s",
                 (unsigned long long)meta->index, (unsigned long long)meta->term,
                 craft_strerror(rv));
        return rv;
    }
    rv = n->fsm.snapshot_restore(n->fsm_ctx, &reader);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "snapshot %llu/%llu: the state machine's restore failed (%d)%s%s",
                 (unsigned long long)meta->index, (unsigned long long)meta->term, rv,
                 reader.error != 0 ? ": " : "",
                 reader.error != 0 ? snapshot_reader_errmsg(reader.r) : "");
        rv = reader.error != 0 ? reader.error : CRAFT_EIO;
        goto out;
    }
    rv = read_to_end(&reader);
    if (rv != 0) {
        snprintf(errmsg, errmsg_len, "snapshot %llu/%llu: %s", (unsigned long long)meta->index,
                 (unsigned long long)meta->term, snapshot_reader_errmsg(reader.r));
        goto out;
    }
    RT_LOG(n, CRAFT_LOG_INFO, "state machine restored from the snapshot at index %llu (term %llu)",
           (unsigned long long)meta->index, (unsigned long long)meta->term);
out:
    snapshot_reader_close(reader.r);
    return rv;
}

bool rt_fsm_snapshots(const struct craft_fsm_ops *fsm)
{
    return fsm->snapshot_save != NULL || fsm->snapshot_begin != NULL;
}

/* Writes the snapshot of meta: the state machine's whole state (view NULL: snapshot_save, on
 * the apply side) or the view it took (snapshot_write, on the snapshot thread); durable when 0
 * is returned. The file's size is put in *file_bytes then. */
static int write_file(struct craft_node *n, const struct craft_snapshot_meta *meta, void *view,
                      uint64_t *file_bytes)
{
    struct craft_snapshot_writer writer;
    CRAFT_ASSERT(n->snap_meter.inner != NULL); /* the node booted */
    int rv = snapshot_writer_begin(&n->snap_meter.fs, meta, &writer.w);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_WARN, "snapshot at %llu: cannot begin: %s",
               (unsigned long long)meta->index, craft_strerror(rv));
        return rv;
    }
    rv = view != NULL ? n->fsm.snapshot_write(n->fsm_ctx, view, &writer)
                      : n->fsm.snapshot_save(n->fsm_ctx, &writer);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_WARN, "snapshot at %llu: the state machine's save failed (%d)",
               (unsigned long long)meta->index, rv);
        snapshot_writer_abort(writer.w);
        return CRAFT_EIO;
    }
    rv = snapshot_writer_finish_size(writer.w, file_bytes);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_WARN, "snapshot at %llu: cannot make it durable: %s",
               (unsigned long long)meta->index, craft_strerror(rv));
        return rv;
    }
    RT_LOG(n, CRAFT_LOG_INFO, "snapshot taken at index %llu (term %llu), %llu bytes",
           (unsigned long long)meta->index, (unsigned long long)meta->term,
           (unsigned long long)*file_bytes);
    return 0;
}

/* write_file, counted in the node's statistics as a save begun at began_ns. */
static int save(struct craft_node *n, const struct craft_snapshot_meta *meta, void *view,
                uint64_t began_ns)
{
    uint64_t file_bytes = 0;
    int rv = write_file(n, meta, view, &file_bytes);
    rt_stats_snapshot_saved(n, meta, rv, file_bytes, began_ns);
    return rv;
}

int rt_snapshot_save(struct craft_node *n, const struct craft_snapshot_meta *meta)
{
    return save(n, meta, NULL, rt_stats_now_ns());
}

/* ---- the snapshot thread ---- */

void rt_builder_init(struct craft_node *n)
{
    struct rt_builder *b = &n->builder;
    memset(b, 0, sizeof *b);
    io_mutex_init(&b->mu);
    io_cond_init(&b->cond);
}

static void *builder_main(void *arg)
{
    struct craft_node *n = arg;
    struct rt_builder *b = &n->builder;
    io_mutex_lock(&b->mu);
    for (;;) {
        while (!b->job && !b->stop) {
            io_cond_wait(&b->cond, &b->mu);
        }
        if (!b->job) {
            break;
        }
        struct craft_snapshot_meta meta = b->meta;
        void *view = b->view;
        uint64_t began_ns = b->began_ns;
        io_mutex_unlock(&b->mu);
        int rv = save(n, &meta, view, began_ns); /* applies go on meanwhile */
        n->fsm.snapshot_end(n->fsm_ctx, view);
        rt_snapshot_saved(n, &meta, rv);
        io_mutex_lock(&b->mu);
        b->job = false;
        b->view = NULL;
    }
    io_mutex_unlock(&b->mu);
    return NULL;
}

int rt_builder_start(struct craft_node *n)
{
    struct rt_builder *b = &n->builder;
    if (n->fsm.snapshot_begin == NULL) {
        return 0;
    }
    int rv = io_thread_start(&b->thread, builder_main, n);
    b->started = rv == 0;
    return rv;
}

int rt_builder_save(struct craft_node *n, const struct craft_snapshot_meta *meta)
{
    struct rt_builder *b = &n->builder;
    CRAFT_ASSERT(b->started);
    void *view = NULL;
    uint64_t began_ns = rt_stats_now_ns(); /* the view's time counts in the save's */
    int rv = n->fsm.snapshot_begin(n->fsm_ctx, &view);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_WARN, "snapshot at %llu: the state machine's view failed (%d)",
               (unsigned long long)meta->index, rv);
        rt_stats_snapshot_saved(n, meta, CRAFT_EIO, 0, began_ns);
        return CRAFT_EIO;
    }
    io_mutex_lock(&b->mu);
    CRAFT_ASSERT(!b->job); /* the node saves one snapshot at a time */
    b->job = true;
    b->view = view;
    b->meta = *meta;
    b->began_ns = began_ns;
    io_cond_signal(&b->cond);
    io_mutex_unlock(&b->mu);
    return 0;
}

void rt_builder_stop(struct craft_node *n)
{
    struct rt_builder *b = &n->builder;
    if (!b->started) {
        return;
    }
    io_mutex_lock(&b->mu);
    b->stop = true;
    io_cond_signal(&b->cond);
    io_mutex_unlock(&b->mu);
    io_thread_join(&b->thread); /* a view being written is written first */
    b->started = false;
}

void rt_builder_close(struct craft_node *n)
{
    struct rt_builder *b = &n->builder;
    CRAFT_ASSERT(!b->started);
    io_cond_close(&b->cond);
    io_mutex_close(&b->mu);
}

int rt_snapshot_restore_received(struct craft_node *n, const struct craft_snapshot_meta *meta,
                                 craft_index *restored)
{
    char err[256] = "";
    struct craft_snapshot_meta m = *meta;
    int rv = rt_snapshot_restore(n, &m, err, sizeof err);
    if (rv == CRAFT_ENOTFOUND) {
        /* A newer snapshot arrived (and replaced this one's file) before the restore ran: that
         * one's restore is on its way; restoring it now keeps the state machine coherent for
         * whatever comes between (the entries it covers are skipped). */
        bool found = false;
        if (snapshot_latest(n->fs, &m, &found) == 0 && found && m.index > meta->index) {
            rv = rt_snapshot_restore(n, &m, err, sizeof err);
        }
    }
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_ERROR, "restoring a received snapshot failed: %s", err);
        return rv;
    }
    *restored = m.index;
    return 0;
}
