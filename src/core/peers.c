/* The member table and its majority arithmetic (§5.2, §5.3; thesis §4.3 for joint majorities). */
#include "peers.h"

#include <string.h>

#include "config.h"
#include "util/assert.h"

void peers_init(struct peers *ps)
{
    memset(ps, 0, sizeof *ps);
}

unsigned peers_majority(unsigned n)
{
    return n / 2 + 1;
}

struct peer *peers_find(struct peers *ps, craft_id id)
{
    for (unsigned i = 0; i < ps->n_slots; i++) {
        if (ps->slot[i].id == id && id != CRAFT_ID_NONE) {
            return &ps->slot[i];
        }
    }
    return NULL;
}

const struct peer *peers_find_const(const struct peers *ps, craft_id id)
{
    return peers_find((struct peers *)ps, id);
}

bool peer_is_voter(const struct peer *p)
{
    return p->voter || p->voter_old;
}

static void take(struct peers *ps, craft_id id, bool added[PEERS_MAX])
{
    if (peers_find(ps, id) != NULL) {
        return;
    }
    unsigned i = 0;
    while (i < ps->n_slots && ps->slot[i].id != CRAFT_ID_NONE) {
        i++;
    }
    CRAFT_ASSERT(i < PEERS_MAX);
    memset(&ps->slot[i], 0, sizeof ps->slot[i]);
    ps->slot[i].id = id;
    added[i] = true;
    if (i == ps->n_slots) {
        ps->n_slots++;
    }
}

void peers_set(struct peers *ps, const struct craft_membership *m, bool added[PEERS_MAX])
{
    memset(added, 0, PEERS_MAX * sizeof added[0]);
    for (unsigned i = 0; i < ps->n_slots; i++) {
        if (ps->slot[i].id != CRAFT_ID_NONE && !config_has_member(m, ps->slot[i].id)) {
            memset(&ps->slot[i], 0, sizeof ps->slot[i]);
        }
    }
    while (ps->n_slots > 0 && ps->slot[ps->n_slots - 1].id == CRAFT_ID_NONE) {
        ps->n_slots--;
    }
    for (unsigned i = 0; i < m->n_voters; i++) {
        take(ps, m->voters[i], added);
    }
    for (unsigned i = 0; i < m->n_voters_old; i++) {
        take(ps, m->voters_old[i], added);
    }
    for (unsigned i = 0; i < m->n_learners; i++) {
        take(ps, m->learners[i], added);
    }
    for (unsigned i = 0; i < ps->n_slots; i++) {
        struct peer *p = &ps->slot[i];
        if (p->id == CRAFT_ID_NONE) {
            continue;
        }
        p->voter = false;
        p->voter_old = false;
        for (unsigned k = 0; k < m->n_voters; k++) {
            p->voter |= m->voters[k] == p->id;
        }
        for (unsigned k = 0; k < m->n_voters_old; k++) {
            p->voter_old |= m->voters_old[k] == p->id;
        }
    }
}

void peers_reset_votes(struct peers *ps)
{
    for (unsigned i = 0; i < ps->n_slots; i++) {
        ps->slot[i].vote = PEER_VOTE_NONE;
    }
}

/* The two halves: C_new (old == false) and, while joint, C_old. */
static bool in_half(const struct peer *p, bool old)
{
    return old ? p->voter_old : p->voter;
}

static bool has_old_half(const struct peers *ps)
{
#ifdef CRAFT_MUTATION_JOINT_SINGLE_MAJORITY
    (void)ps;
    return false; /* mutation: a joint configuration counts only its new half */
#endif
    for (unsigned i = 0; i < ps->n_slots; i++) {
        if (ps->slot[i].id != CRAFT_ID_NONE && ps->slot[i].voter_old) {
            return true;
        }
    }
    return false;
}

static enum peers_tally tally_half(const struct peers *ps, bool old)
{
    unsigned n = 0;
    unsigned granted = 0;
    unsigned refused = 0;
    for (unsigned i = 0; i < ps->n_slots; i++) {
        const struct peer *p = &ps->slot[i];
        if (p->id == CRAFT_ID_NONE || !in_half(p, old)) {
            continue;
        }
        n++;
        granted += p->vote == PEER_VOTE_GRANTED;
        refused += p->vote == PEER_VOTE_REFUSED;
    }
    if (n == 0) {
        return PEERS_LOST; /* no voters: nobody can win */
    }
    unsigned q = peers_majority(n);
    if (granted >= q) {
        return PEERS_WON;
    }
    return refused > n - q ? PEERS_LOST : PEERS_PENDING;
}

enum peers_tally peers_tally(const struct peers *ps)
{
    enum peers_tally t = tally_half(ps, false);
    if (has_old_half(ps)) {
        enum peers_tally o = tally_half(ps, true);
        if (t == PEERS_LOST || o == PEERS_LOST) {
            return PEERS_LOST;
        }
        if (t != PEERS_WON || o != PEERS_WON) {
            return PEERS_PENDING;
        }
    }
    return t;
}

/* The majority-th highest value among the voters of one half: self counts at self_value. */
static uint64_t quorum_value_half(const struct peers *ps, bool old, craft_id self,
                                  uint64_t self_value, uint64_t (*value)(const struct peer *))
{
    uint64_t sorted[PEERS_MAX];
    unsigned n = 0;
    for (unsigned i = 0; i < ps->n_slots; i++) {
        const struct peer *p = &ps->slot[i];
        if (p->id == CRAFT_ID_NONE || !in_half(p, old)) {
            continue;
        }
        uint64_t v = p->id == self ? self_value : value(p);
        /* Insertion sort, descending: at most CRAFT_VOTERS_MAX values. */
        unsigned j = n++;
        while (j > 0 && sorted[j - 1] < v) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = v;
    }
    if (n == 0) {
        return 0;
    }
    /* The majority-th highest value is held by at least a majority. */
    return sorted[peers_majority(n) - 1];
}

uint64_t peers_quorum_value(const struct peers *ps, craft_id self, uint64_t self_value,
                            uint64_t (*value)(const struct peer *))
{
    uint64_t v = quorum_value_half(ps, false, self, self_value, value);
    if (has_old_half(ps)) {
        uint64_t o = quorum_value_half(ps, true, self, self_value, value);
        v = o < v ? o : v;
    }
    return v;
}

static uint64_t match_of(const struct peer *p)
{
    return p->pr.match;
}

craft_index peers_quorum_index(const struct peers *ps, craft_id self, craft_index self_index)
{
    return peers_quorum_value(ps, self, self_index, match_of);
}

static bool active_half(const struct peers *ps, bool old, craft_id self)
{
    unsigned n = 0;
    unsigned active = 0;
    for (unsigned i = 0; i < ps->n_slots; i++) {
        const struct peer *p = &ps->slot[i];
        if (p->id == CRAFT_ID_NONE || !in_half(p, old)) {
            continue;
        }
        n++;
        active += p->id == self || p->pr.recent_active;
    }
    return n > 0 && active >= peers_majority(n);
}

bool peers_quorum_active(const struct peers *ps, craft_id self)
{
    return active_half(ps, false, self) && (!has_old_half(ps) || active_half(ps, true, self));
}
