/* What the snapshot files' modules share beyond the byte layout: publishing a finished file
 * (the writer and the sink) and checking a whole file (the reader and the sink). */
#ifndef CRAFT_STORAGE_SNAPSHOT_INTERNAL_H
#define CRAFT_STORAGE_SNAPSHOT_INTERNAL_H

#include "snapshot_format.h"

/* Makes the complete snapshot file f, now named tmp, the snapshot of m: fdatasync f, rename tmp
 * to its final name, sync the directory; only then remove the snapshots of lower index and sync
 * the directory again (docs/DISK_FORMAT.md, "Snapshots"). Only group's snapshots are touched. f
 * stays open (the caller closes it). Returns 0, or CRAFT_EIO / CRAFT_ENOSPC / CRAFT_ENOMEM;
 * *renamed says whether tmp was renamed (if not, the caller still owns the temporary file and
 * removes it). */
CRAFT_MUST_CHECK int snapshot_publish(struct io_fs *fs, struct io_file *f, const char *tmp,
                                      uint64_t group, const struct craft_snapshot_meta *m,
                                      bool *renamed);

/* Reads the whole snapshot file f and checks it: a valid header of group's snapshot (index,
 * term), every chunk, the trailer's counts and whole-file checksum, and that the trailer ends the
 * file. *meta gets the header's. 0, CRAFT_ECORRUPT (errmsg names the offset), CRAFT_EIO,
 * CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int snapshot_verify(struct io_fs *fs, struct io_file *f, uint64_t group,
                                     craft_index index, craft_term term,
                                     struct craft_snapshot_meta *meta, char *errmsg,
                                     size_t errmsg_len);

#endif
