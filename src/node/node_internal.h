/* The node's state, shared by node.c (events, status), node_output.c (carrying out a step's
 * output) and node_requests.c (client requests). */
#ifndef CRAFT_NODE_NODE_INTERNAL_H
#define CRAFT_NODE_NODE_INTERNAL_H

#include "node.h"
#include "node_stream.h"

/* One log submission not yet durable, with the answers that wait for it. */
struct node_write {
    uint64_t seq;
    uint64_t ticket; /* the core's payload ticket while its entries are written; 0: none */
    craft_term term; /* its last entry's (term, index); index 0: it carries no entries */
    craft_index index;
    void **held; /* msg_copy_block blocks (struct craft_msg first); owned */
    size_t n_held;
    size_t cap_held;
};

/* (index, cookie) pairs in index order (node_apply.c). */
struct node_held_item {
    craft_index index;
    uint64_t cookie;
};

struct node_held {
    struct node_held_item *items; /* owned; items[head .. head + n) */
    size_t head;
    size_t n;
    size_t cap;
};

/* Payload tickets of hand-overs to the state machine not applied yet, oldest first: the
 * entries up to index are read from the core's log memory until applied (node_payload.c). */
struct node_ticket {
    craft_index index;
    uint64_t ticket;
};

struct node_tickets {
    struct node_ticket *items; /* owned; items[head .. head + n) */
    size_t head;
    size_t n;
    size_t cap;
};

struct node_change_wait {
    bool active;
    uint64_t cookie;
    struct craft_membership target;
};

struct node_transfer_wait {
    bool active;
    uint64_t cookie;
    craft_id target;
    uint64_t deadline_ms;
};

struct node {
    struct node_env env;
    struct craft_core *core; /* owned */
    uint32_t election_timeout_ms_max;
    uint32_t heartbeat_interval_ms;
    int failed; /* 0, or why the node stopped */
    /* Log submissions in flight, oldest first: writes[head .. head + n). */
    struct node_write *writes; /* owned */
    size_t writes_head;
    size_t n_writes;
    size_t cap_writes;
    uint64_t seq_durable; /* every submission up to here is durable */
    /* The state machine: entries committed up to `committed` (as far as outputs told), handed
     * out up to `handed`, applied up to `applied`; at most apply_window handed and not applied
     * (0: no bound). */
    craft_index committed;
    craft_index handed;
    craft_index applied;
    uint64_t apply_window;
    struct node_held held_results; /* proposals done, their entries not handed out yet */
    struct node_held held_reads;   /* reads ready, their index not handed out yet */
    struct node_tickets apply_tickets;
    /* The highest index node_on_applied reported: the apply side is past every item up to it
     * (n->applied may run ahead of it, when an installed snapshot is counted applied while
     * entries before its restore still wait to be applied). */
    craft_index apply_reported;
    uint64_t *apply_cookies; /* scratch: one per entry of a hand-over; owned */
    size_t cap_apply_cookies;
    struct node_change_wait change;
    struct node_transfer_wait transfer;
    uint64_t timer_at_ms;  /* when the timer is armed for (0: not armed) */
    uint64_t last_tick_ms; /* the clock of the last tick fed to the core */
    /* Snapshots (node_snapshot.c). */
    uint64_t snapshot_every;
    uint64_t log_trailing;
    bool snapshot_saving;            /* a NODE_APPLY_SNAPSHOT item is out */
    bool snapshot_ready;             /* saved, told to the core once applied reaches it */
    struct craft_snapshot_meta saved; /* that snapshot */
    bool snapshots;                   /* node_config.snapshots (or snapshot_every) */
    /* node_snapshot requests: (the index their snapshot must reach, cookie), in index order. */
    struct node_held snap_waiters;
    /* Snapshot streams (node_stream_*.c) and their knobs. */
    struct io_fs *fs;
    uint32_t chunk_bytes;
    uint32_t window_chunks;
    uint32_t resend_ms;
    uint32_t stall_ms;
    struct node_streams streams;
    struct craft_snapshot_meta installing; /* the snapshot being offered to the core */
};

/* Steps the core with in and carries out the output; returns the step's result. */
int node_step(struct node *n, const struct craft_input *in);
/* Carries out one output (node_output.c). */
void node_carry_out(struct node *n, const struct craft_output *out);
/* Stops the node for good: rv says why; the environment hears of it once. */
void node_fail(struct node *n, int rv);
/* After a step: ends the change or transfer waiting when its outcome is known. */
void node_requests_after_step(struct node *n);
/* Ends a request with status and the known leader (for CRAFT_ENOTLEADER). */
void node_complete(struct node *n, uint64_t cookie, int status, craft_index index,
                   craft_term term);
void node_writes_free(struct node *n);
/* Hands committed entries to apply, with a snapshot item after the first multiple of
 * snapshot_every among them when one is due (node_snapshot.c). Returns 0 or the env's error. */
int node_snapshot_hand_over(struct node *n, const struct craft_entry *entries,
                            const uint64_t *cookies, size_t k);
void node_stream_rx_drop(struct node *n);
/* Committed entries and safe reads of out to apply (node_apply.c); more as the window opens. */
void node_apply_output(struct node *n, const struct craft_output *out);
void node_hand_over(struct node *n);
/* A snapshot restored the state machine up to index: nothing up to it is handed out. */
void node_apply_covered(struct node *n, craft_index index);
void node_held_close(struct node_held *h);
/* Appends (index, cookie) to a FIFO. 0 or CRAFT_ENOMEM. */
int node_held_push(struct node_held *h, craft_index index, uint64_t cookie);
/* Ends the node_snapshot requests the newest snapshot covers; starts a save for the others
 * when none is under way (node_snapshot_now.c). After anything that may end a snapshot. */
void node_snapshot_requests_settle(struct node *n);
/* Ends the node_snapshot requests waiting: those the newest snapshot covers with 0, the others
 * with status. */
void node_snapshot_requests_fail(struct node *n, int status);
/* Payload tickets (node_payload.c). A write's ticket is in its struct node_write. */
/* Takes a ticket for the entries handed to the state machine up to index. 0 or CRAFT_ENOMEM. */
int node_payload_hand_over(struct node *n, craft_index index);
/* Returns the tickets of what is written and applied now to the core. */
void node_payload_settle(struct node *n);
void node_payload_close(struct node *n);
/* Feeds a saved snapshot to the core once the applied index reaches it. */
void node_snapshot_settle(struct node *n);

#endif
