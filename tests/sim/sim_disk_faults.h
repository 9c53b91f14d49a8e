/* Disk failures as they really happen, for the swarm: a process crash that keeps the page cache,
 * a crash in the middle of any storage call, write EIO / ENOSPC, a failed directory sync, a
 * misdirected write, and bit rot in the newest WAL segment, the hard state and the identity file.
 * What each fault may do, and the invariant it keeps, is in tests/sim/README.md. */
#ifndef SIM_DISK_FAULTS_H
#define SIM_DISK_FAULTS_H

#include <stdbool.h>
#include <stdint.h>

#include "io/sim/fs_sim.h"
#include "sim_config.h"
#include "sim_params.h"
#include "util/prng.h"

struct sim_cluster;
struct sim_node;

/* How the next crash of a node goes. */
enum sim_crash_kind {
    SIM_CRASH_POWER = 0, /* power loss at a call boundary (the default) */
    SIM_CRASH_KILL = 1,  /* kill -9: the process dies, the page cache stays */
    SIM_CRASH_MIDCALL = 2, /* power loss in the middle of a storage call (die_after) */
};

/* Per-node fault state. */
struct sim_disk_fault_node {
    /* Damage was placed that the storage may report (CRAFT_ECORRUPT then keeps the node down);
     * if it opens instead, everything reported durable must be there, unchanged. */
    bool may_corrupt;
    /* An I/O error stopped the node: its crash must be a power loss (after a failed sync the
     * page cache cannot be trusted; the node comes back only after the machine lost it). */
    bool fail_stop;
};

struct sim_disk_faults {
    struct prng rng; /* its own generator, so runs without these faults draw as before */
    struct sim_disk_fault_node node[SIM_NODES_MAX + 1];
};

void sim_disk_faults_init(struct sim_disk_faults *df, uint64_t seed);

/* True when the params draw any of the I/O error knobs (an I/O error at open then fail-stops
 * the node rather than being a violation). */
bool sim_disk_faults_io_errors(const struct sim_params *p);

/* Sets the fs knobs of the fault phase (on) or of the healed phase (off). */
void sim_disk_faults_knobs(const struct sim_params *p, struct io_fs_sim_faults *faults, bool on);

/* Decides how a crash of n goes (draws only when those faults are on). */
enum sim_crash_kind sim_disk_faults_crash_kind(struct sim_cluster *c, struct sim_node *n);

/* An I/O error stops n: its next crash is a power loss. */
void sim_disk_faults_fail_stop(struct sim_cluster *c, struct sim_node *n);

/* A crash in the middle of a storage call: the process dies a few mutating calls from now while
 * it hands the pending writes to storage (the hard-state save included); none was reported. */
void sim_disk_faults_midcall(struct sim_cluster *c, struct sim_node *n);

/* Before a pending write goes to storage: may arm a misdirected write. */
void sim_disk_faults_before_write(struct sim_cluster *c, struct sim_node *n);

/* After a crash (storage closed): may flip one bit in the newest WAL segment (a record some later
 * durable record or the hard state's commit vouches for), in a hard-state slot, or in the
 * identity file. */
void sim_disk_faults_rot(struct sim_cluster *c, struct sim_node *n);

/* The storage of n refused to open with rv: true if the faults placed on it allow that (the
 * node then stays down). */
bool sim_disk_faults_refusal_ok(struct sim_cluster *c, struct sim_node *n, int rv);

/* The storage of n opened: what the faults left is repaired or harmless from here on. */
void sim_disk_faults_opened(struct sim_cluster *c, struct sim_node *n);

#endif
