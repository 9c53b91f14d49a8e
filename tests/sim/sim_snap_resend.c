/* The resend rule of snapshot streams: see sim_snap_resend.h. */
#include "sim_snap_resend.h"

#include <inttypes.h>

#include "sim_cluster.h"

static void stop(struct sim_snap_resend *r, struct sim_snap_resend_watch *w)
{
    if (w->active) {
        w->active = false;
        r->n_active--;
    }
}

void sim_snap_resend_on_chunk(struct sim_cluster *c, craft_id leader, craft_id to,
                              const struct craft_snap_chunk *chunk)
{
    struct sim_snap_resend *r = &c->snap_resend;
    struct sim_snap_resend_watch *w = &r->w[leader][to];
    if (!w->active) {
        r->n_active++;
    }
    *w = (struct sim_snap_resend_watch){.active = true,
                                        .leader_term = chunk->leader_term,
                                        .index = chunk->index,
                                        .size = chunk->size,
                                        .last_send_us = c->now_us};
}

void sim_snap_resend_on_ack(struct sim_cluster *c, craft_id follower, craft_id leader,
                            const struct craft_snap_ack *a)
{
    struct sim_snap_resend_watch *w = &c->snap_resend.w[leader][follower];
    bool same = w->active && w->index == a->index && w->leader_term == a->leader_term;
    if (same && (a->done || a->offset >= w->size)) {
        stop(&c->snap_resend, w); /* the follower holds it all: nothing left to resend */
    }
}

void sim_snap_resend_on_end(struct sim_cluster *c, craft_id leader, craft_id to)
{
    stop(&c->snap_resend, &c->snap_resend.w[leader][to]);
}

/* The longest a correct leader stays quiet: its resend interval on a clock up to 5% slow, plus
 * the grain of its timer (a leader's timer fires at least once per heartbeat) and a tick. */
static uint64_t quiet_us_max(const struct sim_cluster *c)
{
    uint64_t resend_us = c->p.snap_resend_us != 0 ? c->p.snap_resend_us : 30000;
    return (resend_us + SIM_HEARTBEAT_MS * 1000ull) * 105 / 100 + 2 * SIM_TICK_US;
}

void sim_snap_resend_check(struct sim_cluster *c)
{
    struct sim_snap_resend *r = &c->snap_resend;
    if (r->n_active == 0) {
        return;
    }
    for (craft_id l = 1; l <= c->p.n_nodes; l++) {
        const struct sim_node *n = &c->nodes[l];
        for (craft_id f = 1; f <= c->p.n_nodes; f++) {
            struct sim_snap_resend_watch *w = &r->w[l][f];
            if (!w->active) {
                continue;
            }
            struct craft_core_status st;
            if (n->up) {
                craft_core_status(n->core, &st);
            }
            if (!n->up || st.role != CRAFT_LEADER || st.term != w->leader_term) {
                stop(r, w); /* its leadership is over, and the stream with it */
                continue;
            }
            uint64_t from = w->last_send_us;
            if (c->pause.until_us[l] > from) {
                from = c->pause.until_us[l]; /* a paused leader does nothing meanwhile */
            }
            if (c->now_us > from && c->now_us - from > quiet_us_max(c)) {
                sim_checks_fail(&c->checks, l, "snapshot_not_resent",
                                "n%" PRIu64 " streams snapshot %" PRIu64 " to n%" PRIu64
                                " but has sent it nothing for %" PRIu64 " us (bound %" PRIu64
                                " us: resend interval and timer grain)",
                                l, w->index, f, c->now_us - from, quiet_us_max(c));
                stop(r, w);
            }
        }
    }
}
