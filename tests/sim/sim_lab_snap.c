/* Lab part D (log compaction), the 6.824 snapshot tests on the simulated nodes: snapshot basic,
 * install, install unreliable, install crash, install uncrash (unreliable and crashing), all
 * crash, init. Each node snapshots every SNAP_INTERVAL applied entries (the lab's
 * SnapShotInterval) and keeps its memory log compacted; a follower that was away catches up
 * from a snapshot streamed in chunks. Beyond agreement, each test checks that the log stays
 * bounded (the lab's "raft state" size check), here both the core's memory log and the WAL. */
#include <inttypes.h>
#include <string.h>

#include "sim_lab_tests.h"

#define SNAP_INTERVAL 10
#define SNAP_ITERS 30
/* The lab allows eight times its MAXLOGSIZE; ours: the entries since the last snapshot, what
 * waits uncommitted, and the WAL's whole segments. */
#define MEMORY_LOG_MAX (8 * SNAP_INTERVAL)
#define WAL_SEGMENT_BYTES (8u << 10)
#define WAL_ENTRIES_MAX 400

static craft_index one_new(struct sim_scenario *s, unsigned expected)
{
    char cmd[64];
    return sim_scenario_one_str(s, sim_scenario_cmd(s, cmd), expected, true);
}

static int open_scenario(struct sim_scenario *s, const char *name, unsigned n, uint64_t seed,
                         bool unreliable)
{
    struct sim_scenario_opts o;
    sim_scenario_opts_init(&o, n, seed);
    o.unreliable = unreliable;
    o.snapshot_every = SNAP_INTERVAL;
    o.compact_every = SNAP_INTERVAL;
    o.wal_segment_bytes = WAL_SEGMENT_BYTES;
    return sim_scenario_init(s, name, &o);
}

/* The lab's log size check, on every node that is up. */
static void check_bounded(struct sim_scenario *s)
{
    for (unsigned i = 1; i <= s->n && !sim_scenario_failed(s); i++) {
        struct sim_node *n = &s->c->nodes[i];
        if (!n->up) {
            continue;
        }
        struct craft_core_status st;
        craft_core_status(n->core, &st);
        uint64_t held = st.last_index + 1 - st.first_index;
        struct wal *w = storage_wal(n->st);
        uint64_t wal = wal_last_index(w) >= wal_first_index(w) && wal_first_index(w) != 0
                           ? wal_last_index(w) - wal_first_index(w) + 1
                           : 0;
        if (held > MEMORY_LOG_MAX || wal > WAL_ENTRIES_MAX) {
            sim_scenario_fail(s, "n%u holds %" PRIu64 " entries in memory and %" PRIu64
                                 " in its WAL (snapshot at %" PRIu64 "): the log is not compacted",
                              i, held, wal, st.snapshot_index);
        }
    }
}

/* The lab's snapcommon: each round takes one follower away (disconnected or crashed) while the
 * leader commits more than a snapshot interval, then brings it back, so it must catch up from a
 * snapshot. */
static int snapcommon(const char *name, uint64_t seed, bool disconnect, bool reliable, bool crash)
{
    struct sim_scenario s;
    if (open_scenario(&s, name, 3, seed, !reliable) != 0) {
        return -1;
    }
    one_new(&s, s.n);
    craft_id leader1 = sim_scenario_check_one_leader(&s);
    for (int i = 0; i < SNAP_ITERS && !sim_scenario_failed(&s); i++) {
        craft_id victim = lab_next(&s, leader1, 1);
        craft_id sender = leader1;
        if (i % 3 == 1) {
            sender = lab_next(&s, leader1, 1);
            victim = leader1;
        }
        if (disconnect) {
            sim_scenario_disconnect(&s, victim);
            one_new(&s, s.n - 1);
        }
        if (crash) {
            lab_crash1(&s, victim);
            one_new(&s, s.n - 1);
        }
        /* Perhaps send enough to get a snapshot. */
        unsigned nn = SNAP_INTERVAL / 2 + (unsigned)prng_below(&s.rng, SNAP_INTERVAL);
        for (unsigned k = 0; k < nn; k++) {
            char cmd[64];
            sim_scenario_cmd(&s, cmd);
            craft_index index;
            craft_term term;
            (void)sim_scenario_start(&s, sender, cmd, strlen(cmd), &index, &term);
        }
        /* Let applier threads catch up with the Start()'s. */
        one_new(&s, disconnect || crash ? s.n - 1 : s.n);
        check_bounded(&s);
        if (disconnect) {
            /* Reconnect a follower, who may be behind and need to receive a snapshot. */
            sim_scenario_connect(&s, victim);
            one_new(&s, s.n);
            leader1 = sim_scenario_check_one_leader(&s);
        }
        if (crash) {
            /* Restart a follower, who may be behind and need to receive a snapshot. */
            lab_start1(&s, victim);
            one_new(&s, s.n);
            leader1 = sim_scenario_check_one_leader(&s);
        }
    }
    return sim_scenario_finish(&s);
}

int lab_snapshot_basic(uint64_t seed)
{
    return snapcommon("snapshot_basic", seed, false, true, false);
}

int lab_snapshot_install(uint64_t seed)
{
    return snapcommon("snapshot_install", seed, true, true, false);
}

int lab_snapshot_install_unreliable(uint64_t seed)
{
    return snapcommon("snapshot_install_unreliable", seed, true, false, false);
}

int lab_snapshot_install_crash(uint64_t seed)
{
    return snapcommon("snapshot_install_crash", seed, false, true, true);
}

int lab_snapshot_install_uncrash(uint64_t seed)
{
    return snapcommon("snapshot_install_uncrash", seed, false, false, true);
}

/* Crash and restart all servers, checking that every restart finds its snapshot and log. */
int lab_snapshot_all_crash(uint64_t seed)
{
    struct sim_scenario s;
    if (open_scenario(&s, "snapshot_all_crash", 3, seed, true) != 0) {
        return -1;
    }
    one_new(&s, s.n);
    for (int i = 0; i < 5 && !sim_scenario_failed(&s); i++) {
        /* Perhaps enough to get a snapshot. */
        unsigned nn = SNAP_INTERVAL / 2 + (unsigned)prng_below(&s.rng, SNAP_INTERVAL);
        for (unsigned k = 0; k < nn; k++) {
            one_new(&s, s.n);
        }
        craft_index index1 = one_new(&s, s.n);
        check_bounded(&s);
        for (unsigned k = 1; k <= s.n; k++) {
            lab_crash1(&s, k);
        }
        for (unsigned k = 1; k <= s.n; k++) {
            lab_start1(&s, k);
        }
        craft_index index2 = one_new(&s, s.n);
        if (!sim_scenario_failed(&s) && index2 < index1 + 1) {
            sim_scenario_fail(&s, "index decreased from %" PRIu64 " to %" PRIu64, index1, index2);
        }
    }
    return sim_scenario_finish(&s);
}

/* A restart must start from the snapshot it took: state and log resume there. */
int lab_snapshot_init(uint64_t seed)
{
    struct sim_scenario s;
    if (open_scenario(&s, "snapshot_init", 3, seed, true) != 0) {
        return -1;
    }
    one_new(&s, s.n);
    /* Enough ops to make a snapshot. */
    for (int i = 0; i < SNAP_INTERVAL + 1; i++) {
        one_new(&s, s.n);
    }
    for (unsigned k = 1; k <= s.n; k++) {
        lab_crash1(&s, k);
    }
    for (unsigned k = 1; k <= s.n; k++) {
        lab_start1(&s, k);
    }
    /* A single op, to get something to be written back to persistent storage. */
    one_new(&s, s.n);
    for (unsigned k = 1; k <= s.n; k++) {
        lab_crash1(&s, k);
    }
    for (unsigned k = 1; k <= s.n; k++) {
        lab_start1(&s, k);
    }
    /* Do another op to trigger a potential bug. */
    one_new(&s, s.n);
    for (unsigned k = 1; k <= s.n && !sim_scenario_failed(&s); k++) {
        struct craft_core_status st;
        craft_core_status(s.c->nodes[k].core, &st);
        if (st.snapshot_index == 0) {
            sim_scenario_fail(&s, "n%u restarted twice without a snapshot", k);
        }
    }
    return sim_scenario_finish(&s);
}
