/* One simulated node: its core (when up), its skewed clock, its disk, and the checkers' mirror of
 * its volatile log and role. */
#ifndef SIM_NODE_H
#define SIM_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/core.h"
#include "io/sim/fs_sim.h"
#include "sim_apply.h"
#include "sim_disk.h"
#include "storage/storage.h"

struct sim_mirror_ent {
    craft_term term;
    uint32_t type;
    uint64_t data_hash;
    uint64_t prefix; /* hash of the log up to and including this entry */
};

struct snapshot_sink;
struct sim_outcome_wait;
struct sim_cluster;
struct node;
struct kv_store;

struct sim_node {
    craft_id id;
    bool up;
    uint64_t epoch; /* bumped at crash and restart: stale tick/disk events are ignored */
    unsigned n_lives;
    /* The node under test (src/node), over the simulator's environment (sim_output.c), and its
     * core, for the checkers' reads. */
    struct node *node;             /* owned while up */
    const struct craft_core *core; /* node_core(node) while up */
    struct sim_cluster *cluster;   /* the environment's context is the sim_node */
    uint64_t log_seq;              /* the last log submission's number, in this life */
    uint64_t disk_extra_us;        /* a scenario's slow disk: added to each write's latency */
    bool applied_in_call;          /* entries were applied during the current node call */
    struct sim_apply_queue apply_q; /* apply items not yet run (sim_apply.c) */
    /* Entries up to here are skipped: a restore found its snapshot replaced by a newer one and
     * restored that instead (sim_snap_restore), as the runtime does. */
    craft_index apply_floor;
    /* The last committed entry the core handed out in this life (boot: its applied index): the
     * next output's committed entries must follow it (the core's contract, checked before the
     * node, which would mask a repeat). */
    craft_index core_emitted;
    /* The node's one timer (env->timer_arm): the generation of the tick event armed last; a
     * tick event of another generation is an arming replaced since. */
    uint64_t timer_gen;
    uint64_t tick_last_ms; /* the local ms of the last tick, and how many came at that ms */
    uint32_t ticks_same_ms;
    /* A storage call made from inside the node's call failed: the node stops once that call
     * returns (sim_cluster_after_call), never under its feet. */
    int fail_pending;
    /* local_us = offset + global_us * rate_ppm / 1e6; runs while the node is down too. */
    uint64_t clock_offset_us;
    uint64_t clock_rate_ppm;
    uint64_t tick_global_us; /* SIM_TICK_US of local time, in global time */
    /* The model of what is durable (checkers), and the real storage over a simulated disk. */
    struct sim_disk disk;
    struct io_fs_sim *fs; /* owned */
    struct storage *st;   /* owned while up */
    bool damaged;         /* a bit was flipped in one of its closed WAL segments */
    bool dead;            /* its storage refused to open (damage detected): it stays down */
    craft_index crash_floor; /* lowest truncation a write pending at the last crash carried */
    /* Mirror of the volatile log, from the outputs (checkers). */
    struct sim_mirror_ent *log; /* owned; log[i - 1] is index i */
    size_t n_log;
    size_t cap_log;
    /* Volatile state seen in outputs during this life. */
    uint32_t role;
    craft_term term;
    craft_id leader;
    craft_index commit;
    craft_index applied;
    craft_index applied_told; /* the applied index last fed to the core (CRAFT_IN_APPLIED) */
    craft_term hs_term;
    craft_index hs_commit;
    bool applied_new; /* applied a command proposed after the heal (liveness) */
    /* Membership checks (sim_member.c): the newest CONFIG entry in the mirror (0: none), and as
     * leader of term `term` the index of its first entry of that term (0: none yet). */
    craft_index cfg_last;
    craft_index lead_start;
    /* A state machine that keeps what it applied across crashes (p.sm_flush_ppm > 0): the applied
     * index at its last flush survives; the node boots with it (boot.applied). */
    craft_index sm_durable_applied;
    /* Proposals waiting for their outcome (sim_outcomes.c). */
    struct sim_outcome_wait *waits; /* owned */
    /* The KV workload's state machine (sim_kv.c): owned while up, in seeds with p.kv. */
    struct kv_store *kv;
    size_t n_waits;
    size_t cap_waits;
};

void sim_node_init(struct sim_node *n, craft_id id, uint64_t clock_offset_us,
                   uint64_t clock_rate_ppm);
void sim_node_close(struct sim_node *n);
uint64_t sim_node_local_us(const struct sim_node *n, uint64_t global_us);
/* Resets the volatile view (crash). */
void sim_node_forget(struct sim_node *n);
void sim_node_mirror_truncate(struct sim_node *n, craft_index from);
/* Appends the entry at index n_log + 1 with the given hashes; returns its prefix hash. */
uint64_t sim_node_mirror_append(struct sim_node *n, craft_term term, uint32_t type,
                                uint64_t data_hash);
/* The newest CONFIG entry of the mirror at or below upto (0: none). */
craft_index sim_node_config_scan(const struct sim_node *n, craft_index upto);

#endif
