/* Lab part B (log replication): basic_agree, rpc_byte_count, follower_failure, leader_failure,
 * fail_no_agree, concurrent_starts, rejoin, backup, count. */
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

/* Three commands, each committed on every node, at increasing indexes. */
int lab_basic_agree(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    if (sim_scenario_init(&s, "basic_agree", &o) != 0) {
        return -1;
    }
    craft_index prev = 0;
    for (int i = 0; i < 3 && !sim_scenario_failed(&s); i++) {
        uint64_t h;
        if (sim_scenario_n_committed(&s, prev + 1, &h) > 0 && prev > 0) {
            sim_scenario_fail(&s, "some node committed index %" PRIu64 " before Start()", prev + 1);
        }
        craft_index index = one_new(&s, 3, false);
        if (!sim_scenario_failed(&s) && index <= prev) {
            sim_scenario_fail(&s, "got index %" PRIu64 " after index %" PRIu64, index, prev);
        }
        prev = index;
    }
    return sim_scenario_finish(&s);
}

/* Each command's bytes go to each follower about once. */
int lab_rpc_byte_count(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    if (sim_scenario_init(&s, "rpc_byte_count", &o) != 0) {
        return -1;
    }
    one_new(&s, 3, false);
    uint64_t bytes0 = sim_scenario_bytes(&s);
    enum { N = 10, SIZE = 5000, SLACK = 50000 };
    uint64_t sent = 0;
    static char cmd[SIZE];
    for (int i = 0; i < N && !sim_scenario_failed(&s); i++) {
        for (int k = 0; k < SIZE; k++) {
            cmd[k] = (char)('a' + prng_below(&s.rng, 26));
        }
        sim_scenario_one(&s, cmd, SIZE, 3, false);
        sent += SIZE;
    }
    uint64_t got = sim_scenario_bytes(&s) - bytes0;
    uint64_t expected = (uint64_t)(s.n - 1) * sent;
    if (!sim_scenario_failed(&s) && got > expected + SLACK) {
        sim_scenario_fail(&s, "too many bytes: %" PRIu64 " for %" PRIu64 " bytes of commands, "
                              "expected at most %" PRIu64 " + %d",
                          got, sent, expected, SLACK);
    }
    printf("lab rpc_byte_count: %" PRIu64 " bytes sent for %d x %d bytes of commands (bound %" PRIu64
           ")\n",
           got, N, SIZE, expected + SLACK);
    return sim_scenario_finish(&s);
}

/* Agreement despite a disconnected follower; none without a majority. */
int lab_follower_failure(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    if (sim_scenario_init(&s, "follower_failure", &o) != 0) {
        return -1;
    }
    one_new(&s, 3, false);
    craft_id leader1 = sim_scenario_check_one_leader(&s);
    if (leader1 == 0) {
        return sim_scenario_finish(&s);
    }
    sim_scenario_disconnect(&s, lab_next(&s, leader1, 1));
    one_new(&s, 2, false);
    sim_scenario_run_ms(&s, ET);
    one_new(&s, 2, false);
    craft_id leader2 = sim_scenario_check_one_leader(&s);
    if (leader2 == 0) {
        return sim_scenario_finish(&s);
    }
    sim_scenario_disconnect(&s, lab_next(&s, leader2, 1));
    sim_scenario_disconnect(&s, lab_next(&s, leader2, 2));
    craft_index index = 0;
    if (sim_scenario_start(&s, leader2, "104", 3, &index, NULL) != 0) {
        sim_scenario_fail(&s, "leader rejected Start()");
        return sim_scenario_finish(&s);
    }
    sim_scenario_run_ms(&s, 2 * ET);
    uint64_t h;
    unsigned n = sim_scenario_n_committed(&s, index, &h);
    if (n > 0 && h == sim_hash_bytes("104", 3)) {
        sim_scenario_fail(&s, "index %" PRIu64 " committed on %u nodes without a majority", index, n);
    }
    return sim_scenario_finish(&s);
}

/* Agreement after the leader fails; none once a second leader fails. */
int lab_leader_failure(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    if (sim_scenario_init(&s, "leader_failure", &o) != 0) {
        return -1;
    }
    one_new(&s, 3, false);
    craft_id leader1 = sim_scenario_check_one_leader(&s);
    if (leader1 == 0) {
        return sim_scenario_finish(&s);
    }
    sim_scenario_disconnect(&s, leader1);
    one_new(&s, 2, false);
    sim_scenario_run_ms(&s, ET);
    one_new(&s, 2, false);
    craft_id leader2 = sim_scenario_check_one_leader(&s);
    if (leader2 == 0) {
        return sim_scenario_finish(&s);
    }
    sim_scenario_disconnect(&s, leader2);
    craft_index idx[SIM_NODES_MAX + 1] = {0};
    for (unsigned i = 1; i <= s.n; i++) {
        if (sim_scenario_start(&s, i, "104", 3, &idx[i], NULL) != 0) {
            idx[i] = 0;
        }
    }
    sim_scenario_run_ms(&s, 2 * ET);
    for (unsigned i = 1; i <= s.n && !sim_scenario_failed(&s); i++) {
        uint64_t h;
        if (idx[i] != 0 && sim_scenario_n_committed(&s, idx[i], &h) > 0 &&
            h == sim_hash_bytes("104", 3)) {
            sim_scenario_fail(&s, "index %" PRIu64 " committed with one node of three connected",
                              idx[i]);
        }
    }
    return sim_scenario_finish(&s);
}

/* No agreement while 3 of 5 followers are gone; agreement again once they are back. */
int lab_fail_no_agree(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 5, seed);
    if (sim_scenario_init(&s, "fail_no_agree", &o) != 0) {
        return -1;
    }
    one_new(&s, 5, false);
    craft_id leader = sim_scenario_check_one_leader(&s);
    if (leader == 0) {
        return sim_scenario_finish(&s);
    }
    for (unsigned k = 1; k <= 3; k++) {
        sim_scenario_disconnect(&s, lab_next(&s, leader, k));
    }
    craft_index index = 0;
    if (sim_scenario_start(&s, leader, "20", 2, &index, NULL) != 0) {
        sim_scenario_fail(&s, "leader rejected Start()");
        return sim_scenario_finish(&s);
    }
    sim_scenario_run_ms(&s, 2 * ET);
    uint64_t h;
    unsigned n = sim_scenario_n_committed(&s, index, &h);
    if (n > 0 && h == sim_hash_bytes("20", 2)) {
        sim_scenario_fail(&s, "%u nodes committed index %" PRIu64 " without a majority", n, index);
    }
    for (unsigned k = 1; k <= 3; k++) {
        sim_scenario_connect(&s, lab_next(&s, leader, k));
    }
    craft_id leader2 = sim_scenario_check_one_leader(&s);
    if (leader2 != 0 && sim_scenario_start(&s, leader2, "30", 2, NULL, NULL) != 0) {
        sim_scenario_fail(&s, "leader2 rejected Start()");
    }
    one_new(&s, 5, true);
    return sim_scenario_finish(&s);
}

/* Five proposals at once in one term all commit, in that term. */
int lab_concurrent_starts(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    if (sim_scenario_init(&s, "concurrent_starts", &o) != 0) {
        return -1;
    }
    bool success = false;
    for (int attempt = 0; attempt < 5 && !success && !sim_scenario_failed(&s); attempt++) {
        if (attempt > 0) {
            sim_scenario_run_ms(&s, 3000);
        }
        craft_id leader = sim_scenario_check_one_leader(&s);
        craft_term term;
        craft_index first;
        if (leader == 0 || sim_scenario_start(&s, leader, "1", 1, &first, &term) != 0) {
            continue;
        }
        char cmds[5][64];
        craft_index idx[5];
        bool same_term = true;
        for (int i = 0; i < 5; i++) {
            craft_term t;
            sim_scenario_cmd(&s, cmds[i]);
            if (sim_scenario_start(&s, leader, cmds[i], strlen(cmds[i]), &idx[i], &t) != 0 ||
                t != term) {
                same_term = false;
            }
        }
        if (!same_term) {
            continue;
        }
        success = true;
        for (int i = 0; i < 5 && !sim_scenario_failed(&s); i++) {
            if (sim_scenario_wait(&s, idx[i], 3, 5000) < 3) {
                success = false;
                break;
            }
            uint64_t h;
            sim_scenario_n_committed(&s, idx[i], &h);
            if (h != sim_hash_bytes(cmds[i], strlen(cmds[i]))) {
                sim_scenario_fail(&s, "index %" PRIu64 " holds another command", idx[i]);
            }
        }
        if (success && sim_scenario_term(&s, leader) != term) {
            success = false; /* the term moved on: try again, as the lab does */
        }
    }
    if (!success && !sim_scenario_failed(&s)) {
        sim_scenario_fail(&s, "term changed too often");
    }
    return sim_scenario_finish(&s);
}

/* A partitioned leader with uncommitted entries rejoins; its entries are overwritten. */
int lab_rejoin(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    if (sim_scenario_init(&s, "rejoin", &o) != 0) {
        return -1;
    }
    one_new(&s, 3, true);
    craft_id leader1 = sim_scenario_check_one_leader(&s);
    if (leader1 == 0) {
        return sim_scenario_finish(&s);
    }
    sim_scenario_disconnect(&s, leader1);
    sim_scenario_start(&s, leader1, "102", 3, NULL, NULL);
    sim_scenario_start(&s, leader1, "103", 3, NULL, NULL);
    sim_scenario_start(&s, leader1, "104", 3, NULL, NULL);
    one_new(&s, 2, true);
    craft_id leader2 = sim_scenario_check_one_leader(&s);
    if (leader2 == 0) {
        return sim_scenario_finish(&s);
    }
    sim_scenario_disconnect(&s, leader2);
    sim_scenario_connect(&s, leader1);
    one_new(&s, 2, true);
    sim_scenario_connect(&s, leader2);
    one_new(&s, 3, true);
    return sim_scenario_finish(&s);
}

static void start_many(struct sim_scenario *s, craft_id id, int n)
{
    char cmd[64];
    for (int i = 0; i < n; i++) {
        sim_scenario_cmd(s, cmd);
        sim_scenario_start(s, id, cmd, strlen(cmd), NULL, NULL);
    }
}

/* The leader backs up quickly over long divergent follower logs (fast backtracking). */
int lab_backup(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 5, seed);
    if (sim_scenario_init(&s, "backup", &o) != 0) {
        return -1;
    }
    one_new(&s, 5, true);
    craft_id leader1 = sim_scenario_check_one_leader(&s);
    if (leader1 == 0) {
        return sim_scenario_finish(&s);
    }
    /* The leader and one follower in a minority; lots of entries that will not commit. */
    for (unsigned k = 2; k <= 4; k++) {
        sim_scenario_disconnect(&s, lab_next(&s, leader1, k));
    }
    start_many(&s, leader1, 50);
    sim_scenario_run_ms(&s, ET / 2);
    sim_scenario_disconnect(&s, leader1);
    sim_scenario_disconnect(&s, lab_next(&s, leader1, 1));
    for (unsigned k = 2; k <= 4; k++) {
        sim_scenario_connect(&s, lab_next(&s, leader1, k));
    }
    /* The other three commit many entries. */
    for (int i = 0; i < 50 && !sim_scenario_failed(&s); i++) {
        one_new(&s, 3, true);
    }
    craft_id leader2 = sim_scenario_check_one_leader(&s);
    if (leader2 == 0) {
        return sim_scenario_finish(&s);
    }
    craft_id other = lab_next(&s, leader1, 2);
    if (other == leader2) {
        other = lab_next(&s, leader2, 1);
    }
    sim_scenario_disconnect(&s, other);
    /* More entries that will not commit. */
    start_many(&s, leader2, 50);
    sim_scenario_run_ms(&s, ET / 2);
    for (unsigned i = 1; i <= s.n; i++) {
        sim_scenario_disconnect(&s, i);
    }
    sim_scenario_connect(&s, leader1);
    sim_scenario_connect(&s, lab_next(&s, leader1, 1));
    sim_scenario_connect(&s, other);
    uint64_t t0 = s.c->now_us;
    for (int i = 0; i < 50 && !sim_scenario_failed(&s); i++) {
        one_new(&s, 3, true);
    }
    for (unsigned i = 1; i <= s.n; i++) {
        sim_scenario_connect(&s, i);
    }
    one_new(&s, 5, true);
    uint64_t took_ms = (s.c->now_us - t0) / 1000;
    printf("lab backup: the last 51 agreements took %" PRIu64 " ms of simulated time\n", took_ms);
    if (!sim_scenario_failed(&s) && took_ms > 20000) {
        sim_scenario_fail(&s, "backing up took %" PRIu64 " ms (bound 20000)", took_ms);
    }
    return sim_scenario_finish(&s);
}

/* A bounded number of RPCs for an election, for agreement and for an idle second. */
int lab_count(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    if (sim_scenario_init(&s, "count", &o) != 0) {
        return -1;
    }
    craft_id leader = sim_scenario_check_one_leader(&s);
    uint64_t total1 = sim_scenario_rpcs(&s);
    if (!sim_scenario_failed(&s) && (total1 > 30 || total1 < 1)) {
        sim_scenario_fail(&s, "too many or few RPCs (%" PRIu64 ") to elect the initial leader",
                          total1);
    }
    uint64_t total2 = 0;
    bool success = false;
    enum { ITERS = 10 };
    for (int attempt = 0; attempt < 5 && !success && !sim_scenario_failed(&s); attempt++) {
        if (attempt > 0) {
            sim_scenario_run_ms(&s, 3000);
        }
        leader = sim_scenario_check_one_leader(&s);
        total1 = sim_scenario_rpcs(&s);
        craft_index start;
        craft_term term;
        if (leader == 0 || sim_scenario_start(&s, leader, "1", 1, &start, &term) != 0) {
            continue;
        }
        char cmds[ITERS][64];
        craft_index idx[ITERS];
        bool ok = true;
        for (int i = 0; i < ITERS && ok; i++) {
            craft_term t;
            sim_scenario_cmd(&s, cmds[i]);
            ok = sim_scenario_start(&s, leader, cmds[i], strlen(cmds[i]), &idx[i], &t) == 0 &&
                 t == term;
        }
        for (int i = 0; i < ITERS && ok; i++) {
            ok = sim_scenario_wait(&s, idx[i], 3, 5000) == 3;
        }
        if (!ok || sim_scenario_term(&s, leader) != term) {
            continue;
        }
        total2 = sim_scenario_rpcs(&s);
        if (total2 - total1 > (ITERS + 1 + 3) * 3) {
            sim_scenario_fail(&s, "too many RPCs (%" PRIu64 ") for %d entries", total2 - total1,
                              ITERS);
        }
        success = true;
    }
    if (!success && !sim_scenario_failed(&s)) {
        sim_scenario_fail(&s, "term changed too often");
    }
    sim_scenario_run_ms(&s, ET);
    uint64_t total3 = sim_scenario_rpcs(&s);
    if (!sim_scenario_failed(&s) && total3 - total2 > 3 * 20) {
        sim_scenario_fail(&s, "too many RPCs (%" PRIu64 ") for 1 second of idleness",
                          total3 - total2);
    }
    printf("lab count: idle second cost %" PRIu64 " RPCs (bound 60)\n", total3 - total2);
    return sim_scenario_finish(&s);
}
