/* A node: one Raft group's core, its log on disk, the user's state machine and the TCP links to
 * its peers, run by the node's own threads. This is what an application embeds. The log store
 * and the transport may be replaced by the user's own (craft/plug.h).
 *
 * Threads. Every function here may be called from any thread except a node's own callbacks,
 * unless it says otherwise; callbacks run on the node's threads and must not block (they may
 * call the non-blocking functions here). The thread layout is configuration (struct
 * craft_node_threads); the default is a loop thread (sockets, timers, the core, and the state
 * machine between its turns) and a log writer (group commit: one fdatasync per batch); a state
 * machine whose apply takes long gets a thread of its own with threads.apply.
 *
 * A shared loop (config.loop). An application that runs its own libuv loop may give it to the
 * node: the node then starts no loop thread of its own and runs on that loop, so the loop's
 * thread (the one that runs uv_run on it) is the node's loop thread. Requests made on it go to
 * the node without crossing threads or a wake-up: they are handed over after the loop turn's
 * I/O, in one batch, and outcomes that come from the loop (refusals, and with the state
 * machine on the loop every result) reach their callbacks on it. Calls from other threads work
 * as before (a queue and a wake-up). On the loop's thread the _wait functions fail with
 * CRAFT_EDEADLOCK (they would wait for the loop they block), and craft_node_create and
 * craft_node_destroy must be called there (see craft_node_destroy).
 *
 * Outcomes. Every request ends in exactly one outcome, given to its callback (async mode) or
 * returned (the _wait functions): 0 done, CRAFT_ENOTLEADER (with the leader's id when known),
 * CRAFT_EUNKNOWN (the entry was appended but leadership was lost before it committed: it may
 * or may not take effect), CRAFT_EBUSY (a bounded queue is full: retry later),
 * CRAFT_ESHUTDOWN (the node is stopping), CRAFT_EINVAL, CRAFT_ETOOBIG, CRAFT_ENOTSUP. */
#ifndef CRAFT_NODE_H
#define CRAFT_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "alloc.h"
#include "errors.h"
#include "fsm.h"
#include "log.h"
#include "plug.h"
#include "types.h"

struct craft_node; /* opaque */

#define CRAFT_ADDRESS_MAX 64 /* a host (IP literal or name) and a port: "10.0.0.1:7001", "[::1]:7001", "db1:7001" */

struct craft_peer {
    craft_id id;
    char address[CRAFT_ADDRESS_MAX]; /* host:port; an IP literal or a name, resolved per dial */
};

/* Which threads the node runs. Everything false: one thread does it all. */
struct craft_node_threads {
    bool log_writer; /* WAL writes and fdatasync on their own thread (else on the loop) */
    /* With log_writer: a follower (or candidate) hands its log to that thread too. False (the
     * default): the thread runs while the node leads, and a follower writes and syncs on its
     * loop, which has nothing else to wait for meanwhile: two thread hand-offs fewer per
     * AppendEntries (docs/ARCHITECTURE.md, "The log writer follows the role"). */
    bool log_writer_followers;
    bool apply;      /* the state machine on its own thread (else on the loop) */
};

/* Receives one log line of this node (no trailing newline; borrowed for the call), from any of
 * its threads: a sink shared by nodes must serialise itself. */
typedef void (*craft_node_log_fn)(void *ctx, int level, const char *line);

struct craft_node_config {
    uint64_t cluster; /* every node of a cluster has the same; a peer of another is refused */
    craft_id id;
    const char *data_dir; /* created if missing; holds this node's identity, log and snapshots */
    /* This node's listening address (host:port) and its peers (the other nodes it may talk to;
     * the cluster's membership decides who votes). Borrowed; copied by craft_node_create. */
    const char *listen;
    const struct craft_peer *peers;
    unsigned n_peers;
    /* Bootstrap: the voters of a brand-new cluster, the same list on each of them (this node's
     * id included). Ignored once the log or a snapshot holds a configuration. Empty for a node
     * that waits to be added to a running cluster. */
    const craft_id *voters;
    unsigned n_voters;
    uint32_t election_timeout_ms; /* timeouts are drawn from [t, 2t) */
    uint32_t heartbeat_interval_ms;
    bool lease_reads; /* allow CRAFT_READ_LEASE (trusts clock_drift_ppm) */
    uint32_t clock_drift_ppm;
    /* Take a snapshot (when the state machine can save one) at every multiple of this log
     * index; 0: never. The log before it is then dropped from disk, and from memory but for
     * log_trailing entries kept for followers just behind; a follower further behind gets the
     * snapshot, streamed in chunks. */
    uint64_t snapshot_every;
    uint64_t log_trailing;
    uint64_t entry_bytes_max;   /* a larger proposal is CRAFT_ETOOBIG */
    uint64_t pending_bytes_max; /* uncommitted payload bytes before proposals get CRAFT_EBUSY */
    struct craft_node_threads threads;
    /* Log lines of this node go here (NULL: stderr), at this level and above (enum
     * craft_log_level of log.h; lower is more severe). The transport and storage still log
     * through the library's process-wide logger. */
    craft_node_log_fn log;
    void *log_ctx;
    int log_level; /* enum craft_log_level */
    /* Where this node's memory comes from (NULL: the C library's malloc); borrowed until
     * craft_node_destroy returns. Each node of a process may have its own. */
    const struct craft_allocator *allocator;
    /* Plug-ins (craft/plug.h): NULL ops take craft's defaults, the WAL in data_dir and TCP on
     * listen. The ops are copied; ctx is borrowed until craft_node_destroy returns. With a
     * transport, listen may be NULL or "" (it is handed to the transport as given), and
     * craft_node_listen_port gives 0. With a log store, data_dir still holds the node's
     * snapshots. */
    const struct craft_transport_ops *transport;
    void *transport_ctx;
    const struct craft_log_store_ops *log_store;
    void *log_store_ctx;
    /* A shared loop (see "A shared loop" above): a uv_loop_t * of the libuv craft links, typed
     * void * so this header needs no uv.h. NULL (the default): the node runs its own loop on a
     * thread of its own. Borrowed: the loop must outlive the node and run until the node's
     * handles have closed after craft_node_destroy. Not with an allocator (the loop's callbacks
     * run under the loop thread's allocator): that combination is CRAFT_EINVAL. */
    void *loop;
};

/* Fills cfg with defaults: election timeout 1000 ms, heartbeat 100 ms, snapshots every 100,000
 * entries, entries up to 1 MiB, 64 MiB pending, clock drift 500 ppm (lease reads off), the
 * default thread layout, log lines of CRAFT_LOG_INFO and above to stderr; ids, addresses and
 * data_dir empty. */
void craft_node_config_init(struct craft_node_config *cfg);

/* Opens (or creates) the data directory, recovers the log and the latest snapshot, restores the
 * state machine from it, and starts the node's threads; the node then takes part in elections.
 * fsm (ops copied, ctx borrowed until craft_node_destroy) is the state machine. On failure,
 * errmsg (when not NULL) explains it. With config.loop: on that loop's thread only (before it
 * runs, or from one of its callbacks); after a failure the loop must run on as after
 * craft_node_destroy. */
CRAFT_MUST_CHECK int craft_node_create(const struct craft_node_config *cfg,
                                       const struct craft_fsm_ops *fsm, void *fsm_ctx,
                                       struct craft_node **out, char *errmsg, size_t errmsg_len);

/* Stops every thread, fails what is pending with CRAFT_ESHUTDOWN (their callbacks run before
 * this returns), closes the files and sockets, and frees the node. Not from a node's callback.
 * With config.loop: on that loop's thread only (from one of its callbacks, or while it is not
 * running); everything above is done before it returns, but libuv closes the node's handles
 * only as the loop runs on, and the node's last memory is freed in their close callbacks: run
 * the loop (uv_run) until it has nothing left before uv_loop_close. n must not be used after
 * this call either way. */
void craft_node_destroy(struct craft_node *n);

/* The port n listens on: the one the system picked when config.listen gave port 0 (0 with a
 * plugged transport). Any thread. */
uint16_t craft_node_listen_port(struct craft_node *n);

/* The outcome of a request. */
struct craft_result {
    int status;        /* 0 or an error (see above) */
    craft_index index; /* a proposal's log index; a read's read index */
    craft_term term;
    void *value;       /* a proposal's result from fsm apply (status 0); yours to free */
    craft_id leader;   /* with CRAFT_ENOTLEADER: the leader's id if known, else 0 */
    char leader_address[CRAFT_ADDRESS_MAX]; /* and its address, if known, else "" */
};

typedef void (*craft_result_fn)(void *arg, const struct craft_result *r);

/* Proposes a command (copied). The callback runs once, with the state machine's result once
 * the entry is committed and applied here, or with the failure. Returns 0 when queued (the
 * callback will run), else the error (the callback will not run). */
CRAFT_MUST_CHECK int craft_node_propose(struct craft_node *n, const void *data, size_t len,
                                        craft_result_fn cb, void *arg);
/* The same, blocking until the outcome; fills *r. Returns r->status. Like every _wait function:
 * CRAFT_EDEADLOCK at once on a shared loop's thread (config.loop). */
int craft_node_propose_wait(struct craft_node *n, const void *data, size_t len,
                            struct craft_result *r);

enum craft_node_read_mode {
    CRAFT_NODE_READ_LINEARIZABLE = 1, /* ReadIndex through the leader */
    CRAFT_NODE_READ_LEASE = 2,        /* the leader's lease (config.lease_reads) */
    CRAFT_NODE_READ_STALE = 3,        /* whatever this node has applied, any node */
};

/* Reads the state machine: once the read is safe in the given mode, fn runs on the apply side
 * with the state machine at or past the read index (no apply runs meanwhile), then cb with the
 * outcome (r->status 0: fn ran). fn may be NULL (only the outcome is wanted). */
typedef void (*craft_read_fn)(void *arg, void *fsm_ctx);
CRAFT_MUST_CHECK int craft_node_read(struct craft_node *n, int mode, craft_read_fn fn,
                                     craft_result_fn cb, void *arg);
int craft_node_read_wait(struct craft_node *n, int mode, craft_read_fn fn, void *arg,
                         struct craft_result *r);

/* Leader only: changes the cluster's configuration to target (voters and learners; a new
 * voter catches up as a learner first). Peers it names must be in config.peers or added
 * with craft_node_add_peer first. */
CRAFT_MUST_CHECK int craft_node_change(struct craft_node *n, const struct craft_membership *target,
                                       craft_result_fn cb, void *arg);
int craft_node_change_wait(struct craft_node *n, const struct craft_membership *target,
                           struct craft_result *r);
/* Tells the node the address of another node (before it is added to the configuration). */
CRAFT_MUST_CHECK int craft_node_add_peer(struct craft_node *n, const struct craft_peer *peer);

/* Leader only: hands leadership to target (CRAFT_ID_NONE: the most caught-up voter). The
 * outcome is 0 once target leads, CRAFT_EBUSY when the transfer timed out. */
CRAFT_MUST_CHECK int craft_node_transfer(struct craft_node *n, craft_id target, craft_result_fn cb,
                                         void *arg);
int craft_node_transfer_wait(struct craft_node *n, craft_id target, struct craft_result *r);

/* Takes a snapshot now, whatever snapshot_every says: it covers every committed entry this
 * node has handed to its state machine when the request reaches the node's loop (the commit
 * index then, unless the state machine is more than a window of entries behind), and is saved
 * once the state machine has applied them. The outcome is 0 once that snapshot is durable, the
 * node's core knows it and the log it covers is handed to the log store to drop (the WAL's
 * segments go after what is queued is durable); r->index and r->term name the snapshot, which
 * may be newer than asked (one installed from the leader, or taken meanwhile). A snapshot
 * already saved at or past that index answers at once (index 0: there is none and nothing was
 * applied); a request arriving while another snapshot is being saved waits for it and, if that
 * one does not reach its index, for the next, which the node then saves. Any node, leader or
 * not. Failures: CRAFT_ENOTSUP (the state machine cannot save snapshots, or a plugged
 * transport cannot stream them), CRAFT_EBUSY (too many requests waiting, or the node cannot
 * describe its configuration at that index yet: a node just added to a running cluster;
 * retry), the save's error (CRAFT_EIO, CRAFT_ENOSPC, ...: nothing was taken), CRAFT_ESHUTDOWN. */
CRAFT_MUST_CHECK int craft_node_snapshot(struct craft_node *n, craft_result_fn cb, void *arg);
int craft_node_snapshot_wait(struct craft_node *n, struct craft_result *r);

enum craft_node_role {
    CRAFT_NODE_FOLLOWER = 1,
    CRAFT_NODE_CANDIDATE = 2,
    CRAFT_NODE_LEADER = 3,
    CRAFT_NODE_STOPPED = 4, /* a fatal error (a failed fdatasync, a failed apply) stopped it */
};

struct craft_node_follower {
    craft_id id;
    craft_index match; /* highest index known to be on that follower */
    int state;         /* enum craft_progress_state of core.h */
    bool voter;
};

struct craft_node_status {
    craft_id id;
    int role; /* enum craft_node_role */
    craft_term term;
    craft_id leader;
    craft_index commit;
    craft_index applied;
    craft_index last_index;
    craft_index snapshot_index;
    struct craft_membership membership;
    struct craft_node_follower followers[CRAFT_VOTERS_MAX + CRAFT_LEARNERS_MAX];
    unsigned n_followers; /* filled on the leader only */
};

/* A consistent copy of the node's state as of its last step. Any thread, never blocks long. */
void craft_node_status(struct craft_node *n, struct craft_node_status *st);

/* Latency histograms have log2 buckets in microseconds: bucket i counts the samples that took
 * at most CRAFT_NODE_HIST_BOUND_US(i) = 2^i us and more than 2^(i-1) us (bucket 0: at most
 * 1 us), up to 2^30 us (about 18 minutes); the last bucket counts everything longer. Buckets
 * are not cumulative: n is their sum. */
#define CRAFT_NODE_HIST_BUCKETS 32
#define CRAFT_NODE_HIST_BOUND_US(i) (UINT64_C(1) << (i))

struct craft_node_histogram {
    uint64_t n;      /* samples */
    uint64_t sum_us; /* their total, each rounded up to a whole microsecond */
    uint64_t buckets[CRAFT_NODE_HIST_BUCKETS];
};

/* The node's disk I/O since craft_node_create: what an operator graphs beside the commit
 * latency. Counters only rise; "last" fields keep the newest event's figures. */
struct craft_node_stats {
    /* The default log store (the WAL in data_dir): every fdatasync its storage made (one per
     * group-commit batch; a few more when a segment fills or is created, when old segments go,
     * and at startup), timed around the system call itself, and the bytes it wrote (records
     * with their headers and padding, segment headers). All zero with a plugged log store:
     * craft does not see its I/O (plug.h). */
    struct craft_node_histogram wal_fsync;
    uint64_t wal_bytes_written;
    /* Snapshots this node saved (fsm snapshot_save, or snapshot_begin and co): the duration
     * from the start of the save (snapshot_save's call, or snapshot_begin's view) until the
     * file is durable, its fdatasync included; snapshot_save.n counts the saves that succeeded,
     * snapshot_save.sum_us is their total duration. */
    struct craft_node_histogram snapshot_save;
    uint64_t n_snapshot_save_failures;
    craft_index snapshot_saved_last_index; /* 0: none saved yet */
    uint64_t snapshot_saved_last_bytes;    /* the file's size */
    uint64_t snapshot_saved_last_us;
    /* Every fdatasync of a snapshot file, saved or received (one per file; a failed or
     * restarted reception may add some), timed around the system call. */
    struct craft_node_histogram snapshot_fsync;
    /* Snapshots received from a leader: whole files, checked and durable here (the node then
     * installs them unless it has moved past them meanwhile). */
    uint64_t n_snapshots_received;
    uint64_t snapshot_received_bytes;         /* the files' total size */
    craft_index snapshot_received_last_index; /* 0: none received yet */
    uint64_t snapshot_received_last_bytes;
};

/* A consistent copy of the node's I/O statistics (each group of fields above describes one
 * moment). Any thread; cheap (no lock on the WAL's write path: its figures are read without a
 * lock; the snapshots' are kept under the status lock). */
void craft_node_stats(struct craft_node *n, struct craft_node_stats *out);

#endif
