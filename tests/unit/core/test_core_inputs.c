/* Inputs at the edges of the core's contract, each a branch the simulator cannot reach with a
 * correct cluster: bad configs and inputs, messages no correct peer sends (misaddressed, from
 * non-voters, about entries the leader never had), empty proposals, the status queries, and
 * corner cases of one step (many events, messages whose entries a later message took back). */
#include "core_harness.h"

static int step(struct craft_core *c, struct craft_input in, struct craft_output *out)
{
    return craft_core_step(c, &in, out);
}

/* Node 1 of 3 (pre-vote off), booted with one entry of term 1, elected leader of term 2: its log
 * is [1: term 1, 2: no-op of term 2]. */
static struct craft_core *leader(void (*tweak)(struct craft_core_config *))
{
    static struct craft_entry entries[1];
    const craft_term terms[] = {1};
    h_make_entries(entries, terms, 1);
    struct craft_core_boot boot = {.hard_state = {.term = 1}, .entries = entries, .n_entries = 1};
    craft_id voters[3] = {1, 2, 3};
    struct craft_core_config cfg;
    h_config(&cfg, 1, voters, 3);
    cfg.pre_vote = false;
    if (tweak != NULL) {
        tweak(&cfg);
    }
    struct craft_core *c = NULL;
    assert_int_equal(craft_core_create(&cfg, &boot, &c), 0);
    struct craft_output out;
    assert_int_equal(step(c, (struct craft_input){.type = CRAFT_IN_CAMPAIGN}, &out), 0);
    struct craft_msg grant = {
        .type = CRAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 2, .vote_resp = {.granted = true}};
    assert_int_equal(h_feed(c, &grant, &out), 0);
    assert_int_equal(craft_core_leader(c), 1);
    return c;
}

static struct craft_msg append_resp(craft_id from, bool success, craft_index index)
{
    return (struct craft_msg){.type = CRAFT_MSG_APPEND_RESP,
                              .from = from,
                              .to = 1,
                              .term = 2,
                              .append_resp = {.success = success, .index = index}};
}

static void test_core_inputs_config_zero_limits_refused(void **state)
{
    (void)state;
    craft_id voters[3] = {1, 2, 3};
    struct craft_core_config cfg;
    struct craft_core *c = NULL;
    for (int k = 0; k < 3; k++) {
        h_config(&cfg, 1, voters, 3);
        if (k == 0) {
            cfg.inflight_bytes_max = 0;
        } else if (k == 1) {
            cfg.append_bytes_max = 0;
        } else {
            cfg.uncommitted_bytes_max = 0;
        }
        assert_int_equal(craft_core_create(&cfg, NULL, &c), CRAFT_EINVAL);
    }
    craft_core_destroy(NULL); /* like free(NULL) */
}

static void test_core_inputs_misaddressed_and_odd_messages_ignored(void **state)
{
    (void)state;
    struct craft_core *c = leader(NULL);
    struct craft_output out;
    struct craft_msg m = append_resp(2, true, 2);
    const craft_id tos[] = {3, 1, 1, 1};
    const craft_id froms[] = {2, 1, 2, 2};
    const uint32_t types[] = {CRAFT_MSG_APPEND_RESP, CRAFT_MSG_APPEND_RESP, 0, 99};
    for (int k = 0; k < 4; k++) {
        m.to = tos[k];
        m.from = froms[k];
        m.type = types[k];
        assert_int_equal(h_feed(c, &m, &out), 0);
        assert_int_equal(out.n_msgs + out.n_msgs_after_persist + out.n_events, 0);
    }
    /* An AppendEntries of our own term while we lead: an impostor, ignored. */
    struct craft_msg impostor = {.type = CRAFT_MSG_APPEND,
                                 .from = 3,
                                 .to = 1,
                                 .term = 2,
                                 .append = {.prev_index = 2, .prev_term = 2}};
    assert_int_equal(h_feed(c, &impostor, &out), 0);
    assert_int_equal(out.n_msgs + out.n_msgs_after_persist + out.n_events, 0);
    /* Answers from a non-voter, about an index we never had, or with a zero hint. */
    struct craft_msg odd[] = {append_resp(9, true, 2), append_resp(2, true, 50),
                              append_resp(2, false, 1)};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(h_feed(c, &odd[k], &out), 0);
    }
    struct craft_progress_status pr[2];
    assert_int_equal(craft_core_progress(c, pr, 2), 2);
    assert_int_equal(pr[0].match, 0);
    assert_true(pr[0].next >= 1); /* a zero hint moves next back no further than index 1 */
    /* A vote response from a non-voter counts for nothing. */
    struct craft_msg vr = {
        .type = CRAFT_MSG_VOTE_RESP, .from = 9, .to = 1, .term = 2, .vote_resp = {.granted = true}};
    assert_int_equal(h_feed(c, &vr, &out), 0);
    assert_int_equal(out.n_events, 0);
    craft_core_destroy(c);
}

static void test_core_inputs_bad_and_empty_proposals(void **state)
{
    (void)state;
    struct craft_core *c = leader(NULL);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_PROPOSE, .propose = {.cmds = NULL, .n = 1}};
    assert_int_equal(craft_core_step(c, &in, &out), CRAFT_EINVAL);
    struct craft_buf no_base = {.base = NULL, .len = 4};
    in.propose.cmds = &no_base;
    assert_int_equal(craft_core_step(c, &in, &out), CRAFT_EINVAL);
    /* Proposing nothing succeeds and appends nothing. */
    in.propose.n = 0;
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(out.n_entries, 0);
    assert_int_equal(out.proposed_index_first, 0);
    /* An empty command is a command. */
    struct craft_buf empty = {.base = NULL, .len = 0};
    in.propose.cmds = &empty;
    in.propose.n = 1;
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(out.proposed_index_first, 3);
    assert_int_equal(out.n_entries, 1);
    assert_int_equal(out.entries[0].data.len, 0);
    craft_core_destroy(c);
}

static void test_core_inputs_queries(void **state)
{
    (void)state;
    struct craft_core *c = leader(NULL);
    struct craft_progress_status pr[2];
    assert_int_equal(craft_core_progress(c, pr, 1), 1); /* n_max bounds what is written */
    const struct craft_entry *e = NULL;
    assert_int_equal(craft_core_entry(c, 3, &e), CRAFT_EINVAL);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_PERSISTED, .persisted = {.term = 2, .index = 2}};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(h_feed(c,
                            &(struct craft_msg){.type = CRAFT_MSG_APPEND_RESP,
                                                .from = 2,
                                                .to = 1,
                                                .term = 2,
                                                .append_resp = {.success = true, .index = 2}},
                            &out),
                     0);
    assert_int_equal(out.n_committed, 2);
    in = (struct craft_input){.type = CRAFT_IN_APPLIED, .applied.index = 2};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    in = (struct craft_input){.type = CRAFT_IN_COMPACT, .compact.index = 1};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(craft_core_entry(c, 1, &e), CRAFT_ECOMPACTED);
    assert_int_equal(craft_core_entry(c, 2, &e), 0);
    assert_int_equal(e->index, 2);
    assert_string_equal(craft_role_name((enum craft_role)0), "?");
    assert_string_equal(craft_msg_type_name(42), "?");
    craft_core_destroy(c);

    const craft_term terms[] = {1};
    struct craft_entry entries[1];
    h_make_entries(entries, terms, 1);
    struct craft_core_boot boot = {.hard_state = {.term = 1}, .entries = entries, .n_entries = 1};
    struct craft_core *f = h_boot_core(2, 3, false, &boot);
    assert_int_equal(craft_core_progress(f, pr, 2), 0); /* only a leader has progress */
    craft_core_destroy(f);
}

static void test_core_inputs_clock_never_runs_back(void **state)
{
    (void)state;
    struct craft_core *c = h_boot_core(2, 3, false, NULL);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_TICK, .tick.now_ms = 1000};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    in.tick.now_ms = 10; /* a clock that went back changes nothing */
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(out.n_events, 0);
    in.tick.now_ms = 1149; /* still within the shortest timeout of the first tick */
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(out.n_events, 0);
    craft_core_destroy(c);
}

static void test_core_inputs_non_voter_does_not_campaign(void **state)
{
    (void)state;
    craft_id voters[3] = {1, 2, 3};
    struct craft_core_config cfg;
    h_config(&cfg, 4, voters, 3);
    struct craft_core *c = NULL;
    assert_int_equal(craft_core_create(&cfg, NULL, &c), 0);
    struct craft_output out;
    assert_int_equal(step(c, (struct craft_input){.type = CRAFT_IN_CAMPAIGN}, &out), 0);
    assert_int_equal(out.n_msgs + out.n_msgs_after_persist + out.n_events, 0);
    craft_core_destroy(c);
}

/* With check-quorum a follower refuses to unseat a leader it heard from within the shortest
 * election timeout; once that much time has passed (its own timer not yet fired) it votes. */
static void test_core_inputs_lease_expires(void **state)
{
    (void)state;
    const craft_term terms[] = {1};
    struct craft_entry entries[1];
    h_make_entries(entries, terms, 1);
    struct craft_core_boot boot = {.hard_state = {.term = 1}, .entries = entries, .n_entries = 1};
    struct craft_core *c = h_boot_core(2, 3, false, &boot);
    struct craft_output out;
    struct craft_input tick = {.type = CRAFT_IN_TICK, .tick.now_ms = 1000};
    assert_int_equal(craft_core_step(c, &tick, &out), 0);
    struct craft_msg hb = {.type = CRAFT_MSG_APPEND,
                           .from = 1,
                           .to = 2,
                           .term = 1,
                           .append = {.prev_index = 1, .prev_term = 1}};
    assert_int_equal(h_feed(c, &hb, &out), 0);
    struct craft_msg vote = {.type = CRAFT_MSG_VOTE,
                             .from = 3,
                             .to = 2,
                             .term = 2,
                             .vote = {.last_index = 1, .last_term = 1}};
    assert_int_equal(h_feed(c, &vote, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_VOTE_RESP, true), 0); /* in the lease */
    tick.tick.now_ms = 1150;
    assert_int_equal(craft_core_step(c, &tick, &out), 0);
    struct craft_core_status st;
    craft_core_status(c, &st);
    if (st.role == CRAFT_FOLLOWER) { /* its timer drew more than the minimum */
        assert_int_equal(h_feed(c, &vote, &out), 0);
        assert_int_equal(h_count(&out, CRAFT_MSG_VOTE_RESP, true), 1);
        assert_true(out.msgs_after_persist[0].vote_resp.granted);
    }
    craft_core_destroy(c);
}

/* A broken leader whose prev_index is committed here but with another term is ignored. */
static void test_core_inputs_append_contradicting_committed_prev_ignored(void **state)
{
    (void)state;
    const craft_term terms[] = {1, 1};
    struct craft_entry entries[2];
    h_make_entries(entries, terms, 2);
    struct craft_core_boot boot = {
        .hard_state = {.term = 2, .commit = 2}, .entries = entries, .n_entries = 2};
    struct craft_core *c = h_boot_core(2, 3, false, &boot);
    struct craft_output out;
    struct craft_msg m = {.type = CRAFT_MSG_APPEND,
                          .from = 1,
                          .to = 2,
                          .term = 2,
                          .append = {.prev_index = 2, .prev_term = 2}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.n_msgs + out.n_msgs_after_persist, 0);
    struct craft_entry zero_term = {.term = 0, .index = 3, .type = CRAFT_ENTRY_NORMAL};
    struct craft_entry config = {.term = 2, .index = 3, .type = CRAFT_ENTRY_CONFIG + 1};
    m.append.prev_term = 1;
    m.append.n_entries = 1;
    m.append.entries = &zero_term;
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.n_entries, 0);
    m.append.entries = &config;
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.n_entries, 0);
    craft_core_destroy(c);
}

/* A restart that recovered a commit index past its log must not persist a lower commit later. */
static void test_core_inputs_hard_state_commit_never_falls(void **state)
{
    (void)state;
    const craft_term terms[] = {1, 1, 1};
    struct craft_entry entries[3];
    h_make_entries(entries, terms, 3);
    struct craft_core_boot boot = {
        .hard_state = {.term = 1, .commit = 5}, .entries = entries, .n_entries = 3};
    struct craft_core *c = h_boot_core(2, 3, false, &boot);
    struct craft_output out;
    struct craft_msg vote = {.type = CRAFT_MSG_VOTE,
                             .from = 3,
                             .to = 2,
                             .term = 2,
                             .vote = {.last_index = 3, .last_term = 1}};
    assert_int_equal(h_feed(c, &vote, &out), 0);
    assert_true(out.hard_state_changed);
    assert_int_equal(out.hard_state.term, 2);
    assert_int_equal(out.hard_state.commit, 5);
    craft_core_destroy(c);
}

/* A persist report about entries that were overwritten since (their term differs) is ignored. */
static void test_core_inputs_persisted_of_overwritten_entries_ignored(void **state)
{
    (void)state;
    const craft_term terms[] = {1};
    struct craft_entry entries[1];
    h_make_entries(entries, terms, 1);
    struct craft_core_boot boot = {.hard_state = {.term = 3}, .entries = entries, .n_entries = 1};
    struct craft_core *c = h_boot_core(2, 3, false, &boot);
    struct craft_output out;
    struct craft_entry e = {.term = 3, .index = 2, .type = CRAFT_ENTRY_NORMAL, .data = {"n", 1}};
    struct craft_msg m = {
        .type = CRAFT_MSG_APPEND,
        .from = 1,
        .to = 2,
        .term = 3,
        .append = {.prev_index = 1, .prev_term = 1, .entries = &e, .n_entries = 1}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    struct craft_input in = {.type = CRAFT_IN_PERSISTED, .persisted = {.term = 2, .index = 2}};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.persisted, 1);
    in.persisted.term = 3;
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    craft_core_status(c, &st);
    assert_int_equal(st.persisted, 2);
    craft_core_destroy(c);
}

/* One batch that commits one entry per message yields an event per advance (more than the
 * event array's first capacity). */
static void test_core_inputs_many_events_in_one_step(void **state)
{
    (void)state;
    const craft_term terms[] = {1};
    struct craft_entry boot_entries[1];
    h_make_entries(boot_entries, terms, 1);
    struct craft_core_boot boot = {
        .hard_state = {.term = 1}, .entries = boot_entries, .n_entries = 1};
    struct craft_core *c = h_boot_core(2, 3, false, &boot);
    enum { K = 12 };
    struct craft_entry es[K];
    struct craft_msg msgs[K];
    for (int k = 0; k < K; k++) {
        es[k] = (struct craft_entry){
            .term = 1, .index = (craft_index)k + 2, .type = CRAFT_ENTRY_NORMAL, .data = {"e", 1}};
        msgs[k] = (struct craft_msg){.type = CRAFT_MSG_APPEND,
                                     .from = 1,
                                     .to = 2,
                                     .term = 1,
                                     .append = {.prev_index = (craft_index)k + 1,
                                                .prev_term = 1,
                                                .commit = (craft_index)k + 2,
                                                .entries = &es[k],
                                                .n_entries = 1}};
    }
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_MSGS, .msgs = {.msgs = msgs, .n = K}};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    size_t commits = 0;
    for (size_t i = 0; i < out.n_events; i++) {
        commits += out.events[i].type == CRAFT_EVENT_COMMIT;
    }
    assert_int_equal(commits, K);
    assert_int_equal(out.n_entries, K);
    assert_int_equal(out.n_committed, K + 1);
    craft_core_destroy(c);
}

static void one_entry_per_append(struct craft_core_config *cfg)
{
    cfg->append_entries_max = 1;
}

/* A leader sends entries, then a newer leader's AppendEntries in the same batch overwrites them:
 * the AppendEntries whose entries are gone or changed term are dropped, not sent dangling. */
static void test_core_inputs_appends_truncated_later_in_step_dropped(void **state)
{
    (void)state;
    struct craft_core *c = leader(one_entry_per_append);
    struct craft_output out;
    struct craft_buf cmds[2] = {{"a", 1}, {"b", 1}};
    struct craft_input in = {.type = CRAFT_IN_PROPOSE, .propose = {.cmds = cmds, .n = 2}};
    assert_int_equal(craft_core_step(c, &in, &out), 0); /* log: 1:t1 2:t2 3:t2 4:t2 */
    struct craft_entry newer = {
        .term = 3, .index = 3, .type = CRAFT_ENTRY_NORMAL, .data = {"z", 1}};
    struct craft_msg batch[2] = {
        append_resp(2, true, 2), /* node 2 moves to replicate: entries 3 and 4 go out */
        {.type = CRAFT_MSG_APPEND,
         .from = 3,
         .to = 1,
         .term = 3,
         .append = {.prev_index = 2, .prev_term = 2, .entries = &newer, .n_entries = 1}},
    };
    in = (struct craft_input){.type = CRAFT_IN_MSGS, .msgs = {.msgs = batch, .n = 2}};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_int_equal(out.truncate_from, 3);
    for (size_t i = 0; i < out.n_msgs_after_persist; i++) {
        const struct craft_msg *m = &out.msgs_after_persist[i];
        assert_false(m->type == CRAFT_MSG_APPEND && m->append.n_entries > 0);
    }
    for (size_t i = 0; i < out.n_msgs; i++) {
        const struct craft_msg *m = &out.msgs[i];
        assert_false(m->type == CRAFT_MSG_APPEND && m->append.n_entries > 0);
    }
    craft_core_destroy(c);
}

static void test_core_inputs_empty_batch_and_odd_entries(void **state)
{
    (void)state;
    struct craft_core *c = h_boot_core(2, 3, false, NULL);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_MSGS, .msgs = {.msgs = NULL, .n = 0}};
    assert_int_equal(craft_core_step(c, &in, &out), 0); /* an empty batch is no input */
    struct craft_entry zero = {.term = 0, .index = 1, .type = CRAFT_ENTRY_NORMAL};
    struct craft_entry untyped = {.term = 1, .index = 1, .type = 0};
    struct craft_msg m = {
        .type = CRAFT_MSG_APPEND,
        .from = 1,
        .to = 2,
        .term = 1,
        .append = {.prev_index = 0, .prev_term = 0, .entries = &zero, .n_entries = 1}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.n_entries, 0);
    m.append.entries = &untyped;
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.n_entries, 0);
    craft_core_destroy(c);
}

/* A malformed AppendEntries of a newer term moves us to that term and names its sender leader,
 * but we never heard a valid one from it: it gives no lease against a vote request. */
static void test_core_inputs_unheard_leader_gives_no_lease(void **state)
{
    (void)state;
    struct craft_core *c = h_boot_core(2, 3, false, NULL);
    struct craft_output out;
    struct craft_input tick = {.type = CRAFT_IN_TICK, .tick.now_ms = 1000};
    assert_int_equal(craft_core_step(c, &tick, &out), 0);
    struct craft_msg bad = {
        .type = CRAFT_MSG_APPEND,
        .from = 1,
        .to = 2,
        .term = 2,
        .append = {.prev_index = 0, .prev_term = 0, .entries = NULL, .n_entries = 1}};
    assert_int_equal(h_feed(c, &bad, &out), 0);
    assert_int_equal(craft_core_leader(c), 1);
    struct craft_msg vote = {.type = CRAFT_MSG_VOTE, .from = 3, .to = 2, .term = 3};
    assert_int_equal(h_feed(c, &vote, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_VOTE_RESP, true), 1);
    assert_true(out.msgs_after_persist[0].vote_resp.granted);
    craft_core_destroy(c);
}

static void test_core_inputs_candidate_ignores_non_voter(void **state)
{
    (void)state;
    struct craft_core *c = h_boot_core(2, 3, false, NULL);
    struct craft_output out;
    assert_int_equal(step(c, (struct craft_input){.type = CRAFT_IN_CAMPAIGN}, &out), 0);
    struct craft_msg vr = {
        .type = CRAFT_MSG_VOTE_RESP, .from = 9, .to = 2, .term = 1, .vote_resp = {.granted = true}};
    assert_int_equal(h_feed(c, &vr, &out), 0);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.role, CRAFT_CANDIDATE);
    craft_core_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_inputs_config_zero_limits_refused),
        cmocka_unit_test(test_core_inputs_misaddressed_and_odd_messages_ignored),
        cmocka_unit_test(test_core_inputs_bad_and_empty_proposals),
        cmocka_unit_test(test_core_inputs_queries),
        cmocka_unit_test(test_core_inputs_clock_never_runs_back),
        cmocka_unit_test(test_core_inputs_non_voter_does_not_campaign),
        cmocka_unit_test(test_core_inputs_lease_expires),
        cmocka_unit_test(test_core_inputs_append_contradicting_committed_prev_ignored),
        cmocka_unit_test(test_core_inputs_hard_state_commit_never_falls),
        cmocka_unit_test(test_core_inputs_persisted_of_overwritten_entries_ignored),
        cmocka_unit_test(test_core_inputs_many_events_in_one_step),
        cmocka_unit_test(test_core_inputs_appends_truncated_later_in_step_dropped),
        cmocka_unit_test(test_core_inputs_empty_batch_and_odd_entries),
        cmocka_unit_test(test_core_inputs_unheard_leader_gives_no_lease),
        cmocka_unit_test(test_core_inputs_candidate_ignores_non_voter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
