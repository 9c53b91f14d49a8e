/* Unit tests for the linearizability checker (tests/lin): hand-made histories, linearizable and
 * not, judged by lin_check; the text format; the search bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lincheck.h"

/* Checks the history written as lines of the text format; returns the verdict. */
static int judge(const char *text, uint64_t max_states, struct lin_result *res)
{
    struct lin_history h;
    lin_history_init(&h);
    char line[256];
    char err[200];
    const char *p = text;
    while (*p != '\0') {
        const char *e = strchr(p, '\n');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        assert_true(len < sizeof line);
        memcpy(line, p, len);
        line[len] = '\0';
        if (lin_parse_line(&h, line, err, sizeof err) != 0) {
            fail_msg("parse: %s: %s", line, err);
        }
        p += len + (e != NULL);
    }
    int v = lin_check(&h, max_states, res);
    lin_history_close(&h);
    return v;
}

static void test_lincheck_sequential_history_passes(void **state)
{
    (void)state;
    struct lin_result r;
    assert_int_equal(judge("1 0 10 x set 5 ok\n"
                           "1 11 20 x get =5\n"
                           "1 21 30 x incr :6\n"
                           "1 31 40 x append ab :3\n"
                           "1 41 50 x get =6ab\n"
                           "1 51 60 x incr err\n"
                           "1 61 70 x del :1\n"
                           "1 71 80 x get nil\n"
                           "1 81 90 x del :0\n"
                           "1 91 99 x incr :1\n",
                           0, &r),
                     LIN_OK);
    assert_int_equal(r.n_keys, 1);
    assert_int_equal(r.n_ops, 10);
}

static void test_lincheck_concurrent_writes_either_order(void **state)
{
    (void)state;
    struct lin_result r;
    /* Two overlapping writes; reads after both agree on the one that went last. */
    const char *h = "1 0 10 x set a ok\n"
                    "2 0 10 x set b ok\n"
                    "3 5 8 x get =a\n" /* during both: a may be first */
                    "3 20 30 x get =b\n"
                    "4 21 31 x get =b\n";
    assert_int_equal(judge(h, 0, &r), LIN_OK);
}

static void test_lincheck_stale_read_after_write(void **state)
{
    (void)state;
    struct lin_result r;
    /* The write completed before the read began: the read must see it. */
    assert_int_equal(judge("1 0 10 x set 1 ok\n"
                           "1 11 20 x set 2 ok\n"
                           "2 30 40 x get =1\n",
                           0, &r),
                     LIN_VIOLATION);
    assert_string_equal(r.key, "x");
    /* The same read overlapping the second write is fine. */
    assert_int_equal(judge("1 0 10 x set 1 ok\n"
                           "1 11 35 x set 2 ok\n"
                           "2 30 40 x get =1\n",
                           0, &r),
                     LIN_OK);
}

static void test_lincheck_reads_see_writes_in_opposite_orders(void **state)
{
    (void)state;
    struct lin_result r;
    /* Two concurrent appends; one reader sees a before b, another b before a. */
    assert_int_equal(judge("1 0 10 k append a :1\n"
                           "2 0 10 k append b :2\n"
                           "3 20 30 k get =ab\n"
                           "4 20 30 k get =ba\n",
                           0, &r),
                     LIN_VIOLATION);
    /* Registers: two reads after both writes observe different final values. */
    assert_int_equal(judge("1 0 10 k set a ok\n"
                           "2 0 10 k set b ok\n"
                           "3 20 30 k get =a\n"
                           "4 35 40 k get =b\n",
                           0, &r),
                     LIN_VIOLATION);
    /* While the writes run, each reader may see its own first. */
    assert_int_equal(judge("1 0 50 k set a ok\n"
                           "2 0 50 k set b ok\n"
                           "3 10 20 k get =a\n"
                           "4 30 40 k get =b\n",
                           0, &r),
                     LIN_OK);
    /* But not a, b, a again without a third write. */
    assert_int_equal(judge("1 0 50 k set a ok\n"
                           "2 0 50 k set b ok\n"
                           "3 10 20 k get =a\n"
                           "4 22 28 k get =b\n"
                           "3 30 40 k get =a\n",
                           0, &r),
                     LIN_VIOLATION);
}

static void test_lincheck_incr_applied_twice(void **state)
{
    (void)state;
    struct lin_result r;
    assert_int_equal(judge("1 0 10 n incr :1\n"
                           "2 20 30 n get =2\n",
                           0, &r),
                     LIN_VIOLATION);
    /* Two increments both answered 1: one of them was lost or ran on a stale copy. */
    assert_int_equal(judge("1 0 10 n incr :1\n"
                           "2 0 10 n incr :1\n",
                           0, &r),
                     LIN_VIOLATION);
    /* A retried increment whose first try has no answer may have run too. */
    assert_int_equal(judge("1 0 ? n incr ?\n"
                           "1 12 20 n incr :2\n"
                           "2 30 40 n get =2\n",
                           0, &r),
                     LIN_OK);
}

static void test_lincheck_pending_write_applies_later(void **state)
{
    (void)state;
    struct lin_result r;
    /* A write without an answer may take effect long after, or never. */
    assert_int_equal(judge("1 0 10 x set 1 ok\n"
                           "2 5 ? x set 2 ?\n"
                           "3 20 30 x get =1\n"
                           "3 40 50 x get =2\n",
                           0, &r),
                     LIN_OK);
    assert_int_equal(judge("1 0 10 x set 1 ok\n"
                           "2 5 ? x set 2 ?\n"
                           "3 20 30 x get =1\n"
                           "3 40 50 x get =1\n",
                           0, &r),
                     LIN_OK);
    /* Once seen it stays: 1 cannot come back. */
    assert_int_equal(judge("1 0 10 x set 1 ok\n"
                           "2 5 ? x set 2 ?\n"
                           "3 20 30 x get =2\n"
                           "3 40 50 x get =1\n",
                           0, &r),
                     LIN_VIOLATION);
    /* Not before it was invoked. */
    assert_int_equal(judge("1 0 10 x set 1 ok\n"
                           "3 20 30 x get =2\n"
                           "2 40 ? x set 2 ?\n",
                           0, &r),
                     LIN_VIOLATION);
}

static void test_lincheck_effect_by_return_without_output(void **state)
{
    (void)state;
    struct lin_result r;
    /* A write known to have happened by 15, output unknown: a read after 15 must see it. */
    assert_int_equal(judge("1 0 4 x set 1 ok\n"
                           "2 5 15 x set 2 ?\n"
                           "3 20 30 x get =1\n",
                           0, &r),
                     LIN_VIOLATION);
    assert_int_equal(judge("1 0 10 x set 1 ok\n"
                           "2 5 15 x set 2 ?\n"
                           "3 12 30 x get =1\n"
                           "3 31 40 x get =2\n",
                           0, &r),
                     LIN_OK);
    /* Its output is not judged, but its effect is: an increment counted once. */
    assert_int_equal(judge("1 0 10 n incr ?\n"
                           "2 20 30 n incr :2\n",
                           0, &r),
                     LIN_OK);
    assert_int_equal(judge("1 0 10 n incr ?\n"
                           "2 20 30 n incr :1\n",
                           0, &r),
                     LIN_VIOLATION);
}

static void test_lincheck_keys_are_independent(void **state)
{
    (void)state;
    struct lin_result r;
    assert_int_equal(judge("1 0 10 a set 1 ok\n"
                           "1 11 20 b set 2 ok\n"
                           "2 30 40 b get =2\n"
                           "2 41 50 a get =1\n"
                           "2 51 60 c get nil\n",
                           0, &r),
                     LIN_OK);
    assert_int_equal(r.n_keys, 3);
    assert_int_equal(judge("1 0 10 a set 1 ok\n"
                           "1 11 20 b set 2 ok\n"
                           "2 30 40 b get =2\n"
                           "2 41 50 a get nil\n",
                           0, &r),
                     LIN_VIOLATION);
    assert_string_equal(r.key, "a");
    assert_false(r.value_exists == false && r.depth == 0 && r.blocked == 0);
}

static void test_lincheck_failed_ops_are_skipped(void **state)
{
    (void)state;
    struct lin_result r;
    /* A refused write (not leader) never happened; an unanswered read tells nothing. */
    assert_int_equal(judge("1 0 10 x set 1 fail\n"
                           "2 5 ? x get ?\n"
                           "3 20 30 x get nil\n",
                           0, &r),
                     LIN_OK);
    assert_int_equal(r.n_ops, 1);
}

/* What an unanswered write's argument is, in pending_writes. */
enum pending_arg { PENDING_NO_ARG, PENDING_LETTER, PENDING_NUMBERED };

/* Appends n lines of unanswered writes `key cmd [arg]` (clients 0..n-1, invoked at 0, or at i
 * with `staggered`; args a, b, ... or p0, p1, ...) to text at len; returns the new length. */
static size_t pending_writes(char *text, size_t cap, size_t len, int n, const char *key_cmd,
                             enum pending_arg arg, bool staggered)
{
    for (int i = 0; i < n; i++) {
        char a[16] = "";
        if (arg == PENDING_LETTER) {
            snprintf(a, sizeof a, " %c", 'a' + i);
        } else if (arg == PENDING_NUMBERED) {
            snprintf(a, sizeof a, " p%d", i);
        }
        len += (size_t)snprintf(text + len, cap - len, "%d %d ? %s%s ?\n", i, staggered ? i : 0,
                                key_cmd, a);
    }
    return len;
}

static void test_lincheck_bound_reports_unknown(void **state)
{
    (void)state;
    struct lin_result r;
    /* Many unanswered writes and a read that fits none: the search must try subsets (a SET
     * among the appends keeps the append-only cut out of it). */
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "9 0 ? x set q ?\n");
    len = pending_writes(text, sizeof text, len, 6, "x append", PENDING_LETTER, false);
    len += (size_t)snprintf(text + len, sizeof text - len, "99 10 20 x get =zz\n");
    assert_int_equal(judge(text, 50, &r), LIN_UNKNOWN);
    assert_int_equal(r.n_keys_unknown, 1);
    /* Without the bound the same history is judged. */
    assert_int_equal(judge(text, 0, &r), LIN_VIOLATION);
}

/* Unanswered twins (same command and argument) are placed in order of invocation, so many
 * unanswered INCRs cost one choice each, not every subset: a history that needs them all judged
 * is judged within a bound that the subsets would exceed (2^24 of them). */
static void test_lincheck_pending_twins_judged_in_bound(void **state)
{
    (void)state;
    struct lin_result r;
    char text[4096];
    size_t base = pending_writes(text, sizeof text, 0, 24, "n incr", PENDING_NO_ARG, true);
    /* More increments seen than were ever sent: every subset of the 24 must be ruled out. */
    snprintf(text + base, sizeof text - base, "99 100 110 n get =25\n");
    assert_int_equal(judge(text, 1000, &r), LIN_VIOLATION);
    /* All of them applied, then one answered on top. */
    snprintf(text + base, sizeof text - base, "99 100 110 n get =24\n99 120 130 n incr :25\n");
    assert_int_equal(judge(text, 1000, &r), LIN_OK);
    /* Only the twin invoked before the read can explain it; the later one is not used early. */
    assert_int_equal(judge("1 0 ? x set 1 ?\n"
                           "2 20 30 x get =1\n"
                           "3 50 ? x set 1 ?\n",
                           0, &r),
                     LIN_OK);
    assert_int_equal(judge("2 20 30 x get =1\n"
                           "1 40 ? x set 1 ?\n"
                           "3 50 ? x set 1 ?\n",
                           0, &r),
                     LIN_VIOLATION);
    /* Different arguments are not twins: both orders stay open. */
    assert_int_equal(judge("1 0 ? x append a ?\n"
                           "2 5 ? x append b ?\n"
                           "3 20 30 x get =ba\n",
                           0, &r),
                     LIN_OK);
}

/* Appends only: every value is a prefix of the later ones, so a pending append goes only where
 * its bytes are the next ones the next read saw. Twelve pending appends would otherwise be
 * tried in every order up to each read. */
static void test_lincheck_pending_appends_cut_by_reads(void **state)
{
    (void)state;
    struct lin_result r;
    char text[4096];
    size_t base = pending_writes(text, sizeof text, 0, 12, "x append", PENDING_LETTER, false);
    const char *reads = "50 10 20 x get =ab\n"
                        "50 30 40 x append z :3\n"
                        "51 50 60 x get =abzc\n";
    snprintf(text + base, sizeof text - base, "%s", reads);
    assert_int_equal(judge(text, 2000, &r), LIN_OK);
    /* The value cannot shrink: every order of the twelve must be ruled out. */
    snprintf(text + base, sizeof text - base, "%s52 70 80 x get =abz\n", reads);
    assert_int_equal(judge(text, 2000, &r), LIN_VIOLATION);
    /* Nor vanish. */
    snprintf(text + base, sizeof text - base, "%s52 70 80 x get nil\n", reads);
    assert_int_equal(judge(text, 2000, &r), LIN_VIOLATION);
    /* A read concurrent with an append may see the value before it. */
    assert_int_equal(judge("1 0 10 x append a :1\n"
                           "2 20 40 x append b :2\n"
                           "3 25 30 x get =a\n"
                           "3 45 50 x get =ab\n",
                           0, &r),
                     LIN_OK);
}

/* A state that placed the same answered ops, holds the same value and placed fewer pending ops
 * can do all the new one can: once it failed, the new one is cut. Here ten pending SETs around
 * answered SETs and reads, and a read of a value never written: ~17,000 placements without the
 * cut, under 100 with it (and the stacking cut below). */
static void test_lincheck_dominated_states_cut(void **state)
{
    (void)state;
    struct lin_result r;
    char text[4096];
    size_t len = pending_writes(text, sizeof text, 0, 10, "x set", PENDING_NUMBERED, false);
    uint64_t t = 10;
    for (int j = 0; j < 6; j++, t += 20) {
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "50 %llu %llu x set a%d ok\n51 %llu %llu x get =a%d\n",
                                (unsigned long long)t, (unsigned long long)t + 5, j,
                                (unsigned long long)t + 10, (unsigned long long)t + 15, j);
    }
    snprintf(text + len, sizeof text - len, "52 %llu %llu x get =zz\n", (unsigned long long)t,
             (unsigned long long)t + 5);
    assert_int_equal(judge(text, 2000, &r), LIN_VIOLATION);
    /* The same with the last read seeing a pending write: it is found. */
    snprintf(text + len, sizeof text - len, "52 %llu %llu x get =p7\n", (unsigned long long)t,
             (unsigned long long)t + 5);
    assert_int_equal(judge(text, 2000, &r), LIN_OK);
}

/* An unanswered SET or DEL right after another unanswered write erases it unseen: the order
 * without the first is tried anyway, so the search does not place one on top of the other.
 * Sixteen unanswered SETs then cost sixteen states, not every ordered subset. */
static void test_lincheck_unseen_pending_writes_not_stacked(void **state)
{
    (void)state;
    struct lin_result r;
    char text[4096];
    size_t len = pending_writes(text, sizeof text, 0, 16, "x set", PENDING_NUMBERED, false);
    snprintf(text + len, sizeof text - len, "50 10 20 x get =zz\n");
    assert_int_equal(judge(text, 5000, &r), LIN_VIOLATION);
    snprintf(text + len, sizeof text - len, "50 10 20 x get =p9\n51 30 40 x get =p3\n");
    assert_int_equal(judge(text, 5000, &r), LIN_OK);
    /* Seen in between, the first one counts: an APPEND on top of it, then a DEL. */
    assert_int_equal(judge("1 0 ? x set a ?\n"
                           "2 0 ? x append b ?\n"
                           "3 0 ? x del ?\n"
                           "4 10 20 x get =ab\n"
                           "5 30 40 x get nil\n",
                           0, &r),
                     LIN_OK);
}

static void test_lincheck_text_format_round_trip(void **state)
{
    (void)state;
    struct lin_history h;
    lin_history_init(&h);
    char err[200];
    const char *lines[] = {"7 1 2 key set v ok",       "7 3 ? key incr ?",    "8 4 9 key get =",
                           "8 10 11 key append xy :2", "8 12 13 key del :1",  "8 14 15 key get nil",
                           "8 16 17 key incr err",     "9 18 19 key incr :-4"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        assert_int_equal(lin_parse_line(&h, lines[i], err, sizeof err), 0);
        char buf[256];
        (void)lin_format_op(&h.ops[i], buf, sizeof buf);
        assert_string_equal(buf, lines[i]);
    }
    assert_int_equal(lin_parse_line(&h, "1 5 4 x get nil", err, sizeof err), -1);
    assert_int_equal(lin_parse_line(&h, "1 0 4 x set nil", err, sizeof err), -1);
    assert_int_equal(lin_parse_line(&h, "1 0 4 x frob ok", err, sizeof err), -1);
    assert_int_equal(lin_parse_line(&h, "1 0 ? x set 1 ok", err, sizeof err), -1);
    assert_int_equal(lin_parse_line(&h, "# comment", err, sizeof err), 0);
    assert_int_equal(h.n, 8);
    lin_history_close(&h);
}

/* Adds an op of key x without an answer yet. */
static size_t add_unanswered(struct lin_history *h, uint64_t client, uint64_t invoke, uint32_t cmd,
                             const char *arg)
{
    struct lin_op op = {.client = client,
                        .invoke = invoke,
                        .ret = LIN_PENDING,
                        .cmd = cmd,
                        .out = LIN_OUT_UNKNOWN,
                        .key = "x",
                        .key_len = 1,
                        .arg = arg,
                        .arg_len = arg != NULL ? strlen(arg) : 0};
    return lin_history_add(h, &op);
}

static void test_lincheck_answer_fills_a_pending_op(void **state)
{
    (void)state;
    struct lin_history h;
    lin_history_init(&h);
    size_t i = add_unanswered(&h, 1, 0, LIN_SET, "1");
    size_t j = add_unanswered(&h, 2, 20, LIN_GET, NULL);
    lin_history_answer(&h, i, 10, LIN_OUT_OK, NULL, 0, 0);
    lin_history_answer(&h, j, 30, LIN_OUT_NIL, NULL, 0, 0);
    struct lin_result r;
    assert_int_equal(lin_check(&h, 0, &r), LIN_VIOLATION);
    assert_int_equal(r.blocked, j);
    lin_history_close(&h);
}

/* A small random generator for the property test (xorshift64*). */
static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545f4914f6cdd1dull;
}

/* Runs ops on a sequential register per key at points 100, 200, ... and gives each an interval
 * around its point: the history is linearizable by construction. Some writes lose their answer
 * (pending; some of those never run at all). With `corrupt`, one GET answers a value nobody
 * wrote. With `appends`, the ops are APPENDs and GETs only (the append-only cut). */
static void random_history(struct lin_history *h, uint64_t seed, bool corrupt, bool appends)
{
    uint64_t x = seed * 2654435761u + 1;
    char vals[2][64];
    size_t lens[2] = {0, 0};
    bool exists[2] = {false, false};
    size_t corrupt_at = (size_t)(next_rand(&x) % 30);
    for (size_t i = 0; i < 30; i++) {
        unsigned k = (unsigned)(next_rand(&x) % 2);
        uint64_t point = 100 * (i + 1);
        struct lin_op op;
        memset(&op, 0, sizeof op);
        op.client = i % 4;
        op.invoke = point - next_rand(&x) % 90;
        op.ret = point + next_rand(&x) % 150;
        op.key = k == 0 ? "a" : "b";
        op.key_len = 1;
        char arg[4] = {(char)('a' + next_rand(&x) % 3), '\0'};
        op.cmd = (uint32_t)(1 + next_rand(&x) % 5);
        if (appends) {
            op.cmd = op.cmd % 2 == 0 ? LIN_GET : LIN_APPEND;
        }
        bool lost = op.cmd != LIN_GET && next_rand(&x) % 5 == 0;
        bool runs = !lost || next_rand(&x) % 2 == 0;
        if ((op.cmd == LIN_INCR && exists[k]) || (corrupt && i == 29)) {
            /* INCR only of absent keys here; and the corrupt read comes at the latest last. */
            op.cmd = LIN_GET;
            lost = false;
        }
        switch (op.cmd) {
        case LIN_GET:
            op.out = exists[k] ? LIN_OUT_VALUE : LIN_OUT_NIL;
            op.val = vals[k];
            op.val_len = lens[k];
            if (corrupt && i >= corrupt_at) {
                op.out = LIN_OUT_VALUE;
                op.val = "zzz";
                op.val_len = 3;
                corrupt = false;
            }
            break;
        case LIN_SET:
        case LIN_APPEND:
            op.arg = arg;
            op.arg_len = 1;
            if (runs) {
                if (op.cmd == LIN_SET || !exists[k]) {
                    lens[k] = 0;
                }
                vals[k][lens[k]++] = arg[0];
                lens[k] = lens[k] < sizeof vals[k] ? lens[k] : sizeof vals[k] - 1;
                exists[k] = true;
            }
            op.out = op.cmd == LIN_SET ? LIN_OUT_OK : LIN_OUT_INT;
            op.n = (int64_t)lens[k];
            break;
        case LIN_INCR:
            if (runs) {
                vals[k][0] = '1';
                lens[k] = 1;
                exists[k] = true;
            }
            op.out = LIN_OUT_INT;
            op.n = 1;
            break;
        default:
            op.out = LIN_OUT_INT;
            op.n = exists[k] ? 1 : 0;
            if (runs) {
                exists[k] = false;
                lens[k] = 0;
            }
            break;
        }
        if (lost) {
            op.ret = LIN_PENDING;
            op.out = LIN_OUT_UNKNOWN;
        }
        (void)lin_history_add(h, &op);
    }
}

static void test_lincheck_random_histories_judged(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3000; seed++) {
        bool appends = seed % 2 == 0;
        struct lin_history h;
        lin_history_init(&h);
        random_history(&h, seed, false, appends);
        struct lin_result r;
        int v = lin_check(&h, 0, &r);
        if (v != LIN_OK) {
            fail_msg("seed %llu: a linearizable history judged %d", (unsigned long long)seed, v);
        }
        lin_history_close(&h);
        lin_history_init(&h);
        random_history(&h, seed, true, appends);
        v = lin_check(&h, 0, &r);
        if (v != LIN_VIOLATION) {
            fail_msg("seed %llu: a read of a value never written judged %d",
                     (unsigned long long)seed, v);
        }
        lin_history_close(&h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lincheck_sequential_history_passes),
        cmocka_unit_test(test_lincheck_concurrent_writes_either_order),
        cmocka_unit_test(test_lincheck_stale_read_after_write),
        cmocka_unit_test(test_lincheck_reads_see_writes_in_opposite_orders),
        cmocka_unit_test(test_lincheck_incr_applied_twice),
        cmocka_unit_test(test_lincheck_pending_write_applies_later),
        cmocka_unit_test(test_lincheck_effect_by_return_without_output),
        cmocka_unit_test(test_lincheck_keys_are_independent),
        cmocka_unit_test(test_lincheck_failed_ops_are_skipped),
        cmocka_unit_test(test_lincheck_bound_reports_unknown),
        cmocka_unit_test(test_lincheck_pending_twins_judged_in_bound),
        cmocka_unit_test(test_lincheck_pending_appends_cut_by_reads),
        cmocka_unit_test(test_lincheck_dominated_states_cut),
        cmocka_unit_test(test_lincheck_unseen_pending_writes_not_stacked),
        cmocka_unit_test(test_lincheck_text_format_round_trip),
        cmocka_unit_test(test_lincheck_answer_fills_a_pending_op),
        cmocka_unit_test(test_lincheck_random_histories_judged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
