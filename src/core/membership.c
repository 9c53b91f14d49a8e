/* The configuration in force, following the log: appended CONFIG entries take effect at once,
 * truncation reverts to the newest remaining one, compaction carries it into the base. */
#include "membership.h"

#include "core_internal.h"
#include "util/assert.h"

void membership_start_progress(struct craft_core *c, struct peer *p, unsigned slot)
{
    CRAFT_ASSERT(slot < PEERS_MAX);
    CRAFT_ASSERT(&c->peers.slot[slot] == p);
    uint32_t cap = c->cfg.inflight_msgs_max;
    progress_init(&p->pr, p->id, log_last_index(&c->log) + 1,
                  c->inflight_rings + (size_t)slot * cap, cap);
}

static void take_effect(struct craft_core *c, const struct craft_membership *m, craft_index index)
{
    bool added[PEERS_MAX];
    c->config.current = *m;
    c->config.current_index = index;
    peers_set(&c->peers, m, added);
    if (c->role != CRAFT_LEADER) {
        return;
    }
    /* A leader starts replicating to a new member from its own end, probing back from there. */
    for (unsigned i = 0; i < c->peers.n_slots; i++) {
        if (added[i] && c->peers.slot[i].id != c->cfg.id) {
            membership_start_progress(c, &c->peers.slot[i], i);
        }
    }
}

void membership_init(struct craft_core *c, const struct craft_membership *base,
                     craft_index base_index)
{
    c->config.base = *base;
    c->config.base_index = base_index;
    peers_init(&c->peers);
    take_effect(c, base, base_index);
}

static void decode_entry(const struct craft_entry *e, struct craft_membership *m)
{
    int rv = config_decode(e->data.base, e->data.len, m);
    CRAFT_ASSERT(rv == 0); /* validated before it entered the log */
}

void membership_on_append(struct craft_core *c, craft_index index)
{
    const struct craft_entry *e = log_get(&c->log, index);
    if (e->type != CRAFT_ENTRY_CONFIG) {
        return;
    }
#ifdef CRAFT_MUTATION_CONFIG_ON_COMMIT
    if (index > c->commit) {
        return; /* mutation: used only once committed (membership_on_commit) */
    }
#endif
    struct craft_membership m;
    decode_entry(e, &m);
    take_effect(c, &m, index);
}

/* The newest CONFIG entry at or below upto that the log still holds, or 0. */
static craft_index newest_config_upto(const struct craft_core *c, craft_index upto)
{
    craft_index first = log_first_index(&c->log);
#ifndef CRAFT_MUTATION_CONFIG_ON_COMMIT
    /* The configuration in force is the newest CONFIG entry the log holds (appends take effect
     * at once, truncation reverts), else the base: at or below upto nothing newer can exist, so
     * a compaction need not scan the entries it drops. */
    craft_index current = c->config.current_index;
    if (current <= upto) {
        if (current < first) {
            return 0;
        }
        CRAFT_ASSERT(log_get(&c->log, current)->type == CRAFT_ENTRY_CONFIG);
        return current;
    }
#endif
    for (craft_index i = upto; i >= first && i > 0; i--) {
        if (log_get(&c->log, i)->type == CRAFT_ENTRY_CONFIG) {
            return i;
        }
    }
    return 0;
}

void membership_on_truncate(struct craft_core *c, craft_index from)
{
    if (c->config.current_index < from) {
        return;
    }
    CRAFT_ASSERT(from > c->config.base_index); /* a base never lies above the commit index */
    craft_index i = newest_config_upto(c, log_last_index(&c->log));
    if (i > c->config.base_index) {
        struct craft_membership m;
        decode_entry(log_get(&c->log, i), &m);
        take_effect(c, &m, i);
        return;
    }
    struct craft_membership base = c->config.base;
    take_effect(c, &base, c->config.base_index);
}

void membership_on_compact(struct craft_core *c, craft_index upto)
{
    craft_index i = newest_config_upto(c, upto);
    if (i > c->config.base_index) {
        decode_entry(log_get(&c->log, i), &c->config.base);
        c->config.base_index = i;
    }
}

int membership_at(const struct craft_core *c, craft_index index, struct craft_membership *out)
{
    if (index < c->config.base_index) {
        return CRAFT_ECOMPACTED;
    }
    craft_index i = newest_config_upto(c, index);
    if (i > c->config.base_index) {
        decode_entry(log_get(&c->log, i), out);
    } else {
        *out = c->config.base;
    }
    return 0;
}

const struct craft_membership *membership_current(const struct craft_core *c)
{
    return &c->config.current;
}

bool membership_may_campaign(const struct craft_core *c)
{
    if (membership_is_voter(c, c->cfg.id)) {
        return true;
    }
    const struct config_state *s = &c->config;
    if (s->current_index <= c->commit || s->current_index <= s->base_index) {
        return false; /* removed for good, never added, or nothing before it is known */
    }
    craft_index i = newest_config_upto(c, s->current_index - 1);
    struct craft_membership prev = s->base;
    if (i > s->base_index) {
        decode_entry(log_get(&c->log, i), &prev);
    }
    return config_has_voter(&prev, c->cfg.id);
}

bool membership_is_voter(const struct craft_core *c, craft_id id)
{
    return config_has_voter(&c->config.current, id);
}

#ifdef CRAFT_MUTATION_CONFIG_ON_COMMIT
/* Mutation: the newest committed CONFIG entry takes effect only now, not when appended. */
void membership_on_commit(struct craft_core *c)
{
    craft_index upto = c->commit < log_last_index(&c->log) ? c->commit : log_last_index(&c->log);
    craft_index i = newest_config_upto(c, upto);
    if (i > c->config.current_index) {
        struct craft_membership m;
        decode_entry(log_get(&c->log, i), &m);
        take_effect(c, &m, i);
    }
}
#endif
