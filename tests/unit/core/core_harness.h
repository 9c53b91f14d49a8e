/* A tiny in-test cluster of 1..5 cores for the core's unit tests: messages are deep-copied into
 * a FIFO network (so a test may step any core at any time), persistence is explicit (h_persist),
 * and msgs_after_persist are held until the node's persist. Header-only: each test file is its
 * own executable. */
#ifndef CRAFT_TEST_CORE_HARNESS_H
#define CRAFT_TEST_CORE_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "craft/core.h"

#define H_NODES_MAX 5
#define H_QUEUE_MAX 4096

struct h_msg {
    struct craft_msg m; /* append.entries points at entries, owned */
    struct craft_entry *entries;
};

struct h_node {
    struct craft_core *core;
    uint64_t now;
    craft_term persist_term; /* last entry handed out for persisting, not yet reported */
    craft_index persist_index;
    bool persist_pending;
    struct h_msg held[H_QUEUE_MAX]; /* msgs_after_persist waiting for this node's persist */
    size_t n_held;
    craft_index applied_last; /* highest committed index seen in an output */
    size_t n_committed;
    struct craft_read_result reads[256]; /* read outcomes seen in outputs, in order */
    size_t n_reads;
    struct craft_fetch fetches[64]; /* fetch requests seen in outputs, in order */
    size_t n_fetches;
    struct craft_snapshot_send sends[64]; /* snapshot sends seen in outputs, in order */
    size_t n_sends;
    struct craft_propose_result proposals[64]; /* proposal outcomes seen in outputs, in order */
    size_t n_proposals;
};

struct harness {
    unsigned n;
    struct h_node nodes[H_NODES_MAX]; /* node i has id i + 1 */
    struct h_msg net[H_QUEUE_MAX];    /* FIFO */
    size_t n_net;
    bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1]; /* cut[from][to]: messages are dropped */
    /* Counters a test may read. */
    size_t n_delivered[CRAFT_MSG_TYPE_MAX + 1];
    size_t n_rejects; /* APPEND_RESP with success false, delivered */
    size_t n_sent_with_entries[H_NODES_MAX + 1]; /* AppendEntries carrying entries, by target */
    size_t n_sent_empty[H_NODES_MAX + 1];        /* AppendEntries without entries, by target */
};

static inline void h_config(struct craft_core_config *cfg, craft_id id, const craft_id *voters,
                            unsigned n)
{
    craft_core_config_init(cfg);
    cfg->id = id;
    cfg->voters = voters;
    cfg->n_voters = n;
    cfg->seed = 42;
}

static inline struct h_msg h_copy_msg(const struct craft_msg *m)
{
    struct h_msg c = {.m = *m};
    if (m->type == CRAFT_MSG_APPEND && m->append.n_entries > 0) {
        size_t n = m->append.n_entries;
        size_t bytes = 0;
        for (size_t i = 0; i < n; i++) {
            bytes += m->append.entries[i].data.len;
        }
        c.entries = malloc(n * sizeof *c.entries + bytes);
        assert_non_null(c.entries);
        unsigned char *data = (unsigned char *)(c.entries + n);
        for (size_t i = 0; i < n; i++) {
            c.entries[i] = m->append.entries[i];
            if (c.entries[i].data.len > 0) {
                memcpy(data, m->append.entries[i].data.base, c.entries[i].data.len);
                c.entries[i].data.base = data;
                data += c.entries[i].data.len;
            }
        }
        c.m.append.entries = c.entries;
    }
    return c;
}

static inline void h_send(struct harness *h, const struct craft_msg *m)
{
    assert_true(h->n_net < H_QUEUE_MAX);
    if (m->type == CRAFT_MSG_APPEND && m->append.n_entries > 0 && m->to <= H_NODES_MAX) {
        h->n_sent_with_entries[m->to]++;
    }
    if (m->type == CRAFT_MSG_APPEND && m->append.n_entries == 0 && m->to <= H_NODES_MAX) {
        h->n_sent_empty[m->to]++;
    }
    h->net[h->n_net++] = h_copy_msg(m);
}

/* Carries out the parts of an output that do not need another step: queue msgs, hold
 * msgs_after_persist, note what to persist and what committed. */
static inline void h_take_output(struct harness *h, unsigned i, const struct craft_output *out)
{
    struct h_node *node = &h->nodes[i];
    if (out->n_entries > 0) {
        node->persist_term = out->entries[out->n_entries - 1].term;
        node->persist_index = out->entries[out->n_entries - 1].index;
        node->persist_pending = true;
    }
    /* A truncation or hard state alone still has to be "written"; messages that wait for the
     * persist go out with the next h_persist even when this step wrote nothing. */
    if (out->truncate_from != 0 || out->hard_state_changed || out->n_msgs_after_persist > 0 ||
        out->snapshot.index != 0) {
        node->persist_pending = true;
    }
    for (size_t k = 0; k < out->n_msgs; k++) {
        h_send(h, &out->msgs[k]);
    }
    for (size_t k = 0; k < out->n_msgs_after_persist; k++) {
        assert_true(node->n_held < H_QUEUE_MAX);
        node->held[node->n_held++] = h_copy_msg(&out->msgs_after_persist[k]);
    }
    for (size_t k = 0; k < out->n_reads; k++) {
        assert_true(node->n_reads < 256);
        node->reads[node->n_reads++] = out->reads[k];
    }
    for (size_t k = 0; k < out->n_proposals; k++) {
        assert_true(node->n_proposals < 64);
        node->proposals[node->n_proposals++] = out->proposals[k];
    }
    for (size_t k = 0; k < out->n_fetches; k++) {
        assert_true(node->n_fetches < 64);
        node->fetches[node->n_fetches++] = out->fetches[k];
    }
    for (size_t k = 0; k < out->n_snapshot_sends; k++) {
        assert_true(node->n_sends < 64);
        node->sends[node->n_sends++] = out->snapshot_sends[k];
    }
    if (out->snapshot.index > node->applied_last) {
        node->applied_last = out->snapshot.index; /* the state machine was restored from it */
    }
    for (size_t k = 0; k < out->n_committed; k++) {
        assert_true(out->committed[k].index > node->applied_last);
        node->applied_last = out->committed[k].index;
        node->n_committed++;
    }
}

/* Creates n cores; boots (if not NULL) gives each node's recovered state. */
static inline void h_init_boot(struct harness *h, unsigned n,
                               void (*tweak)(struct craft_core_config *),
                               const struct craft_core_boot *boots)
{
    memset(h, 0, sizeof *h);
    craft_id voters[H_NODES_MAX];
    for (unsigned i = 0; i < n; i++) {
        voters[i] = i + 1;
    }
    h->n = n;
    for (unsigned i = 0; i < n; i++) {
        struct craft_core_config cfg;
        h_config(&cfg, i + 1, voters, n);
        if (tweak != NULL) {
            tweak(&cfg);
        }
        const struct craft_core_boot *boot = boots != NULL ? &boots[i] : NULL;
        assert_int_equal(craft_core_create(&cfg, boot, &h->nodes[i].core), 0);
        /* Start every node's clock at 0, so a test's ticks count from there. */
        struct craft_input in = {.type = CRAFT_IN_TICK, .tick.now_ms = 0};
        struct craft_output out;
        assert_int_equal(craft_core_step(h->nodes[i].core, &in, &out), 0);
        h_take_output(h, i, &out);
    }
}

static inline void h_init(struct harness *h, unsigned n, void (*tweak)(struct craft_core_config *))
{
    h_init_boot(h, n, tweak, NULL);
}

/* A configuration of the given voters, no learners. */
static inline struct craft_membership h_voters(const craft_id *ids, unsigned n)
{
    struct craft_membership m;
    memset(&m, 0, sizeof m);
    memcpy(m.voters, ids, n * sizeof ids[0]);
    m.n_voters = n;
    return m;
}

/* A harness lives on the heap: its queues are large. */
static inline struct harness *h_new(void)
{
    struct harness *h = calloc(1, sizeof *h);
    assert_non_null(h);
    return h;
}

/* Fills entries[0..n) with indexes 1..n and the given terms, each with a one-byte payload. */
static inline void h_make_entries(struct craft_entry *entries, const craft_term *terms, size_t n)
{
    static const unsigned char payload[] = "x";
    for (size_t i = 0; i < n; i++) {
        entries[i] = (struct craft_entry){.term = terms[i],
                                          .index = i + 1,
                                          .type = CRAFT_ENTRY_NORMAL,
                                          .data = {.base = payload, .len = 1}};
    }
}

static inline void h_free_msg(struct h_msg *m)
{
    free(m->entries);
    m->entries = NULL;
}

static inline void h_close(struct harness *h)
{
    for (size_t k = 0; k < h->n_net; k++) {
        h_free_msg(&h->net[k]);
    }
    for (unsigned i = 0; i < h->n; i++) {
        for (size_t k = 0; k < h->nodes[i].n_held; k++) {
            h_free_msg(&h->nodes[i].held[k]);
        }
        craft_core_destroy(h->nodes[i].core);
    }
    memset(h, 0, sizeof *h);
}

static inline void h_free(struct harness *h)
{
    h_close(h);
    free(h);
}

static inline struct craft_core *h_core(struct harness *h, craft_id id)
{
    return h->nodes[id - 1].core;
}

/* Steps node id and carries out the output; returns the step's result. *out (if not NULL)
 * receives the output, valid until the node's next step. */
static inline int h_step(struct harness *h, craft_id id, const struct craft_input *in,
                         struct craft_output *out)
{
    struct craft_output local;
    struct craft_output *o = out != NULL ? out : &local;
    int rv = craft_core_step(h->nodes[id - 1].core, in, o);
    h_take_output(h, id - 1, o);
    return rv;
}

/* Reports node id's pending persist as durable and releases its held messages. */
static inline void h_persist(struct harness *h, craft_id id)
{
    struct h_node *node = &h->nodes[id - 1];
    if (!node->persist_pending) {
        return;
    }
    node->persist_pending = false;
    for (size_t k = 0; k < node->n_held; k++) {
        assert_true(h->n_net < H_QUEUE_MAX);
        h->net[h->n_net++] = node->held[k];
    }
    node->n_held = 0;
    if (node->persist_index != 0) {
        struct craft_input in = {.type = CRAFT_IN_PERSISTED,
                                 .persisted = {.term = node->persist_term,
                                               .index = node->persist_index}};
        node->persist_index = 0;
        assert_int_equal(h_step(h, id, &in, NULL), 0);
    }
}

static inline int h_tick(struct harness *h, craft_id id, uint64_t ms)
{
    h->nodes[id - 1].now += ms;
    struct craft_input in = {.type = CRAFT_IN_TICK, .tick.now_ms = h->nodes[id - 1].now};
    return h_step(h, id, &in, NULL);
}

/* Delivers the oldest queued message (dropping it if cut). Returns false if none was queued. */
static inline bool h_deliver_one(struct harness *h)
{
    if (h->n_net == 0) {
        return false;
    }
    struct h_msg m = h->net[0];
    memmove(h->net, h->net + 1, (h->n_net - 1) * sizeof *h->net);
    h->n_net--;
    if (m.m.to >= 1 && m.m.to <= h->n && !h->cut[m.m.from][m.m.to]) {
        h->n_delivered[m.m.type]++;
        if (m.m.type == CRAFT_MSG_APPEND_RESP && !m.m.append_resp.success) {
            h->n_rejects++;
        }
        struct craft_input in = {.type = CRAFT_IN_MSGS, .msgs = {.msgs = &m.m, .n = 1}};
        assert_int_equal(h_step(h, m.m.to, &in, NULL), 0);
    }
    h_free_msg(&m);
    return true;
}

/* Tells every core what its state machine applied (everything handed out); returns true if any
 * core learned something new. */
static inline bool h_apply_all(struct harness *h)
{
    bool any = false;
    for (unsigned i = 0; i < h->n; i++) {
        struct craft_core_status st;
        craft_core_status(h->nodes[i].core, &st);
        if (h->nodes[i].applied_last > st.applied) {
            struct craft_input in = {.type = CRAFT_IN_APPLIED,
                                     .applied.index = h->nodes[i].applied_last};
            assert_int_equal(h_step(h, i + 1, &in, NULL), 0);
            any = true;
        }
    }
    return any;
}

/* Delivers the n oldest queued messages (fewer if fewer are queued), in order. */
static inline void h_deliver_n(struct harness *h, size_t n)
{
    for (size_t k = 0; k < n && h_deliver_one(h); k++) {
    }
}

/* Delivers and persists until nothing is left to do. */
static inline void h_stabilize(struct harness *h)
{
    for (int rounds = 0; rounds < 100000; rounds++) {
        bool any = false;
        while (h_deliver_one(h)) {
            any = true;
        }
        for (unsigned i = 0; i < h->n; i++) {
            if (h->nodes[i].persist_pending) {
                h_persist(h, i + 1);
                any = true;
            }
        }
        any |= h_apply_all(h);
        if (!any) {
            return;
        }
    }
    fail_msg("the harness did not settle");
}

static inline void h_status(struct harness *h, craft_id id, struct craft_core_status *st)
{
    craft_core_status(h_core(h, id), st);
}

/* Campaigns on id and settles; the caller checks who leads. */
static inline void h_elect(struct harness *h, craft_id id)
{
    struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
    assert_int_equal(h_step(h, id, &in, NULL), 0);
    h_stabilize(h);
}

static inline int h_propose(struct harness *h, craft_id id, const char *cmd,
                            struct craft_output *out)
{
    struct craft_buf buf = {.base = cmd, .len = strlen(cmd)};
    struct craft_input in = {.type = CRAFT_IN_PROPOSE, .propose = {.cmds = &buf, .n = 1}};
    return h_step(h, id, &in, out);
}

/* Counts messages of type in out->msgs (after == false) or out->msgs_after_persist. */
static inline size_t h_count(const struct craft_output *out, uint32_t type, bool after)
{
    const struct craft_msg *msgs = after ? out->msgs_after_persist : out->msgs;
    size_t n = after ? out->n_msgs_after_persist : out->n_msgs;
    size_t c = 0;
    for (size_t k = 0; k < n; k++) {
        c += msgs[k].type == type;
    }
    return c;
}

/* A core stepped directly (no harness), created from a boot state. */
static inline struct craft_core *h_boot_core(craft_id id, unsigned n_voters, bool pre_vote,
                                             const struct craft_core_boot *boot)
{
    craft_id voters[H_NODES_MAX] = {1, 2, 3, 4, 5};
    struct craft_core_config cfg;
    h_config(&cfg, id, voters, n_voters);
    cfg.pre_vote = pre_vote;
    struct craft_core *c = NULL;
    assert_int_equal(craft_core_create(&cfg, boot, &c), 0);
    return c;
}

/* Steps c with one message. */
static inline int h_feed(struct craft_core *c, const struct craft_msg *m, struct craft_output *out)
{
    struct craft_input in = {.type = CRAFT_IN_MSGS, .msgs = {.msgs = m, .n = 1}};
    return craft_core_step(c, &in, out);
}

#endif
