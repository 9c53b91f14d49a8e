/* The read commands (Redis semantics and reply texts), run by kv_read on a replica's store as
 * of a wall-clock time, and by kv_apply inside an entry (a MULTI that also writes) as of the
 * entry's store time. SCAN walks the table with the reverse-binary cursor (kv_table.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_internal.h"
#include "util/int_parse.h"
#include "util/assert.h"

void kv_read(const struct kv_store *s, int argc, const char *const *argv, const size_t *lens,
             uint64_t now_ms, struct resp_reply *reply)
{
    kv_read_fn fn = kv_read_find(argv[0], lens[0]);
    CRAFT_ASSERT(fn != NULL);
    /* A replica's clock may lag the leader's: keys a write already saw expire stay expired. */
    fn(s, now_ms > s->now_ms ? now_ms : s->now_ms, argc, argv, lens, reply);
}

void kv_read_get(const struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                 const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    const struct kv_item *it = kv_store_lookup(s, argv[1], lens[1], now_ms);
    if (it == NULL) {
        resp_reply_null(r);
    } else {
        resp_reply_bulk(r, it->val, it->val_len);
    }
}

void kv_read_mget(const struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                  const size_t *lens, struct resp_reply *r)
{
    resp_reply_array(r, argc - 1);
    for (int i = 1; i < argc; i++) {
        kv_read_get(s, now_ms, 2, argv + i - 1, lens + i - 1, r);
    }
}

void kv_read_exists(const struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                    const size_t *lens, struct resp_reply *r)
{
    int64_t n = 0;
    for (int i = 1; i < argc; i++) {
        n += kv_store_lookup(s, argv[i], lens[i], now_ms) != NULL ? 1 : 0;
    }
    resp_reply_integer(r, n);
}

void kv_read_strlen(const struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                    const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    const struct kv_item *it = kv_store_lookup(s, argv[1], lens[1], now_ms);
    resp_reply_integer(r, it != NULL ? (int64_t)it->val_len : 0);
}

void kv_read_type(const struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                  const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    bool found = kv_store_lookup(s, argv[1], lens[1], now_ms) != NULL;
    resp_reply_simple(r, found ? "string" : "none");
}

/* TTL and PTTL: -2 absent, -1 no expiry, else what is left (seconds rounded as Redis does). */
static void ttl(const struct kv_store *s, uint64_t now_ms, const char *key, size_t n, bool ms,
                struct resp_reply *r)
{
    const struct kv_item *it = kv_store_lookup(s, key, n, now_ms);
    if (it == NULL) {
        resp_reply_integer(r, -2);
    } else if (it->expire_ms == 0) {
        resp_reply_integer(r, -1);
    } else {
        uint64_t left = it->expire_ms - now_ms;
        resp_reply_integer(r, (int64_t)(ms ? left : (left + 500) / 1000));
    }
}

void kv_read_ttl(const struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                 const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    ttl(s, now_ms, argv[1], lens[1], false, r);
}

void kv_read_pttl(const struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                  const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    ttl(s, now_ms, argv[1], lens[1], true, r);
}

/* Live keys matching pat (NULL: all) in bucket b: counted, and replied unless count_only. */
static int64_t bucket_keys(const struct kv_store *s, size_t b, uint64_t now_ms, const char *pat,
                           size_t plen, bool count_only, struct resp_reply *r)
{
    int64_t n = 0;
    for (const struct kv_item *it = s->t.buckets[b]; it != NULL; it = it->next) {
        if (!kv_item_live(it, now_ms) ||
            (pat != NULL && !kv_glob_match(pat, plen, it->key, it->key_len))) {
            continue;
        }
        n++;
        if (!count_only) {
            resp_reply_bulk(r, it->key, it->key_len);
        }
    }
    return n;
}

void kv_read_dbsize(const struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                    const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    (void)argv;
    (void)lens;
    int64_t n = 0;
    for (size_t b = 0; b <= s->t.mask; b++) {
        n += bucket_keys(s, b, now_ms, NULL, 0, true, r);
    }
    resp_reply_integer(r, n);
}

void kv_read_keys(const struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                  const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    bool all = lens[1] == 1 && argv[1][0] == '*';
    const char *pat = all ? NULL : argv[1];
    int64_t n = 0;
    for (size_t b = 0; b <= s->t.mask; b++) {
        n += bucket_keys(s, b, now_ms, pat, lens[1], true, r);
    }
    resp_reply_array(r, n);
    for (size_t b = 0; b <= s->t.mask; b++) {
        bucket_keys(s, b, now_ms, pat, lens[1], false, r);
    }
}

/* SCAN's cursor: a decimal unsigned 64-bit number, nothing else (Redis's parseScanCursor). */
static bool parse_cursor(const char *p, size_t n, uint64_t *cursor)
{
    char buf[24];
    if (n == 0 || n >= sizeof buf || p[0] == '-' || p[0] == '+' || p[0] == ' ') {
        return false;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *cursor = v;
    return true;
}

struct scan_args {
    uint64_t cursor;
    int64_t count;
    const char *pat; /* NULL: every key */
    size_t plen;
    bool no_type; /* TYPE other than string: nothing can match */
};

static bool scan_options(int argc, const char *const *argv, const size_t *lens, struct scan_args *a,
                         struct resp_reply *r)
{
    if (!parse_cursor(argv[1], lens[1], &a->cursor)) {
        resp_reply_error(r, "ERR invalid cursor");
        return false;
    }
    for (int j = 2; j < argc; j += 2) {
        if (j + 1 >= argc) {
            resp_reply_error(r, "ERR syntax error");
            return false;
        }
        if (kv_word_is(argv[j], lens[j], "count")) {
            if (!int_parse_i64(argv[j + 1], lens[j + 1], &a->count)) {
                resp_reply_error(r, "ERR value is not an integer or out of range");
                return false;
            }
            if (a->count < 1) {
                resp_reply_error(r, "ERR syntax error");
                return false;
            }
        } else if (kv_word_is(argv[j], lens[j], "match")) {
            bool all = lens[j + 1] == 1 && argv[j + 1][0] == '*';
            a->pat = all ? NULL : argv[j + 1];
            a->plen = lens[j + 1];
        } else if (kv_word_is(argv[j], lens[j], "type")) {
            a->no_type = !kv_word_is(argv[j + 1], lens[j + 1], "string");
        } else {
            resp_reply_error(r, "ERR syntax error");
            return false;
        }
    }
    return true;
}

/* Guarantee (Redis's): a full walk (cursor 0 back to 0) returns every key live from its start
 * to its end at least once, across any number of doublings or FLUSHDB/restore resizes between
 * calls; a key may be returned more than once (after a shrink); keys added or removed during
 * the walk may or may not be. COUNT is a hint: buckets are returned whole. */
void kv_read_scan(const struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                  const size_t *lens, struct resp_reply *r)
{
    struct scan_args a = {.count = 10};
    if (!scan_options(argc, argv, lens, &a, r)) {
        return;
    }
    /* Two passes over the same buckets: count the keys, then reply them. */
    uint64_t c = a.cursor;
    int64_t n = 0;
    /* Redis's bound on the buckets visited per call: ten per key asked for. */
    int64_t steps = a.count > INT64_MAX / 10 ? INT64_MAX : a.count * 10;
    do {
        if (!a.no_type) {
            n += bucket_keys(s, c & s->t.mask, now_ms, a.pat, a.plen, true, r);
        }
        c = kv_cursor_next(c, s->t.mask);
    } while (c != 0 && steps-- > 0 && n < a.count);
    char buf[24];
    int len = snprintf(buf, sizeof buf, "%" PRIu64, c);
    resp_reply_array(r, 2);
    resp_reply_bulk(r, buf, (size_t)len);
    resp_reply_array(r, n);
    /* The same visits again: the cursor's path from a.cursor reaches c without repeating. */
    uint64_t b = a.cursor;
    do {
        if (!a.no_type) {
            bucket_keys(s, b & s->t.mask, now_ms, a.pat, a.plen, false, r);
        }
        b = kv_cursor_next(b, s->t.mask);
    } while (b != c);
}
