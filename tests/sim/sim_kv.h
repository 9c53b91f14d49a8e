/* The key-value workload (seeds with p.kv): every node's state machine is also craftd's
 * struct kv_store (src/kv), and KV clients issue GET, SET, APPEND, INCR and DEL over a few keys,
 * writes as log entries, GETs through the node's linearizable read path, run on the store of
 * the node that answers at its read point. Every operation goes into a history that the
 * linearizability checker (tests/lin) judges at the end of the run, after a final read of every
 * key in the healed cluster (`kv_not_linearizable`).
 *
 * The state machine side (sim_kv.c): a KV entry is a command entry whose data is SIM_KV_TAG, the
 * write's id (8 bytes, little-endian) and then the bytes of a kv entry (kv_entry_begin/add);
 * other entries (the plain clients'
 * commands, no-ops, configurations) leave the store alone. The simulator keeps the committed
 * KV entries by index as nodes apply them, and rebuilds a node's store from them wherever the
 * node's own state machine jumps: at boot (to the applied index it boots with) and when a
 * snapshot is restored (to the snapshot's index), as the snapshot image would give it. The
 * client side is sim_kv_client.c.
 *
 * Unanswered writes (timed out, refused after they were accepted, their node crashed): the
 * simulator knows what the clients cannot. One whose entry no node ever applied by the end of
 * the run never took effect on anything a client saw: the history is checked without it (what
 * "it may never have happened" allows). One whose entry some node applied goes into the history
 * as taking effect at the time T it was first applied anywhere (invoke = return = T, output
 * unknown). That is where a correct cluster puts it: it committed by T; a read that misses it
 * had its read index fixed before the commit, so began before T; a read that sees it ran on a
 * store that had applied it, so ended after T; and first applies follow log order. The history
 * is checked in ns (us * 1000; an invocation at the start of its us, an answer at its end), and
 * writes first applied in one us are ordered within it by their rank in the log. Without this,
 * the search tries the orders and subsets of the writes a partition delays: 23 of them applied
 * in one batch exhaust any bound. */
#ifndef SIM_KV_H
#define SIM_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "craft/core.h"
#include "kv/resp_reply.h"
#include "lincheck.h"
#include "sim_heap.h"
#include "sim_outcomes.h"
#include "util/prng.h"

#define SIM_KV_TAG 'K'
#define SIM_KV_HEAD 9 /* the tag and the write's id */
/* Code of the SIM_TR_NOTE records written here: a KV op was submitted; a: cookie, b: rv. */
#define SIM_NOTE_KV 130
#define SIM_KV_CLIENTS_MAX 4
#define SIM_KV_KEYS_MAX 4
/* The client that reads every key at the end (sim_kv_final), after the others. */
#define SIM_KV_FINAL_CLIENT SIM_KV_CLIENTS_MAX
/* Bytes of an APPEND or SET argument. */
#define SIM_KV_ARG_MAX 8
/* The checker's bound per key: a key's search past it is reported as unknown (counted). */
#define SIM_KV_MAX_STATES 200000
/* Final reads: each key is read at the leader of the healed cluster, retried within this much
 * simulated time. */
#define SIM_KV_FINAL_US (10 * 1000 * 1000)
/* GET cookies: above the swarm's reads' (sim_reads.c), which they must not be taken for. */
#define SIM_COOKIE_KV_READ_BASE (SIM_COOKIE_READ_BASE + ((uint64_t)1 << 61))

struct sim_cluster;
struct sim_node;
struct sim_event;

/* One client's operation in flight (busy), or none. */
struct sim_kv_client {
    craft_id target; /* the node it believes leads */
    bool busy;
    bool in_call;    /* inside the call that submits the op (sim_kv_client.c) */
    int call_status; /* a completion seen during that call */
    uint64_t serial; /* its operations, for their timeouts */
    uint32_t cmd;    /* enum lin_cmd */
    unsigned key;
    char arg[SIM_KV_ARG_MAX];
    size_t arg_len;
    uint64_t invoke_us;
    craft_id node; /* where the op went, in which life, with which cookie */
    uint64_t epoch;
    uint64_t cookie;
    uint64_t write_id; /* a write's id, in its entry */
    bool read_next;    /* after this write: a read of the same key at once, anywhere */
};

/* A KV entry the cluster committed, by index (from the first node to apply it). */
struct sim_kv_slot {
    bool seen;  /* some node applied this index */
    char *data; /* owned; NULL: not a KV entry */
    size_t len;
};

struct sim_kv_figures_run {
    uint64_t ops;        /* operations in the history */
    uint64_t unanswered; /* writes whose outcome stayed unknown (dropped + bounded) */
    uint64_t dropped;    /* unanswered writes never applied anywhere: left out */
    uint64_t bounded;    /* unanswered writes applied somewhere: returned by then */
    uint64_t refused;    /* not leader, busy, failed reads: not in the history */
    uint64_t final_reads;
    uint64_t final_missing; /* keys the final read could not read */
    uint64_t states;
    bool unknown; /* the checker hit its bound */
};

struct sim_kv {
    struct sim_kv_client cl[SIM_KV_CLIENTS_MAX + 1]; /* + the final reader */
    struct prng rng;
    bool stopped; /* the fault phase ended: no new operations */
    bool closed;  /* sim_kv_close ran: the nodes going down now end nothing here */
    uint64_t next_read;
    struct lin_history hist;
    uint64_t *hist_ids; /* owned: the write id of each op of hist (0: a read) */
    size_t cap_hist_ids;
    uint64_t next_write_id;
    /* By write id, when a node first applied it, in ns: the us of that step * 1000 + its rank
     * among the writes first applied in that us (log order); UINT64_MAX: never. Owned. */
    uint64_t *write_point_ns;
    size_t n_write_point;
    size_t cap_write_point;
    uint64_t first_apply_us; /* the us of the last first apply, and how many came in it */
    uint64_t first_apply_rank;
    struct sim_kv_slot *log; /* owned; log[i - 1] is index i */
    size_t n_log;
    size_t cap_log;
    struct resp_reply reply;  /* scratch */
    char *printout;           /* owned: a violation's operations, for the report */
    const char *history_path; /* borrowed: where sim_kv_final writes the history (--kv-history) */
    struct sim_kv_figures_run fig;
};

/* --- the state machine (sim_kv.c) --------------------------------------------------------------
 */

void sim_kv_init(struct sim_cluster *c);
void sim_kv_close(struct sim_cluster *c);
/* n booted with its state machine at n->applied: its store is rebuilt there. */
void sim_kv_boot(struct sim_cluster *c, struct sim_node *n);
/* n's state machine now is the snapshot at index: its store is rebuilt there. */
void sim_kv_restore(struct sim_cluster *c, struct sim_node *n, craft_index index);
/* n applies committed entry e, proposed with cookie (0: none). */
void sim_kv_apply(struct sim_cluster *c, struct sim_node *n, const struct craft_entry *e,
                  uint64_t cookie);
/* n runs read cookie at its read point; false when the cookie is not a KV read. */
bool sim_kv_run_read(struct sim_cluster *c, struct sim_node *n, uint64_t cookie);
/* n goes down: its store with it, and the operations waiting there end unanswered. */
void sim_kv_crash(struct sim_cluster *c, struct sim_node *n);

/* --- the clients (sim_kv_client.c) --------------------------------------------------------------
 */

void sim_kv_start(struct sim_cluster *c);
/* SIM_EV_KV (arg: client) and SIM_EV_KV_TIMEOUT (arg: client | serial << 8). */
void sim_kv_on_event(struct sim_cluster *c, const struct sim_event *ev);
void sim_kv_on_timeout(struct sim_cluster *c, const struct sim_event *ev);
/* The node ended request cookie with status (env->complete). */
void sim_kv_on_complete(struct sim_cluster *c, struct sim_node *n, uint64_t cookie, int status);
/* The answer of the op of cookie at n: the RESP reply bytes. */
void sim_kv_answer(struct sim_cluster *c, struct sim_node *n, uint64_t cookie, const char *resp,
                   size_t len);
/* The client whose op SIM_EV_KV would submit waits on this node (pauses defer it). */
craft_id sim_kv_client_target(const struct sim_cluster *c, uint64_t arg);
/* After the run's main loop (cluster healed, live): reads every key at the leader, then checks
 * the history (`kv_not_linearizable`), first writing it to kv.history_path if set. */
void sim_kv_final(struct sim_cluster *c);
/* Prints the printout of a violation found by sim_kv_final, if any. */
void sim_kv_print(const struct sim_cluster *c, FILE *f);

#endif
