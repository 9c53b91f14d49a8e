/* Batches of proposals and big commands from the simulated clients, and the check that the core
 * placed every command of a batch at the index and term it reported. */
#include "sim_propose.h"

#include <inttypes.h>

#include "sim_cluster.h"
#include "sim_hash.h"
#include "sim_mem.h"

bool sim_propose_active(const struct sim_cluster *c)
{
    return c->p.propose_batch_max > 1 || c->p.big_cmd_ppm > 0;
}

/* A big command is longer than one WAL segment: its record must grow a segment of its own. */
static size_t command_len(struct sim_cluster *c)
{
    if (c->p.big_cmd_ppm == 0 || !prng_chance(&c->rng_feed, c->p.big_cmd_ppm)) {
        return 0;
    }
    uint64_t lo = c->p.wal_segment_bytes != 0 ? c->p.wal_segment_bytes : SIM_WAL_SEGMENT_BYTES;
    uint64_t hi = c->p.big_cmd_bytes_max > lo ? c->p.big_cmd_bytes_max : lo;
    return (size_t)prng_range(&c->rng_feed, lo + 1, hi + 2);
}

/* The core said command k went to (index_first + k, term): the leader's log (the checkers'
 * mirror of it, just updated from this step's output) must hold exactly that command there. */
static void check_placement(struct sim_cluster *c, const struct sim_node *n,
                            const struct craft_buf *cmds, size_t k,
                            const struct sim_feed_result *res)
{
    for (size_t j = 0; j < k; j++) {
        craft_index index = res->proposed_index + j;
        uint64_t hash = sim_hash_bytes(cmds[j].base, cmds[j].len);
        if (res->proposed_index == 0 || index > n->n_log ||
            n->log[index - 1].term != res->proposed_term || n->log[index - 1].data_hash != hash) {
            sim_checks_fail(&c->checks, n->id, "propose_placement",
                            "n%" PRIu64 " accepted %zu commands at index %" PRIu64 " term %" PRIu64
                            " but command %zu is not at index %" PRIu64 " (last index %zu)",
                            n->id, k, res->proposed_index, res->proposed_term, j, index, n->n_log);
            return;
        }
    }
}

void sim_propose_on_client(struct sim_cluster *c, const struct sim_event *ev)
{
    unsigned i = (unsigned)ev->arg;
    struct sim_clients *cl = &c->clients;
    size_t k = 1;
    if (c->p.propose_batch_max > 1) {
        k = 1 + (size_t)prng_below(&c->rng_feed, c->p.propose_batch_max);
    }
    CRAFT_ASSERT(k <= SIM_PROPOSE_BATCH_MAX);
    char *bufs[SIM_PROPOSE_BATCH_MAX]; /* owned until the proposal is carried out */
    struct craft_buf cmds[SIM_PROPOSE_BATCH_MAX];
    for (size_t j = 0; j < k; j++) {
        size_t len = command_len(c);
        bufs[j] = sim_xmalloc(len > SIM_CMD_BYTES_MAX ? len : SIM_CMD_BYTES_MAX);
        cmds[j].base = bufs[j];
        cmds[j].len = sim_client_command_nth(cl, i, j, c->healed, bufs[j], len);
    }
    craft_id target = cl->c[i].target;
    struct sim_node *n = &c->nodes[target];
    struct sim_feed_result res = {0, 0};
    int rv = CRAFT_ENOTLEADER;
    if (n->up) {
        uint64_t cookies[SIM_PROPOSE_BATCH_MAX];
        sim_outcomes_propose(c, n, cmds, k, cookies);
        struct craft_input in = {.type = CRAFT_IN_PROPOSE};
        in.propose.cmds = cmds;
        in.propose.n = k;
        in.propose.cookies = cookies;
        rv = sim_cluster_feed(c, n, &in, &res);
    }
    craft_id hint = CRAFT_ID_NONE;
    if (rv == CRAFT_ENOTLEADER && n->up) {
        hint = craft_core_leader(n->core);
    }
    if (rv == 0) {
        check_placement(c, n, cmds, k, &res);
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_PROPOSE, (uint32_t)target, i, (uint64_t)(int64_t)rv,
                  rv == 0 ? res.proposed_index : 0);
    uint64_t next = sim_client_result_n(cl, i, rv, hint, k);
    sim_heap_push(&c->heap, c->now_us + next, SIM_EV_CLIENT, 0, i, NULL);
    for (size_t j = 0; j < k; j++) {
        craft_free(bufs[j]);
    }
}
