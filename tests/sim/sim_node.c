/* A simulated node's clock and the mirror of its volatile log. */
#include "sim_node.h"

#include <string.h>

#include "sim_config.h"
#include "sim_hash.h"
#include "node/node.h"
#include "sim_mem.h"

void sim_node_init(struct sim_node *n, craft_id id, uint64_t clock_offset_us,
                   uint64_t clock_rate_ppm)
{
    memset(n, 0, sizeof(*n));
    n->id = id;
    n->clock_offset_us = clock_offset_us;
    n->clock_rate_ppm = clock_rate_ppm;
    n->tick_global_us = (uint64_t)SIM_TICK_US * 1000000 / clock_rate_ppm;
    sim_disk_init(&n->disk, id);
}

void sim_node_close(struct sim_node *n)
{
    node_destroy(n->node);
    storage_close(n->st);
    io_fs_sim_destroy(n->fs);
    sim_disk_close(&n->disk);
    craft_free(n->log);
    craft_free(n->waits);
    memset(n, 0, sizeof(*n));
}

uint64_t sim_node_local_us(const struct sim_node *n, uint64_t global_us)
{
    return n->clock_offset_us + (uint64_t)(((unsigned __int128)global_us * n->clock_rate_ppm) / 1000000);
}

void sim_node_forget(struct sim_node *n)
{
    n->n_log = 0;
    n->role = 0;
    n->term = 0;
    n->leader = CRAFT_ID_NONE;
    n->commit = 0;
    n->applied = 0;
    n->hs_term = 0;
    n->hs_commit = 0;
    n->applied_new = false;
    n->applied_told = 0;
    n->fail_pending = 0;
    n->apply_floor = 0;
    n->cfg_last = 0;
    n->lead_start = 0;
}

void sim_node_mirror_truncate(struct sim_node *n, craft_index from)
{
    if (from >= 1 && from <= n->n_log) {
        n->n_log = from - 1;
    }
}

uint64_t sim_node_mirror_append(struct sim_node *n, craft_term term, uint32_t type,
                                uint64_t data_hash)
{
    void *arr = n->log;
    sim_grow(&arr, &n->cap_log, n->n_log + 1, sizeof(*n->log));
    n->log = arr;
    uint64_t prev = n->n_log > 0 ? n->log[n->n_log - 1].prefix : 0;
    struct sim_mirror_ent *e = &n->log[n->n_log++];
    e->term = term;
    e->type = type;
    e->data_hash = data_hash;
    e->prefix = sim_hash_prefix(prev, term, type, data_hash);
    return e->prefix;
}

craft_index sim_node_config_scan(const struct sim_node *n, craft_index upto)
{
    if (upto > n->n_log) {
        upto = n->n_log;
    }
    for (craft_index i = upto; i > 0; i--) {
        if (n->log[i - 1].type == CRAFT_ENTRY_CONFIG) {
            return i;
        }
    }
    return 0;
}
