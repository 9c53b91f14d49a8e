/* The WAL's groups: the table of groups (sorted by id), each group's index of live entries, and
 * the per-group views of the log and of the hard state (docs/DISK_FORMAT.md, "Records"). */
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "wal_internal.h"

static int compare_group(uint64_t id, const struct wal_group *g)
{
    return id < g->id ? -1 : id > g->id;
}

/* The position of id in w->groups, or where it would go. */
static size_t group_pos(const struct wal *w, uint64_t id)
{
    size_t lo = 0;
    size_t hi = w->n_groups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (compare_group(id, w->groups[mid]) > 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

const struct wal_group *wal_group_get(const struct wal *w, uint64_t id)
{
    size_t i = group_pos(w, id);
    return i < w->n_groups && w->groups[i]->id == id ? w->groups[i] : NULL;
}

struct wal_group *wal_group_find(struct wal *w, uint64_t id, bool create)
{
    CRAFT_ASSERT(id != 0);
    size_t i = group_pos(w, id);
    if (i < w->n_groups && w->groups[i]->id == id) {
        return w->groups[i];
    }
    if (!create) {
        return NULL;
    }
    if (w->n_groups == w->cap_groups) {
        size_t cap = w->cap_groups == 0 ? 4 : w->cap_groups * 2;
        struct wal_group **groups = craft_realloc(w->groups, cap * sizeof *groups);
        if (groups == NULL) {
            return NULL;
        }
        w->groups = groups;
        w->cap_groups = cap;
    }
    struct wal_group *g = craft_calloc(1, sizeof *g);
    if (g == NULL) {
        return NULL;
    }
    g->id = id;
    g->hs_seq = WAL_SEQ_PENDING;
    memmove(w->groups + i + 1, w->groups + i, (w->n_groups - i) * sizeof *w->groups);
    w->groups[i] = g;
    w->n_groups++;
    CRAFT_ASSERT(i == 0 || w->groups[i - 1]->id < id);
    CRAFT_ASSERT(i + 1 == w->n_groups || w->groups[i + 1]->id > id);
    return g;
}

size_t wal_n_groups(const struct wal *w)
{
    return w->n_groups;
}

uint64_t wal_group_id(const struct wal *w, size_t i)
{
    CRAFT_ASSERT(i < w->n_groups);
    return w->groups[i]->id;
}

craft_index wal_group_last(const struct wal_group *g)
{
    return g->n_locs > 0 ? g->first + g->n_locs - 1 : 0;
}

const struct wal_loc *wal_group_loc(const struct wal_group *g, craft_index index)
{
    if (g == NULL || g->n_locs == 0 || index < g->first || index > wal_group_last(g)) {
        return NULL;
    }
    return wal_loc_at(g, (size_t)(index - g->first));
}

craft_term wal_group_term_at(const struct wal_group *g, craft_index index)
{
    const struct wal_loc *loc = wal_group_loc(g, index);
    return loc != NULL ? loc->term : 0;
}

craft_index wal_first_index_group(const struct wal *w, uint64_t group)
{
    const struct wal_group *g = wal_group_get(w, group);
    return g != NULL && g->n_locs > 0 ? g->first : 0;
}

craft_index wal_last_index_group(const struct wal *w, uint64_t group)
{
    const struct wal_group *g = wal_group_get(w, group);
    return g != NULL ? wal_group_last(g) : 0;
}

craft_term wal_term_at_group(const struct wal *w, uint64_t group, craft_index index)
{
    return wal_group_term_at(wal_group_get(w, group), index);
}

craft_index wal_first_index(const struct wal *w)
{
    return wal_first_index_group(w, WAL_GROUP_DEFAULT);
}

craft_index wal_last_index(const struct wal *w)
{
    return wal_last_index_group(w, WAL_GROUP_DEFAULT);
}

craft_term wal_term_at(const struct wal *w, craft_index index)
{
    return wal_term_at_group(w, WAL_GROUP_DEFAULT, index);
}

bool wal_hard_state_group(const struct wal *w, uint64_t group, struct craft_hard_state *hs)
{
    const struct wal_group *g = wal_group_get(w, group);
    if (g == NULL || !g->have_hs) {
        memset(hs, 0, sizeof *hs);
        return false;
    }
    *hs = g->hs;
    return true;
}

struct wal_loc *wal_locs_append(struct wal_group *g, craft_index index)
{
    if (g->n_locs == 0) {
        g->first = index;
        g->start = 0;
    }
    CRAFT_ASSERT(index == g->first + g->n_locs);
    if (g->n_locs == g->cap_locs) {
        size_t cap = g->cap_locs == 0 ? 64 : g->cap_locs * 2;
        struct wal_loc *locs = craft_realloc(g->locs, cap * sizeof *locs);
        if (locs == NULL) {
            return NULL;
        }
        /* Unwrap: the slots before start (the ring's newer half) go after the old end. */
        memcpy(locs + g->cap_locs, locs, g->start * sizeof *locs);
        g->locs = locs;
        g->cap_locs = cap;
    }
    return wal_loc_at(g, g->n_locs++);
}

void wal_locs_drop_front(struct wal_group *g, size_t n)
{
    CRAFT_ASSERT(n <= g->n_locs);
    if (n == 0) {
        return;
    }
    g->start = (g->start + n) & (g->cap_locs - 1);
    g->n_locs -= n;
    g->first += n;
}

void wal_locs_truncate(struct wal_group *g, craft_index from)
{
    if (g->n_locs == 0 || from > wal_group_last(g)) {
        return;
    }
    g->n_locs = from <= g->first ? 0 : (size_t)(from - g->first);
}

const struct craft_entry *wal_recovered_group(const struct wal *w, uint64_t group, size_t *n)
{
    const struct wal_group *g = wal_group_get(w, group);
    *n = g != NULL ? g->n_recovered : 0;
    return g != NULL ? g->recovered : NULL;
}

const struct craft_entry *wal_recovered(const struct wal *w, size_t *n)
{
    return wal_recovered_group(w, WAL_GROUP_DEFAULT, n);
}
