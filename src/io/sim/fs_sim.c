/* The simulated io_fs: the ops table over in-memory inodes and directory maps, fault injection,
 * operation counting with die_after, and the crash that reverts to what was synced. */
#include <string.h>

#include "fs_sim_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

/* An open file; valid while ino is set. A crash clears ino but keeps the handle allocated until
 * io_fs_close (or destroy), so a caller that still holds it gets CRAFT_EIO, never a dangling read.
 */
struct io_file {
    struct fs_sim_inode *ino; /* borrowed from the inode table; NULL after a crash */
    struct io_file *prev;     /* the sim's list of every handle not yet closed */
    struct io_file *next;
};

struct io_fs_sim {
    struct io_fs fs;
    struct prng prng;
    struct io_fs_sim_faults faults;
    struct fs_sim_inode **inodes; /* owned, each with its inode: every inode still referenced */
    size_t n_inodes;
    size_t cap_inodes;
    struct fs_sim_dir cur;       /* owned; the directory reads see */
    struct fs_sim_dir dur;       /* owned; the directory at the last sync_dir */
    struct fs_sim_dirop *dirops; /* owned; changes since the last sync_dir, oldest first */
    size_t n_dirops;
    size_t cap_dirops;
    struct io_file *files; /* owned list of handles */
    uint64_t n_ops;
    uint64_t n_fdatasyncs; /* fdatasync calls that reached the disk (see io_fs_sim_fdatasyncs) */
    bool dying;
    uint64_t die_after;
    bool misdirect_armed;
    int64_t misdirect_delta;
};

void io_fs_sim_faults_init(struct io_fs_sim_faults *faults)
{
    memset(faults, 0, sizeof *faults);
    faults->crash_policy = IO_FS_SIM_CRASH_RANDOM;
}

/* Counts a mutating call; CRAFT_EIO if the process has died by now. */
static int op_begin(struct io_fs_sim *sim)
{
    sim->n_ops++;
    if (sim->dying && sim->n_ops > sim->die_after) {
        return CRAFT_EIO;
    }
    return 0;
}

/* Frees every inode that no name (current or durable), pending directory change or valid handle
 * refers to any more. */
static void collect(struct io_fs_sim *sim)
{
    for (size_t i = 0; i < sim->n_inodes; i++) {
        sim->inodes[i]->refs = 0;
    }
    for (size_t i = 0; i < sim->cur.n; i++) {
        sim->cur.e[i].ino->refs++;
    }
    for (size_t i = 0; i < sim->dur.n; i++) {
        sim->dur.e[i].ino->refs++;
    }
    for (size_t i = 0; i < sim->n_dirops; i++) {
        if (sim->dirops[i].ino != NULL) {
            sim->dirops[i].ino->refs++;
        }
    }
    for (struct io_file *f = sim->files; f != NULL; f = f->next) {
        if (f->ino != NULL) {
            f->ino->refs++;
        }
    }
    for (size_t i = 0; i < sim->n_inodes;) {
        if (sim->inodes[i]->refs == 0) {
            fs_sim_inode_destroy(sim->inodes[i]);
            /* Keep the order: crash settles inodes in a seed-determined order. */
            memmove(&sim->inodes[i], &sim->inodes[i + 1],
                    (sim->n_inodes - i - 1) * sizeof *sim->inodes);
            sim->n_inodes--;
        } else {
            i++;
        }
    }
}

static int reserve_dirop(struct io_fs_sim *sim)
{
    size_t cap;
    struct fs_sim_dirop *d;

    if (sim->n_dirops < sim->cap_dirops) {
        return 0;
    }
    cap = sim->cap_dirops == 0 ? 16 : sim->cap_dirops * 2;
    d = craft_realloc(sim->dirops, cap * sizeof *d);
    if (d == NULL) {
        return CRAFT_ENOMEM;
    }
    sim->dirops = d;
    sim->cap_dirops = cap;
    return 0;
}

/* Applies a directory change to the current map and remembers it. Room for both must be there. */
static void dir_change(struct io_fs_sim *sim, enum fs_sim_dirop_kind kind, const char *from,
                       const char *to, struct fs_sim_inode *ino)
{
    struct fs_sim_dirop *op = &sim->dirops[sim->n_dirops++];

    CRAFT_ASSERT(sim->n_dirops <= sim->cap_dirops);
    memset(op, 0, sizeof *op);
    op->kind = kind;
    strcpy(op->from, from);
    if (to != NULL) {
        strcpy(op->to, to);
    }
    op->ino = ino;
    fs_sim_dir_apply(&sim->cur, op);
}

static uint64_t used_bytes(const struct io_fs_sim *sim)
{
    uint64_t used = 0;
    for (size_t i = 0; i < sim->n_inodes; i++) {
        used += sim->inodes[i]->cur.len;
    }
    return used;
}

/* CRAFT_ENOSPC if growing ino's current content to size would pass the capacity. */
static int check_capacity(const struct io_fs_sim *sim, const struct fs_sim_inode *ino,
                          uint64_t size)
{
    if (sim->faults.capacity_bytes == 0 || size <= ino->cur.len) {
        return 0;
    }
    if (used_bytes(sim) + (size - ino->cur.len) > sim->faults.capacity_bytes) {
        return CRAFT_ENOSPC;
    }
    return 0;
}

static int new_inode(struct io_fs_sim *sim, struct fs_sim_inode **out)
{
    if (sim->n_inodes == sim->cap_inodes) {
        size_t cap = sim->cap_inodes == 0 ? 16 : sim->cap_inodes * 2;
        struct fs_sim_inode **a = craft_realloc(sim->inodes, cap * sizeof *a);
        if (a == NULL) {
            return CRAFT_ENOMEM;
        }
        sim->inodes = a;
        sim->cap_inodes = cap;
    }
    int rv = fs_sim_inode_create(out);
    if (rv != 0) {
        return rv;
    }
    sim->inodes[sim->n_inodes++] = *out;
    return 0;
}

/* Finds or creates name's inode as the flags say; on success the name is in the current map. */
static int open_inode(struct io_fs_sim *sim, const char *name, unsigned flags,
                      struct fs_sim_inode **out)
{
    struct fs_sim_dirent *e = fs_sim_dir_find(&sim->cur, name);
    int rv;

    if (e != NULL) {
        if ((flags & IO_FS_CREATE) && (flags & IO_FS_EXCL)) {
            return CRAFT_EEXIST;
        }
        *out = e->ino;
        return 0;
    }
    if (!(flags & IO_FS_CREATE)) {
        return CRAFT_ENOTFOUND;
    }
    rv = fs_sim_dir_reserve(&sim->cur);
    if (rv != 0) {
        return rv;
    }
    rv = reserve_dirop(sim);
    if (rv != 0) {
        return rv;
    }
    rv = new_inode(sim, out);
    if (rv != 0) {
        return rv;
    }
    dir_change(sim, FS_SIM_DIROP_LINK, name, NULL, *out);
    return 0;
}

static int sim_open(void *ctx, const char *name, unsigned flags, struct io_file **out)
{
    struct io_fs_sim *sim = ctx;
    struct fs_sim_inode *ino;
    struct io_file *f;
    int rv;

    *out = NULL;
    if (!io_fs_name_ok(name)) {
        return CRAFT_EINVAL;
    }
    if (flags & (IO_FS_CREATE | IO_FS_TRUNC)) {
        rv = op_begin(sim);
        if (rv != 0) {
            goto fail;
        }
    }
    f = craft_calloc(1, sizeof *f);
    if (f == NULL) {
        rv = CRAFT_ENOMEM;
        goto fail;
    }
    rv = open_inode(sim, name, flags, &ino);
    if (rv != 0) {
        goto fail_file;
    }
    if (flags & IO_FS_TRUNC) {
        rv = fs_sim_inode_set_size(ino, 0);
        if (rv != 0) {
            goto fail_file; /* a new inode stays named, as after a real failed O_TRUNC */
        }
    }
    f->ino = ino;
    f->next = sim->files;
    if (sim->files != NULL) {
        sim->files->prev = f;
    }
    sim->files = f;
    *out = f;
    return 0;

fail_file:
    craft_free(f);
fail:
    return rv;
}

static void sim_close(void *ctx, struct io_file *f)
{
    struct io_fs_sim *sim = ctx;

    if (f->prev != NULL) {
        f->prev->next = f->next;
    } else {
        sim->files = f->next;
    }
    if (f->next != NULL) {
        f->next->prev = f->prev;
    }
    craft_free(f);
    collect(sim); /* an unlinked file dies with its last handle */
}

static int sim_pwritev(void *ctx, struct io_file *f, const struct iovec *iov, int n_iov,
                       uint64_t offset)
{
    struct io_fs_sim *sim = ctx;
    uint64_t total = 0;
    int rv;

    if (f->ino == NULL) {
        return CRAFT_EIO;
    }
    rv = op_begin(sim);
    if (rv != 0) {
        return rv;
    }
    if (sim->faults.write_eio_ppm > 0 && prng_chance(&sim->prng, sim->faults.write_eio_ppm)) {
        return CRAFT_EIO;
    }
    if (sim->faults.write_enospc_ppm > 0 && prng_chance(&sim->prng, sim->faults.write_enospc_ppm)) {
        return CRAFT_ENOSPC;
    }
    if (sim->misdirect_armed) {
        sim->misdirect_armed = false;
        if (sim->misdirect_delta < 0 && (uint64_t)(-(sim->misdirect_delta + 1)) + 1 > offset) {
            offset = 0;
        } else {
            offset += (uint64_t)sim->misdirect_delta; /* wraps correctly for a negative delta */
        }
    }
    for (int i = 0; i < n_iov; i++) {
        total += iov[i].iov_len;
    }
    if (total > 0 && offset <= IO_FS_SIM_FILE_MAX && total <= IO_FS_SIM_FILE_MAX - offset) {
        rv = check_capacity(sim, f->ino, offset + total);
        if (rv != 0) {
            return rv;
        }
    }
    return fs_sim_inode_write(f->ino, iov, n_iov, offset);
}

static int sim_pread(void *ctx, struct io_file *f, void *buf, size_t len, uint64_t offset,
                     size_t *n_read)
{
    (void)ctx;
    *n_read = 0;
    if (f->ino == NULL) {
        return CRAFT_EIO;
    }
    *n_read = fs_sim_bytes_read(&f->ino->cur, buf, len, offset);
    return 0;
}

static int sim_fdatasync(void *ctx, struct io_file *f)
{
    struct io_fs_sim *sim = ctx;
    int rv;

    if (f->ino == NULL) {
        return CRAFT_EIO;
    }
    rv = op_begin(sim);
    if (rv != 0) {
        return rv;
    }
    sim->n_fdatasyncs++;
    if (sim->faults.fsync_eio_ppm > 0 && prng_chance(&sim->prng, sim->faults.fsync_eio_ppm)) {
        /* Whatever did not land now never will: the kernel marked the pages clean. */
        rv = fs_sim_inode_settle(f->ino, FS_SIM_SETTLE_RANDOM, &sim->prng);
        return rv != 0 ? rv : CRAFT_EIO;
    }
    return fs_sim_inode_settle(f->ino, FS_SIM_SETTLE_ALL, &sim->prng);
}

static int sim_size(void *ctx, struct io_file *f, uint64_t *out)
{
    (void)ctx;
    if (f->ino == NULL) {
        return CRAFT_EIO;
    }
    *out = f->ino->cur.len;
    return 0;
}

static int sim_truncate(void *ctx, struct io_file *f, uint64_t size)
{
    struct io_fs_sim *sim = ctx;
    int rv;

    if (f->ino == NULL) {
        return CRAFT_EIO;
    }
    rv = op_begin(sim);
    if (rv != 0) {
        return rv;
    }
    if (size > IO_FS_SIM_FILE_MAX) {
        return CRAFT_EINVAL;
    }
    rv = check_capacity(sim, f->ino, size);
    if (rv != 0) {
        return rv;
    }
    return fs_sim_inode_set_size(f->ino, size);
}

static int sim_fallocate(void *ctx, struct io_file *f, uint64_t size)
{
    struct io_fs_sim *sim = ctx;
    int rv;

    if (f->ino == NULL) {
        return CRAFT_EIO;
    }
    rv = op_begin(sim);
    if (rv != 0) {
        return rv;
    }
    if (size <= f->ino->cur.len) {
        return 0; /* never shrinks */
    }
    if (size > IO_FS_SIM_FILE_MAX) {
        return CRAFT_EINVAL;
    }
    rv = check_capacity(sim, f->ino, size);
    if (rv != 0) {
        return rv;
    }
    return fs_sim_inode_set_size(f->ino, size);
}

static int sim_sync_dir(void *ctx)
{
    struct io_fs_sim *sim = ctx;
    int rv = op_begin(sim);

    if (rv != 0) {
        return rv;
    }
    if (sim->faults.sync_dir_eio_ppm > 0 && prng_chance(&sim->prng, sim->faults.sync_dir_eio_ppm)) {
        return CRAFT_EIO; /* nothing made durable; the changes stay pending */
    }
    rv = fs_sim_dir_copy(&sim->dur, &sim->cur);
    if (rv != 0) {
        return rv;
    }
    sim->n_dirops = 0;
    collect(sim);
    return 0;
}

static int sim_rename(void *ctx, const char *from, const char *to)
{
    struct io_fs_sim *sim = ctx;
    int rv;

    if (!io_fs_name_ok(from) || !io_fs_name_ok(to)) {
        return CRAFT_EINVAL;
    }
    rv = op_begin(sim);
    if (rv != 0) {
        return rv;
    }
    if (fs_sim_dir_find(&sim->cur, from) == NULL) {
        return CRAFT_ENOTFOUND;
    }
    if (strcmp(from, to) == 0) {
        return 0;
    }
    rv = reserve_dirop(sim);
    if (rv != 0) {
        return rv;
    }
    dir_change(sim, FS_SIM_DIROP_RENAME, from, to, NULL);
    collect(sim);
    return 0;
}

static int sim_unlink(void *ctx, const char *name)
{
    struct io_fs_sim *sim = ctx;
    int rv;

    if (!io_fs_name_ok(name)) {
        return CRAFT_EINVAL;
    }
    rv = op_begin(sim);
    if (rv != 0) {
        return rv;
    }
    if (fs_sim_dir_find(&sim->cur, name) == NULL) {
        return CRAFT_ENOTFOUND;
    }
    rv = reserve_dirop(sim);
    if (rv != 0) {
        return rv;
    }
    dir_change(sim, FS_SIM_DIROP_UNLINK, name, NULL, NULL);
    collect(sim);
    return 0;
}

/* Lists a copy of the names, so the callback may create, rename or unlink as it goes. */
static int sim_list(void *ctx, io_fs_list_cb cb, void *arg)
{
    struct io_fs_sim *sim = ctx;
    struct fs_sim_dir snap = {0};
    int rv = fs_sim_dir_copy(&snap, &sim->cur);

    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i < snap.n && rv == 0; i++) {
        rv = cb(arg, snap.e[i].name);
    }
    fs_sim_dir_close(&snap);
    return rv;
}

static const struct io_fs_ops sim_ops = {
    .open = sim_open,
    .close = sim_close,
    .pwritev = sim_pwritev,
    .pread = sim_pread,
    .fdatasync = sim_fdatasync,
    .size = sim_size,
    .truncate = sim_truncate,
    .fallocate = sim_fallocate,
    .sync_dir = sim_sync_dir,
    .rename = sim_rename,
    .unlink = sim_unlink,
    .list = sim_list,
};

int io_fs_sim_create(uint64_t seed, struct io_fs_sim **out)
{
    struct io_fs_sim *sim = craft_calloc(1, sizeof *sim);

    *out = NULL;
    if (sim == NULL) {
        return CRAFT_ENOMEM;
    }
    prng_seed(&sim->prng, seed);
    io_fs_sim_faults_init(&sim->faults);
    sim->fs.ctx = sim;
    sim->fs.ops = &sim_ops;
    *out = sim;
    return 0;
}

void io_fs_sim_destroy(struct io_fs_sim *sim)
{
    if (sim == NULL) {
        return;
    }
    while (sim->files != NULL) {
        struct io_file *f = sim->files;
        sim->files = f->next;
        craft_free(f);
    }
    for (size_t i = 0; i < sim->n_inodes; i++) {
        fs_sim_inode_destroy(sim->inodes[i]);
    }
    craft_free(sim->inodes);
    craft_free(sim->dirops);
    fs_sim_dir_close(&sim->cur);
    fs_sim_dir_close(&sim->dur);
    craft_free(sim);
}

struct io_fs *io_fs_sim_fs(struct io_fs_sim *sim)
{
    return &sim->fs;
}

void io_fs_sim_set_faults(struct io_fs_sim *sim, const struct io_fs_sim_faults *faults)
{
    CRAFT_ASSERT(faults->crash_policy >= IO_FS_SIM_CRASH_LOSE_ALL);
    CRAFT_ASSERT(faults->crash_policy <= IO_FS_SIM_CRASH_RANDOM);
    sim->faults = *faults;
}

/* The durable directory after the crash: the pending changes the policy lets land, in order. */
static int crash_dir(struct io_fs_sim *sim)
{
    size_t n_land = 0;
    int rv;

    switch (sim->faults.crash_policy) {
    case IO_FS_SIM_CRASH_LOSE_ALL:
        break;
    case IO_FS_SIM_CRASH_KEEP_ALL:
        n_land = sim->n_dirops;
        break;
    case IO_FS_SIM_CRASH_RANDOM:
        n_land = (size_t)prng_below(&sim->prng, sim->n_dirops + 1);
        break;
    }
    for (size_t i = 0; i < n_land; i++) {
        rv = fs_sim_dir_reserve(&sim->dur);
        if (rv != 0) {
            return rv;
        }
        fs_sim_dir_apply(&sim->dur, &sim->dirops[i]);
    }
    sim->n_dirops = 0;
    return fs_sim_dir_copy(&sim->cur, &sim->dur);
}

int io_fs_sim_crash(struct io_fs_sim *sim)
{
    static const enum fs_sim_settle settle_of[] = {
        [IO_FS_SIM_CRASH_LOSE_ALL] = FS_SIM_SETTLE_NONE,
        [IO_FS_SIM_CRASH_KEEP_ALL] = FS_SIM_SETTLE_ALL,
        [IO_FS_SIM_CRASH_RANDOM] = FS_SIM_SETTLE_RANDOM,
    };
    enum fs_sim_settle how = settle_of[sim->faults.crash_policy];
    int rv;

    for (struct io_file *f = sim->files; f != NULL; f = f->next) {
        f->ino = NULL;
    }
    sim->dying = false;
    sim->misdirect_armed = false;
    rv = crash_dir(sim);
    if (rv != 0) {
        return rv;
    }
    for (size_t i = 0; i < sim->dur.n; i++) {
        struct fs_sim_inode *ino = sim->dur.e[i].ino;
        rv = fs_sim_inode_settle(ino, how, &sim->prng);
        if (rv != 0) {
            return rv;
        }
        rv = fs_sim_inode_reset_current(ino);
        if (rv != 0) {
            return rv;
        }
    }
    collect(sim);
    return 0;
}

void io_fs_sim_kill(struct io_fs_sim *sim)
{
    for (struct io_file *f = sim->files; f != NULL; f = f->next) {
        f->ino = NULL;
    }
    sim->dying = false;
    sim->misdirect_armed = false;
    collect(sim); /* an unlinked file dies with its last handle */
}

uint64_t io_fs_sim_fdatasyncs(const struct io_fs_sim *sim)
{
    return sim->n_fdatasyncs;
}

uint64_t io_fs_sim_ops(const struct io_fs_sim *sim)
{
    return sim->n_ops;
}

void io_fs_sim_die_after(struct io_fs_sim *sim, uint64_t n)
{
    sim->dying = true;
    sim->die_after = n;
}

void io_fs_sim_misdirect_next_write(struct io_fs_sim *sim, int64_t delta)
{
    sim->misdirect_armed = true;
    sim->misdirect_delta = delta;
}

int io_fs_sim_flip_bit(struct io_fs_sim *sim, const char *name, uint64_t bit_offset)
{
    struct fs_sim_dirent *e = io_fs_name_ok(name) ? fs_sim_dir_find(&sim->cur, name) : NULL;

    if (e == NULL) {
        return CRAFT_ENOTFOUND;
    }
    return fs_sim_inode_flip_bit(e->ino, bit_offset);
}

/* The content of name as view sees it, or NULL. */
static const struct fs_sim_bytes *view_bytes(const struct io_fs_sim *sim, const char *name,
                                             enum io_fs_sim_view view)
{
    const struct fs_sim_dir *d = view == IO_FS_SIM_DURABLE ? &sim->dur : &sim->cur;
    struct fs_sim_dirent *e = io_fs_name_ok(name) ? fs_sim_dir_find(d, name) : NULL;

    if (e == NULL) {
        return NULL;
    }
    return view == IO_FS_SIM_DURABLE ? &e->ino->dur : &e->ino->cur;
}

bool io_fs_sim_exists(const struct io_fs_sim *sim, const char *name, enum io_fs_sim_view view)
{
    return view_bytes(sim, name, view) != NULL;
}

int io_fs_sim_file_size(const struct io_fs_sim *sim, const char *name, enum io_fs_sim_view view,
                        uint64_t *out)
{
    const struct fs_sim_bytes *b = view_bytes(sim, name, view);

    if (b == NULL) {
        return CRAFT_ENOTFOUND;
    }
    *out = b->len;
    return 0;
}

int io_fs_sim_read(const struct io_fs_sim *sim, const char *name, enum io_fs_sim_view view,
                   uint64_t offset, void *buf, size_t len, size_t *n_read)
{
    const struct fs_sim_bytes *b = view_bytes(sim, name, view);

    *n_read = 0;
    if (b == NULL) {
        return CRAFT_ENOTFOUND;
    }
    *n_read = fs_sim_bytes_read(b, buf, len, offset);
    return 0;
}
