/* Read scenarios. lease_after_pause: a leader that stops for longer than its lease (a GC pause, a
 * stopped process) while a new leader takes over and commits must not serve a lease read from the
 * clock it had when it stopped: the read waits in its socket and is handed in when it resumes,
 * before its next tick. The read checker (sim_reads.c) fails the run on a stale read. */
#include <inttypes.h>

#include "sim_lab_tests.h"

#define PAUSE_MS 1500

int lab_lease_after_pause(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    o.read_lease = true;
    if (sim_scenario_init(&s, "lease_after_pause", &o) != 0) {
        return 1;
    }
    char cmd[64];
    sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 3, true);
    craft_id old = sim_scenario_check_one_leader(&s);
    sim_scenario_run_ms(&s, 100); /* a heartbeat round answered: its lease holds */
    uint64_t ok_before = s.c->reads.n_ok;
    if (!sim_scenario_failed(&s) && sim_reads_issue(s.c, old, CRAFT_READ_LEASE) == 0) {
        sim_scenario_fail(&s, "n%" PRIu64 " took no lease read", old);
    }
    sim_scenario_run_ms(&s, 10);
    if (!sim_scenario_failed(&s) && s.c->reads.n_ok != ok_before + 1) {
        sim_scenario_fail(&s, "a lease read on a healthy leader was not served at once");
    }
    /* The leader stops, cut off; the others elect a new one and commit. */
    sim_scenario_disconnect(&s, old);
    if (!sim_pause_node(s.c, old, (uint64_t)PAUSE_MS * 1000)) {
        sim_scenario_fail(&s, "n%" PRIu64 " could not be paused", old);
    }
    sim_scenario_run_ms(&s, 700);
    sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 2, true);
    /* A lease read reaches the stopped leader; it is served, or refused, when it resumes. */
    ok_before = s.c->reads.n_ok;
    if (!sim_scenario_failed(&s) && sim_reads_issue(s.c, old, CRAFT_READ_LEASE) == 0) {
        sim_scenario_fail(&s, "n%" PRIu64 " is down", old);
    }
    sim_scenario_run_ms(&s, PAUSE_MS);
    if (!sim_scenario_failed(&s) && s.c->reads.n_ok != ok_before) {
        sim_scenario_fail(&s, "the resumed, deposed leader served a read");
    }
    return sim_scenario_finish(&s);
}
