/* Snapshots on request (node_snapshot) under every fault: during the fault phase nodes are
 * asked for a snapshot now, at random moments and aimed at the moments that stress it (the
 * leader, a candidate, either end of a snapshot stream, right after a restart, while a
 * threshold snapshot is being saved, two requests back to back). Each outcome is checked: a
 * snapshot reported done is durable on that node's disk, known to its core, at or past what the
 * node had applied when asked and at or below what it has applied now
 * (`snapshot_request_wrong`); only the expected failures (`snapshot_request_wrong`); and every
 * request ends, at the latest when its node stops (`snapshot_request_hanging`). */
#ifndef SIM_SNAP_NOW_H
#define SIM_SNAP_NOW_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/core.h"
#include "craft/node.h"
#include "sim_heap.h"
#include "util/prng.h"

#define SIM_SNAP_NOW_PENDING_MAX 64

/* Cookies of snapshot requests: above the transfer's and change's (sim_outcomes.h). */
#define SIM_COOKIE_SNAP_NOW_BASE (((uint64_t)1 << 63) + ((uint64_t)1 << 62))

/* Codes of the SIM_TR_NOTE records written here. */
enum sim_snap_now_note {
    SIM_NOTE_SNAP_NOW = 130,      /* a node was asked for a snapshot; a: cookie, b: rv */
    SIM_NOTE_SNAP_NOW_DONE = 131, /* a request ended; a: cookie, b: index (0 on failure) */
};

struct sim_snap_now_pending {
    uint64_t cookie; /* 0: free */
    craft_id node;
    uint64_t epoch;    /* the node's life it was asked in */
    craft_index floor; /* the node's applied index when asked */
};

struct sim_snap_now {
    struct prng rng;
    struct sim_snap_now_pending pending[SIM_SNAP_NOW_PENDING_MAX];
    uint64_t serial;
    craft_id destroying; /* the node being destroyed (its requests end with CRAFT_ESHUTDOWN) */
};

struct sim_cluster;
struct sim_node;

/* Seeds the generator; schedules the first request when the seed draws them. */
void sim_snap_now_init(struct sim_cluster *c);
void sim_snap_now_start(struct sim_cluster *c);
/* SIM_EV_SNAP_NOW: asks ev->node (0: a node picked here, and the next request is scheduled). */
void sim_snap_now_on_event(struct sim_cluster *c, const struct sim_event *ev);
/* Aimed requests: n restarted; n's apply worker started a snapshot save. */
void sim_snap_now_after_restart(struct sim_cluster *c, struct sim_node *n);
void sim_snap_now_on_save(struct sim_cluster *c, struct sim_node *n);
/* Leader starts a snapshot stream to `to` (its first chunk goes): one end of it may be asked. */
void sim_snap_now_on_stream(struct sim_cluster *c, struct sim_node *leader, craft_id to);
/* env->complete for a cookie of this range: checks the outcome. False for other cookies. */
bool sim_snap_now_complete(struct sim_cluster *c, struct sim_node *n, uint64_t cookie,
                           const struct craft_result *r);
/* Around node_destroy of a crash: requests end with CRAFT_ESHUTDOWN then; none may be left. */
void sim_snap_now_destroying(struct sim_cluster *c, struct sim_node *n);
void sim_snap_now_destroyed(struct sim_cluster *c, struct sim_node *n);
/* The end of the run: every request has ended. */
void sim_snap_now_final(struct sim_cluster *c);

#endif
