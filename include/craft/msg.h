/* The messages Raft peers exchange (§5, thesis §3.10, §6.4, §9.6): plain values that the core
 * takes and hands out, and that the wire codec (src/net, docs/WIRE_FORMAT.md) encodes. Owned by
 * util so that layers below the core can carry them without knowing the core. */
#ifndef CRAFT_MSG_H
#define CRAFT_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "types.h"

enum craft_msg_type {
    CRAFT_MSG_PREVOTE = 1,
    CRAFT_MSG_PREVOTE_RESP = 2,
    CRAFT_MSG_VOTE = 3,
    CRAFT_MSG_VOTE_RESP = 4,
    CRAFT_MSG_APPEND = 5,
    CRAFT_MSG_APPEND_RESP = 6,
    CRAFT_MSG_TIMEOUT_NOW = 7,     /* leadership transfer: campaign now (thesis §3.10) */
    CRAFT_MSG_READ_INDEX = 8,      /* a follower asks its leader for a read index */
    CRAFT_MSG_READ_INDEX_RESP = 9, /* the leader's answer, once its leadership was confirmed */
};
#define CRAFT_MSG_TYPE_MAX CRAFT_MSG_READ_INDEX_RESP

struct craft_msg_vote {
    craft_index last_index;
    craft_term last_term;
    /* VOTE only: the campaign a TimeoutNow started. A follower still in its leader's lease
     * answers it (the leader itself asked for it), where it ignores other vote requests. */
    bool transfer;
};

struct craft_msg_vote_resp {
    bool granted;
};

struct craft_msg_append {
    craft_index prev_index;
    craft_term prev_term;
    craft_index commit;
    /* Borrowed: in an output they live until the sender's next step; in an input, for the call. */
    const struct craft_entry *entries;
    uint32_t n_entries;
    /* The leader's heartbeat round when sent; echoed in the answer, which confirms that this
     * follower still took the sender for its leader then (reads, thesis §6.4). */
    uint64_t round;
};

struct craft_msg_append_resp {
    bool success;
    uint64_t round; /* the round of the AppendEntries answered */
    /* success: the follower's log matches the leader's up to here and it is durable.
     * reject: the prev_index that was refused. */
    craft_index index;
    /* reject only (fast backtracking): the follower's term at the refused prev_index and the first
     * index it holds of that term; hint_term 0 means its log ends before prev_index, and then
     * hint_index is its last index + 1. */
    craft_term hint_term;
    craft_index hint_index;
};

struct craft_msg_read {
    uint64_t id;       /* the asking follower's name for the read */
    craft_index index; /* RESP: the read index (serve once applied up to it) */
    bool ok;           /* RESP: false when the asked node is not (or no longer) the leader */
};

struct craft_msg {
    uint32_t type; /* enum craft_msg_type */
    craft_id from;
    craft_id to;
    /* The sender's term; for a PREVOTE, the term the sender would campaign in. */
    craft_term term;
    union {
        struct craft_msg_vote vote; /* PREVOTE and VOTE */
        struct craft_msg_vote_resp vote_resp;
        struct craft_msg_append append;
        struct craft_msg_append_resp append_resp;
        struct craft_msg_read read; /* READ_INDEX and READ_INDEX_RESP */
    };
};

#endif
