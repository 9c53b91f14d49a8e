/* The membership fault of the swarm and the rule checks of configurations (sim_member.h): change
 * requests of every kind to the leader, to non-leaders and to a leader cut off on purpose, while
 * crashes and partitions go on; every step of a node is then checked against §4.1 of the thesis
 * (the newest configuration in the log is in force; one change at a time; none before the
 * leader's term has committed an entry). */
#include "sim_member.h"

#include <inttypes.h>
#include <string.h>

#include "sim_cluster.h"
#include "sim_trace.h"

#define ALL_IDS(n) ((((uint32_t)1 << ((n) + 1)) - 1) & ~(uint32_t)1)

static uint32_t pick(struct prng *r, uint32_t lo, uint32_t hi)
{
    return (uint32_t)prng_range(r, lo, (uint64_t)hi + 1);
}

void sim_member_draw(struct prng *r, struct sim_params *p)
{
    bool on = prng_chance(r, 350000);
    /* A node whose storage damage is detected stays down for good: then a configuration of
     * fewer than three voters could lose its majority for good, and liveness would fail by
     * construction. */
    bool damage = p->bitflip || p->rot || p->misdirect_ppm > 0;
    uint32_t us_min = pick(r, 20000, 200000);
    uint32_t us_mul = pick(r, 2, 5);
    bool after_leader = prng_chance(r, 500000);
    uint32_t after_ppm = pick(r, 100000, 600000);
    /* A single voter commits at its disk's pace, so nothing holds the clients back to what a
     * narrow pipe (sim_swarm.c) carries to the others: they would fall behind by construction. */
    bool narrow = p->append_entries_max != 0 || p->inflight_msgs_max != 0;
    bool small = !damage && !narrow && prng_chance(r, 300000);
    bool partial = prng_chance(r, 500000);
    unsigned lo = small ? 1 : 3; /* mostly three voters or more */
    unsigned start = p->n_nodes > lo ? pick(r, lo, p->n_nodes - 1) : 0;
    if (!on) {
        return;
    }
    p->member_us_min = us_min;
    p->member_us_max = us_min * us_mul;
    p->change_after_leader_ppm = after_leader ? after_ppm : 0;
    p->member_small = small;
    p->n_voters_start = partial ? start : 0;
}

void sim_member_start(struct sim_cluster *c)
{
    if (c->p.member_us_max == 0) {
        return;
    }
    uint64_t at = prng_range(&c->member.rng, c->p.member_us_min, (uint64_t)c->p.member_us_max + 1);
    sim_cluster_schedule(c, at, SIM_EV_MEMBER, 0, 0);
}

craft_id sim_member_config(const struct sim_cluster *c, struct sim_cfg_mask *cfg)
{
    struct craft_membership m;
    craft_id leader = sim_cluster_leader(c);
    if (leader != CRAFT_ID_NONE) {
        (void)craft_core_membership(c->nodes[leader].core, &m);
        *cfg = sim_member_mask(&m);
        return leader;
    }
    memset(cfg, 0, sizeof *cfg);
    craft_index best = 0;
    bool found = false;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        if (!c->nodes[i].up) {
            continue;
        }
        craft_index idx = craft_core_membership(c->nodes[i].core, &m);
        if (m.n_voters > 0 && (!found || idx > best)) {
            *cfg = sim_member_mask(&m);
            best = idx;
            found = true;
        }
    }
    if (!found) {
        cfg->voters = ALL_IDS(c->p.n_nodes); /* nobody up: judge as the bootstrap */
    }
    return CRAFT_ID_NONE;
}

/* A random member of mask (0 when empty), from the membership generator. */
static craft_id any_of(struct sim_cluster *c, uint32_t mask)
{
    unsigned n = sim_member_count(mask);
    if (n == 0) {
        return CRAFT_ID_NONE;
    }
    unsigned k = (unsigned)prng_below(&c->member.rng, n);
    for (craft_id id = 1; id < 32; id++) {
        if ((mask >> id & 1) != 0 && k-- == 0) {
            return id;
        }
    }
    return CRAFT_ID_NONE;
}

static uint32_t bit(craft_id id)
{
    return (uint32_t)1 << id;
}

/* The target of one random change of kind against voters v and learners l (masks); false when
 * that kind does not apply now. at is the node asked; min is the fewest voters to keep. */
static bool build(struct sim_cluster *c, uint32_t kind, craft_id at, unsigned min, uint32_t *v,
                  uint32_t *l)
{
    uint32_t others = ALL_IDS(c->p.n_nodes) & ~*v & ~*l;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        if (c->nodes[i].dead) {
            others &= ~bit(i); /* never adds a node that is gone for good */
        }
    }
    unsigned nv = sim_member_count(*v);
    craft_id x;
    switch (kind) {
    case SIM_CHANGE_ADD_VOTER:
        x = any_of(c, others);
        if (x == CRAFT_ID_NONE) {
            return false;
        }
        *v |= bit(x);
        return true;
    case SIM_CHANGE_ADD_LEARNER:
        x = any_of(c, others);
        if (x == CRAFT_ID_NONE) {
            return false;
        }
        *l |= bit(x);
        return true;
    case SIM_CHANGE_PROMOTE:
        x = any_of(c, *l);
        if (x == CRAFT_ID_NONE) {
            return false;
        }
        *l &= ~bit(x);
        *v |= bit(x);
        return true;
    case SIM_CHANGE_REMOVE_VOTER:
        x = any_of(c, *v & ~bit(at));
        if (x == CRAFT_ID_NONE || nv <= min) {
            return false;
        }
        *v &= ~bit(x);
        return true;
    case SIM_CHANGE_REMOVE_LEADER:
        if ((*v & bit(at)) == 0 || nv <= min) {
            return false;
        }
        *v &= ~bit(at);
        return true;
    case SIM_CHANGE_REMOVE_LEARNER:
        x = any_of(c, *l);
        if (x == CRAFT_ID_NONE) {
            return false;
        }
        *l &= ~bit(x);
        return true;
    default: {
        /* Several voters at once (at least two differ: the joint configuration): take out up
         * to two voters and bring in up to two nodes from outside or from the learners. */
        uint32_t in_pool = others | *l;
        unsigned n_out = (unsigned)prng_below(&c->member.rng, 3);
        unsigned n_in = (unsigned)prng_below(&c->member.rng, 3);
        uint32_t nvmask = *v;
        uint32_t nlmask = *l;
        unsigned changed = 0;
        for (unsigned k = 0; k < n_out && sim_member_count(nvmask) > min; k++) {
            x = any_of(c, nvmask);
            nvmask &= ~bit(x);
            changed++;
        }
        for (unsigned k = 0; k < n_in; k++) {
            x = any_of(c, in_pool);
            if (x == CRAFT_ID_NONE) {
                break;
            }
            in_pool &= ~bit(x);
            nlmask &= ~bit(x);
            nvmask |= bit(x);
            changed++;
        }
        if (changed < 2 || nvmask == 0) {
            return false;
        }
        *v = nvmask;
        *l = nlmask;
        return true;
    }
    }
}

static void to_membership(uint32_t v, uint32_t l, struct craft_membership *m)
{
    memset(m, 0, sizeof *m);
    for (craft_id id = 1; id < 32; id++) {
        if ((v >> id & 1) != 0) {
            m->voters[m->n_voters++] = id;
        } else if ((l >> id & 1) != 0) {
            m->learners[m->n_learners++] = id;
        }
    }
}

int sim_member_change(struct sim_cluster *c, craft_id at, const struct craft_membership *target,
                      uint32_t kind)
{
    struct sim_node *n = &c->nodes[at];
    int rv = CRAFT_ENOTLEADER;
    if (n->up) {
        struct craft_core_status st;
        craft_core_status(n->core, &st);
        struct craft_input in = {.type = CRAFT_IN_CHANGE};
        in.change.target = target;
        rv = sim_cluster_feed(c, n, &in, NULL);
        if (st.role != CRAFT_LEADER && rv != CRAFT_ENOTLEADER) {
            sim_checks_fail(&c->checks, at, "change_not_leader",
                            "n%" PRIu64 " (%s, term %" PRIu64 ") answered a change request with %s",
                            at, craft_role_name(st.role), st.term, craft_errname(rv));
        } else if (rv != 0 && rv != CRAFT_ENOTLEADER && rv != CRAFT_EBUSY && rv != CRAFT_EEXIST) {
            sim_checks_fail(&c->checks, at, "core_step_error",
                            "n%" PRIu64 " refused a valid change request with %s", at,
                            craft_errname(rv));
        }
    }
    struct sim_cfg_mask t = sim_member_mask(target);
    sim_trace_add(&c->trace, c->now_us, SIM_TR_CHANGE, (uint32_t)at, kind, (uint64_t)(int64_t)rv,
                  t.voters | (uint64_t)t.learners << 16);
    c->member.asked++;
    c->member.accepted += rv == 0;
    return rv;
}

/* One random change asked of node at, against its own configuration. */
static void ask(struct sim_cluster *c, craft_id at)
{
    if (!c->nodes[at].up) {
        return;
    }
    struct craft_membership cur;
    (void)craft_core_membership(c->nodes[at].core, &cur);
    struct sim_cfg_mask m = sim_member_mask(&cur);
    if (m.voters == 0) {
        m.voters = ALL_IDS(c->p.n_nodes) & ~bit(at); /* a node waiting to be added */
    }
    unsigned min = c->p.member_small && prng_chance(&c->member.rng, 500000) ? 1 : 3;
    for (int tries = 0; tries < 8; tries++) {
        uint32_t kind = pick(&c->member.rng, SIM_CHANGE_ADD_VOTER, SIM_CHANGE_REMOVE_LEARNER);
        uint32_t v = m.voters;
        uint32_t l = m.learners;
        if (build(c, kind, at, min, &v, &l)) {
            struct craft_membership target;
            to_membership(v, l, &target);
            (void)sim_member_change(c, at, &target, kind);
            return;
        }
    }
}

void sim_member_event(struct sim_cluster *c, const struct sim_event *ev)
{
    if (!c->faults_on) {
        return;
    }
    if (ev->node != 0) {
        ask(c, ev->node); /* a new leader, before its term has committed anything */
        return;
    }
    craft_id leader = sim_cluster_leader(c);
    uint32_t where = (uint32_t)prng_below(&c->member.rng, 100);
    craft_id at = leader;
    if (leader == CRAFT_ID_NONE || where < 12) {
        at = 1 + prng_below(&c->member.rng, c->p.n_nodes); /* not the leader: must refuse */
    } else if (where < 22) {
        /* A leader cut off from everyone: whatever it appends must not commit. */
        uint64_t len = prng_range(&c->member.rng, 20000, 1500000);
        sim_network_isolate(&c->net, leader, true);
        sim_trace_add(&c->trace, c->now_us, SIM_TR_LINKS, 0, SIM_LINKS_ISOLATE, leader, len);
        sim_cluster_schedule(c, len, SIM_EV_RECONNECT, leader, 0);
    }
    ask(c, at);
    uint64_t next =
        prng_range(&c->member.rng, c->p.member_us_min, (uint64_t)c->p.member_us_max + 1);
    sim_cluster_schedule(c, next, SIM_EV_MEMBER, 0, 0);
}

void sim_member_on_leader(struct sim_cluster *c, struct sim_node *n)
{
    if (!c->faults_on || c->p.change_after_leader_ppm == 0 ||
        !prng_chance(&c->member.rng, c->p.change_after_leader_ppm)) {
        return;
    }
    uint64_t delay = prng_below(&c->member.rng, 2000);
    sim_cluster_schedule(c, delay, SIM_EV_MEMBER, n->id, 0);
}

void sim_member_after_step(struct sim_cluster *c, struct sim_node *n,
                           const struct craft_output *out, craft_index cfg_before)
{
    if (out->truncate_from != 0 && n->cfg_last >= out->truncate_from) {
        n->cfg_last = sim_node_config_scan(n, out->truncate_from - 1);
    }
    bool rules = c->checks.rule_checks;
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    for (size_t i = 0; i < out->n_entries; i++) {
        const struct craft_entry *e = &out->entries[i];
        bool own = st.role == CRAFT_LEADER && e->term == st.term;
        if (own && n->lead_start == 0) {
            n->lead_start = e->index;
        }
        if (e->type != CRAFT_ENTRY_CONFIG) {
            continue;
        }
        if (rules && own && n->cfg_last > st.commit) {
            /* Thesis §4.1/§4.3: one change at a time. Each CONFIG entry a leader appends
             * follows only configurations its commit index covers (C_new follows its joint
             * entry once that committed, a promotion follows its learners' entry). */
            sim_checks_fail(&c->checks, n->id, "config_change_overlap",
                            "leader n%" PRIu64 " of term %" PRIu64
                            " appends a CONFIG entry at %" PRIu64 " while the one at %" PRIu64
                            " is above its commit index %" PRIu64,
                            n->id, st.term, e->index, n->cfg_last, st.commit);
        }
        if (rules && own && (n->lead_start == 0 || st.commit < n->lead_start)) {
            /* The single-server change bug (Ongaro, raft-dev 2015): a leader must commit an
             * entry of its own term before it appends any configuration. */
            sim_checks_fail(&c->checks, n->id, "config_before_term_commit",
                            "leader n%" PRIu64 " of term %" PRIu64
                            " appends a CONFIG entry at %" PRIu64
                            " before its term committed an entry (first entry of its term %" PRIu64
                            ", commit %" PRIu64 ")",
                            n->id, st.term, e->index, n->lead_start, st.commit);
        }
        n->cfg_last = e->index;
    }
    struct craft_membership m;
    craft_index idx = craft_core_membership(n->core, &m);
    /* A configuration taken from a snapshot is named by the snapshot's index, which may lie past
     * its CONFIG entry. */
    bool from_snapshot = idx > n->cfg_last && idx <= n->disk.snap_index &&
                         sim_node_config_scan(n, idx) == n->cfg_last;
    if (rules && idx != n->cfg_last && !from_snapshot) {
        /* Thesis §4.1: a node uses the newest configuration in its log, committed or not. */
        sim_checks_fail(&c->checks, n->id, "config_not_newest",
                        "n%" PRIu64 " uses the configuration of index %" PRIu64
                        " but the newest CONFIG entry in its log is at %" PRIu64,
                        n->id, idx, n->cfg_last);
    }
    if (idx != cfg_before) {
        struct sim_cfg_mask k = sim_member_mask(&m);
        sim_trace_add(&c->trace, c->now_us, SIM_TR_CONFIG, (uint32_t)n->id, k.voters, k.old,
                      k.learners);
    }
}
