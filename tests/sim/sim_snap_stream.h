/* Snapshot streams in the simulator: the node streams (src/node/node_stream_*.c); the simulator
 * carries its chunks and answers over the same hostile network as the core's messages (loss,
 * duplicates, reordering, old messages held back, partitions), each with a CRC standing for the
 * transport's frame checksum, and checks what the receiving sink assembles
 * (`snapshot_stream_corrupt`, `snapshot_stream_mixed`). */
#ifndef SIM_SNAP_STREAM_H
#define SIM_SNAP_STREAM_H

#include "craft/core.h"

struct sim_cluster;
struct sim_node;
struct sim_event;
struct craft_snap_chunk;
struct craft_snap_ack;

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

/* The node's env->send_chunk and env->send_ack. */
int sim_snap_stream_send_chunk(struct sim_cluster *c, struct sim_node *n, craft_id to,
                               const struct craft_snap_chunk *chunk);
void sim_snap_stream_send_ack(struct sim_cluster *c, struct sim_node *n, craft_id to,
                              const struct craft_snap_ack *a);
/* The node's env->snapshot_received: the checks of an assembled file; the model learns the
 * snapshot file is durable. */
void sim_snap_stream_received(struct sim_cluster *c, struct sim_node *n,
                              const struct craft_snap_chunk *last,
                              const struct craft_snapshot_meta *meta, int rv, const char *errmsg);
/* SIM_EV_SNAP_MSG: hands a chunk or answer that arrived intact to the node. */
void sim_snap_stream_on_msg(struct sim_cluster *c, const struct sim_event *ev);

#endif
