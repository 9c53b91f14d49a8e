/* One node's durable state in one data directory: identity, hard state, WAL, snapshots. The node
 * (and the simulator) hand it each core output's persist part; see docs/DISK_FORMAT.md. */
#ifndef CRAFT_STORAGE_STORAGE_H
#define CRAFT_STORAGE_STORAGE_H

#include "craft/types.h"
#include "io/fs.h"
#include "snapshot_store.h"
#include "wal.h"

struct storage;

struct storage_config {
    craft_id node;
    uint64_t cluster;
    struct wal_config wal;
};

void storage_config_init(struct storage_config *cfg);

/* What storage_open recovered: the newest snapshot (if any) and the log after it. */
struct storage_recovered {
    struct craft_hard_state hard_state;
    bool have_snapshot;
    struct craft_snapshot_meta snapshot; /* when have_snapshot: the newest valid snapshot */
    /* The entries after the snapshot's index (all of the WAL without a snapshot), in index
     * order; borrowed until storage_recovered_release. */
    const struct craft_entry *entries;
    size_t n_entries;
    struct wal_open_report wal;
};

/* Opens the directory behind fs for cfg->node of cfg->cluster and recovers it: the newest valid
 * snapshot (S, T), and the WAL's entries that continue it (docs/DISK_FORMAT.md, "Recovery with
 * a snapshot"; the WAL holds [W1, WL]): WAL empty: none; no snapshot: all; WL <= S: none; W1 >
 * S + 1: CRAFT_ECORRUPT (a gap); W1 == S + 1: all; the WAL's term at S is T: S + 1 onwards;
 * else (the WAL diverged from the committed history, an install cut short by a crash): none.
 * When the WAL holds entries not handed back, it is emptied (a truncation, synced) before open
 * returns, so the next append may start at S + 1. Errors: CRAFT_EMISMATCH (someone else's
 * directory), CRAFT_ECORRUPT (with file and offset; also when the log ends before the hard
 * state's commit index, which only covers durable entries, unless the snapshot covers it),
 * CRAFT_EIO, CRAFT_ENOMEM; errmsg says what. Whatever it read is fdatasynced before it is returned
 * (after a process crash, the page cache may hold writes no sync covered). fs is borrowed for the
 * storage's lifetime; *out is owned by the caller until storage_close. */
CRAFT_MUST_CHECK int storage_open(struct io_fs *fs, const struct storage_config *cfg,
                                  struct storage **out, struct storage_recovered *rec, char *errmsg,
                                  size_t errmsg_len);

void storage_recovered_release(struct storage *s);

/* Takes one persist batch (a core output's persist part, carried out in the order of struct
 * craft_persist): queues the snapshot's effect, the truncation and the entries for storage_sync
 * (see storage_queue_log), and saves the hard state now (fdatasync) when its term or vote
 * changed, before anything queued reaches the disk. A commit-only change is remembered and written
 * with the next save or on close (commit is a hint on restart). The commit written is cut to the
 * log's durable last index (as of the last completed sync, lowered by every truncation queued
 * since), so the saved commit never covers an entry that was not durable, nor one a queued
 * truncation takes back. */
CRAFT_MUST_CHECK int storage_persist(struct storage *s, const struct craft_persist *p);

/* The two halves of storage_persist, for a writer that coalesces several outputs into one batch:
 * queue log changes, and save a hard state (fdatasync now, only when term or vote changed).
 * Queue a batch's log changes before saving its hard state, so that the commit saved accounts
 * for the batch's truncations. */
CRAFT_MUST_CHECK int storage_save_hard_state(struct storage *s, const struct craft_hard_state *hs);

/* Queues p's log changes (its hard state is ignored), in order: an installed snapshot's effect
 * (p->snapshot.index != 0; its file must be durable already): its index becomes the storage's
 * snapshot index (the saved commit may reach it), and with drop_log the whole WAL is truncated
 * so the following entries start at index + 1; without drop_log the WAL must continue the
 * snapshot (asserted); then the truncation from p->truncate_from; then p->entries (borrowed for
 * the call; their data is copied). CRAFT_EINVAL (a gap, a truncation outside the log),
 * CRAFT_ETOOBIG, CRAFT_ENOMEM, CRAFT_EIO (failed before). */
CRAFT_MUST_CHECK int storage_queue_log(struct storage *s, const struct craft_persist *p);

/* Writes what is queued without the final fdatasync (see wal_write); storage_sync completes it. */
CRAFT_MUST_CHECK int storage_write(struct storage *s);

/* Makes everything queued durable (one WAL write and fdatasync). After any error from persist,
 * write or sync, the storage is failed for good: every later call returns CRAFT_EIO and the node
 * must stop. */
CRAFT_MUST_CHECK int storage_sync(struct storage *s);

/* Tells storage that a snapshot of the local state machine covering m->index is durable (written
 * by snapshot_writer, or received by a snapshot_sink): m->index becomes the storage's snapshot
 * index if it is higher, and the WAL's whole segments holding only entries up to it are
 * deleted (anything queued is synced first, so what follows them is durable). Nothing is
 * deleted when the WAL holds an entry of another term at m->index (a divergent suffix, which an
 * install's drop_log truncates). m is borrowed. 0, or CRAFT_EIO after which the storage is
 * failed (see storage_sync). Same thread as every other call. */
CRAFT_MUST_CHECK int storage_snapshot_taken(struct storage *s, const struct craft_snapshot_meta *m);

/* The newest snapshot index storage knows of (0: none). */
craft_index storage_snapshot_index(const struct storage *s);

/* Saves the remembered commit index (if changed), then closes and frees. */
void storage_close(struct storage *s);

const char *storage_errmsg(const struct storage *s);

/* True once a write or sync failed (see storage_sync): the node must stop, and after a failed
 * fdatasync it may come back only after the machine lost its page cache (docs/IO.md). */
bool storage_failed(const struct storage *s);
struct wal *storage_wal(struct storage *s);

#endif
