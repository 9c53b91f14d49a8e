/* Snapshots through the core's API: a follower behind the memory log gets entries fetched from
 * storage, one behind storage gets the snapshot (SNAPSHOT progress until it answers), a failed
 * stream is asked again after a heartbeat interval, an installed snapshot keeps a matching log
 * suffix or drops a divergent log, and a snapshot that covers nothing new is refused. */
#include "core_harness.h"

#define N_ENTRIES 20

static void small_batches(struct craft_core_config *cfg)
{
    cfg->append_entries_max = 4;
}

static struct craft_snapshot_meta take_snapshot(struct harness *h, craft_index at);

/* Three nodes, 1 leading; node 3 is cut off while N_ENTRIES commands commit on 1 and 2, then the
 * leader applies them, takes a snapshot at `snapshot_at` (0: none) and drops its memory log up to
 * `compact`. */
static struct harness *lagging_follower(craft_index snapshot_at, craft_index compact)
{
    struct harness *h = h_new();
    h_init(h, 3, small_batches);
    h_elect(h, 1);
    for (craft_id to = 1; to <= 3; to++) {
        h->cut[to][3] = h->cut[3][to] = to != 3;
    }
    for (int i = 0; i < N_ENTRIES; i++) {
        assert_int_equal(h_propose(h, 1, "cmd", NULL), 0);
    }
    h_stabilize(h);
    if (snapshot_at != 0) {
        take_snapshot(h, snapshot_at);
    }
    struct craft_input in = {.type = CRAFT_IN_COMPACT, .compact.index = compact};
    assert_int_equal(h_step(h, 1, &in, NULL), 0);
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.first_index, compact + 1);
    for (craft_id to = 1; to <= 3; to++) {
        h->cut[to][3] = h->cut[3][to] = false;
    }
    return h;
}

static craft_term leader_term(struct harness *h)
{
    struct craft_core_status st;
    h_status(h, 1, &st);
    assert_int_equal(st.role, CRAFT_LEADER);
    return st.term;
}

static void heartbeat(struct harness *h)
{
    assert_int_equal(h_tick(h, 1, 60), 0);
}

/* A heartbeat, then rounds of delivery until the leader's output counter passes seen. */
static void heartbeat_until(struct harness *h, const size_t *count, size_t seen)
{
    heartbeat(h);
    for (int rounds = 0; rounds < 20 && *count == seen; rounds++) {
        h_deliver_n(h, h->n_net);
        h_persist(h, 3);
    }
}

static const struct craft_progress_status *progress_of(struct harness *h, craft_id id,
                                                       struct craft_progress_status *buf)
{
    size_t n = craft_core_progress(h_core(h, 1), buf, 4);
    for (size_t i = 0; i < n; i++) {
        if (buf[i].id == id) {
            return &buf[i];
        }
    }
    fail_msg("no progress for n%llu", (unsigned long long)id);
    return NULL;
}

/* The node's answer to a fetch: entries [first, last] read from "storage" (the test's copy of the
 * log: every command is "cmd", of the leader's term after its no-op at index 1), claiming
 * *prev_term for the entry before them (NULL: the right one). */
static int answer_fetch_prev(struct harness *h, const struct craft_fetch *f, size_t n_max,
                             const craft_term *prev_term)
{
    static const char cmd[] = "cmd";
    struct craft_entry e[16];
    size_t n = 0;
    craft_term term = leader_term(h);
    for (craft_index i = f->first; i <= f->last && n < n_max && n < 16; i++, n++) {
        bool noop = i == 1;
        e[n] = (struct craft_entry){.term = term,
                                    .index = i,
                                    .type = noop ? CRAFT_ENTRY_NOOP : CRAFT_ENTRY_NORMAL,
                                    .data = {.base = noop ? NULL : cmd, .len = noop ? 0 : 3}};
    }
    struct craft_input in = {.type = CRAFT_IN_FETCHED,
                             .fetched = {.to = f->to,
                                         .prev_term = prev_term != NULL ? *prev_term
                                                      : f->first > 1 ? term
                                                                     : 0,
                                         .entries = e,
                                         .n = n}};
    return h_step(h, 1, &in, NULL);
}

static int answer_fetch(struct harness *h, const struct craft_fetch *f, size_t n_max)
{
    return answer_fetch_prev(h, f, n_max, NULL);
}

static void test_core_snapshot_follower_behind_memory_gets_fetched_entries(void **state)
{
    (void)state;
    struct harness *h = lagging_follower(0, 15);
    heartbeat_until(h, &h->nodes[0].n_fetches, 0);
    assert_true(h->nodes[0].n_fetches > 0);
    const struct craft_fetch *f = &h->nodes[0].fetches[0];
    assert_int_equal(f->to, 3);
    assert_int_equal(f->first, 2); /* node 3 holds the leader's no-op */
    assert_int_equal(f->last, 5);  /* one AppendEntries' worth */
    assert_int_equal(h->nodes[0].n_sends, 0);

    /* Answered part by part (three entries at a time), the follower catches up from storage,
     * then from memory. */
    size_t answered = 0;
    for (int rounds = 0; rounds < 200 && answered < h->nodes[0].n_fetches; rounds++) {
        assert_int_equal(answer_fetch(h, &h->nodes[0].fetches[answered++], 3), 0);
        h_stabilize(h);
    }
    assert_int_equal(answered, 5); /* 2-4, 5-7, 8-10, 11-13, 14-15 */
    h_stabilize(h);
    struct craft_core_status st;
    h_status(h, 3, &st);
    assert_int_equal(st.last_index, N_ENTRIES + 1);
    assert_int_equal(st.commit, N_ENTRIES + 1);
    assert_int_equal(h->nodes[0].n_sends, 0); /* no snapshot exists: storage served it all */
    h_free(h);
}

static void test_core_snapshot_fetch_failures_and_bad_answers(void **state)
{
    (void)state;
    struct harness *h = lagging_follower(0, 15);
    heartbeat_until(h, &h->nodes[0].n_fetches, 0);
    assert_int_equal(h->nodes[0].n_fetches, 1);
    struct craft_fetch f = h->nodes[0].fetches[0];
    /* Entries that do not continue the log: refused, nothing sent. */
    struct craft_entry bad = {.term = 9, .index = f.first, .type = CRAFT_ENTRY_NOOP};
    struct craft_input in = {.type = CRAFT_IN_FETCHED,
                             .fetched = {.to = 3, .prev_term = 0, .entries = &bad, .n = 1}};
    size_t sent = h->n_sent_with_entries[3];
    assert_int_equal(h_step(h, 1, &in, NULL), CRAFT_EINVAL);
    assert_int_equal(h->n_sent_with_entries[3], sent);
    /* An unreadable fetch (n = 0): nothing is sent, and no new fetch until the follower answers
     * again (a failing read never spins). */
    heartbeat_until(h, &h->nodes[0].n_fetches, 1);
    assert_int_equal(h->nodes[0].n_fetches, 2);
    in.fetched = (struct craft_input){0}.fetched;
    in.fetched.to = 3;
    assert_int_equal(h_step(h, 1, &in, NULL), 0);
    assert_int_equal(h->nodes[0].n_fetches, 2);
    assert_int_equal(h->n_sent_with_entries[3], sent);
    /* An answer for a fetch nobody asked for is ignored. */
    assert_int_equal(answer_fetch(h, &f, 4), 0);
    assert_int_equal(h->n_sent_with_entries[3], sent);
    h_free(h);
}

/* The leader took a snapshot at `at` and storage dropped the log up to it. */
static struct craft_snapshot_meta take_snapshot(struct harness *h, craft_index at)
{
    struct craft_snapshot_meta meta;
    assert_int_equal(craft_core_snapshot_meta(h_core(h, 1), at, &meta), 0);
    assert_int_equal(meta.index, at);
    assert_int_equal(meta.term, leader_term(h));
    assert_int_equal(meta.membership.n_voters, 3);
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_TAKEN, .snapshot_taken.meta = &meta};
    assert_int_equal(h_step(h, 1, &in, NULL), 0);
    return meta;
}

/* Heartbeats until the leader asks for a snapshot to be sent to 3. */
static struct craft_snapshot_send await_send(struct harness *h, size_t seen)
{
    heartbeat_until(h, &h->nodes[0].n_sends, seen);
    assert_int_equal(h->nodes[0].n_sends, seen + 1);
    return h->nodes[0].sends[seen];
}

static void test_core_snapshot_follower_behind_storage_gets_the_snapshot(void **state)
{
    (void)state;
    struct harness *h = lagging_follower(12, 15);
    struct craft_snapshot_meta meta;
    assert_int_equal(craft_core_snapshot_meta(h_core(h, 1), 15, &meta), 0);
    meta.index = 12; /* what the leader took: same term and configuration */
    struct craft_snapshot_send s = await_send(h, 0);
    assert_int_equal(s.to, 3);
    assert_int_equal(s.term, leader_term(h));
    assert_int_equal(s.meta.index, 12);
    assert_int_equal(h->nodes[0].n_fetches, 0);
    struct craft_progress_status buf[4];
    assert_int_equal(progress_of(h, 3, buf)->state, CRAFT_PROGRESS_SNAPSHOT);

    /* While it streams, the follower still hears heartbeats (no campaign), gets no entries, and
     * its refusals do not move the leader. */
    size_t with_entries = h->n_sent_with_entries[3];
    for (int i = 0; i < 5; i++) {
        heartbeat(h);
        h_deliver_n(h, h->n_net);
        h_persist(h, 3);
        h_deliver_n(h, h->n_net);
    }
    assert_int_equal(h->n_sent_with_entries[3], with_entries);
    assert_int_equal(h->nodes[0].n_sends, 1);
    struct craft_core_status st;
    h_status(h, 3, &st);
    assert_int_equal(st.role, CRAFT_FOLLOWER);
    assert_int_equal(st.leader, 1);

    /* Installed: the follower's log starts after it, its state machine is at it, and the
     * leader's progress goes back to replication on the ordinary acknowledgement. */
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_INSTALLED,
                             .snapshot_installed = {.from = 1, .term = leader_term(h),
                                                    .meta = &meta}};
    assert_int_equal(h_step(h, 3, &in, &out), 0);
    assert_int_equal(out.snapshot.index, 12);
    assert_int_equal(out.snapshot.term, leader_term(h));
    assert_true(out.snapshot.drop_log);
    assert_int_equal(out.n_committed, 0);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND_RESP, true), 1);
    h_status(h, 3, &st);
    assert_int_equal(st.commit, 12);
    assert_int_equal(st.applied, 12);
    assert_int_equal(st.first_index, 13);
    assert_int_equal(st.last_index, 12);
    h_stabilize(h);
    assert_int_equal(progress_of(h, 3, buf)->state, CRAFT_PROGRESS_REPLICATE);
    /* 13..15 are in storage only (the memory log starts at 16): fetched. */
    assert_int_equal(h->nodes[0].n_fetches, 1);
    assert_int_equal(h->nodes[0].fetches[0].first, 13);
    /* Entries that claim another term before them than the snapshot's: refused, nothing sent;
     * the follower's next answer brings a new fetch. */
    size_t sent = h->n_sent_with_entries[3];
    const craft_term wrong = 0; /* the snapshot at 12 has the leader's term */
    assert_int_equal(answer_fetch_prev(h, &h->nodes[0].fetches[0], 16, &wrong), CRAFT_EINVAL);
    assert_int_equal(h->n_sent_with_entries[3], sent);
    heartbeat_until(h, &h->nodes[0].n_fetches, 1);
    assert_int_equal(h->nodes[0].n_fetches, 2);
    assert_int_equal(answer_fetch(h, &h->nodes[0].fetches[1], 16), 0);
    h_stabilize(h);
    h_status(h, 3, &st);
    assert_int_equal(st.last_index, N_ENTRIES + 1);
    assert_int_equal(st.commit, N_ENTRIES + 1);
    assert_int_equal(h->nodes[2].applied_last, N_ENTRIES + 1);
    /* The stream's end arriving after the answer changes nothing. */
    in = (struct craft_input){.type = CRAFT_IN_SNAPSHOT_SENT,
                              .snapshot_sent = {.to = 3, .index = 12, .ok = true}};
    assert_int_equal(h_step(h, 1, &in, NULL), 0);
    assert_int_equal(progress_of(h, 3, buf)->state, CRAFT_PROGRESS_REPLICATE);
    h_free(h);
}

static size_t appends_to_3_after(const struct harness *h, craft_index prev)
{
    size_t k = 0;
    for (size_t i = 0; i < h->n_net; i++) {
        const struct craft_msg *m = &h->net[i].m;
        k += m->type == CRAFT_MSG_APPEND && m->to == 3 && m->append.prev_index == prev &&
             m->append.n_entries > 0;
    }
    return k;
}

/* The stream delivered, the probe after it gone out, and only then the install's answer: the
 * probe is on its way, so the answer must not send the same entries again (it did: a 731-entry
 * catch-up went twice in the simulator, seed 8198 with a lagging apply worker). */
static void test_core_snapshot_answer_after_the_probe_sends_nothing_twice(void **state)
{
    (void)state;
    struct harness *h = lagging_follower(12, 12);
    struct craft_snapshot_send s = await_send(h, 0);
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_SENT,
                             .snapshot_sent = {.to = 3, .index = 12, .ok = true}};
    assert_int_equal(h_step(h, 1, &in, NULL), 0);
    assert_int_equal(appends_to_3_after(h, 12), 1); /* the probe right after the snapshot */
    struct craft_input inst = {.type = CRAFT_IN_SNAPSHOT_INSTALLED,
                               .snapshot_installed = {.from = 1, .term = leader_term(h),
                                                      .meta = &s.meta}};
    assert_int_equal(h_step(h, 3, &inst, NULL), 0);
    h_persist(h, 3);
    /* The answer overtakes the probe. */
    assert_true(h->n_net >= 2);
    struct h_msg answer = h->net[h->n_net - 1];
    assert_int_equal(answer.m.type, CRAFT_MSG_APPEND_RESP);
    assert_int_equal(answer.m.append_resp.index, 12);
    memmove(h->net + 1, h->net, (h->n_net - 1) * sizeof *h->net);
    h->net[0] = answer;
    assert_true(h_deliver_one(h));
    assert_int_equal(appends_to_3_after(h, 12), 1);
    struct craft_progress_status buf[4];
    assert_int_equal(progress_of(h, 3, buf)->state, CRAFT_PROGRESS_REPLICATE);
    assert_int_equal(progress_of(h, 3, buf)->match, 12);
    h_stabilize(h);
    struct craft_core_status st;
    h_status(h, 3, &st);
    assert_int_equal(st.last_index, N_ENTRIES + 1);
    assert_int_equal(st.commit, N_ENTRIES + 1);
    h_free(h);
}

static void test_core_snapshot_failed_stream_is_asked_again_after_a_heartbeat(void **state)
{
    (void)state;
    struct harness *h = lagging_follower(12, 13);
    await_send(h, 0);
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_SENT,
                             .snapshot_sent = {.to = 3, .index = 12, .ok = false}};
    assert_int_equal(h_step(h, 1, &in, NULL), 0);
    assert_int_equal(h_tick(h, 1, 10), 0);
    assert_int_equal(h->nodes[0].n_sends, 1); /* not at once */
    /* A newer snapshot meanwhile: the retry sends that one. */
    struct craft_snapshot_meta newer = take_snapshot(h, 14);
    struct craft_snapshot_send s = await_send(h, 1);
    assert_int_equal(s.meta.index, newer.index);
    /* A stream end for the old snapshot is ignored; a delivered one probes after it. */
    in.snapshot_sent.ok = true;
    assert_int_equal(h_step(h, 1, &in, NULL), 0);
    struct craft_progress_status buf[4];
    assert_int_equal(progress_of(h, 3, buf)->state, CRAFT_PROGRESS_SNAPSHOT);
    in.snapshot_sent.index = 14;
    assert_int_equal(h_step(h, 1, &in, NULL), 0);
    assert_int_equal(progress_of(h, 3, buf)->state, CRAFT_PROGRESS_PROBE);
    assert_int_equal(progress_of(h, 3, buf)->next, 15);
    h_free(h);
}

/* A follower whose log holds the snapshot's last entry keeps what follows it. */
static void test_core_snapshot_install_keeps_a_matching_suffix(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(h_propose(h, 1, "cmd", NULL), 0);
    }
    /* Node 3 gets the entries but not the commit that follows. */
    h_deliver_n(h, h->n_net);
    h_persist(h, 3);
    h_persist(h, 2);
    h->cut[1][3] = true;
    h_stabilize(h);
    struct craft_core_status st;
    h_status(h, 3, &st);
    assert_int_equal(st.last_index, 7);
    craft_index commit_before = st.commit;
    assert_true(commit_before < 4);
    struct craft_snapshot_meta meta;
    assert_int_equal(craft_core_snapshot_meta(h_core(h, 1), 4, &meta), 0);
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_INSTALLED,
                             .snapshot_installed = {.from = 1, .term = leader_term(h),
                                                    .meta = &meta}};
    assert_int_equal(h_step(h, 3, &in, &out), 0);
    assert_false(out.snapshot.drop_log);
    assert_int_equal(out.truncate_from, 0);
    h_status(h, 3, &st);
    assert_int_equal(st.last_index, 7); /* entries 5..7 stay */
    assert_int_equal(st.commit, 4);
    assert_int_equal(st.applied, 4);
    /* Installing it again, or anything at or below the commit index: not needed. */
    assert_int_equal(h_step(h, 3, &in, &out), CRAFT_ESTALE);
    assert_int_equal(out.snapshot.index, 0);
    /* The leader itself never installs one. */
    in.snapshot_installed.from = 2;
    in.snapshot_installed.meta = &meta;
    assert_int_equal(h_step(h, 1, &in, &out), CRAFT_ESTALE);
    h_free(h);
}

/* A follower whose log diverged at the snapshot's index drops it all, so a later append of the
 * same index cannot be mistaken for an old durable one. */
static void test_core_snapshot_install_drops_a_divergent_log(void **state)
{
    (void)state;
    struct craft_entry entries[5];
    const craft_term terms[5] = {1, 1, 1, 1, 1};
    h_make_entries(entries, terms, 5);
    struct craft_core_boot boot = {.hard_state = {.term = 1}, .entries = entries, .n_entries = 5};
    struct craft_core *c = h_boot_core(3, 3, false, &boot);
    const craft_id voters[] = {1, 2, 3};
    struct craft_snapshot_meta meta = {.index = 4, .term = 3, .membership = h_voters(voters, 3)};
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_INSTALLED,
                             .snapshot_installed = {.from = 2, .term = 4, .meta = &meta}};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_true(out.snapshot.drop_log);
    assert_true(out.hard_state_changed);
    assert_int_equal(out.hard_state.term, 4); /* the sender's newer term was taken */
    assert_int_equal(out.n_entries, 0);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.role, CRAFT_FOLLOWER);
    assert_int_equal(st.leader, 2);
    assert_int_equal(st.first_index, 5);
    assert_int_equal(st.last_index, 4);
    assert_int_equal(st.last_term, 3);
    assert_int_equal(st.persisted, 4);
    /* A late report that the old entry 5 (term 1) was durable changes nothing. */
    in = (struct craft_input){.type = CRAFT_IN_PERSISTED, .persisted = {.term = 1, .index = 5}};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    craft_core_status(c, &st);
    assert_int_equal(st.persisted, 4);
    /* Malformed: no meta, a snapshot of a term past its sender's, an invalid configuration. */
    in = (struct craft_input){.type = CRAFT_IN_SNAPSHOT_INSTALLED,
                              .snapshot_installed = {.from = 2, .term = 4, .meta = NULL}};
    assert_int_equal(craft_core_step(c, &in, &out), CRAFT_EINVAL);
    struct craft_snapshot_meta bad = meta;
    bad.index = 9;
    bad.term = 5;
    in.snapshot_installed.meta = &bad;
    assert_int_equal(craft_core_step(c, &in, &out), CRAFT_EINVAL);
    bad.term = 4;
    bad.membership.n_voters = 0;
    assert_int_equal(craft_core_step(c, &in, &out), CRAFT_EINVAL);
    craft_core_destroy(c);
}

static void test_core_snapshot_taken_is_checked(void **state)
{
    (void)state;
    struct harness *h = h_new();
    h_init(h, 3, NULL);
    h_elect(h, 1);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(h_propose(h, 1, "cmd", NULL), 0);
    }
    h_stabilize(h);
    struct craft_snapshot_meta meta;
    assert_int_equal(craft_core_snapshot_meta(h_core(h, 1), 6, &meta), CRAFT_EINVAL); /* past commit */
    assert_int_equal(craft_core_snapshot_meta(h_core(h, 1), 0, &meta), CRAFT_EINVAL);
    assert_int_equal(craft_core_snapshot_meta(h_core(h, 1), 5, &meta), 0);
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_TAKEN, .snapshot_taken.meta = &meta};
    struct craft_snapshot_meta bad = meta;
    bad.term = meta.term + 1; /* not entry 5's term */
    in.snapshot_taken.meta = &bad;
    assert_int_equal(h_step(h, 1, &in, NULL), CRAFT_EINVAL);
    bad = meta;
    bad.index = 6; /* not applied */
    assert_int_equal(h_step(h, 1, &in, NULL), CRAFT_EINVAL);
    in.snapshot_taken.meta = &meta;
    assert_int_equal(h_step(h, 1, &in, NULL), 0);
    /* Compacted below the base's index: its configuration is no longer known. */
    struct craft_input compact = {.type = CRAFT_IN_COMPACT, .compact.index = 5};
    assert_int_equal(h_step(h, 1, &compact, NULL), 0);
    assert_int_equal(craft_core_snapshot_meta(h_core(h, 1), 3, &meta), CRAFT_ECOMPACTED);
    assert_int_equal(craft_core_snapshot_meta(h_core(h, 1), 5, &meta), 0);
    assert_int_equal(meta.term, leader_term(h));
    h_free(h);
}

/* A durable state machine booted past its log (applied 8, log up to 3): a snapshot at 6 still
 * resets the log (the entries up to it are gone from the leader) but takes nothing back from the
 * state machine, and nothing up to 8 is handed out again. */
static void test_core_snapshot_install_below_applied_keeps_the_state_machine(void **state)
{
    (void)state;
    struct craft_entry entries[3];
    const craft_term terms[3] = {1, 1, 1};
    h_make_entries(entries, terms, 3);
    struct craft_core_boot boot = {
        .hard_state = {.term = 1}, .entries = entries, .n_entries = 3, .applied = 8};
    struct craft_core *c = h_boot_core(3, 3, false, &boot);
    const craft_id voters[] = {1, 2, 3};
    struct craft_snapshot_meta meta = {.index = 6, .term = 2, .membership = h_voters(voters, 3)};
    struct craft_output out;
    struct craft_input in = {.type = CRAFT_IN_SNAPSHOT_INSTALLED,
                             .snapshot_installed = {.from = 1, .term = 2, .meta = &meta}};
    assert_int_equal(craft_core_step(c, &in, &out), 0);
    assert_true(out.snapshot.drop_log);
    struct craft_core_status st;
    craft_core_status(c, &st);
    assert_int_equal(st.applied, 8);
    assert_int_equal(st.commit, 6);
    assert_int_equal(st.first_index, 7);
    /* The leader sends 7..9 and commits them: only 9 is handed out. */
    struct craft_entry more[3];
    for (int i = 0; i < 3; i++) {
        more[i] = (struct craft_entry){.term = 2, .index = 7 + (craft_index)i,
                                       .type = CRAFT_ENTRY_NOOP};
    }
    struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 1, .to = 3, .term = 2,
                          .append = {.prev_index = 6, .prev_term = 2, .commit = 9,
                                     .entries = more, .n_entries = 3}};
    assert_int_equal(h_feed(c, &m, &out), 0);
    assert_int_equal(out.n_committed, 1);
    assert_int_equal(out.committed[0].index, 9);
    craft_core_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_snapshot_follower_behind_memory_gets_fetched_entries),
        cmocka_unit_test(test_core_snapshot_fetch_failures_and_bad_answers),
        cmocka_unit_test(test_core_snapshot_follower_behind_storage_gets_the_snapshot),
        cmocka_unit_test(test_core_snapshot_answer_after_the_probe_sends_nothing_twice),
        cmocka_unit_test(test_core_snapshot_failed_stream_is_asked_again_after_a_heartbeat),
        cmocka_unit_test(test_core_snapshot_install_keeps_a_matching_suffix),
        cmocka_unit_test(test_core_snapshot_install_drops_a_divergent_log),
        cmocka_unit_test(test_core_snapshot_taken_is_checked),
        cmocka_unit_test(test_core_snapshot_install_below_applied_keeps_the_state_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
