/* The file-system interface under storage: one data directory, flat names inside it.
 * Two implementations: fs_posix.c (production) and fs_sim.c (tests: a page-cache model where
 * unsynced writes are lost or torn on a crash, with injectable faults). Every call returns 0 or
 * a negative CRAFT_E* code (CRAFT_EIO, CRAFT_ENOSPC, CRAFT_ENOMEM, CRAFT_EINVAL); a missing file
 * is CRAFT_ENOTFOUND. Calls on one io_fs come from one thread at a time. */
#ifndef CRAFT_IO_FS_H
#define CRAFT_IO_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "craft/errors.h"

/* Open flags. */
#define IO_FS_CREATE 1u /* create if missing */
#define IO_FS_EXCL 2u   /* with CREATE: fail with CRAFT_EEXIST if it exists */
#define IO_FS_TRUNC 4u  /* empty it on open */

/* The POSIX io_fs writes zeros ahead of a write that ends in a range its fallocate reserved, up
 * to the next multiple of this many bytes (fs_posix.c, zero_ahead: it spares most fdatasyncs an
 * extent conversion). The benchmarks' raw log does the same. */
#define IO_FS_ZERO_AHEAD_BYTES (256u << 10)

/* A file name inside the data directory: no '/', not "." or "..", at most this long. */
#define IO_FS_NAME_MAX 128

struct io_file; /* an open file; owned by the io_fs that opened it until io_fs_close */

/* Called once per name by list; return non-zero to stop early (list then returns that value). */
typedef int (*io_fs_list_cb)(void *arg, const char *name);

struct io_fs_ops {
    int (*open)(void *ctx, const char *name, unsigned flags, struct io_file **out);
    void (*close)(void *ctx, struct io_file *f);
    int (*pwritev)(void *ctx, struct io_file *f, const struct iovec *iov, int n_iov,
                   uint64_t offset);
    /* Reads up to len bytes; *n_read < len only at the end of the file. */
    int (*pread)(void *ctx, struct io_file *f, void *buf, size_t len, uint64_t offset,
                 size_t *n_read);
    int (*fdatasync)(void *ctx, struct io_file *f);
    int (*size)(void *ctx, struct io_file *f, uint64_t *out);
    int (*truncate)(void *ctx, struct io_file *f, uint64_t size);
    /* Reserves space up to size (zero-filled); never shrinks. */
    int (*fallocate)(void *ctx, struct io_file *f, uint64_t size);
    /* Makes creations, renames and unlinks in the directory durable. */
    int (*sync_dir)(void *ctx);
    int (*rename)(void *ctx, const char *from, const char *to);
    int (*unlink)(void *ctx, const char *name);
    int (*list)(void *ctx, io_fs_list_cb cb, void *arg);
    /* Optional (NULL: not offered): maps the first size bytes of f read-only, so a reader can
     * scan a whole file without copying it; the mapping outlives f and ends with unmap. */
    int (*map)(void *ctx, struct io_file *f, uint64_t size, const void **out);
    void (*unmap)(void *ctx, const void *addr, uint64_t size);
};

struct io_fs {
    void *ctx;
    const struct io_fs_ops *ops;
};

/* Thin wrappers so callers read naturally: io_fs_open(fs, "x", IO_FS_CREATE, &f). */
CRAFT_MUST_CHECK int io_fs_open(struct io_fs *fs, const char *name, unsigned flags,
                                struct io_file **out);
void io_fs_close(struct io_fs *fs, struct io_file *f);
CRAFT_MUST_CHECK int io_fs_pwrite(struct io_fs *fs, struct io_file *f, const void *buf,
                                  size_t len, uint64_t offset);
CRAFT_MUST_CHECK int io_fs_pwritev(struct io_fs *fs, struct io_file *f, const struct iovec *iov,
                                   int n_iov, uint64_t offset);
CRAFT_MUST_CHECK int io_fs_pread(struct io_fs *fs, struct io_file *f, void *buf, size_t len,
                                 uint64_t offset, size_t *n_read);
CRAFT_MUST_CHECK int io_fs_fdatasync(struct io_fs *fs, struct io_file *f);
CRAFT_MUST_CHECK int io_fs_size(struct io_fs *fs, struct io_file *f, uint64_t *out);
CRAFT_MUST_CHECK int io_fs_truncate(struct io_fs *fs, struct io_file *f, uint64_t size);
CRAFT_MUST_CHECK int io_fs_fallocate(struct io_fs *fs, struct io_file *f, uint64_t size);
CRAFT_MUST_CHECK int io_fs_sync_dir(struct io_fs *fs);
CRAFT_MUST_CHECK int io_fs_rename(struct io_fs *fs, const char *from, const char *to);
CRAFT_MUST_CHECK int io_fs_unlink(struct io_fs *fs, const char *name);
CRAFT_MUST_CHECK int io_fs_list(struct io_fs *fs, io_fs_list_cb cb, void *arg);

/* Maps f read-only (see io_fs_ops.map): 0, CRAFT_EINVAL if this file system does not offer it,
 * CRAFT_ENOMEM, CRAFT_EIO. */
CRAFT_MUST_CHECK int io_fs_map(struct io_fs *fs, struct io_file *f, uint64_t size,
                               const void **out);
void io_fs_unmap(struct io_fs *fs, const void *addr, uint64_t size);

/* True if name is a valid flat file name (see IO_FS_NAME_MAX). */
int io_fs_name_ok(const char *name);

/* The POSIX file system rooted at dir (created if missing). *out is owned by the caller until
 * io_fs_posix_destroy. Returns 0, CRAFT_EIO (with errno text in the log), CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int io_fs_posix_create(const char *dir, struct io_fs **out);
void io_fs_posix_destroy(struct io_fs *fs);

#endif
