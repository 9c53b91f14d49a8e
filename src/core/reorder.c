/* Holding AppendEntries that arrived ahead of the log until the gap before them fills. */
#include "reorder.h"

#include <string.h>

#include "core_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

static void held_free(struct reorder_held *h)
{
    craft_free(h->entries);
    memset(h, 0, sizeof *h);
}

static void take_out(struct reorder *r, unsigned i)
{
    r->bytes -= r->held[i].bytes;
    r->held[i] = r->held[--r->n];
    memset(&r->held[r->n], 0, sizeof r->held[r->n]);
}

bool reorder_hold(struct craft_core *c, const struct craft_msg *m)
{
    struct reorder *r = &c->reorder;
    const struct craft_msg_append *a = &m->append;
    CRAFT_ASSERT(m->type == CRAFT_MSG_APPEND && a->prev_index > log_last_index(&c->log));
    if (a->n_entries == 0 || r->n == REORDER_MSGS_MAX) {
        return false;
    }
    size_t bytes = 0;
    for (uint32_t i = 0; i < a->n_entries; i++) {
        bytes += a->entries[i].data.len;
    }
    if (r->bytes + bytes > REORDER_BYTES_MAX) {
        return false;
    }
    for (unsigned i = 0; i < r->n; i++) {
        if (r->held[i].m.append.prev_index == a->prev_index && r->held[i].m.term == m->term) {
            return true; /* a duplicate of one kept already */
        }
    }
    struct reorder_held *h = &r->held[r->n];
    h->entries = craft_malloc(a->n_entries * sizeof *h->entries + bytes);
    if (h->entries == NULL) {
        return false; /* refused instead: the leader resends */
    }
    unsigned char *data = (unsigned char *)(h->entries + a->n_entries);
    for (uint32_t i = 0; i < a->n_entries; i++) {
        h->entries[i] = a->entries[i];
        if (a->entries[i].data.len > 0) {
            memcpy(data, a->entries[i].data.base, a->entries[i].data.len);
            h->entries[i].data.base = data;
            data += a->entries[i].data.len;
        }
    }
    h->m = *m;
    h->m.append.entries = h->entries;
    h->bytes = bytes;
    r->bytes += bytes;
    r->n++;
    return true;
}

const struct craft_msg *reorder_next(struct craft_core *c)
{
    struct reorder *r = &c->reorder;
    held_free(&r->current);
    for (unsigned i = 0; i < r->n;) {
        const struct craft_msg *m = &r->held[i].m;
        if (m->term != c->term || m->from != c->leader || c->role != CRAFT_FOLLOWER) {
            struct reorder_held gone = r->held[i];
            take_out(r, i);
            held_free(&gone); /* from a leadership that is over */
            continue;
        }
        i++;
    }
    craft_index last = log_last_index(&c->log);
    unsigned best = r->n;
    for (unsigned i = 0; i < r->n; i++) {
        craft_index prev = r->held[i].m.append.prev_index;
        if (prev <= last && (best == r->n || prev < r->held[best].m.append.prev_index)) {
            best = i;
        }
    }
    if (best == r->n) {
        return NULL;
    }
    r->current = r->held[best];
    take_out(r, best);
    return &r->current.m;
}

void reorder_close(struct reorder *r)
{
    for (unsigned i = 0; i < r->n; i++) {
        held_free(&r->held[i]);
    }
    held_free(&r->current);
    memset(r, 0, sizeof *r);
}
