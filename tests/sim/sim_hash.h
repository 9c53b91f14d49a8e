/* Hashing helpers of the simulator: the trace hash, data hashes and the log prefix hash that
 * makes the Log Matching check O(1) per entry (§5.3: same (index, term) => same prefix). */
#ifndef SIM_HASH_H
#define SIM_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t sim_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static inline uint64_t sim_hash_combine(uint64_t h, uint64_t v)
{
    return sim_mix64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

static inline uint64_t sim_hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return sim_mix64(h ^ n);
}

/* The hash of a log prefix ending with an entry, from the hash of the prefix before it. */
static inline uint64_t sim_hash_prefix(uint64_t prev, uint64_t term, uint32_t type,
                                       uint64_t data_hash)
{
    uint64_t h = sim_hash_combine(prev, term);
    h = sim_hash_combine(h, type);
    return sim_hash_combine(h, data_hash);
}

#endif
