/* A small open-addressing hash map from a pair of 64-bit keys to a 64-bit value, for the
 * checkers' global maps ((index, term) -> prefix hash, term -> leader, (node, term) -> vote). */
#ifndef SIM_MAP_H
#define SIM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_map_slot {
    uint64_t a;
    uint64_t b;
    uint64_t v;
    uint64_t used;
};

struct sim_map {
    struct sim_map_slot *slots; /* owned */
    size_t cap;                 /* a power of two, or 0 */
    size_t n;
};

void sim_map_init(struct sim_map *m);
void sim_map_close(struct sim_map *m);
bool sim_map_get(const struct sim_map *m, uint64_t a, uint64_t b, uint64_t *v);
/* Inserts or overwrites. */
void sim_map_put(struct sim_map *m, uint64_t a, uint64_t b, uint64_t v);

#endif
