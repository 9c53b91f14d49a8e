/* Batched deliveries (one CRAFT_IN_MSGS with n > 1), campaign requests at random times, and the
 * byte limit of one AppendEntries: the inputs a real node's event loop produces. */
#include "sim_feed.h"

#include <inttypes.h>
#include <string.h>

#include "sim_cluster.h"
#include "util/assert.h"

static void inbox_clear(struct sim_inbox *ib)
{
    for (size_t i = 0; i < ib->n; i++) {
        sim_net_msg_free(ib->msgs[i]);
        ib->msgs[i] = NULL;
    }
    ib->n = 0;
}

void sim_inbox_close(struct sim_inbox *ib)
{
    inbox_clear(ib);
}

/* Feeds everything in n's inbox as one input, in arrival order. */
static void flush(struct sim_cluster *c, struct sim_node *n)
{
    struct sim_inbox *ib = &c->inbox[n->id];
    CRAFT_ASSERT(ib->epoch == n->epoch);
    size_t k = ib->n;
    if (k == 0) {
        return;
    }
    /* The inbox is emptied first: feeding may deliver nothing new, but the messages stay ours
     * (their entries point into them) until the step is carried out. */
    struct sim_net_msg *held[SIM_FEED_MSGS_MAX];
    struct craft_msg batch[SIM_FEED_MSGS_MAX];
    for (size_t i = 0; i < k; i++) {
        held[i] = ib->msgs[i];
        batch[i] = held[i]->m;
        ib->msgs[i] = NULL;
    }
    ib->n = 0;
    ib->gen++; /* a flush event still pending for these messages is now stale */
    struct craft_input in = {.type = CRAFT_IN_MSGS};
    in.msgs.msgs = batch;
    in.msgs.n = k;
    sim_cluster_feed(c, n, &in, NULL);
    for (size_t i = 0; i < k; i++) {
        sim_net_msg_free(held[i]);
    }
}

void sim_feed_deliver(struct sim_cluster *c, struct sim_node *n, struct sim_net_msg *nm)
{
    CRAFT_ASSERT(n->up);
    CRAFT_ASSERT(c->p.batch_window_us > 0);
    struct sim_inbox *ib = &c->inbox[n->id];
    if (ib->epoch != n->epoch) {
        inbox_clear(ib); /* delivered to a life that crashed before feeding them */
        ib->epoch = n->epoch;
    }
    CRAFT_ASSERT(ib->n < SIM_FEED_MSGS_MAX);
    ib->msgs[ib->n++] = nm;
    if (ib->n == SIM_FEED_MSGS_MAX) {
        flush(c, n);
        return;
    }
    if (ib->n == 1) {
        ib->gen++;
        sim_heap_push(&c->heap, c->now_us + c->p.batch_window_us, SIM_EV_FLUSH, (uint32_t)n->id,
                      ib->gen, NULL);
    }
}

void sim_feed_on_flush(struct sim_cluster *c, const struct sim_event *ev)
{
    struct sim_node *n = &c->nodes[ev->node];
    struct sim_inbox *ib = &c->inbox[ev->node];
    if (ev->arg != ib->gen) {
        return; /* its messages were fed when the inbox filled up */
    }
    if (!n->up || ib->epoch != n->epoch) {
        inbox_clear(ib); /* the node crashed with them unread */
        return;
    }
    flush(c, n);
}

static uint64_t next_campaign_us(struct sim_cluster *c)
{
    return prng_range(&c->rng_feed, c->p.campaign_us_min, (uint64_t)c->p.campaign_us_max + 1);
}

void sim_feed_start(struct sim_cluster *c)
{
    if (c->p.campaign_us_max > 0) {
        sim_cluster_schedule(c, next_campaign_us(c), SIM_EV_CAMPAIGN, 0, 0);
    }
}

void sim_feed_on_campaign(struct sim_cluster *c, const struct sim_event *ev)
{
    (void)ev;
    if (!c->faults_on) {
        return; /* the healed phase is left alone, so liveness is judged on a quiet cluster */
    }
    craft_id id = 1 + prng_below(&c->rng_feed, c->p.n_nodes);
    struct sim_node *n = &c->nodes[id];
    if (n->up && !sim_pause_active(c, id)) {
        sim_trace_add(&c->trace, c->now_us, SIM_TR_NOTE, (uint32_t)id, SIM_NOTE_CAMPAIGN, 0, 0);
        struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
        sim_cluster_feed(c, n, &in, NULL);
    }
    sim_cluster_schedule(c, next_campaign_us(c), SIM_EV_CAMPAIGN, 0, 0);
}

void sim_feed_check_send(struct sim_cluster *c, const struct sim_node *from,
                         const struct craft_msg *m)
{
    if (!c->checks.rule_checks || m->type != CRAFT_MSG_APPEND || m->append.n_entries < 2 ||
        c->p.append_bytes_max == 0) {
        return;
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < m->append.n_entries; i++) {
        bytes += m->append.entries[i].data.len;
    }
    if (bytes > c->p.append_bytes_max) {
        sim_checks_fail(&c->checks, from->id, "append_bytes_max",
                        "n%" PRIu64 " sends an AppendEntries of %u entries and %" PRIu64
                        " bytes to n%" PRIu64 " (append_bytes_max %" PRIu64 ")",
                        from->id, m->append.n_entries, bytes, m->to, c->p.append_bytes_max);
    }
}
