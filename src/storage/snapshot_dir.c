/* The snapshots in the data directory: finding the newest one, removing leftovers, and
 * publishing a finished file (rename into place, then drop the ones it supersedes). */
#include <string.h>

#include "snapshot_internal.h"
#include "util/assert.h"

struct older {
    struct io_fs *fs;
    craft_index below; /* remove snapshots of lower index than this */
    int rv;
};

static int remove_older(void *arg, const char *name)
{
    struct older *o = arg;
    craft_index index;
    craft_term term;
    if (snapshot_name_parse(name, &index, &term) && index < o->below) {
        int rv = io_fs_unlink(o->fs, name);
        if (rv != 0 && o->rv == 0) {
            o->rv = rv;
        }
    }
    return 0;
}

int snapshot_publish(struct io_fs *fs, struct io_file *f, const char *tmp,
                     const struct craft_snapshot_meta *m, bool *renamed)
{
    CRAFT_ASSERT(snapshot_meta_valid(m));
    *renamed = false;
    char name[IO_FS_NAME_MAX];
    snapshot_file_name(m->index, m->term, name, sizeof name);
    /* The bytes are durable before the file gets a name that says it is complete. */
    int rv = io_fs_fdatasync(fs, f);
    if (rv == 0) {
        rv = io_fs_rename(fs, tmp, name);
        *renamed = rv == 0;
    }
    if (rv == 0) {
        rv = io_fs_sync_dir(fs);
    }
    if (rv != 0) {
        return rv == CRAFT_ENOSPC || rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    /* Only now, with the new one durable, do the older ones go. One of higher index stays: it
     * is newer (a snapshot installed from the leader while this one was being written). */
    struct older o = {.fs = fs, .below = m->index};
    rv = io_fs_list(fs, remove_older, &o);
    if (rv == 0) {
        rv = o.rv;
    }
    if (rv == 0) {
        rv = io_fs_sync_dir(fs);
    }
    return rv == 0 ? 0 : rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
}

struct latest {
    struct io_fs *fs;
    struct craft_snapshot_meta best;
    bool found;
    int rv;
};

static int read_header(struct io_fs *fs, const char *name, struct craft_snapshot_meta *m, bool *ok)
{
    struct io_file *f;
    *ok = false;
    int rv = io_fs_open(fs, name, 0, &f);
    if (rv != 0) {
        return rv;
    }
    unsigned char buf[SNAPSHOT_HEADER_MAX];
    size_t n_read;
    rv = io_fs_pread(fs, f, buf, sizeof buf, 0, &n_read);
    io_fs_close(fs, f);
    if (rv == 0) {
        *ok = snapshot_header_decode(buf, n_read, m) > 0;
    }
    return rv;
}

static int consider_snapshot(void *arg, const char *name)
{
    struct latest *l = arg;
    if (snapshot_name_is_tmp(name)) {
        /* An unfinished write or reception from before a crash; if it cannot go now, it goes
         * next time. */
        int rv = io_fs_unlink(l->fs, name);
        (void)rv;
        return 0;
    }
    craft_index index;
    craft_term term;
    if (!snapshot_name_parse(name, &index, &term)) {
        return 0;
    }
    struct craft_snapshot_meta m;
    bool ok;
    int rv = read_header(l->fs, name, &m, &ok);
    if (rv != 0) {
        l->rv = rv;
        return 1;
    }
    if (ok && m.index == index && m.term == term && (!l->found || m.index > l->best.index)) {
        l->best = m;
        l->found = true;
    }
    return 0;
}

int snapshot_latest(struct io_fs *fs, struct craft_snapshot_meta *meta, bool *found)
{
    struct latest l = {.fs = fs};
    int rv = io_fs_list(fs, consider_snapshot, &l);
    if (rv == 1 || rv == 0) {
        rv = l.rv;
    }
    if (rv != 0) {
        return rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    *found = l.found;
    if (l.found) {
        *meta = l.best;
    }
    return 0;
}
