/* The simulated directory's name -> inode maps (current and durable) and the directory changes
 * that move a map from one state to the next. */
#include <string.h>

#include "fs_sim_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

void fs_sim_dir_close(struct fs_sim_dir *d)
{
    craft_free(d->e);
    d->e = NULL;
    d->n = 0;
    d->cap = 0;
}

struct fs_sim_dirent *fs_sim_dir_find(const struct fs_sim_dir *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->e[i].name, name) == 0) {
            return &d->e[i];
        }
    }
    return NULL;
}

static int reserve_n(struct fs_sim_dir *d, size_t n)
{
    size_t cap;
    struct fs_sim_dirent *e;

    if (n <= d->cap) {
        return 0;
    }
    cap = d->cap == 0 ? 16 : d->cap;
    while (cap < n) {
        cap *= 2;
    }
    e = craft_realloc(d->e, cap * sizeof *e);
    if (e == NULL) {
        return CRAFT_ENOMEM;
    }
    d->e = e;
    d->cap = cap;
    return 0;
}

int fs_sim_dir_reserve(struct fs_sim_dir *d)
{
    return reserve_n(d, d->n + 1);
}

/* Removes entry e, keeping the order of the others (listing order stays insertion order). */
static void remove_entry(struct fs_sim_dir *d, struct fs_sim_dirent *e)
{
    size_t i = (size_t)(e - d->e);
    memmove(&d->e[i], &d->e[i + 1], (d->n - i - 1) * sizeof *e);
    d->n--;
}

void fs_sim_dir_apply(struct fs_sim_dir *d, const struct fs_sim_dirop *op)
{
    struct fs_sim_dirent *from = fs_sim_dir_find(d, op->from);
    struct fs_sim_dirent *to;

    switch (op->kind) {
    case FS_SIM_DIROP_LINK:
        CRAFT_ASSERT(from == NULL);
        CRAFT_ASSERT(d->n < d->cap);
        memcpy(d->e[d->n].name, op->from, sizeof d->e[d->n].name);
        d->e[d->n].ino = op->ino;
        d->n++;
        break;
    case FS_SIM_DIROP_RENAME:
        CRAFT_ASSERT(from != NULL);
        if (strcmp(op->from, op->to) == 0) {
            break;
        }
        to = fs_sim_dir_find(d, op->to);
        if (to != NULL) {
            /* The source takes the target's place; the target's inode loses this name. */
            to->ino = from->ino;
            remove_entry(d, from);
        } else {
            memcpy(from->name, op->to, sizeof from->name);
        }
        break;
    case FS_SIM_DIROP_UNLINK:
        CRAFT_ASSERT(from != NULL);
        remove_entry(d, from);
        break;
    }
}

int fs_sim_dir_copy(struct fs_sim_dir *dst, const struct fs_sim_dir *src)
{
    int rv = reserve_n(dst, src->n);
    if (rv != 0) {
        return rv;
    }
    if (src->n > 0) {
        memcpy(dst->e, src->e, src->n * sizeof *src->e);
    }
    dst->n = src->n;
    return 0;
}
