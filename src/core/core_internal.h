/* The state of one Raft group's core, shared by the core's modules (election, replication,
 * output). Nothing outside src/core sees it. */
#ifndef CRAFT_CORE_INTERNAL_H
#define CRAFT_CORE_INTERNAL_H

#include "config.h"
#include "craft/core.h"
#include "log.h"
#include "membership.h"
#include "peers.h"
#include "progress.h"
#include "proposals.h"
#include "read.h"
#include "reorder.h"
#include "util/prng.h"

/* Where an AppendEntries' entries are, recorded as indexes while the step runs and turned into
 * pointers when it ends (the log array may move while the step is still appending). */
struct msg_entries_ref {
    craft_index first;
    uint32_t n;
    craft_term last_term;
    /* An acknowledgement speaks for the log up to ack_index, whose entry had ack_term when it
     * was written (0: not an acknowledgement). */
    craft_index ack_index;
    craft_term ack_term;
    /* The entries were fetched from storage (CRAFT_IN_FETCHED): the message points at the core's
     * copy of them already, not into the log. */
    bool fetched;
};

/* A growable array of outgoing messages, reused from step to step. Owned by the core. */
struct msg_queue {
    struct craft_msg *msgs;
    struct msg_entries_ref *refs; /* parallel to msgs */
    size_t n;
    size_t cap;
};

struct craft_core {
    struct craft_core_config cfg; /* cfg.voters is NULL: the bootstrap voters were copied */
    struct config_state config;   /* the configuration in force (membership.c) */
    struct peers peers;           /* every member, with its vote and progress (peers.c) */
    struct prng prng;

    /* Persistent state (§5.1 Figure 2) and what the caller was last told to persist. */
    craft_term term;
    craft_id vote;
    struct craft_hard_state hs_emitted;

    enum craft_role role;
    craft_id leader;
    struct log log;
    craft_index commit;
    craft_index emitted;  /* committed entries handed out for apply, up to here */
    craft_index applied;

    /* Time, in the caller's monotonic milliseconds. */
    uint64_t now;
    bool clock_started; /* the first tick has set now */
    uint64_t election_deadline;
    uint64_t heartbeat_deadline;
    uint64_t check_quorum_deadline;
    uint64_t leader_heard_at; /* when the current leader was last heard from */
    bool leader_heard;

    /* Leader only: the in-flight rings of the peer slots, PEERS_MAX * cfg.inflight_msgs_max;
     * owned. Slot i's progress uses ring i. */
    struct inflight *inflight_rings;
    uint64_t uncommitted_bytes;
    craft_index term_start; /* leader: the index of its no-op */
    /* Leader: a change waiting for its new voters to catch up as learners (change.c). */
    bool change_pending;
    /* Leader: it won in the step that raised its term (a single voter), so its term may not be
     * durable yet; its messages wait for persistence until its no-op is durable. */
    bool lead_unpersisted;
    struct craft_membership change_target;
    struct reads reads; /* read.c */
    struct proposals proposals; /* leader: proposals with cookies until their outcome */
    struct reorder reorder; /* follower: AppendEntries held until the gap before them fills */
    /* Leader: a leadership transfer under way (transfer.c); CRAFT_ID_NONE when none. */
    craft_id transfer_target;
    uint64_t transfer_deadline;
    bool lease_void; /* leader: a TimeoutNow went out in this term, so its lease proves nothing */
    /* The newest durable snapshot the node has (boot or CRAFT_IN_SNAPSHOT_TAKEN); index 0: none.
     * Storage holds every entry after its index, so a follower needing one at or below it gets
     * the snapshot, any later one missing from memory is fetched (snapshot.c). */
    struct craft_snapshot_meta snapshot;
    /* The copy of the entries of the last CRAFT_IN_FETCHED, which the AppendEntries it produced
     * borrows until the next step. Owned. */
    struct craft_entry *fetched;
    size_t cap_fetched;
    unsigned char *fetched_bytes;
    size_t cap_fetched_bytes;

    /* This step's outputs. */
    struct msg_queue out_msgs;
    struct msg_queue out_after;
    struct craft_event *events;
    size_t n_events;
    size_t cap_events;
    struct craft_snapshot_send *sends; /* owned; this step's snapshot_sends */
    size_t n_sends;
    size_t cap_sends;
    struct craft_fetch *fetches; /* owned; this step's fetches */
    size_t n_fetches;
    size_t cap_fetches;
    struct craft_persist_snapshot out_snapshot; /* a snapshot installed in this step */
    craft_index dirty_from; /* lowest log index written in this step, 0 if none */
    bool truncated;         /* this step dropped a suffix of the log */
    bool out_of_memory;     /* some output could not be queued in this step */
};

/* role.c: every change of role happens here (the modules above call in, never each other). */
void role_reset_election_timer(struct craft_core *c);
void role_become_follower(struct craft_core *c, craft_term term, craft_id leader);
void role_become_precandidate(struct craft_core *c);
void role_become_candidate(struct craft_core *c);
void role_become_leader(struct craft_core *c);
/* Takes leader (of the current term) for the leader: follow it, and hear it now. */
void role_follow(struct craft_core *c, craft_id leader);

/* election.c */
void election_campaign(struct craft_core *c, bool pre_vote);
/* A campaign asked for by the leader (TimeoutNow): no pre-vote, and voters in its lease answer. */
void election_campaign_transfer(struct craft_core *c);
void election_tick(struct craft_core *c);
void election_check_quorum(struct craft_core *c);
void election_on_vote_request(struct craft_core *c, const struct craft_msg *m);
void election_on_vote_response(struct craft_core *c, const struct craft_msg *m);
bool election_in_lease(const struct craft_core *c);
bool election_log_up_to_date(const struct craft_core *c, craft_index last_index,
                             craft_term last_term);
/* Strictly more up to date than the local log (§5.4.1 order). */
bool election_log_more_up_to_date(const struct craft_core *c, craft_index last_index,
                                  craft_term last_term);

/* replication.c */
void replication_start_leading(struct craft_core *c);
void replication_tick(struct craft_core *c);
/* Starts a heartbeat round now (reads waiting for one) and sends its heartbeats. */
void replication_heartbeat_round(struct craft_core *c);
void replication_send_append(struct craft_core *c, struct progress *p);
void replication_broadcast_append(struct craft_core *c);
void replication_on_append(struct craft_core *c, const struct craft_msg *m);
void replication_on_append_response(struct craft_core *c, const struct craft_msg *m);
void replication_maybe_commit(struct craft_core *c);
int replication_propose(struct craft_core *c, const struct craft_buf *cmds, size_t n,
                        const uint64_t *cookies);
/* Appends one entry of the leader's own (a configuration) and sends it. CRAFT_ENOMEM. */
int replication_append_own(struct craft_core *c, uint32_t type, const void *data, size_t len);

/* snapshot.c: which snapshot exists, what a follower behind the memory log gets (the snapshot or
 * entries fetched from storage), installing a snapshot from the leader. */
int snapshot_meta_at(const struct craft_core *c, craft_index index,
                     struct craft_snapshot_meta *out);
int snapshot_taken(struct craft_core *c, const struct craft_snapshot_meta *m);
int snapshot_installed(struct craft_core *c, craft_id from, craft_term term,
                       const struct craft_snapshot_meta *m);
/* The progress that replication resumes (the stream ended delivered), or NULL. */
struct progress *snapshot_sent(struct craft_core *c, craft_id to, craft_index index, bool ok);
/* Leader: p needs entries from p->next on, below the memory log. */
void snapshot_or_fetch(struct craft_core *c, struct progress *p);
/* Leader: p's snapshot stream failed and its wait is over: replication decides again. */
bool snapshot_retry_due(const struct craft_core *c, const struct progress *p);
/* *resume: the progress replication goes on with (its fetched entries were sent), or NULL. */
int snapshot_fetched(struct craft_core *c, craft_id to, craft_term prev_term,
                     const struct craft_entry *entries, size_t n, struct progress **resume);

/* transfer.c: leadership transfer (thesis §3.10). */
int transfer_start(struct craft_core *c, craft_id target);
void transfer_advance(struct craft_core *c);
void transfer_on_timeout_now(struct craft_core *c, const struct craft_msg *m);

/* change.c: membership changes on the leader. */
int change_start(struct craft_core *c, const struct craft_membership *target);
void change_advance(struct craft_core *c);
void replication_on_persisted(struct craft_core *c, craft_term term, craft_index index);

/* output.c */
struct craft_msg *output_msg(struct craft_core *c, uint32_t type, craft_id to);
struct craft_msg *output_msg_after_persist(struct craft_core *c, uint32_t type, craft_id to);
void output_msg_entries(struct craft_core *c, struct craft_msg *m, craft_index first, uint32_t n);
/* m carries n entries the core copied from a fetch (they are not in the log). */
void output_msg_fetched(struct craft_core *c, struct craft_msg *m, const struct craft_entry *e,
                        uint32_t n);
void output_snapshot_send(struct craft_core *c, craft_id to);
void output_fetch(struct craft_core *c, craft_id to, craft_index first, craft_index last);
/* Records that m (in queue q) acknowledges the log up to index, as it stands now. */
void output_msg_ack(struct craft_core *c, struct msg_queue *q, struct craft_msg *m,
                    craft_index index);
void output_event_role(struct craft_core *c);
void output_event_commit(struct craft_core *c);
void output_log_written(struct craft_core *c, craft_index index, bool truncated);
void output_begin(struct craft_core *c);
void output_finish(struct craft_core *c, struct craft_output *out);
void output_close(struct craft_core *c);

#endif
