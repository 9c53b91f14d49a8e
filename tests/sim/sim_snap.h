/* The node's part of snapshots in the simulator (docs/ARCHITECTURE.md, "Snapshots"): it takes a
 * snapshot of its state machine at every multiple of p.snapshot_every of the applied index,
 * builds it off the core's step (a delay), writes it through the real snapshot store on the
 * simulated disk, then tells the core and lets storage drop its log prefix; it installs
 * snapshots streamed from a leader (sim_snap_stream.c) and restores the state machine from the
 * newest one at boot. Checks: a snapshot covers only committed entries, with their term and
 * configuration; the state it holds is the committed prefix it claims; a restart finds the
 * newest durable snapshot. */
#ifndef SIM_SNAP_H
#define SIM_SNAP_H

#include <stdbool.h>

#include "craft/core.h"
#include "storage/storage.h"

struct sim_cluster;
struct sim_node;
struct sim_event;

/* The node's NODE_APPLY_SNAPSHOT item runs (its state machine at m->index): checks the meta
 * and starts the build. */
void sim_snap_save(struct sim_cluster *c, struct sim_node *n, const struct craft_snapshot_meta *m);
/* SIM_EV_SNAP_BUILT: writes the snapshot and tells the node how it went. */
void sim_snap_on_built(struct sim_cluster *c, const struct sim_event *ev);
void sim_snap_build_free(void *build);
/* Lets storage drop the WAL prefix the snapshot covers (the node's env->snapshot_taken, and
 * after an install); returns storage's error (the node must stop). */
int sim_snap_drop_prefix(struct sim_cluster *c, struct sim_node *n,
                         const struct craft_snapshot_meta *m);
/* A snapshot from leader `from` (of term) is durable here: checks it and offers it to the core.
 * Returns the core's answer (0: installed, CRAFT_ESTALE: not needed). */
int sim_snap_install(struct sim_cluster *c, struct sim_node *n, craft_id from, craft_term term,
                     const struct craft_snapshot_meta *meta);
/* Boot: restores the state machine from the recovered snapshot (if any) into boot. Returns false
 * when the node cannot start (a violation was reported). */
bool sim_snap_boot(struct sim_cluster *c, struct sim_node *n, const struct storage_recovered *rec,
                   struct craft_core_boot *boot);

#endif
