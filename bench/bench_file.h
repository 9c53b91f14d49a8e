/* Plain file writes for the benchmarks' limits (the raw log, the fdatasync limit, the snapshot
 * install's limit): the whole buffer, however many pwrite calls it takes. */
#ifndef CRAFT_BENCH_FILE_H
#define CRAFT_BENCH_FILE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

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

#endif
