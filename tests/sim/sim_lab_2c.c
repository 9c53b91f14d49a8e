/* Lab part C (persistence): persist1, persist2, persist3, figure8, unreliable_agree,
 * figure8_unreliable, reliable_churn, unreliable_churn. A lab "crash" is a crash plus a
 * disconnection; a lab "start" is a restart plus a connection. */
#include <inttypes.h>
#include <string.h>

#include "sim_hash.h"
#include "sim_lab_tests.h"

#define ET SIM_LAB_ELECTION_MS

static craft_index one_new(struct sim_scenario *s, unsigned expected, bool retry)
{
    char cmd[64];
    return sim_scenario_one_str(s, sim_scenario_cmd(s, cmd), expected, retry);
}

static int open_scenario(struct sim_scenario *s, const char *name, unsigned n, uint64_t seed,
                         bool unreliable)
{
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, n, seed);
    o.unreliable = unreliable;
    return sim_scenario_init(s, name, &o);
}

int lab_persist1(uint64_t seed)
{
    struct sim_scenario s;
    if (open_scenario(&s, "persist1", 5, seed, false) != 0) {
        return -1;
    }
    one_new(&s, 5, true);
    for (unsigned i = 1; i <= s.n; i++) {
        lab_crash1(&s, i);
    }
    for (unsigned i = 1; i <= s.n; i++) {
        lab_start1(&s, i);
    }
    one_new(&s, 5, true);
    craft_id leader1 = sim_scenario_check_one_leader(&s);
    if (leader1 == 0) {
        return sim_scenario_finish(&s);
    }
    lab_crash1(&s, leader1);
    lab_start1(&s, leader1);
    one_new(&s, 5, true);
    craft_id leader2 = sim_scenario_check_one_leader(&s);
    if (leader2 == 0) {
        return sim_scenario_finish(&s);
    }
    lab_crash1(&s, leader2);
    craft_index index = one_new(&s, 4, true);
    lab_start1(&s, leader2);
    if (!sim_scenario_failed(&s) && sim_scenario_wait(&s, index, 5, 10000) < 5) {
        sim_scenario_fail(&s, "the restarted leader did not catch up to index %" PRIu64, index);
    }
    craft_id i3 = lab_next(&s, sim_scenario_check_one_leader(&s), 1);
    lab_crash1(&s, i3);
    one_new(&s, 4, true);
    lab_start1(&s, i3);
    one_new(&s, 5, true);
    return sim_scenario_finish(&s);
}

int lab_persist2(uint64_t seed)
{
    struct sim_scenario s;
    if (open_scenario(&s, "persist2", 5, seed, false) != 0) {
        return -1;
    }
    for (int iter = 0; iter < 5 && !sim_scenario_failed(&s); iter++) {
        one_new(&s, 5, true);
        craft_id leader1 = sim_scenario_check_one_leader(&s);
        if (leader1 == 0) {
            break;
        }
        sim_scenario_disconnect(&s, lab_next(&s, leader1, 1));
        sim_scenario_disconnect(&s, lab_next(&s, leader1, 2));
        one_new(&s, 3, true);
        lab_crash1(&s, leader1);
        lab_crash1(&s, lab_next(&s, leader1, 3));
        lab_crash1(&s, lab_next(&s, leader1, 4));
        lab_start1(&s, lab_next(&s, leader1, 1));
        lab_start1(&s, lab_next(&s, leader1, 2));
        sim_scenario_run_ms(&s, ET);
        lab_start1(&s, lab_next(&s, leader1, 3));
        one_new(&s, 3, true);
        lab_start1(&s, lab_next(&s, leader1, 4));
        lab_start1(&s, leader1);
    }
    one_new(&s, 5, true);
    return sim_scenario_finish(&s);
}

int lab_persist3(uint64_t seed)
{
    struct sim_scenario s;
    if (open_scenario(&s, "persist3", 3, seed, false) != 0) {
        return -1;
    }
    one_new(&s, 3, true);
    craft_id leader = sim_scenario_check_one_leader(&s);
    if (leader == 0) {
        return sim_scenario_finish(&s);
    }
    sim_scenario_disconnect(&s, lab_next(&s, leader, 2));
    one_new(&s, 2, true);
    lab_crash1(&s, leader);
    lab_crash1(&s, lab_next(&s, leader, 1));
    sim_scenario_connect(&s, lab_next(&s, leader, 2));
    lab_start1(&s, leader);
    one_new(&s, 2, true);
    lab_start1(&s, lab_next(&s, leader, 1));
    one_new(&s, 3, true);
    return sim_scenario_finish(&s);
}

/* Figure 8 of the paper: leaders crash right after appending, others take over. */
static int figure8(const char *name, uint64_t seed, bool unreliable)
{
    struct sim_scenario s;
    if (open_scenario(&s, name, 5, seed, unreliable) != 0) {
        return -1;
    }
    bool up[SIM_NODES_MAX + 1];
    for (unsigned i = 1; i <= s.n; i++) {
        up[i] = true;
    }
    one_new(&s, 1, true);
    unsigned nup = s.n;
    for (int iter = 0; iter < 1000 && !sim_scenario_failed(&s); iter++) {
        if (unreliable && iter == 200) {
            sim_scenario_long_reordering(&s, true);
        }
        craft_id leader = 0;
        for (unsigned i = 1; i <= s.n; i++) {
            char cmd[64];
            sim_scenario_cmd(&s, cmd);
            if (up[i] && sim_scenario_start(&s, i, cmd, strlen(cmd), NULL, NULL) == 0) {
                leader = i;
            }
        }
        if (prng_below(&s.rng, 1000) < 100) {
            sim_scenario_run_ms(&s, prng_below(&s.rng, ET / 2));
        } else {
            sim_scenario_run_ms(&s, prng_below(&s.rng, 13));
        }
        if (unreliable) {
            if (leader != 0 && prng_below(&s.rng, 1000) < ET / 2) {
                sim_scenario_disconnect(&s, leader);
                up[leader] = false;
                nup--;
            }
        } else if (leader != 0) {
            lab_crash1(&s, leader);
            up[leader] = false;
            nup--;
        }
        if (nup < 3) {
            craft_id i = 1 + prng_below(&s.rng, s.n);
            if (!up[i]) {
                if (unreliable) {
                    sim_scenario_connect(&s, i);
                } else {
                    lab_start1(&s, i);
                }
                up[i] = true;
                nup++;
            }
        }
    }
    for (unsigned i = 1; i <= s.n; i++) {
        if (!up[i]) {
            if (unreliable) {
                sim_scenario_connect(&s, i);
            } else {
                lab_start1(&s, i);
            }
        }
    }
    one_new(&s, 5, true);
    return sim_scenario_finish(&s);
}

int lab_figure8(uint64_t seed)
{
    return figure8("figure8", seed, false);
}

int lab_figure8_unreliable(uint64_t seed)
{
    return figure8("figure8_unreliable", seed, true);
}

int lab_unreliable_agree(uint64_t seed)
{
    struct sim_scenario s;
    if (open_scenario(&s, "unreliable_agree", 5, seed, true) != 0) {
        return -1;
    }
    for (int iter = 1; iter < 50 && !sim_scenario_failed(&s); iter++) {
        /* The lab's four concurrent one() calls: four proposals at the leader, then one more. */
        craft_id leader = sim_scenario_leader(&s);
        for (int j = 0; j < 4 && leader != 0; j++) {
            char cmd[64];
            sim_scenario_cmd(&s, cmd);
            sim_scenario_start(&s, leader, cmd, strlen(cmd), NULL, NULL);
        }
        one_new(&s, 1, true);
    }
    sim_scenario_unreliable(&s, false);
    one_new(&s, 5, true);
    return sim_scenario_finish(&s);
}

/* Churn: random disconnections, crashes and restarts under client load; every command a client
 * saw committed must be in the final log, exactly once. */
#define CHURN_ACKS_MAX 8192

struct churn {
    craft_index index[CHURN_ACKS_MAX];
    uint64_t hash[CHURN_ACKS_MAX];
    size_t n;
};

static void churn_sleep(struct sim_scenario *s, struct churn *ch, uint64_t ms, bool *up)
{
    uint64_t end = s->c->now_us + ms * 1000;
    while (s->c->now_us < end && !sim_scenario_failed(s)) {
        for (int k = 0; k < 3; k++) {
            craft_id i = 1 + prng_below(&s->rng, s->n);
            char cmd[64];
            sim_scenario_cmd(s, cmd);
            craft_index idx;
            if (up[i] && ch->n < CHURN_ACKS_MAX &&
                sim_scenario_start(s, i, cmd, strlen(cmd), &idx, NULL) == 0) {
                ch->index[ch->n] = idx;
                ch->hash[ch->n] = sim_hash_bytes(cmd, strlen(cmd));
                ch->n++;
            }
        }
        sim_scenario_run_ms(s, 5 + prng_below(&s->rng, 20));
    }
}

static int churn(const char *name, uint64_t seed, bool unreliable)
{
    struct sim_scenario s;
    if (open_scenario(&s, name, 5, seed, unreliable) != 0) {
        return -1;
    }
    static struct churn ch;
    memset(&ch, 0, sizeof(ch));
    bool up[SIM_NODES_MAX + 1];
    for (unsigned i = 1; i <= s.n; i++) {
        up[i] = true;
    }
    for (int iter = 0; iter < 20 && !sim_scenario_failed(&s); iter++) {
        if (prng_below(&s.rng, 1000) < 200) {
            sim_scenario_disconnect(&s, 1 + prng_below(&s.rng, s.n));
        }
        if (prng_below(&s.rng, 1000) < 500) {
            craft_id i = 1 + prng_below(&s.rng, s.n);
            if (!up[i]) {
                sim_scenario_restart(&s, i);
                up[i] = true;
            }
            sim_scenario_connect(&s, i);
        }
        if (prng_below(&s.rng, 1000) < 200) {
            craft_id i = 1 + prng_below(&s.rng, s.n);
            if (up[i]) {
                lab_crash1(&s, i);
                up[i] = false;
            }
        }
        churn_sleep(&s, &ch, ET * 7 / 10, up);
    }
    sim_scenario_run_ms(&s, ET);
    sim_scenario_unreliable(&s, false);
    for (unsigned i = 1; i <= s.n; i++) {
        if (!up[i]) {
            sim_scenario_restart(&s, i);
            up[i] = true;
        }
        sim_scenario_connect(&s, i);
    }
    craft_index last = one_new(&s, 5, true);
    const struct sim_checks *ck = &s.c->checks;
    size_t acked = 0;
    for (size_t k = 0; k < ch.n && !sim_scenario_failed(&s); k++) {
        craft_index i = ch.index[k];
        if (i == 0 || i > ck->n_committed || ck->committed[i - 1].data_hash != ch.hash[k]) {
            continue; /* proposed but overwritten: never acknowledged to the client */
        }
        acked++;
        if (i > last) {
            sim_scenario_fail(&s, "committed index %" PRIu64 " beyond the final agreement %" PRIu64,
                              i, last);
        }
    }
    /* Unique commands: none may be committed twice. */
    for (size_t i = 0; i < ck->n_committed && !sim_scenario_failed(&s); i++) {
        for (size_t j = i + 1; j < ck->n_committed && j < i + 64; j++) {
            if (ck->committed[i].type == CRAFT_ENTRY_NORMAL &&
                ck->committed[i].data_hash == ck->committed[j].data_hash) {
                sim_scenario_fail(&s, "indexes %zu and %zu hold the same command", i + 1, j + 1);
            }
        }
    }
    if (!sim_scenario_failed(&s) && acked < 10) {
        sim_scenario_fail(&s, "only %zu client commands committed during the churn", acked);
    }
    if (!sim_scenario_failed(&s) && sim_scenario_wait(&s, last, 5, 5000) < 5) {
        sim_scenario_fail(&s, "not every node applied the final agreement");
    }
    printf("lab %s: %zu proposals accepted, %zu committed\n", name, ch.n, acked);
    return sim_scenario_finish(&s);
}

int lab_reliable_churn(uint64_t seed)
{
    return churn("reliable_churn", seed, false);
}

int lab_unreliable_churn(uint64_t seed)
{
    return churn("unreliable_churn", seed, true);
}
