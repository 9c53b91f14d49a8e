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
    cfg->reads_max = 4096;
}

/* The bootstrap voters as a configuration (empty when none were given). */
static int bootstrap_membership(const struct craft_core_config *cfg, struct craft_membership *m)
{
    memset(m, 0, sizeof *m);
    if (cfg->n_voters == 0) {
        return 0;
    }
    if (cfg->voters == NULL || cfg->n_voters > CRAFT_VOTERS_MAX) {
        return CRAFT_EINVAL;
    }
    m->n_voters = cfg->n_voters;
    memcpy(m->voters, cfg->voters, cfg->n_voters * sizeof cfg->voters[0]);
    return config_is_valid(m) ? 0 : CRAFT_EINVAL;
}

static int config_check(const struct craft_core_config *cfg)
{
    struct craft_membership m;
    if (cfg->id == CRAFT_ID_NONE || bootstrap_membership(cfg, &m) != 0) {
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
        cfg->uncommitted_bytes_max == 0 || cfg->reads_max == 0) {
        return CRAFT_EINVAL;
    }
    if (cfg->lease_reads && (!cfg->check_quorum || cfg->clock_drift_ppm >= 1000000)) {
        return CRAFT_EINVAL; /* a lease needs followers that refuse votes within it */
    }
    return 0;
}

/* The snapshot the log starts after, if any: it must be one a Raft cluster can have made. */
static int boot_snapshot(struct craft_core *c, const struct craft_core_boot *boot)
{
    const struct craft_snapshot_meta *s = &boot->snapshot;
    if (s->index == 0) {
        return 0;
    }
    if (s->term == 0 || s->term > boot->hard_state.term || !config_is_valid(&s->membership)) {
        return CRAFT_ECORRUPT;
    }
    if (boot->applied < s->index) {
        return CRAFT_EINVAL; /* the state machine must hold the snapshot before the core starts */
    }
    log_start_after(&c->log, s->index, s->term);
    membership_init(c, &s->membership, s->index);
    c->snapshot = *s;
    return 0;
}

static int boot_load(struct craft_core *c, const struct craft_core_boot *boot)
{
    int rv = boot_snapshot(c, boot);
    if (rv != 0) {
        return rv;
    }
    craft_index base = boot->snapshot.index;
    craft_term term = boot->snapshot.term;
    for (size_t i = 0; i < boot->n_entries; i++) {
        const struct craft_entry *e = &boot->entries[i];
        struct craft_membership m;
        if (e->index != base + i + 1 || e->term < term || e->term > boot->hard_state.term ||
            (e->type == CRAFT_ENTRY_CONFIG && config_decode(e->data.base, e->data.len, &m) != 0)) {
            return CRAFT_ECORRUPT; /* storage handed us a log that cannot be a Raft log */
        }
        rv = log_append(&c->log, e->term, e->type, e->data.base, e->data.len);
        if (rv != 0) {
            return rv;
        }
        membership_on_append(c, e->index);
        term = e->term;
    }
    c->log.stable = log_last_index(&c->log);
    c->term = boot->hard_state.term;
    c->vote = boot->hard_state.vote;
    craft_index last = log_last_index(&c->log);
    /* Only the hard state's commit speaks for this log: it covers entries that were durable here
     * when it was written (storage refuses a log shorter than it). The state machine's applied
     * index does not: it may have applied committed entries that never became durable here, while
     * the durable log still holds older, uncommitted ones at those indexes, which the leader must
     * be free to overwrite. */
    c->commit = boot->hard_state.commit < last ? boot->hard_state.commit : last;
    if (c->commit < boot->snapshot.index) {
        c->commit = boot->snapshot.index; /* a snapshot holds only committed entries */
    }
    /* Nothing at or below the state machine's applied index is handed out again, even past the
     * commit index or the log (a command like INCR must not run twice): emission resumes after
     * it once the leader has brought the log that far. */
#ifdef CRAFT_MUTATION_REAPPLY_AFTER_RESTART
    craft_index applied_in_log = boot->applied < c->commit ? boot->applied : c->commit;
    c->applied = applied_in_log; /* mutation: applied cut back to the durable log */
    c->emitted = applied_in_log;
#else
    c->applied = boot->applied;
    c->emitted = boot->applied;
#endif
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
    c->cfg.voters = NULL; /* the caller's array is only borrowed: the base configuration has it */
    c->role = CRAFT_FOLLOWER;
    c->leader = CRAFT_ID_NONE;
    struct craft_membership bootstrap;
    rv = bootstrap_membership(cfg, &bootstrap);
    CRAFT_ASSERT(rv == 0); /* config_check passed */
    membership_init(c, &bootstrap, 0);
    c->inflight_rings =
        craft_calloc((size_t)PEERS_MAX * cfg->inflight_msgs_max, sizeof(struct inflight));
    if (c->inflight_rings == NULL) {
        rv = CRAFT_ENOMEM;
        goto fail;
    }
    prng_seed(&c->prng, cfg->seed ^ cfg->id);
    log_init(&c->log);
    c->log.poison = cfg->debug_poison_payloads;
    if (cfg->log_slab_bytes != 0) {
        c->log.slab_bytes = cfg->log_slab_bytes;
    }
    if (boot != NULL) {
        rv = boot_load(c, boot);
        if (rv != 0) {
            goto fail_log;
        }
    }
    role_reset_election_timer(c);
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
    read_close(c);
    proposals_close(&c->proposals);
    reorder_close(&c->reorder);
    log_close(&c->log);
    craft_free(c->inflight_rings);
    craft_free(c);
}

static void on_tick(struct craft_core *c, uint64_t now)
{
    if (!c->clock_started) {
        /* The caller's clock may start anywhere: the first tick starts the timers, so a node
         * that was just created or restarted waits a full timeout before campaigning. */
        c->clock_started = true;
        c->now = now;
        role_reset_election_timer(c);
        return;
    }
    if (now > c->now) {
        c->now = now;
    }
    if (c->role == CRAFT_LEADER) {
        replication_tick(c);
        election_check_quorum(c);
    } else {
        election_tick(c);
    }
}

/* §5.1: a message of a higher term moves us to that term; one of a lower term is stale.
 * Returns true when the message should go on to its handler. */
static bool check_term(struct craft_core *c, const struct craft_msg *m)
{
    if (m->term > c->term) {
        bool asks = m->type == CRAFT_MSG_PREVOTE || m->type == CRAFT_MSG_VOTE;
        /* A removed (or never added) node cannot disrupt us (thesis §4.2.3) — unless its log is
         * more up to date than ours: then our configuration may be the stale one, and it a voter
         * of a newer one we have not received, whose election may need our vote. */
        if (asks && !membership_is_voter(c, m->from) &&
            !election_log_more_up_to_date(c, m->vote.last_index, m->vote.last_term)) {
            return false;
        }
        /* An answer from outside the configuration answers something sent when it was still a
         * member (an old message): the removed node's newer term must not unseat us. */
        bool answers = m->type == CRAFT_MSG_APPEND_RESP || m->type == CRAFT_MSG_VOTE_RESP ||
                       m->type == CRAFT_MSG_PREVOTE_RESP || m->type == CRAFT_MSG_READ_INDEX_RESP;
        if (answers && !config_has_member(membership_current(c), m->from)) {
            return false;
        }
        if (m->type == CRAFT_MSG_PREVOTE) {
#ifdef CRAFT_MUTATION_PREVOTE_BUMPS_TERM
            role_become_follower(c, m->term, CRAFT_ID_NONE); /* mutation */
#endif
            return true; /* asking about a future term changes nothing here */
        }
        if (m->type == CRAFT_MSG_PREVOTE_RESP) {
            return true; /* granted ones carry the term we asked about */
        }
        if (m->type == CRAFT_MSG_VOTE && c->cfg.check_quorum && election_in_lease(c) &&
            !m->vote.transfer) {
            return false; /* a live leader keeps its followers (thesis §4.2.3) */
        }
        craft_id leader = m->type == CRAFT_MSG_APPEND || m->type == CRAFT_MSG_TIMEOUT_NOW
                              ? m->from
                              : CRAFT_ID_NONE;
        role_become_follower(c, m->term, leader);
        return true;
    }
    if (m->term < c->term) {
#ifdef CRAFT_MUTATION_STALE_VOTE_COUNTED
        if (m->type == CRAFT_MSG_VOTE_RESP) {
            return true; /* mutation: a vote of an older term goes on to be counted */
        }
#endif
        if (m->type == CRAFT_MSG_APPEND) {
            /* Tell a deposed leader about the newer term so it steps down. */
            struct craft_msg *r = output_msg(c, CRAFT_MSG_APPEND_RESP, m->from);
            if (r != NULL) {
                r->append_resp.index = m->append.prev_index;
                r->append_resp.hint_index = log_last_index(&c->log) + 1;
            }
            return false;
        }
#ifdef CRAFT_MUTATION_STALE_RESP_UPDATES_MATCH
        if (m->type == CRAFT_MSG_APPEND_RESP) {
            return true; /* mutation: an answer of an earlier term reaches the progress */
        }
#endif
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
    case CRAFT_MSG_TIMEOUT_NOW:
        transfer_on_timeout_now(c, m);
        break;
    case CRAFT_MSG_READ_INDEX:
    case CRAFT_MSG_READ_INDEX_RESP:
        read_on_msg(c, m);
        break;
    }
}

/* What holds after every step, given the term and commit index before it (§5.1, §5.3, §5.4). */
static void check_invariants(const struct craft_core *c, craft_term term_before,
                             craft_index commit_before, craft_index applied_before)
{
    CRAFT_ASSERT(c->term >= term_before);        /* terms only rise */
    CRAFT_ASSERT(c->commit >= commit_before);    /* commit only rises */
    CRAFT_ASSERT(c->applied >= applied_before);  /* a state machine never goes back */
    CRAFT_ASSERT(c->snapshot.index <= c->applied); /* a snapshot holds applied entries */
    CRAFT_ASSERT(c->commit <= log_last_index(&c->log));
    CRAFT_ASSERT(c->log.stable <= log_last_index(&c->log));
    CRAFT_ASSERT(c->applied <= c->emitted);      /* nothing applied that was not handed out */
    CRAFT_ASSERT(c->hs_emitted.term == c->term); /* every term change reaches the output */
    CRAFT_ASSERT(c->hs_emitted.vote == c->vote);
    switch (c->role) {
    case CRAFT_LEADER:
        CRAFT_ASSERT(c->leader == c->cfg.id);
        CRAFT_ASSERT(c->vote == c->cfg.id); /* it won its own term's election */
        break;
    case CRAFT_CANDIDATE:
        CRAFT_ASSERT(c->vote == c->cfg.id);
        CRAFT_ASSERT(c->leader == CRAFT_ID_NONE);
        break;
    case CRAFT_PRECANDIDATE:
        CRAFT_ASSERT(c->leader == CRAFT_ID_NONE);
        break;
    case CRAFT_FOLLOWER:
        CRAFT_ASSERT(c->leader != c->cfg.id);
        break;
    default:
        CRAFT_ASSERT(0);
    }
}

int craft_core_step(struct craft_core *c, const struct craft_input *in, struct craft_output *out)
{
    int rv = 0;
    craft_term term_before = c->term;
    craft_index commit_before = c->commit;
    craft_index applied_before = c->applied;
    enum craft_role role_before = c->role;
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
        rv = replication_propose(c, in->propose.cmds, in->propose.n, in->propose.cookies);
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
#ifndef CRAFT_MUTATION_COMPACT_PAST_APPLIED /* mutation: only what is durable bounds it */
        upto = upto < c->applied ? upto : c->applied;
        upto = upto < c->commit ? upto : c->commit; /* applied may run past a stale log */
#endif
        upto = upto < c->log.stable ? upto : c->log.stable;
        if (upto >= log_first_index(&c->log)) {
            membership_on_compact(c, upto); /* before its CONFIG entries go */
            log_compact(&c->log, upto);
        }
        break;
    }
    case CRAFT_IN_CHANGE:
        rv = in->change.target == NULL ? CRAFT_EINVAL
             : c->transfer_target != CRAFT_ID_NONE ? CRAFT_EBUSY
                                                   : change_start(c, in->change.target);
        break;
    case CRAFT_IN_TRANSFER:
        rv = transfer_start(c, in->transfer.target);
        break;
    case CRAFT_IN_READ:
#ifndef CRAFT_MUTATION_LEASE_STALE_CLOCK /* mutation: the lease judged by the last tick */
        if (c->clock_started && in->read.now_ms > c->now) {
            c->now = in->read.now_ms; /* timers fire at the next tick; the lease sees it now */
        }
#endif
        rv = read_request(c, in->read.cookie, in->read.mode);
        break;
    case CRAFT_IN_SNAPSHOT_TAKEN:
        rv = snapshot_taken(c, in->snapshot_taken.meta);
        break;
    case CRAFT_IN_SNAPSHOT_INSTALLED:
        rv = snapshot_installed(c, in->snapshot_installed.from, in->snapshot_installed.term,
                                in->snapshot_installed.meta);
        break;
    case CRAFT_IN_SNAPSHOT_SENT: {
        struct progress *p =
            snapshot_sent(c, in->snapshot_sent.to, in->snapshot_sent.index, in->snapshot_sent.ok);
        if (p != NULL) {
            replication_send_append(c, p);
        }
        break;
    }
    case CRAFT_IN_FETCHED: {
        struct progress *p = NULL;
        rv = snapshot_fetched(c, in->fetched.to, in->fetched.prev_term, in->fetched.entries,
                              in->fetched.n, &p);
        if (p != NULL) {
            replication_send_append(c, p);
        }
        break;
    }
    case CRAFT_IN_CAMPAIGN:
        if (c->cfg.lease_reads && election_in_lease(c)) {
            /* A follower that a leader heard from within its lease would vote for itself: the
             * leader serves lease reads on the strength of that follower's silence. */
            rv = CRAFT_EBUSY;
        } else if (c->role != CRAFT_LEADER) {
            election_campaign(c, c->cfg.pre_vote);
        }
        break;
    default:
        rv = CRAFT_EINVAL;
        break;
    }
#ifdef CRAFT_MUTATION_CONFIG_ON_COMMIT
    membership_on_commit(c); /* mutation: configurations take effect only once committed */
#endif
    change_advance(c); /* a leader moves a change along: promotions, C_new, stepping down */
    transfer_advance(c); /* TimeoutNow once the target caught up; give up at the deadline */
    /* One round for every read waiting; the reads of a batch wait for its last (read.more):
     * a round started before a read arrived cannot confirm it, so each read after the first
     * would otherwise wait for a second round. */
    if (read_wants_round(c) && !(in->type == CRAFT_IN_READ && in->read.more)) {
        replication_heartbeat_round(c);
    }
    if (role_before == CRAFT_LEADER && (c->role != CRAFT_LEADER || c->term != term_before)) {
        read_on_leadership_lost(c); /* its waiting reads end: a later leader may have written */
    }
    read_advance(c); /* hand out the reads that are ready */
    proposals_advance(c); /* outcomes: committed, or unknown once the leadership ended */
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
    check_invariants(c, term_before, commit_before, applied_before);
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
        .transfer_target = c->transfer_target,
        .snapshot_index = c->snapshot.index,
        .snapshot_term = c->snapshot.term,
        .read_round_due = read_wants_round(c),
    };
}

craft_index craft_core_membership(const struct craft_core *c, struct craft_membership *out)
{
    *out = c->config.current;
    return c->config.current_index;
}

uint64_t craft_core_next_deadline(const struct craft_core *c)
{
    if (c->role != CRAFT_LEADER) {
        return c->election_deadline;
    }
    /* A transfer under way gives up at its own deadline, which may come before a heartbeat. */
    if (c->transfer_target != CRAFT_ID_NONE && c->transfer_deadline < c->heartbeat_deadline) {
        return c->transfer_deadline;
    }
    return c->heartbeat_deadline;
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
    for (unsigned i = 0; i < c->peers.n_slots && n < n_max; i++) {
        const struct peer *peer = &c->peers.slot[i];
        if (peer->id == CRAFT_ID_NONE || peer->id == c->cfg.id) {
            continue;
        }
        const struct progress *p = &peer->pr;
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

int craft_core_snapshot_meta(const struct craft_core *c, craft_index index,
                             struct craft_snapshot_meta *out)
{
    return snapshot_meta_at(c, index, out);
}

int craft_core_entries(const struct craft_core *c, craft_index first, size_t max,
                       const struct craft_entry **out, size_t *n)
{
    const struct craft_entry *e;
    int rv = max > 0 ? craft_core_entry(c, first, &e) : CRAFT_EINVAL;
    if (rv != 0) {
        return rv;
    }
    size_t avail = log_n_from(&c->log, first);
    *out = e;
    *n = avail < max ? avail : max;
    return 0;
}

uint64_t craft_core_payload_ticket(struct craft_core *c)
{
    return log_ticket_take(&c->log);
}

uint64_t craft_core_payload_ticket_last(const struct craft_core *c)
{
    return c->log.tickets_taken;
}

void craft_core_payload_done(struct craft_core *c, uint64_t upto)
{
    log_tickets_done(&c->log, upto);
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
    static const char *const names[] = {"?",         "prevote", "prevote-resp", "vote",
                                        "vote-resp", "append",  "append-resp",  "timeout-now",
                                        "read-index", "read-index-resp"};
    return type <= CRAFT_MSG_TYPE_MAX ? names[type] : "?";
}
