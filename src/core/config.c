/* The CONFIG entry format and the checks of a membership (thesis §4.3). */
#include "config.h"

#include <string.h>

#include "util/assert.h"
#include "util/byteorder.h"

static bool list_has(const craft_id *ids, unsigned n, craft_id id)
{
    for (unsigned i = 0; i < n; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

static bool list_is_valid(const craft_id *ids, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (ids[i] == CRAFT_ID_NONE || list_has(ids, i, ids[i])) {
            return false;
        }
    }
    return true;
}

bool config_is_valid(const struct craft_membership *m)
{
    if (m->n_voters == 0 || m->n_voters > CRAFT_VOTERS_MAX ||
        m->n_voters_old > CRAFT_VOTERS_MAX || m->n_learners > CRAFT_LEARNERS_MAX) {
        return false;
    }
    if (!list_is_valid(m->voters, m->n_voters) || !list_is_valid(m->voters_old, m->n_voters_old) ||
        !list_is_valid(m->learners, m->n_learners)) {
        return false;
    }
    for (unsigned i = 0; i < m->n_learners; i++) {
        if (config_has_voter(m, m->learners[i])) {
            return false;
        }
    }
    return true;
}

size_t config_encode(const struct craft_membership *m, unsigned char *buf)
{
    CRAFT_ASSERT(config_is_valid(m));
    buf[0] = CONFIG_VERSION;
    buf[1] = (unsigned char)m->n_voters;
    buf[2] = (unsigned char)m->n_voters_old;
    buf[3] = (unsigned char)m->n_learners;
    unsigned char *p = buf + CONFIG_HEADER_BYTES;
    for (unsigned i = 0; i < m->n_voters; i++, p += 8) {
        put_u64le(p, m->voters[i]);
    }
    for (unsigned i = 0; i < m->n_voters_old; i++, p += 8) {
        put_u64le(p, m->voters_old[i]);
    }
    for (unsigned i = 0; i < m->n_learners; i++, p += 8) {
        put_u64le(p, m->learners[i]);
    }
    size_t len = (size_t)(p - buf);
    CRAFT_ASSERT(len <= CONFIG_BYTES_MAX);
    struct craft_membership back; /* both sides of the boundary agree */
    CRAFT_ASSERT(config_decode(buf, len, &back) == 0);
    CRAFT_ASSERT(config_equal(&back, m));
    return len;
}

int config_decode(const void *data, size_t len, struct craft_membership *m)
{
    const unsigned char *b = data;
    memset(m, 0, sizeof *m);
    if (len < CONFIG_HEADER_BYTES || b[0] != CONFIG_VERSION) {
        return CRAFT_EINVAL;
    }
    unsigned nv = b[1];
    unsigned no = b[2];
    unsigned nl = b[3];
    if (nv > CRAFT_VOTERS_MAX || no > CRAFT_VOTERS_MAX || nl > CRAFT_LEARNERS_MAX ||
        len != CONFIG_HEADER_BYTES + 8 * (size_t)(nv + no + nl)) {
        return CRAFT_EINVAL;
    }
    const unsigned char *p = b + CONFIG_HEADER_BYTES;
    m->n_voters = nv;
    m->n_voters_old = no;
    m->n_learners = nl;
    for (unsigned i = 0; i < nv; i++, p += 8) {
        m->voters[i] = get_u64le(p);
    }
    for (unsigned i = 0; i < no; i++, p += 8) {
        m->voters_old[i] = get_u64le(p);
    }
    for (unsigned i = 0; i < nl; i++, p += 8) {
        m->learners[i] = get_u64le(p);
    }
    return config_is_valid(m) ? 0 : CRAFT_EINVAL;
}

bool config_has_voter(const struct craft_membership *m, craft_id id)
{
    return list_has(m->voters, m->n_voters, id) || list_has(m->voters_old, m->n_voters_old, id);
}

bool config_has_learner(const struct craft_membership *m, craft_id id)
{
    return list_has(m->learners, m->n_learners, id);
}

bool config_has_member(const struct craft_membership *m, craft_id id)
{
    return config_has_voter(m, id) || config_has_learner(m, id);
}

bool config_is_joint(const struct craft_membership *m)
{
    return m->n_voters_old > 0;
}

static bool same_set(const craft_id *a, unsigned na, const craft_id *b, unsigned nb)
{
    if (na != nb) {
        return false;
    }
    for (unsigned i = 0; i < na; i++) {
        if (!list_has(b, nb, a[i])) {
            return false;
        }
    }
    return true;
}

bool config_equal(const struct craft_membership *a, const struct craft_membership *b)
{
    return same_set(a->voters, a->n_voters, b->voters, b->n_voters) &&
           same_set(a->voters_old, a->n_voters_old, b->voters_old, b->n_voters_old) &&
           same_set(a->learners, a->n_learners, b->learners, b->n_learners);
}

void config_state_init(struct config_state *s, const struct craft_membership *base,
                       craft_index base_index)
{
    CRAFT_ASSERT(config_is_valid(base));
    s->base = *base;
    s->base_index = base_index;
    s->current = *base;
    s->current_index = base_index;
}
