/* Plain value types shared by the public API: terms, indexes, ids, buffers, log entries. */
#ifndef CRAFT_TYPES_H
#define CRAFT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t craft_term;
typedef uint64_t craft_index;
/* A node's id inside one cluster; 0 means "none". */
typedef uint64_t craft_id;

#define CRAFT_ID_NONE ((craft_id)0)

/* Bounds on cluster size; a membership is a small array, never a hash table. */
#define CRAFT_VOTERS_MAX 15
#define CRAFT_LEARNERS_MAX 16

/* A cluster configuration (thesis §4.3). voters is C_new; while a joint change is under way
 * (C_old,new) voters_old holds C_old and decisions need a majority of each; otherwise it is empty.
 * Learners receive the log but neither vote nor count toward any majority. An id appears at most
 * once in each list and never both as a voter and a learner. */
struct craft_membership {
    craft_id voters[CRAFT_VOTERS_MAX];
    unsigned n_voters;
    craft_id voters_old[CRAFT_VOTERS_MAX];
    unsigned n_voters_old;
    craft_id learners[CRAFT_LEARNERS_MAX];
    unsigned n_learners;
};

/* A borrowed byte range; who owns it is said where it is used. */
struct craft_buf {
    const void *base;
    size_t len;
};

enum craft_entry_type {
    CRAFT_ENTRY_NORMAL = 1, /* a command for the state machine */
    CRAFT_ENTRY_NOOP = 2,   /* appended by every new leader (§5.4.2 / thesis §6.4) */
    CRAFT_ENTRY_CONFIG = 3, /* a membership change */
};

struct craft_entry {
    craft_term term;
    craft_index index;
    uint32_t type; /* enum craft_entry_type */
    struct craft_buf data;
};

/* What must be durable before a vote or an acknowledgement that depends on it is sent. */
struct craft_hard_state {
    craft_term term;
    craft_id vote; /* CRAFT_ID_NONE when no vote was cast in term */
    craft_index commit;
};

/* What a snapshot stands for: the log up to index (whose entry had term) applied to the state
 * machine, and the configuration in force at that index. */
struct craft_snapshot_meta {
    craft_index index;
    craft_term term;
    struct craft_membership membership;
};

/* A snapshot a follower installed (its file is durable before the core hears of it): the log now
 * continues after (index, term). With drop_log nothing of the old log is kept, and the next
 * entries appended start at index + 1; without it, the entries after index stay and those up to
 * it may be dropped whenever convenient (they are covered). index 0: none. */
struct craft_persist_snapshot {
    craft_index index;
    craft_term term;
    bool drop_log;
};

/* One batch of changes to make durable, carried out in this order: the hard state (when
 * changed), an installed snapshot's effect on the log (when snapshot.index is not 0), the
 * removal of the log suffix from truncate_from (when not 0), then the entries (borrowed from
 * whoever built the batch). The core produces them (craft_output_persist) and storage takes them,
 * so neither needs the other. */
struct craft_persist {
    bool hard_state_changed;
    struct craft_hard_state hard_state;
    struct craft_persist_snapshot snapshot;
    craft_index truncate_from;
    const struct craft_entry *entries;
    size_t n_entries;
};

#endif
