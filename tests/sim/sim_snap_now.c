/* Snapshot requests of the swarm (node_snapshot), aimed at the awkward moments, and the checks
 * of their outcomes. */
#include "sim_snap_now.h"

#include <inttypes.h>
#include <string.h>

#include "node/node.h"
#include "sim_cluster.h"

void sim_snap_now_init(struct sim_cluster *c)
{
    memset(&c->snap_now, 0, sizeof c->snap_now);
}

static uint64_t next_request_us(struct sim_cluster *c)
{
    return 1 + prng_below(&c->snap_now.rng, 2 * (uint64_t)c->p.snap_now_us_mean);
}

void sim_snap_now_start(struct sim_cluster *c)
{
    if (c->p.snap_now_us_mean > 0) {
        sim_cluster_schedule(c, next_request_us(c), SIM_EV_SNAP_NOW, 0, 0);
    }
}

static craft_id random_node(struct sim_cluster *c)
{
    return 1 + prng_below(&c->snap_now.rng, c->p.n_nodes);
}

/* Either end of a snapshot stream under way, or 0. */
static craft_id streaming_node(struct sim_cluster *c)
{
    craft_id ends[2 * SIM_NODES_MAX * SIM_NODES_MAX];
    unsigned k = 0;
    for (craft_id l = 1; l <= c->p.n_nodes; l++) {
        for (craft_id f = 1; f <= c->p.n_nodes; f++) {
            if (c->snap_resend.w[l][f].active) {
                ends[k++] = l;
                ends[k++] = f;
            }
        }
    }
    return k == 0 ? 0 : ends[prng_below(&c->snap_now.rng, k)];
}

/* A node in an election (candidate or pre-candidate), or 0. */
static craft_id electing_node(struct sim_cluster *c)
{
    craft_id ids[SIM_NODES_MAX];
    unsigned k = 0;
    for (craft_id i = 1; i <= c->p.n_nodes; i++) {
        struct sim_node *n = &c->nodes[i];
        if (!n->up) {
            continue;
        }
        struct craft_core_status st;
        craft_core_status(n->core, &st);
        if (st.role == CRAFT_CANDIDATE || st.role == CRAFT_PRECANDIDATE) {
            ids[k++] = i;
        }
    }
    return k == 0 ? 0 : ids[prng_below(&c->snap_now.rng, k)];
}

static craft_id pick_target(struct sim_cluster *c)
{
    uint64_t r = prng_below(&c->snap_now.rng, 100);
    craft_id at = 0;
    if (r < 30) {
        at = sim_cluster_leader(c);
    } else if (r < 50) {
        at = streaming_node(c);
    } else if (r < 65) {
        at = electing_node(c);
    }
    return at != 0 ? at : random_node(c);
}

static struct sim_snap_now_pending *slot_free(struct sim_cluster *c)
{
    for (unsigned i = 0; i < SIM_SNAP_NOW_PENDING_MAX; i++) {
        if (c->snap_now.pending[i].cookie == 0) {
            return &c->snap_now.pending[i];
        }
    }
    return NULL;
}

static struct sim_snap_now_pending *find(struct sim_cluster *c, uint64_t cookie)
{
    for (unsigned i = 0; i < SIM_SNAP_NOW_PENDING_MAX; i++) {
        if (c->snap_now.pending[i].cookie == cookie) {
            return &c->snap_now.pending[i];
        }
    }
    return NULL;
}

/* Asks node at for a snapshot now (once, or twice back to back: the second joins the first). */
static void ask(struct sim_cluster *c, craft_id at)
{
    struct sim_node *n = &c->nodes[at];
    unsigned times = prng_chance(&c->snap_now.rng, 200000) ? 2 : 1;
    for (unsigned i = 0; i < times && n->up && !sim_pause_active(c, at); i++) {
        struct sim_snap_now_pending *p = slot_free(c);
        if (p == NULL) {
            return; /* many still waiting: their nodes are slow, not wrong */
        }
        struct craft_node_status st;
        node_status(n->node, &st);
        p->cookie = SIM_COOKIE_SNAP_NOW_BASE + ++c->snap_now.serial;
        p->node = at;
        p->epoch = n->epoch;
        p->floor = st.applied;
        uint64_t cookie = p->cookie;
        c->work.snap_now_asked++;
        craft_index applied_before = n->applied;
        n->applied_in_call = false;
        int rv = node_snapshot(n->node, cookie);
        sim_trace_add(&c->trace, c->now_us, SIM_TR_NOTE, (uint32_t)at, SIM_NOTE_SNAP_NOW, cookie,
                      (uint64_t)(int64_t)rv);
        sim_cluster_after_call(c, n, applied_before, CRAFT_IN_SNAPSHOT_TAKEN);
    }
}

void sim_snap_now_on_event(struct sim_cluster *c, const struct sim_event *ev)
{
    if (!c->faults_on) {
        return; /* the healed phase is left alone */
    }
    if (ev->node == 0) {
        ask(c, pick_target(c));
        sim_cluster_schedule(c, next_request_us(c), SIM_EV_SNAP_NOW, 0, 0);
    } else if (c->nodes[ev->node].epoch == ev->arg) {
        ask(c, ev->node);
    }
}

/* Asks n in [0, max_us) from now, in this life of it, with chance ppm. */
static void aim(struct sim_cluster *c, struct sim_node *n, uint32_t ppm, uint64_t max_us)
{
    if (c->p.snap_now_us_mean == 0 || !c->faults_on || !prng_chance(&c->snap_now.rng, ppm)) {
        return;
    }
    uint64_t delay = prng_below(&c->snap_now.rng, max_us);
    sim_cluster_schedule(c, delay, SIM_EV_SNAP_NOW, n->id, n->epoch);
}

void sim_snap_now_after_restart(struct sim_cluster *c, struct sim_node *n)
{
    aim(c, n, 300000, 2000); /* before its first tick, or just after */
}

void sim_snap_now_on_stream(struct sim_cluster *c, struct sim_node *leader, craft_id to)
{
    if (c->p.snap_now_us_mean == 0) {
        return;
    }
    /* Either end, while the first chunks are on their way (a stream lasts round trips). */
    struct sim_node *n = prng_chance(&c->snap_now.rng, 500000) ? leader : &c->nodes[to];
    aim(c, n, 300000, 4 * (uint64_t)SIM_ELECTION_TIMEOUT_MS_MAX * 10 + 1);
}

void sim_snap_now_on_save(struct sim_cluster *c, struct sim_node *n)
{
    aim(c, n, 300000, 4 * (uint64_t)c->p.disk_us_max + 1); /* while the save is written */
}

static bool failure_expected(struct sim_cluster *c, struct sim_node *n, int status)
{
    switch (status) {
    case CRAFT_ESHUTDOWN:
        return c->snap_now.destroying == n->id || node_stopped(n->node);
    case CRAFT_EBUSY: /* its configuration not known at that index yet */
    case CRAFT_EIO:   /* the save met a disk fault */
    case CRAFT_ENOSPC:
        return true;
    default:
        return false;
    }
}

/* A snapshot reported done: durable on n's disk, known to its core, between what the node had
 * applied when asked and what it has applied now. */
static void check_done(struct sim_cluster *c, struct sim_node *n,
                       const struct sim_snap_now_pending *p, const struct craft_result *r)
{
    struct craft_node_status st;
    node_status(n->node, &st);
    struct craft_core_status cs;
    craft_core_status(n->core, &cs);
    const char *why = NULL;
    if (r->index < p->floor) {
        why = "below what the node had applied when asked";
    } else if (r->index > st.applied) {
        why = "past what the node has applied";
    } else if (r->index > cs.snapshot_index) {
        why = "past the newest snapshot its core knows";
    } else if (r->index > n->disk.snap_index ||
               (r->index != 0 && r->index == n->disk.snap_index && r->term != n->disk.snap_term)) {
        why = "not a durable snapshot on its disk";
    }
    if (why != NULL) {
        sim_checks_fail(&c->checks, n->id, "snapshot_request_wrong",
                        "n%" PRIu64 " reports snapshot request %" PRIu64 " done at (%" PRIu64
                        ", term %" PRIu64 "): %s (applied when asked %" PRIu64 ", applied %" PRIu64
                        ", core's snapshot %" PRIu64 ", durable snapshot %" PRIu64 ")",
                        n->id, p->cookie - SIM_COOKIE_SNAP_NOW_BASE, r->index, r->term, why,
                        p->floor, st.applied, cs.snapshot_index, n->disk.snap_index);
    }
}

bool sim_snap_now_complete(struct sim_cluster *c, struct sim_node *n, uint64_t cookie,
                           const struct craft_result *r)
{
    if (cookie < SIM_COOKIE_SNAP_NOW_BASE) {
        return false;
    }
    struct sim_snap_now_pending *p = find(c, cookie);
    if (p == NULL || p->node != n->id || p->epoch != n->epoch) {
        sim_checks_fail(&c->checks, n->id, "snapshot_request_wrong",
                        "n%" PRIu64 " ends snapshot request %" PRIu64 " (%s) it was not asked for, "
                        "or a second time",
                        n->id, cookie - SIM_COOKIE_SNAP_NOW_BASE, craft_errname(r->status));
        return true;
    }
    if (r->status == 0) {
        check_done(c, n, p, r);
        c->work.snap_now_done++;
    } else if (!failure_expected(c, n, r->status)) {
        sim_checks_fail(&c->checks, n->id, "snapshot_request_wrong",
                        "n%" PRIu64 " ends snapshot request %" PRIu64 " with %s", n->id,
                        cookie - SIM_COOKIE_SNAP_NOW_BASE, craft_errname(r->status));
    } else {
        c->work.snap_now_failed++;
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_NOTE, (uint32_t)n->id, SIM_NOTE_SNAP_NOW_DONE,
                  cookie, r->status == 0 ? r->index : 0);
    p->cookie = 0;
    return true;
}

void sim_snap_now_destroying(struct sim_cluster *c, struct sim_node *n)
{
    c->snap_now.destroying = n->id;
}

void sim_snap_now_destroyed(struct sim_cluster *c, struct sim_node *n)
{
    c->snap_now.destroying = 0;
    for (unsigned i = 0; i < SIM_SNAP_NOW_PENDING_MAX; i++) {
        struct sim_snap_now_pending *p = &c->snap_now.pending[i];
        if (p->cookie != 0 && p->node == n->id) {
            sim_checks_fail(&c->checks, n->id, "snapshot_request_hanging",
                            "n%" PRIu64 " stopped without ending snapshot request %" PRIu64, n->id,
                            p->cookie - SIM_COOKIE_SNAP_NOW_BASE);
            p->cookie = 0;
        }
    }
}

void sim_snap_now_final(struct sim_cluster *c)
{
    for (unsigned i = 0; i < SIM_SNAP_NOW_PENDING_MAX; i++) {
        const struct sim_snap_now_pending *p = &c->snap_now.pending[i];
        if (p->cookie != 0) {
            sim_checks_fail(&c->checks, p->node, "snapshot_request_hanging",
                            "n%" PRIu64 " never ended snapshot request %" PRIu64
                            " (asked with its applied index at %" PRIu64 ")",
                            p->node, p->cookie - SIM_COOKIE_SNAP_NOW_BASE, p->floor);
            return;
        }
    }
}
