/* One node's durable state in one data directory: identity, one WAL for every Raft group (each
 * group's log and hard state), each group's snapshots. The node (and the simulator) hand it each
 * core output's persist part; see docs/DISK_FORMAT.md. Every function without a group argument
 * acts on STORAGE_GROUP_DEFAULT, the group of a node with one group; the *_group variants name
 * the group (>= 1), which is created by its first write. */
#ifndef CRAFT_STORAGE_STORAGE_H
#define CRAFT_STORAGE_STORAGE_H

#include "craft/types.h"
#include "io/fs.h"
#include "snapshot_store.h"
#include "wal.h"

struct storage;

#define STORAGE_GROUP_DEFAULT WAL_GROUP_DEFAULT

struct storage_config {
    craft_id node;
    uint64_t cluster;
    struct wal_config wal;
};

void storage_config_init(struct storage_config *cfg);

/* What storage_open recovered for one group: its hard state, its newest snapshot (if any) and
 * its log after it. */
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

/* What open recovered for group (as storage_open fills rec for the default group): false, with
 * *rec all zero but for its wal report, when the directory holds nothing of the group. Entries
 * are borrowed until storage_recovered_release. */
bool storage_recovered_group(const struct storage *s, uint64_t group,
                             struct storage_recovered *rec);

/* The groups storage knows of (recovered, or written since), ascending: the i-th id, i below
 * storage_n_groups. */
size_t storage_n_groups(const struct storage *s);
uint64_t storage_group_id(const struct storage *s, size_t i);

/* Frees every group's recovered entries. */
void storage_recovered_release(struct storage *s);

/* Takes one persist batch (a core output's persist part, carried out in the order of struct
 * craft_persist): queues the snapshot's effect, the truncation and the entries for storage_sync
 * (see storage_queue_log), and the hard state (see storage_save_hard_state). Nothing reaches the
 * disk before storage_write or storage_sync. */
CRAFT_MUST_CHECK int storage_persist(struct storage *s, const struct craft_persist *p);
CRAFT_MUST_CHECK int storage_persist_group(struct storage *s, uint64_t group,
                                           const struct craft_persist *p);

/* The two halves of storage_persist, for a writer that coalesces several outputs (of any groups)
 * into one batch: queue log changes, and save a hard state. A hard state whose term or vote
 * changed goes into the next batch written (storage_write / storage_sync; it makes one if
 * nothing else is queued) as a record ahead of every entry of the batch, and is durable with
 * the batch's one fdatasync. A commit-only change is remembered and goes with the next batch
 * written anyway, or on close (commit is a hint on restart, not worth a sync of its own). The
 * commit written is cut, when the batch is written, to the group's durable last index (as of the
 * last completed sync, lowered by every truncation queued since), so the saved commit never
 * covers an entry that was not durable, nor one a queued truncation takes back. CRAFT_ENOMEM,
 * CRAFT_EIO (failed before). */
CRAFT_MUST_CHECK int storage_save_hard_state(struct storage *s, const struct craft_hard_state *hs);
CRAFT_MUST_CHECK int storage_save_hard_state_group(struct storage *s, uint64_t group,
                                                   const struct craft_hard_state *hs);

/* Queues p's log changes (its hard state is ignored), in order: an installed snapshot's effect
 * (p->snapshot.index != 0; its file must be durable already): its index becomes the storage's
 * snapshot index (the saved commit may reach it), and with drop_log the whole WAL is truncated
 * so the following entries start at index + 1; without drop_log the WAL must continue the
 * snapshot (asserted); then the truncation from p->truncate_from; then p->entries (borrowed for
 * the call; their data is copied). CRAFT_EINVAL (a gap, a truncation outside the log),
 * CRAFT_ETOOBIG, CRAFT_ENOMEM, CRAFT_EIO (failed before). */
CRAFT_MUST_CHECK int storage_queue_log(struct storage *s, const struct craft_persist *p);
CRAFT_MUST_CHECK int storage_queue_log_group(struct storage *s, uint64_t group,
                                             const struct craft_persist *p);

/* Writes what is queued without the final fdatasync (see wal_write); storage_sync completes it. */
CRAFT_MUST_CHECK int storage_write(struct storage *s);

/* Makes everything queued durable, every group's log changes and hard states: one WAL write and
 * one fdatasync (more only when the batch fills a segment). After any error from persist,
 * write or sync, the storage is failed for good: every later call returns CRAFT_EIO and the node
 * must stop. */
CRAFT_MUST_CHECK int storage_sync(struct storage *s);

/* storage_sync after storage_write in three steps, for a writer that runs the fdatasync on a
 * thread of its own and queues the next batch meanwhile (the log writer). storage_sync_begin
 * fills *job with the fdatasync that makes the write durable; false when none is needed (the
 * write is durable already, or the storage failed: see storage_failed). storage_sync_run(job) is
 * that fdatasync, on any thread; storage_sync_end takes its result: 0 and the write is durable (a
 * hard state written later may commit its entries), or an error after which the storage is
 * failed (see storage_sync). Between begin and end, only storage_queue_log,
 * storage_save_hard_state and storage_persist may be called (nothing that touches the disk: a
 * write before the sync would not be covered by it); the job's file is borrowed until end. */
struct storage_sync_job {
    struct io_fs *fs;
    struct io_file *file;
};

bool storage_sync_begin(struct storage *s, struct storage_sync_job *job);
CRAFT_MUST_CHECK int storage_sync_run(const struct storage_sync_job *job);
CRAFT_MUST_CHECK int storage_sync_end(struct storage *s, int rv);

/* Tells storage that a snapshot of the local state machine covering m->index is durable (written
 * by snapshot_writer, or received by a snapshot_sink): m->index becomes the storage's snapshot
 * index if it is higher, and the WAL's whole segments holding only entries up to it are
 * deleted (anything queued is synced first, so what follows them is durable). Nothing is
 * deleted when the WAL holds an entry of another term at m->index (a divergent suffix, which an
 * install's drop_log truncates). m is borrowed. 0, or CRAFT_EIO after which the storage is
 * failed (see storage_sync). Same thread as every other call. */
CRAFT_MUST_CHECK int storage_snapshot_taken(struct storage *s, const struct craft_snapshot_meta *m);
/* The same for group's snapshot (published with snapshot_writer_begin_group or
 * snapshot_sink_begin_group): a WAL segment is deleted only when no group needs a record in it
 * any more (each group's entries in it are covered by that group's snapshot or were truncated;
 * a group's newest hard state in it is first written again). */
CRAFT_MUST_CHECK int storage_snapshot_taken_group(struct storage *s, uint64_t group,
                                                  const struct craft_snapshot_meta *m);

/* The newest snapshot index storage knows of (0: none). */
craft_index storage_snapshot_index(const struct storage *s);
craft_index storage_snapshot_index_group(const struct storage *s, uint64_t group);

/* Saves the remembered commit indexes (if changed, and if nothing queued waits unsynced: that
 * is dropped), then closes and frees. */
void storage_close(struct storage *s);

const char *storage_errmsg(const struct storage *s);

/* True once a write or sync failed (see storage_sync): the node must stop, and after a failed
 * fdatasync it may come back only after the machine lost its page cache (docs/IO.md). */
bool storage_failed(const struct storage *s);
struct wal *storage_wal(struct storage *s);

#endif
