/* The limit beside craft-bench core's snapshot install (bench_snapshot.c): what a receiver must
 * do at least with the same bytes on the same disk, in plain system calls. */
#ifndef CRAFT_BENCH_SNAPSHOT_LIMIT_H
#define CRAFT_BENCH_SNAPSHOT_LIMIT_H

#include <stddef.h>
#include <stdint.h>

/* In dir (an existing directory): writes `bytes` bytes of buf (buf_len bytes, repeated; borrowed
 * for the call) to a new file with sequential write() calls of buf_len bytes, one fdatasync,
 * renames it, fsyncs the directory, then reads the file back once in reads of buf_len bytes.
 * *ns gets the time all of that took. The file is removed before returning. Returns 0, or -1
 * after printing why. */
int bench_snapshot_limit(const char *dir, uint64_t bytes, const unsigned char *buf, size_t buf_len,
                         uint64_t *ns);

#endif
