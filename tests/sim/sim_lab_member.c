/* Membership scenarios (issue 11 §6): add and remove while partitioned, replace every member one
 * by one, remove the leader, a change asked of an isolated leader, and Ongaro's single-server
 * change bug (raft-dev, 2015) across a leader change with divergent logs. Every invariant of the
 * simulator is checked after each step; each scenario also asserts its own outcome. */
#include <inttypes.h>
#include <string.h>

#include "sim_lab_tests.h"

static uint32_t ids_mask(const craft_id *ids, unsigned n)
{
    return sim_member_bits(ids, n);
}

static void membership_of(uint32_t voters, uint32_t learners, struct craft_membership *m)
{
    memset(m, 0, sizeof *m);
    for (craft_id id = 1; id <= SIM_NODES_MAX; id++) {
        if ((voters >> id & 1) != 0) {
            m->voters[m->n_voters++] = id;
        } else if ((learners >> id & 1) != 0) {
            m->learners[m->n_learners++] = id;
        }
    }
}

/* The configuration in force at id (zeroed when it is down); returns its index. */
static craft_index config_at(struct sim_scenario *s, craft_id id, struct sim_cfg_mask *k)
{
    memset(k, 0, sizeof *k);
    if (!s->c->nodes[id].up) {
        return 0;
    }
    struct craft_membership m;
    craft_index idx = craft_core_membership(s->c->nodes[id].core, &m);
    *k = sim_member_mask(&m);
    return idx;
}

static craft_index commit_at(struct sim_scenario *s, craft_id id)
{
    struct craft_core_status st;
    craft_core_status(s->c->nodes[id].core, &st);
    return st.commit;
}

/* Asks the current leader for (voters, learners) until it takes it (CRAFT_EBUSY while an earlier
 * change or its no-op is under way), then waits until the leader has committed exactly that
 * configuration. Returns false (recorded) when that does not happen within ms. */
static bool change_to(struct sim_scenario *s, uint32_t voters, uint32_t learners, uint64_t ms,
                      const char *what)
{
    struct craft_membership target;
    membership_of(voters, learners, &target);
    uint64_t end = s->c->now_us + ms * 1000;
    bool asked = false;
    while (s->c->now_us < end && !sim_scenario_failed(s)) {
        craft_id leader = sim_scenario_leader(s);
        if (leader != CRAFT_ID_NONE) {
            struct sim_cfg_mask k;
            craft_index idx = config_at(s, leader, &k);
            if (k.voters == voters && k.old == 0 && k.learners == learners &&
                commit_at(s, leader) >= idx) {
                return true;
            }
            if (!asked) {
                int rv = sim_member_change(s->c, leader, &target, SIM_CHANGE_REPLACE);
                asked = rv == 0 || rv == CRAFT_EEXIST;
            }
        }
        sim_scenario_run_ms(s, 10);
        if (leader != sim_scenario_leader(s)) {
            asked = false; /* a new leader: ask again (the change may have died with the old) */
        }
    }
    if (!sim_scenario_failed(s)) {
        sim_scenario_fail(s, "%s: voters 0x%x learners 0x%x not committed within %" PRIu64 " ms",
                          what, voters, learners, ms);
    }
    return false;
}

static bool setup(struct sim_scenario *s, const char *name, uint64_t seed, unsigned n,
                  unsigned n_voters)
{
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, n, seed);
    o.n_voters = n_voters;
    if (sim_scenario_init(s, name, &o) != 0) {
        return false;
    }
    char cmd[64];
    sim_scenario_one_str(s, sim_scenario_cmd(s, cmd), n_voters, true);
    return !sim_scenario_failed(s);
}

/* For ms, the leader and every member's term stay as they are: no removed node disrupts. */
static void assert_calm(struct sim_scenario *s, uint32_t members, uint64_t ms, const char *when)
{
    craft_id leader = sim_scenario_leader(s);
    craft_term term = sim_scenario_term(s, leader);
    uint64_t end = s->c->now_us + ms * 1000;
    while (s->c->now_us < end && !sim_scenario_failed(s)) {
        sim_scenario_run_ms(s, 10);
        if (!sim_scenario_is_leader(s, leader)) {
            sim_scenario_fail(s, "%s: n%" PRIu64 " is no longer leader", when, leader);
            return;
        }
        for (craft_id i = 1; i <= s->n; i++) {
            if ((members >> i & 1) != 0 && s->c->nodes[i].up && sim_scenario_term(s, i) != term) {
                sim_scenario_fail(
                    s, "%s: member n%" PRIu64 " moved to term %" PRIu64 " (leader's %" PRIu64 ")",
                    when, i, sim_scenario_term(s, i), term);
                return;
            }
        }
    }
}

int lab_member_partitioned(uint64_t seed)
{
    struct sim_scenario s;
    if (!setup(&s, "member_partitioned", seed, 5, 3)) {
        return sim_scenario_finish(&s);
    }
    craft_id leader = sim_scenario_check_one_leader(&s);
    craft_id f = lab_next(&s, leader, 1);
    if (f > 3) {
        f = leader == 1 ? 2 : 1;
    }
    sim_scenario_disconnect(&s, f);
    /* Grow to five while a voter is cut off, then remove it while it still is. */
    uint32_t v = (1u << 1) | (1u << 2) | (1u << 3);
    v |= 1u << 4;
    change_to(&s, v, 0, 5000, "add n4 while one voter is cut off");
    v |= 1u << 5;
    change_to(&s, v, 0, 5000, "add n5 while one voter is cut off");
    v &= ~(1u << f);
    change_to(&s, v, 0, 5000, "remove the cut-off voter");
    char cmd[64];
    sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 4, true);
    /* The removed node comes back: it must not disturb the members. */
    sim_scenario_connect(&s, f);
    if (!sim_scenario_failed(&s)) {
        assert_calm(&s, v, 3000, "after the removed node reconnected");
    }
    sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 4, true);
    return sim_scenario_finish(&s);
}

int lab_member_replace_all(uint64_t seed)
{
    struct sim_scenario s;
    if (!setup(&s, "member_replace_all", seed, 6, 3)) {
        return sim_scenario_finish(&s);
    }
    uint32_t v = (1u << 1) | (1u << 2) | (1u << 3);
    char cmd[64];
    for (craft_id k = 0; k < 3 && !sim_scenario_failed(&s); k++) {
        v |= 1u << (4 + k);
        change_to(&s, v, 0, 5000, "add a new member");
        sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 4, true);
        v &= ~(1u << (1 + k)); /* at some point this removes the leader */
        change_to(&s, v, 0, 5000, "remove an old member");
        sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 3, true);
    }
    if (!sim_scenario_failed(&s) && v != ((1u << 4) | (1u << 5) | (1u << 6))) {
        sim_scenario_fail(&s, "ended with voters 0x%x", v);
    }
    if (!sim_scenario_failed(&s)) {
        assert_calm(&s, v, 3000, "with every original member removed and still up");
    }
    return sim_scenario_finish(&s);
}

int lab_member_remove_leader(uint64_t seed)
{
    struct sim_scenario s;
    if (!setup(&s, "member_remove_leader", seed, 5, 5)) {
        return sim_scenario_finish(&s);
    }
    craft_id old = sim_scenario_check_one_leader(&s);
    uint32_t v = 0x3e & ~(1u << old);
    change_to(&s, v, 0, 5000, "remove the leader");
    char cmd[64];
    sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 4, true);
    craft_id now = sim_scenario_check_one_leader(&s);
    if (!sim_scenario_failed(&s) && now == old) {
        sim_scenario_fail(&s, "the removed leader n%" PRIu64 " still leads", old);
    }
    if (!sim_scenario_failed(&s)) {
        assert_calm(&s, v, 3000, "with the removed leader still up");
    }
    return sim_scenario_finish(&s);
}

int lab_member_isolated_leader(uint64_t seed)
{
    struct sim_scenario s;
    if (!setup(&s, "member_isolated_leader", seed, 5, 5)) {
        return sim_scenario_finish(&s);
    }
    craft_id old = sim_scenario_check_one_leader(&s);
    craft_id x = lab_next(&s, old, 1);
    sim_scenario_disconnect(&s, old);
    struct craft_membership target;
    membership_of(0x3e & ~(1u << x), 0, &target);
    int rv = sim_member_change(s.c, old, &target, SIM_CHANGE_REMOVE_VOTER);
    if (rv != 0) {
        sim_scenario_fail(&s, "the isolated leader refused the change: %s", craft_errname(rv));
    }
    struct sim_cfg_mask k;
    craft_index idx = config_at(&s, old, &k);
    /* The rest elect a new leader; the change never commits, anywhere. */
    craft_id now = sim_scenario_check_one_leader(&s);
    char cmd[64];
    sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 4, true);
    for (craft_id i = 1; i <= s.n && !sim_scenario_failed(&s); i++) {
        struct sim_cfg_mask ki;
        config_at(&s, i, &ki);
        if (i != old && ki.voters != 0x3e) {
            sim_scenario_fail(&s, "n%" PRIu64 " took the isolated leader's configuration", i);
        }
    }
    if (!sim_scenario_failed(&s) && (now == old || commit_at(&s, old) >= idx)) {
        sim_scenario_fail(&s, "the isolated leader's change at %" PRIu64 " committed", idx);
    }
    sim_scenario_connect(&s, old);
    sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 5, true);
    config_at(&s, old, &k);
    if (!sim_scenario_failed(&s) && k.voters != 0x3e) {
        sim_scenario_fail(&s, "the old leader kept its uncommitted configuration 0x%x", k.voters);
    }
    return sim_scenario_finish(&s);
}

/* Steps event by event until id leads (or ms pass); returns whether it does. */
static bool step_until_leader(struct sim_scenario *s, craft_id id, uint64_t ms)
{
    uint64_t end = s->c->now_us + ms * 1000;
    while (s->c->now_us < end && !sim_scenario_failed(s)) {
        if (s->c->nodes[id].up && s->c->nodes[id].role == CRAFT_LEADER) {
            return true;
        }
        if (!sim_cluster_step(s->c)) {
            break;
        }
    }
    return s->c->nodes[id].role == CRAFT_LEADER;
}

static void campaign(struct sim_scenario *s, craft_id id)
{
    struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
    (void)sim_cluster_feed(s->c, &s->c->nodes[id], &in, NULL);
}

static void cut(struct sim_scenario *s, craft_id a, craft_id b, bool up)
{
    sim_network_set_link(&s->c->net, a, b, up);
    sim_network_set_link(&s->c->net, b, a, up);
}

/* Ongaro's single-server change bug (raft-dev, 2015). Voters {1,2,3,4}, 5 a caught-up learner.
 * Leader 1 appends C_a = {1..5}, which reaches only 5. 2 is elected by {2,3,4} in term 2 and at
 * once (before its no-op commits, with 4 cut off before the no-op reaches it) asks to remove 1:
 * C_b = {2,3,4}, which 2 and 3 alone would commit. 1 is then elected by {1,4,5} under C_a and
 * would overwrite what C_b committed. The rule "a new leader commits an entry of its term
 * first" refuses C_b (CRAFT_EBUSY): nothing commits in term 2 and 1's election is harmless. With
 * that rule taken out (mutation change_before_term_commit) this scenario breaks safety; it runs
 * with the safety checks alone, to show that. */
int lab_member_single_server_bug(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 5, seed);
    o.n_voters = 4;
    o.pre_vote = false;
    o.check_quorum = false;
    o.safety_only = true;
    if (sim_scenario_init(&s, "member_single_server_bug", &o) != 0) {
        return -1;
    }
    for (int i = 0; i < 10 && !sim_scenario_is_leader(&s, 1); i++) {
        campaign(&s, 1);
        sim_scenario_run_ms(&s, 300);
    }
    if (!sim_scenario_is_leader(&s, 1)) {
        sim_scenario_fail(&s, "n1 did not become leader");
        return sim_scenario_finish(&s);
    }
    char cmd[64];
    sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 4, true);
    const craft_id four[] = {1, 2, 3, 4};
    change_to(&s, ids_mask(four, 4), 1u << 5, 3000, "add n5 as a learner");
    sim_scenario_run_ms(&s, 200); /* n5 catches up */
    /* {1,5} | {2,3,4}; then 1 appends C_a = {1..5} (5 has caught up: straight in). */
    sim_network_split(&s.c->net, (1u << 1) | (1u << 5));
    struct craft_membership c_a;
    membership_of(0x3e, 0, &c_a);
    int rv = sim_member_change(s.c, 1, &c_a, SIM_CHANGE_PROMOTE);
    if (rv != 0) {
        sim_scenario_fail(&s, "n1 refused C_a: %s", craft_errname(rv));
    }
    sim_scenario_run_ms(&s, 50);
    /* 2 campaigns in the majority side; 4 is cut off the moment 2 wins. */
    campaign(&s, 2);
    if (!step_until_leader(&s, 2, 2000)) {
        sim_scenario_fail(&s, "n2 did not become leader");
        return sim_scenario_finish(&s);
    }
    cut(&s, 2, 4, false);
    cut(&s, 3, 4, false);
    struct craft_membership c_b;
    membership_of((1u << 2) | (1u << 3) | (1u << 4), 1u << 5, &c_b);
    rv = sim_member_change(s.c, 2, &c_b, SIM_CHANGE_REMOVE_VOTER);
    bool accepted = rv == 0;
    for (int i = 0; i < 50 && !accepted && !sim_scenario_failed(&s); i++) {
        sim_scenario_run_ms(&s, 20);
        if (sim_scenario_is_leader(&s, 2)) {
            accepted = sim_member_change(s.c, 2, &c_b, SIM_CHANGE_REMOVE_VOTER) == 0;
        }
    }
    craft_index index;
    sim_scenario_start(&s, 2, "term-2", 6, &index, NULL);
    sim_scenario_run_ms(&s, 300);
    /* 1 meets 4 again: elected by {1,4,5} under C_a. */
    cut(&s, 1, 4, true);
    for (int i = 0; i < 20 && !sim_scenario_is_leader(&s, 1) && !sim_scenario_failed(&s); i++) {
        sim_scenario_run_ms(&s, 200);
    }
    sim_scenario_run_ms(&s, 500);
    if (!sim_scenario_failed(&s) && accepted) {
        sim_scenario_fail(&s, "n2 took a change before its term committed an entry");
    }
    /* Heal: everyone converges on one log, and commands commit again. */
    sim_network_all_up(&s.c->net);
    sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 4, true);
    return sim_scenario_finish(&s);
}
