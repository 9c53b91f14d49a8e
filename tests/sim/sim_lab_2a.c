/* Lab part A (leader election): initial_election, re_election, many_elections. */
#include <inttypes.h>

#include "sim_lab_tests.h"

#define ET SIM_LAB_ELECTION_MS

/* A leader is elected; with no failures the term stays put and the leader stays. */
int lab_initial_election(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    if (sim_scenario_init(&s, "initial_election", &o) != 0) {
        return -1;
    }
    sim_scenario_check_one_leader(&s);
    sim_scenario_run_ms(&s, 50);
    craft_term term1 = sim_scenario_check_terms(&s);
    if (!sim_scenario_failed(&s) && term1 < 1) {
        sim_scenario_fail(&s, "term is %" PRIu64 ", but should be at least 1", term1);
    }
    sim_scenario_run_ms(&s, 2 * ET);
    craft_term term2 = sim_scenario_check_terms(&s);
    if (!sim_scenario_failed(&s) && term1 != term2) {
        sim_scenario_fail(&s, "term changed from %" PRIu64 " to %" PRIu64 " with no failures",
                          term1, term2);
    }
    sim_scenario_check_one_leader(&s);
    return sim_scenario_finish(&s);
}

/* A new leader after the old one is cut off; no leader without a quorum; one again after. */
int lab_re_election(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    if (sim_scenario_init(&s, "re_election", &o) != 0) {
        return -1;
    }
    craft_id leader1 = sim_scenario_check_one_leader(&s);
    if (leader1 == 0) {
        return sim_scenario_finish(&s);
    }
    sim_scenario_disconnect(&s, leader1);
    sim_scenario_check_one_leader(&s);
    /* The old leader rejoins; that must not disturb the new one. */
    sim_scenario_connect(&s, leader1);
    craft_id leader2 = sim_scenario_check_one_leader(&s);
    if (leader2 == 0) {
        return sim_scenario_finish(&s);
    }
    sim_scenario_disconnect(&s, leader2);
    sim_scenario_disconnect(&s, lab_next(&s, leader2, 1));
    sim_scenario_run_ms(&s, 2 * ET);
    sim_scenario_check_no_leader(&s);
    sim_scenario_connect(&s, lab_next(&s, leader2, 1));
    sim_scenario_check_one_leader(&s);
    sim_scenario_connect(&s, leader2);
    sim_scenario_check_one_leader(&s);
    return sim_scenario_finish(&s);
}

/* Seven nodes, ten rounds of three random disconnections: a leader each time. */
int lab_many_elections(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 7, seed);
    if (sim_scenario_init(&s, "many_elections", &o) != 0) {
        return -1;
    }
    sim_scenario_check_one_leader(&s);
    for (int iter = 0; iter < 10 && !sim_scenario_failed(&s); iter++) {
        craft_id i1 = 1 + prng_below(&s.rng, 7);
        craft_id i2 = 1 + prng_below(&s.rng, 7);
        craft_id i3 = 1 + prng_below(&s.rng, 7);
        sim_scenario_disconnect(&s, i1);
        sim_scenario_disconnect(&s, i2);
        sim_scenario_disconnect(&s, i3);
        /* Four or more nodes remain: a majority of seven. */
        sim_scenario_check_one_leader(&s);
        sim_scenario_connect(&s, i1);
        sim_scenario_connect(&s, i2);
        sim_scenario_connect(&s, i3);
    }
    sim_scenario_check_one_leader(&s);
    return sim_scenario_finish(&s);
}
