/* Client behaviour: unique commands, leader hints, back-off. */
#include "sim_client.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "craft/errors.h"
#include "util/assert.h"

void sim_clients_init(struct sim_clients *cl, unsigned n, unsigned n_nodes, uint64_t seed,
                      uint32_t us_min, uint32_t us_max, uint32_t pad_max)
{
    CRAFT_ASSERT(n <= SIM_CLIENTS_MAX);
    memset(cl, 0, sizeof(*cl));
    cl->n = n;
    cl->n_nodes = n_nodes;
    prng_seed(&cl->rng, seed);
    cl->us_min = us_min;
    cl->us_max = us_max;
    cl->pad_max = pad_max;
    for (unsigned i = 0; i < n; i++) {
        cl->c[i].target = 1 + prng_below(&cl->rng, n_nodes);
    }
}

size_t sim_client_command(struct sim_clients *cl, unsigned i, bool healed, char *buf)
{
    return sim_client_command_nth(cl, i, 0, healed, buf, 0);
}

size_t sim_client_command_nth(struct sim_clients *cl, unsigned i, uint64_t j, bool healed,
                              char *buf, size_t len)
{
    struct sim_client *c = &cl->c[i];
    int k = snprintf(buf, SIM_CMD_BYTES_MAX, "%c%u-%llu", healed ? 'h' : 'c', i,
                     (unsigned long long)(c->seq + j));
    CRAFT_ASSERT(k > 0 && k < SIM_CMD_BYTES_MAX);
    size_t text = (size_t)k;
    if (len > text) {
        memset(buf + text, '.', len - text);
        return len;
    }
    size_t pad = prng_below(&cl->rng, cl->pad_max + 1);
    if (text + pad > SIM_CMD_BYTES_MAX) {
        pad = SIM_CMD_BYTES_MAX - text;
    }
    memset(buf + text, '.', pad);
    return text + pad;
}

uint64_t sim_client_result(struct sim_clients *cl, unsigned i, int rv, craft_id hint)
{
    return sim_client_result_n(cl, i, rv, hint, 1);
}

uint64_t sim_client_result_n(struct sim_clients *cl, unsigned i, int rv, craft_id hint, size_t n)
{
    CRAFT_ASSERT(n >= 1);
    struct sim_client *c = &cl->c[i];
    uint64_t next = prng_range(&cl->rng, cl->us_min, cl->us_max);
    switch (rv) {
    case 0:
        cl->stats.ok += n;
        c->seq += n;
        break;
    case CRAFT_ENOTLEADER:
        cl->stats.not_leader++;
        if (hint != CRAFT_ID_NONE && hint != c->target) {
            c->target = hint;
            next = 100; /* retry at once at the hinted leader */
        } else {
            c->target = 1 + prng_below(&cl->rng, cl->n_nodes);
            next = prng_range(&cl->rng, 1000, 20000);
        }
        break;
    case CRAFT_EBUSY:
        cl->stats.busy++;
        next += prng_range(&cl->rng, 10000, 50000);
        break;
    default:
        cl->stats.other++;
        c->seq += n;
        break;
    }
    return next;
}
