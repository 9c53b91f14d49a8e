/* Pausing a node by holding back every event that would make it step. */
#include "sim_pause.h"

#include <string.h>

#include "sim_cluster.h"
#include "util/assert.h"

/* A pause shorter than this is lost among ordinary latencies. */
#define PAUSE_US_MIN 10000

void sim_pause_init(struct sim_pause *ps, uint64_t seed)
{
    memset(ps, 0, sizeof(*ps));
    prng_seed(&ps->rng, seed);
}

static void schedule_next(struct sim_cluster *c)
{
    uint64_t mean = c->p.pause_us_mean;
    CRAFT_ASSERT(mean > 0);
    sim_cluster_schedule(c, 1 + prng_below(&c->pause.rng, 2 * mean), SIM_EV_PAUSE, 0, 0);
}

void sim_pause_start(struct sim_cluster *c)
{
    if (c->p.pause_us_mean > 0) {
        schedule_next(c);
    }
}

static bool is_paused(const struct sim_cluster *c, craft_id id)
{
    const struct sim_pause *ps = &c->pause;
    return id >= 1 && id <= c->p.n_nodes && c->now_us < ps->until_us[id] && c->nodes[id].up &&
           c->nodes[id].epoch == ps->epoch[id];
}

static craft_id pick_node(struct sim_cluster *c)
{
    struct sim_pause *ps = &c->pause;
    if (prng_chance(&ps->rng, 500000)) {
        for (unsigned i = 1; i <= c->p.n_nodes; i++) {
            if (c->nodes[i].up && c->nodes[i].role == CRAFT_LEADER) {
                return i;
            }
        }
    }
    return 1 + prng_below(&ps->rng, c->p.n_nodes);
}

bool sim_pause_node(struct sim_cluster *c, craft_id id, uint64_t len_us)
{
    struct sim_pause *ps = &c->pause;
    struct sim_node *n = &c->nodes[id];
    if (!n->up || is_paused(c, id)) {
        return false;
    }
    ps->until_us[id] = c->now_us + len_us;
    ps->epoch[id] = n->epoch;
    ps->n_pauses++;
    sim_trace_add(&c->trace, c->now_us, SIM_TR_PAUSE, (uint32_t)id, len_us, 0, 0);
    return true;
}

void sim_pause_event(struct sim_cluster *c)
{
    struct sim_pause *ps = &c->pause;
    if (!c->faults_on) {
        return; /* no new pauses once healed; the chain ends here */
    }
    CRAFT_ASSERT(c->p.pause_us_max > PAUSE_US_MIN);
    craft_id id = pick_node(c);
    (void)sim_pause_node(c, id, prng_range(&ps->rng, PAUSE_US_MIN, c->p.pause_us_max));
    schedule_next(c);
}

bool sim_pause_active(const struct sim_cluster *c, craft_id id)
{
    return is_paused(c, id);
}

bool sim_pause_defer(struct sim_cluster *c, const struct sim_event *ev)
{
    craft_id id;
    switch (ev->kind) {
    case SIM_EV_DELIVER:
    case SIM_EV_TICK:
    case SIM_EV_DISK:
    case SIM_EV_FLUSH: /* a batch of deliveries waits with them */
    case SIM_EV_FETCH:
    case SIM_EV_SNAP_BUILT:
    case SIM_EV_SNAP_MSG:
        id = ev->node;
        break;
    case SIM_EV_CLIENT:
        /* The client's call blocks on the paused process. */
        id = c->clients.c[ev->arg].target;
        break;
    case SIM_EV_KV:
        id = sim_kv_client_target(c, ev->arg); /* the same for a KV client */
        break;
    case SIM_EV_READ:
        if (ev->node == 0) {
            return false; /* the read client's own schedule: it picks a node when it fires */
        }
        id = ev->node; /* a read sent to this node waits in its socket */
        break;
    default:
        return false;
    }
    if (!is_paused(c, id)) {
        return false;
    }
    /* Requeued in the order they are popped, at one time: the queue keeps that order. Only one
     * tick (and one event per client) is ever pending, so the node wakes with one tick, and that
     * tick comes a microsecond after the backlog: a resumed process serves what waited in its
     * sockets before its timers run, with the clock it had when it stopped. */
    uint64_t at = c->pause.until_us[id] + (ev->kind == SIM_EV_TICK ? 1 : 0);
    sim_heap_push(&c->heap, at, ev->kind, ev->node, ev->arg, ev->ptr);
    c->pause.deferred++;
    return true;
}
