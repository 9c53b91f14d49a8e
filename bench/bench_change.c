/* The latency of a membership change in an in-process cluster (bench_cluster.c): five cores,
 * three voters, a few thousand committed entries; then (1) add a fourth voter, which first catches
 * up as a learner, and (2) a joint change replacing two voters, through C_old,new to C_new. Each is
 * timed from the CRAFT_IN_CHANGE to the leader's commit of the final configuration, in CPU time and
 * in message rounds (every queued message delivered once per round: one network hop). No timer is
 * involved: a change needs no tick, only round trips. */
#include "bench_change.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"
#include "bench_cluster.h"
#include "bench_report.h"

#define NODES 5
#define VOTERS 3
#define LEADER 1
#define BACKLOG_ENTRIES 4096u
#define BACKLOG_QUICK 64u
#define REPEATS 21u
#define REPEATS_QUICK 1u
#define ROUNDS_MAX 1000u

struct change_sample {
    uint64_t ns;
    unsigned rounds;
};

static int settle(struct bench_cluster *bc)
{
    int rv;
    while ((rv = bench_cluster_deliver_round(bc)) > 0) {
    }
    return rv;
}

static int prepare(struct bench_cluster *bc, unsigned backlog)
{
    struct craft_core_config cfg;
    craft_core_config_init(&cfg);
    cfg.seed = 7;
    int rv = bench_cluster_init_voters(bc, NODES, VOTERS, &cfg);
    if (rv != 0) {
        return rv;
    }
    struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
    rv = bench_cluster_step(bc, LEADER, &in);
    if (rv == 0) {
        rv = settle(bc);
    }
    unsigned char cmd[64];
    memset(cmd, 0x5a, sizeof cmd);
    struct craft_buf buf = {cmd, sizeof cmd};
    for (unsigned i = 0; rv == 0 && i < backlog; i++) {
        in = (struct craft_input){.type = CRAFT_IN_PROPOSE, .propose = {.cmds = &buf, .n = 1}};
        rv = bench_cluster_step(bc, LEADER, &in);
        if (rv == 0 && i % 64 == 63) {
            rv = settle(bc);
        }
    }
    return rv == 0 ? settle(bc) : rv;
}

/* True when the leader's configuration in force is target and committed. */
static bool done(struct bench_cluster *bc, const struct craft_membership *target)
{
    struct craft_core *c = bc->nodes[LEADER - 1].core;
    struct craft_membership m;
    craft_index at = craft_core_membership(c, &m);
    struct craft_core_status st;
    craft_core_status(c, &st);
    bool same = m.n_voters == target->n_voters && m.n_voters_old == 0;
    for (unsigned i = 0; same && i < m.n_voters; i++) {
        bool found = false;
        for (unsigned k = 0; k < target->n_voters; k++) {
            found |= target->voters[k] == m.voters[i];
        }
        same = found;
    }
    return same && at <= st.commit;
}

static int measure(struct bench_cluster *bc, const struct craft_membership *target,
                   struct change_sample *s)
{
    uint64_t t0 = bench_now_ns();
    struct craft_input in = {.type = CRAFT_IN_CHANGE, .change = {.target = target}};
    int rv = bench_cluster_step(bc, LEADER, &in);
    s->rounds = 0;
    while (rv == 0 && !done(bc, target) && s->rounds < ROUNDS_MAX) {
        rv = bench_cluster_deliver_round(bc);
        rv = rv > 0 ? 0 : rv;
        s->rounds++;
    }
    s->ns = bench_now_ns() - t0;
    return rv == 0 && s->rounds < ROUNDS_MAX ? rv : (rv != 0 ? rv : CRAFT_EBUSY);
}

static int compare_ns(const void *a, const void *b)
{
    const struct change_sample *x = a;
    const struct change_sample *y = b;
    return x->ns < y->ns ? -1 : x->ns > y->ns;
}

int bench_change_run(bool quick)
{
    unsigned repeats = quick ? REPEATS_QUICK : REPEATS;
    struct change_sample add[REPEATS];
    struct change_sample joint[REPEATS];
    const struct craft_membership four = {.voters = {1, 2, 3, 4}, .n_voters = 4};
    const struct craft_membership swapped = {.voters = {1, 2, 5}, .n_voters = 3};
    for (unsigned r = 0; r < repeats; r++) {
        struct bench_cluster bc;
        int rv = prepare(&bc, quick ? BACKLOG_QUICK : BACKLOG_ENTRIES);
        if (rv == 0) {
            rv = measure(&bc, &four, &add[r]);
        }
        if (rv == 0) {
            rv = measure(&bc, &swapped, &joint[r]);
        }
        bench_cluster_close(&bc);
        if (rv != 0) {
            fprintf(stderr, "craft-bench: change: %s\n", craft_strerror(rv));
            return 1;
        }
    }
    qsort(add, repeats, sizeof add[0], compare_ns);
    qsort(joint, repeats, sizeof joint[0], compare_ns);
    const struct change_sample *a = &add[repeats / 2];
    const struct change_sample *j = &joint[repeats / 2];
    /* Medians. The targets are aspirations (a few round trips, well under a millisecond of CPU). */
    bench_report("core.change_add_voter_rounds", a->rounds, "rounds", 8);
    bench_report("core.change_add_voter_us", (double)a->ns / 1e3, "us", 1000);
    bench_report("core.change_joint_rounds", j->rounds, "rounds", 8);
    bench_report("core.change_joint_us", (double)j->ns / 1e3, "us", 1000);
    return 0;
}
