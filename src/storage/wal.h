/* The write-ahead log: the log entries and hard states of every Raft group of a node in one
 * sequence of preallocated, checksummed segment files, written in batches with one write and
 * one fdatasync each (group commit happens above, in the caller: whatever arrives while a sync
 * runs goes into the next batch). Every record names its group; each group has its own log and
 * hard state. The functions without a group argument act on WAL_GROUP_DEFAULT. Format:
 * docs/DISK_FORMAT.md. One thread at a time. */
#ifndef CRAFT_STORAGE_WAL_H
#define CRAFT_STORAGE_WAL_H

#include <stdbool.h>

#include "craft/types.h"
#include "io/fs.h"

struct wal;

/* The group of a node with one Raft group, and of every call without a group argument. Group
 * ids are at least 1. */
#define WAL_GROUP_DEFAULT 1u

struct wal_config {
    uint64_t segment_bytes; /* preallocated size of each segment file */
    /* An entry's payload up to this many bytes is copied into the batch; a bigger one is written
     * from where the caller keeps it (zero-copy: borrowed until the wal_write or wal_sync that
     * writes it returns, or wal_close). */
    uint32_t inline_bytes_max;
};

/* Copy every payload: a caller must say that its payloads stay put (the node's do). */
#define WAL_INLINE_BYTES_MAX_DEFAULT UINT32_MAX
/* What the node copies (its payloads stay put): up to this many bytes, one memcpy into the batch
 * beat a write piece each (craft-bench wal: 3-6 % at 64 B and 1 KiB on a quiet disk). */
#define WAL_INLINE_BYTES_NODE 256u

#define WAL_SEGMENT_BYTES_DEFAULT (64u << 20)
#define WAL_SEGMENT_BYTES_MIN (4u << 10)

void wal_config_init(struct wal_config *cfg);

/* What recovery found and did. */
struct wal_open_report {
    uint64_t n_segments;
    uint64_t bytes_scanned;
    bool tail_truncated;    /* a torn, never-acknowledged tail was cut off */
    uint64_t tail_segment;  /* ... in this segment (seq) */
    uint64_t tail_offset;   /* ... at this offset */
    uint64_t tail_bytes;    /* ... that many bytes of it were not valid records */
    uint64_t n_tmp_removed; /* leftover `wal-<seq>.seg.tmp` (segment creations cut short) */
};

/* Opens the WAL in fs, recovering it. Everything once reported durable by wal_sync is there; a
 * torn tail is truncated (and reported); leftover `wal-<seq>.seg.tmp` files (segment creations
 * cut short) are removed; a bad checksum anywhere before the tail, or a bad segment header, is
 * CRAFT_ECORRUPT with the file and offset in errmsg. Also CRAFT_EIO, CRAFT_ENOMEM.
 * *out is owned by the caller until wal_close. report may be NULL. */
CRAFT_MUST_CHECK int wal_open(struct io_fs *fs, const struct wal_config *cfg, struct wal **out,
                              struct wal_open_report *report, char *errmsg, size_t errmsg_len);

/* wal_open for a log whose entries up to `committed` are known to have been durable (the hard
 * state's commit index, which only ever covers entries that were durable here): a bad record
 * at or below it is never a torn tail, and a log that ends before it has lost durable entries.
 * Both are CRAFT_ECORRUPT with the file and offset in errmsg; nothing is cut. */
CRAFT_MUST_CHECK int wal_open_committed(struct io_fs *fs, const struct wal_config *cfg,
                                        craft_index committed, struct wal **out,
                                        struct wal_open_report *report, char *errmsg,
                                        size_t errmsg_len);

/* wal_open_committed beside a snapshot covering the log up to `covered`: the log need not reach
 * a commit index the snapshot covers (its prefix may be dropped, or the whole WAL emptied by an
 * install), but a bad record before a valid entry at or below the commit index is still damage
 * (that entry's batch, and all before it, was durable). */
CRAFT_MUST_CHECK int wal_open_covered(struct io_fs *fs, const struct wal_config *cfg,
                                      craft_index committed, craft_index covered, struct wal **out,
                                      struct wal_open_report *report, char *errmsg,
                                      size_t errmsg_len);

/* A group's snapshot for recovery: it covers the group's log up to `covered`. */
struct wal_group_cover {
    uint64_t group;
    craft_index covered;
};

/* wal_open for a WAL of many groups, with each group's snapshot (covers, n_covers; borrowed for
 * the call; groups not listed have none). Each group's newest hard-state record says how far its
 * log was durable (its commit): a bad record before a valid entry of that group at or below its
 * commit is damage, and so is a group's log ending before its commit, unless the group's
 * snapshot covers the commit. Same errors as wal_open. */
CRAFT_MUST_CHECK int wal_open_groups(struct io_fs *fs, const struct wal_config *cfg,
                                     const struct wal_group_cover *covers, size_t n_covers,
                                     struct wal **out, struct wal_open_report *report, char *errmsg,
                                     size_t errmsg_len);

/* Closes the files and frees everything; pending (unsynced) appends are dropped. */
void wal_close(struct wal *w);

/* The entries recovery found, in index order; borrowed until wal_recovered_release (or close). */
const struct craft_entry *wal_recovered(const struct wal *w, size_t *n);
void wal_recovered_release(struct wal *w);

/* First and last live index; both 0 when the log is empty. */
craft_index wal_first_index(const struct wal *w);
craft_index wal_last_index(const struct wal *w);
craft_term wal_term_at(const struct wal *w, craft_index index);

/* Queues entries (indexes last + 1 onwards, or anything if empty, also when a queued truncation
 * emptied it: the log then restarts there, as after installing a snapshot) for the next
 * wal_sync; copies their data. CRAFT_EINVAL for a gap, CRAFT_ETOOBIG for an entry too big,
 * CRAFT_EIO if failed. */
CRAFT_MUST_CHECK int wal_append(struct wal *w, const struct craft_entry *entries, size_t n);

/* Queues the removal of entries from index `from` on (first <= from <= last + 1). */
CRAFT_MUST_CHECK int wal_truncate(struct wal *w, craft_index from);

/* Writes what was queued with one write per segment touched and one fdatasync, then it is
 * durable. An I/O error (CRAFT_EIO, CRAFT_ENOSPC) fails the WAL for good: after a failed
 * fdatasync the page cache cannot be trusted, so every later call returns CRAFT_EIO. */
CRAFT_MUST_CHECK int wal_sync(struct wal *w);

/* The first half of wal_sync: writes what was queued (full segments are synced as they are left
 * behind) without the final fdatasync. The next batch may be queued meanwhile, but not written:
 * the write must be synced first (wal_sync, or wal_sync_begin and wal_sync_end), so at most one
 * written batch is ever not durable. Same errors as wal_sync. */
CRAFT_MUST_CHECK int wal_write(struct wal *w);

/* The second half of wal_sync, for a caller that runs its fdatasync on another thread while this
 * one queues the next batch: wal_sync_begin names the file to fdatasync (the segment the written
 * batch ended in; NULL when nothing written waits for a sync, or the WAL failed), and
 * wal_sync_end takes that fdatasync's result (a failure fails the WAL, as in wal_sync). In
 * between, only queueing calls (append, truncate, save_hard_state) and the index queries (first
 * and last index, term, hard state) are allowed: nothing that calls the WAL's io_fs (write, sync,
 * read, prefix drop, close). The file is borrowed until wal_sync_end. */
struct io_file *wal_sync_begin(struct wal *w);
CRAFT_MUST_CHECK int wal_sync_end(struct wal *w, int rv);

/* True when something is queued for the next wal_sync. */
bool wal_has_pending(const struct wal *w);

/* Deletes whole segments holding only entries up to `upto` (after a snapshot covers them).
 * The first index afterwards may stay below upto + 1: segments are removed whole. With many
 * groups (wal_drop_prefix_group), a segment goes only when no group still needs a record in it:
 * every group's live entries in it are covered by that group's snapshot (the `upto` it was last
 * given), and a hard state that is its group's newest is first written again into the current
 * segment (one batch, synced). */
CRAFT_MUST_CHECK int wal_drop_prefix(struct wal *w, craft_index upto);

/* The same for one group (created by its first write: wal_append_group, wal_truncate_group and
 * wal_save_hard_state_group make it). A group that does not exist has an empty log. */
const struct craft_entry *wal_recovered_group(const struct wal *w, uint64_t group, size_t *n);
craft_index wal_first_index_group(const struct wal *w, uint64_t group);
craft_index wal_last_index_group(const struct wal *w, uint64_t group);
craft_term wal_term_at_group(const struct wal *w, uint64_t group, craft_index index);
CRAFT_MUST_CHECK int wal_append_group(struct wal *w, uint64_t group,
                                      const struct craft_entry *entries, size_t n);
CRAFT_MUST_CHECK int wal_truncate_group(struct wal *w, uint64_t group, craft_index from);
CRAFT_MUST_CHECK int wal_drop_prefix_group(struct wal *w, uint64_t group, craft_index upto);
CRAFT_MUST_CHECK int wal_read_group(struct wal *w, uint64_t group, craft_index index,
                                    struct craft_entry *out, void *buf, size_t buf_len);

/* Queues group's hard state for the next batch, where it is written ahead of every entry and
 * truncation (one record per group and batch: a second call before the write replaces the
 * first). Durable with that batch's fdatasync, no earlier. CRAFT_ENOMEM, CRAFT_EIO if failed. */
CRAFT_MUST_CHECK int wal_save_hard_state_group(struct wal *w, uint64_t group,
                                               const struct craft_hard_state *hs);

/* The newest hard state of group (queued, written, or recovered: the last valid hard-state
 * record of the group); false (and *hs zeroed) if it has none. */
bool wal_hard_state_group(const struct wal *w, uint64_t group, struct craft_hard_state *hs);

/* The groups the WAL knows of (recovered or written since), ascending: the i-th id, i below
 * wal_n_groups. */
size_t wal_n_groups(const struct wal *w);
uint64_t wal_group_id(const struct wal *w, size_t i);

/* Reads the entry at index into buf (buf_len bytes); out->data points into buf.
 * CRAFT_ECOMPACTED / CRAFT_EINVAL outside the log, CRAFT_ETOOBIG if buf is too small (out->data.len
 * then says how much is needed), CRAFT_ECORRUPT if it no longer checks out, CRAFT_EIO. */
CRAFT_MUST_CHECK int wal_read(struct wal *w, craft_index index, struct craft_entry *out, void *buf,
                              size_t buf_len);

/* The message of the last error, for humans. */
const char *wal_errmsg(const struct wal *w);

#endif
