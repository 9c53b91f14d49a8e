/* Moving a snapshot file between nodes as raw file bytes. The file format already checks itself
 * (a checksum per chunk, and a trailer with the counts and the checksum of the whole file), so
 * the sender reads its durable file at any offset and the receiver writes the bytes in order
 * into a temporary file, checks the whole file, and only then publishes it. The receiver's
 * offset is what it acknowledges: a sender (the same or a new leader) resumes there after a
 * lost message. Format: docs/DISK_FORMAT.md, "Snapshots"; one thread at a time per object. */
#ifndef CRAFT_STORAGE_SNAPSHOT_STREAM_H
#define CRAFT_STORAGE_SNAPSHOT_STREAM_H

#include "craft/types.h"
#include "io/fs.h"

struct snapshot_source;
struct snapshot_sink;

/* Opens the durable snapshot for (index, term) to send it: checks its header (*meta gets it)
 * and gives the file's total size in *size. *out is owned by the caller until
 * snapshot_source_close; the file stays readable while it is open, even if a newer snapshot
 * replaces it meanwhile. CRAFT_ENOTFOUND (no such snapshot: a newer one replaced it, and the
 * transfer has failed), CRAFT_ECORRUPT (bad header), CRAFT_EIO, CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int snapshot_source_open(struct io_fs *fs, craft_index index, craft_term term,
                                          struct snapshot_source **out,
                                          struct craft_snapshot_meta *meta, uint64_t *size);
/* The same for a snapshot of group (>= 1); the functions without a group argument act on the
 * default group (SNAPSHOT_GROUP_DEFAULT). */
CRAFT_MUST_CHECK int snapshot_source_open_group(struct io_fs *fs, uint64_t group, craft_index index,
                                                craft_term term, struct snapshot_source **out,
                                                struct craft_snapshot_meta *meta, uint64_t *size);

/* Reads up to len raw file bytes at offset into buf (pread-style): *n_read < len only at the
 * end of the file. CRAFT_EINVAL if offset is past the end, CRAFT_EIO. */
CRAFT_MUST_CHECK int snapshot_source_read(struct snapshot_source *src, uint64_t offset, void *buf,
                                          size_t len, size_t *n_read);

void snapshot_source_close(struct snapshot_source *src);

/* Starts receiving the snapshot (index, term), both at least 1 (else CRAFT_EINVAL), into a
 * temporary file (`<name>.recv.tmp`, which cannot pass for a finished snapshot and is removed
 * as a leftover by snapshot_latest; one begun earlier for the same snapshot is emptied). *out is
 * owned by the caller until snapshot_sink_finish or snapshot_sink_abort. CRAFT_EIO,
 * CRAFT_ENOSPC, CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int snapshot_sink_begin(struct io_fs *fs, craft_index index, craft_term term,
                                         struct snapshot_sink **out);
CRAFT_MUST_CHECK int snapshot_sink_begin_group(struct io_fs *fs, uint64_t group, craft_index index,
                                               craft_term term, struct snapshot_sink **out);

/* The bytes received so far: the offset the next write must start at, and what the receiver
 * acknowledges. */
uint64_t snapshot_sink_offset(const struct snapshot_sink *sink);

/* Writes len bytes of the file at offset, which must equal snapshot_sink_offset (else
 * CRAFT_EINVAL, and nothing is written: a duplicate or a message from before a gap). An I/O
 * error (CRAFT_EIO, CRAFT_ENOSPC) is final: every later write and finish return it. */
CRAFT_MUST_CHECK int snapshot_sink_write(struct snapshot_sink *sink, uint64_t offset,
                                         const void *buf, size_t len);

/* Reads the whole file back and checks it (header of this snapshot, every chunk, the trailer's
 * counts and checksum of the whole file, nothing after it), then publishes it exactly as
 * snapshot_writer_finish does: fdatasync, rename into place, sync the directory, remove the
 * snapshots of lower index, sync the directory again. *meta gets the header's. Frees sink
 * whatever the outcome, and removes the temporary file unless it was renamed. CRAFT_ECORRUPT
 * (the bytes received are not a whole valid file: errmsg names the offset), an earlier write's
 * error, CRAFT_EIO, CRAFT_ENOSPC, CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int snapshot_sink_finish(struct snapshot_sink *sink,
                                          struct craft_snapshot_meta *meta, char *errmsg,
                                          size_t errmsg_len);

/* Removes the temporary file and frees sink. */
void snapshot_sink_abort(struct snapshot_sink *sink);

#endif
