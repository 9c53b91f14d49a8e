/* CRAFT_IN_COMPACT after applying: a node drops applied entries from its core's memory once
 * compact_every of them are held. A follower that needs them later gets them fetched from
 * storage (sim_fetch.c) or, past the newest snapshot, the snapshot (sim_snap_stream.c). Every
 * node compacts, leaders included (tests/sim/README.md says why not followers only). */
#include "sim_compact.h"

#include <inttypes.h>

#include "sim_cluster.h"

void sim_compact_after_apply(struct sim_cluster *c, struct sim_node *n)
{
    if (c->p.compact_every == 0 || !n->up) {
        return;
    }
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    craft_index held = st.applied >= st.first_index ? st.applied - st.first_index + 1 : 0;
    if (held < c->p.compact_every) {
        return;
    }
    /* Ask for everything committed, applied here or not: the core must cap the request at what it
     * applied and persisted. */
    craft_index floor = c->checks.n_committed;
    struct craft_input in = {.type = CRAFT_IN_COMPACT};
    in.compact.index = floor;
    sim_cluster_feed(c, n, &in, NULL);
    if (!n->up) {
        return;
    }
    craft_core_status(n->core, &st);
    craft_index dropped = st.first_index - 1;
    if (dropped > n->applied_told || dropped > st.persisted || dropped > floor) {
        sim_checks_fail(&c->checks, n->id, "compact_bounds",
                        "n%" PRIu64 " compacted up to %" PRIu64 " (asked %" PRIu64
                        ") with applied %" PRIu64 " (as told to the core) and persisted %" PRIu64,
                        n->id, dropped, floor, n->applied_told, st.persisted);
    }
}
