/* Log replication through the public core API (§5.3, §5.4.2): who may propose, what waits for
 * the persist, the commit rule for older terms, conflict handling on followers, fast
 * backtracking, the in-flight window and malformed AppendEntries. */
#include "core_harness.h"

static void window_of_two(struct craft_core_config *cfg)
{
    cfg->inflight_msgs_max = 2;
}

/* A follower (id 2 of 3) booted with terms[0..n) in term, commit as given. */
static struct craft_core *follower(const craft_term *terms, size_t n, craft_term term,
                                   craft_index commit)
{
    static struct craft_entry entries[64];
    assert_true(n <= 64);
    h_make_entries(entries, terms, n);
    struct craft_core_boot boot = {
        .hard_state = {.term = term, .commit = commit}, .entries = entries, .n_entries = n};
    return h_boot_core(2, 3, false, &boot);
}

static struct craft_msg append_msg(craft_term term, craft_index prev, craft_term prev_term,
                                   const struct craft_entry *entries, uint32_t n,
                                   craft_index commit)
{
    return (struct craft_msg){.type = CRAFT_MSG_APPEND, .from = 1, .to = 2, .term = term,
                              .append = {.prev_index = prev, .prev_term = prev_term,
                                         .commit = commit, .entries = entries, .n_entries = n}};
}

static void test_core_replication_follower_refuses_proposal(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    assert_int_equal(h_propose(h, 2, "x", NULL), CRAFT_ENOTLEADER);
    assert_int_equal(craft_core_leader(h_core(h, 2)), CRAFT_ID_NONE);
    h_elect(h, 1);
    assert_int_equal(h_propose(h, 2, "x", NULL), CRAFT_ENOTLEADER);
    assert_int_equal(craft_core_leader(h_core(h, 2)), 1);
    struct craft_core_status st;
    h_status(h, 2, &st);
    assert_int_equal(st.last_index, 1); /* nothing was appended */
    h_free(h);
}

static void test_core_replication_leader_sends_before_own_persist(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    struct craft_output out;
    assert_int_equal(h_propose(h, 1, "abc", &out), 0);
    assert_int_equal(out.n_entries, 1);
    assert_int_equal(out.entries[0].index, 2);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND, false), 2);
    for (size_t k = 0; k < out.n_msgs; k++) {
        assert_int_equal(out.msgs[k].append.n_entries, 1);
        assert_int_equal(out.msgs[k].append.entries[0].index, 2);
        assert_memory_equal(out.msgs[k].append.entries[0].data.base, "abc", 3);
    }
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.persisted, 1);
    assert_int_equal(st.last_index, 2);
    h_free(h);
}

static void test_core_replication_append_resp_waits_for_persist(void **state)
{
    (void)state;
    const craft_term terms[] = {1};
    struct craft_core *c = follower(terms, 1, 1, 0);
    struct craft_output out;
    /* A heartbeat first, so the step below changes no hard state. */
    struct craft_msg m = append_msg(1, 1, 1, NULL, 0, 0);
    assert_int_equal(h_feed(c, &m, &out), 0);
    struct craft_entry e = {.term = 1, .index = 2, .type = CRAFT_ENTRY_NORMAL,
                            .data = {.base = "y", .len = 1}};
    m = append_msg(1, 1, 1, &e, 1, 0);
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_false(out.hard_state_changed);
    assert_int_equal(out.n_entries, 1);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND_RESP, false), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND_RESP, true), 1);
    assert_true(out.msgs_after_persist[0].append_resp.success);
    assert_int_equal(out.msgs_after_persist[0].append_resp.index, 2);
    craft_core_destroy(c);
}

/* §5.4.2, Figure 8: node 1 holds [1:t1, 2:t2] and becomes leader of term 3. Even when every
 * node holds index 2, it commits only once an entry of term 3 is on a majority. */
static void test_core_replication_no_commit_of_older_term_by_counting(void **state)
{
    (void)state;
    struct craft_entry entries[2];
    const craft_term terms[] = {1, 2};
    h_make_entries(entries, terms, 2);
    struct craft_core_boot boot = {.hard_state = {.term = 2}, .entries = entries, .n_entries = 2};
    struct craft_core *c = h_boot_core(1, 3, false, &boot);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    struct craft_msg m = {.type = CRAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 3,
                          .vote_resp = {.granted = true}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    assert_int_equal(st.last_index, 3); /* the no-op of term 3 */
    in = (struct craft_input){.type = CRAFT_IN_PERSISTED, .persisted = {.term = 3, .index = 3}};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    for (craft_id from = 2; from <= 3; from++) {
        m = (struct craft_msg){.type = CRAFT_MSG_APPEND_RESP, .from = from, .to = 1, .term = 3,
                               .append_resp = {.success = true, .index = 2}};
        assert_int_equal(h_feed(c, &m, &out), 0);
        assert_int_equal(out.n_committed, 0);
        craft_core_status(c, &st);
        assert_int_equal(st.commit, 0);
    }
    m = (struct craft_msg){.type = CRAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 3,
                           .append_resp = {.success = true, .index = 3}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    craft_core_status(c, &st);
    assert_int_equal(st.commit, 3);
    assert_int_equal(out.n_committed, 3); /* the older entries commit with it */
    craft_core_destroy(c);
}

static void test_core_replication_follower_truncates_conflicting_suffix(void **state)
{
    (void)state;
    const craft_term terms[] = {1, 1, 1};
    struct craft_core *c = follower(terms, 3, 1, 1);
    struct craft_entry e = {.term = 2, .index = 2, .type = CRAFT_ENTRY_NORMAL,
                            .data = {.base = "new", .len = 3}};
    struct craft_msg m = append_msg(2, 1, 1, &e, 1, 1);
    struct craft_output out;
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.truncate_from, 2);
    assert_int_equal(out.n_entries, 1);
    assert_int_equal(out.entries[0].index, 2);
    assert_int_equal(out.entries[0].term, 2);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.last_index, 2);
    assert_int_equal(st.last_term, 2);
    const struct craft_entry *got;
    assert_int_equal(craft_core_entry(c, 2, &got), 0);
    assert_memory_equal(got->data.base, "new", 3);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND_RESP, true), 1);
    assert_true(out.msgs_after_persist[0].append_resp.success);
    assert_int_equal(out.msgs_after_persist[0].append_resp.index, 2);
    craft_core_destroy(c);
}

static void test_core_replication_follower_keeps_suffix_on_stale_append(void **state)
{
    (void)state;
    /* A delayed AppendEntries that matches a prefix must not cut the entries after it. */
    const craft_term terms[] = {1, 1, 1, 1, 1};
    struct craft_core *c = follower(terms, 5, 1, 0);
    struct craft_entry e = {.term = 1, .index = 2, .type = CRAFT_ENTRY_NORMAL,
                            .data = {.base = "x", .len = 1}};
    struct craft_msg m = append_msg(1, 1, 1, &e, 1, 0);
    struct craft_output out;
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.truncate_from, 0);
    assert_int_equal(out.n_entries, 0);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.last_index, 5);
    craft_core_destroy(c);
}

static void test_core_replication_follower_ignores_append_contradicting_commit(void **state)
{
    (void)state;
    /* Entries 1..2 are committed. A message whose entry 2 has another term contradicts a
     * committed entry: it cannot come from a legitimate leader and must change nothing. */
    const craft_term terms[] = {1, 1, 1};
    struct craft_core *c = follower(terms, 3, 1, 2);
    struct craft_entry es[2] = {
        {.term = 2, .index = 2, .type = CRAFT_ENTRY_NORMAL, .data = {.base = "a", .len = 1}},
        {.term = 2, .index = 3, .type = CRAFT_ENTRY_NORMAL, .data = {.base = "b", .len = 1}},
    };
    struct craft_msg m = append_msg(2, 1, 1, es, 2, 3);
    struct craft_output out;
    int rv = h_feed(c, &m, &out);
    craft_index truncate_from = out.truncate_from;
    size_t n_entries = out.n_entries;
    struct craft_core_status st;
    craft_core_status(c, &st);
    craft_core_destroy(c); /* before the checks, so a failure leaks nothing */
    assert_int_equal(rv, 0);
    assert_int_equal(truncate_from, 0);
    assert_int_equal(n_entries, 0);
    assert_int_equal(st.last_index, 3);
    assert_int_equal(st.last_term, 1);
    assert_int_equal(st.commit, 2);
}

/* Leader 1: [1..5:t1, 6..500:t3]; follower 2: [1..5:t1, 6..1000:t2]; node 3: [1..5:t1]. */
static void test_core_replication_fast_backtracking_skips_terms(void **state)
{
    (void)state;
    static craft_term terms[3][1000];
    static struct craft_entry entries[3][1000];
    const size_t lens[3] = {500, 1000, 5};
    const craft_term tail_terms[3] = {3, 2, 1};
    const craft_term hs_terms[3] = {3, 2, 1};
    struct craft_core_boot boots[3];
    for (int n = 0; n < 3; n++) {
        for (size_t i = 0; i < lens[n]; i++) {
            terms[n][i] = i < 5 ? 1 : tail_terms[n];
        }
        h_make_entries(entries[n], terms[n], lens[n]);
        boots[n] = (struct craft_core_boot){.hard_state = {.term = hs_terms[n]},
                                            .entries = entries[n], .n_entries = lens[n]};
    }
    struct harness *h = h_new();
    h_init_boot(h, 3, NULL, boots);
    h_elect(h, 1);
    assert_int_equal(craft_core_leader(h_core(h, 2)), 1);
    struct craft_core_status st;
    h_status(h, 2, &st);
    assert_int_equal(st.last_index, 501);
    assert_int_equal(st.last_term, 4);
    const struct craft_entry *e;
    assert_int_equal(craft_core_entry(h_core(h, 2), 6, &e), 0);
    assert_int_equal(e->term, 3);
    /* One refusal per conflicting term, not one per entry (495 without the hint). */
    assert_true(h->n_rejects <= 2);
    h_status(h, 1, &st);
    assert_int_equal(st.commit, 501);
    h_free(h);
}

static void test_core_replication_inflight_window_bounds_unanswered(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, window_of_two);
    h_elect(h, 1);
    h->cut[1][3] = true; /* node 3 hears nothing more (and so answers nothing) */
    h->n_sent_with_entries[3] = 0;
    h->n_sent_with_entries[2] = 0;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(h_propose(h, 1, "p", NULL), 0);
        h_stabilize(h);
    }
    assert_int_equal(h->n_sent_with_entries[3], 2);
    assert_int_equal(h->n_sent_with_entries[2], 10);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.commit, 11);
    struct craft_progress_status ps[2];
    assert_int_equal(craft_core_progress(h_core(h, 1), ps, 2), 2);
    assert_int_equal(ps[1].id, 3);
    assert_int_equal(ps[1].inflight_msgs, 2);
    h_free(h);
}

static void test_core_replication_malformed_append_ignored(void **state)
{
    (void)state;
    const craft_term terms[] = {1};
    struct craft_core *c = follower(terms, 1, 1, 0);
    struct craft_output out;
    struct craft_entry gap = {.term = 1, .index = 3, .type = CRAFT_ENTRY_NORMAL,
                              .data = {.base = "g", .len = 1}};
    struct craft_entry future = {.term = 5, .index = 2, .type = CRAFT_ENTRY_NORMAL,
                                 .data = {.base = "f", .len = 1}};
    struct craft_entry dup[2] = {
        {.term = 1, .index = 2, .type = CRAFT_ENTRY_NORMAL, .data = {.base = "d", .len = 1}},
        {.term = 1, .index = 2, .type = CRAFT_ENTRY_NORMAL, .data = {.base = "d", .len = 1}},
    };
    struct craft_entry no_data = {.term = 1, .index = 2, .type = CRAFT_ENTRY_NORMAL,
                                  .data = {.base = NULL, .len = 9}};
    struct craft_entry bad_type = {.term = 1, .index = 2, .type = 99, .data = {0}};
    struct craft_entry falling[2] = {
        {.term = 1, .index = 2, .type = CRAFT_ENTRY_NORMAL, .data = {0}},
        {.term = 0, .index = 3, .type = CRAFT_ENTRY_NORMAL, .data = {0}},
    };
    const struct craft_msg bad[] = {
        append_msg(1, 1, 1, &gap, 1, 0),    /* indexes not following prev_index */
        append_msg(1, 1, 1, &future, 1, 0), /* entry term above the message term */
        append_msg(1, 1, 1, dup, 2, 0),     /* repeated index */
        append_msg(1, 1, 1, &no_data, 1, 0),
        append_msg(1, 1, 1, &bad_type, 1, 0),
        append_msg(1, 1, 1, falling, 2, 0),
        append_msg(1, 1, 1, NULL, 3, 0),                /* entries missing */
        append_msg(1, UINT64_MAX, 1, &future, 1, 0),    /* index wraps around */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(h_feed(c, &bad[k], &out), 0);
        assert_int_equal(out.n_entries, 0);
        assert_int_equal(out.truncate_from, 0);
        assert_int_equal(out.n_msgs + out.n_msgs_after_persist, 0);
        struct craft_core_status st;
        craft_core_status(c, &st);
        assert_int_equal(st.last_index, 1);
        assert_int_equal(st.commit, 0);
    }
    /* Malformed inputs are refused, not crashed on. */
    struct craft_input in = {.type = CRAFT_IN_MSGS, .msgs = {.msgs = NULL, .n = 2}};
    assert_int_equal(craft_core_step(c, &in, &out), CRAFT_EINVAL);
    in = (struct craft_input){.type = 77};
    assert_int_equal(craft_core_step(c, &in, &out), CRAFT_EINVAL);
    /* The follower still works. */
    struct craft_entry ok = {.term = 1, .index = 2, .type = CRAFT_ENTRY_NORMAL,
                             .data = {.base = "k", .len = 1}};
    struct craft_msg good = append_msg(1, 1, 1, &ok, 1, 0);
    assert_int_equal(h_feed(c, &good, &out), 0);
    assert_int_equal(out.n_entries, 1);
    craft_core_destroy(c);
}

/* Issue 10, bug 1: under steady load on in-order links, answers that move nothing while entries
 * are in flight must not each start a chain of empty AppendEntries. Each round proposes one
 * command, lets 10 ms pass and delivers only what was queued before the round, so entries are
 * always in flight. A lost-append repair may cost at most one extra message per heartbeat per
 * follower: empty AppendEntries stay within two per heartbeat interval per follower. */
static void test_core_replication_no_empty_append_flood_under_load(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    size_t empty_before = h->n_sent_empty[2] + h->n_sent_empty[3];
    const unsigned rounds = 2000;
    for (unsigned r = 0; r < rounds; r++) {
        size_t queued = h->n_net;
        assert_int_equal(h_propose(h, 1, "cmd", NULL), 0);
        for (craft_id id = 1; id <= 3; id++) {
            assert_int_equal(h_tick(h, id, 10), 0);
        }
        h_deliver_n(h, queued);
        for (craft_id id = 1; id <= 3; id++) {
            h_persist(h, id);
        }
    }
    h_stabilize(h);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    assert_true(st.commit >= rounds);
    size_t empty = h->n_sent_empty[2] + h->n_sent_empty[3] - empty_before;
    size_t heartbeats = (size_t)rounds * 10 / 50; /* per follower */
    if (empty > 2 * 2 * heartbeats + 8) {
        fail_msg("%zu empty AppendEntries for %zu heartbeat intervals to 2 followers", empty,
                 heartbeats);
    }
    h_free(h);
}

/* A probe waits for its own answer: a stale answer that arrives late (reordered or duplicated)
 * must not send another probe, or a reordering network multiplies probes. */
static void test_core_replication_stale_answer_does_not_resend_probe(void **state)
{
    (void)state;
    struct craft_entry entries[5];
    const craft_term terms[] = {1, 1, 1, 1, 1};
    h_make_entries(entries, terms, 5);
    struct craft_core_boot boot = {.hard_state = {.term = 1}, .entries = entries, .n_entries = 5};
    struct craft_core *c = h_boot_core(1, 3, false, &boot);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_CAMPAIGN};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    struct craft_msg m = {.type = CRAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 2,
                          .vote_resp = {.granted = true}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    m = (struct craft_msg){.type = CRAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 2,
                           .append_resp = {.success = true, .index = 6}};
    assert_int_equal(h_feed(c, &m, &out), 0); /* match 6: replicate */
    struct craft_buf cmds[2] = {{"a", 1}, {"b", 1}};
    in = (struct craft_input){.type = CRAFT_IN_PROPOSE, .propose = {.cmds = cmds, .n = 2}};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    /* A refusal of prev 7 (the follower's log ends at 6): back to probing from 7. */
    m = (struct craft_msg){.type = CRAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 2,
                           .append_resp = {.success = false, .index = 7, .hint_index = 7}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND, false), 1); /* the probe */
    /* A late duplicate of an old answer: the probe is still out, nothing more is sent. */
    m = (struct craft_msg){.type = CRAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 2,
                           .append_resp = {.success = true, .index = 5}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND, false), 0);
    /* The probe's own answer moves match and sends on. */
    m = (struct craft_msg){.type = CRAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 2,
                           .append_resp = {.success = true, .index = 8}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    struct craft_progress_status ps[2];
    assert_int_equal(craft_core_progress(c, ps, 2), 2);
    assert_int_equal(ps[0].match, 8);
    craft_core_destroy(c);
}

/* Links that reorder: the leader's second AppendEntries overtakes its first. The follower refuses
 * it (so a lost first one is filled from its end) but keeps it, and takes it as soon as the first
 * arrives: its log reaches both at once, and it acknowledges both. A kept message of a leader
 * that is gone is dropped unread. */
static void test_core_replication_follower_keeps_what_arrives_early(void **state)
{
    (void)state;
    struct craft_entry boot_entries[1];
    const craft_term boot_terms[1] = {1};
    h_make_entries(boot_entries, boot_terms, 1);
    struct craft_core_boot boot = {.hard_state = {.term = 2}, .entries = boot_entries,
                                   .n_entries = 1};
    struct craft_core *c = h_boot_core(2, 3, false, &boot);
    static const char x[] = "x";
    struct craft_entry e2 = {.term = 2, .index = 2, .type = CRAFT_ENTRY_NORMAL,
                             .data = {.base = x, .len = 1}};
    struct craft_entry e3 = {.term = 2, .index = 3, .type = CRAFT_ENTRY_NORMAL,
                             .data = {.base = x, .len = 1}};
    struct craft_msg first = {.type = CRAFT_MSG_APPEND, .from = 1, .to = 2, .term = 2,
                              .append = {.prev_index = 1, .prev_term = 1, .entries = &e2,
                                         .n_entries = 1}};
    struct craft_msg second = first;
    second.append = (struct craft_msg_append){.prev_index = 2, .prev_term = 2, .entries = &e3,
                                              .n_entries = 1};
    struct craft_output out;
    assert_int_equal(h_feed(c, &second, &out), 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND_RESP, true), 1);
    assert_false(out.msgs_after_persist[0].append_resp.success);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.last_index, 1);
    assert_int_equal(h_feed(c, &first, &out), 0);
    craft_core_status(c, &st);
    assert_int_equal(st.last_index, 3);
    assert_int_equal(out.n_entries, 2);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND_RESP, true), 2);
    assert_int_equal(out.msgs_after_persist[1].append_resp.index, 3);
    /* Kept for leader 1 of term 2; a newer leader takes over before the gap fills: dropped. */
    struct craft_entry e5 = {.term = 2, .index = 5, .type = CRAFT_ENTRY_NORMAL,
                             .data = {.base = x, .len = 1}};
    struct craft_msg early = first;
    early.append = (struct craft_msg_append){.prev_index = 4, .prev_term = 2, .entries = &e5,
                                             .n_entries = 1};
    assert_int_equal(h_feed(c, &early, &out), 0);
    struct craft_entry e4 = {.term = 3, .index = 4, .type = CRAFT_ENTRY_NORMAL,
                             .data = {.base = x, .len = 1}};
    struct craft_msg newer = {.type = CRAFT_MSG_APPEND, .from = 3, .to = 2, .term = 3,
                              .append = {.prev_index = 3, .prev_term = 2, .entries = &e4,
                                         .n_entries = 1}};
    assert_int_equal(h_feed(c, &newer, &out), 0);
    craft_core_status(c, &st);
    assert_int_equal(st.last_index, 4);
    assert_int_equal(st.last_term, 3);
    craft_core_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_replication_follower_refuses_proposal),
        cmocka_unit_test(test_core_replication_leader_sends_before_own_persist),
        cmocka_unit_test(test_core_replication_append_resp_waits_for_persist),
        cmocka_unit_test(test_core_replication_no_commit_of_older_term_by_counting),
        cmocka_unit_test(test_core_replication_follower_truncates_conflicting_suffix),
        cmocka_unit_test(test_core_replication_follower_keeps_suffix_on_stale_append),
        cmocka_unit_test(test_core_replication_follower_ignores_append_contradicting_commit),
        cmocka_unit_test(test_core_replication_fast_backtracking_skips_terms),
        cmocka_unit_test(test_core_replication_inflight_window_bounds_unanswered),
        cmocka_unit_test(test_core_replication_malformed_append_ignored),
        cmocka_unit_test(test_core_replication_no_empty_append_flood_under_load),
        cmocka_unit_test(test_core_replication_stale_answer_does_not_resend_probe),
        cmocka_unit_test(test_core_replication_follower_keeps_what_arrives_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
