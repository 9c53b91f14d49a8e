/* Binary heap of simulator events; ties on time break by insertion sequence (determinism). */
#include "sim_heap.h"

#include "sim_mem.h"

void sim_heap_init(struct sim_heap *h)
{
    h->ev = NULL;
    h->n = 0;
    h->cap = 0;
    h->seq_next = 0;
}

void sim_heap_close(struct sim_heap *h)
{
    craft_free(h->ev);
    sim_heap_init(h);
}

static bool before(const struct sim_event *x, const struct sim_event *y)
{
    if (x->time_us != y->time_us) {
        return x->time_us < y->time_us;
    }
    return x->seq < y->seq;
}

void sim_heap_push(struct sim_heap *h, uint64_t time_us, uint32_t kind, uint32_t node, uint64_t arg,
                   void *ptr)
{
    void *arr = h->ev;
    sim_grow(&arr, &h->cap, h->n + 1, sizeof(*h->ev));
    h->ev = arr;
    struct sim_event e = {time_us, h->seq_next++, kind, node, arg, ptr};
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &h->ev[parent])) {
            break;
        }
        h->ev[i] = h->ev[parent];
        i = parent;
    }
    h->ev[i] = e;
}

bool sim_heap_pop(struct sim_heap *h, struct sim_event *out)
{
    if (h->n == 0) {
        return false;
    }
    *out = h->ev[0];
    struct sim_event last = h->ev[--h->n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n) {
            break;
        }
        if (child + 1 < h->n && before(&h->ev[child + 1], &h->ev[child])) {
            child++;
        }
        if (!before(&h->ev[child], &last)) {
            break;
        }
        h->ev[i] = h->ev[child];
        i = child;
    }
    if (h->n > 0) {
        h->ev[i] = last;
    }
    return true;
}
