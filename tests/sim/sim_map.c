/* Open addressing with linear probing; no deletion (the checkers only ever learn facts). */
#include "sim_map.h"

#include "sim_hash.h"
#include "sim_mem.h"

void sim_map_init(struct sim_map *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->n = 0;
}

void sim_map_close(struct sim_map *m)
{
    craft_free(m->slots);
    sim_map_init(m);
}

static size_t slot_of(uint64_t a, uint64_t b, size_t cap)
{
    return (size_t)(sim_hash_combine(sim_mix64(a), b) & (cap - 1));
}

bool sim_map_get(const struct sim_map *m, uint64_t a, uint64_t b, uint64_t *v)
{
    if (m->cap == 0) {
        return false;
    }
    for (size_t i = slot_of(a, b, m->cap);; i = (i + 1) & (m->cap - 1)) {
        const struct sim_map_slot *s = &m->slots[i];
        if (!s->used) {
            return false;
        }
        if (s->a == a && s->b == b) {
            *v = s->v;
            return true;
        }
    }
}

static void put_slot(struct sim_map_slot *slots, size_t cap, uint64_t a, uint64_t b, uint64_t v,
                     size_t *n)
{
    for (size_t i = slot_of(a, b, cap);; i = (i + 1) & (cap - 1)) {
        struct sim_map_slot *s = &slots[i];
        if (!s->used) {
            s->used = 1;
            s->a = a;
            s->b = b;
            s->v = v;
            (*n)++;
            return;
        }
        if (s->a == a && s->b == b) {
            s->v = v;
            return;
        }
    }
}

void sim_map_put(struct sim_map *m, uint64_t a, uint64_t b, uint64_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap == 0 ? 64 : m->cap * 2;
        struct sim_map_slot *slots = sim_xcalloc(cap, sizeof(*slots));
        size_t n = 0;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->slots[i].used) {
                put_slot(slots, cap, m->slots[i].a, m->slots[i].b, m->slots[i].v, &n);
            }
        }
        craft_free(m->slots);
        m->slots = slots;
        m->cap = cap;
        m->n = n;
    }
    put_slot(m->slots, m->cap, a, b, v, &m->n);
}
