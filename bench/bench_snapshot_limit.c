/* The disk's limit for receiving a snapshot: sequential writes, one fdatasync, a rename and a
 * directory fsync (the least that makes a new file durable under its final name), then one read
 * of the whole file (the least that checks it). No checksums, no format: only the disk. */
#define _GNU_SOURCE /* O_DIRECTORY, O_CLOEXEC */
#include "bench_snapshot_limit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_file.h"

#define TMP_NAME "limit.tmp"
#define FINAL_NAME "limit.dat"

/* Writes bytes bytes to dir/TMP_NAME, makes them durable and publishes them as FINAL_NAME. */
static int write_durably(int dir_fd, uint64_t bytes, const unsigned char *buf, size_t buf_len)
{
    int fd = openat(dir_fd, TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -1;
    }
    int rv = 0;
    for (uint64_t off = 0; off < bytes && rv == 0; off += buf_len) {
        size_t n = bytes - off < buf_len ? (size_t)(bytes - off) : buf_len;
        rv = bench_pwrite_all(fd, buf, n, off);
    }
    if (rv == 0) {
        rv = fdatasync(fd);
    }
    if (close(fd) != 0) {
        rv = -1;
    }
    if (rv == 0) {
        rv = renameat(dir_fd, TMP_NAME, dir_fd, FINAL_NAME);
    }
    if (rv == 0) {
        rv = fsync(dir_fd);
    }
    return rv;
}

/* Reads dir/FINAL_NAME once, to its end, through buf; fails unless it holds exactly bytes. */
static int read_back(int dir_fd, uint64_t bytes, unsigned char *buf, size_t buf_len)
{
    int fd = openat(dir_fd, FINAL_NAME, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    uint64_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf, buf_len)) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            break;
        }
        total += (uint64_t)n;
    }
    close(fd);
    return n == 0 && total == bytes ? 0 : -1;
}

int bench_snapshot_limit(const char *dir, uint64_t bytes, const unsigned char *buf, size_t buf_len,
                         uint64_t *ns)
{
    int rv = -1;
    unsigned char *scratch = malloc(buf_len); /* owned here: the read-back's buffer */
    if (scratch == NULL) {
        fprintf(stderr, "craft-bench: snapshot limit: out of memory\n");
        goto fail;
    }
    int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        perror("craft-bench: snapshot limit: open dir");
        goto fail_scratch;
    }
    uint64_t start = bench_now_ns();
    rv = write_durably(dir_fd, bytes, buf, buf_len);
    if (rv == 0) {
        rv = read_back(dir_fd, bytes, scratch, buf_len);
    }
    *ns = bench_now_ns() - start;
    if (rv != 0) {
        perror("craft-bench: snapshot limit");
    }
    unlinkat(dir_fd, TMP_NAME, 0);
    unlinkat(dir_fd, FINAL_NAME, 0);
    close(dir_fd);
fail_scratch:
    free(scratch);
fail:
    return rv;
}
