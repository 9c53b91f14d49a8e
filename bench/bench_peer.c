/* craft-bench libraft: the peer's figures (canonical raft on its own libuv io) beside the limits
 * of this machine's disk and loopback network, in the bench's report format. */
#include "bench_peer.h"

#include <stdio.h>

#include "bench_fsync_limit.h"
#include "bench_loopback_rtt.h"
#include "bench_peer_libraft.h"
#include "bench_report.h"

int bench_peer_run(bool quick, bool default_snapshots)
{
    if (!bench_peer_libraft_built()) {
        printf("libraft: not built: install libraft-dev (Debian) and reconfigure craft's build\n");
        return 0;
    }
    struct bench_peer_config cfg;
    bench_peer_config_init(&cfg, quick);
    const char *prefix = "libraft";
    if (default_snapshots) {
        cfg.snapshot_threshold = BENCH_PEER_SNAPSHOT_DEFAULT;
        prefix = "libraft_snapshots";
    }
    struct bench_peer_figures peer;
    if (bench_peer_libraft_measure(&cfg, &peer) != 0) {
        return 1;
    }
    for (unsigned i = 0; i < BENCH_PEER_N_POINTS; i++) {
        const struct bench_peer_point *pt = &peer.points[i];
        char name[64];
        snprintf(name, sizeof name, "%s.proposers%u", prefix, pt->proposers);
        bench_report_value(name, pt->commits_per_s, "commits/s");
        snprintf(name, sizeof name, "%s.proposers%u.p50", prefix, pt->proposers);
        bench_report_value(name, pt->p50_us, "us");
        snprintf(name, sizeof name, "%s.proposers%u.p99", prefix, pt->proposers);
        bench_report_value(name, pt->p99_us, "us");
    }
    struct bench_fsync_limit sync;
    if (bench_fsync_limit_measure(BENCH_PEER_FSYNC_SECONDS(quick), BENCH_PEER_FSYNC_N(quick),
                                  &sync) != 0) {
        return 1;
    }
    bench_report_value("limit.fdatasync.p50", sync.p50_us, "us");
    struct bench_loopback_rtt rtt;
    if (bench_loopback_rtt_measure(BENCH_PEER_RTT_SECONDS(quick), BENCH_PEER_RTT_N(quick), &rtt) !=
        0) {
        return 1;
    }
    bench_report_value("limit.loopback_rtt.p50", rtt.p50_us, "us");
    return 0;
}
