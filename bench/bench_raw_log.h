/* The disk's limit for a log: records written with plain pwrite + fdatasync into segment files
 * made as the WAL makes its segments (preallocated, a header, fdatasync, rename, directory
 * fsync), with the zeros the WAL's file system writes ahead (io/fs.h), so the WAL's figures and
 * this one do the same I/O and differ only by the WAL's own work (encoding, checksums, copies,
 * bookkeeping). */
#ifndef CRAFT_BENCH_RAW_LOG_H
#define CRAFT_BENCH_RAW_LOG_H

#include <stddef.h>
#include <stdint.h>

struct bench_raw_log {
    char dir[512];
    int dir_fd;
    int fd;                 /* the current segment */
    uint64_t seq;           /* its number */
    uint64_t used;          /* bytes used in it, the header included */
    uint64_t zeroed_to;     /* written (records or zeros) up to here: zero-ahead's mark */
    uint64_t segment_bytes; /* preallocated size of each segment */
};

/* Makes dir (which must not exist) and the first segment in it, as wal_open does before a WAL's
 * first append: so call it before the clock starts. Returns 0, or -1 after printing why. */
int bench_raw_log_open(struct bench_raw_log *log, const char *dir, uint64_t segment_bytes);

/* Writes n records of record_bytes each from buf (n * record_bytes bytes) at the end of the log
 * and makes them durable: one pwrite per segment touched and one fdatasync, and when a segment
 * fills, as the WAL does, an fdatasync of it and the next segment made (not split inside a
 * record). Returns 0, or -1 after printing why. */
int bench_raw_log_append(struct bench_raw_log *log, const unsigned char *buf, size_t record_bytes,
                         size_t n);

/* Closes the files and removes the directory. */
void bench_raw_log_close(struct bench_raw_log *log);

#endif
