/* Simulated clients: each proposes unique commands ("c<client>-<seq>", or "h..." once the
 * cluster is healed) to the node it believes leads, follows leader hints on CRAFT_ENOTLEADER,
 * backs off on CRAFT_EBUSY, and keeps going at a per-seed rate. */
#ifndef SIM_CLIENT_H
#define SIM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "craft/types.h"
#include "sim_config.h"
#include "util/prng.h"

struct sim_client {
    craft_id target;
    uint64_t seq;
};

struct sim_client_stats {
    uint64_t ok;
    uint64_t not_leader;
    uint64_t busy;
    uint64_t other;
};

struct sim_clients {
    unsigned n;
    unsigned n_nodes;
    struct sim_client c[SIM_CLIENTS_MAX];
    struct prng rng;
    uint32_t us_min;
    uint32_t us_max;
    uint32_t pad_max;
    struct sim_client_stats stats;
};

void sim_clients_init(struct sim_clients *cl, unsigned n, unsigned n_nodes, uint64_t seed,
                      uint32_t us_min, uint32_t us_max, uint32_t pad_max);
/* Writes client i's next command into buf (SIM_CMD_BYTES_MAX) and returns its length. */
size_t sim_client_command(struct sim_clients *cl, unsigned i, bool healed, char *buf);
/* Records the result of a proposal; returns the delay before the client's next one. */
uint64_t sim_client_result(struct sim_clients *cl, unsigned i, int rv, craft_id hint);

#endif
