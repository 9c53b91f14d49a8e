/* Membership changes on the leader (thesis §4.1-4.3): one change at a time, never before an
 * entry of the leader's term has committed; a change of one voter goes straight to C_new, any other
 * through the joint configuration C_old,new, and the leader appends C_new once the joint entry has
 * committed. New voters first join as learners and are promoted once they have caught up. A leader
 * that is not a voter of a committed C_new steps down. */
#include "core_internal.h"
#include "util/assert.h"

/* How many voters one configuration has that the other lacks (neither is joint). */
static unsigned voter_difference(const struct craft_membership *a, const struct craft_membership *b)
{
    unsigned n = 0;
    for (unsigned i = 0; i < a->n_voters; i++) {
        n += !config_has_voter(b, a->voters[i]);
    }
    for (unsigned i = 0; i < b->n_voters; i++) {
        n += !config_has_voter(a, b->voters[i]);
    }
    return n;
}

static int append_config(struct craft_core *c, const struct craft_membership *m)
{
    unsigned char buf[CONFIG_BYTES_MAX];
    size_t len = config_encode(m, buf);
    return replication_append_own(c, CRAFT_ENTRY_CONFIG, buf, len);
}

/* Adds id to m's learners unless it is already there. */
static void add_learner(struct craft_membership *m, craft_id id)
{
    if (!config_has_learner(m, id) && m->n_learners < CRAFT_LEARNERS_MAX) {
        m->learners[m->n_learners++] = id;
    }
}

/* The voters of target that are not voters now and have not caught up with the commit index. */
static bool behind(struct craft_core *c, const struct craft_membership *target, craft_id *who)
{
    const struct craft_membership *cur = membership_current(c);
    for (unsigned i = 0; i < target->n_voters; i++) {
        craft_id id = target->voters[i];
        if (config_has_voter(cur, id) || id == c->cfg.id) {
            continue;
        }
        const struct peer *p = peers_find(&c->peers, id);
        if (p == NULL || p->pr.match < c->commit) {
            *who = id;
            return true;
        }
    }
    return false;
}

/* Appends the change itself: C_new for a change of at most one voter, else C_old,new. */
static int append_change(struct craft_core *c, const struct craft_membership *target)
{
    const struct craft_membership *cur = membership_current(c);
    if (voter_difference(cur, target) <= 1) {
        return append_config(c, target);
    }
    struct craft_membership joint = *target;
    joint.n_voters_old = cur->n_voters;
    for (unsigned i = 0; i < cur->n_voters; i++) {
        joint.voters_old[i] = cur->voters[i];
    }
    /* A learner of the target that votes in C_old stays a voter until C_new. */
    unsigned k = 0;
    for (unsigned i = 0; i < joint.n_learners; i++) {
        if (!config_has_voter(&joint, joint.learners[i])) {
            joint.learners[k++] = joint.learners[i];
        }
    }
    joint.n_learners = k;
    return append_config(c, &joint);
}

int change_start(struct craft_core *c, const struct craft_membership *target)
{
    if (c->role != CRAFT_LEADER) {
        return CRAFT_ENOTLEADER;
    }
    if (!config_is_valid(target) || config_is_joint(target)) {
        return CRAFT_EINVAL;
    }
    const struct craft_membership *cur = membership_current(c);
    /* One change at a time, and only once this leader's term has committed an entry: a leader
     * may not yet know about a change its predecessor started (the single-server change bug). */
#ifndef CRAFT_MUTATION_CHANGE_BEFORE_TERM_COMMIT
    if (c->commit < c->term_start) {
        return CRAFT_EBUSY;
    }
#endif
    if (c->change_pending || config_is_joint(cur) || c->config.current_index > c->commit) {
        return CRAFT_EBUSY;
    }
    if (config_equal(cur, target)) {
        return CRAFT_EEXIST;
    }
    craft_id who;
    if (!behind(c, target, &who)) {
        return append_change(c, target);
    }
    /* New voters first replicate as learners; change_advance promotes them. */
    struct craft_membership staged = *cur;
    for (unsigned i = 0; i < target->n_voters; i++) {
        if (!config_has_voter(cur, target->voters[i])) {
            add_learner(&staged, target->voters[i]);
        }
    }
    if (!config_equal(&staged, cur)) {
        int rv = append_config(c, &staged);
        if (rv != 0) {
            return rv;
        }
    }
    c->change_pending = true;
    c->change_target = *target;
    return 0;
}

void change_advance(struct craft_core *c)
{
    if (c->role != CRAFT_LEADER) {
        return;
    }
    const struct craft_membership *cur = membership_current(c);
    bool committed = c->config.current_index <= c->commit;
    if (!committed) {
        return;
    }
    /* No configuration entry at all (C_new of an inherited joint configuration included) before
     * an entry of this leader's term has committed (thesis §4.1). */
    bool term_committed = c->commit >= c->term_start;
#ifdef CRAFT_MUTATION_CHANGE_BEFORE_TERM_COMMIT
    term_committed = true; /* mutation */
#endif
    if (config_is_joint(cur) && term_committed) {
        struct craft_membership next = *cur;
        next.n_voters_old = 0;
        if (append_config(c, &next) != 0) {
            c->out_of_memory = true;
        }
        return;
    }
    craft_id who;
    if (config_is_joint(cur)) {
        return;
    }
    if (c->change_pending && !behind(c, &c->change_target, &who)) {
        c->change_pending = false;
        struct craft_membership target = c->change_target;
        if (!config_equal(cur, &target) && append_change(c, &target) != 0) {
            c->out_of_memory = true;
        }
        return;
    }
    if (!c->change_pending && !config_has_voter(cur, c->cfg.id)) {
        /* Thesis §4.2.2: removed from a committed configuration, the leader steps down. */
        role_become_follower(c, c->term, CRAFT_ID_NONE);
    }
}
