/* craft-bench node: three craft nodes in one process over loopback TCP with the real WAL on disk,
 * 64-byte entries kept 1, 16 and 256 at a time in flight on the leader (the same points as the
 * libraft peer, bench_peer_libraft.h): commits/s and the latency from craft_node_propose to its
 * callback (committed and applied on the leader). */
#ifndef CRAFT_BENCH_NODE_H
#define CRAFT_BENCH_NODE_H

#include <stdbool.h>

#include "bench_peer_libraft.h"
#include "craft/node.h"

/* Measures every point with the given thread layout; figures into *out (same shape as the
 * peer's). Directories /tmp/craft-bench-node<id>.XXXXXX are removed before returning. Returns 0,
 * or -1 after printing why. */
int bench_node_measure(const struct bench_peer_config *cfg, const struct craft_node_threads *threads,
                       struct bench_peer_figures *out);

/* The subcommand: the limits, craft's figures with each thread layout, the peer's, the ratios. */
int bench_node_main(int argc, char **argv);

#endif
