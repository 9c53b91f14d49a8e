/* The core's front door: creation from a config and recovered state, the step function that
 * routes each input, the term rules every message passes first (§5.1), and status queries. */
#include <string.h>

#include "core_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

void craft_core_config_init(struct craft_core_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->election_timeout_ms_min = 150;
    cfg->election_timeout_ms_max = 300;
    cfg->heartbeat_interval_ms = 50;
    cfg->pre_vote = true;
    cfg->check_quorum = true;
    cfg->inflight_msgs_max = 64;
    cfg->inflight_bytes_max = 8u << 20;
    cfg->append_entries_max = 1024;
    cfg->append_bytes_max = 1u << 20;
    cfg->uncommitted_bytes_max = 64u << 20;
}

static int config_check(const struct craft_core_config *cfg)
{
    if (cfg->id == CRAFT_ID_NONE || cfg->voters == NULL) {
        return CRAFT_EINVAL;
    }
    if (cfg->election_timeout_ms_min == 0 ||
        cfg->election_timeout_ms_max <= cfg->election_timeout_ms_min) {
        return CRAFT_EINVAL;
    }
    /* Followers must hear a heartbeat well within their shortest election timeout. */
    if (cfg->heartbeat_interval_ms == 0 ||
        cfg->heartbeat_interval_ms >= cfg->election_timeout_ms_min) {
        return CRAFT_EINVAL;
    }
    if (cfg->inflight_msgs_max == 0 || cfg->inflight_bytes_max == 0 ||
        cfg->append_entries_max == 0 || cfg->append_bytes_max == 0 ||
        cfg->uncommitted_bytes_max == 0) {
        return CRAFT_EINVAL;
    }
    return 0;
}

static int boot_load(struct craft_core *c, const struct craft_core_boot *boot)
{
    if (boot == NULL) {
        return 0;
    }
    craft_term term = 0;
    for (size_t i = 0; i < boot->n_entries; i++) {
        const struct craft_entry *e = &boot->entries[i];
        if (e->index != i + 1 || e->term < term || e->term > boot->hard_state.term) {
            return CRAFT_ECORRUPT; /* storage handed us a log that cannot be a Raft log */
        }
        int rv = log_append(&c->log, e->term, e->type, e->data.base, e->data.len);
        if (rv != 0) {
            return rv;
        }
        term = e->term;
    }
    c->log.stable = log_last_index(&c->log);
    c->term = boot->hard_state.term;
    c->vote = boot->hard_state.vote;
    craft_index last = log_last_index(&c->log);
    /* A commit index or applied index past the durable log is a hint we cannot use yet. */
    craft_index commit = boot->hard_state.commit < last ? boot->hard_state.commit : last;
    craft_index applied = boot->applied < last ? boot->applied : last;
    c->commit = commit > applied ? commit : applied;
    c->applied = applied;
    c->emitted = applied;
    c->hs_emitted = boot->hard_state;
    return 0;
}

int craft_core_create(const struct craft_core_config *cfg, const struct craft_core_boot *boot,
                      struct craft_core **out)
{
    int rv = config_check(cfg);
    if (rv != 0) {
        return rv;
    }
    struct craft_core *c = craft_calloc(1, sizeof *c);
    if (c == NULL) {
        return CRAFT_ENOMEM;
    }
    c->cfg = *cfg;
    rv = membership_init(&c->membership, cfg->voters, cfg->n_voters);
    if (rv != 0) {
        goto fail;
    }
    c->cfg.voters = c->membership.voters; /* the caller's array is only borrowed */
    c->inflight_rings =
        craft_calloc((size_t)CRAFT_VOTERS_MAX * cfg->inflight_msgs_max, sizeof(struct inflight));
    if (c->inflight_rings == NULL) {
        rv = CRAFT_ENOMEM;
        goto fail;
    }
    prng_seed(&c->prng, cfg->seed ^ cfg->id);
    log_init(&c->log);
    rv = boot_load(c, boot);
    if (rv != 0) {
        goto fail_log;
    }
    c->role = CRAFT_FOLLOWER;
    c->leader = CRAFT_ID_NONE;
    election_reset_timer(c);
    *out = c;
    return 0;

fail_log:
    log_close(&c->log);
    craft_free(c->inflight_rings);
fail:
    craft_free(c);
    return rv;
}

void craft_core_destroy(struct craft_core *c)
{
    if (c == NULL) {
        return;
    }
    output_close(c);
    log_close(&c->log);
    craft_free(c->inflight_rings);
    craft_free(c);
}

static void leader_tick(struct craft_core *c)
{
    if (c->now >= c->heartbeat_deadline) {
        c->heartbeat_deadline = c->now + c->cfg.heartbeat_interval_ms;
        replication_broadcast_heartbeat(c);
    }
    if (c->now < c->check_quorum_deadline) {
        return;
    }
    c->check_quorum_deadline = c->now + c->cfg.election_timeout_ms_max;
    unsigned active = 0;
    for (unsigned i = 0; i < c->membership.n_voters; i++) {
        struct progress *p = &c->progress[i];
        active += p->id == c->cfg.id || p->recent_active;
        p->recent_active = false;
    }
    if (c->cfg.check_quorum && active < membership_quorum(&c->membership)) {
        /* Thesis §6.2: a leader cut off from a quorum steps down, so clients look elsewhere. */
        election_become_follower(c, c->term, CRAFT_ID_NONE);
    }
}

static void on_tick(struct craft_core *c, uint64_t now)
{
    if (!c->clock_started) {
        /* The caller's clock may start anywhere: the first tick starts the timers, so a node
         * that was just created or restarted waits a full timeout before campaigning. */
        c->clock_started = true;
        c->now = now;
        election_reset_timer(c);
        return;
    }
    if (now > c->now) {
        c->now = now;
    }
    if (c->role == CRAFT_LEADER) {
        leader_tick(c);
    } else {
        election_tick(c);
    }
}

/* §5.1: a message of a higher term moves us to that term; one of a lower term is stale.
 * Returns true when the message should go on to its handler. */
static bool check_term(struct craft_core *c, const struct craft_msg *m)
{
    if (m->term > c->term) {
        if (m->type == CRAFT_MSG_PREVOTE) {
            return true; /* asking about a future term changes nothing here */
        }
        if (m->type == CRAFT_MSG_PREVOTE_RESP) {
            return true; /* granted ones carry the term we asked about */
        }
        if (m->type == CRAFT_MSG_VOTE && c->cfg.check_quorum && election_in_lease(c)) {
            return false; /* a live leader keeps its followers (thesis §4.2.3) */
        }
        craft_id leader = m->type == CRAFT_MSG_APPEND ? m->from : CRAFT_ID_NONE;
        election_become_follower(c, m->term, leader);
        return true;
    }
    if (m->term < c->term) {
        if (m->type == CRAFT_MSG_APPEND) {
            /* Tell a deposed leader about the newer term so it steps down. */
            struct craft_msg *r = output_msg(c, CRAFT_MSG_APPEND_RESP, m->from);
            if (r != NULL) {
                r->append_resp.index = m->append.prev_index;
                r->append_resp.hint_index = log_last_index(&c->log) + 1;
            }
            return false;
        }
        return m->type == CRAFT_MSG_PREVOTE || m->type == CRAFT_MSG_VOTE;
    }
    return true;
}

static void on_msg(struct craft_core *c, const struct craft_msg *m)
{
    if (m->to != c->cfg.id || m->from == c->cfg.id || m->type < CRAFT_MSG_PREVOTE ||
        m->type > CRAFT_MSG_TYPE_MAX) {
        return; /* misaddressed or unknown: input, not a bug */
    }
    if (!check_term(c, m)) {
        return;
    }
    switch (m->type) {
    case CRAFT_MSG_PREVOTE:
    case CRAFT_MSG_VOTE:
        election_on_vote_request(c, m);
        break;
    case CRAFT_MSG_PREVOTE_RESP:
    case CRAFT_MSG_VOTE_RESP:
        election_on_vote_response(c, m);
        break;
    case CRAFT_MSG_APPEND:
        if (c->role == CRAFT_LEADER) {
            return; /* two leaders in one term is impossible; ignore the impostor */
        }
        replication_on_append(c, m);
        break;
    case CRAFT_MSG_APPEND_RESP:
        if (c->role == CRAFT_LEADER) {
            replication_on_append_response(c, m);
        }
        break;
    }
}

int craft_core_step(struct craft_core *c, const struct craft_input *in, struct craft_output *out)
{
    int rv = 0;
    output_begin(c);
    switch (in->type) {
    case CRAFT_IN_TICK:
        on_tick(c, in->tick.now_ms);
        break;
    case CRAFT_IN_MSGS:
        if (in->msgs.n > 0 && in->msgs.msgs == NULL) {
            rv = CRAFT_EINVAL;
            break;
        }
        for (size_t i = 0; i < in->msgs.n; i++) {
#ifdef CRAFT_MUTATION_BATCH_OUTPUTS_LOST
            output_begin(c); /* mutation: each message of a batch discards the earlier outputs */
#endif
            on_msg(c, &in->msgs.msgs[i]);
        }
        break;
    case CRAFT_IN_PROPOSE:
        if (in->propose.n > 0 && in->propose.cmds == NULL) {
            rv = CRAFT_EINVAL;
            break;
        }
        rv = replication_propose(c, in->propose.cmds, in->propose.n, out);
        break;
    case CRAFT_IN_PERSISTED:
        replication_on_persisted(c, in->persisted.term, in->persisted.index);
        break;
    case CRAFT_IN_APPLIED:
        if (in->applied.index > c->applied && in->applied.index <= c->emitted) {
            c->applied = in->applied.index;
        }
        break;
    case CRAFT_IN_COMPACT: {
        craft_index upto = in->compact.index;
#ifndef CRAFT_MUTATION_COMPACT_PAST_APPLIED
        upto = upto < c->applied ? upto : c->applied;
#endif
        upto = upto < c->log.stable ? upto : c->log.stable;
        log_compact(&c->log, upto);
        break;
    }
    case CRAFT_IN_CAMPAIGN:
        if (c->role != CRAFT_LEADER) {
            election_campaign(c, c->cfg.pre_vote);
        }
        break;
    default:
        rv = CRAFT_EINVAL;
        break;
    }
    craft_index proposed_first = log_last_index(&c->log) + 1;
    craft_term proposed_term = c->term;
    output_finish(c, out);
    if (in->type == CRAFT_IN_PROPOSE && rv == 0 && in->propose.n > 0) {
        out->proposed_term = proposed_term;
#ifdef CRAFT_MUTATION_PROPOSE_BATCH_INDEX
        out->proposed_index_first = proposed_first - 1; /* mutation: the last command's index */
#else
        out->proposed_index_first = proposed_first - in->propose.n;
#endif
    }
    CRAFT_ASSERT(c->commit <= log_last_index(&c->log));
    CRAFT_ASSERT(c->log.stable <= log_last_index(&c->log));
    if (rv == 0 && c->out_of_memory) {
        rv = CRAFT_ENOMEM;
    }
    return rv;
}

void craft_core_status(const struct craft_core *c, struct craft_core_status *out)
{
    *out = (struct craft_core_status){
        .id = c->cfg.id,
        .role = c->role,
        .term = c->term,
        .vote = c->vote,
        .leader = c->leader,
        .commit = c->commit,
        .applied = c->applied,
        .persisted = c->log.stable,
        .last_index = log_last_index(&c->log),
        .last_term = log_last_term(&c->log),
        .first_index = log_first_index(&c->log),
    };
}

craft_id craft_core_leader(const struct craft_core *c)
{
    return c->leader;
}

size_t craft_core_progress(const struct craft_core *c, struct craft_progress_status *out,
                           size_t n_max)
{
    if (c->role != CRAFT_LEADER) {
        return 0;
    }
    size_t n = 0;
    for (unsigned i = 0; i < c->membership.n_voters && n < n_max; i++) {
        const struct progress *p = &c->progress[i];
        if (p->id == c->cfg.id) {
            continue;
        }
        out[n++] = (struct craft_progress_status){
            .id = p->id,
            .state = p->state,
            .match = p->match,
            .next = p->next,
            .inflight_msgs = p->count,
            .inflight_bytes = p->bytes,
            .recent_active = p->recent_active,
        };
    }
    return n;
}

int craft_core_entry(const struct craft_core *c, craft_index index, const struct craft_entry **out)
{
    if (index < log_first_index(&c->log)) {
        return CRAFT_ECOMPACTED;
    }
    if (index > log_last_index(&c->log)) {
        return CRAFT_EINVAL;
    }
    *out = log_get(&c->log, index);
    return 0;
}

const char *craft_role_name(enum craft_role role)
{
    switch (role) {
    case CRAFT_FOLLOWER:
        return "follower";
    case CRAFT_PRECANDIDATE:
        return "pre-candidate";
    case CRAFT_CANDIDATE:
        return "candidate";
    case CRAFT_LEADER:
        return "leader";
    }
    return "?";
}

const char *craft_msg_type_name(uint32_t type)
{
    static const char *const names[] = {"?",    "prevote",      "prevote-resp", "vote",
                                        "vote-resp", "append", "append-resp"};
    return type <= CRAFT_MSG_TYPE_MAX ? names[type] : "?";
}
