/* The C peer craft is measured against: canonical raft (Debian's libraft-dev 0.15) with its own
 * libuv disk io (raft_uv) and TCP transport (raft_uv_tcp), three servers in one process on
 * 127.0.0.1, commits/s and commit latency with 1, 16 and 256 proposals outstanding. Built only
 * when pkg-config finds "raft"; otherwise bench_peer_libraft_none.c says it was not built. */
#ifndef CRAFT_BENCH_PEER_LIBRAFT_H
#define CRAFT_BENCH_PEER_LIBRAFT_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_PEER_N_POINTS 3u     /* proposals outstanding: 1, 16, 256 */
#define BENCH_PEER_ENTRY_BYTES 64u /* each proposal's payload */
#define BENCH_PEER_NOT_BUILT 1     /* bench_peer_libraft_measure: built without libraft */

/* The outstanding-proposal count of point i (0, 1, 2: 1, 16, 256). */
static inline unsigned bench_peer_proposers(unsigned i)
{
    return i == 0 ? 1u : i == 1 ? 16u : 256u;
}

struct bench_peer_config {
    double seconds_max;   /* per point: no new proposal after this long */
    uint32_t commits_max; /* per point: no new proposal once this many were made */
    /* libraft snapshots (and drops its log prefix) every this many entries; the default is
     * above what a run appends, so no snapshot is taken and the figures are replication alone.
     * BENCH_PEER_SNAPSHOT_DEFAULT is libraft's own default (1,024 entries). */
    uint32_t snapshot_threshold;
};

#define BENCH_PEER_SNAPSHOT_NEVER 10000000u /* above the ~600,000 entries of a run */
#define BENCH_PEER_SNAPSHOT_DEFAULT 1024u   /* libraft 0.15's default */

struct bench_peer_point {
    unsigned proposers;   /* proposals kept outstanding */
    uint32_t n_commits;   /* proposals applied by the leader */
    double commits_per_s; /* n_commits over the time from the first proposal to the last commit */
    double p50_us;        /* raft_apply to its callback on the leader (commit and apply) */
    double p99_us;
    /* craft only (0 for the peer): payload bytes copied in the whole 3-node cluster per
     * committed entry (util/copy_stats.h), and per site. */
    double copied_per_entry;
    double copied_per_entry_site[8];
};

struct bench_peer_figures {
    struct bench_peer_point points[BENCH_PEER_N_POINTS];
};

/* Full runs: 2 s or 200,000 commits per point. quick: 0.25 s or 2,000. No snapshots. */
static inline void bench_peer_config_init(struct bench_peer_config *cfg, bool quick)
{
    cfg->seconds_max = quick ? 0.25 : 2.0;
    cfg->commits_max = quick ? 2000u : 200000u;
    cfg->snapshot_threshold = BENCH_PEER_SNAPSHOT_NEVER;
}

/* True when craft-bench was built with libraft (the peer can be measured). */
bool bench_peer_libraft_built(void);

/* Starts three servers in fresh directories /tmp/craft-bench-libraft<id>.XXXXXX on free ports of
 * 127.0.0.1, all on one uv loop on this thread, bootstraps them, waits for a leader (10 s at
 * most), measures each point in turn on the leader, then closes the servers and removes the
 * directories. Returns 0 with *out filled; BENCH_PEER_NOT_BUILT when built without libraft; -1
 * after printing why it failed (no leader, a proposal failed, a stall). Any thread, one at a
 * time (libraft's allocator and libuv's thread pool are process-wide). */
int bench_peer_libraft_measure(const struct bench_peer_config *cfg, struct bench_peer_figures *out);

#endif
