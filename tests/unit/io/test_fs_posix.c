/* Unit tests for the POSIX io_fs, in a fresh mkdtemp directory under /tmp removed afterwards:
 * reads and writes, open flags, name checks, sizes, zero-ahead, rename, unlink and list. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/fs.h"
#include "scratch_dir.h"

struct fixture {
    char root[64];  /* the mkdtemp directory */
    char data[128]; /* root/data: the fs directory, made by io_fs_posix_create */
    struct io_fs *fs;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    assert_non_null(fx);
    strcpy(fx->root, "/tmp/craft-fs-posix-XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    snprintf(fx->data, sizeof fx->data, "%s/data", fx->root);
    assert_int_equal(io_fs_posix_create(fx->data, &fx->fs), 0);
    *state = fx;
    return 0;
}

/* Removes every file in root/data, then the two directories. */
static int teardown(void **state)
{
    struct fixture *fx = *state;

    io_fs_posix_destroy(fx->fs);
    scratch_dir_remove(fx->data);
    rmdir(fx->root);
    free(fx);
    return 0;
}

static void test_fs_posix_write_then_read(void **state)
{
    struct fixture *fx = *state;
    struct io_file *f;
    struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    char buf[32];
    size_t n;
    uint64_t size;

    assert_int_equal(io_fs_open(fx->fs, "a", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwritev(fx->fs, f, iov, 3, 0), 0);
    assert_int_equal(io_fs_pwrite(fx->fs, f, "XY", 2, 10), 0);
    assert_int_equal(io_fs_fdatasync(fx->fs, f), 0);
    assert_int_equal(io_fs_sync_dir(fx->fs), 0);
    assert_int_equal(io_fs_size(fx->fs, f, &size), 0);
    assert_int_equal(size, 12);
    /* A short read only at the end; the gap reads as zeros. */
    assert_int_equal(io_fs_pread(fx->fs, f, buf, sizeof buf, 0, &n), 0);
    assert_int_equal(n, 12);
    assert_memory_equal(buf, "abcdefgh\0\0XY", 12);
    assert_int_equal(io_fs_pread(fx->fs, f, buf, 4, 2, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "cdef", 4);
    assert_int_equal(io_fs_pread(fx->fs, f, buf, 4, 100, &n), 0);
    assert_int_equal(n, 0);
    io_fs_close(fx->fs, f);
}

/* More elements than one pwritev takes (IOV_MAX is 1024 on Linux): the loop must carry on. */
static void test_fs_posix_many_iovecs(void **state)
{
    enum { N = 3000 };
    struct fixture *fx = *state;
    static struct iovec iov[N];
    static uint8_t bytes[N];
    static uint8_t back[N];
    struct io_file *f;
    size_t n;

    for (int i = 0; i < N; i++) {
        bytes[i] = (uint8_t)(i * 7);
        iov[i].iov_base = &bytes[i];
        iov[i].iov_len = 1;
    }
    assert_int_equal(io_fs_open(fx->fs, "many", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwritev(fx->fs, f, iov, N, 5), 0);
    assert_int_equal(io_fs_pread(fx->fs, f, back, N, 5, &n), 0);
    assert_int_equal(n, N);
    assert_memory_equal(back, bytes, N);
    io_fs_close(fx->fs, f);
}

static void test_fs_posix_open_flags(void **state)
{
    struct fixture *fx = *state;
    struct io_file *f;
    uint64_t size;

    assert_int_equal(io_fs_open(fx->fs, "x", 0, &f), CRAFT_ENOTFOUND);
    assert_null(f);
    assert_int_equal(io_fs_open(fx->fs, "x", IO_FS_CREATE | IO_FS_EXCL, &f), 0);
    assert_int_equal(io_fs_pwrite(fx->fs, f, "hello", 5, 0), 0);
    io_fs_close(fx->fs, f);
    assert_int_equal(io_fs_open(fx->fs, "x", IO_FS_CREATE | IO_FS_EXCL, &f), CRAFT_EEXIST);
    assert_int_equal(io_fs_open(fx->fs, "x", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_size(fx->fs, f, &size), 0);
    assert_int_equal(size, 5);
    io_fs_close(fx->fs, f);
    assert_int_equal(io_fs_open(fx->fs, "x", IO_FS_TRUNC, &f), 0);
    assert_int_equal(io_fs_size(fx->fs, f, &size), 0);
    assert_int_equal(size, 0);
    io_fs_close(fx->fs, f);
}

static void test_fs_posix_rejects_bad_names(void **state)
{
    struct fixture *fx = *state;
    struct io_file *f;
    char long_name[IO_FS_NAME_MAX + 2];

    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(io_fs_open(fx->fs, "a/b", IO_FS_CREATE, &f), CRAFT_EINVAL);
    assert_int_equal(io_fs_open(fx->fs, "..", IO_FS_CREATE, &f), CRAFT_EINVAL);
    assert_int_equal(io_fs_open(fx->fs, ".", 0, &f), CRAFT_EINVAL);
    assert_int_equal(io_fs_open(fx->fs, "", IO_FS_CREATE, &f), CRAFT_EINVAL);
    assert_int_equal(io_fs_open(fx->fs, long_name, IO_FS_CREATE, &f), CRAFT_EINVAL);
    assert_int_equal(io_fs_rename(fx->fs, "a", "../a"), CRAFT_EINVAL);
    assert_int_equal(io_fs_unlink(fx->fs, "/etc/passwd"), CRAFT_EINVAL);
}

static void test_fs_posix_name_ok(void **state)
{
    char name[IO_FS_NAME_MAX + 1];

    (void)state;
    memset(name, 'a', IO_FS_NAME_MAX);
    name[IO_FS_NAME_MAX] = '\0';
    assert_true(io_fs_name_ok(name));
    assert_true(io_fs_name_ok("wal-0000000001"));
    assert_true(io_fs_name_ok("..."));
    assert_false(io_fs_name_ok(NULL));
    assert_false(io_fs_name_ok(""));
    assert_false(io_fs_name_ok("."));
    assert_false(io_fs_name_ok(".."));
    assert_false(io_fs_name_ok("a/"));
}

static void test_fs_posix_truncate_and_fallocate(void **state)
{
    struct fixture *fx = *state;
    struct io_file *f;
    uint64_t size;
    char buf[16];
    size_t n;

    assert_int_equal(io_fs_open(fx->fs, "t", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwrite(fx->fs, f, "0123456789", 10, 0), 0);
    assert_int_equal(io_fs_truncate(fx->fs, f, 4), 0);
    assert_int_equal(io_fs_size(fx->fs, f, &size), 0);
    assert_int_equal(size, 4);
    assert_int_equal(io_fs_fallocate(fx->fs, f, 8), 0);
    assert_int_equal(io_fs_size(fx->fs, f, &size), 0);
    assert_int_equal(size, 8);
    assert_int_equal(io_fs_pread(fx->fs, f, buf, sizeof buf, 0, &n), 0);
    assert_int_equal(n, 8);
    assert_memory_equal(buf, "0123\0\0\0\0", 8);
    /* Never shrinks. */
    assert_int_equal(io_fs_fallocate(fx->fs, f, 2), 0);
    assert_int_equal(io_fs_size(fx->fs, f, &size), 0);
    assert_int_equal(size, 8);
    io_fs_close(fx->fs, f);
}

/* Zero-ahead (fs_posix.c): zeros written past a write's end inside a reserved range never land
 * on data, whether the data was there before the handle opened, written out of order through
 * it, or cut off by a truncation; and they never grow the file. */
static void test_fs_posix_zero_ahead_keeps_data(void **state)
{
    struct fixture *fx = *state;
    struct io_file *f;
    uint64_t size;
    size_t n;
    enum { OLD = 300 << 10, ALL = 1 << 20 };
    unsigned char *buf = malloc(ALL);
    assert_non_null(buf);

    /* Data from an earlier handle, below the size at the reservation. */
    memset(buf, 0xab, OLD);
    assert_int_equal(io_fs_open(fx->fs, "z", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwrite(fx->fs, f, buf, OLD, 0), 0);
    io_fs_close(fx->fs, f);
    assert_int_equal(io_fs_open(fx->fs, "z", 0, &f), 0);
    assert_int_equal(io_fs_fallocate(fx->fs, f, ALL), 0);
    assert_int_equal(io_fs_pwrite(fx->fs, f, "x", 1, 10), 0);
    assert_int_equal(io_fs_pwrite(fx->fs, f, "tail", 4, OLD), 0);
    assert_int_equal(io_fs_pread(fx->fs, f, buf, ALL, 0, &n), 0);
    assert_int_equal(n, ALL);
    for (size_t i = 0; i < OLD; i++) {
        assert_int_equal(buf[i], i == 10 ? 'x' : 0xab);
    }
    assert_memory_equal(buf + OLD, "tail", 4);
    for (size_t i = OLD + 4; i < ALL; i++) {
        assert_int_equal(buf[i], 0);
    }
    io_fs_close(fx->fs, f);

    /* Out of order through one handle: the later, lower write zeros nothing above it. */
    assert_int_equal(io_fs_open(fx->fs, "o", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_fallocate(fx->fs, f, ALL), 0);
    assert_int_equal(io_fs_pwrite(fx->fs, f, "AAAA", 4, 5000), 0);
    assert_int_equal(io_fs_pwrite(fx->fs, f, "BB", 2, 0), 0);
    assert_int_equal(io_fs_pread(fx->fs, f, buf, 8, 5000, &n), 0);
    assert_memory_equal(buf, "AAAA\0\0\0\0", 8);

    /* A truncation moves the limit: writing near the new end does not grow the file back. */
    assert_int_equal(io_fs_truncate(fx->fs, f, 300000), 0); /* above the zeros so far */
    assert_int_equal(io_fs_pwrite(fx->fs, f, "C", 1, 299000), 0);
    assert_int_equal(io_fs_size(fx->fs, f, &size), 0);
    assert_int_equal(size, 300000);
    assert_int_equal(io_fs_pwrite(fx->fs, f, "DDDD", 4, 299998), 0);
    assert_int_equal(io_fs_size(fx->fs, f, &size), 0);
    assert_int_equal(size, 300002);
    io_fs_close(fx->fs, f);
    free(buf);
}

/* 1 if the extent holding offset is reserved but unwritten, 0 if written, -1 if FIEMAP cannot
 * tell (not offered by this file system, or no extent there). */
static int extent_unwritten(const char *path, uint64_t offset)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    /* struct fiemap ends in a flexible array: room for one extent after it. */
    struct fiemap *q = calloc(1, sizeof *q + sizeof(struct fiemap_extent));
    assert_non_null(q);
    q->fm_start = offset;
    q->fm_length = 1;
    q->fm_flags = FIEMAP_FLAG_SYNC;
    q->fm_extent_count = 1;
    int rv = ioctl(fd, FS_IOC_FIEMAP, q);
    close(fd);
    int unwritten = -1;
    if (rv == 0 && q->fm_mapped_extents == 1) {
        unwritten = (q->fm_extents[0].fe_flags & FIEMAP_EXTENT_UNWRITTEN) != 0;
    }
    free(q);
    return unwritten;
}

/* Bytes this process has handed to write system calls so far (/proc/self/io, "wchar"): counted
 * at the call, whatever the file system. */
static uint64_t bytes_written_by_calls(void)
{
    FILE *io = fopen("/proc/self/io", "r");
    assert_non_null(io);
    char line[128];
    unsigned long long wchar = 0;
    bool found = false;
    while (fgets(line, sizeof line, io) != NULL) {
        found = found || sscanf(line, "wchar: %llu", &wchar) == 1;
    }
    fclose(io);
    assert_true(found);
    return wchar;
}

/* The point of zero-ahead: a small write turns the next 256 KiB of a reserved file into written
 * blocks, so the fdatasyncs of the writes after it need no extent conversion. The zeros are
 * counted on the way to the kernel (any file system); where FIEMAP tells written from unwritten
 * extents (ext4, XFS), the blocks are checked too. */
static void test_fs_posix_zero_ahead_writes_blocks(void **state)
{
    struct fixture *fx = *state;
    struct io_file *f;
    char path[160];
    enum { ALL = 1 << 20, AHEAD = IO_FS_ZERO_AHEAD_BYTES };

    snprintf(path, sizeof path, "%s/w", fx->data);
    assert_int_equal(io_fs_open(fx->fs, "w", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_fallocate(fx->fs, f, ALL), 0);
    assert_int_equal(io_fs_fdatasync(fx->fs, f), 0);
    bool fiemap_tells = extent_unwritten(path, 128 << 10) == 1;

    uint64_t before = bytes_written_by_calls();
    assert_int_equal(io_fs_pwrite(fx->fs, f, "rec", 3, 0), 0);
    assert_int_equal(bytes_written_by_calls() - before, AHEAD); /* 3 bytes, then zeros to 256K */
    before = bytes_written_by_calls();
    assert_int_equal(io_fs_pwrite(fx->fs, f, "more", 4, 3), 0); /* inside the zeros: no more */
    assert_int_equal(bytes_written_by_calls() - before, 4);
    assert_int_equal(io_fs_fdatasync(fx->fs, f), 0);
    if (fiemap_tells) {
        assert_int_equal(extent_unwritten(path, 128 << 10), 0); /* ahead of the write: written */
        assert_int_equal(extent_unwritten(path, AHEAD - 1), 0);
        assert_int_equal(extent_unwritten(path, 512 << 10), 1); /* past the boundary: not */
    }
    io_fs_close(fx->fs, f);
}

struct names {
    char seen[8][IO_FS_NAME_MAX + 1];
    int n;
    int stop_at; /* return 99 from this call on */
};

static int collect_name(void *arg, const char *name)
{
    struct names *ns = arg;
    if (ns->n < 8) {
        strcpy(ns->seen[ns->n], name);
    }
    ns->n++;
    return ns->n == ns->stop_at ? 99 : 0;
}

static int has_name(const struct names *ns, const char *name)
{
    for (int i = 0; i < ns->n && i < 8; i++) {
        if (strcmp(ns->seen[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

static void test_fs_posix_rename_unlink_list(void **state)
{
    struct fixture *fx = *state;
    struct io_file *f;
    struct names ns;
    char buf[8];
    size_t n;

    assert_int_equal(io_fs_open(fx->fs, "old", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwrite(fx->fs, f, "OLD", 3, 0), 0);
    io_fs_close(fx->fs, f);
    assert_int_equal(io_fs_open(fx->fs, "new", IO_FS_CREATE, &f), 0);
    assert_int_equal(io_fs_pwrite(fx->fs, f, "NEW", 3, 0), 0);
    io_fs_close(fx->fs, f);
    assert_int_equal(io_fs_open(fx->fs, "other", IO_FS_CREATE, &f), 0);
    io_fs_close(fx->fs, f);

    /* rename replaces the target */
    assert_int_equal(io_fs_rename(fx->fs, "new", "old"), 0);
    assert_int_equal(io_fs_sync_dir(fx->fs), 0);
    assert_int_equal(io_fs_open(fx->fs, "old", 0, &f), 0);
    assert_int_equal(io_fs_pread(fx->fs, f, buf, sizeof buf, 0, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "NEW", 3);
    io_fs_close(fx->fs, f);
    assert_int_equal(io_fs_rename(fx->fs, "new", "x"), CRAFT_ENOTFOUND);

    memset(&ns, 0, sizeof ns);
    assert_int_equal(io_fs_list(fx->fs, collect_name, &ns), 0);
    assert_int_equal(ns.n, 2);
    assert_true(has_name(&ns, "old"));
    assert_true(has_name(&ns, "other"));

    /* Listing twice starts from the beginning again; a non-zero return stops it. */
    memset(&ns, 0, sizeof ns);
    ns.stop_at = 1;
    assert_int_equal(io_fs_list(fx->fs, collect_name, &ns), 99);
    assert_int_equal(ns.n, 1);

    assert_int_equal(io_fs_unlink(fx->fs, "other"), 0);
    assert_int_equal(io_fs_unlink(fx->fs, "other"), CRAFT_ENOTFOUND);
    memset(&ns, 0, sizeof ns);
    assert_int_equal(io_fs_list(fx->fs, collect_name, &ns), 0);
    assert_int_equal(ns.n, 1);
    assert_true(has_name(&ns, "old"));
}

/* The directory is made if missing, and an existing one is reused with its files. */
static void test_fs_posix_create_reuses_directory(void **state)
{
    struct fixture *fx = *state;
    struct io_fs *again;
    struct io_file *f;

    assert_int_equal(io_fs_open(fx->fs, "kept", IO_FS_CREATE, &f), 0);
    io_fs_close(fx->fs, f);
    assert_int_equal(io_fs_posix_create(fx->data, &again), 0);
    assert_int_equal(io_fs_open(again, "kept", 0, &f), 0);
    io_fs_close(again, f);
    io_fs_posix_destroy(again);
    assert_int_equal(io_fs_posix_create("/proc/definitely/not/here", &again), CRAFT_EIO);
    assert_null(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fs_posix_write_then_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_posix_many_iovecs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_posix_open_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_posix_rejects_bad_names, setup, teardown),
        cmocka_unit_test(test_fs_posix_name_ok),
        cmocka_unit_test_setup_teardown(test_fs_posix_truncate_and_fallocate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_posix_zero_ahead_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_posix_zero_ahead_writes_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_posix_rename_unlink_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_posix_create_reuses_directory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
