/* The state machine a node replicates: an ops table the user fills. Only apply is required.
 *
 * Threads: apply, snapshot_save, snapshot_begin and snapshot_restore run on the node's apply
 * thread, one call at a time and never at once (a snapshot is taken between two apply batches,
 * so it sees a point in time); snapshot_write and snapshot_end run on the node's snapshot
 * thread, at the same time as applies. pre_commit and rollback run on the node's loop thread and must not block: they are told
 * what the log holds, before it is committed (NuRaft's hooks). */
#ifndef CRAFT_FSM_H
#define CRAFT_FSM_H

#include <stddef.h>

#include "errors.h"
#include "types.h"

/* A byte stream a snapshot is written to or read from; handed to snapshot_save/restore. */
struct craft_snapshot_writer;
struct craft_snapshot_reader;

/* Appends len bytes to the snapshot being saved. 0, or an error to return from snapshot_save. */
CRAFT_MUST_CHECK int craft_snapshot_write(struct craft_snapshot_writer *w, const void *buf,
                                          size_t len);
/* Reads up to len bytes of the snapshot being restored into buf; *got = 0 at its end. */
CRAFT_MUST_CHECK int craft_snapshot_read(struct craft_snapshot_reader *r, void *buf, size_t len,
                                         size_t *got);

struct craft_fsm_ops {
    /* Applies committed commands in log order (entries of type CRAFT_ENTRY_NORMAL only; each
     * entry's bytes are borrowed for the call). results[i] starts NULL; apply may set it to a
     * result for entries[i], which goes to the proposal's callback when this node proposed it,
     * and to release_result otherwise. A non-zero return stops the node: a state machine that
     * cannot apply a committed entry cannot go on. Required. */
    int (*apply)(void *fsm, const struct craft_entry *entries, size_t n, void **results);
    /* Frees a result nobody took (optional: NULL means results are not owned memory). */
    void (*release_result)(void *fsm, void *result);
    /* The entries were appended to this node's log (not yet committed). Optional. */
    void (*pre_commit)(void *fsm, const struct craft_entry *entries, size_t n);
    /* Every uncommitted entry from index `from` on is about to be removed from the log (a new
     * leader overwrites a conflicting suffix). Optional. */
    void (*rollback)(void *fsm, craft_index from);
    /* Writes the whole state (as of the last applied entry) to w. Optional: without it the node
     * never compacts its log, and a follower that falls behind the log catches up from entries. */
    int (*snapshot_save)(void *fsm, struct craft_snapshot_writer *w);
    /* Replaces the whole state with the snapshot read from r. Required with snapshot_save or
     * snapshot_begin. */
    int (*snapshot_restore)(void *fsm, struct craft_snapshot_reader *r);
    /* Snapshots that do not stop applies, instead of snapshot_save (optional; all three or
     * none). snapshot_begin runs on the apply thread between two batches and returns, in *view,
     * a point-in-time view of the state that later applies do not change (a copy-on-write
     * freeze, a fork); it should be quick, applies wait for it. snapshot_write then writes that
     * view to w on the node's snapshot thread while applies go on, and snapshot_end releases
     * the view (after snapshot_write, or instead of it when the node stops first), on that
     * thread too. Errors as for snapshot_save. */
    int (*snapshot_begin)(void *fsm, void **view);
    int (*snapshot_write)(void *fsm, void *view, struct craft_snapshot_writer *w);
    void (*snapshot_end)(void *fsm, void *view);
};

#endif
