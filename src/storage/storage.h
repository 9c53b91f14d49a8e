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

struct storage_recovered {
    struct craft_hard_state hard_state;
    const struct craft_entry *entries; /* borrowed until storage_recovered_release */
    size_t n_entries;
    bool have_snapshot;
    struct craft_snapshot_meta snapshot;
    struct wal_open_report wal;
};

/* Opens the directory behind fs for cfg->node of cfg->cluster and recovers it. Errors:
 * CRAFT_EMISMATCH (someone else's directory), CRAFT_ECORRUPT (with file and offset; also when
 * the log ends before the hard state's commit index, which only covers durable entries),
 * CRAFT_EIO, CRAFT_ENOMEM; errmsg says what. Whatever it read is fdatasynced before it is
 * returned (after a process crash, the page cache may hold writes no sync covered). fs is
 * borrowed for the storage's lifetime. */
CRAFT_MUST_CHECK int storage_open(struct io_fs *fs, const struct storage_config *cfg,
                                  struct storage **out, struct storage_recovered *rec, char *errmsg,
                                  size_t errmsg_len);

void storage_recovered_release(struct storage *s);

/* Takes one persist batch (a core output's persist part): queues the truncation and entries for
 * storage_sync, and saves the hard state now (fdatasync) when its term or vote changed, before
 * anything queued reaches the disk. A commit-only change is remembered and written with the
 * next save or on close (commit is a hint on restart). The commit written is cut to the log's
 * durable last index (as of the last completed sync, lowered by every truncation queued since),
 * so the saved commit never covers an entry that was not durable, nor one a queued truncation
 * takes back. */
CRAFT_MUST_CHECK int storage_persist(struct storage *s, const struct craft_persist *p);

/* The two halves of storage_persist, for a writer that coalesces several outputs into one batch:
 * queue log changes, and save a hard state (fdatasync now, only when term or vote changed).
 * Queue a batch's log changes before saving its hard state, so that the commit saved accounts
 * for the batch's truncations. */
CRAFT_MUST_CHECK int storage_save_hard_state(struct storage *s, const struct craft_hard_state *hs);
CRAFT_MUST_CHECK int storage_queue_log(struct storage *s, craft_index truncate_from,
                                       const struct craft_entry *entries, size_t n);

/* Writes what is queued without the final fdatasync (see wal_write); storage_sync completes it. */
CRAFT_MUST_CHECK int storage_write(struct storage *s);

/* Makes everything queued durable (one WAL write and fdatasync). After any error from persist,
 * write or sync, the storage is failed for good: every later call returns CRAFT_EIO and the node
 * must stop. */
CRAFT_MUST_CHECK int storage_sync(struct storage *s);

/* Saves the remembered commit index (if changed), then closes and frees. */
void storage_close(struct storage *s);

const char *storage_errmsg(const struct storage *s);

/* True once a write or sync failed (see storage_sync): the node must stop, and after a failed
 * fdatasync it may come back only after the machine lost its page cache (docs/IO.md). */
bool storage_failed(const struct storage *s);
struct wal *storage_wal(struct storage *s);

#endif
