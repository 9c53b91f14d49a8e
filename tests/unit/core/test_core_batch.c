/* Several messages in one CRAFT_IN_MSGS, as a node's event loop feeds them: every message is
 * handled and its outputs kept, and an answer that a later message of the same batch took back
 * (an acknowledgement of entries a newer leader truncated, a vote of a term the batch left) is
 * not sent, since the step persists only the final state. */
#include "core_harness.h"

/* Follower 2 of 3 booted with one entry of term 1, in term, commit 1. */
static struct craft_core *follower(craft_term term)
{
    static struct craft_entry entries[1];
    const craft_term terms[] = {1};
    h_make_entries(entries, terms, 1);
    struct craft_core_boot boot = {
        .hard_state = {.term = term, .commit = 1}, .entries = entries, .n_entries = 1};
    return h_boot_core(2, 3, false, &boot);
}

static struct craft_msg append_from(craft_id from, craft_term term, const struct craft_entry *es,
                                    uint32_t n)
{
    return (struct craft_msg){
        .type = CRAFT_MSG_APPEND,
        .from = from,
        .to = 2,
        .term = term,
        .append = {.prev_index = 1, .prev_term = 1, .commit = 1, .entries = es, .n_entries = n}};
}

static int feed_batch(struct craft_core *c, const struct craft_msg *msgs, size_t n,
                      struct craft_output *out)
{
    struct craft_input in = {.type = CRAFT_IN_MSGS, .msgs = {.msgs = msgs, .n = n}};
    return craft_core_step(c, &in, out);
}

static const struct craft_msg *find_after(const struct craft_output *out, uint32_t type,
                                          craft_id to)
{
    for (size_t i = 0; i < out->n_msgs_after_persist; i++) {
        if (out->msgs_after_persist[i].type == type && out->msgs_after_persist[i].to == to) {
            return &out->msgs_after_persist[i];
        }
    }
    return NULL;
}

static void test_core_batch_every_message_persists(void **state)
{
    (void)state;
    struct craft_core *c = follower(2);
    struct craft_entry e2 = {.term = 2, .index = 2, .type = CRAFT_ENTRY_NORMAL, .data = {"a", 1}};
    struct craft_entry e3 = {.term = 2, .index = 3, .type = CRAFT_ENTRY_NORMAL, .data = {"b", 1}};
    struct craft_msg msgs[2] = {append_from(1, 2, &e2, 1), append_from(1, 2, &e3, 0)};
    msgs[1].append.prev_index = 2;
    msgs[1].append.prev_term = 2;
    msgs[1].append.entries = &e3;
    msgs[1].append.n_entries = 1;
    struct craft_output out;
    assert_int_equal(feed_batch(c, msgs, 2, &out), 0);
    /* Both messages' entries are persisted by this one step, and both are acknowledged. */
    assert_int_equal(out.n_entries, 2);
    assert_int_equal(out.entries[0].index, 2);
    assert_int_equal(out.entries[1].index, 3);
    assert_int_equal(h_count(&out, CRAFT_MSG_APPEND_RESP, true), 2);
    craft_core_destroy(c);
}

static void test_core_batch_ack_of_truncated_entries_is_not_sent(void **state)
{
    (void)state;
    struct craft_core *c = follower(2);
    /* The leader of term 2 appends 2..3; in the same batch the leader of term 3 overwrites 2. */
    struct craft_entry old[2] = {
        {.term = 2, .index = 2, .type = CRAFT_ENTRY_NORMAL, .data = {"a", 1}},
        {.term = 2, .index = 3, .type = CRAFT_ENTRY_NORMAL, .data = {"b", 1}},
    };
    struct craft_entry newer = {
        .term = 3, .index = 2, .type = CRAFT_ENTRY_NORMAL, .data = {"c", 1}};
    struct craft_msg msgs[2] = {append_from(1, 2, old, 2), append_from(3, 3, &newer, 1)};
    struct craft_output out;
    assert_int_equal(feed_batch(c, msgs, 2, &out), 0);
    assert_int_equal(out.truncate_from, 2);
    assert_int_equal(out.n_entries, 1);
    assert_int_equal(out.entries[0].term, 3);
    /* Only index 2 of term 3 reaches the disk: acknowledging 3 to the old leader would let it
     * count a replica of (3, term 2) that no disk holds. */
    assert_null(find_after(&out, CRAFT_MSG_APPEND_RESP, 1));
    const struct craft_msg *ack = find_after(&out, CRAFT_MSG_APPEND_RESP, 3);
    assert_non_null(ack);
    assert_true(ack->append_resp.success);
    assert_int_equal(ack->append_resp.index, 2);
    craft_core_destroy(c);
}

static void test_core_batch_vote_of_a_left_term_is_not_sent(void **state)
{
    (void)state;
    struct craft_core *c = follower(1);
    struct craft_msg vote = {.type = CRAFT_MSG_VOTE,
                             .from = 1,
                             .to = 2,
                             .term = 2,
                             .vote = {.last_index = 1, .last_term = 1}};
    struct craft_msg msgs[2] = {vote, vote};
    msgs[1].from = 3;
    msgs[1].term = 3;
    struct craft_output out;
    assert_int_equal(feed_batch(c, msgs, 2, &out), 0);
    /* The step persists term 3 and the vote for 3 only; the grant of term 2 never was durable. */
    assert_true(out.hard_state_changed);
    assert_int_equal(out.hard_state.term, 3);
    assert_int_equal(out.hard_state.vote, 3);
    assert_null(find_after(&out, CRAFT_MSG_VOTE_RESP, 1));
    const struct craft_msg *grant = find_after(&out, CRAFT_MSG_VOTE_RESP, 3);
    assert_non_null(grant);
    assert_true(grant->vote_resp.granted);
    assert_int_equal(grant->term, 3);
    craft_core_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_batch_every_message_persists),
        cmocka_unit_test(test_core_batch_ack_of_truncated_entries_is_not_sent),
        cmocka_unit_test(test_core_batch_vote_of_a_left_term_is_not_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
