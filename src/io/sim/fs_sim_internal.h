/* The pieces of the simulated file system shared by its files: a file's content with its pending
 * (unsynced) changes (fs_sim_inode.c) and the name -> inode maps (fs_sim_dir.c). */
#ifndef CRAFT_IO_SIM_FS_SIM_INTERNAL_H
#define CRAFT_IO_SIM_FS_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fs_sim.h"
#include "util/prng.h"

/* A growable byte array; bytes past len are garbage and are zeroed whenever len grows. */
struct fs_sim_bytes {
    uint8_t *p; /* owned */
    uint64_t len;
    uint64_t cap;
};

enum fs_sim_change_kind {
    FS_SIM_CHANGE_WRITE = 1, /* data[0..len) at offset */
    FS_SIM_CHANGE_SIZE = 2,  /* truncate or extend (zero-filled) to size */
};

/* One pending change: done to the current content, not yet to the durable content. */
struct fs_sim_change {
    enum fs_sim_change_kind kind;
    uint64_t offset; /* WRITE */
    uint64_t len;    /* WRITE */
    uint8_t *data;   /* WRITE; owned */
    uint64_t size;   /* SIZE */
};

struct fs_sim_inode {
    struct fs_sim_bytes cur;       /* what reads see */
    struct fs_sim_bytes dur;       /* what a crash that loses every pending change leaves */
    struct fs_sim_change *changes; /* owned; pending, oldest first */
    size_t n_changes;
    size_t cap_changes;
    unsigned refs; /* recounted by the collector in fs_sim.c */
};

/* How pending changes settle onto the durable content. */
enum fs_sim_settle {
    FS_SIM_SETTLE_NONE = 1,   /* none lands */
    FS_SIM_SETTLE_ALL = 2,    /* all land (fdatasync) */
    FS_SIM_SETTLE_RANDOM = 3, /* each lost, landed or torn, drawn from the generator */
};

CRAFT_MUST_CHECK int fs_sim_inode_create(struct fs_sim_inode **out);
void fs_sim_inode_destroy(struct fs_sim_inode *ino);
/* Writes iov at offset to the current content and remembers it as pending. Nothing changes on
 * failure: CRAFT_ENOMEM, CRAFT_EINVAL (past IO_FS_SIM_FILE_MAX). */
CRAFT_MUST_CHECK int fs_sim_inode_write(struct fs_sim_inode *ino, const struct iovec *iov,
                                        int n_iov, uint64_t offset);
/* Sets the current size (truncating or zero-extending), pending. Same errors as write. */
CRAFT_MUST_CHECK int fs_sim_inode_set_size(struct fs_sim_inode *ino, uint64_t size);
/* Lets every pending change settle onto the durable content as how says, then forgets them.
 * The current content is untouched. CRAFT_ENOMEM leaves everything as it was. */
CRAFT_MUST_CHECK int fs_sim_inode_settle(struct fs_sim_inode *ino, enum fs_sim_settle how,
                                         struct prng *prng);
/* Makes the current content a copy of the durable one (after a crash). */
CRAFT_MUST_CHECK int fs_sim_inode_reset_current(struct fs_sim_inode *ino);
/* Flips one bit everywhere it is stored; CRAFT_EINVAL if past both ends. */
CRAFT_MUST_CHECK int fs_sim_inode_flip_bit(struct fs_sim_inode *ino, uint64_t bit_offset);
/* Copies from b as pread would. */
size_t fs_sim_bytes_read(const struct fs_sim_bytes *b, void *buf, size_t len, uint64_t offset);

struct fs_sim_dirent {
    char name[IO_FS_NAME_MAX + 1];
    struct fs_sim_inode *ino; /* borrowed from the inode table */
};

/* A name -> inode map; a small array, searched linearly, in a deterministic order. */
struct fs_sim_dir {
    struct fs_sim_dirent *e; /* owned */
    size_t n;
    size_t cap;
};

enum fs_sim_dirop_kind {
    FS_SIM_DIROP_LINK = 1,   /* a file named from was created as ino */
    FS_SIM_DIROP_RENAME = 2, /* from became to, replacing any to */
    FS_SIM_DIROP_UNLINK = 3, /* from was removed */
};

/* One directory change since the last sync_dir. */
struct fs_sim_dirop {
    enum fs_sim_dirop_kind kind;
    char from[IO_FS_NAME_MAX + 1];
    char to[IO_FS_NAME_MAX + 1];
    struct fs_sim_inode *ino; /* LINK; borrowed */
};

void fs_sim_dir_close(struct fs_sim_dir *d);
/* The entry named name, or NULL. */
struct fs_sim_dirent *fs_sim_dir_find(const struct fs_sim_dir *d, const char *name);
/* Makes room for one more entry. CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int fs_sim_dir_reserve(struct fs_sim_dir *d);
/* Applies op; a LINK needs room (fs_sim_dir_reserve) first. The op must make sense on d. */
void fs_sim_dir_apply(struct fs_sim_dir *d, const struct fs_sim_dirop *op);
/* Makes dst a copy of src. CRAFT_ENOMEM leaves dst as it was. */
CRAFT_MUST_CHECK int fs_sim_dir_copy(struct fs_sim_dir *dst, const struct fs_sim_dir *src);

#endif
