/* The member table and its majorities, joint ones included (src/core/peers.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/peers.h"

static void set(struct peers *ps, const struct craft_membership *m)
{
    bool added[PEERS_MAX];
    peers_set(ps, m, added);
}

static void test_peers_majorities(void **state)
{
    (void)state;
    const unsigned expect[] = {1, 1, 2, 2, 3, 3, 4, 4};
    for (unsigned n = 0; n <= 7; n++) {
        assert_int_equal(peers_majority(n), expect[n]);
    }
}

static void test_peers_set_keeps_slots_of_staying_members(void **state)
{
    (void)state;
    struct peers ps;
    peers_init(&ps);
    struct craft_membership a = {.voters = {1, 2, 3}, .n_voters = 3};
    bool added[PEERS_MAX];
    peers_set(&ps, &a, added);
    assert_true(added[0] && added[1] && added[2]);
    struct peer *p3 = peers_find(&ps, 3);
    assert_non_null(p3);
    p3->pr.match = 42;
    /* Remove 2, add 4 as a voter and 7 as a learner. */
    struct craft_membership b = {.voters = {1, 3, 4}, .n_voters = 3, .learners = {7},
                                 .n_learners = 1};
    peers_set(&ps, &b, added);
    assert_null(peers_find(&ps, 2));
    assert_ptr_equal(peers_find(&ps, 3), p3);
    assert_int_equal(p3->pr.match, 42);
    assert_false(added[p3 - ps.slot]);
    struct peer *p4 = peers_find(&ps, 4);
    struct peer *p7 = peers_find(&ps, 7);
    assert_non_null(p4);
    assert_non_null(p7);
    assert_true(added[p4 - ps.slot]);
    assert_true(p4->voter);
    assert_false(peer_is_voter(p7));
    /* The freed slot of 2 was reused. */
    assert_true(ps.n_slots <= 4);
}

static void test_peers_joint_tally_needs_both_halves(void **state)
{
    (void)state;
    struct peers ps;
    peers_init(&ps);
    struct craft_membership j = {.voters = {1, 4, 5}, .n_voters = 3,
                                 .voters_old = {1, 2, 3}, .n_voters_old = 3};
    set(&ps, &j);
    peers_find(&ps, 1)->vote = PEER_VOTE_GRANTED;
    peers_find(&ps, 4)->vote = PEER_VOTE_GRANTED;
    assert_int_equal(peers_tally(&ps), PEERS_PENDING); /* new half won, old half not yet */
    peers_find(&ps, 2)->vote = PEER_VOTE_GRANTED;
    assert_int_equal(peers_tally(&ps), PEERS_WON);
    peers_reset_votes(&ps);
    peers_find(&ps, 2)->vote = PEER_VOTE_REFUSED;
    peers_find(&ps, 3)->vote = PEER_VOTE_REFUSED;
    assert_int_equal(peers_tally(&ps), PEERS_LOST); /* the old half can no longer say yes */
}

static void test_peers_learners_never_count(void **state)
{
    (void)state;
    struct peers ps;
    peers_init(&ps);
    struct craft_membership m = {.voters = {1, 2, 3}, .n_voters = 3, .learners = {4, 5},
                                 .n_learners = 2};
    set(&ps, &m);
    peers_find(&ps, 1)->vote = PEER_VOTE_GRANTED;
    peers_find(&ps, 4)->vote = PEER_VOTE_GRANTED;
    peers_find(&ps, 5)->vote = PEER_VOTE_GRANTED;
    assert_int_equal(peers_tally(&ps), PEERS_PENDING);
    peers_find(&ps, 4)->pr.match = 100;
    peers_find(&ps, 5)->pr.match = 100;
    peers_find(&ps, 2)->pr.match = 7;
    /* Self (1) at 50, 2 at 7, 3 at 0: a majority has 7, whatever the learners hold. */
    assert_int_equal(peers_quorum_index(&ps, 1, 50), 7);
}

static void test_peers_joint_quorum_index_is_the_lower_half(void **state)
{
    (void)state;
    struct peers ps;
    peers_init(&ps);
    struct craft_membership j = {.voters = {1, 4, 5}, .n_voters = 3,
                                 .voters_old = {1, 2, 3}, .n_voters_old = 3};
    set(&ps, &j);
    peers_find(&ps, 4)->pr.match = 20;
    peers_find(&ps, 5)->pr.match = 20;
    peers_find(&ps, 2)->pr.match = 9;
    peers_find(&ps, 3)->pr.match = 3;
    /* New half: {30, 20, 20} -> 20; old half: {30, 9, 3} -> 9. */
    assert_int_equal(peers_quorum_index(&ps, 1, 30), 9);
    /* Active: only 4 heard from; the new half has self + 4, the old half only self. */
    peers_find(&ps, 4)->pr.recent_active = true;
    assert_false(peers_quorum_active(&ps, 1));
    peers_find(&ps, 3)->pr.recent_active = true;
    assert_true(peers_quorum_active(&ps, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peers_majorities),
        cmocka_unit_test(test_peers_set_keeps_slots_of_staying_members),
        cmocka_unit_test(test_peers_joint_tally_needs_both_halves),
        cmocka_unit_test(test_peers_learners_never_count),
        cmocka_unit_test(test_peers_joint_quorum_index_is_the_lower_half),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
