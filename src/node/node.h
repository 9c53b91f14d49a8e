/* The node's logic: one group's core driven by events, written against struct node_env alone, so
 * the same code runs on libuv and threads (runtime_*.c) and in the simulator from a seed.
 *
 * Every node_* function runs on the one thread that owns the node (the loop). The node steps the
 * core for each event and carries out the output in the contract's order (core.h): log changes
 * go to env->log_submit and the messages that must wait for them are held until that
 * submission is durable; messages go to env->send; committed entries and reads that became safe
 * go to env->apply_submit, in log order; outcomes of requests go back by their cookies. */
#ifndef CRAFT_NODE_NODE_H
#define CRAFT_NODE_NODE_H

#include "craft/core.h"
#include "craft/node.h"
#include "craft/plug.h"
#include "io/fs.h"

struct node;

/* A snapshot stream's frames between two nodes (the transport's snapshot chunk and answer) are
 * the public struct craft_snap_chunk and struct craft_snap_ack of craft/plug.h. */

/* One item of the apply queue; the environment runs the items of a batch in order. */
enum node_apply_kind {
    /* Apply entries[0..n) (every type; only NORMAL ones reach the state machine). cookies[i] is
     * the request waiting for entries[i]'s result (0: none). */
    NODE_APPLY_ENTRIES = 1,
    /* A read is safe: run it (the state machine holds everything up to index now). */
    NODE_APPLY_READ = 2,
    /* Save a snapshot: the state machine holds exactly the entries up to meta->index now (the
     * item comes right after that entry). node_on_snapshot_saved reports how it went. */
    NODE_APPLY_SNAPSHOT = 3,
    /* Replace the state machine by the snapshot meta names (durable in the snapshot store);
     * nothing queued after it needs what it replaces, and no entry it covers comes after it. */
    NODE_APPLY_RESTORE = 4,
};

struct node_apply_item {
    uint32_t kind; /* enum node_apply_kind */
    const struct craft_entry *entries; /* NODE_APPLY_ENTRIES; borrowed for the call */
    const uint64_t *cookies;
    size_t n;
    uint64_t cookie;   /* NODE_APPLY_READ: the read request */
    craft_index index; /* NODE_APPLY_READ: its read index */
    const struct craft_snapshot_meta *meta; /* NODE_APPLY_SNAPSHOT and _RESTORE; borrowed */
};

/* What the node needs from the world. All calls are made on the node's thread; completions
 * come back as node_on_* calls on that thread, later (never from inside the call). */
struct node_env {
    void *ctx;
    /* The node's monotonic clock, ms. */
    uint64_t (*now_ms)(void *ctx);
    /* Arms the one timer: node_on_timer at (or soon after) at_ms; replaces the last arming. */
    void (*timer_arm)(void *ctx, uint64_t at_ms);
    /* Sends m (borrowed for the call) to node m->to. May drop it (Raft resends). */
    void (*send)(void *ctx, const struct craft_msg *m);
    /* Starts making p durable (borrowed for the call, but for its entries' payload bytes, which
     * stay in place until node_on_durable reports it or the node is destroyed: write from them,
     * do not copy). Returns 0 and the submission's number (rising by one from 1);
     * node_on_durable(seq) reports each number once, in order. An error stops the node. */
    int (*log_submit)(void *ctx, const struct craft_persist *p, uint64_t *seq);
    /* Queues apply items (borrowed for the call, but for their entries' payload bytes, which
     * stay in place until node_on_applied reaches them or the node is destroyed), run in order
     * after everything queued before; node_on_applied reports progress. An error stops the
     * node. */
    int (*apply_submit)(void *ctx, const struct node_apply_item *items, size_t n);
    /* A request ended (cookie as given to node_propose and the like); r borrowed for the call. */
    void (*complete)(void *ctx, uint64_t cookie, const struct craft_result *r);
    /* Optional hooks of the state machine (fsm.h): entries appended, suffix about to go. */
    void (*pre_commit)(void *ctx, const struct craft_entry *entries, size_t n);
    void (*rollback)(void *ctx, craft_index from);
    /* Leader: read entries from storage for a follower (node_input(CRAFT_IN_FETCHED) answers).
     * Optional: the node's own compaction never needs it (it compacts below its snapshots
     * only); an environment that compacts further through node_input does. */
    void (*fetch)(void *ctx, const struct craft_fetch *f);
    /* Snapshot streams (node_stream_*.c): a chunk to a follower (an error or a full queue: it
     * is resent after resend_ms) and an answer to the leader. Required with snapshot_every. */
    int (*send_chunk)(void *ctx, craft_id to, const struct craft_snap_chunk *c);
    void (*send_ack)(void *ctx, craft_id to, const struct craft_snap_ack *a);
    /* Optional, for tests and stats: a received snapshot file was checked (rv: the sink's
     * verdict, errmsg why not; meta: what the file holds when rv is 0), and a stream out ended. */
    void (*snapshot_received)(void *ctx, craft_id from, const struct craft_snap_chunk *last,
                              const struct craft_snapshot_meta *meta, int rv, const char *errmsg);
    void (*stream_ended)(void *ctx, craft_id to, bool delivered);
    /* A snapshot the node saved is known to the core: storage may drop the log it covers
     * (storage_snapshot_taken, on the log writer's side). Required with snapshot_every. */
    void (*snapshot_taken)(void *ctx, const struct craft_snapshot_meta *m);
    /* Optional, for tests that check every step: before the core steps; after it steps (before
     * its output is carried out); after the output was carried out (out still valid). */
    void (*before_step)(void *ctx, const struct craft_input *in);
    void (*stepped)(void *ctx, const struct craft_input *in, int rv,
                    const struct craft_output *out);
    void (*carried_out)(void *ctx, const struct craft_input *in, const struct craft_output *out);
    /* Optional: the node stopped for good (rv: why). */
    void (*failed)(void *ctx, int rv);
};

struct node_config {
    struct craft_core_config core; /* voters borrowed until node_create returns */
    /* Snapshots: one at every multiple of snapshot_every of the log index (0: never), so nodes
     * snapshot the same points; afterwards the memory log keeps log_trailing entries below the
     * snapshot's index for followers just behind (NODE_NEVER_COMPACT: the environment compacts
     * through node_input itself). */
    uint64_t snapshot_every;
    uint64_t log_trailing;
    /* The environment can save snapshots (runs NODE_APPLY_SNAPSHOT items, takes send_chunk and
     * snapshot_taken) even with snapshot_every 0: node_snapshot takes one on request. Without it
     * (and snapshot_every 0) node_snapshot is refused with CRAFT_ENOTSUP. */
    bool snapshots;
    /* Committed entries handed to apply and not yet reported applied, at most (0: no bound);
     * the rest wait in the core's log. With a bound, proposals get CRAFT_EBUSY while
     * NODE_APPLY_BACKLOG_WINDOWS windows of committed entries wait to be applied. */
    uint64_t apply_window;
    /* Where snapshot files live (the data directory's fs; borrowed for the node's life), and
     * how streams go: chunk size, chunks in flight, resend after resend_ms without an answer,
     * give up after stall_ms without progress (never for being long). */
    struct io_fs *fs;
    uint32_t chunk_bytes;
    uint32_t window_chunks;
    uint32_t resend_ms;
    uint32_t stall_ms;
};

#define NODE_NEVER_COMPACT UINT64_MAX
#define NODE_SNAPSHOT_WAITERS_MAX 1024u /* node_snapshot requests waiting at once */
#define NODE_APPLY_BACKLOG_WINDOWS 2u

/* Fills cfg with defaults: the core's (craft_core_config_init), no snapshots, no compaction,
 * no fs; streams of 64 KiB chunks, 4 in flight, resent after 500 ms, given up after 10 s. */
void node_config_init(struct node_config *cfg);

/* Creates the node over env (copied) with its core booted from boot (NULL: empty), and arms
 * its timer for now: the core's clock starts at the first node_on_timer. No env call but
 * timer_arm is made before node_create returns. */
CRAFT_MUST_CHECK int node_create(const struct node_config *cfg, const struct craft_core_boot *boot,
                                 const struct node_env *env, struct node **out);
/* Frees the node. A change or transfer still waiting ends with CRAFT_ESHUTDOWN first;
 * proposals and reads the core holds are the environment's to end (its table knows them). */
void node_destroy(struct node *n);

/* Events from the environment. */
void node_on_timer(struct node *n);
void node_on_msgs(struct node *n, const struct craft_msg *msgs, size_t k);
void node_on_durable(struct node *n, uint64_t seq);
/* The state machine has run every apply item up to the entry of index (reads in between). */
void node_on_applied(struct node *n, craft_index index);
/* Snapshot stream frames from peer `from` (valid for the call; the transport checked them). */
void node_on_snapshot_chunk(struct node *n, craft_id from, const struct craft_snap_chunk *c);
void node_on_snapshot_ack(struct node *n, craft_id from, const struct craft_snap_ack *a);
/* The NODE_APPLY_SNAPSHOT item of m ended: rv 0 when the snapshot is durable in the snapshot
 * store, else why not (the node tries again at the next multiple). */
void node_on_snapshot_saved(struct node *n, const struct craft_snapshot_meta *m, int rv);

/* Requests: a cookie names the request in env->complete, which runs exactly once per request,
 * from inside this call when it is refused at once. They return 0 when the request was taken,
 * else the status it was refused with. Proposals: k commands (copied), cookies[i] for cmds[i];
 * all are taken or all refused. */
int node_propose(struct node *n, const uint64_t *cookies, const struct craft_buf *cmds, size_t k);
/* more: another read follows at once (craft_input.read.more): the batch shares one heartbeat
 * round, started by its last read. */
int node_read(struct node *n, uint64_t cookie, int mode, bool more);
int node_change(struct node *n, uint64_t cookie, const struct craft_membership *target);
int node_transfer(struct node *n, uint64_t cookie, craft_id target);
/* A snapshot now (node_snapshot_now.c): covers every entry handed to the state machine when the
 * request is taken (the committed entries, unless the state machine is a window behind). Ends
 * with 0 and the snapshot's (index, term) once a snapshot at or past that index is durable, the
 * core knows it and storage was told to drop the log it covers: at once when the newest one
 * covers it already (index 0: there is none, and nothing was applied); else it joins the
 * snapshot being saved, or has one saved. CRAFT_ENOTSUP without snapshots, CRAFT_EBUSY when
 * NODE_SNAPSHOT_WAITERS_MAX wait or the core cannot describe that index yet (a node added to a
 * running cluster, before the entry that added it), a failed save's error, CRAFT_ESHUTDOWN. */
int node_snapshot(struct node *n, uint64_t cookie);
/* Any other input (a campaign, a compaction, the snapshot and fetch inputs) for an environment
 * that drives them itself; returns the step's result. */
int node_input(struct node *n, const struct craft_input *in);

/* State as of the last step. */
const struct craft_core *node_core(const struct node *n);
bool node_stopped(const struct node *n);
void node_status(const struct node *n, struct craft_node_status *st);

#endif
