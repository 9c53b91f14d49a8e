/* Voter sets and majority arithmetic (§5.2, §5.3: decisions need a majority of voters). */
#include "membership.h"

#include <string.h>

#include "util/assert.h"

int membership_init(struct membership *m, const craft_id *ids, unsigned n)
{
    memset(m, 0, sizeof *m);
    if (n == 0 || n > CRAFT_VOTERS_MAX) {
        return CRAFT_EINVAL;
    }
    for (unsigned i = 0; i < n; i++) {
        if (ids[i] == CRAFT_ID_NONE || membership_is_voter(m, ids[i])) {
            return CRAFT_EINVAL;
        }
        /* Insertion keeps voters sorted, so slot order is the same on every node. */
        unsigned j = m->n_voters;
        while (j > 0 && m->voters[j - 1] > ids[i]) {
            m->voters[j] = m->voters[j - 1];
            j--;
        }
        m->voters[j] = ids[i];
        m->n_voters++;
    }
    return 0;
}

bool membership_is_voter(const struct membership *m, craft_id id)
{
    return membership_slot(m, id) >= 0;
}

int membership_slot(const struct membership *m, craft_id id)
{
    for (unsigned i = 0; i < m->n_voters; i++) {
        if (m->voters[i] == id) {
            return (int)i;
        }
    }
    return -1;
}

unsigned membership_quorum(const struct membership *m)
{
    return m->n_voters / 2 + 1;
}

craft_index membership_quorum_index(const struct membership *m, const craft_index *per_voter)
{
    craft_index sorted[CRAFT_VOTERS_MAX];
    unsigned n = m->n_voters;
    CRAFT_ASSERT(n > 0);
    memcpy(sorted, per_voter, n * sizeof *sorted);
    /* Insertion sort, descending: n is at most CRAFT_VOTERS_MAX. */
    for (unsigned i = 1; i < n; i++) {
        craft_index v = sorted[i];
        unsigned j = i;
        while (j > 0 && sorted[j - 1] < v) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = v;
    }
    /* The quorum-th highest value is held by at least a quorum of voters. */
    return sorted[membership_quorum(m) - 1];
}
