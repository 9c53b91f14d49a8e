/* A deep copy of a craft_msg in one allocation, for whoever must keep a message past the step
 * that produced it (the node holding an answer until its log is durable, the simulator's
 * network). */
#ifndef CRAFT_UTIL_MSG_COPY_H
#define CRAFT_UTIL_MSG_COPY_H

#include <stddef.h>

#include "craft/msg.h"

/* Returns a block of at least `head` bytes (head rounded up to 8) followed by a copy of m's
 * entries and their bytes; *copy (inside the caller's head) points into it. NULL when out of
 * memory. Free the block with craft_free. */
void *msg_copy_block(const struct craft_msg *m, size_t head, size_t copy_offset);

#endif
