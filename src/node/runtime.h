/* The production environment of a node (struct craft_node of craft/node.h): a libuv loop thread
 * running the node (node.h) with the transport and the one timer, the log writer and apply
 * threads (each optional: the same work then runs on the loop), and the request table that
 * carries user requests to their callbacks. Work crosses threads in batches, one wake-up each. */
#ifndef CRAFT_NODE_RUNTIME_H
#define CRAFT_NODE_RUNTIME_H

#include <stdarg.h>
#include <stdatomic.h>

#include <uv.h>

#include "craft/node.h"
#include "io/fs.h"
#include "io/thread.h"
#include "net/transport.h"
#include "node.h"
#include "storage/log_writer.h"
#include "storage/storage.h"

/* Committed entries handed to the apply side ahead of what it reported applied, at most: a state
 * machine slower than commitment leaves the rest in the core's log (node_config.apply_window). */
#define RT_APPLY_WINDOW 65536u
/* The group id this single-group node puts in its frames (0 is the hello's). */
#define RT_GROUP 1
/* Requests waiting for the loop to take them (the bounded MPSC queue); more get CRAFT_EBUSY. */
#define RT_QUEUE_MAX 4096u
/* Requests in flight at once (queued, in the core, or waiting to be applied). */
#define RT_PENDING_MAX 65536u
/* Peers a node knows the addresses of: every member of a full configuration, twice over. */
#define RT_PEERS_MAX (2 * (CRAFT_VOTERS_MAX + CRAFT_LEARNERS_MAX))
/* Messages without entries (answers, votes, heartbeats) that arrived in one loop turn are handed
 * to the node as one batch, up to this many. */
#define RT_MSGS_BATCH_MAX 1024u
/* A proposal's bytes plus what an AppendEntries frame carries around one entry must fit the
 * receiver's frame body limit; 4 KiB is far more than that overhead. */
#define RT_FRAME_OVERHEAD 4096u
/* What a plugged transport's deliveries may hold in the node's inbox, waiting for the loop; more
 * are refused with CRAFT_EBUSY (dropped: Raft resends). Above the pending bytes default (64 MiB)
 * so a follower's inbox does not drop a leader's normal burst. */
#define RT_INBOX_BYTES_MAX (128ull << 20)

/* ---- address parsing (runtime_addr.c) ---- */

/* Splits "host:port" or "[v6]:port" into an IP literal and a port. allow_zero: port 0 (the
 * system picks one) is accepted. 0 or CRAFT_EINVAL with the reason in errmsg. */
CRAFT_MUST_CHECK int rt_addr_parse(const char *addr, bool allow_zero, char host[NET_HOST_MAX],
                                   uint16_t *port, char *errmsg, size_t errmsg_len);

/* ---- the per-handle logger (runtime_logger.c) ---- */

struct rt_logger {
    craft_node_log_fn fn; /* NULL: stderr */
    void *ctx;
    int level; /* lines at this level or more severe are written */
    craft_id node;
};

void rt_log(const struct rt_logger *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the request table (runtime_requests.c) ---- */

enum rt_req_kind {
    RT_REQ_PROPOSE = 1,
    RT_REQ_READ = 2,
    RT_REQ_CHANGE = 3,
    RT_REQ_TRANSFER = 4,
    RT_REQ_SNAPSHOT = 5,
};

/* One request between its submission and its outcome. */
struct rt_req {
    uint32_t kind; /* enum rt_req_kind */
    craft_result_fn cb;
    void *arg;
    craft_read_fn read_fn; /* RT_REQ_READ: runs on the apply side with read_arg */
    void *read_arg;
};

struct rt_slot;

/* cookie -> request. Any thread; one mutex. A cookie holds the slot and its generation, so a
 * stale cookie (a request already ended) finds nothing. */
struct rt_requests {
    struct io_mutex mu;
    struct rt_slot *slots; /* owned; grown up to RT_PENDING_MAX */
    size_t cap;
    size_t n_used;
    uint32_t free_head; /* slot index + 1; 0: none free */
};

void rt_requests_init(struct rt_requests *t);
void rt_requests_close(struct rt_requests *t);
/* Registers req; its cookie (never 0) into *cookie. CRAFT_EBUSY (RT_PENDING_MAX in flight),
 * CRAFT_ENOMEM. */
CRAFT_MUST_CHECK int rt_requests_add(struct rt_requests *t, const struct rt_req *req,
                                     uint64_t *cookie);
/* Removes the request of cookie into *out; false when there is none (it ended already). */
bool rt_requests_take(struct rt_requests *t, uint64_t cookie, struct rt_req *out);
/* Ends every request with status (callbacks run on the calling thread). */
void rt_requests_fail_all(struct rt_requests *t, int status);
size_t rt_requests_count(struct rt_requests *t);

/* ---- the request queue from user threads to the loop (runtime_queue.c) ---- */

enum rt_msg_kind {
    RT_MSG_PROPOSE = 1,
    RT_MSG_READ = 2,
    RT_MSG_CHANGE = 3,
    RT_MSG_TRANSFER = 4,
    RT_MSG_ADD_PEER = 5,
    RT_MSG_SNAPSHOT = 6,
};

struct rt_msg {
    uint32_t kind; /* enum rt_msg_kind */
    uint64_t cookie;
    void *data;   /* owned by the message: the command's copy, the change's target */
    size_t len;   /* the command's length */
    uint64_t arg; /* read mode, transfer target, or the added peer's id */
};

/* Bounded MPSC: producers push under the mutex into back; the loop swaps back and front and
 * drains front without the lock. */
struct rt_queue {
    struct io_mutex mu;
    struct rt_msg *back; /* owned, RT_QUEUE_MAX each */
    struct rt_msg *front;
    size_t n_back;
    bool closed;
    /* The loop's scratch for one batch of proposals (RT_QUEUE_MAX each). */
    uint64_t *cookies;
    struct craft_buf *cmds;
};

CRAFT_MUST_CHECK int rt_queue_init(struct rt_queue *q);
void rt_queue_close(struct rt_queue *q);

/* ---- the apply queue and thread (runtime_apply.c) ---- */

struct rt_apply_batch;

/* The snapshot thread (runtime_snapshot.c): writes a state machine's view (fsm snapshot_begin)
 * to a snapshot file while applies go on. One job at a time (the node saves one snapshot at a
 * time). Started only when the state machine has snapshot_begin. */
struct rt_builder {
    struct io_mutex mu;
    struct io_cond cond;
    bool started;
    bool stop;
    bool job;  /* a view waits to be written */
    void *view; /* the state machine's, until snapshot_end */
    struct craft_snapshot_meta meta;
    uint64_t began_ns; /* when the view was asked for (the save's duration) */
    struct io_thread thread;
};

struct rt_apply {
    struct io_mutex mu;
    struct io_cond cond;
    struct rt_apply_batch *head; /* owned; the items waiting, in order */
    struct rt_apply_batch *tail;
    bool stop;
    bool threaded;
    bool started;
    struct io_thread thread;
    craft_index applied_base; /* what the state machine held when the node started */
    /* Used by whoever runs the batches (the apply thread, or the loop): */
    void **results; /* owned scratch for fsm apply */
    size_t results_cap;
};

/* ---- I/O statistics (runtime_stats.c) ---- */

/* A view of the data directory's file system that passes every call through, counting the
 * bytes written and timing each fdatasync. The default log store's storage runs over one (the
 * WAL's figures), the node's snapshot files over another. The WAL's is written by the one
 * thread that runs storage at a time (the creating thread, then the log writer or the loop)
 * under a sequence counter, odd while an update is under way, so any thread reads a consistent
 * copy without a lock (and the writer takes none). Snapshot files are written from several
 * threads (a save on the apply side or the snapshot thread, a reception on the loop), rarely:
 * that meter's updates and reads take mu (the status lock). */
struct rt_fs_meter {
    struct io_fs fs;     /* the metered view: ctx this meter */
    struct io_fs *inner; /* the node's fs; borrowed */
    struct io_mutex *mu; /* NULL: one writer at a time, under seq */
    atomic_uint_fast64_t seq;
    _Atomic uint64_t bytes_written;
    _Atomic uint64_t sync_n;
    _Atomic uint64_t sync_sum_us;
    _Atomic uint64_t sync_buckets[CRAFT_NODE_HIST_BUCKETS];
};

/* ---- the node object ---- */

struct rt_in_item;

struct rt_peer {
    craft_id id;
    char address[CRAFT_ADDRESS_MAX];
    char host[NET_HOST_MAX];
    uint16_t port;
};

struct craft_node {
    /* Copies of the config and what it pointed to. */
    struct craft_node_config cfg;
    char *data_dir;     /* owned */
    char *listen;       /* owned; NULL when config.listen was */
    char listen_host[NET_HOST_MAX];
    uint16_t listen_port;
    craft_id *voters;   /* owned */
    struct craft_fsm_ops fsm;
    void *fsm_ctx;
    struct rt_logger log;

    /* The peer table: any thread reads it under peers_mu (leader addresses); add_peer appends. */
    struct io_mutex peers_mu;
    struct rt_peer peers[RT_PEERS_MAX];
    unsigned n_peers;

    /* User side. */
    atomic_bool closing; /* craft_node_destroy began: requests get CRAFT_ESHUTDOWN */
    atomic_bool fatal;   /* the node stopped for good: requests get CRAFT_ESHUTDOWN */
    struct rt_requests requests;
    struct rt_queue queue;

    /* Cross-thread reports to the loop, under wake_mu, then one uv_async_send. */
    struct io_mutex wake_mu;
    bool wake_open;          /* the async handle may be sent to */
    bool stop_requested;     /* craft_node_destroy */
    uint64_t durable_seq;    /* the log store's newest "durable up to" */
    int durable_status;      /* < 0: the log store failed */
    uint64_t log_seq_max;    /* the newest submission to the log store */
    craft_index applied;     /* the apply side's newest "applied up to" */
    int apply_status;        /* < 0: the state machine failed */
    bool snap_saved_due;     /* the apply side ended a snapshot save (one at a time) */
    int snap_saved_rv;
    struct craft_snapshot_meta snap_saved;

    /* Loop thread. loop is loop_own, run by loop_thread; or, with config.loop, the caller's
     * (loop_shared), run by the thread that created the node (loop_tid). */
    uv_loop_t loop_own;
    uv_loop_t *loop;
    bool loop_shared;
    uv_thread_t loop_tid;
    /* Shared loop: the loop's thread queued requests since the last hand-over; they go to the
     * node after this turn's I/O (the check handle), with the idle handle keeping the loop's
     * poll from blocking meanwhile. Loop thread only. */
    bool loop_kick;
    /* Shared loop: craft_node_destroy has freed all but this struct, whose handles are
     * closing; the last close callback frees it. */
    bool free_on_close;
    uv_async_t wake;
    uv_timer_t timer;
    uv_idle_t idle;       /* deferred work of the thread-less layouts */
    uv_prepare_t prepare; /* the status copy, once per loop turn */
    uv_check_t check;     /* after the turn's I/O: the batch of arrived messages to the node */
    unsigned n_handles_open;
    struct io_thread loop_thread;
    bool loop_started;
    /* The transport (runtime_transport.c): the plugged ops, or the default TCP ones
     * (runtime_net.c, whose state is transport below). */
    struct craft_transport_ops transport_ops;
    void *transport_ctx;
    bool transport_plugged;
    bool transport_started;
    struct net_transport *transport; /* the default transport's; NULL when plugged */
    /* Deliveries of a plugged transport (any thread), under inbox_mu, for the loop. */
    struct io_mutex inbox_mu;
    struct rt_in_item *inbox_head; /* owned; in delivery order */
    struct rt_in_item *inbox_tail;
    uint64_t inbox_bytes;
    bool inbox_open; /* between the transport's start and stop */
    struct node *node;
    struct craft_msg *msgs_in; /* owned, RT_MSGS_BATCH_MAX: arrived, not yet handed over */
    size_t n_msgs_in;
    bool node_dead; /* fatal or destroying: no more node_* calls */
    uint64_t durable_done; /* the newest seq handed to node_on_durable */
    craft_index applied_done;

    /* The log store (runtime_log.c): the plugged ops, or the default (rt_wal_ops, ctx n). */
    struct craft_log_store_ops log_ops;
    void *log_ctx;
    bool log_plugged;
    bool log_open;     /* opened, not closed yet */
    bool log_released; /* the recovered entries were given back */
    /* The data directory (snapshots; the default store's WAL), and the default store's
     * storage: the log writer thread's, or the loop's with threads.log_writer false. */
    struct io_fs *fs;
    struct storage *storage;
    struct log_writer *writer; /* NULL: the loop writes (runtime_log.c, rt_log_follow_role) */
    uint64_t writer_seq_base;  /* the writer counts from 1: node seq = writer's + this */
    bool writer_snap_given;    /* a snapshot_taken went to this writer (redone at its stop) */
    struct craft_snapshot_meta writer_snap;
    bool writer_start_failed; /* not retried until the role changes again */
    bool leading;             /* the core's role is leader (the last role event) */
    uint64_t inline_seq;      /* the loop's log: the newest submission */
    bool inline_sync_due;     /* the loop's log: submitted since the last sync */

    struct rt_apply apply;
    struct rt_builder builder;

    /* The status copy. */
    struct io_mutex status_mu;
    struct craft_node_status status;
    struct net_transport_stats net_stats;
    /* I/O statistics (runtime_stats.c): the WAL's and the snapshot files' through their
     * meters, the snapshots' other fields of snap_stats under status_mu (its fsync fields stay
     * zero). */
    struct rt_fs_meter wal_meter;
    struct rt_fs_meter snap_meter;
    struct craft_node_stats snap_stats;
};

/* runtime_logger.c */
#define RT_LOG(n, level, ...) rt_log(&(n)->log, (level), __VA_ARGS__)

/* runtime_loop.c: the loop's handles, thread and cross-thread wake-ups. */
CRAFT_MUST_CHECK int rt_loop_init(struct craft_node *n);
CRAFT_MUST_CHECK int rt_loop_start(struct craft_node *n);
/* Asks the loop to shut down (fail, stop, close) and joins it; then closes the loop. On a shared
 * loop (its thread): shuts down here, and the handles close as the caller's loop runs on. */
void rt_loop_stop(struct craft_node *n);
/* For a create that failed before the loop thread started: closes the handles on this thread
 * (on a shared loop, as rt_loop_stop). */
void rt_loop_abandon(struct craft_node *n);
/* Whether the node's handles are still closing (shared loop): node_free then leaves the struct
 * to the last close callback. */
bool rt_loop_closing(struct craft_node *n);
/* True on the thread that runs a shared loop (config.loop); false with the node's own loop. */
bool rt_on_loop(struct craft_node *n);
/* Wakes the loop (call with wake_mu held, after setting what it should look at). */
void rt_wake_locked(struct craft_node *n);
/* The node stopped for good (a failed write, apply, or the node's own verdict). Loop thread. */
void rt_fatal(struct craft_node *n, int rv, const char *why);
/* The thread-less layouts' deferred work is due: run the idle handle. Loop thread. */
void rt_defer(struct craft_node *n);
uint64_t rt_now_ms(void);
/* The environment the node runs against (runtime_loop.c wires it). */
void rt_env_fill(struct craft_node *n, struct node_env *env);

/* runtime_queue.c: producers (any thread). */
CRAFT_MUST_CHECK int rt_queue_push(struct craft_node *n, const struct rt_msg *m);
/* Loop: hands every queued message to the node. With closing, frees them and fails their
 * requests with CRAFT_ESHUTDOWN, and closes the queue. */
void rt_queue_drain(struct craft_node *n, bool closing);

/* runtime_net.c: the default transport (TCP, net_transport on the loop), as an ops table
 * whose ctx is the craft_node. Its frames reach the node without the inbox's copy: the plain
 * messages of a loop turn in one batch, an AppendEntries with entries at once. */
extern const struct craft_transport_ops rt_net_ops;
/* Hands the messages batched this turn to the node (loop; the check handle's callback). */
void rt_net_flush(struct craft_node *n);

/* runtime_transport.c: the node's side of whichever transport (plugged or default). */
/* Starts the transport and tells it the peers of the table. Creating thread, before the loop
 * thread starts. */
CRAFT_MUST_CHECK int rt_transport_start(struct craft_node *n, char *errmsg, size_t errmsg_len);
/* The node's env->send, send_chunk and send_ack. */
void rt_transport_send(void *ctx, const struct craft_msg *m);
int rt_transport_send_chunk(void *ctx, craft_id to, const struct craft_snap_chunk *c);
void rt_transport_send_ack(void *ctx, craft_id to, const struct craft_snap_ack *a);
/* The peer id of the table was added (loop). */
void rt_transport_add_peer(struct craft_node *n, craft_id id);
/* Stops the transport (no delivery after it) and drops the inbox (loop, or the creating
 * thread of a failed create). */
void rt_transport_stop(struct craft_node *n);
/* Hands what the plugged transport delivered to the node, in order (loop, on wake-ups). */
void rt_transport_drain(struct craft_node *n);

/* runtime_log.c: the log store (plugged, or the default: storage and the log writer, whose
 * thread-less layout syncs from the loop's idle handle and reports without a wake-up). */
extern const struct craft_log_store_ops rt_wal_ops;
/* Opens the store and recovers it into *rec (checked: a log continuing rec->snapshot), whose
 * entries are the store's until rt_log_release. Creating thread, after n->fs is open. */
CRAFT_MUST_CHECK int rt_log_open(struct craft_node *n, struct craft_log_store_recovered *rec,
                                 char *errmsg, size_t errmsg_len);
void rt_log_release(struct craft_node *n);
/* The node's env->log_submit. */
int rt_log_submit(void *ctx, const struct craft_persist *p, uint64_t *seq);
/* Loop: the default's thread-less sync of this turn's submissions, then node_on_durable. */
void rt_log_run_inline(struct craft_node *n);
void rt_log_follow_role(struct craft_node *n);
/* Closes the store (no durable report after it); once. */
void rt_log_close(struct craft_node *n);

/* runtime_apply.c: the apply side. */
CRAFT_MUST_CHECK int rt_apply_init(struct craft_node *n);
CRAFT_MUST_CHECK int rt_apply_start(struct craft_node *n);
int rt_apply_submit(void *ctx, const struct node_apply_item *items, size_t k);
/* Loop: the thread-less layout runs what is queued, then node_on_applied. */
void rt_apply_run_inline(struct craft_node *n);
bool rt_apply_pending(struct craft_node *n);
/* Stops the thread (what is queued is dropped: its requests end with CRAFT_ESHUTDOWN later). */
void rt_apply_stop(struct craft_node *n);
void rt_apply_close(struct craft_node *n);

/* runtime_requests.c: ending a request (any thread). r->leader_address is filled here. */
void rt_complete(struct craft_node *n, uint64_t cookie, const struct craft_result *r);
void rt_complete_env(void *ctx, uint64_t cookie, const struct craft_result *r);

/* runtime_snapshot.c: restores the state machine from the snapshot storage recovered (on the
 * creating thread, before the node's threads start). CRAFT_EINVAL (no snapshot_restore),
 * CRAFT_ECORRUPT, CRAFT_EIO, ...; errmsg says what. */
CRAFT_MUST_CHECK int rt_snapshot_restore(struct craft_node *n,
                                         const struct craft_snapshot_meta *meta, char *errmsg,
                                         size_t errmsg_len);

/* On the apply side: saves the state machine as the snapshot of meta (durable before it
 * returns 0), and restores it from the received snapshot of meta, or from a newer one that
 * replaced it meanwhile (*restored: the index the state machine now holds). */
CRAFT_MUST_CHECK int rt_snapshot_save(struct craft_node *n, const struct craft_snapshot_meta *meta);
/* Whether the state machine can save snapshots (snapshot_save, or snapshot_begin and co). */
bool rt_fsm_snapshots(const struct craft_fsm_ops *fsm);
/* Any thread: a save of meta ended with rv (0: durable); the loop hears of it. */
void rt_snapshot_saved(struct craft_node *n, const struct craft_snapshot_meta *meta, int rv);
/* The snapshot thread for state machines with snapshot_begin (struct rt_builder): init and
 * close around the node's life; start (a no-op without snapshot_begin) and stop (waits for the
 * view being written, ends one not started). rt_builder_save, on the apply side: takes the
 * view of meta and hands it to the thread, which reports like a save (snap_saved_due); returns
 * an error (nothing handed over) when the view cannot be taken. */
void rt_builder_init(struct craft_node *n);
CRAFT_MUST_CHECK int rt_builder_start(struct craft_node *n);
CRAFT_MUST_CHECK int rt_builder_save(struct craft_node *n, const struct craft_snapshot_meta *meta);
void rt_builder_stop(struct craft_node *n);
void rt_builder_close(struct craft_node *n);
CRAFT_MUST_CHECK int rt_snapshot_restore_received(struct craft_node *n,
                                                  const struct craft_snapshot_meta *meta,
                                                  craft_index *restored);

/* runtime_stream.c: snapshot stream frames between the node and the default transport. */
int rt_stream_send_chunk(void *ctx, craft_id to, const struct craft_snap_chunk *c);
int rt_stream_send_ack(void *ctx, craft_id to, const struct craft_snap_ack *a);
/* A chunk or answer frame arrived from peer (loop). */
void rt_stream_on_frame(struct craft_node *n, craft_id peer, const struct wire_frame *f);
/* The node's env->snapshot_taken (runtime_log.c): the store drops the log it covers. */
void rt_log_snapshot_taken(void *ctx, const struct craft_snapshot_meta *m);

/* runtime_status.c */
void rt_status_refresh(struct craft_node *n);

/* runtime_stats.c */
/* The histogram bucket of a sample of us microseconds: the smallest i with us <= 2^i, or the
 * overflow bucket (craft/node.h, CRAFT_NODE_HIST_BUCKETS). */
unsigned rt_stats_bucket(uint64_t us);
/* Makes m a meter over inner (borrowed; mu: NULL for one writer at a time, else the lock its
 * updates and reads take) and returns its view, &m->fs. m must be zeroed before the first. */
struct io_fs *rt_fs_meter_init(struct rt_fs_meter *m, struct io_fs *inner, struct io_mutex *mu);
/* A consistent copy of m's fdatasync histogram and bytes written: retried while its one writer
 * was at work (with a mutex, the caller holds it). Any thread. */
void rt_fs_meter_read(struct rt_fs_meter *m, struct craft_node_histogram *sync,
                      uint64_t *bytes_written);
/* The metered view of n->fs the default log store's storage runs over (runtime_log.c). */
struct io_fs *rt_stats_wal_fs(struct craft_node *n);
/* The metered view of n->fs for snapshot files: made on the creating thread before the node
 * boots (runtime.c gives it to the node for streams), used by saves (runtime_snapshot.c). */
struct io_fs *rt_stats_snapshot_fs(struct craft_node *n);
/* The monotonic clock in ns, for the durations below. */
uint64_t rt_stats_now_ns(void);
/* A snapshot save begun at began_ns ended (any thread): rv 0, durable, file_bytes long. */
void rt_stats_snapshot_saved(struct craft_node *n, const struct craft_snapshot_meta *meta, int rv,
                             uint64_t file_bytes, uint64_t began_ns);
/* The node's env->snapshot_received (loop): a received snapshot file was checked. */
void rt_stats_snapshot_received(void *ctx, craft_id from, const struct craft_snap_chunk *last,
                                const struct craft_snapshot_meta *meta, int rv, const char *errmsg);

/* runtime_peers.c */
/* Adds a peer to the table (any thread). CRAFT_EINVAL (bad id or address, errmsg says),
 * CRAFT_EEXIST, CRAFT_EBUSY (table full). */
CRAFT_MUST_CHECK int rt_peers_add(struct craft_node *n, const struct craft_peer *p, char *errmsg,
                                  size_t errmsg_len);
void rt_peers_remove(struct craft_node *n, craft_id id);
/* Copies the address of id into out ("" when unknown). */
void rt_peers_address(struct craft_node *n, craft_id id, char out[CRAFT_ADDRESS_MAX]);
/* Copies the table entry of id; false when unknown. */
bool rt_peers_get(struct craft_node *n, craft_id id, struct rt_peer *out);

/* For tests (tests/cluster): the transport's counters as of the last loop turn. */
void craft_node_transport_stats(struct craft_node *n, struct net_transport_stats *out);

#endif
