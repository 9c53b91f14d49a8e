/* The simulator as the node's environment (struct node_env, src/node/node.h): the node under
 * test carries out each output of its core through these hooks, and the checkers watch every
 * step through them. Also the send path with its targeted crashes. */
#include <inttypes.h>

#include "node/node.h"
#include "sim_cluster.h"
#include "sim_hash.h"

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

uint64_t sim_cluster_disk_latency(struct sim_cluster *c, const struct sim_node *n)
{
    uint64_t l = n->disk_extra_us + prng_range(&c->rng_disk, c->p.disk_us_min, c->p.disk_us_max);
    if (c->p.disk_slow_ppm > 0 && prng_chance(&c->rng_disk, c->p.disk_slow_ppm)) {
        l += prng_below(&c->rng_disk, c->p.disk_slow_us_max);
    }
    return l;
}


static uint64_t env_now_ms(void *ctx)
{
    struct sim_node *n = ctx;
    return sim_node_local_us(n, n->cluster->now_us) / 1000;
}

/* The node's one timer: a tick event at the local time it asks for (on its skewed clock); an
 * arming replaces the one before. While the node is being created (not up yet) its first tick
 * is placed by start_node. */
static void env_timer_arm(void *ctx, uint64_t at_ms)
{
    struct sim_node *n = ctx;
    struct sim_cluster *c = n->cluster;
    n->timer_gen++;
    if (!n->up) {
        return;
    }
    uint64_t due_local_us = at_ms * 1000;
    uint64_t now_local_us = sim_node_local_us(n, c->now_us);
    /* local = offset + global * rate / 1e6, so a local span is span * 1e6 / rate of global. */
    uint64_t delay = due_local_us > now_local_us
                         ? (due_local_us - now_local_us) * 1000000 / n->clock_rate_ppm + 1
                         : 0;
    sim_heap_push(&c->heap, c->now_us + delay, SIM_EV_TICK, (uint32_t)n->id, n->epoch,
                  (void *)(uintptr_t)n->timer_gen);
}

static void env_send(void *ctx, const struct craft_msg *m)
{
    struct sim_node *n = ctx;
    sim_cluster_send(n->cluster, n, sim_net_msg_copy(m));
}

/* Group commit: a write that finds the disk idle starts a batch, which completes after one
 * latency; writes queued meanwhile go into the next batch (sim_cluster.c on_disk). */
static int env_log_submit(void *ctx, const struct craft_persist *p, uint64_t *seq)
{
    struct sim_node *n = ctx;
    struct sim_cluster *c = n->cluster;
    *seq = ++n->log_seq;
    bool starts;
    (void)sim_disk_queue(&n->disk, p, *seq, &starts);
    if (starts) {
        sim_heap_push(&c->heap, c->now_us + sim_cluster_disk_latency(c, n), SIM_EV_DISK, (uint32_t)n->id,
                      n->epoch, NULL);
    }
    return 0;
}

static int env_apply_submit(void *ctx, const struct node_apply_item *items, size_t k)
{
    struct sim_node *n = ctx;
    return sim_apply_submit(n->cluster, n, items, k);
}

static void env_snapshot_taken(void *ctx, const struct craft_snapshot_meta *m)
{
    struct sim_node *n = ctx;
    int rv = sim_snap_drop_prefix(n->cluster, n, m);
    if (rv != 0 && n->fail_pending == 0) {
        n->fail_pending = rv;
    }
}

static int env_send_chunk(void *ctx, craft_id to, const struct craft_snap_chunk *chunk)
{
    struct sim_node *n = ctx;
    return sim_snap_stream_send_chunk(n->cluster, n, to, chunk);
}

static void env_send_ack(void *ctx, craft_id to, const struct craft_snap_ack *a)
{
    struct sim_node *n = ctx;
    sim_snap_stream_send_ack(n->cluster, n, to, a);
}

static void env_snapshot_received(void *ctx, craft_id from, const struct craft_snap_chunk *last,
                                  const struct craft_snapshot_meta *meta, int rv,
                                  const char *errmsg)
{
    struct sim_node *n = ctx;
    (void)from;
    sim_snap_stream_received(n->cluster, n, last, meta, rv, errmsg);
}

static void env_stream_ended(void *ctx, craft_id to, bool delivered)
{
    struct sim_node *n = ctx;
    sim_snap_resend_on_end(n->cluster, n->id, to);
    if (delivered) {
        n->cluster->work.streams_delivered++;
    } else {
        n->cluster->work.streams_given_up++;
    }
}

static void env_complete(void *ctx, uint64_t cookie, const struct craft_result *r)
{
    struct sim_node *n = ctx;
    if (sim_snap_now_complete(n->cluster, n, cookie, r)) {
        return;
    }
    sim_outcomes_complete(n->cluster, n, cookie, r->status);
    sim_kv_on_complete(n->cluster, n, cookie, r->status);
}

static void env_before_step(void *ctx, const struct craft_input *in)
{
    struct sim_node *n = ctx;
    struct sim_cluster *c = n->cluster;
    struct craft_membership cfg;
    c->step_cfg_before = craft_core_membership(n->core, &cfg);
    c->checks.step_cfg.before = sim_member_mask(&cfg);
    if (c->checks.rule_checks) {
        sim_cluster_rules_view(n, &c->step_before);
        for (size_t i = 0; in->type == CRAFT_IN_MSGS && i < in->msgs.n; i++) {
            sim_rules_delivered(&c->checks.rules, &in->msgs.msgs[i]);
        }
    }
}

static void env_stepped(void *ctx, const struct craft_input *in, int rv,
                        const struct craft_output *out)
{
    struct sim_node *n = ctx;
    struct sim_cluster *c = n->cluster;
    struct craft_membership cfg;
    (void)craft_core_membership(n->core, &cfg);
    c->checks.step_cfg.after = sim_member_mask(&cfg);
    if (c->checks.rule_checks) {
        struct sim_rules_view after;
        sim_cluster_rules_view(n, &after);
        sim_rules_step(&c->checks.rules, n->id, in, &c->step_before, &after, out,
                       sim_checks_rule_fail, &c->checks);
    }
    if (in->type == CRAFT_IN_PROPOSE) {
        c->step_res.proposed_term = out->proposed_term;
        c->step_res.proposed_index = out->proposed_index_first;
    }
    /* Requests may be refused (not leader, busy, not a voter...): their callers judge that. */
    bool request = in->type == CRAFT_IN_PROPOSE || in->type == CRAFT_IN_TRANSFER ||
                   in->type == CRAFT_IN_CHANGE || in->type == CRAFT_IN_READ ||
                   (in->type == CRAFT_IN_SNAPSHOT_INSTALLED && rv == CRAFT_ESTALE) ||
                   (in->type == CRAFT_IN_CAMPAIGN && rv == CRAFT_EBUSY && c->p.read_lease);
    if (rv != 0 && (!request || rv == CRAFT_ENOMEM)) {
        sim_checks_fail(&c->checks, n->id, "core_step_error",
                        "n%" PRIu64 " craft_core_step(input type %u) returned %s", n->id, in->type,
                        craft_errname(rv));
    }
    if (out->snapshot.index > n->core_emitted) {
        n->core_emitted = out->snapshot.index;
    }
    if (out->n_committed > 0) {
        if (out->committed[0].index != n->core_emitted + 1) {
            sim_checks_fail(&c->checks, n->id, "apply_once",
                            "n%" PRIu64 "'s core hands out committed entries from %" PRIu64
                            " after %" PRIu64 " (nothing may come twice, or be skipped)",
                            n->id, out->committed[0].index, n->core_emitted);
        }
        n->core_emitted = out->committed[out->n_committed - 1].index;
    }
    sim_checks_output_log(&c->checks, n, out);
    handle_events(c, n, out);
    if (out->hard_state_changed) {
        sim_checks_hard_state(&c->checks, n, &out->hard_state);
    }
    if (out->snapshot.index > n->applied_told) {
        /* Installed: the core counts it applied; the node queues the restore, which the apply
         * worker runs in order, after what was queued before it (sim_apply.c). */
        n->applied_told = out->snapshot.index;
    }
}

static void env_carried_out(void *ctx, const struct craft_input *in,
                            const struct craft_output *out)
{
    (void)in;
    struct sim_node *n = ctx;
    struct sim_cluster *c = n->cluster;
    sim_outcomes_on_output(c, n, out);
    sim_reads_on_output(c, n, out);
    sim_fetch_on_output(c, n, out);
    sim_member_after_step(c, n, out, c->step_cfg_before);
}

static void env_failed(void *ctx, int rv)
{
    struct sim_node *n = ctx;
    sim_checks_fail(&n->cluster->checks, n->id, "node_failed",
                    "n%" PRIu64 " stopped: %s", n->id, craft_errname(rv));
}

struct node_env sim_node_env(struct sim_node *n)
{
    struct node_env env = {
        .ctx = n,
        .now_ms = env_now_ms,
        .timer_arm = env_timer_arm,
        .send = env_send,
        .log_submit = env_log_submit,
        .apply_submit = env_apply_submit,
        .complete = env_complete,
        .snapshot_taken = env_snapshot_taken,
        .send_chunk = env_send_chunk,
        .send_ack = env_send_ack,
        .snapshot_received = env_snapshot_received,
        .stream_ended = env_stream_ended,
        .before_step = env_before_step,
        .stepped = env_stepped,
        .carried_out = env_carried_out,
        .failed = env_failed,
    };
    return env;
}
