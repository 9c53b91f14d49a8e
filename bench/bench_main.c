/* craft-bench: the benchmarks' command line. Each subcommand prints "<name> <value> <unit>"
 * lines, each figure beside its target (see bench/README.md). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench_core.h"
#include "bench_fsync_limit.h"
#include "bench_loopback_rtt.h"
#include "bench_node.h"
#include "bench_peer.h"
#include "bench_report.h"
#include "bench_wal.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: craft-bench <subcommand> [options]\n"
            "\n"
            "subcommands:\n"
            "  core [--quick]   three cores in one thread, durable-at-once persistence:\n"
            "                   core.one_writer (commits/s), core.batch64 and\n"
            "                   core.batch1024 (entries/s), membership-change latency;\n"
            "                   core.snapshot_install (MB/s): a 64 MiB snapshot streamed\n"
            "                   and installed on the real disk (a temp dir under /tmp),\n"
            "                   beside the disk's limit ('.limit_mb_per_s', '.ratio');\n"
            "                   --quick runs a tiny count and a 4 MiB snapshot\n"
            "  wal [--quick]    the WAL on the real file system (a temp dir under /tmp):\n"
            "                   appends/s and MB/s for 64 B, 1 KiB, 16 KiB entries in batches\n"
            "                   of 1, 16, 256, configured as the node does (payloads up to\n"
            "                   256 B copied, bigger ones in place; '.zero_copy' or '.copy':\n"
            "                   the other way), each beside a raw log doing the same I/O with\n"
            "                   plain pwrite + fdatasync ('.raw', '.ratio' = wal/raw), batch\n"
            "                   by batch in turn; group commit in a node's steady state beside\n"
            "                   raw at the same records per sync (medians of 7 rounds, CPU per\n"
            "                   entry); wal.recover_1gib (s) and wal.recover_rate (GiB/s) for\n"
            "                   opening a warm 1 GiB log\n"
            "  libraft [--quick] the peer: canonical raft (libraft-dev) with its own libuv\n"
            "                   disk and TCP io, three servers on 127.0.0.1 (temp dirs under\n"
            "                   /tmp): libraft.proposers<K> (commits/s), .p50, .p99 (us) for\n"
            "                   K = 1, 16, 256 proposals outstanding; beside them\n"
            "                   limit.fdatasync.p50 (4 KiB append + fdatasync) and\n"
            "                   limit.loopback_rtt.p50 (64-byte TCP ping-pong on libuv), us;\n"
            "                   --quick runs 0.25 s per K; --default-snapshots lets libraft\n"
            "                   snapshot every 1,024 entries, its default (libraft_snapshots.*)\n"
            "  node [--quick]   three craft nodes in one process over loopback TCP with the\n"
            "                   real WAL (temp dirs under /tmp), 64-byte entries:\n"
            "                   node.proposers<K> (commits/s), .p50, .p99 (us) for K = 1,\n"
            "                   16, 256 outstanding on the leader, for each thread layout\n"
            "                   (node.layout.<name>.*), beside the limits, the bound\n"
            "                   fdatasync + round trip + 50 us, and the libraft peer\n"
            "                   measured in the same run (node.proposers<K>.vs_libraft);\n"
            "                   --quick runs 0.25 s per K and three layouts\n"
            "  limits [--quick] this machine's limits alone: limit.fdatasync.p50, .p99 (us)\n"
            "                   and .rate (appends/s) for a 4 KiB append + fdatasync;\n"
            "                   limit.loopback_rtt.p50, .p99 (us), 64 bytes over loopback\n"
            "                   TCP on libuv (what 'make bench' prints beside the servers)\n"
            "\n"
            "Every figure prints as '<name> <value> <unit>', then '<name>.target' and\n"
            "'<name>.ratio' (value / target).\n");
}

/* The options of a subcommand that takes only --quick: 0, or 2 after printing the usage. */
static int parse_quick(const char *cmd, int argc, char **argv, bool *quick)
{
    *quick = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            *quick = true;
        } else {
            fprintf(stderr, "craft-bench %s: unknown option '%s'\n", cmd, argv[i]);
            usage(stderr);
            return 2;
        }
    }
    return 0;
}

static int run_core(int argc, char **argv)
{
    bool quick;
    if (parse_quick("core", argc, argv, &quick) != 0) {
        return 2;
    }
    return bench_core_run(quick);
}

static int run_wal(int argc, char **argv)
{
    bool quick;
    if (parse_quick("wal", argc, argv, &quick) != 0) {
        return 2;
    }
    return bench_wal_run(quick);
}

static int run_libraft(int argc, char **argv)
{
    bool quick = false;
    bool default_snapshots = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--default-snapshots") == 0) {
            default_snapshots = true;
        } else {
            fprintf(stderr, "craft-bench libraft: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    return bench_peer_run(quick, default_snapshots);
}

/* The disk's and the network's limits alone, as the other subcommands measure them. */
static int run_limits(int argc, char **argv)
{
    bool quick;
    if (parse_quick("limits", argc, argv, &quick) != 0) {
        return 2;
    }
    struct bench_fsync_limit sync;
    if (bench_fsync_limit_measure(quick ? 0.2 : 2.0, quick ? 100 : 2000, &sync) != 0) {
        return 1;
    }
    bench_report_value("limit.fdatasync.p50", sync.p50_us, "us");
    bench_report_value("limit.fdatasync.p99", sync.p99_us, "us");
    bench_report_value("limit.fdatasync.rate", sync.per_s, "appends/s");
    struct bench_loopback_rtt rtt;
    if (bench_loopback_rtt_measure(quick ? 0.2 : 1.0, quick ? 1000 : 20000, &rtt) != 0) {
        return 1;
    }
    bench_report_value("limit.loopback_rtt.p50", rtt.p50_us, "us");
    bench_report_value("limit.loopback_rtt.p99", rtt.p99_us, "us");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "core") == 0) {
        return run_core(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "wal") == 0) {
        return run_wal(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "libraft") == 0) {
        return run_libraft(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "limits") == 0) {
        return run_limits(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "node") == 0) {
        return bench_node_main(argc - 2, argv + 2);
    }
    fprintf(stderr, "craft-bench: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
