/* The hard state file keeps its promises: bit rot in either slot never rolls back a durable
 * (term, vote), so a node cannot vote twice in a term; a save cut short at any call recovers the
 * state before it or the new one, never anything else; and open repairs a damaged slot. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crash_harness.h"
#include "io/sim/fs_sim.h"
#include "storage/hard_state.h"

static struct hard_state_file *open_ok(struct io_fs_sim *sim, struct craft_hard_state *hs)
{
    struct hard_state_file *h = NULL;
    char errmsg[256] = "";
    int rv = hard_state_open(io_fs_sim_fs(sim), &h, hs, errmsg, sizeof errmsg);
    if (rv != 0) {
        fail_msg("hard_state_open: %s: %s", craft_errname(rv), errmsg);
    }
    return h;
}

static bool same(const struct craft_hard_state *a, const struct craft_hard_state *b)
{
    return a->term == b->term && a->vote == b->vote && a->commit == b->commit;
}

/* Term 6 with no vote, then the vote for node 3 in term 7: the vote is the newest save. */
static const struct craft_hard_state before_vote = {.term = 6, .vote = 0, .commit = 4};
static const struct craft_hard_state voted = {.term = 7, .vote = 3, .commit = 4};

static struct io_fs_sim *two_saves(uint64_t seed)
{
    struct io_fs_sim *sim;
    assert_int_equal(io_fs_sim_create(seed, &sim), 0);
    struct craft_hard_state hs;
    struct hard_state_file *h = open_ok(sim, &hs);
    assert_int_equal(hard_state_save(h, &before_vote), 0);
    assert_int_equal(hard_state_save(h, &voted), 0);
    hard_state_close(h);
    return sim;
}

/* May a node that recovered hs grant its vote to `candidate` in `term`? (Raft §5.2: at most one
 * vote per term; it grants only if term is newer than its own, or equal with no vote or the same
 * vote.) */
static bool may_grant(const struct craft_hard_state *hs, craft_term term, craft_id candidate)
{
    return term > hs->term || (term == hs->term && (hs->vote == 0 || hs->vote == candidate));
}

static void test_hard_state_rot_in_either_slot_keeps_the_vote(void **state)
{
    (void)state;
    for (unsigned slot = 0; slot < 2; slot++) {
        for (uint64_t b = 0; b < HARD_STATE_SLOT_BYTES; b++) {
            struct io_fs_sim *sim = two_saves(b);
            uint64_t byte = slot * HARD_STATE_SLOT_STRIDE + b;
            assert_int_equal(io_fs_sim_flip_bit(sim, HARD_STATE_FILE, byte * 8 + b % 8), 0);
            struct craft_hard_state hs;
            struct hard_state_file *h = open_ok(sim, &hs);
            if (!same(&hs, &voted)) {
                fail_msg("rot in slot %u byte %llu: recovered term %llu vote %llu, want term 7 "
                         "vote 3",
                         slot, (unsigned long long)b, (unsigned long long)hs.term,
                         (unsigned long long)hs.vote);
            }
            /* The vote of term 7 went to node 3: no other node can get it after the rot. */
            for (craft_id other = 1; other <= 5; other++) {
                assert_true(other == 3 || !may_grant(&hs, 7, other));
            }
            hard_state_close(h);
            io_fs_sim_destroy(sim);
        }
    }
}

/* Rot in a slot is repaired on open: afterwards both slots hold the recovered state durably,
 * so a second fault (rot or a torn write in the other slot) cannot take it away. */
static void test_hard_state_open_repairs_a_rotted_slot(void **state)
{
    (void)state;
    for (unsigned slot = 0; slot < 2; slot++) {
        struct io_fs_sim *sim = two_saves(slot);
        assert_int_equal(io_fs_sim_flip_bit(sim, HARD_STATE_FILE,
                                            (slot * HARD_STATE_SLOT_STRIDE + 20) * 8 + 1),
                         0);
        struct craft_hard_state hs;
        struct hard_state_file *h = open_ok(sim, &hs);
        assert_true(same(&hs, &voted));
        hard_state_close(h);
        for (unsigned i = 0; i < 2; i++) {
            unsigned char buf[HARD_STATE_SLOT_BYTES];
            size_t n_read;
            assert_int_equal(io_fs_sim_read(sim, HARD_STATE_FILE, IO_FS_SIM_DURABLE,
                                            i * HARD_STATE_SLOT_STRIDE, buf, sizeof buf, &n_read),
                             0);
            assert_int_equal(n_read, sizeof buf);
            uint64_t seq;
            struct craft_hard_state got;
            assert_int_equal(hard_state_slot_decode(buf, &seq, &got), 1);
            assert_true(same(&got, &voted));
        }
        io_fs_sim_destroy(sim);
    }
}

/* A save cut short at every one of its calls, under every crash policy: the state before it or
 * the new one comes back (the new one whenever the save returned success), never a mix and
 * never an error. */
static void test_hard_state_torn_save_recovers_old_or_new(void **state)
{
    (void)state;
    static const struct policy_case cases[] = {
        {IO_FS_SIM_CRASH_LOSE_ALL, 1, "lose-all"},
        {IO_FS_SIM_CRASH_KEEP_ALL, 1, "keep-all"},
        {IO_FS_SIM_CRASH_RANDOM, 1, "random-1"},
        {IO_FS_SIM_CRASH_RANDOM, 2, "random-2"},
        {IO_FS_SIM_CRASH_RANDOM, 3, "random-3"},
        {IO_FS_SIM_CRASH_RANDOM, 4, "random-4"},
    };
    struct failures fl = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (uint64_t k = 0; k <= 6; k++) {
            struct io_fs_sim *sim;
            assert_int_equal(io_fs_sim_create(cases[c].seed * 100 + k, &sim), 0);
            set_policy(sim, cases[c].policy);
            struct craft_hard_state hs;
            struct hard_state_file *h = open_ok(sim, &hs);
            assert_int_equal(hard_state_save(h, &before_vote), 0);
            io_fs_sim_die_after(sim, io_fs_sim_ops(sim) + k);
            int saved = hard_state_save(h, &voted);
            assert_int_equal(io_fs_sim_crash(sim), 0);
            hard_state_close(h);
            h = NULL;
            char errmsg[256] = "";
            int rv = hard_state_open(io_fs_sim_fs(sim), &h, &hs, errmsg, sizeof errmsg);
            if (rv != 0) {
                failed(&fl, "%s, save cut after %llu calls: open: %s: %s", cases[c].name,
                       (unsigned long long)k, craft_errname(rv), errmsg);
            } else if (!same(&hs, &voted) && (saved == 0 || !same(&hs, &before_vote))) {
                failed(&fl, "%s, save cut after %llu calls (save returned %s): recovered term "
                       "%llu vote %llu",
                       cases[c].name, (unsigned long long)k, craft_errname(saved),
                       (unsigned long long)hs.term, (unsigned long long)hs.vote);
            }
            hard_state_close(h);
            io_fs_sim_destroy(sim);
        }
    }
    assert_int_equal(fl.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hard_state_rot_in_either_slot_keeps_the_vote),
        cmocka_unit_test(test_hard_state_open_repairs_a_rotted_slot),
        cmocka_unit_test(test_hard_state_torn_save_recovers_old_or_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
