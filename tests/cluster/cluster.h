/* In-process clusters for the node tests: real nodes (craft/node.h) over TCP on 127.0.0.1, each
 * with its WAL in a mkdtemp directory (removed at the end), and a small state machine that
 * records what it applied so the tests can compare replicas. Waits are bounded polls. */
#ifndef CRAFT_TEST_CLUSTER_H
#define CRAFT_TEST_CLUSTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "craft/node.h"
#include "craft/plug.h"

#define CL_NODES_MAX 5
#define CL_RECORD_MAX 4096 /* commands a test fsm remembers, in order */
/* The default bound of a wait (a leader, a replica catching up); longer under valgrind
 * (CRAFT_TEST_SLOW set), where the timeouts grow too. */
#define CL_WAIT_MS (cl_slow() ? 60000u : 10000u)
bool cl_slow(void);

/* The test state machine: each command is a u64 (little-endian, 8 bytes); it keeps their sum,
 * an order-sensitive hash and the list; apply's result is a heap u64: the count after it. */
struct cl_fsm {
    pthread_mutex_t mu;
    uint64_t n_applied;
    uint64_t sum;
    uint64_t hash;
    uint64_t record[CL_RECORD_MAX];
    uint64_t n_results_released;
    bool fail_next; /* the next apply fails (tests of a failing state machine) */
};

struct cl_fsm_view {
    uint64_t n_applied;
    uint64_t sum;
    uint64_t hash;
};

extern const struct craft_fsm_ops cl_fsm_ops;
/* The same with snapshot_save and snapshot_restore (of the view: sum, hash and count; the
 * record is not part of it). */
extern const struct craft_fsm_ops cl_fsm_snapshot_ops;
int cl_fsm_save(void *ctx, struct craft_snapshot_writer *w);
int cl_fsm_restore(void *ctx, struct craft_snapshot_reader *r);
void cl_fsm_init(struct cl_fsm *f);
void cl_fsm_close(struct cl_fsm *f);
struct cl_fsm_view cl_fsm_view(struct cl_fsm *f);
/* True when f applied value (in its record). */
bool cl_fsm_has(struct cl_fsm *f, uint64_t value);

struct cl_node {
    craft_id id;
    char dir[128];
    uint16_t port; /* 0 until first started */
    struct craft_node *node; /* NULL while down */
    struct cl_fsm fsm;
    bool voter_at_boot;
};

struct cluster {
    uint64_t cluster_id;
    unsigned n;
    struct cl_node nodes[CL_NODES_MAX];
    craft_id voters[CL_NODES_MAX];
    unsigned n_voters;
    struct craft_node_threads threads;
    uint32_t election_timeout_ms;
    uint32_t heartbeat_interval_ms;
    bool lease_reads;
    uint64_t entry_bytes_max;
    /* Snapshots: 0 (cl_init's default) takes none; the state machine then saves and restores
     * its view (cl_fsm_snapshot_ops). */
    uint64_t snapshot_every;
    uint64_t log_trailing;
    const struct craft_allocator *allocators[CL_NODES_MAX]; /* per node; NULL: the default */
    /* Plug-ins (craft/plug.h; NULL: craft's defaults), node i getting ctx[i]. With a plugged
     * transport the nodes listen on nothing: config.listen is NULL and every other node is a
     * peer from the start, at the address "127.0.0.1:<10000 + id>" (on which nothing listens:
     * only the transport's table gives it meaning). */
    const struct craft_transport_ops *transport;
    void *transport_ctx[CL_NODES_MAX];
    const struct craft_log_store_ops *log_store;
    void *log_store_ctx[CL_NODES_MAX];
    /* Shared loops (config.loop), per node; NULL: the node's own. A node on one is created and
     * destroyed on that loop's thread (test_cluster_shared_loop.c), not by cl_start/cl_stop. */
    void *loops[CL_NODES_MAX];
};

/* n nodes (ids 1..n), the first n_voters of them the bootstrap voters; threads as given. Makes
 * the directories; starts nothing. */
void cl_init(struct cluster *c, unsigned n, unsigned n_voters, struct craft_node_threads threads);
/* Starts node i (0-based): the first time on a port the system picks, then on that port again;
 * the running nodes learn its address (craft_node_add_peer). Asserts success. */
void cl_start(struct cluster *c, unsigned i);
void cl_start_all(struct cluster *c);
/* Destroys node i (its directory stays). */
void cl_stop(struct cluster *c, unsigned i);
/* Stops every node, removes the directories. */
void cl_close(struct cluster *c);
/* A cluster on the heap (cl_init's arguments), every node started; with leader not NULL, waits
 * for a leader (asserted) and gives its index. cl_free closes and frees it. */
struct cluster *cl_open(unsigned n, unsigned n_voters, struct craft_node_threads threads,
                        int *leader);
void cl_free(struct cluster *c);

/* The config cl_start uses for node i (for tests that create by hand). listen and peers point
 * into static storage of the call: copy or use before the next call. */
void cl_config(struct cluster *c, unsigned i, struct craft_node_config *cfg);

/* Index of the node every running node agrees leads (same term), or -1 after timeout_ms. */
int cl_wait_leader(struct cluster *c, unsigned timeout_ms);
/* Waits until every running node applied at least n commands; false on timeout. */
bool cl_wait_applied(struct cluster *c, uint64_t n, unsigned timeout_ms);
/* True when every running node's state machine holds the same state. */
bool cl_replicas_equal(struct cluster *c);

/* Proposes value on node i and waits for the outcome (retrying CRAFT_EBUSY for a while). */
int cl_propose(struct cluster *c, unsigned i, uint64_t value, struct craft_result *r);
/* Proposes on whichever node leads, retrying through elections; returns the final status. */
int cl_propose_leader(struct cluster *c, uint64_t value, unsigned timeout_ms);

/* Polls cond every few ms for up to timeout_ms. */
#define CL_WAIT_UNTIL(cond, timeout_ms)                                                            \
    ({                                                                                             \
        uint64_t cl_deadline_ = cl_now_ms() + (timeout_ms);                                        \
        bool cl_ok_ = false;                                                                       \
        for (;;) {                                                                                 \
            if (cond) {                                                                            \
                cl_ok_ = true;                                                                     \
                break;                                                                             \
            }                                                                                      \
            if (cl_now_ms() >= cl_deadline_) {                                                     \
                break;                                                                             \
            }                                                                                      \
            cl_pause_ms(5);                                                                        \
        }                                                                                          \
        cl_ok_;                                                                                    \
    })

uint64_t cl_now_ms(void);
/* A poll's pause between two looks (not a synchronisation: the waits above bound it). */
void cl_pause_ms(unsigned ms);
void cl_status(struct cluster *c, unsigned i, struct craft_node_status *st);

#endif
