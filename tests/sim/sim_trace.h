/* The event trace: every processed event and every notable output is one binary record folded
 * into a running 64-bit hash (--trace-hash) and kept in a ring for the tail printed with a
 * violation. --show prints the readable subset (roles, commits, faults) as it happens. */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_config.h"

enum sim_trace_kind {
    SIM_TR_DELIVER = 1, /* node=to a=from b=msg type c=term */
    SIM_TR_DROP,        /* node=to a=from b=msg type c=term */
    SIM_TR_SEND,        /* node=from a=to b=msg type c=term */
    SIM_TR_TICK,        /* a=local now_ms */
    SIM_TR_DISK,        /* a=last index written (0: none) b=hard state term c=truncate_from */
    SIM_TR_CRASH,       /* a=pending writes lost b=writes that reached the disk c=torn */
    SIM_TR_RESTART,     /* a=durable last index b=durable term c=durable commit */
    SIM_TR_PROPOSE,     /* a=client b=result c=index */
    SIM_TR_ROLE,        /* a=role b=term c=leader */
    SIM_TR_COMMIT,      /* a=commit index */
    SIM_TR_APPLY,       /* a=first index b=last index */
    SIM_TR_LINKS,       /* a=shape b=bitmask argument c=extra */
    SIM_TR_HEAL,        /* start of the healed phase */
    SIM_TR_VOTE,        /* node=voter a=candidate b=term */
    SIM_TR_NOTE,        /* a=note code */
    SIM_TR_STORAGE,     /* a=enum sim_storage_event b, c: see there */
    SIM_TR_REPLAY,      /* node=to a=from b=msg type c=term: an old copy delivered again */
    SIM_TR_PAUSE,       /* a=pause length in us: the node stops stepping */
    SIM_TR_PHASE,       /* a=enum sim_phase: a post-heal phase starts (sim_quiet.c) */
    /* Membership (sim_member.c): node=where asked a=enum sim_change_kind b=result (int)
     * c=target voters mask | learners mask << 16 */
    SIM_TR_CHANGE,
    SIM_TR_CONFIG, /* node's configuration in force changed: a=voters b=voters_old c=learners */
};

struct sim_trace_rec {
    uint64_t time_us;
    uint32_t kind;
    uint32_t node;
    uint64_t a;
    uint64_t b;
    uint64_t c;
    uint64_t d; /* messages: APPEND prev_index, APPEND_RESP index, VOTE last_index */
    uint64_t e; /* messages: APPEND n_entries, APPEND_RESP success, VOTE_RESP granted */
};

/* Every record of a run, in order: kept only when a timeline is drawn (--timeline), so ordinary
 * runs keep just the ring. Bounded by SIM_TRACE_LOG_MAX records: when full, the oldest half goes
 * (n_dropped counts them). */
struct sim_trace_log {
    struct sim_trace_rec *recs; /* owned */
    size_t n;
    size_t cap;
    uint64_t n_dropped;
};

struct sim_trace {
    struct sim_trace_rec ring[SIM_TRACE_TAIL];
    uint64_t n;
    uint64_t hash;
    bool show;
    bool show_all; /* every record (environment CRAFT_SIM_TRACE=all, for debugging) */
    FILE *out; /* where --show prints; borrowed */
    struct sim_trace_log *log; /* NULL, or where every record is also kept; borrowed */
};

void sim_trace_init(struct sim_trace *t, bool show, FILE *out);
void sim_trace_add(struct sim_trace *t, uint64_t time_us, uint32_t kind, uint32_t node, uint64_t a,
                   uint64_t b, uint64_t c);
struct craft_msg;
/* A record about message m: node, a = the peer, b = type, c = term (or latency for SEND). */
void sim_trace_add_msg(struct sim_trace *t, uint64_t time_us, uint32_t kind, uint32_t node,
                       uint64_t peer, const struct craft_msg *m, uint64_t c);
/* The name of a record kind ("crash", "links", ...; "kind" for one this file does not know). */
const char *sim_trace_kind_name(uint32_t kind);
void sim_trace_log_init(struct sim_trace_log *l);
void sim_trace_log_close(struct sim_trace_log *l);
/* Formats one record as a line without newline. */
void sim_trace_format(const struct sim_trace_rec *r, char *buf, size_t n);
/* Prints the last n records (at most SIM_TRACE_TAIL). */
void sim_trace_print_tail(const struct sim_trace *t, FILE *f, unsigned n);

/* What SIM_TR_STORAGE records. */
enum sim_storage_event {
    SIM_STORAGE_FAIL_STOP = 1, /* an I/O error stopped the node: b = error code */
    SIM_STORAGE_BITFLIP = 2,   /* b = WAL segment seq, c = bit offset */
    SIM_STORAGE_REFUSED = 3,   /* the storage refused to open: b = error code */
    SIM_STORAGE_TORN = 4,      /* at a crash: b = pending writes that reached the disk, c = torn */
    /* Real disk failures (sim_disk_faults.c): */
    SIM_STORAGE_KILL = 5,      /* the crash is kill -9, the page cache stays: b = pending writes */
    SIM_STORAGE_MIDCALL = 6,   /* power fails inside a storage call: b = mutating calls it got */
    SIM_STORAGE_MISDIRECT = 7, /* the next write lands b bytes before its place */
    SIM_STORAGE_ROT = 8,       /* a bit flips: b = enum sim_rot_target, c = bit offset in it */
    /* Snapshots (sim_snap.c): */
    SIM_STORAGE_SNAPSHOT = 9, /* a snapshot up to b was written (c: 0, or the error) */
    SIM_STORAGE_INSTALL = 10, /* a received snapshot up to b was offered (c: the core's answer) */
};

/* Where SIM_STORAGE_ROT flipped a bit. */
enum sim_rot_target {
    SIM_ROT_NEWEST_SEGMENT = 1, /* a vouched-for record of the newest WAL segment */
    SIM_ROT_HARD_STATE = 2,     /* a vouched-for hard-state record of the newest WAL segment */
    SIM_ROT_IDENTITY = 3,       /* the identity file */
};

/* What SIM_TR_CHANGE asked for (sim_member.c). */
enum sim_change_kind {
    SIM_CHANGE_ADD_VOTER = 1,
    SIM_CHANGE_ADD_LEARNER = 2,
    SIM_CHANGE_PROMOTE = 3,
    SIM_CHANGE_REMOVE_VOTER = 4,
    SIM_CHANGE_REPLACE = 5, /* several voters at once: through the joint configuration */
    SIM_CHANGE_REMOVE_LEADER = 6,
    SIM_CHANGE_REMOVE_LEARNER = 7,
};
const char *sim_change_kind_name(uint32_t kind);

/* What SIM_TR_PHASE records: the phases after the heal (sim_quiet.c). */
enum sim_phase {
    SIM_PHASE_STEADY = 1,   /* clients on, no faults: the cost window */
    SIM_PHASE_QUIET = 2,    /* clients off: the cluster must converge */
    SIM_PHASE_STABLE = 3,   /* converged: no role or term may change */
    SIM_PHASE_ELECTION = 4, /* the leader was crashed: a new one must be elected in time */
};

#endif
