/* The registry of named lab scenarios and their runner (craft-sim --lab NAME). */
#include "sim_lab.h"

#include <string.h>

#include "sim_lab_tests.h"

static const struct sim_lab_test tests[] = {
    {"initial_election", lab_initial_election},
    {"re_election", lab_re_election},
    {"many_elections", lab_many_elections},
    {"basic_agree", lab_basic_agree},
    {"rpc_byte_count", lab_rpc_byte_count},
    {"follower_failure", lab_follower_failure},
    {"leader_failure", lab_leader_failure},
    {"fail_no_agree", lab_fail_no_agree},
    {"concurrent_starts", lab_concurrent_starts},
    {"rejoin", lab_rejoin},
    {"backup", lab_backup},
    {"count", lab_count},
    {"payload_overwritten_while_writing", lab_payload_overwritten_while_writing},
    {"persist1", lab_persist1},
    {"persist2", lab_persist2},
    {"persist3", lab_persist3},
    {"figure8", lab_figure8},
    {"unreliable_agree", lab_unreliable_agree},
    {"figure8_unreliable", lab_figure8_unreliable},
    {"reliable_churn", lab_reliable_churn},
    {"unreliable_churn", lab_unreliable_churn},
    {"prevote_rejoin", lab_prevote_rejoin},
    {"partial_leader_only", lab_partial_leader_only},
    {"partial_ring", lab_partial_ring},
    {"partial_bridge", lab_partial_bridge},
    {"member_partitioned", lab_member_partitioned},
    {"member_replace_all", lab_member_replace_all},
    {"member_remove_leader", lab_member_remove_leader},
    {"member_isolated_leader", lab_member_isolated_leader},
    {"member_single_server_bug", lab_member_single_server_bug},
    {"lease_after_pause", lab_lease_after_pause},
    {"lease_after_transfer", lab_lease_after_transfer},
    {"snapshot_basic", lab_snapshot_basic},
    {"snapshot_install", lab_snapshot_install},
    {"snapshot_install_unreliable", lab_snapshot_install_unreliable},
    {"snapshot_install_crash", lab_snapshot_install_crash},
    {"snapshot_install_uncrash", lab_snapshot_install_uncrash},
    {"snapshot_all_crash", lab_snapshot_all_crash},
    {"snapshot_init", lab_snapshot_init},
};

#define N_TESTS (sizeof(tests) / sizeof(tests[0]))

const struct sim_lab_test *sim_lab_find(const char *name)
{
    for (size_t i = 0; i < N_TESTS; i++) {
        if (strcmp(tests[i].name, name) == 0) {
            return &tests[i];
        }
    }
    return NULL;
}

void sim_lab_list(FILE *out)
{
    for (size_t i = 0; i < N_TESTS; i++) {
        fprintf(out, "%s\n", tests[i].name);
    }
}

int sim_lab_run(const char *name, uint64_t seed)
{
    if (strcmp(name, "all") == 0) {
        int failed = 0;
        for (size_t i = 0; i < N_TESTS; i++) {
            failed += tests[i].run(seed) != 0;
        }
        printf("lab: %zu tests, %d failed\n", N_TESTS, failed);
        return failed == 0 ? 0 : -1;
    }
    const struct sim_lab_test *t = sim_lab_find(name);
    if (t == NULL) {
        fprintf(stderr, "craft-sim: no lab test named '%s' (--lab list names them)\n", name);
        return -1;
    }
    return t->run(seed);
}
