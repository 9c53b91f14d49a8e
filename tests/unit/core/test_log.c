/* Unit tests of the core's in-memory log (src/core/log.c): indexes and terms, truncation,
 * compaction, the fast-backtracking binary searches, and slab sharing of payloads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/log.h"

/* Appends one entry of term with a payload of len bytes, each byte (index & 0xff). */
static void append(struct log *l, craft_term term, size_t len)
{
    static unsigned char buf[3 * LOG_SLAB_BYTES];
    assert_true(len <= sizeof buf);
    memset(buf, (int)((log_last_index(l) + 1) & 0xff), len);
    assert_int_equal(log_append(l, term, CRAFT_ENTRY_NORMAL, buf, len), 0);
}

static void append_terms(struct log *l, const craft_term *terms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        append(l, terms[i], 8);
    }
}

static void test_log_empty(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    assert_int_equal(log_first_index(&l), 1);
    assert_int_equal(log_last_index(&l), 0);
    assert_int_equal(log_last_term(&l), 0);
    assert_int_equal(log_term_at(&l, 0), 0);
    assert_int_equal(log_term_at(&l, 1), 0);
    log_close(&l);
}

static void test_log_append_get_term_at(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    const craft_term terms[] = {1, 1, 2, 3, 3};
    append_terms(&l, terms, 5);
    assert_int_equal(log_last_index(&l), 5);
    assert_int_equal(log_last_term(&l), 3);
    for (craft_index i = 1; i <= 5; i++) {
        const struct craft_entry *e = log_get(&l, i);
        assert_int_equal(e->index, i);
        assert_int_equal(e->term, terms[i - 1]);
        assert_int_equal(e->data.len, 8);
        assert_int_equal(((const unsigned char *)e->data.base)[7], i);
        assert_int_equal(log_term_at(&l, i), terms[i - 1]);
    }
    assert_int_equal(log_term_at(&l, 6), 0); /* beyond the end */
    assert_int_equal(log_n_from(&l, 2), 4);
    assert_int_equal(log_n_from(&l, 6), 0);
    assert_int_equal(log_bytes(&l), 40);
    log_close(&l);
}

static void test_log_append_copies_payload(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    char buf[4] = "abc";
    assert_int_equal(log_append(&l, 1, CRAFT_ENTRY_NORMAL, buf, 4), 0);
    buf[0] = 'X';
    assert_memory_equal(log_get(&l, 1)->data.base, "abc", 4);
    assert_int_equal(log_append(&l, 1, CRAFT_ENTRY_NOOP, NULL, 0), 0);
    assert_null(log_get(&l, 2)->data.base);
    assert_int_equal(log_get(&l, 2)->type, CRAFT_ENTRY_NOOP);
    log_close(&l);
}

static void test_log_truncate_drops_suffix(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    const craft_term terms[] = {1, 1, 2, 2, 2};
    append_terms(&l, terms, 5);
    l.stable = 5;
    log_truncate(&l, 3);
    assert_int_equal(log_last_index(&l), 2);
    assert_int_equal(log_last_term(&l), 1);
    assert_int_equal(l.stable, 2);
    assert_int_equal(log_bytes(&l), 16);
    append(&l, 4, 8); /* the next append reuses index 3 with the new term */
    assert_int_equal(log_get(&l, 3)->term, 4);
    assert_int_equal(log_get(&l, 3)->index, 3);
    log_truncate(&l, 4); /* truncating at last + 1 drops nothing */
    assert_int_equal(log_last_index(&l), 3);
    log_truncate(&l, 1);
    assert_int_equal(log_last_index(&l), 0);
    assert_int_equal(log_bytes(&l), 0);
    log_close(&l);
}

static void test_log_compact_keeps_term_of_compaction_point(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    const craft_term terms[] = {1, 1, 2, 2, 3, 3};
    append_terms(&l, terms, 6);
    log_compact(&l, 3);
    assert_int_equal(log_first_index(&l), 4);
    assert_int_equal(log_last_index(&l), 6);
    assert_int_equal(log_term_at(&l, 3), 2); /* offset_term */
    assert_int_equal(log_term_at(&l, 2), 0); /* compacted: unknown */
    assert_int_equal(log_get(&l, 4)->term, 2);
    assert_int_equal(log_get(&l, 4)->index, 4);
    assert_int_equal(log_n_from(&l, 4), 3);
    assert_int_equal(log_bytes(&l), 24);
    log_compact(&l, 2); /* behind the compaction point: nothing happens */
    assert_int_equal(log_first_index(&l), 4);
    log_compact(&l, 6); /* everything */
    assert_int_equal(log_first_index(&l), 7);
    assert_int_equal(log_last_index(&l), 6);
    assert_int_equal(log_last_term(&l), 3);
    append(&l, 3, 8);
    assert_int_equal(log_get(&l, 7)->index, 7);
    log_close(&l);
}

static void test_log_compact_then_grow_slides_window(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    for (int i = 0; i < 3000; i++) {
        append(&l, 1, 16);
        if (i % 100 == 99) {
            log_compact(&l, log_last_index(&l) - 10);
        }
    }
    assert_int_equal(log_last_index(&l), 3000);
    for (craft_index i = log_first_index(&l); i <= 3000; i++) {
        assert_int_equal(log_get(&l, i)->index, i);
        assert_int_equal(((const unsigned char *)log_get(&l, i)->data.base)[0], i & 0xff);
    }
    assert_true(l.cap <= 1024); /* compacted room was reused instead of growing */
    log_close(&l);
}

static void test_log_term_first_index_binary_search(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    /* index:                  1  2  3  4  5  6  7  8  9 10 */
    const craft_term terms[] = {1, 1, 1, 4, 4, 4, 4, 6, 6, 9};
    append_terms(&l, terms, 10);
    assert_int_equal(log_term_first_index(&l, 1), 1);
    assert_int_equal(log_term_first_index(&l, 3), 1);
    assert_int_equal(log_term_first_index(&l, 4), 4);
    assert_int_equal(log_term_first_index(&l, 7), 4);
    assert_int_equal(log_term_first_index(&l, 9), 8);
    assert_int_equal(log_term_first_index(&l, 10), 10);
    log_compact(&l, 5);
    /* The search never goes below the first held entry. */
    assert_int_equal(log_term_first_index(&l, 7), 6);
    log_close(&l);
}

static void test_log_term_last_index_binary_search(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    const craft_term terms[] = {1, 1, 1, 4, 4, 4, 4, 6, 6, 9};
    append_terms(&l, terms, 10);
    assert_int_equal(log_term_last_index(&l, 1), 3);
    assert_int_equal(log_term_last_index(&l, 4), 7);
    assert_int_equal(log_term_last_index(&l, 6), 9);
    assert_int_equal(log_term_last_index(&l, 9), 10);
    assert_int_equal(log_term_last_index(&l, 2), 0); /* a term the log skips */
    assert_int_equal(log_term_last_index(&l, 5), 0);
    assert_int_equal(log_term_last_index(&l, 10), 0); /* above every term */
    assert_int_equal(log_term_last_index(&l, 0), 0);
    log_close(&l);
    struct log empty;
    log_init(&empty);
    assert_int_equal(log_term_last_index(&empty, 1), 0);
    log_close(&empty);
}

/* Many payloads smaller and bigger than a slab, truncated and compacted in between: every slab
 * is freed exactly once (ASan reports a leak or a double free otherwise) and data stays intact. */
static void test_log_slab_refcounts_do_not_leak(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    const size_t sizes[] = {1, 100, 4096, LOG_SLAB_BYTES - 1, LOG_SLAB_BYTES,
                            LOG_SLAB_BYTES + 1, 2 * LOG_SLAB_BYTES + 7, 33};
    const size_t n_sizes = sizeof sizes / sizeof sizes[0];
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < 40; i++) {
            append(&l, 1 + (craft_term)round, sizes[(i * 7 + (size_t)round) % n_sizes]);
        }
        log_truncate(&l, log_last_index(&l) - 9);
        log_compact(&l, log_first_index(&l) + 5);
    }
    for (craft_index i = log_first_index(&l); i <= log_last_index(&l); i++) {
        const struct craft_entry *e = log_get(&l, i);
        const unsigned char *p = e->data.base;
        assert_int_equal(p[0], i & 0xff);
        assert_int_equal(p[e->data.len - 1], i & 0xff);
    }
    /* Small payloads share a slab: the current slab is referenced by the log and its entries. */
    struct log s;
    log_init(&s);
    for (int i = 0; i < 10; i++) {
        append(&s, 1, 64);
    }
    assert_ptr_equal(s.slabs[0], s.slabs[9]);
    assert_int_equal(s.slab->refs, 11);
    log_truncate(&s, 6);
    assert_int_equal(s.slab->refs, 6);
    /* A payload bigger than a slab gets a slab of its own. */
    append(&s, 1, LOG_SLAB_BYTES + 1);
    assert_ptr_not_equal(s.slabs[5], s.slabs[0]);
    assert_int_equal(s.slabs[0]->refs, 5); /* no longer current: only its entries hold it */
    log_close(&s);
    log_close(&l);
}

/* A payload handed out under a ticket stays as it was after the log drops its entry, until the
 * ticket is returned; then its block is reused (poisoned here, so a late reader would see it). */
static void test_log_ticket_keeps_dropped_payloads(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    l.slab_bytes = 16; /* every 16-byte payload fills a block of its own */
    l.poison = true;
    for (int i = 0; i < 4; i++) {
        append(&l, 1, 16);
    }
    const unsigned char *held = log_get(&l, 3)->data.base;
    uint64_t t1 = log_ticket_take(&l);
    log_truncate(&l, 3); /* entries 3 and 4 go while t1 is out */
    append(&l, 2, 16);   /* a new block, not the dropped one */
    assert_int_equal(held[0], 3);
    assert_int_equal(held[15], 3);
    uint64_t t2 = log_ticket_take(&l);
    log_tickets_done(&l, t1 - 1); /* nothing returned yet */
    assert_int_equal(held[0], 3);
    log_tickets_done(&l, t1); /* the drop happened while only t1 was out: reused now */
    assert_int_not_equal(held[0], 3);
    log_tickets_done(&l, t2);
    log_close(&l);
}

/* With no ticket out, a dropped block is reused at once (nothing waits). */
static void test_log_without_tickets_reuses_at_once(void **state)
{
    (void)state;
    struct log l;
    log_init(&l);
    l.slab_bytes = 16;
    append(&l, 1, 16);
    append(&l, 1, 16);
    log_truncate(&l, 1);
    assert_null(l.retired_head);
    assert_int_equal(l.n_spares, 1);
    uint64_t t = log_ticket_take(&l);
    append(&l, 1, 16);
    append(&l, 1, 16);
    log_truncate(&l, 1);
    assert_non_null(l.retired_head); /* t may still read them */
    log_tickets_done(&l, t);
    assert_null(l.retired_head);
    log_close(&l);
}

/* Appends in runs (log_append_cmds, log_append_entries) give the same entries, payloads and slab
 * use as log_append one by one: payloads around the inline copy's sizes (16 to 64 bytes), empty
 * ones, and ones that start a slab or need one of their own, in batches of several sizes. */
static void test_log_append_runs_match_one_by_one(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 15, 16, 17, 32, 33, 48, 64, 65, 99, 100, 101, 250};
    const size_t n_sizes = sizeof sizes / sizeof sizes[0];
    static const size_t batches[] = {1, 3, 7, 50, 2, 200};
    static unsigned char data[300 * 256];
    struct log one;
    struct log cmds;
    struct log ents;
    log_init(&one);
    log_init(&cmds);
    log_init(&ents);
    one.slab_bytes = cmds.slab_bytes = ents.slab_bytes = 100;
    struct craft_buf bufs[200];
    struct craft_entry entries[200];
    size_t k = 0;
    for (size_t b = 0; b < 12; b++) {
        size_t n = batches[b % (sizeof batches / sizeof batches[0])];
        craft_term term = 1 + (craft_term)b;
        for (size_t i = 0; i < n; i++, k++) {
            size_t len = sizes[(k * 5) % n_sizes];
            unsigned char *p = data + (k % 300) * 256;
            for (size_t j = 0; j < len; j++) {
                p[j] = (unsigned char)(k * 7 + j);
            }
            uint32_t type = len == 0 ? CRAFT_ENTRY_NOOP : CRAFT_ENTRY_NORMAL;
            bufs[i] = (struct craft_buf){.base = len > 0 ? p : NULL, .len = len};
            entries[i] = (struct craft_entry){.term = term, .type = type, .data = bufs[i]};
            assert_int_equal(log_append(&one, term, type, bufs[i].base, len), 0);
        }
        size_t done = 0;
        /* The command runs carry one type: the empty payloads stand for NOOP entries here. */
        assert_int_equal(log_append_cmds(&cmds, term, CRAFT_ENTRY_NORMAL, bufs, n, &done), 0);
        assert_int_equal(done, n);
        assert_int_equal(log_append_entries(&ents, entries, n, &done), 0);
        assert_int_equal(done, n);
    }
    assert_int_equal(log_last_index(&cmds), log_last_index(&one));
    assert_int_equal(log_last_index(&ents), log_last_index(&one));
    for (craft_index i = 1; i <= log_last_index(&one); i++) {
        const struct craft_entry *a = log_get(&one, i);
        const struct craft_entry *c = log_get(&cmds, i);
        const struct craft_entry *e = log_get(&ents, i);
        assert_int_equal(c->index, i);
        assert_int_equal(e->index, i);
        assert_int_equal(c->term, a->term);
        assert_int_equal(e->term, a->term);
        assert_int_equal(e->type, a->type);
        assert_int_equal(c->data.len, a->data.len);
        assert_int_equal(e->data.len, a->data.len);
        if (a->data.len > 0) {
            assert_memory_equal(c->data.base, a->data.base, a->data.len);
            assert_memory_equal(e->data.base, a->data.base, a->data.len);
        } else {
            assert_null(c->data.base);
            assert_null(e->data.base);
        }
    }
    assert_int_equal(log_bytes(&cmds), log_bytes(&one));
    assert_int_equal(cmds.slab->used, one.slab->used);
    assert_int_equal(ents.slab->refs, one.slab->refs);
    log_compact(&one, log_last_index(&one));
    log_compact(&cmds, log_last_index(&cmds));
    log_compact(&ents, log_last_index(&ents));
    assert_int_equal(one.slab->refs, 1); /* only the log's own reference is left */
    assert_int_equal(cmds.slab->refs, 1);
    assert_int_equal(ents.slab->refs, 1);
    assert_int_equal(cmds.n_spares, one.n_spares);
    assert_int_equal(ents.n_spares, one.n_spares);
    log_close(&one);
    log_close(&cmds);
    log_close(&ents);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_empty),
        cmocka_unit_test(test_log_append_get_term_at),
        cmocka_unit_test(test_log_append_copies_payload),
        cmocka_unit_test(test_log_truncate_drops_suffix),
        cmocka_unit_test(test_log_compact_keeps_term_of_compaction_point),
        cmocka_unit_test(test_log_compact_then_grow_slides_window),
        cmocka_unit_test(test_log_term_first_index_binary_search),
        cmocka_unit_test(test_log_term_last_index_binary_search),
        cmocka_unit_test(test_log_slab_refcounts_do_not_leak),
        cmocka_unit_test(test_log_ticket_keeps_dropped_payloads),
        cmocka_unit_test(test_log_without_tickets_reuses_at_once),
        cmocka_unit_test(test_log_append_runs_match_one_by_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
