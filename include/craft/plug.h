/* Plug-in points of a node (craft/node.h): the log store (the Raft log and hard state) and the
 * transport (the links to the peers), each an ops table plus a ctx that the user may give in
 * struct craft_node_config to replace craft's default (the WAL in the data directory, and TCP).
 * docs/API.md, "Plugging your own log store or transport", states the contracts in full.
 *
 * Threads. Every op runs on the node's loop thread, one at a time, and must not block for long
 * (it holds up the node). The node's delivery and durability callbacks given to the plug-in may
 * be called from any thread, at any time between start/open and stop/close returning. */
#ifndef CRAFT_PLUG_H
#define CRAFT_PLUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "msg.h"
#include "types.h"

/* ---- the transport ---- */

/* A piece of a snapshot file streamed from a leader to a follower (the leader's node sends it,
 * the follower's node takes it). */
/* The version of the ops tables below; a table of another version is refused. Tables may grow
 * at their end in later versions (a newer table starts with a higher number). */
#define CRAFT_PLUG_VERSION 1u

struct craft_snap_chunk {
    craft_term leader_term; /* of the leader sending it */
    craft_index index;      /* the snapshot's (index, term) */
    craft_term term;
    uint64_t size;    /* its file's bytes */
    uint64_t offset;  /* where these bytes go */
    const void *data; /* borrowed for the call */
    uint32_t len;
};

/* The follower's answer to chunks: how much of the snapshot it holds. */
struct craft_snap_ack {
    craft_term leader_term; /* the chunk's */
    craft_index index;
    craft_term term;
    uint64_t offset; /* the receiver holds the file before this offset */
    bool done;       /* it holds the whole file, checked and durable */
};

/* How a transport hands what arrived to its node. Each function may be called from any thread
 * (the transport's own, or the loop inside an op), between start and the end of stop; it copies
 * what it is given (borrowed for the call) into the node's inbox and wakes the node's loop once
 * per batch (a wake-up already pending is not repeated). The loop hands the inbox to the node in
 * the order the calls were made. Each returns 0 when queued, CRAFT_EBUSY when the inbox is full
 * (128 MiB waiting: the item is dropped, Raft resends), CRAFT_ESHUTDOWN when the node is
 * stopping, CRAFT_ENOMEM. A delivery may be dropped at any time (Raft tolerates loss,
 * duplication and reordering), but never altered: a transport must check what it received. */
struct craft_transport_deliver {
    void *node; /* the node's side; pass it back as the first argument */
    /* msgs[0..n) arrived (entries and their data included). */
    int (*msgs)(void *node, const struct craft_msg *msgs, size_t n);
    /* A snapshot chunk or answer arrived from peer `from`. */
    int (*chunk)(void *node, craft_id from, const struct craft_snap_chunk *c);
    int (*ack)(void *node, craft_id from, const struct craft_snap_ack *a);
};

/* What start is given (borrowed for the call but for deliver, which stays valid until stop
 * returns). */
struct craft_transport_start {
    uint64_t cluster;   /* config.cluster */
    craft_id node;      /* this node's id */
    const char *listen; /* config.listen as given (may be NULL or "" with a plugged transport) */
    struct craft_transport_deliver deliver;
};

/* A transport. Every op runs on the node's loop thread, never two at once, and must not block.
 * Outgoing calls pass values borrowed for the call: copy what is kept. Sends are best effort:
 * a message may be dropped (an unknown peer, a full queue), Raft resends; the result of send
 * and send_ack is only logged. */
struct craft_transport_ops {
    uint32_t version; /* CRAFT_PLUG_VERSION: the table as this header defines it */
    /* Starts: from now on deliveries may come, until stop returns. 0, or an error that fails
     * craft_node_create (errmsg says why). Required. */
    int (*start)(void *ctx, const struct craft_transport_start *s, char *errmsg, size_t errmsg_len);
    /* Tells the transport where node id is (address: as given in config.peers or
     * craft_node_add_peer, a host:port literal). Called after start for each configured peer,
     * and later for each added one. 0 or an error (logged). Required. */
    int (*add_peer)(void *ctx, craft_id id, const char *address);
    /* Sends m to node m->to. Required. */
    int (*send)(void *ctx, const struct craft_msg *m);
    /* Sends a snapshot chunk to node `to`; CRAFT_EBUSY (or any error) refuses it and the node
     * sends it again later. Keep chunks behind messages of the Raft protocol if you can (a
     * heartbeat should not wait for a chunk). Required when the node takes snapshots. */
    int (*send_chunk)(void *ctx, craft_id to, const struct craft_snap_chunk *c);
    /* Sends a snapshot answer to node `to`. Required when the node takes snapshots. */
    int (*send_ack)(void *ctx, craft_id to, const struct craft_snap_ack *a);
    /* Stops: once it returns, no delivery call is running or will be made (join your threads).
     * Called once, from craft_node_destroy (or a create that failed after start). Required. */
    void (*stop)(void *ctx);
};

/* ---- the log store ---- */

/* What open is given (borrowed for the call, but for durable and durable_ctx, valid until close
 * returns). */
struct craft_log_store_open {
    uint64_t cluster; /* config.cluster: refuse a store of another cluster or node */
    craft_id node;
    const char *data_dir; /* config.data_dir (craft's snapshots and identity live there) */
    /* The newest valid snapshot in craft's snapshot store (index 0: none): the log recovered
     * should continue it. */
    struct craft_snapshot_meta snapshot;
    /* Reports that every submission up to seq is durable (status 0), or that the store failed
     * (status < 0: the node stops). Any thread, any time between open and close returning,
     * never with a seq not yet submitted; reports may be coalesced (the highest seq counts). */
    void (*durable)(void *durable_ctx, uint64_t seq, int status);
    void *durable_ctx;
};

/* What open recovered. */
struct craft_log_store_recovered {
    struct craft_hard_state hard_state; /* all zero for a new store */
    /* The snapshot the log continues (normally open's snapshot; index 0: none): its file must
     * be in craft's snapshot store. */
    struct craft_snapshot_meta snapshot;
    /* The entries after snapshot.index, contiguous, in index order; borrowed until release.
     * Their data may point anywhere the store keeps it until then. */
    const struct craft_entry *entries;
    size_t n_entries;
};

/* A log store: the Raft log and the hard state, durable. Snapshot FILES are not its business:
 * they stay in craft's snapshot store in the data directory; the store only hears which
 * snapshots cover its log. Every op runs on the node's loop thread, one at a time. craft does
 * not see its I/O: craft_node_stats reports zero WAL fsyncs and bytes for it. */
struct craft_log_store_ops {
    uint32_t version; /* CRAFT_PLUG_VERSION */
    /* Opens the store and recovers it into *rec. 0, or an error that fails craft_node_create
     * (errmsg says why). Required. */
    int (*open)(void *ctx, const struct craft_log_store_open *o,
                struct craft_log_store_recovered *rec, char *errmsg, size_t errmsg_len);
    /* The node copied what it keeps of rec: the entries may go. Called once after open
     * succeeded. Required. */
    void (*release)(void *ctx);
    /* Takes one persist batch (core.h's order: hard state if changed, an installed snapshot's
     * effect (snapshot.index != 0; drop_log: the whole log goes, the next entries start at
     * snapshot.index + 1), the removal of the log from truncate_from (when not 0), then the
     * entries; borrowed for the call, but for the entries' payload bytes, which stay in place
     * until durable(seq) is reported or close returns: write from them, no need to copy) as
     * submission number seq (1, 2, 3, ...). It must be made
     * durable in submission order and reported through durable(seq), never before it is: the
     * node sends votes and acknowledgements that depend on it only then. 0, or an error (the
     * node stops). Required. */
    int (*submit)(void *ctx, const struct craft_persist *p, uint64_t seq);
    /* A snapshot covering the log up to m->index is durable in the snapshot store: the entries
     * up to it may be dropped (after what was submitted before). 0, or an error (the node stops).
     * Optional (NULL: nothing is dropped). */
    int (*snapshot_taken)(void *ctx, const struct craft_snapshot_meta *m);
    /* Closes: what was submitted may be lost unless it was reported durable; once it returns
     * no durable call is running or will be made. Called once, after stop of the transport.
     * Required. */
    void (*close)(void *ctx);
};

#endif
