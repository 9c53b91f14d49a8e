/* Client requests: each is fed to the core and ends in exactly one env->complete, at once when
 * the core refuses it, else when its outcome is known. Proposals end through the apply queue
 * (node_output.c); a change ends once its configuration is committed; a transfer once another
 * node leads or the core gives it up. */
#include <string.h>

#include "node_internal.h"

void node_complete(struct node *n, uint64_t cookie, int status, craft_index index,
                   craft_term term)
{
    struct craft_result r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.index = index;
    r.term = term;
    if (status == CRAFT_ENOTLEADER) {
        r.leader = craft_core_leader(n->core);
    }
    n->env.complete(n->env.ctx, cookie, &r);
}

/* A leader whose state machine is NODE_APPLY_BACKLOG_WINDOWS windows behind its commit index. */
static bool apply_backlogged(const struct node *n)
{
    if (n->apply_window == 0 ||
        n->committed - n->applied < NODE_APPLY_BACKLOG_WINDOWS * n->apply_window) {
        return false;
    }
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    return st.role == CRAFT_LEADER;
}

int node_propose(struct node *n, const uint64_t *cookies, const struct craft_buf *cmds, size_t k)
{
    int rv = CRAFT_ESHUTDOWN;
    if (n->failed == 0 && apply_backlogged(n)) {
        rv = CRAFT_EBUSY; /* the state machine is far behind: more would only queue up */
    } else if (n->failed == 0) {
        struct craft_input in = {.type = CRAFT_IN_PROPOSE};
        in.propose.cmds = cmds;
        in.propose.n = k;
        in.propose.cookies = cookies;
        rv = node_step(n, &in);
    }
    for (size_t i = 0; i < k && rv != 0; i++) {
        node_complete(n, cookies[i], rv, 0, 0);
    }
    return rv;
}

int node_read(struct node *n, uint64_t cookie, int mode, bool more)
{
    if (n->failed != 0) {
        node_complete(n, cookie, CRAFT_ESHUTDOWN, 0, 0);
        return CRAFT_ESHUTDOWN;
    }
#ifdef CRAFT_MUTATION_KV_FOLLOWER_LOCAL_READ
    if (mode != CRAFT_READ_STALE) {
        /* mutation: a linearizable read runs on this node's state machine as it stands, with no
         * read barrier (no read index, no leadership check): a follower, or a deposed leader,
         * answers from its own, maybe stale, state. */
        struct node_apply_item item = {.kind = NODE_APPLY_READ};
        item.cookie = cookie;
        item.index = n->applied;
        int rv = n->env.apply_submit(n->env.ctx, &item, 1);
        if (rv != 0) {
            node_complete(n, cookie, rv, 0, 0);
        }
        return rv;
    }
#endif
    struct craft_input in = {.type = CRAFT_IN_READ};
    in.read.cookie = cookie;
    in.read.mode = (uint32_t)mode; /* craft_node_read_mode and craft_read_mode agree */
    in.read.now_ms = n->env.now_ms(n->env.ctx);
#ifdef CRAFT_MUTATION_READ_ALWAYS_MORE
    in.read.more = true; /* mutation: every read promises more, so none starts its round */
    (void)more;
#else
    in.read.more = more;
#endif
    int rv = node_step(n, &in);
    if (rv != 0) {
        node_complete(n, cookie, rv, 0, 0);
    }
    return rv;
}

/* A request of which one waits at a time (busy: one does): refused at once, or stepped; a
 * refusal by the core ends it too. */
static int step_one_at_a_time(struct node *n, uint64_t cookie, bool busy,
                              const struct craft_input *in)
{
    int rv = n->failed != 0 ? CRAFT_ESHUTDOWN : busy ? CRAFT_EBUSY : node_step(n, in);
    if (rv != 0) {
        node_complete(n, cookie, rv, 0, 0);
    }
    return rv;
}

int node_change(struct node *n, uint64_t cookie, const struct craft_membership *target)
{
    struct craft_input in = {.type = CRAFT_IN_CHANGE};
    in.change.target = target;
    int rv = step_one_at_a_time(n, cookie, n->change.active, &in);
    if (rv != 0) {
        return rv;
    }
    n->change.active = true;
    n->change.cookie = cookie;
    n->change.target = *target;
    node_requests_after_step(n);
    return 0;
}

int node_transfer(struct node *n, uint64_t cookie, craft_id target)
{
    struct craft_input in = {.type = CRAFT_IN_TRANSFER};
    in.transfer.target = target;
    int rv = step_one_at_a_time(n, cookie, n->transfer.active, &in);
    if (rv != 0) {
        return rv;
    }
    n->transfer.active = true;
    n->transfer.cookie = cookie;
    n->transfer.target = target;
    n->transfer.deadline_ms = n->env.now_ms(n->env.ctx) + 2 * (uint64_t)n->election_timeout_ms_max;
    node_requests_after_step(n);
    return 0;
}

static bool same_ids(const craft_id *a, unsigned na, const craft_id *b, unsigned nb)
{
    if (na != nb) {
        return false;
    }
    for (unsigned i = 0; i < na; i++) {
        bool found = false;
        for (unsigned j = 0; j < nb && !found; j++) {
            found = a[i] == b[j];
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

static void change_after_step(struct node *n, const struct craft_core_status *st)
{
    struct craft_membership cfg;
    craft_index at = craft_core_membership(n->core, &cfg);
    const struct craft_membership *t = &n->change.target;
    if (cfg.n_voters_old == 0 && at <= st->commit &&
        same_ids(cfg.voters, cfg.n_voters, t->voters, t->n_voters) &&
        same_ids(cfg.learners, cfg.n_learners, t->learners, t->n_learners)) {
        n->change.active = false;
        node_complete(n, n->change.cookie, 0, at, 0);
    } else if (st->role != CRAFT_LEADER) {
        /* Its entry may still commit under the next leader. */
        n->change.active = false;
        node_complete(n, n->change.cookie, CRAFT_EUNKNOWN, 0, 0);
    }
}

static void transfer_after_step(struct node *n, const struct craft_core_status *st)
{
    craft_id want = n->transfer.target;
    int status;
    if (st->leader != CRAFT_ID_NONE && st->leader != st->id &&
        (want == CRAFT_ID_NONE || st->leader == want)) {
        status = 0;
    } else if (st->role == CRAFT_LEADER && st->transfer_target == CRAFT_ID_NONE) {
        status = CRAFT_EBUSY; /* the core gave it up: the target did not take over in time */
    } else if (n->env.now_ms(n->env.ctx) >= n->transfer.deadline_ms) {
        status = CRAFT_EBUSY;
    } else {
        return;
    }
    n->transfer.active = false;
    struct craft_result r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.term = st->term;
    r.leader = st->leader;
    n->env.complete(n->env.ctx, n->transfer.cookie, &r);
}

void node_requests_after_step(struct node *n)
{
    if (!n->change.active && !n->transfer.active) {
        return;
    }
    struct craft_core_status st;
    craft_core_status(n->core, &st);
    if (n->change.active) {
        change_after_step(n, &st);
    }
    if (n->transfer.active) {
        transfer_after_step(n, &st);
    }
}
