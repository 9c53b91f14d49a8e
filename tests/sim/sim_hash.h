/* Hashing helpers of the simulator: the trace hash, data hashes and the log prefix hash that
 * makes the Log Matching check O(1) per entry (§5.3: same (index, term) => same prefix). */
#ifndef SIM_HASH_H
#define SIM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

static inline uint64_t sim_hash_rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

/* One xxHash64-style round: big commands are hashed many times per step (every mirror, every
 * durable model, every apply), so the data hash reads 32 bytes per iteration in four lanes. */
static inline uint64_t sim_hash_round(uint64_t acc, uint64_t w)
{
    return sim_hash_rotl(acc + w * 0xc2b2ae3d27d4eb4fULL, 31) * 0x9e3779b185ebca87ULL;
}

static inline uint64_t sim_hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t lane[4] = {0x60ea27eeadc0b5d6ULL, 0xc2b2ae3d27d4eb4fULL, 0x0ULL,
                        0x61c8864e7a143579ULL};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (unsigned k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, b + i + 8 * k, sizeof w);
            lane[k] = sim_hash_round(lane[k], w);
        }
    }
    uint64_t h = sim_hash_rotl(lane[0], 1) + sim_hash_rotl(lane[1], 7) +
                 sim_hash_rotl(lane[2], 12) + sim_hash_rotl(lane[3], 18);
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, sizeof w);
        h = sim_hash_round(h, w);
    }
    for (; i < n; i++) {
        h = (h ^ b[i]) * 0x100000001b3ULL;
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
