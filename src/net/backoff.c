/* Capped exponential backoff with "equal jitter": half the ceiling is fixed, half is drawn, so a
 * delay never collapses to zero and two peers spread apart. */
#include "backoff.h"

#include "util/assert.h"

void backoff_init(struct backoff *b, uint32_t ms_min, uint32_t ms_max, struct prng *prng)
{
    CRAFT_ASSERT(ms_min >= 1);
    CRAFT_ASSERT(ms_min <= ms_max);
    b->ms_min = ms_min;
    b->ms_max = ms_max;
    b->ms_next = ms_min;
    b->prng = prng;
}

void backoff_reset(struct backoff *b)
{
    b->ms_next = b->ms_min;
}

uint32_t backoff_next(struct backoff *b)
{
    uint32_t ceiling = b->ms_next;
    CRAFT_ASSERT(ceiling >= b->ms_min);
    CRAFT_ASSERT(ceiling <= b->ms_max);
    b->ms_next = ceiling > b->ms_max / 2 ? b->ms_max : ceiling * 2;
    uint32_t half = ceiling / 2;
    uint32_t delay = (uint32_t)(ceiling - half + prng_below(b->prng, (uint64_t)half + 1));
    CRAFT_ASSERT(delay <= ceiling);
    return delay;
}
