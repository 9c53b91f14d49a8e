/* craft-bench node: the limits of this machine, craft's figures for every thread layout, the
 * libraft peer's, and the ratios between them. */
#include <stdio.h>
#include <string.h>

#include "bench_fsync_limit.h"
#include "bench_loopback_rtt.h"
#include "bench_node.h"
#include "bench_report.h"
#include "util/copy_stats.h"

struct layout {
    const char *name;
    struct craft_node_threads threads;
};

static const struct layout layouts[] = {
    {"threads", {.log_writer = true, .apply = true}},
    {"one_thread", {.log_writer = false, .apply = false}},
    {"log_thread", {.log_writer = true, .apply = false}},
    {"apply_thread", {.log_writer = false, .apply = true}},
};

/* The layout craft_node_config_init gives, among those measured (n of them). */
static size_t default_layout(size_t n)
{
    struct craft_node_config cfg;
    craft_node_config_init(&cfg);
    for (size_t l = 0; l < n; l++) {
        if (layouts[l].threads.log_writer == cfg.threads.log_writer &&
            layouts[l].threads.apply == cfg.threads.apply) {
            return l;
        }
    }
    return 0;
}

static void report_point(const char *prefix, const struct bench_peer_point *p)
{
    char name[96];
    snprintf(name, sizeof name, "%s.proposers%u", prefix, p->proposers);
    bench_report_value(name, p->commits_per_s, "commits/s");
    snprintf(name, sizeof name, "%s.proposers%u.p50", prefix, p->proposers);
    bench_report_value(name, p->p50_us, "us");
    snprintf(name, sizeof name, "%s.proposers%u.p99", prefix, p->proposers);
    bench_report_value(name, p->p99_us, "us");
}

int bench_node_main(int argc, char **argv)
{
    bool quick = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else {
            fprintf(stderr, "craft-bench node: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    struct bench_peer_config cfg;
    bench_peer_config_init(&cfg, quick);
    struct bench_fsync_limit fsync_limit;
    struct bench_loopback_rtt rtt;
    if (bench_fsync_limit_measure(quick ? 0.2 : 1.0, quick ? 200 : 2000, &fsync_limit) != 0 ||
        bench_loopback_rtt_measure(quick ? 0.2 : 1.0, quick ? 2000 : 20000, &rtt) != 0) {
        return 1;
    }
    bench_report_value("limit.fdatasync.p50", fsync_limit.p50_us, "us");
    bench_report_value("limit.loopback_rtt.p50", rtt.p50_us, "us");
    double p50_bound = fsync_limit.p50_us + rtt.p50_us + 50.0;
    bench_report_value("limit.proposers1.p50_bound", p50_bound, "us");

    struct bench_peer_figures figs[sizeof layouts / sizeof layouts[0]];
    /* --quick measures the default layout and everything on one thread. */
    size_t n_layouts = quick ? 3 : sizeof layouts / sizeof layouts[0];
    size_t best = 0;
    for (size_t l = 0; l < n_layouts; l++) {
        if (bench_node_measure(&cfg, &layouts[l].threads, &figs[l]) != 0) {
            fprintf(stderr, "craft-bench node: layout %s failed\n", layouts[l].name);
            return 1;
        }
        char prefix[64];
        snprintf(prefix, sizeof prefix, "node.layout.%s", layouts[l].name);
        for (unsigned i = 0; i < BENCH_PEER_N_POINTS; i++) {
            report_point(prefix, &figs[l].points[i]);
        }
        if (figs[l].points[BENCH_PEER_N_POINTS - 1].commits_per_s >
            figs[best].points[BENCH_PEER_N_POINTS - 1].commits_per_s) {
            best = l;
        }
    }
    printf("node.layout.fastest_at_256 %s\n", layouts[best].name);
    /* The default layout's figures under their plain names, against the limits and the peer. */
    const struct bench_peer_figures *node = &figs[default_layout(n_layouts)];
    for (unsigned i = 0; i < BENCH_PEER_N_POINTS; i++) {
        report_point("node", &node->points[i]);
    }
    bench_report_ratio("node.proposers1.p50.vs_bound", node->points[0].p50_us / p50_bound);
    /* Payload copies per committed 64-byte entry, the whole cluster (3 nodes), at 256 in flight. */
    const struct bench_peer_point *p256 = &node->points[BENCH_PEER_N_POINTS - 1];
    bench_report_value("node.proposers256.copied_bytes_per_entry", p256->copied_per_entry, "bytes");
    for (int s = 0; s < COPY_SITES; s++) {
        char name[96];
        snprintf(name, sizeof name, "node.proposers256.copied_bytes_per_entry.%s",
                 copy_site_name((enum copy_site)s));
        bench_report_value(name, p256->copied_per_entry_site[s], "bytes");
    }
    struct bench_peer_figures peer;
    int rv = bench_peer_libraft_measure(&cfg, &peer);
    if (rv == BENCH_PEER_NOT_BUILT) {
        printf("libraft: not built: install libraft-dev for the peer's figures\n");
        return 0;
    }
    if (rv != 0) {
        return 1;
    }
    for (unsigned i = 0; i < BENCH_PEER_N_POINTS; i++) {
        report_point("libraft", &peer.points[i]);
        char name[96];
        snprintf(name, sizeof name, "node.proposers%u.vs_libraft", node->points[i].proposers);
        bench_report_ratio(name, node->points[i].commits_per_s / peer.points[i].commits_per_s);
        snprintf(name, sizeof name, "node.proposers%u.p50.vs_libraft", node->points[i].proposers);
        bench_report_ratio(name, node->points[i].p50_us / peer.points[i].p50_us);
    }
    return 0;
}
