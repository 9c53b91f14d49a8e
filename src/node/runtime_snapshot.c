/* Snapshots at startup: the state machine is restored from the newest snapshot storage
 * recovered, read through the snapshot store (fsm.h's reader and writer streams are defined
 * here). Taking snapshots and sending them to followers are the node's follow-up. */
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
