/* Snapshot streams between simulated nodes, the node's job (docs/ARCHITECTURE.md, "Snapshots"):
 * the leader sends the snapshot file's bytes in chunks, each with a CRC, a window of them in
 * flight; the follower writes them into a snapshot sink (checked whole before it counts) and
 * acknowledges the offset it has, so a lost chunk, a duplicate, a reordering or a new leader
 * sending the same snapshot resumes from there; a stream without progress for p.snap_stall_us
 * is given up (never one that is merely long). Chunks cross the same hostile network as the
 * core's messages. The core is told the stream's end (CRAFT_IN_SNAPSHOT_SENT) and, on the
 * follower, that the snapshot is durable (sim_snap_install). */
#ifndef SIM_SNAP_STREAM_H
#define SIM_SNAP_STREAM_H

#include "craft/core.h"

struct sim_cluster;
struct sim_node;
struct sim_event;

/* A chunk (leader to follower) or its answer (follower to leader), with its bytes. */
struct sim_snap_msg {
    craft_id from;
    craft_id to;
    bool ack;
    craft_term leader_term;
    craft_index index; /* the snapshot's (index, term) */
    craft_term term;
    uint64_t size;     /* its file's bytes */
    uint64_t offset;   /* chunk: where its bytes go; answer: what the follower has */
    bool done;         /* answer: the snapshot is durable there */
    uint32_t len;
    uint32_t crc;      /* CRC-32C of the chunk's bytes */
    unsigned char data[];
};

/* Starts (or continues) the streams out's snapshot_sends ask for. */
void sim_snap_stream_on_output(struct sim_cluster *c, struct sim_node *n,
                               const struct craft_output *out);
/* SIM_EV_SNAP_MSG and SIM_EV_SNAP_TIMER. */
void sim_snap_stream_on_msg(struct sim_cluster *c, const struct sim_event *ev);
void sim_snap_stream_on_timer(struct sim_cluster *c, const struct sim_event *ev);
/* The node crashed: its streams, out and in, are gone (a partial file stays on the disk). */
void sim_snap_stream_crash(struct sim_node *n);

#endif
