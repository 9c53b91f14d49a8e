/* craft-bench core's peer: canonical raft (Debian's libraft-dev) in the shape of the core
 * figures: three servers in one process, one thread, on the in-memory io libraft ships for this
 * (raft_fixture), with no network and no disk latency, so persistence is durable at once and a
 * message arrives at the next step, as in bench_cluster.c. Built only when pkg-config finds
 * libraft (bench_core_libraft_none.c otherwise). */
#ifndef CRAFT_BENCH_CORE_LIBRAFT_H
#define CRAFT_BENCH_CORE_LIBRAFT_H

#include <stdbool.h>
#include <stdint.h>

bool bench_core_libraft_built(void);

/* Proposes `batch` 64-byte commands per raft_apply with up to `inflight` applies outstanding on
 * the leader, stepping the fixture, for ns_max of measured time (the election and set-up are
 * not timed); *rate is the leader's applied entries per second. 0, or -1 (libraft failed, or the
 * leader's checksum of what it applied is not the proposals'). */
int bench_core_libraft_measure(unsigned batch, unsigned inflight, uint64_t ns_max, double *rate);

#endif
