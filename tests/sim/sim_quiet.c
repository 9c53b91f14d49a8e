/* Steady, quiet, stable and calm-election phases of a healed cluster (issue 10 §3). */
#include "sim_quiet.h"

#include <inttypes.h>

#include "sim_cluster.h"
#include "util/assert.h"

bool sim_quiet_step(struct sim_cluster *c)
{
    if (!sim_cluster_step(c)) {
        return false;
    }
    sim_elect_observe(c);
    sim_cost_sample(c);
    return true;
}

/* Runs until time_us or a violation. */
static void run_until(struct sim_cluster *c, uint64_t time_us)
{
    while (!sim_cluster_failed(c) && c->heap.n > 0 && c->heap.ev[0].time_us <= time_us) {
        sim_quiet_step(c);
    }
    if (time_us > c->now_us) {
        c->now_us = time_us;
    }
}

static void phase(struct sim_cluster *c, enum sim_phase ph)
{
    sim_trace_add(&c->trace, c->now_us, SIM_TR_PHASE, 0, ph, 0, 0);
}

/* The status of node i if it is up. */
static bool live_status(const struct sim_cluster *c, unsigned i, struct craft_core_status *st)
{
    const struct sim_node *n = &c->nodes[i];
    if (!n->up) {
        return false;
    }
    craft_core_status(n->core, st);
    return true;
}

/* The members of leader's configuration in force (voters of either half, learners). */
static struct sim_cfg_mask leader_config(const struct sim_cluster *c, craft_id leader)
{
    struct craft_membership m;
    (void)craft_core_membership(c->nodes[leader].core, &m);
    return sim_member_mask(&m);
}

/* Agreement of every live member of the leader's configuration: one leader, every other member
 * following it, one term, commit at the leader's last index, everything applied. A live node
 * outside the configuration (removed, or never added) is not judged here; it must only not
 * disturb the members (stable). Returns the leader, or CRAFT_ID_NONE with why in buf. */
static craft_id agreed(const struct sim_cluster *c, char *buf, size_t len)
{
    craft_id leader = CRAFT_ID_NONE;
    struct craft_core_status ls = {0};
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        struct craft_core_status st;
        if (!live_status(c, i, &st)) {
            continue;
        }
        if (st.role == CRAFT_LEADER) {
            if (leader != CRAFT_ID_NONE) {
                snprintf(buf, len, "n%" PRIu64 " and n%u both lead", leader, i);
                return CRAFT_ID_NONE;
            }
            leader = i;
            ls = st;
        }
    }
    if (leader == CRAFT_ID_NONE) {
        snprintf(buf, len, "no live node leads");
        return CRAFT_ID_NONE;
    }
    struct sim_cfg_mask cfg = leader_config(c, leader);
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        struct craft_core_status st;
        if (!live_status(c, i, &st) || (i != leader && !sim_member_has(&cfg, i))) {
            continue;
        }
        if (st.term != ls.term || (i != leader && (st.role != CRAFT_FOLLOWER ||
                                                   st.leader != leader))) {
            snprintf(buf, len,
                     "n%u is %s in term %" PRIu64 " following n%" PRIu64 "; leader n%" PRIu64
                     " is in term %" PRIu64,
                     i, craft_role_name(st.role), st.term, st.leader, leader, ls.term);
            return CRAFT_ID_NONE;
        }
        if (st.commit != ls.last_index || c->nodes[i].applied != ls.last_index) {
            snprintf(buf, len,
                     "n%u has commit %" PRIu64 " and applied %" PRIu64 "; leader n%" PRIu64
                     " has last index %" PRIu64 " and commit %" PRIu64,
                     i, st.commit, c->nodes[i].applied, leader, ls.last_index, ls.commit);
            return CRAFT_ID_NONE;
        }
    }
    return leader;
}

static craft_id quiet(struct sim_cluster *c, struct sim_quiet_figures *f)
{
    phase(c, SIM_PHASE_QUIET);
    c->clients_on = false;
    uint64_t start = c->now_us;
    uint64_t bound_ms = c->p.net.fifo ? SIM_QUIET_BOUND_MS : SIM_QUIET_BOUND_REORDER_MS;
    uint64_t end = start + bound_ms * 1000;
    char why[256] = "";
    while (!sim_cluster_failed(c)) {
        craft_id leader = agreed(c, why, sizeof why);
        if (leader != CRAFT_ID_NONE) {
            f->quiet_us = c->now_us - start;
            return leader;
        }
        if (c->now_us >= end) {
            break;
        }
        run_until(c, c->now_us + SIM_TICK_US);
    }
    sim_checks_fail(&c->checks, 0, "quiet_convergence",
                    "%" PRIu64 " ms after the last proposal the live nodes still disagree (%s "
                    "links): %s",
                    bound_ms, c->p.net.fifo ? "FIFO" : "reordering", why);
    return CRAFT_ID_NONE;
}

struct view {
    uint32_t role;
    craft_term term;
    craft_id leader;
};

/* No live member of the leader's configuration changes role, term or leader: neither a member's
 * timer nor a removed node's campaign may start an election. */
static void stable(struct sim_cluster *c, craft_id leader)
{
    phase(c, SIM_PHASE_STABLE);
    struct sim_cfg_mask cfg = leader_config(c, leader);
    struct view was[SIM_NODES_MAX + 1];
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        const struct sim_node *n = &c->nodes[i];
        was[i] = (struct view){n->role, n->term, n->leader};
    }
    uint64_t start = c->now_us;
    uint64_t end = start + (uint64_t)SIM_STABLE_MS * 1000;
    while (!sim_cluster_failed(c) && c->heap.n > 0 && c->heap.ev[0].time_us <= end) {
        sim_quiet_step(c);
        /* A configuration the leader appends meanwhile (C_new after a joint one committed) may
         * remove a node, which then campaigns until it learns its removal committed (thesis
         * §4.2.2); the members' roles and terms are what must not move. */
        struct sim_cfg_mask now_cfg = c->nodes[leader].up ? leader_config(c, leader) : cfg;
        for (unsigned i = 1; i <= c->p.n_nodes; i++) {
            const struct sim_node *n = &c->nodes[i];
            if (i != leader && (!sim_member_has(&cfg, i) || !sim_member_has(&now_cfg, i))) {
                continue;
            }
            if (n->up && (n->role != was[i].role || n->term != was[i].term ||
                          n->leader != was[i].leader)) {
                sim_checks_fail(&c->checks, i, "quiet_stability",
                                "%.3f ms into a healthy, agreed cluster n%u changed from %s term "
                                "%" PRIu64 " leader n%" PRIu64 " to %s term %" PRIu64
                                " leader n%" PRIu64,
                                (double)(c->now_us - start) / 1000.0, i,
                                craft_role_name(was[i].role), was[i].term, was[i].leader,
                                craft_role_name(n->role), n->term, n->leader);
                return;
            }
        }
    }
}

static void calm_election(struct sim_cluster *c, craft_id old, unsigned bound_ms,
                          struct sim_quiet_figures *f)
{
    phase(c, SIM_PHASE_ELECTION);
    craft_term old_term = c->nodes[old].term;
    sim_cluster_crash(c, old);
    uint64_t start = c->now_us;
    uint64_t end = start + (uint64_t)bound_ms * 1000;
    while (!sim_cluster_failed(c) && c->heap.n > 0 && c->heap.ev[0].time_us <= end) {
        sim_quiet_step(c);
        for (unsigned i = 1; i <= c->p.n_nodes; i++) {
            const struct sim_node *n = &c->nodes[i];
            if (n->up && n->role == CRAFT_LEADER && n->term > old_term) {
                f->election_us = c->now_us - start;
                return;
            }
        }
    }
    if (!sim_cluster_failed(c)) {
        sim_checks_fail(&c->checks, 0, "election_time",
                        "no leader %d ms after the leader n%" PRIu64 " of term %" PRIu64
                        " crashed in a healthy cluster (%" PRIu64 " split votes so far)",
                        bound_ms, old, old_term, sim_elect_split_votes(c));
    }
}

void sim_quiet_run(struct sim_cluster *c, struct sim_quiet_figures *f)
{
    f->quiet_us = 0;
    f->election_us = 0;
    if (sim_cluster_failed(c)) {
        return;
    }
    phase(c, SIM_PHASE_STEADY);
    sim_cost_begin(c);
    run_until(c, c->now_us + (uint64_t)SIM_STEADY_MS * 1000);
    if (sim_cluster_failed(c)) {
        return;
    }
    sim_cost_end(c);
    if (sim_cluster_failed(c)) {
        return;
    }
    craft_id leader = quiet(c, f);
    if (leader == CRAFT_ID_NONE) {
        return;
    }
    stable(c, leader);
    if (sim_cluster_failed(c)) {
        return;
    }
    /* Without the leader a majority of each half of its configuration must still be up (a node
     * with detected damage stays down). */
    uint32_t up = 0;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        up |= (uint32_t)(c->nodes[i].up && i != leader) << i;
    }
    struct sim_cfg_mask cfg = leader_config(c, leader);
    if (!sim_member_quorum(&cfg, up)) {
        return;
    }
    bool bare = true; /* no survivor can be spared: every vote is needed */
    for (unsigned i = 1; i <= c->p.n_nodes && bare; i++) {
        bool voter = ((cfg.voters | cfg.old) >> i) & 1;
        if (voter && ((up >> i) & 1) && sim_member_quorum(&cfg, up & ~(1u << i))) {
            bare = false;
        }
    }
    calm_election(c, leader, bare ? SIM_ELECTION_BOUND_UNANIMOUS_MS : SIM_ELECTION_BOUND_MS, f);
}
