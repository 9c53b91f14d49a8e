/* The resend rule of snapshot streams (`snapshot_not_resent`): while a leader streams a snapshot
 * to a follower that does not hold all of it yet, the leader sends that follower a chunk at least
 * once per resend interval (plus its timer's grain): new chunks while its window is open, else
 * the chunks from what the follower acknowledged (node_stream_tx.c). Outcome checks miss a leader
 * that never resends: the stall timer gives the stream up, a new one starts over, and the
 * snapshot still arrives, late and at a multiple of its cost. */
#ifndef SIM_SNAP_RESEND_H
#define SIM_SNAP_RESEND_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/plug.h"
#include "sim_config.h"

/* One leader's stream to one follower, as the network saw it. */
struct sim_snap_resend_watch {
    bool active;
    craft_term leader_term;
    craft_index index;
    uint64_t size;
    uint64_t last_send_us; /* the leader's last chunk of it */
};

struct sim_snap_resend {
    struct sim_snap_resend_watch w[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1]; /* [leader][follower] */
    unsigned n_active;
};

struct sim_cluster;

/* The leader sent a chunk; the follower answered; the leader ended its stream to `to`. */
void sim_snap_resend_on_chunk(struct sim_cluster *c, craft_id leader, craft_id to,
                              const struct craft_snap_chunk *chunk);
void sim_snap_resend_on_ack(struct sim_cluster *c, craft_id follower, craft_id leader,
                            const struct craft_snap_ack *a);
void sim_snap_resend_on_end(struct sim_cluster *c, craft_id leader, craft_id to);
/* After each step: a stream whose leader went quiet for longer than the bound fails the check. */
void sim_snap_resend_check(struct sim_cluster *c);

#endif
