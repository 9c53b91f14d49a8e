/* craft-bench libraft: the peer's figures (canonical raft on its own libuv io) beside the limits
 * of this machine's disk and loopback network, in the bench's report format. */
#ifndef CRAFT_BENCH_PEER_H
#define CRAFT_BENCH_PEER_H

#include <stdbool.h>

/* The limits' run lengths, shared with whoever prints ratios against them (craft-bench node):
 * full runs 2 s or 2,000 syncs and 1 s or 20,000 round trips; quick ones a tenth of the time. */
#define BENCH_PEER_FSYNC_SECONDS(quick) ((quick) ? 0.2 : 2.0)
#define BENCH_PEER_FSYNC_N(quick) ((quick) ? 100u : 2000u)
#define BENCH_PEER_RTT_SECONDS(quick) ((quick) ? 0.1 : 1.0)
#define BENCH_PEER_RTT_N(quick) ((quick) ? 1000u : 20000u)

/* Prints libraft.proposers<K> (commits/s), .p50 and .p99 (us) for K = 1, 16, 256, then
 * limit.fdatasync.p50 and limit.loopback_rtt.p50 (us). default_snapshots: libraft snapshots
 * every 1,024 entries, its default (else never during the run), and the figures are named
 * libraft_snapshots.* instead. Built without libraft it prints "not built: install libraft-dev"
 * and returns 0. Returns 0, or 1 after printing why. */
int bench_peer_run(bool quick, bool default_snapshots);

#endif
