/* Zero-copy hand-off of payloads: the log writer and the state machine read entries from the
 * core's log memory, each hand-off holding a payload ticket (craft_core_payload_ticket) until it
 * is durable or applied; the core reuses dropped memory only once every older ticket is back. */
#include <string.h>

#include "node_internal.h"

#include "util/alloc.h"
#include "util/assert.h"

int node_payload_hand_over(struct node *n, craft_index index)
{
    struct node_tickets *t = &n->apply_tickets;
    if (t->head > 0 && t->head + t->n == t->cap) {
        memmove(t->items, t->items + t->head, t->n * sizeof *t->items);
        t->head = 0;
    }
    void *arr = t->items;
    if (!craft_grow(&arr, &t->cap, t->head + t->n + 1, sizeof *t->items)) {
        return CRAFT_ENOMEM;
    }
    t->items = arr;
    t->items[t->head + t->n++] = (struct node_ticket){
        .index = index,
        .ticket = craft_core_payload_ticket(n->core),
    };
    return 0;
}

/* The oldest ticket still out among the writes in flight (0: none). */
static uint64_t oldest_write_ticket(const struct node *n)
{
    for (size_t i = 0; i < n->n_writes; i++) {
        uint64_t ticket = n->writes[n->writes_head + i].ticket;
        if (ticket != 0) {
            return ticket; /* tickets rise with the writes */
        }
    }
    return 0;
}

void node_payload_settle(struct node *n)
{
    struct node_tickets *t = &n->apply_tickets;
    while (t->n > 0 && t->items[t->head].index <= n->apply_reported) {
        t->head++;
        t->n--;
    }
    if (t->n == 0) {
        t->head = 0;
    }
    /* Everything before the oldest ticket out is back; with none out, every one is. */
    uint64_t oldest = oldest_write_ticket(n);
    if (t->n > 0 && (oldest == 0 || t->items[t->head].ticket < oldest)) {
        oldest = t->items[t->head].ticket;
    }
    uint64_t done = oldest != 0 ? oldest - 1 : craft_core_payload_ticket_last(n->core);
#ifdef CRAFT_MUTATION_PAYLOAD_TICKET_EARLY
    done = craft_core_payload_ticket_last(n->core); /* mutation: tickets returned at once */
#endif
    craft_core_payload_done(n->core, done);
}

void node_payload_close(struct node *n)
{
    craft_free(n->apply_tickets.items);
    n->apply_tickets = (struct node_tickets){0};
}
