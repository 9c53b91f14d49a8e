/* CRAFT_IN_COMPACT after applying. Until snapshots exist a leader cannot send a follower entries it
 * has compacted (send_one stops at log_first_index), so the simulator compacts only what every
 * node that may still start holds durably: the checkers know each durable log and the committed
 * log, an oracle standing in for snapshots. Compaction then never strands a follower, and every
 * node, leaders included, runs with a compacted log (tests/sim/README.md says why not followers
 * only). */
#include "sim_compact.h"

#include <inttypes.h>

#include "sim_cluster.h"

/* How many leading entries of d match the committed log: the largest j with equal prefix hashes
 * at j (prefix hashes agree at j exactly when the logs agree up to j, so this is monotone). */
static craft_index matched_prefix(const struct sim_checks *ck, const struct sim_disk *d)
{
    size_t lo = 0;
    size_t hi = d->n_log < ck->n_committed ? d->n_log : ck->n_committed;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (d->log[mid - 1].prefix == ck->committed[mid - 1].prefix) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

craft_index sim_compact_floor(const struct sim_cluster *c)
{
    craft_index floor = c->checks.n_committed;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        const struct sim_node *n = &c->nodes[i];
        if (n->dead) {
            continue; /* its storage refused to open: it never needs anything again */
        }
        craft_index m = matched_prefix(&c->checks, &n->disk);
        floor = m < floor ? m : floor;
    }
    return floor;
}

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
    craft_index floor = sim_compact_floor(c);
    if (floor < st.first_index) {
        return; /* some node still lacks the entries this one would drop */
    }
    /* Ask for everything every node holds, applied here or not: the core must cap the request at
     * what it applied and persisted. */
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
