/* Each protocol-rule check of the simulator fed a hand-made bad history: it must fire, and stay
 * quiet on the same history made good. */
#include <stdio.h>
#include <string.h>

#include "sim_checks.h"
#include "sim_hash.h"
#include "sim_rules.h"

static int failures;

#include "sim_expect.h"

/* The first rule that fired, if any. */
struct fired {
    const char *name;
    char detail[400];
};

static void on_fail(void *ctx, craft_id node, const char *name, const char *detail)
{
    (void)node;
    struct fired *f = ctx;
    if (f->name == NULL) {
        f->name = name;
        snprintf(f->detail, sizeof f->detail, "%s", detail);
    }
}

static bool fired_as(const struct fired *f, const char *name)
{
    return f->name != NULL && strcmp(f->name, name) == 0;
}

static struct sim_rules_view view(enum craft_role role, craft_term term, craft_id vote,
                                  craft_index commit, craft_index last)
{
    struct sim_rules_view v;
    memset(&v, 0, sizeof v);
    v.st.role = role;
    v.st.term = term;
    v.st.vote = vote;
    v.st.commit = commit;
    v.st.last_index = last;
    v.st.last_term = term;
    return v;
}

static struct craft_input msgs_input(const struct craft_msg *m, size_t n)
{
    struct craft_input in = {.type = CRAFT_IN_MSGS};
    in.msgs.msgs = m;
    in.msgs.n = n;
    return in;
}

static void test_stale_message_changes_nothing(void)
{
    struct sim_rules r;
    sim_rules_init(&r, 3);
    struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 2, .to = 1, .term = 3};
    struct craft_input in = msgs_input(&m, 1);
    struct sim_rules_view before = view(CRAFT_FOLLOWER, 5, 0, 4, 6);
    struct sim_rules_view after = before;
    struct craft_output out;
    memset(&out, 0, sizeof out);
    struct fired f = {0};
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &f);
    EXPECT(f.name == NULL);
    after.st.commit = 5; /* the stale append moved the commit index */
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &f);
    EXPECT(fired_as(&f, "stale_msg_changed_state"));

    /* A stale answer that moves a leader's view of a follower. */
    struct fired g = {0};
    struct craft_msg resp = {.type = CRAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 4};
    resp.append_resp.success = true;
    resp.append_resp.index = 6;
    in = msgs_input(&resp, 1);
    before = view(CRAFT_LEADER, 5, 1, 4, 6);
    before.n_prog = 1;
    before.prog[0] = (struct craft_progress_status){.id = 2, .match = 2, .next = 7};
    after = before;
    after.prog[0].match = 6;
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &g);
    EXPECT(fired_as(&g, "stale_msg_changed_state"));
    sim_rules_close(&r);
}

static void test_leader_needs_majority_of_its_term(void)
{
    struct sim_rules r;
    sim_rules_init(&r, 5);
    struct craft_input tick = {.type = CRAFT_IN_TICK};
    struct craft_output out;
    memset(&out, 0, sizeof out);
    struct sim_rules_view before = view(CRAFT_CANDIDATE, 7, 1, 0, 0);
    struct sim_rules_view after = view(CRAFT_LEADER, 7, 1, 0, 0);
    /* One grant of term 7 and one of term 6 reached n1: two of three votes. */
    struct craft_msg g = {.type = CRAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 7};
    g.vote_resp.granted = true;
    sim_rules_delivered(&r, &g);
    g.from = 3;
    g.term = 6;
    sim_rules_delivered(&r, &g);
    struct fired f = {0};
    sim_rules_step(&r, 1, &tick, &before, &after, &out, on_fail, &f);
    EXPECT(fired_as(&f, "leader_without_quorum"));
    g.term = 7; /* now n3's grant of term 7 arrives too */
    sim_rules_delivered(&r, &g);
    struct fired ok = {0};
    sim_rules_step(&r, 1, &tick, &before, &after, &out, on_fail, &ok);
    EXPECT(ok.name == NULL);
    sim_rules_close(&r);
}

/* Joint configuration {1,4,5} / {1,2,3}: a majority of each half, and grants from outside do not
 * count. */
static void test_leader_needs_majority_of_each_half(void)
{
    struct sim_rules r;
    sim_rules_init(&r, 6);
    struct craft_input tick = {.type = CRAFT_IN_TICK};
    struct craft_output out;
    memset(&out, 0, sizeof out);
    struct sim_rules_view before = view(CRAFT_CANDIDATE, 7, 1, 0, 0);
    struct sim_rules_view after = view(CRAFT_LEADER, 7, 1, 0, 0);
    after.cfg = (struct craft_membership){.voters = {1, 4, 5}, .n_voters = 3,
                                          .voters_old = {1, 2, 3}, .n_voters_old = 3};
    /* Grants of 2 and 3 (old half) and of 6 (a stranger): the new half lacks one. */
    struct craft_msg g = {.type = CRAFT_MSG_VOTE_RESP, .to = 1, .term = 7};
    g.vote_resp.granted = true;
    const craft_id from[] = {2, 3, 6};
    for (unsigned i = 0; i < 3; i++) {
        g.from = from[i];
        sim_rules_delivered(&r, &g);
    }
    struct fired f = {0};
    sim_rules_step(&r, 1, &tick, &before, &after, &out, on_fail, &f);
    EXPECT(fired_as(&f, "leader_without_quorum"));
    g.from = 5; /* now the new half has 1 and 5 */
    sim_rules_delivered(&r, &g);
    struct fired ok = {0};
    sim_rules_step(&r, 1, &tick, &before, &after, &out, on_fail, &ok);
    EXPECT(ok.name == NULL);
    sim_rules_close(&r);
}

/* A leader's progress table holds only other members of its configuration. */
static void test_progress_only_for_members(void)
{
    struct sim_rules r;
    sim_rules_init(&r, 4);
    struct craft_input tick = {.type = CRAFT_IN_TICK};
    struct craft_output out;
    memset(&out, 0, sizeof out);
    struct sim_rules_view v = view(CRAFT_LEADER, 3, 1, 2, 2);
    v.cfg = (struct craft_membership){.voters = {1, 2}, .n_voters = 2, .learners = {3},
                                      .n_learners = 1};
    v.n_prog = 2;
    v.prog[0] = (struct craft_progress_status){.id = 2, .next = 3};
    v.prog[1] = (struct craft_progress_status){.id = 3, .next = 3};
    struct fired ok = {0};
    sim_rules_step(&r, 1, &tick, &v, &v, &out, on_fail, &ok);
    EXPECT(ok.name == NULL);
    v.prog[1].id = 4; /* a node outside the configuration */
    struct fired f = {0};
    sim_rules_step(&r, 1, &tick, &v, &v, &out, on_fail, &f);
    EXPECT(fired_as(&f, "leader_progress_outsider"));
    sim_rules_close(&r);
}

static void test_vote_only_for_a_request_of_that_term(void)
{
    struct sim_rules r;
    sim_rules_init(&r, 3);
    struct craft_msg req = {.type = CRAFT_MSG_VOTE, .from = 1, .to = 2, .term = 4};
    sim_rules_delivered(&r, &req);
    struct craft_msg grant = {.type = CRAFT_MSG_VOTE_RESP, .from = 2, .to = 1, .term = 4};
    grant.vote_resp.granted = true;
    struct fired f = {0};
    sim_rules_sent(&r, &grant, on_fail, &f);
    EXPECT(f.name == NULL);
    grant.term = 5; /* a grant of term 5, but n1 asked only in term 4 */
    sim_rules_sent(&r, &grant, on_fail, &f);
    EXPECT(fired_as(&f, "vote_grant_unrequested"));
    sim_rules_close(&r);
}

static void test_match_comes_from_acknowledgements(void)
{
    struct sim_rules r;
    sim_rules_init(&r, 3);
    struct craft_msg ack = {.type = CRAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 3};
    ack.append_resp.success = true;
    ack.append_resp.index = 4;
    struct craft_input in = msgs_input(&ack, 1);
    sim_rules_delivered(&r, &ack);
    struct craft_output out;
    memset(&out, 0, sizeof out);
    struct sim_rules_view before = view(CRAFT_LEADER, 3, 1, 2, 8);
    before.n_prog = 1;
    before.prog[0] = (struct craft_progress_status){.id = 2, .match = 2, .next = 9};
    struct sim_rules_view after = before;
    after.prog[0].match = 4;
    struct fired f = {0};
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &f);
    EXPECT(f.name == NULL);
    after.prog[0].match = 8; /* as if it took next - 1 for granted */
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &f);
    EXPECT(fired_as(&f, "leader_match_unacked"));
    /* An acknowledgement of an older term does not count for this one. */
    struct fired g = {0};
    ack.term = 2;
    ack.append_resp.index = 8;
    sim_rules_delivered(&r, &ack);
    struct craft_input tick = {.type = CRAFT_IN_TICK}; /* keep the stale rule out of it */
    sim_rules_step(&r, 1, &tick, &before, &after, &out, on_fail, &g);
    EXPECT(fired_as(&g, "leader_match_unacked"));
    sim_rules_close(&r);
}

static void test_prevote_changes_no_term(void)
{
    struct sim_rules r;
    sim_rules_init(&r, 3);
    struct craft_output out;
    memset(&out, 0, sizeof out);
    struct craft_msg pv = {.type = CRAFT_MSG_PREVOTE, .from = 2, .to = 1, .term = 6};
    struct craft_input in = msgs_input(&pv, 1);
    struct sim_rules_view before = view(CRAFT_FOLLOWER, 5, 3, 0, 0);
    struct sim_rules_view after = before;
    struct fired f = {0};
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &f);
    EXPECT(f.name == NULL);
    after.st.term = 6; /* answering a pre-vote moved the term */
    after.st.vote = 0;
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &f);
    EXPECT(fired_as(&f, "prevote_changed_term"));
    /* Asking: a tick makes a pre-candidate that raised its term. */
    struct fired g = {0};
    struct craft_input tick = {.type = CRAFT_IN_TICK};
    after = view(CRAFT_PRECANDIDATE, 6, 1, 0, 0);
    sim_rules_step(&r, 1, &tick, &before, &after, &out, on_fail, &g);
    EXPECT(fired_as(&g, "prevote_changed_term"));
    sim_rules_close(&r);
}

static void test_term_rises_only_for_a_reason(void)
{
    struct sim_rules r;
    sim_rules_init(&r, 3);
    struct craft_output out;
    memset(&out, 0, sizeof out);
    struct craft_input tick = {.type = CRAFT_IN_TICK};
    struct sim_rules_view before = view(CRAFT_FOLLOWER, 5, 2, 0, 0);
    struct sim_rules_view after = view(CRAFT_CANDIDATE, 6, 1, 0, 0);
    struct fired f = {0};
    sim_rules_step(&r, 1, &tick, &before, &after, &out, on_fail, &f);
    EXPECT(f.name == NULL); /* a campaign: one up, its own vote */
    after.st.term = 7;
    sim_rules_step(&r, 1, &tick, &before, &after, &out, on_fail, &f);
    EXPECT(fired_as(&f, "term_rise_unjustified"));
    /* A message carrying term 9 may move us there; a pre-vote request of 9 may not. */
    struct fired g = {0};
    struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 2, .to = 1, .term = 9};
    struct craft_input in = msgs_input(&m, 1);
    after = view(CRAFT_FOLLOWER, 9, 0, 0, 0);
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &g);
    EXPECT(g.name == NULL);
    m.type = CRAFT_MSG_PREVOTE;
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &g);
    EXPECT(g.name != NULL);
    sim_rules_close(&r);
}

static void test_no_proposals_while_handing_over(void)
{
    struct sim_rules r;
    sim_rules_init(&r, 3);
    struct craft_output out;
    memset(&out, 0, sizeof out);
    struct craft_input in = {.type = CRAFT_IN_PROPOSE};
    struct sim_rules_view before = view(CRAFT_LEADER, 4, 1, 9, 10);
    struct sim_rules_view after = view(CRAFT_LEADER, 4, 1, 9, 11);
    struct fired f = {0};
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &f);
    EXPECT(f.name == NULL); /* no transfer under way: fine */
    before.st.transfer_target = 2;
    sim_rules_step(&r, 1, &in, &before, &after, &out, on_fail, &f);
    EXPECT(fired_as(&f, "transfer_accepts_proposals"));
    sim_rules_close(&r);
}

/* ack_not_leader_prefix: the follower's durable log must hold the leader's prefix. */
static void test_ack_must_match_leader_prefix(void)
{
    struct sim_node nodes[3];
    for (unsigned i = 1; i <= 2; i++) {
        sim_node_init(&nodes[i], i, 0, 1000000);
    }
    struct sim_checks ck;
    sim_checks_init(&ck, nodes, 2);
    struct sim_node *leader = &nodes[1];
    struct sim_node *follower = &nodes[2];
    leader->up = true;
    leader->role = CRAFT_LEADER;
    leader->term = 3;
    sim_node_mirror_append(leader, 1, CRAFT_ENTRY_NORMAL, 11);
    sim_node_mirror_append(leader, 3, CRAFT_ENTRY_NORMAL, 12);
    /* The follower's durable log: index 1 the same, index 2 from term 2. */
    struct craft_entry ents[2] = {
        {.term = 1, .index = 1, .type = CRAFT_ENTRY_NORMAL},
        {.term = 2, .index = 2, .type = CRAFT_ENTRY_NORMAL},
    };
    struct craft_persist o;
    memset(&o, 0, sizeof o);
    o.entries = ents;
    o.n_entries = 2;
    bool starts;
    (void)sim_disk_queue(&follower->disk, &o, 1, &starts);
    struct sim_disk_observer obs = sim_checks_observer(&ck);
    struct sim_disk_write *popped = sim_disk_pop_batch(&follower->disk);
    sim_disk_apply(&follower->disk, popped, &obs);
    sim_disk_write_free(popped);
    /* Hashes must agree with the leader's mirror at index 1: rebuild it the way the disk does. */
    leader->n_log = 0;
    sim_node_mirror_append(leader, 1, CRAFT_ENTRY_NORMAL, follower->disk.log[0].data_hash);
    sim_node_mirror_append(leader, 3, CRAFT_ENTRY_NORMAL, follower->disk.log[1].data_hash);
    struct craft_msg ack = {.type = CRAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 3};
    ack.append_resp.success = true;
    ack.append_resp.index = 1;
    sim_checks_send(&ck, follower, &ack);
    EXPECT(!sim_checks_failed(&ck));
    /* TimeoutNow to a follower whose durable log lacks the leader's last entry. */
    struct craft_msg tn = {.type = CRAFT_MSG_TIMEOUT_NOW, .from = 1, .to = 2, .term = 3};
    sim_checks_send(&ck, leader, &tn);
    EXPECT(sim_checks_failed(&ck) && strcmp(ck.violation, "transfer_target_behind") == 0);
    ck.violation = NULL;
    ack.append_resp.index = 2;
    sim_checks_send(&ck, follower, &ack);
    EXPECT(sim_checks_failed(&ck) && strcmp(ck.violation, "ack_not_leader_prefix") == 0);
    sim_checks_close(&ck);
    for (unsigned i = 1; i <= 2; i++) {
        sim_node_close(&nodes[i]);
    }
}

/* Installing a snapshot: a log that holds the snapshot's last entry keeps what follows it; a log
 * that does not may not be kept; a snapshot covers only committed entries. */
static void test_snapshot_install_rules(void)
{
    struct sim_node nodes[3];
    for (unsigned i = 1; i <= 2; i++) {
        sim_node_init(&nodes[i], i, 0, 1000000);
        nodes[i].up = true;
    }
    struct sim_checks ck;
    sim_checks_init(&ck, nodes, 2);
    uint64_t h = sim_hash_bytes(NULL, 0);
    for (unsigned i = 1; i <= 2; i++) {
        for (craft_index k = 1; k <= 3; k++) {
            sim_node_mirror_append(&nodes[i], 1, CRAFT_ENTRY_NORMAL, h);
        }
    }
    for (craft_index k = 1; k <= 3; k++) {
        struct craft_entry e = {.term = 1, .index = k, .type = CRAFT_ENTRY_NORMAL};
        sim_checks_apply(&ck, &nodes[1], &e); /* commits 1..3 in the history */
    }
    ck.violation = NULL; /* too few durable copies: not this test's business */
    struct craft_output o;
    memset(&o, 0, sizeof o);
    o.snapshot = (struct craft_persist_snapshot){.index = 2, .term = 1, .drop_log = false};
    sim_checks_output_log(&ck, &nodes[2], &o);
    EXPECT(!sim_checks_failed(&ck));
    o.snapshot.drop_log = true;
    sim_checks_output_log(&ck, &nodes[2], &o);
    EXPECT(sim_checks_failed(&ck) && strcmp(ck.violation, "snapshot_drops_suffix") == 0);
    ck.violation = NULL;
    sim_node_mirror_truncate(&nodes[2], 2); /* the log now ends before the snapshot's index 2 */
    o.snapshot = (struct craft_persist_snapshot){.index = 3, .term = 1, .drop_log = false};
    sim_node_mirror_truncate(&nodes[2], 1);
    sim_checks_output_log(&ck, &nodes[2], &o);
    EXPECT(sim_checks_failed(&ck) && strcmp(ck.violation, "snapshot_keeps_divergent_log") == 0);
    ck.violation = NULL;
    o.snapshot = (struct craft_persist_snapshot){.index = 4, .term = 1, .drop_log = true};
    sim_checks_output_log(&ck, &nodes[2], &o);
    EXPECT(sim_checks_failed(&ck) && strcmp(ck.violation, "snapshot_uncommitted") == 0);
    ck.violation = NULL;
    o.snapshot = (struct craft_persist_snapshot){.index = 3, .term = 2, .drop_log = true};
    sim_checks_output_log(&ck, &nodes[2], &o);
    EXPECT(sim_checks_failed(&ck) && strcmp(ck.violation, "snapshot_term") == 0);
    sim_checks_close(&ck);
    for (unsigned i = 1; i <= 2; i++) {
        sim_node_close(&nodes[i]);
    }
}

int main(void)
{
    test_stale_message_changes_nothing();
    test_leader_needs_majority_of_its_term();
    test_leader_needs_majority_of_each_half();
    test_progress_only_for_members();
    test_vote_only_for_a_request_of_that_term();
    test_match_comes_from_acknowledgements();
    test_prevote_changes_no_term();
    test_term_rises_only_for_a_reason();
    test_no_proposals_while_handing_over();
    test_ack_must_match_leader_prefix();
    test_snapshot_install_rules();
    if (failures > 0) {
        fprintf(stderr, "test_sim_rules: %d failures\n", failures);
        return 1;
    }
    printf("test_sim_rules: all rule checks fire on bad histories and stay quiet on good ones\n");
    return 0;
}
