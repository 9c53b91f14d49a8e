/* Read scenarios. lease_after_transfer: a leader that sent TimeoutNow has no lease left (voters in
 * its lease answer the campaign it starts), so cut off from the new leader it must not serve a
 * lease read once the new leader has committed. lease_after_pause: a leader that stops for longer than its lease (a GC pause, a
 * stopped process) while a new leader takes over and commits must not serve a lease read from the
 * clock it had when it stopped: the read waits in its socket and is handed in when it resumes,
 * before its next tick. The read checker (sim_reads.c) fails the run on a stale read. */
#include <inttypes.h>
#include <string.h>

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

int lab_lease_after_transfer(uint64_t seed)
{
    struct sim_scenario s;
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, 3, seed);
    o.read_lease = true;
    if (sim_scenario_init(&s, "lease_after_transfer", &o) != 0) {
        return 1;
    }
    char cmd[64];
    sim_scenario_one_str(&s, sim_scenario_cmd(&s, cmd), 3, true);
    craft_id old = sim_scenario_check_one_leader(&s);
    sim_scenario_run_ms(&s, 60); /* a heartbeat round answered: its lease holds */
    if (sim_scenario_failed(&s)) {
        return sim_scenario_finish(&s);
    }
    craft_id target = lab_next(&s, old, 1);
    /* The old leader hears nobody from now on, but its TimeoutNow still reaches the target. */
    for (craft_id i = 1; i <= s.n; i++) {
        if (i != old) {
            sim_network_set_link(&s.c->net, i, old, false);
            sim_network_set_link(&s.c->net, old, i, i == target);
        }
    }
    struct craft_input in = {.type = CRAFT_IN_TRANSFER};
    in.transfer.target = target;
    if (sim_cluster_feed(s.c, &s.c->nodes[old], &in, NULL) != 0) {
        sim_scenario_fail(&s, "n%" PRIu64 " refused the transfer", old);
        return sim_scenario_finish(&s);
    }
    sim_scenario_run_ms(&s, 30);
    if (!sim_scenario_is_leader(&s, target) || !sim_scenario_is_leader(&s, old)) {
        sim_scenario_fail(&s, "the transfer did not leave n%" PRIu64 " leading and n%" PRIu64
                              " cut off, still thinking it leads", target, old);
        return sim_scenario_finish(&s);
    }
    struct sim_feed_result res;
    const char *w = sim_scenario_cmd(&s, cmd);
    if (sim_cluster_propose(s.c, target, w, strlen(w), &res) != 0 ||
        sim_scenario_wait(&s, res.proposed_index, 2, 40) < 2) {
        sim_scenario_fail(&s, "the new leader did not commit within 40 ms");
        return sim_scenario_finish(&s);
    }
    /* Well within the old leader's lease by its clock: it must not serve on it. */
    uint64_t ok_before = s.c->reads.n_ok;
    if (!sim_scenario_failed(&s) && sim_reads_issue(s.c, old, CRAFT_READ_LEASE) == 0) {
        sim_scenario_fail(&s, "n%" PRIu64 " took no lease read", old);
    }
    sim_scenario_run_ms(&s, 10);
    if (!sim_scenario_failed(&s) && s.c->reads.n_ok != ok_before) {
        sim_scenario_fail(&s, "the leader that handed over served a lease read");
    }
    return sim_scenario_finish(&s);
}
