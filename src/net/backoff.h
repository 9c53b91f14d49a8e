/* Reconnect delays: capped exponential backoff with jitter, so peers that lost each other at the
 * same moment do not redial in lockstep. */
#ifndef CRAFT_NET_BACKOFF_H
#define CRAFT_NET_BACKOFF_H

#include <stdint.h>

#include "util/prng.h"

struct backoff {
    uint32_t ms_min;
    uint32_t ms_max;
    uint32_t ms_next;  /* the ceiling of the next delay, doubling up to ms_max */
    struct prng *prng; /* borrowed: the transport's generator */
};

/* 1 <= ms_min <= ms_max (asserted). prng is borrowed for the life of b. */
void backoff_init(struct backoff *b, uint32_t ms_min, uint32_t ms_max, struct prng *prng);
/* After a success: the next delay starts again from ms_min. */
void backoff_reset(struct backoff *b);
/* The delay before the next attempt: in [ceiling / 2, ceiling], where the ceiling starts at
 * ms_min and doubles on every call up to ms_max. */
uint32_t backoff_next(struct backoff *b);

#endif
