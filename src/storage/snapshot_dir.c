/* The snapshots in the data directory: finding each group's newest one, removing leftovers, and
 * publishing a finished file (rename into place, then drop the ones of its group it supersedes). */
#include <string.h>

#include "snapshot_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

struct older {
    struct io_fs *fs;
    uint64_t group;
    craft_index below; /* remove the group's snapshots of lower index than this */
    int rv;
};

static int remove_older(void *arg, const char *name)
{
    struct older *o = arg;
    uint64_t group;
    craft_index index;
    craft_term term;
    if (snapshot_name_parse(name, &group, &index, &term) && group == o->group && index < o->below) {
        int rv = io_fs_unlink(o->fs, name);
        if (rv != 0 && o->rv == 0) {
            o->rv = rv;
        }
    }
    return 0;
}

int snapshot_publish(struct io_fs *fs, struct io_file *f, const char *tmp, uint64_t group,
                     const struct craft_snapshot_meta *m, bool *renamed)
{
    CRAFT_ASSERT(snapshot_meta_valid(m));
    CRAFT_ASSERT(group != 0);
    *renamed = false;
    char name[IO_FS_NAME_MAX];
    snapshot_file_name_group(group, m->index, m->term, name, sizeof name);
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
    /* Only now, with the new one durable, do the group's older ones go. One of higher index
     * stays: it is newer (a snapshot installed from the leader while this one was being
     * written). Other groups' snapshots are theirs. This is cleanup: the new snapshot is
     * durable whatever happens here, and the older ones may be gone already, so a failure here
     * must not report it as not taken (its caller would go on naming an older file that no
     * longer exists: the simulator's forced snapshots found that). What is left over goes at
     * the next publish; recovery takes the newest anyway. */
    struct older o = {.fs = fs, .group = group, .below = m->index};
    rv = io_fs_list(fs, remove_older, &o);
    if (rv == 0 && o.rv == 0) {
        rv = io_fs_sync_dir(fs);
    }
    (void)rv;
    return 0;
}

/* The newest snapshot of each group seen so far, sorted by group. */
struct latest {
    struct io_fs *fs;
    struct snapshot_group_meta *best; /* owned until handed out */
    size_t n;
    size_t cap;
    int rv;
};

static int read_header(struct io_fs *fs, const char *name, uint64_t *group,
                       struct craft_snapshot_meta *m, bool *ok)
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
        *ok = snapshot_header_decode(buf, n_read, group, m) > 0;
    }
    return rv;
}

/* Keeps m as group's newest if it is newer than what l holds for the group. */
static int keep_newest(struct latest *l, uint64_t group, const struct craft_snapshot_meta *m)
{
    size_t i = 0;
    while (i < l->n && l->best[i].group < group) {
        i++;
    }
    if (i < l->n && l->best[i].group == group) {
        if (m->index > l->best[i].meta.index) {
            l->best[i].meta = *m;
        }
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 4 : l->cap * 2;
        struct snapshot_group_meta *best = craft_realloc(l->best, cap * sizeof *best);
        if (best == NULL) {
            return CRAFT_ENOMEM;
        }
        l->best = best;
        l->cap = cap;
    }
    memmove(l->best + i + 1, l->best + i, (l->n - i) * sizeof *l->best);
    l->best[i] = (struct snapshot_group_meta){.group = group, .meta = *m};
    l->n++;
    return 0;
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
    uint64_t group;
    craft_index index;
    craft_term term;
    if (!snapshot_name_parse(name, &group, &index, &term)) {
        return 0;
    }
    struct craft_snapshot_meta m;
    uint64_t header_group = 0;
    bool ok;
    int rv = read_header(l->fs, name, &header_group, &m, &ok);
    if (rv == 0 && ok && header_group == group && m.index == index && m.term == term) {
        rv = keep_newest(l, group, &m);
    }
    if (rv != 0) {
        l->rv = rv;
        return 1;
    }
    return 0;
}

int snapshot_latest_all(struct io_fs *fs, struct snapshot_group_meta **out, size_t *n)
{
    struct latest l = {.fs = fs};
    int rv = io_fs_list(fs, consider_snapshot, &l);
    if (rv == 1 || rv == 0) {
        rv = l.rv;
    }
    if (rv != 0) {
        craft_free(l.best);
        return rv == CRAFT_ENOMEM ? rv : CRAFT_EIO;
    }
    *out = l.best;
    *n = l.n;
    return 0;
}

int snapshot_latest_group(struct io_fs *fs, uint64_t group, struct craft_snapshot_meta *meta,
                          bool *found)
{
    struct snapshot_group_meta *all;
    size_t n;
    int rv = snapshot_latest_all(fs, &all, &n);
    if (rv != 0) {
        return rv;
    }
    *found = false;
    for (size_t i = 0; i < n; i++) {
        if (all[i].group == group) {
            *meta = all[i].meta;
            *found = true;
        }
    }
    craft_free(all);
    return 0;
}

int snapshot_latest(struct io_fs *fs, struct craft_snapshot_meta *meta, bool *found)
{
    return snapshot_latest_group(fs, SNAPSHOT_GROUP_DEFAULT, meta, found);
}
