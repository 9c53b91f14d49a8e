/* Old messages: deliveries from two or three terms ago, which ordinary latencies never produce.
 * A share of the messages sent in the fault phase is held for several election timeouts (across
 * leader changes, crashes and restarts) and then delivered; and a bounded reservoir of copies of
 * messages sent earlier in the run feeds replays at random times. */
#ifndef SIM_OLDMSG_H
#define SIM_OLDMSG_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_network.h"
#include "util/prng.h"

/* Copies kept for replays: a uniform sample of every message sent so far (reservoir sampling). */
#define SIM_OLDMSG_RESERVOIR 32

struct sim_oldmsg {
    struct prng rng; /* its own generator: seeds without old messages run as before */
    struct sim_net_msg *kept[SIM_OLDMSG_RESERVOIR]; /* owned copies */
    uint64_t n_seen; /* messages offered to the reservoir */
    uint64_t held;
    uint64_t replayed;
};

struct sim_cluster;

void sim_oldmsg_init(struct sim_oldmsg *o, uint64_t seed);
void sim_oldmsg_close(struct sim_oldmsg *o);
/* Starts the replay events of the fault phase (when the seed draws them). */
void sim_oldmsg_start(struct sim_cluster *c);
/* A message m is being sent with latency *latency_us: keeps a copy for replays, and in the fault
 * phase may hold it (stretches *latency_us to several election timeouts). */
void sim_oldmsg_on_send(struct sim_cluster *c, const struct craft_msg *m, uint64_t *latency_us);
/* SIM_EV_REPLAY: delivers one kept copy now, then schedules the next replay. */
void sim_oldmsg_replay(struct sim_cluster *c);

#endif
