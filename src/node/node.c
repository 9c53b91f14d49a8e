/* The node's life and its events: create, destroy, the timer, messages, the state machine's
 * progress, and the status copy. */
#include "node.h"

#include <string.h>

#include "node_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

static void arm_timer(struct node *n)
{
    if (n->failed != 0) {
        return;
    }
    /* The core's own deadline, and at least a tick per heartbeat interval for its other clocks
     * (check-quorum, a transfer's timeout, the node's own transfer deadline). An armed timer is
     * only ever brought forward, never pushed back: the core's clock moves only with ticks, so
     * a stream of messages that kept moving the timer later would freeze it (a follower then
     * measures its election timeout from a stale clock and campaigns under its leader). An early
     * tick costs nothing. */
    uint64_t now = n->env.now_ms(n->env.ctx);
    uint64_t at = craft_core_next_deadline(n->core);
    if (at <= n->last_tick_ms) {
        /* A deadline the last tick already saw and left (a node that may not campaign, a
         * learner): another tick at once would change nothing, and again, forever. */
        at = n->last_tick_ms + n->heartbeat_interval_ms;
    }
    uint64_t latest = now + n->heartbeat_interval_ms;
    if (at > latest) {
        at = latest;
    }
#ifdef CRAFT_MUTATION_NODE_TIMER_PUSHED
    bool rearm = at != n->timer_at_ms; /* mutation: a later arming replaces an earlier one */
#else
    bool rearm = n->timer_at_ms == 0 || at < n->timer_at_ms;
#endif
    if (rearm) {
        n->timer_at_ms = at;
        n->env.timer_arm(n->env.ctx, at);
    }
}

int node_step(struct node *n, const struct craft_input *in)
{
    if (n->failed != 0) {
        return CRAFT_ESHUTDOWN;
    }
    if (n->env.before_step != NULL) {
        n->env.before_step(n->env.ctx, in);
    }
    struct craft_output out;
    int rv = craft_core_step(n->core, in, &out);
    if (n->env.stepped != NULL) {
        n->env.stepped(n->env.ctx, in, rv, &out);
    }
    node_carry_out(n, &out);
    if (n->env.carried_out != NULL) {
        n->env.carried_out(n->env.ctx, in, &out);
    }
    if (rv == CRAFT_ENOMEM) {
        node_fail(n, rv);
    }
    node_requests_after_step(n);
    node_streams_after_step(n);
    arm_timer(n);
    return rv;
}

void node_fail(struct node *n, int rv)
{
    if (n->failed != 0) {
        return;
    }
    n->failed = rv;
    if (n->env.failed != NULL) {
        n->env.failed(n->env.ctx, rv);
    }
}

void node_config_init(struct node_config *cfg)
{
    craft_core_config_init(&cfg->core);
    cfg->snapshot_every = 0;
    cfg->snapshots = false;
    cfg->log_trailing = NODE_NEVER_COMPACT;
    cfg->apply_window = 0;
    cfg->fs = NULL;
    cfg->chunk_bytes = 64u << 10;
    cfg->window_chunks = 4;
    cfg->resend_ms = 500;
    cfg->stall_ms = 10000;
}

int node_create(const struct node_config *cfg, const struct craft_core_boot *boot,
                const struct node_env *env, struct node **out)
{
    CRAFT_ASSERT(env->now_ms != NULL && env->timer_arm != NULL && env->send != NULL &&
                 env->log_submit != NULL && env->apply_submit != NULL && env->complete != NULL);
    struct node *n = craft_calloc(1, sizeof *n);
    if (n == NULL) {
        return CRAFT_ENOMEM;
    }
    n->env = *env;
    n->election_timeout_ms_max = cfg->core.election_timeout_ms_max;
    n->heartbeat_interval_ms = cfg->core.heartbeat_interval_ms;
    n->snapshot_every = cfg->snapshot_every;
    n->snapshots = cfg->snapshots || cfg->snapshot_every != 0;
    n->log_trailing = cfg->log_trailing;
    n->fs = cfg->fs;
    n->chunk_bytes = cfg->chunk_bytes;
    n->window_chunks = cfg->window_chunks;
    n->resend_ms = cfg->resend_ms;
    n->stall_ms = cfg->stall_ms;
    int rv = craft_core_create(&cfg->core, boot, &n->core);
    if (rv != 0) {
        craft_free(n);
        return rv;
    }
    n->applied = boot != NULL ? boot->applied : 0;
    n->handed = n->applied;
    n->committed = n->applied;
    n->apply_window = cfg->apply_window;
    /* The first tick starts the core's clock. */
    n->timer_at_ms = env->now_ms(env->ctx);
    env->timer_arm(env->ctx, n->timer_at_ms);
    *out = n;
    return 0;
}

void node_destroy(struct node *n)
{
    if (n == NULL) {
        return;
    }
    if (n->change.active) {
        n->change.active = false;
        node_complete(n, n->change.cookie, CRAFT_ESHUTDOWN, 0, 0);
    }
    if (n->transfer.active) {
        n->transfer.active = false;
        node_complete(n, n->transfer.cookie, CRAFT_ESHUTDOWN, 0, 0);
    }
    node_snapshot_requests_fail(n, CRAFT_ESHUTDOWN);
    node_held_close(&n->snap_waiters);
    node_writes_free(n);
    node_streams_close(n);
    node_held_close(&n->held_results);
    node_held_close(&n->held_reads);
    node_payload_close(n);
    craft_free(n->apply_cookies);
    craft_core_destroy(n->core);
    craft_free(n);
}

int node_input(struct node *n, const struct craft_input *in)
{
    return node_step(n, in);
}

void node_on_timer(struct node *n)
{
    n->timer_at_ms = 0;
    struct craft_input in = {.type = CRAFT_IN_TICK};
    in.tick.now_ms = n->env.now_ms(n->env.ctx);
    n->last_tick_ms = in.tick.now_ms;
    (void)node_step(n, &in);
    if (n->failed == 0) {
        node_streams_on_timer(n);
    }
}

void node_on_msgs(struct node *n, const struct craft_msg *msgs, size_t k)
{
    if (k == 0) {
        return;
    }
    struct craft_input in = {.type = CRAFT_IN_MSGS};
    in.msgs.msgs = msgs;
    in.msgs.n = k;
    (void)node_step(n, &in);
}

void node_on_applied(struct node *n, craft_index index)
{
    if (n->failed != 0) {
        return;
    }
    if (index > n->apply_reported) {
        n->apply_reported = index;
        node_payload_settle(n); /* the entries read in place up to index are done with */
    }
    if (index <= n->applied) {
        return;
    }
    if (index > n->handed) {
        /* The apply side restored a snapshot newer than the one it was handed: a newer one
         * replaced that file before the restore ran (rt_snapshot_restore_received, and the
         * simulator's apply worker, restore the newest), so the state machine holds entries
         * never handed out. They are covered, as by an installed snapshot. Simulator seed 5025
         * (10,000-step swarm) reached it once reads batched their rounds. */
        node_apply_covered(n, index);
    }
    CRAFT_ASSERT(index <= n->handed);
    n->applied = index;
    struct craft_input in = {.type = CRAFT_IN_APPLIED};
    in.applied.index = index;
    (void)node_step(n, &in);
    node_hand_over(n);
    node_snapshot_settle(n);
}

const struct craft_core *node_core(const struct node *n)
{
    return n->core;
}

bool node_stopped(const struct node *n)
{
    return n->failed != 0;
}

static int public_role(const struct node *n, enum craft_role role)
{
    if (n->failed != 0) {
        return CRAFT_NODE_STOPPED;
    }
    switch (role) {
    case CRAFT_LEADER:
        return CRAFT_NODE_LEADER;
    case CRAFT_CANDIDATE:
    case CRAFT_PRECANDIDATE:
        return CRAFT_NODE_CANDIDATE;
    default:
        return CRAFT_NODE_FOLLOWER;
    }
}

static bool is_voter(const struct craft_membership *m, craft_id id)
{
    for (unsigned i = 0; i < m->n_voters; i++) {
        if (m->voters[i] == id) {
            return true;
        }
    }
    for (unsigned i = 0; i < m->n_voters_old; i++) {
        if (m->voters_old[i] == id) {
            return true;
        }
    }
    return false;
}

void node_status(const struct node *n, struct craft_node_status *st)
{
    memset(st, 0, sizeof *st);
    struct craft_core_status cs;
    craft_core_status(n->core, &cs);
    st->id = cs.id;
    st->role = public_role(n, cs.role);
    st->term = cs.term;
    st->leader = cs.leader;
    st->commit = cs.commit;
    st->applied = n->applied;
    st->last_index = cs.last_index;
    st->snapshot_index = cs.snapshot_index;
    (void)craft_core_membership(n->core, &st->membership);
    struct craft_progress_status prog[CRAFT_VOTERS_MAX + CRAFT_LEARNERS_MAX];
    size_t k = craft_core_progress(n->core, prog, CRAFT_VOTERS_MAX + CRAFT_LEARNERS_MAX);
    for (size_t i = 0; i < k; i++) {
        struct craft_node_follower *f = &st->followers[st->n_followers++];
        f->id = prog[i].id;
        f->match = prog[i].match;
        f->state = (int)prog[i].state;
        f->voter = is_voter(&st->membership, prog[i].id);
    }
}
