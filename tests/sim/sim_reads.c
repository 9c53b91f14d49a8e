/* Client reads of the swarm and their check against the committed history. */
#include "sim_reads.h"

#include <inttypes.h>

#include "sim_cluster.h"

static uint64_t next_read_us(struct sim_cluster *c)
{
    return 1 + prng_below(&c->rng_reads, 2 * (uint64_t)c->p.reads_us_mean);
}

void sim_reads_start(struct sim_cluster *c)
{
    if (c->p.reads_us_mean > 0) {
        sim_cluster_schedule(c, next_read_us(c), SIM_EV_READ, 0, 0);
    }
}

/* The newest index known committed anywhere now: applied by some node, or a node's commit. */
static craft_index committed_now(const struct sim_cluster *c)
{
    craft_index k = c->checks.n_committed;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        const struct sim_node *n = &c->nodes[i];
        if (n->up && n->commit > k) {
            k = n->commit;
        }
    }
    return k;
}

static uint32_t pick_mode(struct sim_cluster *c)
{
    uint64_t r = prng_below(&c->rng_reads, 100);
    if (r < 15) {
        return CRAFT_READ_STALE;
    }
    return c->p.read_lease && r < 50 ? CRAFT_READ_LEASE : CRAFT_READ_INDEX;
}

/* Hands the read named by cookie to its node, with the node's clock now. */
static void feed_read(struct sim_cluster *c, uint64_t cookie)
{
    struct sim_reads *rs = &c->reads;
    struct sim_read_pending *p = &rs->pending[cookie % SIM_READS_PENDING_MAX];
    if (p->cookie != cookie) {
        return; /* overwritten by newer reads while it waited */
    }
    struct sim_node *n = &c->nodes[p->node];
    if (!n->up || n->epoch != p->epoch) {
        p->cookie = 0; /* its node went down while the read waited */
        return;
    }
    struct craft_input in = {.type = CRAFT_IN_READ};
    in.read.cookie = cookie;
    in.read.mode = p->mode;
    in.read.now_ms = sim_node_local_us(n, c->now_us) / 1000;
    /* Every other read says more follow (as a batch's do), so its round waits for some later
     * step: a round started after the read arrived must still be the one that confirms it. From
     * the cookie, not the generator, so the seeds' runs stay as they were otherwise. */
    in.read.more = (cookie & 1) == 0;
    int rv = sim_cluster_feed(c, n, &in, NULL);
    if (rv != 0) {
        p->cookie = 0;
        rs->n_refused++;
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_NOTE, (uint32_t)n->id, SIM_NOTE_READ, cookie,
                  (uint64_t)(int64_t)rv);
}

void sim_reads_on_event(struct sim_cluster *c, const struct sim_event *ev)
{
    if (ev->node != 0) {
        feed_read(c, ev->arg); /* a read that waited for its paused node */
        return;
    }
    if (!c->faults_on) {
        return; /* the healed phase measures cost and quiet: reads would add rounds */
    }
    craft_id at = sim_cluster_leader(c);
    if (at == CRAFT_ID_NONE || prng_chance(&c->rng_reads, 400000)) {
        at = 1 + prng_below(&c->rng_reads, c->p.n_nodes);
    }
    (void)sim_reads_issue(c, at, pick_mode(c));
    sim_cluster_schedule(c, next_read_us(c), SIM_EV_READ, 0, 0);
}

uint64_t sim_reads_issue(struct sim_cluster *c, craft_id at, uint32_t mode)
{
    struct sim_node *n = &c->nodes[at];
    if (!n->up) {
        return 0;
    }
    /* The read begins now, whether its node runs or is paused (then it waits in the node's
     * socket and is served when the node resumes, before its next tick). */
    struct sim_reads *rs = &c->reads;
    uint64_t cookie = SIM_COOKIE_READ_BASE + ++rs->next_cookie;
    struct sim_read_pending *p = &rs->pending[cookie % SIM_READS_PENDING_MAX];
    *p = (struct sim_read_pending){cookie, at, n->epoch, mode, committed_now(c), c->now_us};
    if (sim_pause_active(c, at)) {
        sim_heap_push(&c->heap, c->now_us, SIM_EV_READ, (uint32_t)at, cookie, NULL);
    } else {
        feed_read(c, cookie);
    }
    return cookie;
}

void sim_reads_on_output(struct sim_cluster *c, struct sim_node *n, const struct craft_output *out)
{
    for (size_t i = 0; i < out->n_reads; i++) {
        const struct craft_read_result *r = &out->reads[i];
        struct sim_read_pending *p = &c->reads.pending[r->cookie % SIM_READS_PENDING_MAX];
        if (p->cookie != r->cookie || p->node != n->id || p->epoch != n->epoch) {
            continue; /* overwritten by newer reads, or asked in an earlier life */
        }
        p->cookie = 0;
        sim_trace_add(&c->trace, c->now_us, SIM_TR_NOTE, (uint32_t)n->id, SIM_NOTE_READ_DONE,
                      r->cookie, r->index);
        if (r->status != 0) {
            c->reads.n_refused++;
            continue;
        }
        c->reads.n_ok++;
        if (p->mode == CRAFT_READ_STALE) {
            continue; /* may be behind by design */
        }
        if (r->index < p->committed) {
            sim_checks_fail(&c->checks, n->id, "read_stale",
                            "n%" PRIu64 " serves a %s read begun at %.3f ms at index %" PRIu64
                            ", but index %" PRIu64 " was committed before it began",
                            n->id, p->mode == CRAFT_READ_LEASE ? "lease" : "ReadIndex",
                            (double)p->begun_us / 1000.0, r->index, p->committed);
        } else if (n->applied_told < r->index) {
            /* Against what the core was told applied (or installed); the state machine itself
             * runs the read later, behind its queue (`read_run_early`, sim_apply.c). */
            sim_checks_fail(&c->checks, n->id, "read_not_applied",
                            "n%" PRIu64 " says read %" PRIu64 " is ready at index %" PRIu64
                            " but was told only %" PRIu64 " applied",
                            n->id, r->cookie, r->index, n->applied_told);
        }
    }
}
