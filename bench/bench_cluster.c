/* The benchmark cluster: carries out each core output at once (persist, send, apply), with
 * messages kept in per-node mailboxes and AppendEntries' entries read from the sender's log at
 * delivery time, so no entry is copied or allocated on the way. */
#include "bench_cluster.h"

#include <stdlib.h>
#include <string.h>

static int mailbox_push(struct bench_mailbox *mb, const struct craft_msg *m, craft_term last_term)
{
    if (mb->n == mb->cap) {
        size_t cap = mb->cap == 0 ? 64 : mb->cap * 2;
        struct craft_msg *msgs = realloc(mb->msgs, cap * sizeof *msgs);
        if (msgs == NULL) {
            return CRAFT_ENOMEM;
        }
        mb->msgs = msgs;
        craft_term *terms = realloc(mb->last_terms, cap * sizeof *terms);
        if (terms == NULL) {
            return CRAFT_ENOMEM;
        }
        mb->last_terms = terms;
        mb->cap = cap;
    }
    mb->msgs[mb->n] = *m;
    mb->msgs[mb->n].append.entries = NULL; /* re-read from the sender when delivered */
    mb->last_terms[mb->n] = last_term;
    mb->n++;
    return 0;
}

static void mailbox_close(struct bench_mailbox *mb)
{
    free(mb->msgs);
    free(mb->last_terms);
    memset(mb, 0, sizeof *mb);
}

int bench_cluster_init(struct bench_cluster *bc, unsigned n, const struct craft_core_config *cfg)
{
    return bench_cluster_init_voters(bc, n, n, cfg);
}

int bench_cluster_init_voters(struct bench_cluster *bc, unsigned n, unsigned n_voters,
                              const struct craft_core_config *cfg)
{
    memset(bc, 0, sizeof *bc);
    if (n == 0 || n > BENCH_NODES_MAX || n_voters == 0 || n_voters > n) {
        return CRAFT_EINVAL;
    }
    craft_id voters[BENCH_NODES_MAX];
    for (unsigned i = 0; i < n; i++) {
        voters[i] = i + 1;
    }
    bc->n = n;
    for (unsigned i = 0; i < n; i++) {
        struct craft_core_config c = *cfg;
        c.id = i + 1;
        c.voters = i < n_voters ? voters : NULL;
        c.n_voters = i < n_voters ? n_voters : 0; /* the others wait to be added */
        int rv = craft_core_create(&c, NULL, &bc->nodes[i].core);
        if (rv != 0) {
            bench_cluster_close(bc);
            return rv;
        }
        bc->nodes[i].checksum = BENCH_CHECKSUM_SEED;
    }
    return 0;
}

void bench_cluster_close(struct bench_cluster *bc)
{
    for (unsigned i = 0; i < bc->n; i++) {
        craft_core_destroy(bc->nodes[i].core);
        mailbox_close(&bc->nodes[i].mailbox);
        mailbox_close(&bc->nodes[i].inbox);
    }
    free(bc->scratch);
    memset(bc, 0, sizeof *bc);
}

static int enqueue(struct bench_cluster *bc, const struct craft_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct craft_msg *m = &msgs[i];
        if (m->to == CRAFT_ID_NONE || m->to > bc->n) {
            continue;
        }
        craft_term last_term = 0;
        if (m->type == CRAFT_MSG_APPEND && m->append.n_entries > 0) {
            last_term = m->append.entries[m->append.n_entries - 1].term;
        }
        int rv = mailbox_push(&bc->nodes[m->to - 1].mailbox, m, last_term);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

static void apply(struct bench_node *node, const struct craft_output *out)
{
    for (size_t i = 0; i < out->n_committed; i++) {
        const struct craft_entry *e = &out->committed[i];
        if (e->type == CRAFT_ENTRY_NORMAL) {
            node->checksum = bench_checksum_add(node->checksum, e->data.base, e->data.len);
            node->n_applied_normal++;
        }
    }
    if (out->n_committed > 0) {
        node->applied = out->committed[out->n_committed - 1].index;
    }
}

/* Carries out one output of node id: queue messages (the persist is durable at once, so those
 * that wait for it may go too), apply what committed, then report the persist and the apply. */
static int carry_out(struct bench_cluster *bc, craft_id id, const struct craft_output *out)
{
    struct bench_node *node = &bc->nodes[id - 1];
    int rv = enqueue(bc, out->msgs, out->n_msgs);
    if (rv == 0) {
        rv = enqueue(bc, out->msgs_after_persist, out->n_msgs_after_persist);
    }
    if (rv != 0) {
        return rv;
    }
    apply(node, out);
    bool applied = out->n_committed > 0;
    struct craft_input in = {.type = CRAFT_IN_PERSISTED};
    if (out->n_entries > 0) {
        const struct craft_entry *last = &out->entries[out->n_entries - 1];
        in.persisted.term = last->term;
        in.persisted.index = last->index;
        /* out is dead after this step; nothing of it is read below. */
        rv = bench_cluster_step(bc, id, &in);
        if (rv != 0) {
            return rv;
        }
    }
    if (applied) {
        in = (struct craft_input){.type = CRAFT_IN_APPLIED, .applied.index = node->applied};
        rv = bench_cluster_step(bc, id, &in);
    }
    /* Memory stays bounded as in a real node, where snapshots let the log be compacted. */
    if (rv == 0 && node->applied > node->compacted + 2 * BENCH_COMPACT_KEEP) {
        node->compacted = node->applied - BENCH_COMPACT_KEEP;
        in = (struct craft_input){.type = CRAFT_IN_COMPACT, .compact.index = node->compacted};
        rv = bench_cluster_step(bc, id, &in);
    }
    return rv;
}

int bench_cluster_step(struct bench_cluster *bc, craft_id id, const struct craft_input *in)
{
    struct craft_output out;
    bc->n_steps++;
    int rv = craft_core_step(bc->nodes[id - 1].core, in, &out);
    int rv2 = carry_out(bc, id, &out);
    return rv != 0 ? rv : rv2;
}

static int scratch_reserve(struct bench_cluster *bc, size_t n)
{
    if (n <= bc->scratch_cap) {
        return 0;
    }
    struct craft_entry *s = realloc(bc->scratch, n * sizeof *s);
    if (s == NULL) {
        return CRAFT_ENOMEM;
    }
    bc->scratch = s;
    bc->scratch_cap = n;
    return 0;
}

/* Points a queued AppendEntries at its entries in the sender's log, which stays put while
 * another core steps. Returns false if the sender no longer holds them (the message is lost,
 * as a network may lose it). The scratch copy is only for a log that is not one array. */
static bool resolve(struct bench_cluster *bc, struct craft_msg *m, craft_term last_term,
                    struct craft_entry **scratch_next)
{
    uint32_t n = m->append.n_entries;
    if (m->type != CRAFT_MSG_APPEND || n == 0) {
        return true;
    }
    const struct craft_core *sender = bc->nodes[m->from - 1].core;
    craft_index first = m->append.prev_index + 1;
    const struct craft_entry *e_first;
    const struct craft_entry *e_last;
    if (craft_core_entry(sender, first, &e_first) != 0 ||
        craft_core_entry(sender, first + n - 1, &e_last) != 0 || e_last->term != last_term) {
        return false;
    }
    if (e_last == e_first + (n - 1)) {
        m->append.entries = e_first;
        return true;
    }
    struct craft_entry *dst = *scratch_next;
    for (uint32_t i = 0; i < n; i++) {
        const struct craft_entry *e;
        if (craft_core_entry(sender, first + i, &e) != 0) {
            return false;
        }
        dst[i] = *e;
    }
    m->append.entries = dst;
    *scratch_next = dst + n;
    return true;
}

static int deliver(struct bench_cluster *bc, unsigned i)
{
    struct bench_node *node = &bc->nodes[i];
    struct bench_mailbox tmp = node->inbox;
    node->inbox = node->mailbox;
    node->mailbox = tmp;
    node->mailbox.n = 0;
    struct bench_mailbox *mb = &node->inbox;
    size_t total = 0;
    for (size_t k = 0; k < mb->n; k++) {
        total += mb->msgs[k].type == CRAFT_MSG_APPEND ? mb->msgs[k].append.n_entries : 0;
    }
    int rv = scratch_reserve(bc, total);
    if (rv != 0) {
        return rv;
    }
    struct craft_entry *scratch_next = bc->scratch;
    size_t kept = 0;
    for (size_t k = 0; k < mb->n; k++) {
        if (resolve(bc, &mb->msgs[k], mb->last_terms[k], &scratch_next)) {
            mb->msgs[kept++] = mb->msgs[k];
        }
    }
    struct craft_input in = {.type = CRAFT_IN_MSGS, .msgs = {.msgs = mb->msgs, .n = kept}};
    rv = bench_cluster_step(bc, i + 1, &in);
    mb->n = 0;
    return rv;
}

int bench_cluster_deliver_round(struct bench_cluster *bc)
{
    int any = 0;
    for (unsigned i = 0; i < bc->n; i++) {
        if (bc->nodes[i].mailbox.n == 0) {
            continue;
        }
        any = 1;
        int rv = deliver(bc, i);
        if (rv != 0) {
            return rv;
        }
    }
    return any;
}
