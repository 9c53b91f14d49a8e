/* Snapshot streams, the node's part of snapshots after taking them: the leader sends the
 * snapshot file's raw bytes in chunks, a window of them in flight, and resends from what the
 * follower acknowledged; the follower writes them into a snapshot sink (checked whole before it
 * counts), offers the snapshot to the core, and has the state machine restored from it. A lost
 * chunk, a duplicate, a reordering, a crash on either side or a new leader sending the same
 * snapshot resume from the follower's offset; a stream without progress for stall_ms is given
 * up (CRAFT_IN_SNAPSHOT_SENT, not delivered), never one that is merely long. */
#ifndef CRAFT_NODE_NODE_STREAM_H
#define CRAFT_NODE_NODE_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/types.h"

struct node;
struct snapshot_sink;

/* A stream out, to one follower. */
struct node_stream_tx {
    craft_id to;
    bool active;
    bool pump_due;       /* start or go on after the step that asked (never inside it) */
    craft_index index;   /* the snapshot's (index, term) */
    craft_term term;
    craft_term leader_term;
    uint64_t size;        /* its file's bytes (known once opened) */
    uint64_t acked;       /* the follower holds everything before this offset */
    uint64_t next;        /* the next offset to send */
    uint64_t progress_ms; /* when acked last moved (or the stream began) */
    uint64_t sent_ms;     /* when a chunk last went */
};

/* The stream in (one at a time; volatile: a crash starts it over). */
struct node_stream_rx {
    struct snapshot_sink *sink; /* owned while receiving */
    craft_index index;
    craft_term term;
    craft_term leader_term;
    uint64_t size;
    craft_index done_index; /* the last one finished here: its chunks are answered "done" */
    craft_term done_term;
};

struct node_streams {
    struct node_stream_tx *tx; /* owned, one per follower streamed to */
    size_t n_tx;
    size_t cap_tx;
    struct node_stream_rx rx;
    bool busy; /* node_streams_after_step is running */
};

/* The core asked for a stream (craft_output.snapshot_sends): it starts after the step. */
void node_stream_start(struct node *n, const struct craft_snapshot_send *s);
/* After every step: starts or pumps what is due, ends streams that failed. */
void node_streams_after_step(struct node *n);
/* At each timer: resends what went unanswered, gives up stalled streams. */
void node_streams_on_timer(struct node *n);
void node_streams_close(struct node *n);

#endif
