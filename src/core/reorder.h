/* Follower: AppendEntries that arrive ahead of the log are kept (and refused as before, so the
 * leader fills the gap: it may be a lost message rather than a late one), then taken in order
 * once the gap before them fills. On links that reorder (a later message of the leader's
 * pipeline overtaking an earlier one) the follower then jumps ahead as soon as the late message
 * or the leader's probe fills the gap, and the leader does not resend its whole window, over and
 * over; over FIFO links (TCP) nothing is ever kept. Bounded in messages and bytes; a kept
 * message of another term or leader is dropped unread. */
#ifndef CRAFT_CORE_REORDER_H
#define CRAFT_CORE_REORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "craft/core.h"

#define REORDER_MSGS_MAX 64
#define REORDER_BYTES_MAX (1u << 20)

struct reorder_held {
    struct craft_msg m;          /* m.append.entries points at entries */
    struct craft_entry *entries; /* owned, with their bytes in the same block */
    size_t bytes;
};

struct reorder {
    struct reorder_held held[REORDER_MSGS_MAX];
    unsigned n;
    size_t bytes;
    struct reorder_held current; /* the message last handed out, freed at the next call */
    bool releasing;              /* a release loop runs: appends it makes do not start another */
};

struct craft_core;

/* Holds a copy of m (an AppendEntries of the current leader and term with entries, whose
 * prev_index lies past the log). Returns false when it is not held (full, or no entries). */
bool reorder_hold(struct craft_core *c, const struct craft_msg *m);
/* The held message with the lowest prev_index that the log now reaches (prev_index <= last), of
 * the current term and leader, or NULL; it stays valid until the next call. Others of another
 * term or leader are dropped. */
const struct craft_msg *reorder_next(struct craft_core *c);
void reorder_close(struct reorder *r);

#endif
