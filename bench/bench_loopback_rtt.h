/* The network's limit beside the replicated benchmarks: the round trip of a small message over
 * loopback TCP on libuv (a client and an echo server on one event loop, TCP_NODELAY). */
#ifndef CRAFT_BENCH_LOOPBACK_RTT_H
#define CRAFT_BENCH_LOOPBACK_RTT_H

#include <stdint.h>

#define BENCH_LOOPBACK_RTT_MSG 64u /* bytes each way: about an AppendEntries of one small entry */

struct bench_loopback_rtt {
    uint32_t n_round_trips; /* round trips timed */
    double p50_us;          /* client write to the client's read of the whole echo */
    double p99_us;
};

/* Listens on 127.0.0.1 (a free port the kernel picks), connects to it and sends
 * BENCH_LOOPBACK_RTT_MSG bytes, waits for them to come back, and again, n_max times or for
 * seconds_max, whichever ends first; all on one new uv loop, closed before returning.
 * Returns 0, or -1 after printing why. */
int bench_loopback_rtt_measure(double seconds_max, uint32_t n_max, struct bench_loopback_rtt *out);

#endif
