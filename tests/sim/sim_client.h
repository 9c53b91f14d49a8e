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
/* Writes command j of client i's next batch (its sequence number + j) into buf: the unique text,
 * padded with '.' to len bytes (len 0: the seed's random padding, within SIM_CMD_BYTES_MAX).
 * buf holds at least max(len, SIM_CMD_BYTES_MAX) bytes. Returns the command's length. */
size_t sim_client_command_nth(struct sim_clients *cl, unsigned i, uint64_t j, bool healed,
                              char *buf, size_t len);
/* Records the result of a proposal; returns the delay before the client's next one. */
uint64_t sim_client_result(struct sim_clients *cl, unsigned i, int rv, craft_id hint);
/* The same for a batch of n commands: on success (or a refusal that consumed them) each command
 * of the batch counts and the client's sequence moves past all of them. */
uint64_t sim_client_result_n(struct sim_clients *cl, unsigned i, int rv, craft_id hint, size_t n);

#endif
