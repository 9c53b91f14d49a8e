/* Held messages and replays of old copies (the fault phase of the swarm). */
#include "sim_oldmsg.h"

#include <string.h>

#include "sim_cluster.h"
#include "util/assert.h"

void sim_oldmsg_init(struct sim_oldmsg *o, uint64_t seed)
{
    memset(o, 0, sizeof(*o));
    prng_seed(&o->rng, seed);
}

void sim_oldmsg_close(struct sim_oldmsg *o)
{
    for (unsigned i = 0; i < SIM_OLDMSG_RESERVOIR; i++) {
        sim_net_msg_free(o->kept[i]);
        o->kept[i] = NULL;
    }
}

static void schedule_replay(struct sim_cluster *c)
{
    uint64_t mean = c->p.replay_us_mean;
    CRAFT_ASSERT(mean > 0);
    uint64_t delay = 1 + prng_below(&c->oldmsg.rng, 2 * mean);
    sim_cluster_schedule(c, delay, SIM_EV_REPLAY, 0, 0);
}

void sim_oldmsg_start(struct sim_cluster *c)
{
    if (c->p.replay_us_mean > 0) {
        schedule_replay(c);
    }
}

/* Algorithm R: the n-th message replaces a random kept one with probability K / n, so the
 * reservoir is a uniform sample of the whole run, old messages included. */
static void keep(struct sim_oldmsg *o, const struct craft_msg *m)
{
    o->n_seen++;
    uint64_t slot = o->n_seen <= SIM_OLDMSG_RESERVOIR ? o->n_seen - 1
                                                      : prng_below(&o->rng, o->n_seen);
    if (slot >= SIM_OLDMSG_RESERVOIR) {
        return;
    }
    sim_net_msg_free(o->kept[slot]);
    o->kept[slot] = sim_net_msg_copy(m);
}

void sim_oldmsg_on_send(struct sim_cluster *c, const struct craft_msg *m, uint64_t *latency_us)
{
    struct sim_oldmsg *o = &c->oldmsg;
    if (c->p.replay_us_mean > 0) {
        keep(o, m);
    }
    if (c->faults_on && c->p.hold_ppm > 0 && prng_chance(&o->rng, c->p.hold_ppm)) {
        CRAFT_ASSERT(c->p.hold_us_min < c->p.hold_us_max);
        *latency_us += prng_range(&o->rng, c->p.hold_us_min, c->p.hold_us_max);
        o->held++;
    }
}

void sim_oldmsg_replay(struct sim_cluster *c)
{
    struct sim_oldmsg *o = &c->oldmsg;
    if (!c->faults_on) {
        return; /* the healed phase has no replays; the chain ends here */
    }
    uint64_t n = o->n_seen < SIM_OLDMSG_RESERVOIR ? o->n_seen : SIM_OLDMSG_RESERVOIR;
    if (n > 0) {
        const struct sim_net_msg *old = o->kept[prng_below(&o->rng, n)];
        CRAFT_ASSERT(old != NULL);
        const struct craft_msg *m = &old->m;
        sim_trace_add_msg(&c->trace, c->now_us, SIM_TR_REPLAY, (uint32_t)m->to, m->from, m,
                          m->term);
        /* Delivered like any message: dropped if the link is cut or the receiver is down. */
        sim_heap_push(&c->heap, c->now_us, SIM_EV_DELIVER, (uint32_t)m->to, 0,
                      sim_net_msg_copy(m));
        o->replayed++;
    }
    schedule_replay(c);
}
