/* Partial connectivity with pre-vote and check-quorum on: prevote_rejoin, partial_leader_only,
 * partial_ring, partial_bridge. Each elects a leader on a healthy network (setup), then changes
 * the links and asserts, for the whole rest of the test, exactly this: the same node stays leader,
 * no node's term changes at all (the set-up term is the only term any node has afterwards), and
 * commands keep committing on the nodes the leader reaches. Raft with pre-vote and check-quorum
 * needs no term change in these shapes: the leader keeps a quorum, and every node cut off from it
 * fails its pre-vote (the others are in the leader's lease or have longer logs). */
#include <inttypes.h>
#include <string.h>

#include "sim_lab_tests.h"

#define PHASE_MS 5000

struct stable {
    craft_id leader;
    craft_term term;
};

static bool setup(struct sim_scenario *s, const char *name, uint64_t seed, struct stable *st)
{
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 5, seed);
    if (sim_scenario_init(s, name, &o) != 0) {
        return false;
    }
    char cmd[64];
    sim_scenario_one_str(s, sim_scenario_cmd(s, cmd), 5, true);
    st->leader = sim_scenario_check_one_leader(s);
    sim_scenario_run_ms(s, 100);
    st->term = sim_scenario_check_terms(s);
    return true;
}

/* Every up node still has the set-up term; the leader is still leader. */
static void assert_stable(struct sim_scenario *s, const struct stable *st, const char *when)
{
    if (sim_scenario_failed(s)) {
        return;
    }
    if (!sim_scenario_is_leader(s, st->leader)) {
        sim_scenario_fail(s, "%s: n%" PRIu64 " is no longer leader", when, st->leader);
        return;
    }
    for (unsigned i = 1; i <= s->n; i++) {
        craft_term t = sim_scenario_term(s, i);
        if (t != st->term) {
            sim_scenario_fail(s, "%s: n%u has term %" PRIu64 ", the set-up term was %" PRIu64, when,
                              i, t, st->term);
            return;
        }
    }
}

/* Runs PHASE_MS with a command every 100 ms that must commit on `expected` nodes, checking
 * stability every 10 ms. */
static void stable_phase(struct sim_scenario *s, const struct stable *st, unsigned expected,
                         const char *when)
{
    uint64_t end = s->c->now_us + (uint64_t)PHASE_MS * 1000;
    while (s->c->now_us < end && !sim_scenario_failed(s)) {
        char cmd[64];
        sim_scenario_cmd(s, cmd);
        craft_index index;
        if (sim_scenario_start(s, st->leader, cmd, strlen(cmd), &index, NULL) != 0) {
            sim_scenario_fail(s, "%s: the leader refused a proposal", when);
            return;
        }
        for (int k = 0; k < 10 && !sim_scenario_failed(s); k++) {
            sim_scenario_run_ms(s, 10);
            assert_stable(s, st, when);
        }
        if (!sim_scenario_failed(s) && sim_scenario_wait(s, index, expected, 1000) < expected) {
            sim_scenario_fail(s, "%s: index %" PRIu64 " did not commit on %u nodes", when, index,
                              expected);
        }
    }
}

int lab_prevote_rejoin(uint64_t seed)
{
    struct sim_scenario s;
    struct stable st;
    if (!setup(&s, "prevote_rejoin", seed, &st)) {
        return -1;
    }
    craft_id x = lab_next(&s, st.leader, 1);
    sim_scenario_disconnect(&s, x);
    /* x's election timer fires again and again; its pre-votes go nowhere, its term stays. */
    stable_phase(&s, &st, 4, "while a follower is isolated");
    sim_scenario_connect(&s, x);
    stable_phase(&s, &st, 5, "after the isolated follower rejoined");
    return sim_scenario_finish(&s);
}

int lab_partial_leader_only(uint64_t seed)
{
    struct sim_scenario s;
    struct stable st;
    if (!setup(&s, "partial_leader_only", seed, &st)) {
        return -1;
    }
    craft_id x = lab_next(&s, st.leader, 2);
    sim_network_leader_only(&s.c->net, x, st.leader);
    stable_phase(&s, &st, 5, "while one follower reaches only the leader");
    sim_network_all_up(&s.c->net);
    stable_phase(&s, &st, 5, "after the links healed");
    return sim_scenario_finish(&s);
}

int lab_partial_ring(uint64_t seed)
{
    struct sim_scenario s;
    struct stable st;
    if (!setup(&s, "partial_ring", seed, &st)) {
        return -1;
    }
    /* leader - a - b - c - d - leader: b and c do not reach the leader. */
    craft_id order[5];
    for (unsigned k = 0; k < 5; k++) {
        order[k] = lab_next(&s, st.leader, k);
    }
    sim_network_ring(&s.c->net, order);
    stable_phase(&s, &st, 3, "in a ring");
    sim_network_all_up(&s.c->net);
    stable_phase(&s, &st, 5, "after the ring healed");
    return sim_scenario_finish(&s);
}

int lab_partial_bridge(uint64_t seed)
{
    struct sim_scenario s;
    struct stable st;
    if (!setup(&s, "partial_bridge", seed, &st)) {
        return -1;
    }
    /* {leader, a} | bridge | {c, d}: only the bridge reaches both sides. */
    craft_id a = lab_next(&s, st.leader, 1);
    craft_id bridge = lab_next(&s, st.leader, 2);
    uint32_t side = (1u << st.leader) | (1u << a);
    sim_network_bridge(&s.c->net, side, bridge);
    stable_phase(&s, &st, 3, "with a bridge node");
    sim_network_all_up(&s.c->net);
    stable_phase(&s, &st, 5, "after the split healed");
    return sim_scenario_finish(&s);
}
