/* The state machine's snapshots through the snapshot store (fsm.h's reader and writer streams
 * are defined here): restored at startup from the newest one storage recovered, saved and
 * restored on the apply side when the node's apply items say so. */
#include <stdio.h>

#include "runtime.h"
#include "storage/snapshot_store.h"

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

int rt_snapshot_save(struct craft_node *n, const struct craft_snapshot_meta *meta)
{
    struct craft_snapshot_writer writer;
    int rv = snapshot_writer_begin(n->fs, meta, &writer.w);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_WARN, "snapshot at %llu: cannot begin: %s",
               (unsigned long long)meta->index, craft_strerror(rv));
        return rv;
    }
    rv = n->fsm.snapshot_save(n->fsm_ctx, &writer);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_WARN, "snapshot at %llu: the state machine's save failed (%d)",
               (unsigned long long)meta->index, rv);
        snapshot_writer_abort(writer.w);
        return CRAFT_EIO;
    }
    rv = snapshot_writer_finish(writer.w);
    if (rv != 0) {
        RT_LOG(n, CRAFT_LOG_WARN, "snapshot at %llu: cannot make it durable: %s",
               (unsigned long long)meta->index, craft_strerror(rv));
        return rv;
    }
    RT_LOG(n, CRAFT_LOG_INFO, "snapshot taken at index %llu (term %llu)",
           (unsigned long long)meta->index, (unsigned long long)meta->term);
    return 0;
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
