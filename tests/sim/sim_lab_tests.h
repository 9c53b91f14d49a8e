/* The lab scenario functions, one per named test (see sim_lab.c for the registry). */
#ifndef SIM_LAB_TESTS_H
#define SIM_LAB_TESTS_H

#include <stdint.h>

#include "sim_scenario.h"

/* A node id shifted by k around the ring 1..n (the lab's (leader + k) % servers). */
static inline craft_id lab_next(const struct sim_scenario *s, craft_id id, unsigned k)
{
    return (craft_id)((id - 1 + k) % s->n + 1);
}

/* The lab's crash1 and start1: a crash is a crash plus a disconnection, a start a restart plus
 * a connection. */
static inline void lab_crash1(struct sim_scenario *s, craft_id id)
{
    sim_scenario_disconnect(s, id);
    sim_scenario_crash(s, id);
}

static inline void lab_start1(struct sim_scenario *s, craft_id id)
{
    sim_scenario_restart(s, id);
    sim_scenario_connect(s, id);
}

int lab_initial_election(uint64_t seed);
int lab_re_election(uint64_t seed);
int lab_many_elections(uint64_t seed);
int lab_basic_agree(uint64_t seed);
int lab_rpc_byte_count(uint64_t seed);
int lab_follower_failure(uint64_t seed);
int lab_leader_failure(uint64_t seed);
int lab_fail_no_agree(uint64_t seed);
int lab_concurrent_starts(uint64_t seed);
int lab_rejoin(uint64_t seed);
int lab_backup(uint64_t seed);
int lab_count(uint64_t seed);
int lab_payload_overwritten_while_writing(uint64_t seed);
int lab_persist1(uint64_t seed);
int lab_persist2(uint64_t seed);
int lab_persist3(uint64_t seed);
int lab_figure8(uint64_t seed);
int lab_unreliable_agree(uint64_t seed);
int lab_figure8_unreliable(uint64_t seed);
int lab_reliable_churn(uint64_t seed);
int lab_unreliable_churn(uint64_t seed);
int lab_prevote_rejoin(uint64_t seed);
int lab_partial_leader_only(uint64_t seed);
int lab_partial_ring(uint64_t seed);
int lab_partial_bridge(uint64_t seed);
int lab_member_partitioned(uint64_t seed);
int lab_member_replace_all(uint64_t seed);
int lab_member_remove_leader(uint64_t seed);
int lab_member_isolated_leader(uint64_t seed);
int lab_member_single_server_bug(uint64_t seed);
int lab_lease_after_pause(uint64_t seed);
int lab_lease_after_transfer(uint64_t seed);
int lab_snapshot_basic(uint64_t seed);
int lab_snapshot_install(uint64_t seed);
int lab_snapshot_install_unreliable(uint64_t seed);
int lab_snapshot_install_crash(uint64_t seed);
int lab_snapshot_install_uncrash(uint64_t seed);
int lab_snapshot_all_crash(uint64_t seed);
int lab_snapshot_init(uint64_t seed);

#endif
