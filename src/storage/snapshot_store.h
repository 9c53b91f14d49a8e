/* Snapshot files: written through a stream into a temporary file in checksummed chunks,
 * fdatasynced, renamed into place; read back chunk by chunk. Format: docs/DISK_FORMAT.md,
 * "Snapshots". An older snapshot is removed only once the newer one is durable. Calls on one
 * object come from one thread at a time. */
#ifndef CRAFT_STORAGE_SNAPSHOT_STORE_H
#define CRAFT_STORAGE_SNAPSHOT_STORE_H

#include <stdbool.h>

#include "craft/types.h"
#include "io/fs.h"

#define SNAPSHOT_CHUNK_BYTES (256u << 10) /* payload bytes per chunk on disk */

/* Every snapshot belongs to one Raft group (its file name says which); the functions without a
 * group argument act on this one, the group of a node with a single group (WAL_GROUP_DEFAULT). */
#define SNAPSHOT_GROUP_DEFAULT 1u

struct snapshot_writer;
struct snapshot_reader;

/* Starts a snapshot for meta (copied). *out is owned by the caller until finish or abort.
 * CRAFT_EINVAL (meta is not one a cluster can have made: index or term 0, no voter, a list too
 * long, an id 0 or twice, a learner that votes), CRAFT_EIO, CRAFT_ENOSPC, CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int snapshot_writer_begin(struct io_fs *fs, const struct craft_snapshot_meta *meta,
                                           struct snapshot_writer **out);
/* The same for a snapshot of group (>= 1): finish publishes it beside the other groups' and
 * removes only that group's older ones. */
CRAFT_MUST_CHECK int snapshot_writer_begin_group(struct io_fs *fs, uint64_t group,
                                                 const struct craft_snapshot_meta *meta,
                                                 struct snapshot_writer **out);

/* Appends len bytes of the state machine's image. After an error, every later call (and
 * finish) returns it. */
CRAFT_MUST_CHECK int snapshot_writer_write(struct snapshot_writer *w, const void *buf, size_t len);

/* Seals (last chunk, trailer), then publishes: fdatasync, rename into place, sync the directory,
 * remove snapshots of lower index, sync the directory again. Frees w whatever the outcome.
 * CRAFT_EIO, CRAFT_ENOSPC, CRAFT_ENOMEM; after an error the snapshot may or may not be in place
 * (a file under its final name is always complete). */
CRAFT_MUST_CHECK int snapshot_writer_finish(struct snapshot_writer *w);
/* snapshot_writer_finish, which also gives the published file's size in bytes (header, chunks
 * and trailer) in *file_bytes when it returns 0. */
CRAFT_MUST_CHECK int snapshot_writer_finish_size(struct snapshot_writer *w, uint64_t *file_bytes);

/* Drops the temporary file and frees w. */
void snapshot_writer_abort(struct snapshot_writer *w);

/* Finds the snapshot of highest index whose header is valid and matches its name: *found false
 * if none. Removes leftover temporary files (unfinished writes and receptions). CRAFT_EIO,
 * CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int snapshot_latest(struct io_fs *fs, struct craft_snapshot_meta *meta,
                                     bool *found);
CRAFT_MUST_CHECK int snapshot_latest_group(struct io_fs *fs, uint64_t group,
                                           struct craft_snapshot_meta *meta, bool *found);

/* One group's newest valid snapshot. */
struct snapshot_group_meta {
    uint64_t group;
    struct craft_snapshot_meta meta;
};

/* snapshot_latest for every group that has a snapshot: *out (owned by the caller, craft_free;
 * NULL when *n is 0) lists them by ascending group. Removes leftover temporary files.
 * CRAFT_EIO, CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int snapshot_latest_all(struct io_fs *fs, struct snapshot_group_meta **out,
                                         size_t *n);

/* Opens the snapshot for (index, term); *meta is its header's. *out is owned by the caller until
 * snapshot_reader_close. CRAFT_ENOTFOUND, CRAFT_ECORRUPT (bad header), CRAFT_EIO, CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int snapshot_reader_open(struct io_fs *fs, craft_index index, craft_term term,
                                          struct snapshot_reader **out,
                                          struct craft_snapshot_meta *meta);
CRAFT_MUST_CHECK int snapshot_reader_open_group(struct io_fs *fs, uint64_t group, craft_index index,
                                                craft_term term, struct snapshot_reader **out,
                                                struct craft_snapshot_meta *meta);

/* Reads up to len bytes of the image; *n_read 0 means the end, reached only after the trailer's
 * check (its counts, the checksum of the whole file, and nothing after it). CRAFT_ECORRUPT (with
 * the offset in snapshot_reader_errmsg), CRAFT_EIO. */
CRAFT_MUST_CHECK int snapshot_reader_read(struct snapshot_reader *r, void *buf, size_t len,
                                          size_t *n_read);
/* The last error's text; lives as long as r. */
const char *snapshot_reader_errmsg(const struct snapshot_reader *r);
void snapshot_reader_close(struct snapshot_reader *r);

/* The file name of a snapshot (for tests and tools). */
void snapshot_file_name(craft_index index, craft_term term, char *buf, size_t len);
void snapshot_file_name_group(uint64_t group, craft_index index, craft_term term, char *buf,
                              size_t len);

#endif
