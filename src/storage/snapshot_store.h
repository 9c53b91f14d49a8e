/* Snapshot files: written through a stream into a temporary file in checksummed chunks,
 * fdatasynced, renamed into place; read back chunk by chunk. Format: docs/DISK_FORMAT.md,
 * "Snapshots". An older snapshot is removed only once the newer one is durable. */
#ifndef CRAFT_STORAGE_SNAPSHOT_STORE_H
#define CRAFT_STORAGE_SNAPSHOT_STORE_H

#include <stdbool.h>

#include "craft/types.h"
#include "io/fs.h"

#define SNAPSHOT_CHUNK_BYTES (256u << 10) /* payload bytes per chunk on disk */

/* What travels with a snapshot: the last entry it covers and the membership at that point. */
struct snapshot_meta {
    craft_index index;
    craft_term term;
    craft_id voters[CRAFT_VOTERS_MAX];
    unsigned n_voters;
};

struct snapshot_writer;
struct snapshot_reader;

/* Starts a snapshot for meta. *out is owned by the caller until finish or abort.
 * CRAFT_EINVAL (bad meta), CRAFT_EIO, CRAFT_ENOSPC, CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int snapshot_writer_begin(struct io_fs *fs, const struct snapshot_meta *meta,
                                           struct snapshot_writer **out);

/* Appends len bytes of the state machine's image. */
CRAFT_MUST_CHECK int snapshot_writer_write(struct snapshot_writer *w, const void *buf,
                                           size_t len);

/* Seals, fdatasyncs, renames into place, syncs the directory, then removes older snapshots.
 * Frees w whatever the outcome. */
CRAFT_MUST_CHECK int snapshot_writer_finish(struct snapshot_writer *w);

/* Drops the temporary file and frees w. */
void snapshot_writer_abort(struct snapshot_writer *w);

/* Finds the newest snapshot whose header is valid: *found false if none. Removes leftover
 * temporary files. CRAFT_EIO, CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int snapshot_latest(struct io_fs *fs, struct snapshot_meta *meta, bool *found);

/* Opens the snapshot for (index, term). CRAFT_ENOTFOUND, CRAFT_ECORRUPT (bad header), CRAFT_EIO. */
CRAFT_MUST_CHECK int snapshot_reader_open(struct io_fs *fs, craft_index index, craft_term term,
                                          struct snapshot_reader **out,
                                          struct snapshot_meta *meta);

/* Reads up to len bytes of the image; *n_read 0 means the end, reached only after the trailer's
 * check. CRAFT_ECORRUPT (with the offset in snapshot_reader_errmsg), CRAFT_EIO. */
CRAFT_MUST_CHECK int snapshot_reader_read(struct snapshot_reader *r, void *buf, size_t len,
                                          size_t *n_read);
const char *snapshot_reader_errmsg(const struct snapshot_reader *r);
void snapshot_reader_close(struct snapshot_reader *r);

/* The file name of a snapshot (for tests and tools). */
void snapshot_file_name(craft_index index, craft_term term, char *buf, size_t len);

#endif
