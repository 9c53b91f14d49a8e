/* The io_fs wrappers that dispatch to an implementation's ops table, and the one rule for valid
 * file names, shared by every implementation. */
#include "fs.h"

#include <string.h>

#include "util/assert.h"

int io_fs_name_ok(const char *name)
{
    size_t len;

    if (name == NULL) {
        return 0;
    }
    len = strnlen(name, IO_FS_NAME_MAX + 1);
    if (len == 0 || len > IO_FS_NAME_MAX) {
        return 0;
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        return 0;
    }
    return memchr(name, '/', len) == NULL;
}

int io_fs_open(struct io_fs *fs, const char *name, unsigned flags, struct io_file **out)
{
    CRAFT_ASSERT(fs != NULL);
    CRAFT_ASSERT(out != NULL);
    return fs->ops->open(fs->ctx, name, flags, out);
}

void io_fs_close(struct io_fs *fs, struct io_file *f)
{
    CRAFT_ASSERT(fs != NULL);
    if (f != NULL) {
        fs->ops->close(fs->ctx, f);
    }
}

int io_fs_pwrite(struct io_fs *fs, struct io_file *f, const void *buf, size_t len, uint64_t offset)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    return io_fs_pwritev(fs, f, &iov, 1, offset);
}

int io_fs_pwritev(struct io_fs *fs, struct io_file *f, const struct iovec *iov, int n_iov,
                  uint64_t offset)
{
    CRAFT_ASSERT(fs != NULL);
    CRAFT_ASSERT(f != NULL);
    CRAFT_ASSERT(n_iov >= 0);
    return fs->ops->pwritev(fs->ctx, f, iov, n_iov, offset);
}

int io_fs_pread(struct io_fs *fs, struct io_file *f, void *buf, size_t len, uint64_t offset,
                size_t *n_read)
{
    CRAFT_ASSERT(fs != NULL);
    CRAFT_ASSERT(f != NULL);
    CRAFT_ASSERT(n_read != NULL);
    return fs->ops->pread(fs->ctx, f, buf, len, offset, n_read);
}

int io_fs_fdatasync(struct io_fs *fs, struct io_file *f)
{
    CRAFT_ASSERT(fs != NULL);
    CRAFT_ASSERT(f != NULL);
    return fs->ops->fdatasync(fs->ctx, f);
}

int io_fs_size(struct io_fs *fs, struct io_file *f, uint64_t *out)
{
    CRAFT_ASSERT(fs != NULL);
    CRAFT_ASSERT(f != NULL);
    CRAFT_ASSERT(out != NULL);
    return fs->ops->size(fs->ctx, f, out);
}

int io_fs_truncate(struct io_fs *fs, struct io_file *f, uint64_t size)
{
    CRAFT_ASSERT(fs != NULL);
    CRAFT_ASSERT(f != NULL);
    return fs->ops->truncate(fs->ctx, f, size);
}

int io_fs_fallocate(struct io_fs *fs, struct io_file *f, uint64_t size)
{
    CRAFT_ASSERT(fs != NULL);
    CRAFT_ASSERT(f != NULL);
    return fs->ops->fallocate(fs->ctx, f, size);
}

int io_fs_sync_dir(struct io_fs *fs)
{
    CRAFT_ASSERT(fs != NULL);
    return fs->ops->sync_dir(fs->ctx);
}

int io_fs_rename(struct io_fs *fs, const char *from, const char *to)
{
    CRAFT_ASSERT(fs != NULL);
    return fs->ops->rename(fs->ctx, from, to);
}

int io_fs_unlink(struct io_fs *fs, const char *name)
{
    CRAFT_ASSERT(fs != NULL);
    return fs->ops->unlink(fs->ctx, name);
}

int io_fs_list(struct io_fs *fs, io_fs_list_cb cb, void *arg)
{
    CRAFT_ASSERT(fs != NULL);
    CRAFT_ASSERT(cb != NULL);
    return fs->ops->list(fs->ctx, cb, arg);
}

int io_fs_map(struct io_fs *fs, struct io_file *f, uint64_t size, const void **out)
{
    CRAFT_ASSERT(fs != NULL);
    CRAFT_ASSERT(f != NULL);
    if (fs->ops->map == NULL || size == 0) {
        return CRAFT_EINVAL;
    }
    return fs->ops->map(fs->ctx, f, size, out);
}

void io_fs_unmap(struct io_fs *fs, const void *addr, uint64_t size)
{
    CRAFT_ASSERT(fs->ops->unmap != NULL);
    fs->ops->unmap(fs->ctx, addr, size);
}
