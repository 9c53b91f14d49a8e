/* craft-bench core's peer when craft-bench was built without libraft (pkg-config found no
 * "raft"): the core figures are printed without it. */
#include "bench_core_libraft.h"

bool bench_core_libraft_built(void)
{
    return false;
}

int bench_core_libraft_measure(unsigned batch, unsigned inflight, uint64_t ns_max, double *rate)
{
    (void)batch;
    (void)inflight;
    (void)ns_max;
    *rate = 0.0;
    return -1;
}
