/* Unit tests of the leader's per-follower progress (src/core/progress.c): probe and replicate
 * states, the in-flight window, acknowledgements and rejections. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/progress.h"

#define RING 4
#define BYTES_MAX 1000

static struct progress replicating(struct inflight *ring, craft_index match)
{
    struct progress p;
    progress_init(&p, 2, match + 1, ring, RING);
    p.match = match;
    progress_become_replicate(&p);
    return p;
}

static void test_progress_probe_pauses_after_one_send(void **state)
{
    (void)state;
    struct inflight ring[RING];
    struct progress p;
    progress_init(&p, 2, 11, ring, RING);
    assert_int_equal(p.state, CRAFT_PROGRESS_PROBE);
    assert_false(progress_is_paused(&p, BYTES_MAX));
    progress_on_sent(&p, 12, 2, 10);
    assert_true(progress_is_paused(&p, BYTES_MAX));
    assert_int_equal(p.next, 11); /* a probe does not advance next */
    assert_int_equal(p.count, 0);
    /* An answer (even a heartbeat's) unpauses the probe. */
    progress_on_ack(&p, 10);
    assert_false(progress_is_paused(&p, BYTES_MAX));
}

static void test_progress_replicate_window_by_count(void **state)
{
    (void)state;
    struct inflight ring[RING];
    struct progress p = replicating(ring, 10);
    for (craft_index i = 0; i < RING; i++) {
        assert_false(progress_is_paused(&p, BYTES_MAX));
        progress_on_sent(&p, 11 + i, 1, 1);
    }
    assert_true(progress_is_paused(&p, BYTES_MAX));
    assert_int_equal(p.next, 15);
    assert_int_equal(p.count, RING);
}

static void test_progress_replicate_window_by_bytes(void **state)
{
    (void)state;
    struct inflight ring[RING];
    struct progress p = replicating(ring, 10);
    progress_on_sent(&p, 12, 2, BYTES_MAX - 1);
    assert_false(progress_is_paused(&p, BYTES_MAX));
    progress_on_sent(&p, 13, 1, 1);
    assert_true(progress_is_paused(&p, BYTES_MAX));
    assert_int_equal(p.count, 2);
    assert_int_equal(p.bytes, BYTES_MAX);
}

static void test_progress_ack_frees_inflight(void **state)
{
    (void)state;
    struct inflight ring[RING];
    struct progress p = replicating(ring, 10);
    progress_on_sent(&p, 11, 1, 100);
    progress_on_sent(&p, 13, 2, 200);
    progress_on_sent(&p, 16, 3, 300);
    progress_on_sent(&p, 17, 1, 400);
    assert_true(progress_is_paused(&p, BYTES_MAX));
    assert_true(progress_on_ack(&p, 13));
    assert_int_equal(p.match, 13);
    assert_int_equal(p.count, 2);
    assert_int_equal(p.bytes, 700);
    assert_false(progress_is_paused(&p, BYTES_MAX));
    assert_int_equal(p.next, 18); /* an ack never moves next back */
    assert_false(progress_on_ack(&p, 12)); /* old news: match stays */
    assert_int_equal(p.match, 13);
    assert_true(progress_on_ack(&p, 17));
    assert_int_equal(p.count, 0);
    assert_int_equal(p.bytes, 0);
    /* The ring wraps around. */
    for (int i = 0; i < 3 * RING; i++) {
        progress_on_sent(&p, p.next, 1, 1);
        assert_true(progress_on_ack(&p, p.next - 1));
    }
    assert_int_equal(p.count, 0);
    assert_int_equal(p.match, 17 + 3 * RING);
}

static void test_progress_stale_reject_ignored_in_replicate(void **state)
{
    (void)state;
    struct inflight ring[RING];
    struct progress p = replicating(ring, 10);
    progress_on_sent(&p, 15, 5, 50);
    assert_true(progress_on_ack(&p, 15));
    progress_on_sent(&p, 20, 5, 50);
    /* A rejection of prev_index 8, from before the ack of 15, changes nothing. */
    assert_false(progress_on_reject(&p, 8, 5));
    assert_int_equal(p.state, CRAFT_PROGRESS_REPLICATE);
    assert_int_equal(p.next, 21);
    assert_int_equal(p.count, 1);
}

static void test_progress_stale_reject_ignored_in_probe(void **state)
{
    (void)state;
    struct inflight ring[RING];
    struct progress p;
    progress_init(&p, 2, 11, ring, RING);
    progress_on_sent(&p, 11, 1, 1); /* probe with prev_index 10 */
    /* A rejection of another prev_index answers an older probe. */
    assert_false(progress_on_reject(&p, 12, 3));
    assert_int_equal(p.next, 11);
    assert_true(progress_is_paused(&p, BYTES_MAX));
    assert_true(progress_on_reject(&p, 10, 7));
    assert_int_equal(p.next, 7);
    assert_false(progress_is_paused(&p, BYTES_MAX));
}

static void test_progress_reject_moves_next_back_not_below_match(void **state)
{
    (void)state;
    struct inflight ring[RING];
    struct progress p = replicating(ring, 10);
    progress_on_sent(&p, 14, 4, 40);
    progress_on_sent(&p, 18, 4, 40);
    /* The follower refused prev_index 14 and hints far back, below what it acknowledged. */
    assert_true(progress_on_reject(&p, 14, 3));
    assert_int_equal(p.state, CRAFT_PROGRESS_PROBE);
    assert_int_equal(p.next, 11); /* match + 1 */
    assert_int_equal(p.count, 0);
    assert_int_equal(p.bytes, 0);
    /* A hint beyond the rejected index does not move next forward past it. */
    struct progress q = replicating(ring, 10);
    progress_on_sent(&q, 14, 4, 40);
    assert_true(progress_on_reject(&q, 13, 30));
    assert_int_equal(q.next, 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_probe_pauses_after_one_send),
        cmocka_unit_test(test_progress_replicate_window_by_count),
        cmocka_unit_test(test_progress_replicate_window_by_bytes),
        cmocka_unit_test(test_progress_ack_frees_inflight),
        cmocka_unit_test(test_progress_stale_reject_ignored_in_replicate),
        cmocka_unit_test(test_progress_stale_reject_ignored_in_probe),
        cmocka_unit_test(test_progress_reject_moves_next_back_not_below_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
