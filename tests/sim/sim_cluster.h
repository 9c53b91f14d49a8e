/* A simulated cluster: K nodes running the real core in one thread over a virtual clock, the
 * event queue, the network, the disks, the clients and the checkers. One step = one event. */
#ifndef SIM_CLUSTER_H
#define SIM_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_checks.h"
#include "sim_client.h"
#include "sim_cost.h"
#include "sim_disk_faults.h"
#include "sim_elect.h"
#include "sim_feed.h"
#include "sim_figures.h"
#include "sim_heap.h"
#include "sim_kv.h"
#include "sim_member.h"
#include "sim_network.h"
#include "sim_snap_resend.h"
#include "sim_node.h"
#include "sim_oldmsg.h"
#include "sim_params.h"
#include "sim_reads.h"
#include "sim_pause.h"
#include "sim_fetch.h"
#include "sim_snap.h"
#include "sim_snap_now.h"
#include "sim_snap_stream.h"
#include "sim_outcomes.h"
#include "sim_trace.h"
#include "sim_transfer.h"

struct sim_feed_result {
    craft_term proposed_term;
    craft_index proposed_index;
};

struct sim_cluster {
    struct sim_params p;
    uint64_t now_us;
    uint64_t steps;
    struct sim_heap heap;
    struct sim_node nodes[SIM_NODES_MAX + 1]; /* nodes[1..n_nodes] */
    struct sim_network net;
    struct sim_checks checks;
    struct sim_trace trace;
    struct sim_clients clients;
    struct prng rng_disk;  /* disk latencies and what a crash leaves */
    struct prng rng_fault; /* fault decisions and targeted crashes */
    struct prng rng_sm;    /* when a durable state machine flushes */
    struct prng rng_transfer; /* transfer requests (sim_transfer) */
    struct prng rng_reads;    /* client reads (sim_reads) */
    struct sim_reads reads;
    struct sim_transfer_watch transfer_watch[SIM_NODES_MAX + 1]; /* the last request, by node */
    struct prng rng_feed;  /* batch sizes, big commands, campaign requests (sim_feed, sim_propose) */
    struct sim_inbox inbox[SIM_NODES_MAX + 1]; /* batched deliveries, by node (sim_feed) */
    bool faults_on;        /* the fault phase: targeted crashes and fault events act */
    bool clients_on;
    bool healed;
    uint64_t heal_us;
    bool live_ok;
    bool bitflip_done; /* the one flipped bit of the run (p.bitflip) was placed */
    uint64_t live_us;
    struct sim_disk_faults dfaults; /* real disk failures (sim_disk_faults.c) */
    /* Called for SIM_EV_FAULT (the swarm); may be NULL. */
    void (*fault_hook)(struct sim_cluster *c);
    /* Old messages, pauses, election times and the cost window (their own files). */
    struct sim_oldmsg oldmsg;
    struct sim_pause pause;
    struct sim_snap_resend snap_resend;
    struct sim_elect elect;
    struct sim_cost cost;
    struct sim_member member; /* membership fault (sim_member.c) */
    uint64_t next_cookie;     /* proposals' cookies (sim_outcomes.c) */
    /* The step in progress (the node's before_step and stepped hooks, sim_output.c). */
    struct sim_rules_view step_before;
    craft_index step_cfg_before;
    struct sim_feed_result step_res;
    struct sim_work_figures work; /* what the nodes did (snapshots, streams, fetches, outcomes) */
    struct sim_kv kv;             /* the KV workload (sim_kv.h), when p.kv */
    struct sim_snap_now snap_now; /* snapshot requests (sim_snap_now.h) */
};

/* Creates the cluster (all nodes up, empty logs, all links up) and schedules ticks and, when
 * p->n_clients > 0, clients. Aborts on out-of-memory; returns NULL if a core refuses to start
 * (printed to stderr). Trace lines go to show_out when show is set. */
struct sim_cluster *sim_cluster_create(const struct sim_params *p, bool show, FILE *show_out);
void sim_cluster_destroy(struct sim_cluster *c);

/* Processes the next event; returns false when the queue is empty. */
bool sim_cluster_step(struct sim_cluster *c);
/* Processes every event up to time_us, then sets the clock there. Stops early on a violation. */
void sim_cluster_run_until(struct sim_cluster *c, uint64_t time_us);
void sim_cluster_run_for_ms(struct sim_cluster *c, uint64_t ms);

void sim_cluster_schedule(struct sim_cluster *c, uint64_t delay_us, uint32_t kind, craft_id node,
                          uint64_t arg);
void sim_cluster_crash(struct sim_cluster *c, craft_id id);
/* A storage call failed with rv: an I/O error stops the node (it restarts later), anything else
 * is a violation. */
void sim_cluster_fail_stop(struct sim_cluster *c, struct sim_node *n, int rv);
void sim_cluster_restart(struct sim_cluster *c, craft_id id);
/* Starts the healed phase: every node up, every link up, no loss, no duplication, no tail. */
void sim_cluster_heal(struct sim_cluster *c);
/* Checks the liveness bound of the healed phase (SIM_LIVENESS_BOUND_MS). */
void sim_cluster_check_liveness(struct sim_cluster *c);

/* Hands in to n's node (src/node), which steps its core and carries out the outputs through
 * the simulator's environment (sim_output.c); then tells the node what the state machine
 * applied meanwhile. Returns the step's result (for requests: 0 or why they were refused). */
int sim_cluster_feed(struct sim_cluster *c, struct sim_node *n, const struct craft_input *in,
                     struct sim_feed_result *res);
/* After a call into n's node, or a batch of its apply worker (in_type CRAFT_IN_APPLIED): what
 * the state machine applied is reported back to the node, and snapshots and compactions follow
 * it. */
void sim_cluster_after_call(struct sim_cluster *c, struct sim_node *n, craft_index applied_before,
                            uint32_t in_type);
/* Tells n's node how the save of snapshot m went (rv), then as sim_cluster_after_call. */
void sim_cluster_snapshot_saved(struct sim_cluster *c, struct sim_node *n,
                                const struct craft_snapshot_meta *m, int rv);
/* Proposes one command at node id; CRAFT_ENOTLEADER if it is down. */
int sim_cluster_propose(struct sim_cluster *c, craft_id id, const void *data, size_t len,
                        struct sim_feed_result *res);
/* The latency of one write batch, drawn from the disk generator (sim_output.c). */
uint64_t sim_cluster_disk_latency(struct sim_cluster *c, const struct sim_node *n);
/* The simulator as n's environment (sim_output.c). */
struct node_env sim_node_env(struct sim_node *n);
/* What the rule checks compare before and after a step. */
void sim_cluster_rules_view(const struct sim_node *n, struct sim_rules_view *v);
/* Hands a message copy (owned) to the network. */
void sim_cluster_send(struct sim_cluster *c, struct sim_node *from, struct sim_net_msg *nm);
bool sim_cluster_failed(const struct sim_cluster *c);
/* The live leader of the highest term, as the checkers saw it, or CRAFT_ID_NONE. */
craft_id sim_cluster_leader(const struct sim_cluster *c);
/* Hands one pending write to n's real storage: persisted, then synced or only written. */
int sim_cluster_storage_take(struct sim_node *n, const struct sim_disk_write *w, bool sync);
/* Prints every node's status and, for leaders, their view of each follower. */
void sim_cluster_print_status(const struct sim_cluster *c, FILE *f);

#endif
