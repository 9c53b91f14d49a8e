/* Who votes, and what a quorum of them is. A membership is a small sorted array of voter ids;
 * joint configurations and learners extend this module (thesis §4.3). */
#ifndef CRAFT_CORE_MEMBERSHIP_H
#define CRAFT_CORE_MEMBERSHIP_H

#include <stdbool.h>

#include "craft/core.h"

struct membership {
    craft_id voters[CRAFT_VOTERS_MAX];
    unsigned n_voters;
};

/* Copies ids, rejecting duplicates, CRAFT_ID_NONE and more than CRAFT_VOTERS_MAX:
 * returns 0 or CRAFT_EINVAL. */
int membership_init(struct membership *m, const craft_id *ids, unsigned n);

bool membership_is_voter(const struct membership *m, craft_id id);

/* Position of id among the voters, or -1. */
int membership_slot(const struct membership *m, craft_id id);

/* The smallest number of voters that makes a majority. */
unsigned membership_quorum(const struct membership *m);

/* The highest index that a quorum has reached, given each voter's index in slot order. */
craft_index membership_quorum_index(const struct membership *m, const craft_index *per_voter);

#endif
