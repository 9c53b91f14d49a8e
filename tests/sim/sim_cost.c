/* The cost window of the steady phase: counting sends, sampling memory, judging the ratios. */
#include "sim_cost.h"

#include <inttypes.h>
#include <string.h>

#include "sim_cluster.h"
#include "util/assert.h"

static craft_index max_commit(const struct sim_cluster *c)
{
    craft_index commit = 0;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        const struct sim_node *n = &c->nodes[i];
        if (n->up && n->commit > commit) {
            commit = n->commit;
        }
    }
    return commit;
}

void sim_cost_begin(struct sim_cluster *c)
{
    struct sim_cost *k = &c->cost;
    memset(k, 0, sizeof(*k));
    k->on = true;
    k->start_us = c->now_us;
    k->commit_start = max_commit(c);
    k->f.fifo = c->p.net.fifo;
    k->f.followers = c->p.n_nodes - 1;
}

void sim_cost_on_send(struct sim_cluster *c, const struct craft_msg *m)
{
    struct sim_cost *k = &c->cost;
    if (!k->on) {
        return;
    }
    k->f.msgs++;
    k->f.bytes += sim_net_msg_bytes(m);
    if (m->type != CRAFT_MSG_APPEND) {
        return;
    }
    k->f.appends++;
    if (m->append.n_entries == 0) {
        k->f.appends_empty++;
        return;
    }
    for (uint32_t i = 0; i < m->append.n_entries; i++) {
        k->f.entries_sent += m->append.entries[i].index > k->commit_start;
    }
}

void sim_cost_sample(struct sim_cluster *c)
{
    struct sim_cost *k = &c->cost;
    if (!k->on || c->now_us < k->next_sample_us) {
        return;
    }
    k->next_sample_us = c->now_us + SIM_TICK_US;
    uint64_t msgs = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < c->heap.n; i++) {
        const struct sim_event *ev = &c->heap.ev[i];
        if (ev->kind == SIM_EV_DELIVER) {
            const struct sim_net_msg *nm = ev->ptr;
            msgs++;
            bytes += sim_net_msg_bytes(&nm->m);
        }
    }
    k->f.inflight_msgs_max = msgs > k->f.inflight_msgs_max ? msgs : k->f.inflight_msgs_max;
    k->f.inflight_bytes_max = bytes > k->f.inflight_bytes_max ? bytes : k->f.inflight_bytes_max;
    for (unsigned i = 1; i <= c->p.n_nodes; i++) {
        const struct sim_node *n = &c->nodes[i];
        if (n->up && n->n_log > k->f.log_entries_max) {
            k->f.log_entries_max = n->n_log;
        }
    }
}

/* value / unit in thousandths (0 when there is no unit). */
static uint64_t milli(uint64_t value, uint64_t unit)
{
    return unit == 0 ? 0 : value * 1000 / unit;
}

void sim_cost_end(struct sim_cluster *c)
{
    struct sim_cost *k = &c->cost;
    CRAFT_ASSERT(k->on);
    k->on = false;
    struct sim_cost_figures *f = &k->f;
    f->measured = true;
    f->window_us = c->now_us - k->start_us;
    craft_index commit_end = max_commit(c);
    f->commits = commit_end > k->commit_start ? commit_end - k->commit_start : 0;
    f->heartbeats = f->window_us / (SIM_HEARTBEAT_MS * 1000);
    uint64_t fl = f->followers;
    bool fifo = f->fifo;
    const char *links = fifo ? "FIFO" : "reordering";
    /* Every follower needs one heartbeat per interval: more empty appends are waste. */
    uint64_t empty = milli(f->appends_empty, f->heartbeats * fl);
    uint64_t empty_max = fifo ? SIM_COST_EMPTY_PER_HEARTBEAT_FIFO_MILLI
                              : SIM_COST_EMPTY_PER_HEARTBEAT_REORDER_MILLI;
    if (empty > empty_max) {
        sim_checks_fail(&c->checks, 0, "cost",
                        "%" PRIu64 " empty AppendEntries in %" PRIu64 " heartbeat intervals to %"
                        PRIu64 " followers: %.2f per follower per interval, bound %.2f (%s links)",
                        f->appends_empty, f->heartbeats, fl, empty / 1000.0, empty_max / 1000.0,
                        links);
        return;
    }
    if (f->commits < SIM_COST_COMMITS_MIN) {
        return;
    }
    /* Each new entry goes to each follower once; more is retransmission. */
    uint64_t entries = milli(f->entries_sent, f->commits * fl);
    uint64_t entries_max = fifo ? SIM_COST_ENTRIES_PER_COMMIT_FIFO_MILLI
                                : SIM_COST_ENTRIES_PER_COMMIT_REORDER_MILLI;
    if (entries > entries_max) {
        sim_checks_fail(&c->checks, 0, "cost",
                        "%" PRIu64 " new entries sent for %" PRIu64 " committed to %" PRIu64
                        " followers: %.2f per entry per follower, bound %.2f (%s links)",
                        f->entries_sent, f->commits, fl, entries / 1000.0, entries_max / 1000.0,
                        links);
        return;
    }
    /* A follower's traffic is at most an append and its answer per commit, and a heartbeat and
     * its answer per interval; the unit is (commits + intervals) per follower. */
    uint64_t msgs = milli(f->msgs, (f->commits + f->heartbeats) * fl);
    uint64_t msgs_max = fifo ? SIM_COST_MSGS_PER_UNIT_FIFO_MILLI
                             : SIM_COST_MSGS_PER_UNIT_REORDER_MILLI;
    if (msgs > msgs_max) {
        sim_checks_fail(&c->checks, 0, "cost",
                        "%" PRIu64 " messages for %" PRIu64 " commits and %" PRIu64
                        " heartbeat intervals to %" PRIu64 " followers: %.2f per follower per "
                        "(commit + interval), bound %.2f (%s links)",
                        f->msgs, f->commits, f->heartbeats, fl, msgs / 1000.0, msgs_max / 1000.0,
                        links);
    }
}
