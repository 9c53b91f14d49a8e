/* The raw log: the WAL's I/O (segment creation, record writes, fdatasync) in plain system calls,
 * without its encoding, checksums or copies; the limit beside the WAL's figures. */
#define _GNU_SOURCE /* fallocate, O_CLOEXEC */
#include "bench_raw_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_file.h"
#include "bench_tmpdir.h"
#include "storage/wal_record.h"

static int fail(const char *what)
{
    fprintf(stderr, "craft-bench: raw log: %s: %s\n", what, strerror(errno));
    return -1;
}

/* As wal_segment_create: a temporary name, preallocated, a header written, fdatasync, renamed,
 * the directory fsynced. */
static int segment_create(struct bench_raw_log *log)
{
    char tmp[600];
    char name[600];
    snprintf(tmp, sizeof tmp, "%s/raw-%016llx.seg.tmp", log->dir, (unsigned long long)log->seq);
    snprintf(name, sizeof name, "%s/raw-%016llx.seg", log->dir, (unsigned long long)log->seq);
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        return fail("open segment");
    }
    unsigned char header[WAL_SEGMENT_HEADER_BYTES];
    memset(header, 0x3c, sizeof header);
    log->fd = fd;
    log->used = WAL_SEGMENT_HEADER_BYTES;
    log->zeroed_to = 0;
    /* The header, then the zeros the WAL's file system writes after it (io/fs.h). */
    if (fallocate(fd, 0, 0, (off_t)log->segment_bytes) != 0 ||
        bench_pwrite_all(fd, header, sizeof header, 0) != 0 ||
        bench_zero_ahead(fd, log->used, log->segment_bytes, &log->zeroed_to) != 0 ||
        fdatasync(fd) != 0 || rename(tmp, name) != 0 || fsync(log->dir_fd) != 0) {
        int rv = fail("create segment");
        close(fd);
        log->fd = -1;
        return rv;
    }
    return 0;
}

int bench_raw_log_open(struct bench_raw_log *log, const char *dir, uint64_t segment_bytes)
{
    memset(log, 0, sizeof *log);
    snprintf(log->dir, sizeof log->dir, "%s", dir);
    log->segment_bytes = segment_bytes;
    log->fd = -1;
    log->seq = 1;
    if (mkdir(dir, 0755) != 0) {
        return fail("mkdir");
    }
    log->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (log->dir_fd < 0) {
        int rv = fail("open directory");
        bench_remove_dir(dir);
        return rv;
    }
    if (segment_create(log) != 0) {
        close(log->dir_fd);
        bench_remove_dir(dir);
        return -1;
    }
    return 0;
}

int bench_raw_log_append(struct bench_raw_log *log, const unsigned char *buf, size_t record_bytes,
                         size_t n)
{
    while (n > 0) {
        size_t fit = (size_t)((log->segment_bytes - log->used) / record_bytes);
        if (fit == 0) {
            /* Full: what went in is made durable before the next segment is made (wal_write). */
            if (fdatasync(log->fd) != 0) {
                return fail("fdatasync");
            }
            close(log->fd);
            log->fd = -1;
            log->seq++;
            if (segment_create(log) != 0) {
                return -1;
            }
            continue;
        }
        size_t k = fit < n ? fit : n;
        if (bench_pwrite_all(log->fd, buf, k * record_bytes, log->used) != 0) {
            return fail("pwrite");
        }
        log->used += k * record_bytes;
        if (bench_zero_ahead(log->fd, log->used, log->segment_bytes, &log->zeroed_to) != 0) {
            return fail("pwrite");
        }
        buf += k * record_bytes;
        n -= k;
    }
    return fdatasync(log->fd) == 0 ? 0 : fail("fdatasync");
}

void bench_raw_log_close(struct bench_raw_log *log)
{
    if (log->fd >= 0) {
        close(log->fd);
    }
    close(log->dir_fd);
    bench_remove_dir(log->dir);
}
