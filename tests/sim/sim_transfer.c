/* Leadership transfer requests of the swarm and the check that a transfer ends in time. */
#include "sim_transfer.h"

#include <inttypes.h>

#include "sim_cluster.h"

static uint64_t next_request_us(struct sim_cluster *c)
{
    return 1 + prng_below(&c->rng_transfer, 2 * (uint64_t)c->p.transfer_us_mean);
}

void sim_transfer_start(struct sim_cluster *c)
{
    if (c->p.transfer_us_mean > 0) {
        sim_cluster_schedule(c, next_request_us(c), SIM_EV_TRANSFER, 0, 0);
    }
}

void sim_transfer_on_event(struct sim_cluster *c, const struct sim_event *ev)
{
    (void)ev;
    if (!c->faults_on) {
        return; /* the healed phase is left alone */
    }
    craft_id at = sim_cluster_leader(c);
    if (at == CRAFT_ID_NONE || prng_chance(&c->rng_transfer, 150000)) {
        at = 1 + prng_below(&c->rng_transfer, c->p.n_nodes); /* anyone: a non-leader refuses */
    }
    struct sim_node *n = &c->nodes[at];
    if (n->up && !sim_pause_active(c, at)) {
        craft_id target = prng_chance(&c->rng_transfer, 300000)
                              ? CRAFT_ID_NONE
                              : 1 + prng_below(&c->rng_transfer, c->p.n_nodes);
        struct craft_input in = {.type = CRAFT_IN_TRANSFER};
        in.transfer.target = target;
        int rv = sim_cluster_feed(c, n, &in, NULL);
        sim_trace_add(&c->trace, c->now_us, SIM_TR_NOTE, (uint32_t)at, SIM_NOTE_TRANSFER, target,
                      (uint64_t)(int64_t)rv);
        if (rv == 0 && n->up) {
            /* An election timeout of its own clock, plus two ticks and the clock skew. */
            uint64_t after = (uint64_t)SIM_ELECTION_TIMEOUT_MS_MAX * 1000 * 11 / 10 + 2 * n->tick_global_us;
            struct craft_core_status st;
            craft_core_status(n->core, &st);
            struct sim_transfer_watch *w = &c->transfer_watch[at];
            w->gen++;
            w->term = st.term;
            sim_heap_push(&c->heap, c->now_us + after, SIM_EV_TRANSFER_CHECK, (uint32_t)at, w->gen,
                          NULL);
        }
    }
    sim_cluster_schedule(c, next_request_us(c), SIM_EV_TRANSFER, 0, 0);
}

void sim_transfer_on_check(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_node *n = &c->nodes[ev->node];
    if (!n->up || sim_pause_active(c, ev->node)) {
        return; /* a paused node's clock did not run: its deadline did not pass */
    }
    const struct sim_transfer_watch *w = &c->transfer_watch[ev->node];
    if (ev->arg != w->gen) {
        return; /* a newer request replaced this one; its own check judges it */
    }
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    if (st.role == CRAFT_LEADER && st.term == w->term && st.transfer_target != CRAFT_ID_NONE) {
        sim_checks_fail(&c->checks, n->id, "transfer_stuck",
                        "leader n%" PRIu64 " of term %" PRIu64 " is still handing over to n%" PRIu64
                        " an election timeout after it was asked",
                        n->id, st.term, st.transfer_target);
    }
}
