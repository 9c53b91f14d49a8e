/* Reads of the state machine (thesis §6.4): ReadIndex with heartbeat rounds shared by every read
 * waiting at once, lease reads, follower reads through the leader, stale reads. */
#ifndef CRAFT_CORE_READ_H
#define CRAFT_CORE_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "craft/core.h"

/* Heartbeat rounds remembered for the lease (when each was sent). */
#define READ_ROUNDS_KEPT 64

/* One read waiting: on the leader (its own or a follower's) or on a follower. */
struct read_wait {
    uint64_t cookie;   /* local: the caller's; remote (on the leader): the follower's read id */
    craft_id from;     /* leader: the follower that asked, CRAFT_ID_NONE for a local read */
    uint64_t id;       /* follower: its name for the read in READ_INDEX */
    craft_index index; /* the read index, once known */
    uint64_t round;    /* leader: the round a majority must answer (0: none, lease) */
    bool known;        /* follower: the leader answered with index */
    uint64_t deadline; /* follower: give up when the leader does not answer by then */
};

/* Owned by the core. */
struct reads {
    struct read_wait *wait; /* owned */
    size_t n_wait;
    size_t cap_wait;
    struct craft_read_result *done; /* this step's outcomes; owned */
    size_t n_done;
    size_t cap_done;
    uint64_t next_id;
    /* Leader: the current heartbeat round (every AppendEntries carries it), when each recent one
     * was sent, and whether a read waits for a round not yet started. */
    uint64_t round;
    uint64_t round_sent_at[READ_ROUNDS_KEPT];
    bool round_wanted;
};

struct craft_core;

void read_close(struct craft_core *c);
/* CRAFT_IN_READ. Returns 0, CRAFT_ENOTLEADER (no leader to ask), CRAFT_EBUSY, CRAFT_EINVAL. */
int read_request(struct craft_core *c, uint64_t cookie, uint32_t mode);
void read_on_msg(struct craft_core *c, const struct craft_msg *m);
/* An AppendEntries answer of the current term reached the leader. */
void read_on_round_answer(struct craft_core *c, struct peer *p, uint64_t round);
/* A new heartbeat round starts now (replication sends its heartbeats with it). */
uint64_t read_start_round(struct craft_core *c);
/* True when reads wait for a heartbeat round and none is in flight: the step starts one. */
bool read_wants_round(const struct craft_core *c);
/* End of step: confirm and hand out what is ready. */
void read_advance(struct craft_core *c);
/* The leader lost its leadership: its waiting reads end (ENOTLEADER, or a refusal to the
 * follower that asked). */
void read_on_leadership_lost(struct craft_core *c);

#endif
