/* The core figures: a three-node cluster in one thread (bench_cluster.c), a leader elected
 * first, then proposals of 64-byte commands counted once the leader has committed and applied
 * them. Each core compacts what it applied (bench_cluster.c), so memory stays bounded and a
 * round is long enough to measure the steady state, not the log's first growth; the round
 * count bounds time. */
#include "bench_core.h"

#include "bench_change.h"
#include "bench_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"
#include "bench_cluster.h"
#include "bench_core_libraft.h"
#include "bench_report.h"

#define ENTRY_BYTES 64
#define NODES 3
#define LEADER 1
/* Per round, at most this many entries (memory is bounded by compaction, not by this). */
#define ROUND_ENTRIES_MAX 20000000u
#define ROUND_ENTRIES_QUICK 2048u
#define FIGURE_NS_MIN 1000000000ull /* stop starting rounds after ~1 s of measured time */
#define ROUNDS_MAX 50u
#define PEER_NS 1000000000ull   /* canonical raft's side of a figure: ~1 s measured ... */
#define PEER_NS_QUICK 20000000ull /* ... or 20 ms with --quick */

struct figure {
    const char *name;
    const char *unit;
    double target;
    unsigned batch; /* commands per CRAFT_IN_PROPOSE */
    unsigned depth; /* proposals in flight */
    unsigned round_entries;
};

struct round_result {
    uint64_t entries;
    uint64_t ns;
};

/* The payload of command k: a fixed pattern (written once, fill_pattern) stamped with k, so the
 * checksum is checkable. Stamping is the client's work, not a node's: one store per command. */
static void fill_pattern(unsigned char *dst)
{
    memset(dst, 0x5a, ENTRY_BYTES);
}

static void fill_command(unsigned char *dst, uint64_t k)
{
    memcpy(dst, &k, sizeof k);
}

static int elect(struct bench_cluster *bc)
{
    struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
    int rv = bench_cluster_step(bc, LEADER, &in);
    while (rv == 0) {
        rv = bench_cluster_deliver_round(bc);
        if (rv == 0) {
            break;
        }
        rv = rv > 0 ? 0 : rv;
    }
    if (rv != 0) {
        return rv;
    }
    return craft_core_leader(bc->nodes[LEADER - 1].core) == LEADER ? 0 : CRAFT_ENOTLEADER;
}

static int propose(struct bench_cluster *bc, struct craft_buf *cmds, unsigned char *data,
                   unsigned batch, uint64_t k_first)
{
    for (unsigned i = 0; i < batch; i++) {
        fill_command(data + (size_t)i * ENTRY_BYTES, k_first + i);
    }
    struct craft_input in = {.type = CRAFT_IN_PROPOSE, .propose = {.cmds = cmds, .n = batch}};
    return bench_cluster_step(bc, LEADER, &in);
}

/* Proposes until the leader has applied f->round_entries commands (or about FIGURE_NS_MIN has
 * passed), keeping f->depth proposals in flight; then checks the leader applied exactly what was
 * proposed. */
static int run_round(const struct figure *f, struct craft_buf *cmds, unsigned char *data,
                     struct round_result *res)
{
    struct craft_core_config cfg;
    craft_core_config_init(&cfg);
    struct bench_cluster bc;
    int rv = bench_cluster_init(&bc, NODES, &cfg);
    if (rv != 0) {
        return rv;
    }
    rv = elect(&bc);
    if (rv != 0) {
        goto out;
    }
    const struct bench_node *leader = &bc.nodes[LEADER - 1];
    uint64_t proposed = 0;
    uint64_t goal = f->round_entries; /* shrinks to what was proposed once time is up */
    uint64_t start = bench_now_ns();
    for (uint64_t turn = 0; leader->n_applied_normal < goal; turn++) {
        /* The clock is read every 256 turns: one writer's turn is well under a microsecond. */
        if (turn % 256 == 0 && goal > proposed && bench_now_ns() - start > FIGURE_NS_MIN) {
            goal = proposed; /* stop proposing; let what is in flight commit */
            if (leader->n_applied_normal >= goal) {
                break;
            }
        }
        while (proposed < goal &&
               proposed - leader->n_applied_normal < (uint64_t)f->batch * f->depth) {
            rv = propose(&bc, cmds, data, f->batch, proposed);
            if (rv == CRAFT_EBUSY) {
                break;
            }
            if (rv != 0) {
                goto out;
            }
            proposed += f->batch;
        }
        rv = bench_cluster_deliver_round(&bc);
        if (rv <= 0) {
            rv = rv == 0 ? CRAFT_EBUSY : rv; /* nothing moves but not all committed: stuck */
            goto out;
        }
        rv = 0;
    }
    res->ns = bench_now_ns() - start;
    res->entries = leader->n_applied_normal;

    uint64_t expect = BENCH_CHECKSUM_SEED;
    unsigned char buf[ENTRY_BYTES];
    fill_pattern(buf);
    for (uint64_t k = 0; k < proposed; k++) {
        fill_command(buf, k);
        expect = bench_checksum_add(expect, buf, sizeof buf);
    }
    if (leader->checksum != expect) {
        rv = CRAFT_ECORRUPT;
    }
out:
    bench_cluster_close(&bc);
    return rv;
}

/* The figure; *rate is it (entries or commits per second). */
static int run_figure(const struct figure *f, bool quick, double *rate)
{
    struct craft_buf *cmds = calloc(f->batch, sizeof *cmds);
    unsigned char *data = calloc(f->batch, ENTRY_BYTES);
    int rv = CRAFT_ENOMEM;
    if (cmds == NULL || data == NULL) {
        goto out;
    }
    for (unsigned i = 0; i < f->batch; i++) {
        cmds[i] = (struct craft_buf){.base = data + (size_t)i * ENTRY_BYTES, .len = ENTRY_BYTES};
        fill_pattern(data + (size_t)i * ENTRY_BYTES);
    }
    uint64_t entries = 0;
    uint64_t ns = 0;
    for (unsigned r = 0; r < ROUNDS_MAX && (r == 0 || (!quick && ns < FIGURE_NS_MIN)); r++) {
        struct round_result res;
        rv = run_round(f, cmds, data, &res);
        if (rv != 0) {
            goto out;
        }
        entries += res.entries;
        ns += res.ns;
    }
    *rate = ns > 0 ? (double)entries * 1e9 / (double)ns : 0.0;
    bench_report(f->name, *rate, f->unit, f->target);
out:
    if (rv != 0) {
        fprintf(stderr, "craft-bench: %s: %s\n", f->name, craft_strerror(rv));
    }
    free(data);
    free(cmds);
    return rv;
}

static unsigned round_entries(unsigned batch, bool quick)
{
    unsigned want = quick ? ROUND_ENTRIES_QUICK : ROUND_ENTRIES_MAX;
    return (want + batch - 1) / batch * batch;
}

/* The same shape on canonical raft (bench_core_libraft.h), printed beside craft's as
 * <name>.libraft and <name>.vs_libraft (craft over libraft). Nothing when libraft is not built. */
static int peer_figure(const struct figure *f, bool quick, double craft_rate)
{
    if (!bench_core_libraft_built()) {
        return 0;
    }
    double rate = 0.0;
    if (bench_core_libraft_measure(f->batch, f->depth, quick ? PEER_NS_QUICK : PEER_NS, &rate) !=
        0) {
        fprintf(stderr, "craft-bench: %s: the libraft peer failed\n", f->name);
        return 1;
    }
    printf("%s.libraft %.0f %s\n", f->name, rate, f->unit);
    printf("%s.vs_libraft %.2f\n", f->name, rate > 0 ? craft_rate / rate : 0.0);
    fflush(stdout);
    return 0;
}

int bench_core_run(bool quick)
{
    const struct figure figures[] = {
        {"core.one_writer", "commits/s", 1e6, 1, 1, 0},
        {"core.batch64", "entries/s", 2e7, 64, 8, 0},
        {"core.batch1024", "entries/s", 2e7, 1024, 4, 0},
    };
    int status = 0;
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++) {
        struct figure f = figures[i];
        f.round_entries = round_entries(f.batch, quick);
        double rate = 0.0;
        if (run_figure(&f, quick, &rate) != 0 || peer_figure(&f, quick, rate) != 0) {
            status = 1;
        }
    }
    if (bench_change_run(quick) != 0) {
        status = 1;
    }
    if (bench_snapshot_run(quick) != 0) {
        status = 1;
    }
    return status;
}
