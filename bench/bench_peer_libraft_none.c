/* The peer benchmark when craft-bench was built without libraft (pkg-config found no "raft"). */
#include <string.h>

#include "bench_peer_libraft.h"

bool bench_peer_libraft_built(void)
{
    return false;
}

int bench_peer_libraft_measure(const struct bench_peer_config *cfg, struct bench_peer_figures *out)
{
    (void)cfg;
    memset(out, 0, sizeof *out);
    return BENCH_PEER_NOT_BUILT;
}
