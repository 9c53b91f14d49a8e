/* Retiring WAL segments (docs/DISK_FORMAT.md, "Dropping a prefix"): a segment goes only when no
 * group needs a record in it any more, and after every group's newest hard state in it was
 * written again. */
#include <inttypes.h>
#include <string.h>

#include "util/assert.h"
#include "wal_internal.h"

/* The oldest segment any group still needs an entry of: the one holding the group's first live
 * entry past what its snapshot covers (drop_upto). Entries sit in segments in index order within
 * a group, so every segment before it holds nothing that group needs. The writing segment is the
 * bound when no group needs an older one. */
static uint64_t oldest_needed(const struct wal *w)
{
    uint64_t keep_from = w->segs[w->n_segs - 1].seq;
    for (size_t i = 0; i < w->n_groups; i++) {
        const struct wal_group *g = w->groups[i];
        if (g->n_locs == 0 || g->drop_upto >= wal_group_last(g)) {
            continue;
        }
        craft_index next = g->drop_upto < g->first ? g->first : g->drop_upto + 1;
        uint64_t seq = wal_group_loc(g, next)->seq;
        if (seq != WAL_SEQ_PENDING && seq < keep_from) {
            keep_from = seq;
        }
    }
    return keep_from;
}

/* A group's newest hard state must outlive the segments that go: those living in one are written
 * again, into the current segment, and synced, before anything is deleted. */
static int rewrite_hard_states(struct wal *w, uint64_t keep_from)
{
    bool any = false;
    for (size_t i = 0; i < w->n_groups; i++) {
        struct wal_group *g = w->groups[i];
        if (g->have_hs && g->hs_seq != WAL_SEQ_PENDING && g->hs_seq < keep_from) {
            struct craft_hard_state hs = g->hs;
            int rv = wal_save_hard_state_group(w, g->id, &hs);
            if (rv != 0) {
                return rv;
            }
            any = true;
        }
    }
    return any ? wal_sync(w) : 0;
}

int wal_drop_prefix_group(struct wal *w, uint64_t group, craft_index upto)
{
    if (w->failed) {
        return CRAFT_EIO;
    }
    CRAFT_ASSERT(!w->syncing); /* a segment it deletes may be the one being synced */
    struct wal_group *g = wal_group_find(w, group, false);
    if (g != NULL && upto > g->drop_upto) {
        g->drop_upto = upto;
    }
    uint64_t keep_from = oldest_needed(w);
    size_t n_drop = 0;
    while (n_drop < w->n_segs - 1 && w->segs[n_drop].seq < keep_from) {
        n_drop++;
    }
    if (n_drop == 0) {
        return 0;
    }
    int rv = rewrite_hard_states(w, keep_from);
    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i < n_drop; i++) {
        char name[IO_FS_NAME_MAX];
        wal_segment_name(w->segs[i].seq, name, sizeof name);
        io_fs_close(w->fs, w->segs[i].file);
        rv = io_fs_unlink(w->fs, name);
        if (rv != 0) {
            /* The segments before i are gone from the table already; keep it consistent. */
            memmove(w->segs, w->segs + i + 1, (w->n_segs - i - 1) * sizeof *w->segs);
            w->n_segs -= i + 1;
            return wal_fail(w, CRAFT_EIO, "unlink %s: %s", name, craft_strerror(rv));
        }
    }
    memmove(w->segs, w->segs + n_drop, (w->n_segs - n_drop) * sizeof *w->segs);
    w->n_segs -= n_drop;
    /* Forget the entries that lived in the dropped segments. */
    for (size_t i = 0; i < w->n_groups; i++) {
        struct wal_group *d = w->groups[i];
        size_t gone = 0;
        while (gone < d->n_locs && wal_loc_at(d, gone)->seq < keep_from) {
            gone++;
        }
        CRAFT_ASSERT(gone == 0 || d->first + gone - 1 <= d->drop_upto);
        wal_locs_drop_front(d, gone);
        CRAFT_ASSERT(!d->have_hs || d->hs_seq >= keep_from);
    }
    rv = io_fs_sync_dir(w->fs);
    if (rv != 0) {
        return wal_fail(w, CRAFT_EIO, "sync of the directory: %s", craft_strerror(rv));
    }
    return 0;
}

int wal_drop_prefix(struct wal *w, craft_index upto)
{
    return wal_drop_prefix_group(w, WAL_GROUP_DEFAULT, upto);
}
