/* Leader: the proposals that carried a cookie, until their outcome is known: committed, or
 * unknown because the leadership ended first (src/core/proposals.c). */
#ifndef CRAFT_CORE_PROPOSALS_H
#define CRAFT_CORE_PROPOSALS_H

#include <stddef.h>

#include "craft/core.h"

struct proposal_wait {
    uint64_t cookie;
    craft_index index;
};

/* Owned by the core. */
struct proposals {
    struct proposal_wait *wait; /* FIFO by index, from head; owned */
    size_t head;
    size_t n;
    size_t cap;
    craft_term term; /* the leader's term they were appended in */
    struct craft_propose_result *done; /* this step's outcomes; owned */
    size_t n_done;
    size_t cap_done;
};

struct craft_core;

/* Records cookies[0..n) for the commands just appended at first.. in the current term.
 * CRAFT_ENOMEM (nothing recorded). */
int proposals_track(struct craft_core *c, const uint64_t *cookies, size_t n, craft_index first);
/* End of step: the waiting proposals up to the commit index are done; if the leadership of their
 * term is over, the rest end unknown. */
void proposals_advance(struct craft_core *c);
void proposals_close(struct proposals *p);

#endif
