/* Plain file writes for the benchmarks' limits (the raw log, the fdatasync limit, the snapshot
 * install's limit): the whole buffer, however many pwrite calls it takes. */
#ifndef CRAFT_BENCH_FILE_H
#define CRAFT_BENCH_FILE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "io/fs.h"

/* Writes len bytes of buf at offset at. Returns 0, or -1 with errno set (0 for a short write
 * that made no progress). */
static inline int bench_pwrite_all(int fd, const unsigned char *buf, size_t len, uint64_t at)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, (off_t)at);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = 0;
            }
            return -1;
        }
        buf += n;
        len -= (size_t)n;
        at += (uint64_t)n;
    }
    return 0;
}

/* As the POSIX io_fs under the WAL (fs_posix.c, zero_ahead): a write that ended at end, past
 * *zeroed_to, is followed by zeros up to the next IO_FS_ZERO_AHEAD_BYTES boundary, never past
 * limit (the preallocated size). Returns 0, or -1 as bench_pwrite_all. */
static inline int bench_zero_ahead(int fd, uint64_t end, uint64_t limit, uint64_t *zeroed_to)
{
    static unsigned char zeros[IO_FS_ZERO_AHEAD_BYTES];
    if (end <= *zeroed_to || end >= limit) {
        return 0;
    }
    uint64_t to = (end / IO_FS_ZERO_AHEAD_BYTES + 1) * IO_FS_ZERO_AHEAD_BYTES;
    *zeroed_to = to < limit ? to : limit;
    return bench_pwrite_all(fd, zeros, *zeroed_to - end, end);
}

#endif
