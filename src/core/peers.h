/* The other members as the core tracks them: one table keyed by node id holding the voters of both
 * halves of a joint configuration and the learners, each with its vote in the current election and
 * (on a leader) its replication progress and in-flight window. Majorities are counted per half:
 * a joint decision needs a majority of C_old and a majority of C_new (thesis §4.3). */
#ifndef CRAFT_CORE_PEERS_H
#define CRAFT_CORE_PEERS_H

#include <stdbool.h>

#include "craft/core.h"
#include "progress.h"

#define PEERS_MAX (2 * CRAFT_VOTERS_MAX + CRAFT_LEARNERS_MAX)

enum peer_vote {
    PEER_VOTE_NONE = 0,
    PEER_VOTE_GRANTED = 1,
    PEER_VOTE_REFUSED = 2,
};

struct peer {
    craft_id id;     /* CRAFT_ID_NONE marks a free slot */
    bool voter;      /* in C_new */
    bool voter_old;  /* in C_old, while a joint configuration is in force */
    uint8_t vote;    /* enum peer_vote, this election */
    bool transfer_sent;          /* leader: TimeoutNow went to it in this transfer */
    uint64_t transfer_resend_at; /* leader: when it may go again */
    uint64_t round_acked;        /* leader: highest heartbeat round it answered (reads) */
    struct progress pr; /* leader only; unused for the own slot */
};

struct peers {
    struct peer slot[PEERS_MAX]; /* a peer keeps its slot while it stays a member */
    unsigned n_slots;            /* every used slot lies below this */
};

enum peers_tally {
    PEERS_PENDING = 0,
    PEERS_WON = 1,  /* granted by a majority of every half */
    PEERS_LOST = 2, /* refused by enough of some half that no majority is left there */
};

void peers_init(struct peers *ps);

/* Makes the table hold exactly the members of m (which may be empty: a node not yet in any
 * configuration). A member already present keeps its slot, vote and progress; added[i] is set for
 * each slot i taken by a new member (the caller initialises its progress), others cleared. */
void peers_set(struct peers *ps, const struct craft_membership *m, bool added[PEERS_MAX]);

/* The member with id, or NULL. */
struct peer *peers_find(struct peers *ps, craft_id id);
const struct peer *peers_find_const(const struct peers *ps, craft_id id);

bool peer_is_voter(const struct peer *p);

void peers_reset_votes(struct peers *ps);

/* The election's state from the votes recorded so far. */
enum peers_tally peers_tally(const struct peers *ps);

/* The highest index a majority of every half has reached: self at self_index, every other voter
 * at its progress' match. */
craft_index peers_quorum_index(const struct peers *ps, craft_id self, craft_index self_index);

/* The highest value a majority of every half has reached: self at self_value, every other voter
 * at value(peer). */
uint64_t peers_quorum_value(const struct peers *ps, craft_id self, uint64_t self_value,
                            uint64_t (*value)(const struct peer *));

/* True when self and the voters heard from recently (progress' recent_active) make a majority of
 * every half. */
bool peers_quorum_active(const struct peers *ps, craft_id self);

/* The smallest majority of n voters. */
unsigned peers_majority(unsigned n);

#endif
