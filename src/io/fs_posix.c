/* The POSIX io_fs: one data directory opened once, every file reached relative to it with the
 * *at() calls, writes and reads looped over short transfers and EINTR, errno mapped to CRAFT_E*. */
#define _GNU_SOURCE /* fallocate */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h> /* renameat */
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/log.h"

struct posix_fs {
    struct io_fs fs; /* first, so the io_fs handed out is the posix_fs */
    int dir_fd;      /* owned; O_DIRECTORY, the root of every name */
};

struct io_file {
    int fd; /* owned */
    /* The range the last posix_reserve added: every byte in [zero_from, zero_limit) not written
     * through this handle reads as zero (zero_limit 0: none, no zero-ahead). */
    uint64_t zero_from;
    uint64_t zero_limit;
    /* Every write through this handle ended at or below it: zeros written after zeroed_to can
     * never land on data. */
    uint64_t zeroed_to;
};

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

static int map_errno(int err)
{
    switch (err) {
    case ENOENT:
        return CRAFT_ENOTFOUND;
    case EEXIST:
        return CRAFT_EEXIST;
    case ENOSPC:
    case EDQUOT:
        return CRAFT_ENOSPC;
    case ENOMEM:
        return CRAFT_ENOMEM;
    case EINVAL:
    case ENAMETOOLONG:
        return CRAFT_EINVAL;
    default:
        return CRAFT_EIO;
    }
}

static int fail_errno(const char *what, const char *name)
{
    int err = errno;
    craft_log(CRAFT_LOG_WARN, 0, 0, "fs: %s %s: %s", what, name != NULL ? name : "", strerror(err));
    return map_errno(err);
}

static int posix_open(void *ctx, const char *name, unsigned flags, struct io_file **out)
{
    struct posix_fs *pfs = ctx;
    struct io_file *f;
    int oflags = O_RDWR | O_CLOEXEC;
    int fd;

    *out = NULL;
    if (!io_fs_name_ok(name)) {
        return CRAFT_EINVAL;
    }
    if (flags & IO_FS_CREATE) {
        oflags |= O_CREAT;
        if (flags & IO_FS_EXCL) {
            oflags |= O_EXCL;
        }
    }
    if (flags & IO_FS_TRUNC) {
        oflags |= O_TRUNC;
    }
    f = craft_malloc(sizeof *f);
    if (f == NULL) {
        return CRAFT_ENOMEM;
    }
    do {
        fd = openat(pfs->dir_fd, name, oflags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        /* A missing or already existing file is an answer, not a fault: no log line. */
        int rv = errno == ENOENT || errno == EEXIST ? map_errno(errno) : fail_errno("open", name);
        craft_free(f);
        return rv;
    }
    *f = (struct io_file){.fd = fd};
    *out = f;
    return 0;
}

static void posix_close(void *ctx, struct io_file *f)
{
    (void)ctx;
    /* Durability comes from fdatasync, never from close; an error here tells nothing more. */
    close(f->fd);
    craft_free(f);
}

/* Writes all of iov at offset, resuming after short writes: the rest of a partly written element
 * goes by pwrite, whole elements by pwritev in runs of at most IOV_MAX. */
static int write_all(struct io_file *f, const struct iovec *iov, int n_iov, uint64_t offset)
{
    int i = 0;
    size_t skip = 0; /* bytes of iov[i] already written */

    while (i < n_iov) {
        ssize_t n;
        size_t left;

        if (skip == iov[i].iov_len) {
            i++;
            skip = 0;
            continue;
        }
        if (offset > (uint64_t)INT64_MAX) {
            return CRAFT_EINVAL;
        }
        if (skip > 0) {
            n = pwrite(f->fd, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip,
                       (off_t)offset);
        } else {
            int n_run = n_iov - i < IOV_MAX ? n_iov - i : IOV_MAX;
            n = pwritev(f->fd, iov + i, n_run, (off_t)offset);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail_errno("pwritev", NULL);
        }
        if (n == 0) {
            return CRAFT_EIO; /* no progress on a non-empty write: do not spin */
        }
        offset += (uint64_t)n;
        for (left = (size_t)n; left > 0;) {
            size_t avail = iov[i].iov_len - skip;
            if (left < avail) {
                skip += left;
                left = 0;
            } else {
                left -= avail;
                i++;
                skip = 0;
            }
        }
    }
    return 0;
}

/* Zero-ahead: when a write ends past zeroed_to inside the reserved range, zeros go from its end
 * to the next IO_FS_ZERO_AHEAD_BYTES boundary (one more system call per 256 KiB). On ext4 and
 * XFS, fallocate reserves unwritten extents: the first write into each block turns it into a
 * written one, a metadata change, so an fdatasync covering such a block also commits the
 * journal. Written ahead, a run of blocks is converted once and the records then overwrite it,
 * so most fdatasyncs flush data alone: 1.2-1.6 times as many per second on this project's test
 * disk (docs/benchmarks.md, "Zero-ahead"). What the file reads is unchanged: the range reads as
 * zeros either way. */
static int zero_ahead(struct io_file *f, uint64_t end)
{
    static unsigned char zeros[IO_FS_ZERO_AHEAD_BYTES]; /* never written: reads as zeros */

    if (end <= f->zeroed_to) {
        return 0;
    }
    f->zeroed_to = end; /* the zeros start at end: never below data written through f */
    if (end < f->zero_from || end >= f->zero_limit) {
        return 0;
    }
    uint64_t to = (end / IO_FS_ZERO_AHEAD_BYTES + 1) * IO_FS_ZERO_AHEAD_BYTES;
    if (to > f->zero_limit) {
        to = f->zero_limit; /* never past what posix_reserve made the file's size */
    }
    struct iovec iov = {zeros, (size_t)(to - end)};
    int rv = write_all(f, &iov, 1, end);
    if (rv == 0) {
        f->zeroed_to = to;
    }
    return rv;
}

static int posix_pwritev(void *ctx, struct io_file *f, const struct iovec *iov, int n_iov,
                         uint64_t offset)
{
    (void)ctx;
    uint64_t end = offset;
    for (int i = 0; i < n_iov; i++) {
        end += iov[i].iov_len;
    }
    int rv = write_all(f, iov, n_iov, offset);
    return rv != 0 ? rv : zero_ahead(f, end);
}

static int posix_pread(void *ctx, struct io_file *f, void *buf, size_t len, uint64_t offset,
                       size_t *n_read)
{
    size_t done = 0;

    (void)ctx;
    *n_read = 0;
    while (done < len) {
        ssize_t n;
        if (offset + done > (uint64_t)INT64_MAX) {
            return CRAFT_EINVAL;
        }
        n = pread(f->fd, (char *)buf + done, len - done, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail_errno("pread", NULL);
        }
        if (n == 0) {
            break; /* end of file */
        }
        done += (size_t)n;
    }
    *n_read = done;
    return 0;
}

static int posix_fdatasync(void *ctx, struct io_file *f)
{
    int rv;

    (void)ctx;
    do {
        rv = fdatasync(f->fd);
    } while (rv != 0 && errno == EINTR);
    return rv == 0 ? 0 : fail_errno("fdatasync", NULL);
}

static int posix_size(void *ctx, struct io_file *f, uint64_t *out)
{
    struct stat st;

    (void)ctx;
    if (fstat(f->fd, &st) != 0) {
        return fail_errno("fstat", NULL);
    }
    *out = (uint64_t)st.st_size;
    return 0;
}

static int posix_truncate(void *ctx, struct io_file *f, uint64_t size)
{
    int rv;

    (void)ctx;
    if (size > (uint64_t)INT64_MAX) {
        return CRAFT_EINVAL;
    }
    do {
        rv = ftruncate(f->fd, (off_t)size);
    } while (rv != 0 && errno == EINTR);
    if (rv != 0) {
        return fail_errno("ftruncate", NULL);
    }
    if (f->zero_limit > size) {
        f->zero_limit = size; /* zeros past the end would grow the file */
    }
    return 0;
}

/* fallocate(2) where the file system has it, else posix_fallocate, else (both unsupported) a
 * plain size extension: the space is then not reserved, but the contract (zero-filled up to size,
 * never shrinks) still holds. */
static int posix_reserve(void *ctx, struct io_file *f, uint64_t size)
{
    int err;
    uint64_t cur;

    if (size == 0) {
        return 0;
    }
    if (size > (uint64_t)INT64_MAX) {
        return CRAFT_EINVAL;
    }
#if defined(__linux__)
    err = posix_size(ctx, f, &cur);
    if (err != 0) {
        return err;
    }
    do {
        err = fallocate(f->fd, 0, 0, (off_t)size) == 0 ? 0 : errno;
    } while (err == EINTR);
    if (err == 0) {
        if (f->zero_limit == 0) {
            f->zero_from = cur; /* what the file held before may be data */
        }
        if (size > f->zero_limit) {
            f->zero_limit = size;
        }
        return 0;
    }
    if (err != EOPNOTSUPP && err != ENOSYS) {
        errno = err;
        return fail_errno("fallocate", NULL);
    }
#endif
    do {
        err = posix_fallocate(f->fd, 0, (off_t)size);
    } while (err == EINTR);
    if (err == 0) {
        return 0;
    }
    if (err != EOPNOTSUPP) {
        errno = err;
        return fail_errno("posix_fallocate", NULL);
    }
    err = posix_size(ctx, f, &cur);
    if (err != 0 || cur >= size) {
        return err;
    }
    return posix_truncate(ctx, f, size);
}

static int posix_sync_dir(void *ctx)
{
    struct posix_fs *pfs = ctx;
    int rv;

    do {
        rv = fsync(pfs->dir_fd);
    } while (rv != 0 && errno == EINTR);
    return rv == 0 ? 0 : fail_errno("fsync directory", NULL);
}

static int posix_rename(void *ctx, const char *from, const char *to)
{
    struct posix_fs *pfs = ctx;

    if (!io_fs_name_ok(from) || !io_fs_name_ok(to)) {
        return CRAFT_EINVAL;
    }
    if (renameat(pfs->dir_fd, from, pfs->dir_fd, to) != 0) {
        return errno == ENOENT ? CRAFT_ENOTFOUND : fail_errno("rename", from);
    }
    return 0;
}

static int posix_unlink(void *ctx, const char *name)
{
    struct posix_fs *pfs = ctx;

    if (!io_fs_name_ok(name)) {
        return CRAFT_EINVAL;
    }
    if (unlinkat(pfs->dir_fd, name, 0) != 0) {
        return errno == ENOENT ? CRAFT_ENOTFOUND : fail_errno("unlink", name);
    }
    return 0;
}

/* Reads the directory through a duplicate of dir_fd (closedir closes it) from the start. Names
 * that no io_fs call could have made (too long) are skipped. */
static int posix_list(void *ctx, io_fs_list_cb cb, void *arg)
{
    struct posix_fs *pfs = ctx;
    DIR *dir;
    int fd;
    int rv = 0;

    fd = fcntl(pfs->dir_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        return fail_errno("dup directory", NULL);
    }
    dir = fdopendir(fd);
    if (dir == NULL) {
        rv = fail_errno("fdopendir", NULL);
        close(fd);
        return rv;
    }
    rewinddir(dir); /* the duplicate shares dir_fd's position, left wherever the last list ended */
    for (;;) {
        struct dirent *e;
        errno = 0;
        e = readdir(dir);
        if (e == NULL) {
            if (errno != 0) {
                rv = fail_errno("readdir", NULL);
            }
            break;
        }
        if (!io_fs_name_ok(e->d_name)) {
            continue; /* also skips "." and ".." */
        }
        rv = cb(arg, e->d_name);
        if (rv != 0) {
            break;
        }
    }
    closedir(dir);
    return rv;
}

static int posix_map(void *ctx, struct io_file *f, uint64_t size, const void **out)
{
    (void)ctx;
    if (size > SIZE_MAX) {
        return CRAFT_EINVAL;
    }
    /* MAP_POPULATE maps the whole file in one go instead of one fault per page. */
    void *addr = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, f->fd, 0);
    if (addr == MAP_FAILED) {
        return errno == ENOMEM ? CRAFT_ENOMEM : CRAFT_EIO;
    }
    *out = addr;
    return 0;
}

static void posix_unmap(void *ctx, const void *addr, uint64_t size)
{
    (void)ctx;
    munmap((void *)addr, (size_t)size);
}

static const struct io_fs_ops posix_ops = {
    .open = posix_open,
    .close = posix_close,
    .pwritev = posix_pwritev,
    .pread = posix_pread,
    .fdatasync = posix_fdatasync,
    .size = posix_size,
    .truncate = posix_truncate,
    .fallocate = posix_reserve,
    .sync_dir = posix_sync_dir,
    .rename = posix_rename,
    .unlink = posix_unlink,
    .list = posix_list,
    .map = posix_map,
    .unmap = posix_unmap,
};

/* After mkdir made dir, makes its entry in the parent durable too. */
static int sync_parent(const char *dir)
{
    size_t len = strlen(dir);
    char *parent = craft_malloc(len + 2);
    char *slash;
    int fd;
    int rv = 0;

    if (parent == NULL) {
        return CRAFT_ENOMEM;
    }
    memcpy(parent, dir, len + 1);
    while (len > 1 && parent[len - 1] == '/') {
        parent[--len] = '\0';
    }
    slash = strrchr(parent, '/');
    if (slash == NULL) {
        strcpy(parent, ".");
    } else if (slash == parent) {
        parent[1] = '\0';
    } else {
        *slash = '\0';
    }
    fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int err = errno;
        craft_log(CRAFT_LOG_ERROR, 0, 0, "fs: sync parent of %s: %s", dir, strerror(err));
        rv = err == ENOMEM ? CRAFT_ENOMEM : CRAFT_EIO;
    }
    if (fd >= 0) {
        close(fd);
    }
    craft_free(parent);
    return rv;
}

int io_fs_posix_create(const char *dir, struct io_fs **out)
{
    struct posix_fs *pfs;
    int rv;
    int err;

    CRAFT_ASSERT(dir != NULL);
    CRAFT_ASSERT(out != NULL);
    *out = NULL;
    pfs = craft_malloc(sizeof *pfs);
    if (pfs == NULL) {
        rv = CRAFT_ENOMEM;
        goto fail;
    }
    if (mkdir(dir, 0755) == 0) {
        rv = sync_parent(dir);
        if (rv != 0) {
            goto fail_pfs;
        }
    } else if (errno != EEXIST) {
        goto fail_errno_pfs;
    }
    pfs->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfs->dir_fd < 0) {
        goto fail_errno_pfs;
    }
    pfs->fs.ctx = pfs;
    pfs->fs.ops = &posix_ops;
    *out = &pfs->fs;
    return 0;

fail_errno_pfs:
    err = errno;
    craft_log(CRAFT_LOG_ERROR, 0, 0, "fs: data directory %s: %s", dir, strerror(err));
    rv = err == ENOMEM ? CRAFT_ENOMEM : CRAFT_EIO;
fail_pfs:
    craft_free(pfs);
fail:
    return rv;
}

void io_fs_posix_destroy(struct io_fs *fs)
{
    struct posix_fs *pfs;

    if (fs == NULL) {
        return;
    }
    pfs = fs->ctx;
    close(pfs->dir_fd);
    craft_free(pfs);
}
