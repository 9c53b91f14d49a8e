/* Carrying out one craft_output in the order its contract gives: check and mirror the log, then
 * handle events, queue the persist (hard state, truncation, entries, msgs_after_persist), send
 * msgs at once, apply committed entries. Also the send path with its targeted crashes. */
#include <inttypes.h>

#include "sim_cluster.h"

static void targeted_isolate(struct sim_cluster *c, craft_id id, uint64_t delay_us_max)
{
    uint64_t delay = prng_below(&c->rng_fault, delay_us_max + 1);
    uint64_t len = prng_range(&c->rng_fault, 20000, (uint64_t)c->p.isolate_us_max + 1);
    sim_cluster_schedule(c, delay, SIM_EV_ISOLATE, id, len);
}

static void targeted_crash(struct sim_cluster *c, craft_id id, uint64_t delay_us_max)
{
    uint64_t delay = prng_below(&c->rng_fault, delay_us_max + 1);
    uint64_t down = prng_range(&c->rng_fault, c->p.downtime_us_min, c->p.downtime_us_max + 1);
    sim_cluster_schedule(c, delay, SIM_EV_CRASH, id, down);
}

void sim_cluster_send(struct sim_cluster *c, struct sim_node *from, struct sim_net_msg *nm)
{
    const struct craft_msg *m = &nm->m;
    if (m->from != from->id || m->to < 1 || m->to > c->p.n_nodes || m->to == m->from) {
        sim_checks_fail(&c->checks, from->id, "msg_addressing",
                        "n%" PRIu64 " sends a message from n%" PRIu64 " to n%" PRIu64, from->id,
                        m->from, m->to);
        sim_net_msg_free(nm);
        return;
    }
    sim_checks_send(&c->checks, from, m);
    sim_feed_check_send(c, from, m);
    if (m->type == CRAFT_MSG_VOTE_RESP && m->vote_resp.granted) {
        sim_trace_add(&c->trace, c->now_us, SIM_TR_VOTE, (uint32_t)from->id, m->to, m->term, 0);
        if (c->faults_on && prng_chance(&c->rng_fault, c->p.crash_after_vote_ppm)) {
            targeted_crash(c, from->id, 2000);
        }
    } else if (m->type == CRAFT_MSG_APPEND_RESP && m->append_resp.success) {
        if (c->faults_on && prng_chance(&c->rng_fault, c->p.crash_after_ack_ppm)) {
            targeted_crash(c, from->id, 3000);
        }
    } else if (m->type == CRAFT_MSG_APPEND && m->append.n_entries > 0) {
        /* A leader dying with entries on only some followers (Figure 8). */
        if (c->faults_on && prng_chance(&c->rng_fault, c->p.crash_after_append_ppm)) {
            targeted_crash(c, from->id, 1000);
        }
        if (c->faults_on && prng_chance(&c->rng_fault, c->p.isolate_after_append_ppm)) {
            targeted_isolate(c, from->id, 500);
        }
    }
    sim_cost_on_send(c, m);
    uint64_t lat[2];
    unsigned k = sim_network_route(&c->net, m, lat);
    for (unsigned i = 0; i < k; i++) {
        lat[i] = sim_network_fifo(&c->net, m->from, m->to, c->now_us, lat[i]);
    }
    if (k > 0) {
        sim_oldmsg_on_send(c, m, &lat[0]);
    }
    sim_trace_add_msg(&c->trace, c->now_us, SIM_TR_SEND, (uint32_t)from->id, m->to, m,
                      k > 0 ? lat[0] : 0);
    if (k == 0) {
        sim_net_msg_free(nm);
        return;
    }
    if (k == 2) {
        struct sim_net_msg *dup = sim_net_msg_copy(m);
        sim_heap_push(&c->heap, c->now_us + lat[1], SIM_EV_DELIVER, (uint32_t)m->to, 0, dup);
    }
    sim_heap_push(&c->heap, c->now_us + lat[0], SIM_EV_DELIVER, (uint32_t)m->to, 0, nm);
}

static void handle_events(struct sim_cluster *c, struct sim_node *n, const struct craft_output *out)
{
    for (size_t i = 0; i < out->n_events; i++) {
        const struct craft_event *ev = &out->events[i];
        bool was_leader = n->role == CRAFT_LEADER && n->term == ev->term;
        sim_checks_event(&c->checks, n, ev);
        if (ev->type == CRAFT_EVENT_ROLE) {
            sim_trace_add(&c->trace, c->now_us, SIM_TR_ROLE, (uint32_t)n->id, ev->role, ev->term,
                          ev->peer);
            if (ev->role == CRAFT_LEADER && !was_leader && c->faults_on &&
                prng_chance(&c->rng_fault, c->p.crash_after_leader_ppm)) {
                /* A new leader that dies while its first entries are half replicated: the
                 * situations of the paper's Figure 8. */
                targeted_crash(c, n->id, 60000);
            }
            if (ev->role == CRAFT_LEADER && !was_leader && c->faults_on &&
                prng_chance(&c->rng_fault, c->p.isolate_after_leader_ppm)) {
                targeted_isolate(c, n->id, 0);
            }
            if (ev->role == CRAFT_LEADER && !was_leader) {
                sim_member_on_leader(c, n);
            }
        } else if (ev->type == CRAFT_EVENT_COMMIT) {
            sim_trace_add(&c->trace, c->now_us, SIM_TR_COMMIT, (uint32_t)n->id, ev->index,
                          n->role == CRAFT_LEADER, 0);
        }
    }
}

static uint64_t disk_latency(struct sim_cluster *c)
{
    uint64_t l = prng_range(&c->rng_disk, c->p.disk_us_min, c->p.disk_us_max);
    if (c->p.disk_slow_ppm > 0 && prng_chance(&c->rng_disk, c->p.disk_slow_ppm)) {
        l += prng_below(&c->rng_disk, c->p.disk_slow_us_max);
    }
    return l;
}

static void persist(struct sim_cluster *c, struct sim_node *n, const struct craft_output *out)
{
    bool has_persist = out->hard_state_changed || out->truncate_from != 0 || out->n_entries > 0;
    if (!has_persist && out->n_msgs_after_persist == 0) {
        return;
    }
    if (!has_persist && sim_disk_idle(&n->disk)) {
        /* Nothing of this or any earlier step is still in flight: send at once. */
        for (size_t i = 0; i < out->n_msgs_after_persist; i++) {
            sim_cluster_send(c, n, sim_net_msg_copy(&out->msgs_after_persist[i]));
        }
        return;
    }
    /* A write with nothing to persist completes with the one before it (FIFO). */
    uint64_t done = has_persist ? c->now_us + disk_latency(c) : c->now_us;
    struct sim_disk_write *w = sim_disk_queue(&n->disk, out, done);
    sim_heap_push(&c->heap, w->done_us, SIM_EV_DISK, (uint32_t)n->id, n->epoch, NULL);
}

static void apply(struct sim_cluster *c, struct sim_node *n, const struct craft_output *out)
{
    if (out->snapshot.index > n->applied) {
        /* Installed: the node restores its state machine from the snapshot (sim_snap_install
         * checked its state), so it is at the snapshot's index. */
        n->applied = out->snapshot.index;
        n->applied_told = out->snapshot.index;
    }
    if (out->n_committed == 0) {
        return;
    }
    for (size_t i = 0; i < out->n_committed; i++) {
        const struct craft_entry *e = &out->committed[i];
        sim_checks_apply(&c->checks, n, e);
        if (c->healed && e->data.len > 0 && ((const char *)e->data.base)[0] == 'h') {
            n->applied_new = true;
        }
    }
    if (c->p.sm_flush_ppm > 0 && prng_chance(&c->rng_sm, c->p.sm_flush_ppm)) {
        n->sm_durable_applied = n->applied;
    }
    sim_trace_add(&c->trace, c->now_us, SIM_TR_APPLY, (uint32_t)n->id, out->committed[0].index,
                  out->committed[out->n_committed - 1].index, 0);
}

void sim_cluster_carry_out(struct sim_cluster *c, struct sim_node *n, const struct craft_output *out)
{
    sim_checks_output_log(&c->checks, n, out);
    handle_events(c, n, out);
    if (out->hard_state_changed) {
        sim_checks_hard_state(&c->checks, n, &out->hard_state);
    }
    persist(c, n, out);
    for (size_t i = 0; i < out->n_msgs; i++) {
        sim_cluster_send(c, n, sim_net_msg_copy(&out->msgs[i]));
    }
    apply(c, n, out);
    sim_outcomes_on_output(c, n, out);
    sim_reads_on_output(c, n, out);
    sim_fetch_on_output(c, n, out);
    sim_snap_stream_on_output(c, n, out);
}
