/* Carrying out one craft_output in the contract's order (core.h): the persist goes to the log
 * writer and the answers that depend on it wait for it; messages go out at once; committed
 * entries and safe reads go to apply (node_apply.c). */
#include <string.h>

#include "node_internal.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/msg_copy.h"

static struct node_write *newest_write(struct node *n)
{
    return n->n_writes > 0 ? &n->writes[n->writes_head + n->n_writes - 1] : NULL;
}

static struct node_write *push_write(struct node *n)
{
    if (n->writes_head > 0 && n->writes_head + n->n_writes == n->cap_writes) {
        memmove(n->writes, n->writes + n->writes_head, n->n_writes * sizeof *n->writes);
        n->writes_head = 0;
    }
    void *arr = n->writes;
    if (!craft_grow(&arr, &n->cap_writes, n->writes_head + n->n_writes + 1, sizeof *n->writes)) {
        return NULL;
    }
    n->writes = arr;
    struct node_write *w = &n->writes[n->writes_head + n->n_writes++];
    memset(w, 0, sizeof *w);
    return w;
}

static void write_release(struct node_write *w)
{
    for (size_t i = 0; i < w->n_held; i++) {
        craft_free(w->held[i]);
    }
    craft_free(w->held);
    w->held = NULL;
    w->n_held = 0;
}

void node_writes_free(struct node *n)
{
    for (size_t i = 0; i < n->n_writes; i++) {
        write_release(&n->writes[n->writes_head + i]);
    }
    craft_free(n->writes);
    n->writes = NULL;
    n->n_writes = 0;
}

static int hold(struct node_write *w, const struct craft_msg *m)
{
    void *arr = w->held;
    if (!craft_grow(&arr, &w->cap_held, w->n_held + 1, sizeof *w->held)) {
        return CRAFT_ENOMEM;
    }
    w->held = arr;
    void *block = msg_copy_block(m, sizeof(struct craft_msg), 0);
    if (block == NULL) {
        return CRAFT_ENOMEM;
    }
    w->held[w->n_held++] = block;
    return 0;
}

static void persist(struct node *n, const struct craft_output *out)
{
    bool has_persist = out->hard_state_changed || out->snapshot.index != 0 ||
                       out->truncate_from != 0 || out->n_entries > 0;
    if (!has_persist && out->n_msgs_after_persist == 0) {
        return;
    }
    struct node_write *w = NULL;
    if (has_persist) {
        if (out->truncate_from != 0 && n->env.rollback != NULL) {
            n->env.rollback(n->env.ctx, out->truncate_from);
        }
        struct craft_persist p = craft_output_persist(out);
        uint64_t seq = 0;
        int rv = n->env.log_submit(n->env.ctx, &p, &seq);
        if (rv == 0) {
            w = push_write(n);
            rv = w == NULL ? CRAFT_ENOMEM : 0;
        }
        if (rv != 0) {
            node_fail(n, rv);
            return;
        }
        w->seq = seq;
        if (out->n_entries > 0) {
            w->ticket = craft_core_payload_ticket(n->core); /* the writer reads them in place */
            w->term = out->entries[out->n_entries - 1].term;
            w->index = out->entries[out->n_entries - 1].index;
            if (n->env.pre_commit != NULL) {
                n->env.pre_commit(n->env.ctx, out->entries, out->n_entries);
            }
        }
    } else {
        /* Nothing to write: the answers wait only for what is in flight already. */
        w = newest_write(n);
        if (w == NULL) {
            for (size_t i = 0; i < out->n_msgs_after_persist; i++) {
                n->env.send(n->env.ctx, &out->msgs_after_persist[i]);
            }
            return;
        }
    }
    for (size_t i = 0; i < out->n_msgs_after_persist; i++) {
#ifdef CRAFT_MUTATION_NODE_ANSWER_BEFORE_WRITE
        n->env.send(n->env.ctx, &out->msgs_after_persist[i]); /* mutation: not held */
        continue;
#endif
        if (hold(w, &out->msgs_after_persist[i]) != 0) {
            node_fail(n, CRAFT_ENOMEM);
            return;
        }
    }
}

void node_on_durable(struct node *n, uint64_t seq)
{
    if (n->failed != 0 || seq <= n->seq_durable) {
        return;
    }
    n->seq_durable = seq;
    craft_term term = 0;
    craft_index index = 0;
    /* An answer of an earlier term than the core's now is dropped: a later write of the same
     * batch may have moved the node on (a vote, then a campaign of its own; an acknowledgement,
     * then a newer leader's overwrite), so what it promised may never have been durable as
     * such. It is of no use to anyone either: its term is over here. */
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    while (n->n_writes > 0 && n->writes[n->writes_head].seq <= seq) {
        struct node_write *w = &n->writes[n->writes_head];
        for (size_t i = 0; i < w->n_held; i++) {
            const struct craft_msg *m = w->held[i];
#ifdef CRAFT_MUTATION_NODE_STALE_ANSWER_SENT
            st.term = m->term; /* mutation: answers of an ended term go out too */
#endif
            if (m->term == st.term) {
                n->env.send(n->env.ctx, m);
            }
        }
        if (w->index != 0) {
            term = w->term;
            index = w->index;
        }
        write_release(w);
        n->writes_head++;
        n->n_writes--;
    }
    if (n->n_writes == 0) {
        n->writes_head = 0;
    }
    node_payload_settle(n);
    if (index != 0) {
        struct craft_input in = {.type = CRAFT_IN_PERSISTED};
        in.persisted.term = term;
        in.persisted.index = index;
        (void)node_step(n, &in);
    }
}

void node_carry_out(struct node *n, const struct craft_output *out)
{
    if (n->failed != 0) {
        return;
    }
    persist(n, out);
    if (n->failed != 0) {
        return;
    }
    for (size_t i = 0; i < out->n_msgs; i++) {
        n->env.send(n->env.ctx, &out->msgs[i]);
    }
    if (out->snapshot.index > n->handed) {
        /* Installed (the received snapshot, n->installing): the state machine is restored from
         * it before anything after it is applied; the core counts it applied. A state machine
         * that kept more across a restart (handed past it) stays as it is. */
        CRAFT_ASSERT(n->installing.index == out->snapshot.index);
        struct node_apply_item item = {.kind = NODE_APPLY_RESTORE};
        item.meta = &n->installing;
        int rv = n->env.apply_submit(n->env.ctx, &item, 1);
        if (rv != 0) {
            node_fail(n, rv);
            return;
        }
        n->applied = out->snapshot.index;
        node_apply_covered(n, out->snapshot.index);
    }
    node_apply_output(n, out);
    for (size_t i = 0; i < out->n_snapshot_sends; i++) {
        node_stream_start(n, &out->snapshot_sends[i]);
    }
    for (size_t i = 0; i < out->n_fetches && n->env.fetch != NULL; i++) {
        n->env.fetch(n->env.ctx, &out->fetches[i]);
    }
}
