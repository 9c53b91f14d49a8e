/* A small deterministic generator (splitmix64 seeding xoshiro256**): the same seed gives the
 * same sequence on every machine. Not for cryptography. */
#ifndef CRAFT_UTIL_PRNG_H
#define CRAFT_UTIL_PRNG_H

#include <stdint.h>

struct prng {
    uint64_t s[4];
};

void prng_seed(struct prng *p, uint64_t seed);
uint64_t prng_next(struct prng *p);
/* Uniform in [0, bound); bound 0 gives 0. */
uint64_t prng_below(struct prng *p, uint64_t bound);
/* Uniform in [lo, hi); returns lo when hi <= lo. */
uint64_t prng_range(struct prng *p, uint64_t lo, uint64_t hi);
/* True with probability per_million / 1,000,000. */
int prng_chance(struct prng *p, uint32_t per_million);

#endif
