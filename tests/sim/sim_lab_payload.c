/* Zero-copy payloads under attack: the log writer and the state machine read entries in the
 * core's memory, so that memory must stay unchanged, even after the log drops the entries, until
 * the write or the apply that reads it is done (craft_core_payload_ticket). The cores here pack
 * payloads in tiny blocks, so a dropped entry's block is reused (and poisoned) at once. */
#include <string.h>

#include "sim_lab_tests.h"

#define SLOW_DISK_US 3000000u

static void start_many(struct sim_scenario *s, craft_id id, int n)
{
    char cmd[64];
    for (int i = 0; i < n; i++) {
        sim_scenario_cmd(s, cmd);
        sim_scenario_start(s, id, cmd, strlen(cmd), NULL, NULL);
    }
}

static void one_new(struct sim_scenario *s, unsigned expected)
{
    char cmd[64];
    sim_scenario_one_str(s, sim_scenario_cmd(s, cmd), expected, true);
}

/* A follower with a slow disk gets entries from a leader that is then cut off; the other nodes
 * elect a leader that overwrites those entries while the follower's write of them still runs.
 * The write must find the bytes it was given (check payload_reused). */
int lab_payload_overwritten_while_writing(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 5, seed);
    o.log_slab_bytes = 16;
    if (sim_scenario_init(&s, "payload_overwritten_while_writing", &o) != 0) {
        return -1;
    }
    one_new(&s, 5);
    craft_id leader1 = sim_scenario_check_one_leader(&s);
    if (leader1 == 0) {
        return sim_scenario_finish(&s);
    }
    craft_id slow = lab_next(&s, leader1, 1);
    for (unsigned k = 2; k <= 4; k++) {
        sim_scenario_disconnect(&s, lab_next(&s, leader1, k));
    }
    sim_scenario_slow_disk(&s, slow, SLOW_DISK_US);
    start_many(&s, leader1, 20);
    sim_scenario_run_ms(&s, 50); /* the entries reach the slow follower; its write runs */
    sim_scenario_disconnect(&s, leader1);
    for (unsigned k = 2; k <= 4; k++) {
        sim_scenario_connect(&s, lab_next(&s, leader1, k));
    }
    for (int i = 0; i < 5 && !sim_scenario_failed(&s); i++) {
        one_new(&s, 3);
    }
    sim_scenario_slow_disk(&s, slow, 0);
    sim_scenario_connect(&s, leader1);
    one_new(&s, 5);
    return sim_scenario_finish(&s);
}
