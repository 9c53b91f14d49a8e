/* Message copies, routing decisions and connectivity shapes of the simulated network. */
#include "sim_network.h"

#include <string.h>

#include "sim_mem.h"
#include "util/assert.h"
#include "util/msg_copy.h"

void sim_network_init(struct sim_network *net, unsigned n_nodes, uint64_t seed,
                      const struct sim_net_params *p)
{
    CRAFT_ASSERT(n_nodes >= 1 && n_nodes <= SIM_NODES_MAX);
    memset(net, 0, sizeof(*net));
    net->n_nodes = n_nodes;
    net->p = *p;
    prng_seed(&net->rng, seed);
    sim_network_all_up(net);
}

struct sim_net_msg *sim_net_msg_copy(const struct craft_msg *m)
{
    struct sim_net_msg *nm = msg_copy_block(m, sizeof(struct sim_net_msg), 0);
    CRAFT_ASSERT(nm != NULL);
    return nm;
}

void sim_net_msg_free(struct sim_net_msg *nm)
{
    craft_free(nm);
}

uint64_t sim_net_msg_bytes(const struct craft_msg *m)
{
    uint64_t bytes = SIM_MSG_HEADER_BYTES;
    if (m->type == CRAFT_MSG_APPEND) {
        for (uint32_t i = 0; i < m->append.n_entries; i++) {
            bytes += m->append.entries[i].data.len;
        }
    }
    return bytes;
}

bool sim_net_msg_is_request(uint32_t type)
{
    return type == CRAFT_MSG_PREVOTE || type == CRAFT_MSG_VOTE || type == CRAFT_MSG_APPEND;
}

static bool is_response(uint32_t type)
{
    return type == CRAFT_MSG_PREVOTE_RESP || type == CRAFT_MSG_VOTE_RESP ||
           type == CRAFT_MSG_APPEND_RESP;
}

static uint64_t latency(struct sim_network *net, uint32_t type)
{
    uint64_t l = prng_range(&net->rng, net->p.lat_us_min, net->p.lat_us_max);
    if (net->p.lab_long_reordering) {
        if (is_response(type) && prng_below(&net->rng, 900) < 600) {
            l += 200000 + 1000 * prng_below(&net->rng, 1 + prng_below(&net->rng, 2000));
        }
        return l;
    }
    if (net->p.tail_ppm > 0 && prng_chance(&net->rng, net->p.tail_ppm)) {
        l += prng_below(&net->rng, net->p.tail_us_max);
    }
    return l;
}

/* The fate of a message of type (0 for the node's own messages) on the link from -> to. */
static unsigned route(struct sim_network *net, uint32_t type, craft_id from, craft_id to,
                      uint64_t latency_us[2])
{
    if (!sim_network_link_up(net, from, to)) {
        net->stats.dropped++;
        return 0;
    }
    if (net->p.loss_ppm > 0 && prng_chance(&net->rng, net->p.loss_ppm)) {
        net->stats.dropped++;
        return 0;
    }
    latency_us[0] = latency(net, type);
    if (net->p.dup_ppm > 0 && prng_chance(&net->rng, net->p.dup_ppm)) {
        net->stats.duplicated++;
        /* The copy may trail far behind: stale duplicates are what attack idempotence. */
        latency_us[1] = latency(net, type) + prng_below(&net->rng, 4 * (uint64_t)net->p.lat_us_max);
        return 2;
    }
    return 1;
}

unsigned sim_network_route(struct sim_network *net, const struct craft_msg *m,
                           uint64_t latency_us[2])
{
    uint32_t t = m->type <= CRAFT_MSG_TYPE_MAX ? m->type : 0;
    net->stats.msgs[t]++;
    net->stats.bytes[t] += sim_net_msg_bytes(m);
    return route(net, m->type, m->from, m->to, latency_us);
}

unsigned sim_network_route_node_msg(struct sim_network *net, craft_id from, craft_id to,
                                    uint64_t bytes, uint64_t latency_us[2])
{
    net->stats.node_msgs++;
    net->stats.node_bytes += bytes;
    return route(net, 0, from, to, latency_us);
}

uint64_t sim_network_fifo(struct sim_network *net, craft_id from, craft_id to, uint64_t now_us,
                          uint64_t latency_us)
{
    if (!net->p.fifo || from < 1 || from > net->n_nodes || to < 1 || to > net->n_nodes) {
        return latency_us;
    }
    uint64_t *last = &net->fifo_last_us[from][to];
    /* Same arrival time keeps the send order: the event queue breaks ties by sequence. */
    uint64_t at = now_us + latency_us < *last ? *last : now_us + latency_us;
    *last = at;
    return at - now_us;
}

bool sim_network_link_up(const struct sim_network *net, craft_id from, craft_id to)
{
    if (from < 1 || from > net->n_nodes || to < 1 || to > net->n_nodes) {
        return false;
    }
    return net->link[from][to];
}

void sim_network_all_up(struct sim_network *net)
{
    for (unsigned i = 0; i <= SIM_NODES_MAX; i++) {
        for (unsigned j = 0; j <= SIM_NODES_MAX; j++) {
            net->link[i][j] = i >= 1 && j >= 1 && i <= net->n_nodes && j <= net->n_nodes;
        }
    }
}

void sim_network_set_link(struct sim_network *net, craft_id from, craft_id to, bool up)
{
    CRAFT_ASSERT(from >= 1 && from <= net->n_nodes);
    CRAFT_ASSERT(to >= 1 && to <= net->n_nodes);
    net->link[from][to] = up;
}

void sim_network_isolate(struct sim_network *net, craft_id id, bool isolated)
{
    CRAFT_ASSERT(id >= 1 && id <= net->n_nodes);
    for (unsigned j = 1; j <= net->n_nodes; j++) {
        if (j != id) {
            net->link[id][j] = !isolated;
            net->link[j][id] = !isolated;
        }
    }
}

void sim_network_split(struct sim_network *net, uint32_t side_a)
{
    for (unsigned i = 1; i <= net->n_nodes; i++) {
        for (unsigned j = 1; j <= net->n_nodes; j++) {
            bool ai = (side_a >> i) & 1;
            bool aj = (side_a >> j) & 1;
            net->link[i][j] = ai == aj;
        }
    }
}

void sim_network_bridge(struct sim_network *net, uint32_t side_a, craft_id bridge)
{
    sim_network_split(net, side_a);
    for (unsigned j = 1; j <= net->n_nodes; j++) {
        net->link[bridge][j] = true;
        net->link[j][bridge] = true;
    }
}

void sim_network_ring(struct sim_network *net, const craft_id *order)
{
    unsigned n = net->n_nodes;
    for (unsigned i = 1; i <= n; i++) {
        for (unsigned j = 1; j <= n; j++) {
            net->link[i][j] = i == j;
        }
    }
    for (unsigned k = 0; k < n; k++) {
        craft_id a = order[k];
        craft_id b = order[(k + 1) % n];
        net->link[a][b] = true;
        net->link[b][a] = true;
    }
}

void sim_network_leader_only(struct sim_network *net, craft_id id, craft_id leader)
{
    sim_network_all_up(net);
    sim_network_isolate(net, id, true);
    net->link[id][leader] = true;
    net->link[leader][id] = true;
}
