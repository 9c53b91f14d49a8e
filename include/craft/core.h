/* The Raft protocol as a pure state machine: one input in, one batch of outputs out.
 * No I/O, threads, clock or randomness of its own; the caller (node, simulator, bench) carries
 * out the outputs. See docs/ARCHITECTURE.md, "The core", for the contract in full. */
#ifndef CRAFT_CORE_H
#define CRAFT_CORE_H

#include <stdbool.h>

#include "errors.h"
#include "msg.h"
#include "types.h"

struct craft_core; /* opaque; touched by one thread at a time */

enum craft_role {
    CRAFT_FOLLOWER = 1,
    CRAFT_PRECANDIDATE = 2, /* running a pre-vote (thesis §9.6); term not yet raised */
    CRAFT_CANDIDATE = 3,
    CRAFT_LEADER = 4,
};

struct craft_core_config {
    craft_id id;
    /* The voters of a brand-new cluster (bootstrap), including id on each of them. Used only while
     * neither the log nor a snapshot holds a configuration; after that the configuration comes
     * from them alone. Empty (NULL, 0) for a node that waits to be added to a running cluster.
     * Borrowed; the core copies it. */
    const craft_id *voters;
    unsigned n_voters;
    /* Seeds the core's private generator (election timeouts, read ids). Give each boot of a node
     * a different seed (from a random source): an answer to a read of an earlier life must not
     * match a read of this one. */
    uint64_t seed;
    /* An election timeout is drawn uniformly from [min, max) each time the timer is reset. */
    uint32_t election_timeout_ms_min;
    uint32_t election_timeout_ms_max;
    uint32_t heartbeat_interval_ms;
    bool pre_vote;     /* ask before raising the term (thesis §9.6) */
    bool check_quorum; /* a leader that has not heard from a quorum for an election timeout
                          steps down; followers in a leader's lease ignore vote requests */
    /* Replication flow control, per follower. */
    uint32_t inflight_msgs_max;
    uint64_t inflight_bytes_max;
    uint32_t append_entries_max; /* entries in one AppendEntries */
    uint64_t append_bytes_max;   /* payload bytes in one AppendEntries (at least one entry goes) */
    /* Proposals are refused with CRAFT_EBUSY while this many payload bytes are uncommitted. */
    uint64_t uncommitted_bytes_max;
    /* Lease reads (CRAFT_READ_LEASE): a leader that a majority acknowledged less than
     * election_timeout_ms_min ago, shortened by clock_drift_ppm, serves reads without a round.
     * Needs check_quorum (followers in a lease refuse votes). Off by default. */
    bool lease_reads;
    uint32_t clock_drift_ppm;
    /* Reads waiting at once, per core; more get CRAFT_EBUSY. */
    uint32_t reads_max;
    /* Payloads are packed into blocks of this many bytes (0: 256 KiB); a bigger one gets its
     * own block. Memory is reused a block at a time. */
    uint32_t log_slab_bytes;
    /* Tests: overwrite payload memory when the core reuses or frees it, so a reader that kept a
     * payload past its ticket (craft_core_payload_ticket) reads garbage instead of old bytes. */
    bool debug_poison_payloads;
};

/* Fills cfg with defaults (id, voters and seed zero). Any thread. */
void craft_core_config_init(struct craft_core_config *cfg);

/* What the node recovered from storage; all of it is durable. */
struct craft_core_boot {
    struct craft_hard_state hard_state;
    /* The newest snapshot storage holds (index 0: none). The log continues right after it. */
    struct craft_snapshot_meta snapshot;
    /* Borrowed; indexes snapshot.index + 1 .. snapshot.index + n_entries; copied by the core. */
    const struct craft_entry *entries;
    size_t n_entries;
    /* The state machine holds everything up to here (at least snapshot.index: install the
     * snapshot first). Nothing at or below it is handed out again; later committed entries are. */
    craft_index applied;
};

enum craft_input_type {
    CRAFT_IN_TICK = 1,      /* time has passed */
    CRAFT_IN_MSGS = 2,      /* messages from peers, handled in order */
    CRAFT_IN_PROPOSE = 3,   /* commands to append (leader only) */
    CRAFT_IN_PERSISTED = 4, /* the log is durable up to (term, index) */
    CRAFT_IN_APPLIED = 5,   /* the state machine has applied up to index */
    /* Start an election now, as if the timer fired. With lease_reads, CRAFT_EBUSY while this
     * node is in a leader's lease (it heard from the leader less than election_timeout_ms_min
     * ago): the leader's lease reads rely on it not voting, for itself either, until then. */
    CRAFT_IN_CAMPAIGN = 6,
    /* Drop entries up to index (at most the applied and persisted ones) from memory; they live
     * on in storage. Until snapshots exist, a follower that needs them waits. */
    CRAFT_IN_COMPACT = 7,
    /* Leader only: change the configuration to change.target (not joint; voters and learners).
     * A change of one voter goes straight to it, any other through the joint configuration;
     * new voters first catch up as learners. Errors: CRAFT_ENOTLEADER; CRAFT_EBUSY while a change
     * is under way or before an entry of the leader's term has committed; CRAFT_EINVAL for an
     * invalid target; CRAFT_EEXIST when it is the configuration in force. */
    CRAFT_IN_CHANGE = 8,
    /* Leader only: hand leadership to transfer.target (CRAFT_ID_NONE: the most caught-up voter).
     * The leader stops taking proposals (CRAFT_EBUSY), brings the target up to date, sends it
     * TimeoutNow, and gives up after an election timeout. Errors: CRAFT_ENOTLEADER; CRAFT_EBUSY
     * while a transfer is under way; CRAFT_EINVAL when the target is not another voter. */
    CRAFT_IN_TRANSFER = 9,
    /* A read of the state machine (thesis §6.4), named by read.cookie; its outcome comes out in
     * craft_output.reads, in this or a later step (see enum craft_read_mode). CRAFT_EBUSY when
     * reads_max reads wait already; CRAFT_EINVAL for an unknown mode or a lease read without
     * lease_reads. */
    CRAFT_IN_READ = 10,
    /* The node made a snapshot of its state machine durable (snapshot.meta: from
     * craft_core_snapshot_meta when it started it). The core sends it to followers that need
     * entries at or below its index; storage may drop its log up to that index, and the node may
     * then CRAFT_IN_COMPACT as far as it likes. An older one than the newest told is ignored.
     * CRAFT_EINVAL when it covers entries not applied, or disagrees with the log's term. */
    CRAFT_IN_SNAPSHOT_TAKEN = 11,
    /* Follower: a snapshot streamed from leader snapshot_installed.from of term
     * snapshot_installed.term is durable here. Returns 0 when the core took it (its effect on the
     * log is in craft_output.snapshot: the log keeps the entries after it when the entry at its
     * index has its term, else the log is dropped; commit is now its index): the node restores
     * its state machine from it before anything else is applied, unless the state machine has
     * applied past it already (a durable one), which then stays as it is. CRAFT_ESTALE when it
     * is not needed (it covers nothing past the commit index) or this node leads. */
    CRAFT_IN_SNAPSHOT_INSTALLED = 12,
    /* Leader: the stream of the snapshot of index snapshot_sent.index to snapshot_sent.to ended,
     * delivered (ok) or given up (the node's timeout on lack of progress, a failed read). On
     * failure the core asks again after a heartbeat interval. */
    CRAFT_IN_SNAPSHOT_SENT = 13,
    /* Leader: the answer to a craft_output.fetches request: the entries read from storage for
     * fetched.to (from the request's first index on, as many as the node likes up to its last),
     * and the term of the entry before the first (0 for index 0). n = 0: they could not be read
     * (a snapshot dropped them meanwhile); the core decides again. CRAFT_EINVAL if malformed. */
    CRAFT_IN_FETCHED = 14,
};

enum craft_read_mode {
    /* Linearizable: the leader confirms it still leads with a heartbeat round (reads waiting at
     * once share one), after an entry of its term has committed; a follower asks the leader for
     * the index. Ready once this node has applied up to the read index. */
    CRAFT_READ_INDEX = 1,
    /* Linearizable under the clock-drift bound: the leader serves within its lease, no round. */
    CRAFT_READ_LEASE = 2,
    /* Whatever this node has applied now, on any node; may be behind. Ready at once. */
    CRAFT_READ_STALE = 3,
};

struct craft_input {
    uint32_t type; /* enum craft_input_type */
    union {
        struct {
            uint64_t now_ms; /* monotonic; never goes backwards */
        } tick;
        struct {
            const struct craft_msg *msgs; /* borrowed for the call */
            size_t n;
        } msgs;
        struct {
            const struct craft_buf *cmds; /* borrowed for the call; the core copies the bytes */
            size_t n;
            /* Optional (NULL: none), one per command: the caller's names for them. Each accepted
             * command's outcome then comes out once in craft_output.proposals. */
            const uint64_t *cookies;
        } propose;
        struct {
            craft_term term;
            craft_index index;
        } persisted;
        struct {
            craft_index index;
        } applied;
        struct {
            craft_index index;
        } compact;
        struct {
            const struct craft_membership *target; /* borrowed for the call */
        } change;
        struct {
            craft_id target;
        } transfer;
        struct {
            uint64_t cookie; /* the caller's; handed back with the outcome */
            uint32_t mode;   /* enum craft_read_mode */
            /* The caller's monotonic clock now, as for ticks: a lease is judged by a fresh clock,
             * never by the last tick (a process paused past its lease must not serve). */
            uint64_t now_ms;
            /* More reads follow at once (the caller hands over a batch): a leader starts no
             * heartbeat round in this step, so the batch shares the round the step of its last
             * read (more false) starts. Any later step starts it all the same. */
            bool more;
        } read;
        struct {
            const struct craft_snapshot_meta *meta; /* borrowed for the call */
        } snapshot_taken;
        struct {
            craft_id from;
            craft_term term;
            const struct craft_snapshot_meta *meta; /* borrowed for the call */
        } snapshot_installed;
        struct {
            craft_id to;
            craft_index index;
            bool ok;
        } snapshot_sent;
        struct {
            craft_id to;
            craft_term prev_term;
            const struct craft_entry *entries; /* borrowed for the call; copied */
            size_t n;
        } fetched;
    };
};

enum craft_event_type {
    CRAFT_EVENT_ROLE = 1,   /* role, term or known leader changed: role, term, peer = leader */
    CRAFT_EVENT_COMMIT = 2, /* the commit index advanced to index */
};

/* A structured trace record; tests compare sequences of them. */
struct craft_event {
    uint32_t type; /* enum craft_event_type */
    uint32_t role; /* enum craft_role */
    craft_term term;
    craft_id peer;
    craft_index index;
};

/* Leader: stream the snapshot meta (the newest one told in CRAFT_IN_SNAPSHOT_TAKEN) to `to`, in
 * the leader's term; report the end with CRAFT_IN_SNAPSHOT_SENT. A request for a peer that is
 * already being sent this snapshot continues that stream; one for another snapshot replaces it. */
struct craft_snapshot_send {
    craft_id to;
    craft_term term;
    struct craft_snapshot_meta meta;
};

/* Leader: a follower needs entries [first, last] that the core no longer holds in memory: read
 * them from storage and feed them back with CRAFT_IN_FETCHED. */
struct craft_fetch {
    craft_id to;
    craft_index first;
    craft_index last;
};

/* The outcome of a proposal that carried a cookie: 0 when the entry (index, term) committed
 * (its result is the state machine's once it has applied index); CRAFT_EUNKNOWN when this node
 * lost its leadership first (the entry may still commit under the next leader, or be
 * overwritten: the caller must not assume either). A proposal refused at once gets no outcome:
 * the step's return value says why. */
struct craft_propose_result {
    uint64_t cookie;
    int status;
    craft_index index;
    craft_term term;
};

struct craft_read_result {
    uint64_t cookie;
    int status;
    craft_index index;
};

/* Everything one step asks of its caller, in the order it must be carried out:
 *   1. persist: hard state (if changed), an installed snapshot's effect on the log (if
 *      snapshot.index), then drop the log suffix from truncate_from (if not 0), then append
 *      entries. Persists are carried out in step order. Once the entries are
 *      durable, feed CRAFT_IN_PERSISTED with the last entry's (term, index).
 *   2. send msgs at once, without waiting for step 1 (the leader replicates while it writes).
 *   3. send msgs_after_persist only once everything persisted by this and every earlier step is
 *      durable (votes and acknowledgements depend on it).
 *   4. apply committed, in order (they may run ahead of the local persist: they are committed).
 * Every pointer lives until the next craft_core_step on this core. */
struct craft_output {
    bool hard_state_changed;
    struct craft_hard_state hard_state;
    struct craft_persist_snapshot snapshot; /* an installed snapshot's effect on the log */
    craft_index truncate_from;
    const struct craft_entry *entries;
    size_t n_entries;
    const struct craft_msg *msgs;
    size_t n_msgs;
    const struct craft_msg *msgs_after_persist;
    size_t n_msgs_after_persist;
    const struct craft_entry *committed;
    size_t n_committed;
    const struct craft_event *events;
    size_t n_events;
    /* Reads that ended: status 0 means the state machine, applied up to at least index (it is
     * now), may be read for cookie; CRAFT_ENOTLEADER means ask the leader (or retry). */
    const struct craft_read_result *reads;
    size_t n_reads;
    const struct craft_snapshot_send *snapshot_sends;
    size_t n_snapshot_sends;
    const struct craft_fetch *fetches;
    size_t n_fetches;
    const struct craft_propose_result *proposals; /* outcomes of proposals with cookies */
    size_t n_proposals;
    /* For CRAFT_IN_PROPOSE that succeeded: the proposals got term and indexes from index_first. */
    craft_term proposed_term;
    craft_index proposed_index_first;
};

/* The persist part of out (its pointers live as long as out's). */
static inline struct craft_persist craft_output_persist(const struct craft_output *out)
{
    struct craft_persist p = {
        .hard_state_changed = out->hard_state_changed,
        .hard_state = out->hard_state,
        .snapshot = out->snapshot,
        .truncate_from = out->truncate_from,
        .entries = out->entries,
        .n_entries = out->n_entries,
    };
    return p;
}

/* Creates a core from cfg and what storage recovered (boot may be NULL for an empty node).
 * Returns CRAFT_EINVAL for a bad config, CRAFT_ENOMEM. *out is owned by the caller until
 * craft_core_destroy. Any thread. */
CRAFT_MUST_CHECK int craft_core_create(const struct craft_core_config *cfg,
                                       const struct craft_core_boot *boot,
                                       struct craft_core **out);

/* Frees the core and everything it handed out. */
void craft_core_destroy(struct craft_core *core);

/* Feeds one input and fills *out (see struct craft_output). Returns 0, or for CRAFT_IN_PROPOSE:
 * CRAFT_ENOTLEADER (craft_core_leader() gives the hint), CRAFT_EBUSY (too much uncommitted),
 * CRAFT_ETOOBIG; CRAFT_EINVAL for a malformed input; CRAFT_ENOMEM. On error *out is still valid
 * and may carry outputs of the work done before the error. Not thread-safe per core. */
CRAFT_MUST_CHECK int craft_core_step(struct craft_core *core, const struct craft_input *in,
                                     struct craft_output *out);

struct craft_core_status {
    craft_id id;
    enum craft_role role;
    craft_term term;
    craft_id vote;
    craft_id leader; /* CRAFT_ID_NONE when unknown */
    craft_index commit;
    craft_index applied;
    craft_index persisted; /* durable prefix of the local log */
    craft_index last_index;
    craft_term last_term;
    craft_index first_index;
    craft_id transfer_target; /* leader: the node leadership is being handed to, or none */
    craft_index snapshot_index; /* the newest snapshot the core knows of (0: none) */
    craft_term snapshot_term;   /* and the term of its last entry */
    /* leader: linearizable reads wait for a heartbeat round that could start and has not (a
     * batch's reads said more follow, read.more); after a step without that promise, false */
    bool read_round_due;
};

void craft_core_status(const struct craft_core *core, struct craft_core_status *out);

/* The configuration in force (the newest in the log, committed or not; else the snapshot's or
 * the bootstrap one) into *out; returns the index of its entry (0 for the bootstrap one). */
craft_index craft_core_membership(const struct craft_core *core, struct craft_membership *out);

/* When the next tick is due for the core's main timer (the caller's clock, ms): the election
 * timeout of a follower or candidate, the next heartbeat of a leader (or a leadership
 * transfer's deadline, when that comes first). A caller that ticks
 * periodically may also tick at this instant, so election timeouts keep their full resolution
 * (a coarse tick makes nodes whose random timeouts fall in one tick campaign together). */
uint64_t craft_core_next_deadline(const struct craft_core *core);

/* The known leader, or CRAFT_ID_NONE. */
craft_id craft_core_leader(const struct craft_core *core);

enum craft_progress_state {
    CRAFT_PROGRESS_PROBE = 1,     /* one AppendEntries at a time until the match is found */
    CRAFT_PROGRESS_REPLICATE = 2, /* pipelined within the in-flight window */
    CRAFT_PROGRESS_SNAPSHOT = 3,  /* a snapshot is being sent; no AppendEntries but heartbeats */
};

struct craft_progress_status {
    craft_id id;
    enum craft_progress_state state;
    craft_index match;
    craft_index next;
    uint32_t inflight_msgs;
    uint64_t inflight_bytes;
    bool recent_active;
};

/* Fills out[0..n) with the leader's view of each other voter; returns how many were written
 * (0 when not leader). */
size_t craft_core_progress(const struct craft_core *core, struct craft_progress_status *out,
                           size_t n_max);

/* What a snapshot of the state machine at index covers: the entry's term and the configuration
 * in force there. For the node about to take one: index at most the commit index (a node hands
 * committed entries to its state machine ahead of reporting them applied, and asks for the
 * snapshot's meta when it queues the snapshot behind them). Returns 0, CRAFT_ECOMPACTED (index
 * below what the core holds), CRAFT_EINVAL (index 0 or past the commit index) or
 * CRAFT_ENOTFOUND (the configuration in force at index is not known here: on a node added to a
 * running cluster, before the entry that added it, when the cluster's first configuration was
 * its bootstrap voters, which no entry holds). */
CRAFT_MUST_CHECK int craft_core_snapshot_meta(const struct craft_core *core, craft_index index,
                                              struct craft_snapshot_meta *out);

/* Reads the local log entry at index (borrowed until the next step). Returns 0,
 * CRAFT_ECOMPACTED or CRAFT_EINVAL (beyond the last index). */
CRAFT_MUST_CHECK int craft_core_entry(const struct craft_core *core, craft_index index,
                                      const struct craft_entry **out);

/* The local log's entries from first on, at most max of them, as one contiguous run (borrowed
 * until the next step): *out and *n (n >= 1). Returns 0, CRAFT_ECOMPACTED or CRAFT_EINVAL (first
 * beyond the last index, or max 0). For a node that hands committed entries to its state
 * machine later than they were committed. */
CRAFT_MUST_CHECK int craft_core_entries(const struct craft_core *core, craft_index first,
                                        size_t max, const struct craft_entry **out, size_t *n);

/* Zero-copy hand-off. The payload bytes of entries the core hands out (a persist output's
 * entries, craft_core_entry, craft_core_entries) may be read after the call that handed them
 * out, even after the log drops those entries, while a ticket taken since is out: take one
 * (numbers rise from 1) when handing payloads to other work, and return tickets with
 * craft_core_payload_done(core, t), which returns every ticket up to t. Dropped payload memory
 * is reused only once every ticket taken before the drop is returned. The core's thread only. */
uint64_t craft_core_payload_ticket(struct craft_core *core);
/* The last ticket taken (0: none yet). */
uint64_t craft_core_payload_ticket_last(const struct craft_core *core);
void craft_core_payload_done(struct craft_core *core, uint64_t upto);

const char *craft_role_name(enum craft_role role);
const char *craft_msg_type_name(uint32_t type);

#endif
