/* The write commands (Redis semantics and reply texts), run by kv_apply with the entry's time.
 * Every change goes through the journal (kv_txn_*), so an allocation failure anywhere in an
 * entry can be taken back; a handler returns CRAFT_ENOMEM and its reply is then discarded. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kv_internal.h"
#include "util/int_parse.h"
#include "util/assert.h"

#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"

/* The live item named key, or NULL (an expired one is absent for every command). */
static struct kv_item *live(struct kv_store *s, const char *key, size_t n, uint64_t now_ms)
{
    struct kv_item *it = kv_table_get(&s->t, key, n);
    return it != NULL && kv_item_live(it, now_ms) ? it : NULL;
}

static void reply_value(struct resp_reply *r, const struct kv_item *it)
{
    if (it == NULL) {
        resp_reply_null(r);
    } else {
        resp_reply_bulk(r, it->val, it->val_len);
    }
}

/* The absolute expiry for a value given in unit_ms (1 or 1000) and relative to now_ms (or
 * absolute: base 0). False when not positive or out of range (Redis's checks, in order). */
static bool set_expiry(int64_t v, int64_t unit_ms, bool relative, uint64_t now_ms, uint64_t *at)
{
    if (v <= 0 || v > INT64_MAX / unit_ms) {
        return false;
    }
    v *= unit_ms;
    if (relative) {
        if (now_ms > (uint64_t)INT64_MAX || (uint64_t)v > (uint64_t)INT64_MAX - now_ms) {
            return false;
        }
        v += (int64_t)now_ms;
    }
    *at = (uint64_t)v;
    return true;
}

enum {
    SET_NX = 1,
    SET_XX = 2,
    SET_GET = 4,
    SET_KEEPTTL = 8,
    SET_EX = 16,
    SET_PX = 32,
    SET_EXAT = 64,
    SET_PXAT = 128,
};
#define SET_EXPIRY (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

/* SET's options (Redis's parseExtendedStringArgumentsOrReply): flags and the expiry argument's
 * index. False (and a syntax error replied) on a bad or conflicting option. */
static bool set_options(int argc, const char *const *argv, const size_t *lens, int *flags,
                        int *expire_arg, struct resp_reply *r)
{
    static const char *const units[] = {"ex", "px", "exat", "pxat"};
    for (int j = 3; j < argc; j++) {
        const char *a = argv[j];
        size_t n = lens[j];
        int unit = 0;
        for (int u = 0; u < 4; u++) {
            if (kv_word_is(a, n, units[u])) {
                unit = SET_EX << u;
            }
        }
        if (kv_word_is(a, n, "nx") && !(*flags & SET_XX)) {
            *flags |= SET_NX;
        } else if (kv_word_is(a, n, "xx") && !(*flags & SET_NX)) {
            *flags |= SET_XX;
        } else if (kv_word_is(a, n, "get")) {
            *flags |= SET_GET;
        } else if (kv_word_is(a, n, "keepttl") && !(*flags & SET_EXPIRY)) {
            *flags |= SET_KEEPTTL;
        } else if (unit != 0 && !(*flags & SET_KEEPTTL) && !(*flags & (SET_EXPIRY & ~unit)) &&
                   j + 1 < argc) {
            *flags |= unit;
            *expire_arg = ++j;
        } else {
            resp_reply_error(r, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

int kv_write_set(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                 const size_t *lens, struct resp_reply *r)
{
    int flags = 0;
    int ea = 0;
    uint64_t at = 0;
    if (!set_options(argc, argv, lens, &flags, &ea, r)) {
        return 0;
    }
    if (ea != 0) {
        int64_t v;
        if (!int_parse_i64(argv[ea], lens[ea], &v)) {
            resp_reply_error(r, ERR_NOT_INT);
            return 0;
        }
        bool seconds = (flags & (SET_EX | SET_EXAT)) != 0;
        if (!set_expiry(v, seconds ? 1000 : 1, (flags & (SET_EX | SET_PX)) != 0, now_ms, &at)) {
            resp_reply_error(r, "ERR invalid expire time in 'set' command");
            return 0;
        }
    }
    struct kv_item *old = live(s, argv[1], lens[1], now_ms);
    if (((flags & SET_NX) && old != NULL) || ((flags & SET_XX) && old == NULL)) {
        reply_value(r, (flags & SET_GET) ? old : NULL);
        return 0;
    }
    if (flags & SET_GET) {
        reply_value(r, old); /* before the set changes it */
    }
    if (flags & SET_KEEPTTL) {
        at = old != NULL ? old->expire_ms : 0;
    }
    int rv;
    if (at != 0 && at <= now_ms) {
        /* EXAT/PXAT in the past: the key is set and expires at once, i.e. it is gone. */
        struct kv_item *it = kv_table_get(&s->t, argv[1], lens[1]);
        rv = it != NULL ? kv_txn_delete(s, it) : 0;
    } else {
        rv = kv_txn_put(s, argv[1], lens[1], argv[2], lens[2], at);
    }
    if (rv == 0 && !(flags & SET_GET)) {
        resp_reply_simple(r, "OK");
    }
    return rv;
}

int kv_write_getset(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                    const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    reply_value(r, live(s, argv[1], lens[1], now_ms));
    return kv_txn_put(s, argv[1], lens[1], argv[2], lens[2], 0);
}

int kv_write_setnx(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                   const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    if (live(s, argv[1], lens[1], now_ms) != NULL) {
        resp_reply_integer(r, 0);
        return 0;
    }
    int rv = kv_txn_put(s, argv[1], lens[1], argv[2], lens[2], 0);
    resp_reply_integer(r, 1);
    return rv;
}

int kv_write_del(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                 const size_t *lens, struct resp_reply *r)
{
    int64_t n = 0;
    for (int i = 1; i < argc; i++) {
        struct kv_item *it = kv_table_get(&s->t, argv[i], lens[i]);
        if (it == NULL) {
            continue;
        }
        n += kv_item_live(it, now_ms) ? 1 : 0;
        int rv = kv_txn_delete(s, it);
        if (rv != 0) {
            return rv;
        }
    }
    resp_reply_integer(r, n);
    return 0;
}

int kv_write_append(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                    const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    struct kv_item *it = live(s, argv[1], lens[1], now_ms);
    size_t len = (it != NULL ? it->val_len : 0) + lens[2];
    if (len > KV_BLOB_MAX) {
        resp_reply_error(r, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return 0;
    }
    int rv = it != NULL ? kv_txn_append(s, it, argv[2], lens[2])
                        : kv_txn_put(s, argv[1], lens[1], argv[2], lens[2], 0);
    resp_reply_integer(r, (int64_t)len);
    return rv;
}

/* INCR, INCRBY, DECR, DECRBY: adds by to the key's integer value (0 when absent), keeping its
 * expiry (Redis changes the value in place). */
static int add_to(struct kv_store *s, uint64_t now_ms, const char *key, size_t klen, int64_t by,
                  struct resp_reply *r)
{
    struct kv_item *it = live(s, key, klen, now_ms);
    int64_t v = 0;
    if (it != NULL && !int_parse_i64(it->val, it->val_len, &v)) {
        resp_reply_error(r, ERR_NOT_INT);
        return 0;
    }
    if ((by < 0 && v < 0 && by < INT64_MIN - v) || (by > 0 && v > 0 && by > INT64_MAX - v)) {
        resp_reply_error(r, "ERR increment or decrement would overflow");
        return 0;
    }
    v += by;
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRId64, v);
    CRAFT_ASSERT(n > 0);
    CRAFT_ASSERT((size_t)n < sizeof buf);
    int rv = it != NULL ? kv_txn_set_value(s, it, buf, (size_t)n)
                        : kv_txn_put(s, key, klen, buf, (size_t)n, 0);
    resp_reply_integer(r, v);
    return rv;
}

int kv_write_incr(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                  const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    return add_to(s, now_ms, argv[1], lens[1], 1, r);
}

int kv_write_decr(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                  const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    return add_to(s, now_ms, argv[1], lens[1], -1, r);
}

/* INCRBY's and DECRBY's amount; false (and the error replied) when it is not an integer. */
static bool amount(const char *p, size_t n, int64_t *by, struct resp_reply *r)
{
    if (!int_parse_i64(p, n, by)) {
        resp_reply_error(r, ERR_NOT_INT);
        return false;
    }
    return true;
}

int kv_write_incrby(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                    const size_t *lens, struct resp_reply *r)
{
    int64_t by;
    (void)argc;
    return amount(argv[2], lens[2], &by, r) ? add_to(s, now_ms, argv[1], lens[1], by, r) : 0;
}

int kv_write_decrby(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                    const size_t *lens, struct resp_reply *r)
{
    int64_t by;
    (void)argc;
    if (!amount(argv[2], lens[2], &by, r)) {
        return 0;
    }
    if (by == INT64_MIN) {
        resp_reply_error(r, "ERR decrement would overflow");
        return 0;
    }
    return add_to(s, now_ms, argv[1], lens[1], -by, r);
}

int kv_write_mset(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                  const size_t *lens, struct resp_reply *r)
{
    (void)now_ms;
    if (argc % 2 == 0) {
        resp_reply_error(r, "ERR wrong number of arguments for 'mset' command");
        return 0;
    }
    for (int i = 1; i < argc; i += 2) {
        int rv = kv_txn_put(s, argv[i], lens[i], argv[i + 1], lens[i + 1], 0);
        if (rv != 0) {
            return rv;
        }
    }
    resp_reply_simple(r, "OK");
    return 0;
}

enum { EXPIRE_NX = 1, EXPIRE_XX = 2, EXPIRE_GT = 4, EXPIRE_LT = 8 };

/* EXPIRE's NX/XX/GT/LT (Redis's parseExtendedExpireArgumentsOrReply). */
static bool expire_options(int argc, const char *const *argv, const size_t *lens, int *flags,
                           struct resp_reply *r)
{
    static const char *const words[] = {"nx", "xx", "gt", "lt"};
    for (int j = 3; j < argc; j++) {
        int f = 0;
        for (int w = 0; w < 4; w++) {
            if (kv_word_is(argv[j], lens[j], words[w])) {
                f = 1 << w;
            }
        }
        if (f == 0) {
            resp_reply_errorf(r, "ERR Unsupported option %.*s", (int)lens[j], argv[j]);
            return false;
        }
        *flags |= f;
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        resp_reply_error(r, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return false;
    }
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
        resp_reply_error(r, "ERR GT and LT options at the same time are not compatible");
        return false;
    }
    return true;
}

/* Whether the flags let an expiry change from cur (0: none) to at (Redis: no expiry is an
 * infinite TTL for GT and LT). */
static bool expire_allowed(int flags, uint64_t cur, int64_t at)
{
    if ((flags & EXPIRE_NX) && cur != 0) {
        return false;
    }
    if ((flags & EXPIRE_XX) && cur == 0) {
        return false;
    }
    if ((flags & EXPIRE_GT) && (cur == 0 || at <= (int64_t)cur)) {
        return false;
    }
    if ((flags & EXPIRE_LT) && cur != 0 && at >= (int64_t)cur) {
        return false;
    }
    return true;
}

/* EXPIRE and PEXPIRE (Redis's expireGenericCommand): a time in the past deletes the key. */
static int expire_generic(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                          const size_t *lens, int64_t unit_ms, struct resp_reply *r)
{
    int flags = 0;
    int64_t at;
    if (!expire_options(argc, argv, lens, &flags, r)) {
        return 0;
    }
    if (!int_parse_i64(argv[2], lens[2], &at)) {
        resp_reply_error(r, ERR_NOT_INT);
        return 0;
    }
    if (at > INT64_MAX / unit_ms || at < INT64_MIN / unit_ms ||
        at * unit_ms > INT64_MAX - (int64_t)(now_ms & INT64_MAX)) {
        resp_reply_errorf(r, "ERR invalid expire time in '%s' command",
                          unit_ms == 1 ? "pexpire" : "expire");
        return 0;
    }
    at = at * unit_ms + (int64_t)(now_ms & INT64_MAX);
    struct kv_item *it = live(s, argv[1], lens[1], now_ms);
    if (it == NULL || !expire_allowed(flags, it->expire_ms, at)) {
        resp_reply_integer(r, 0);
        return 0;
    }
    int rv = at <= (int64_t)now_ms ? kv_txn_delete(s, it) : kv_txn_expire(s, it, (uint64_t)at);
    resp_reply_integer(r, 1);
    return rv;
}

int kv_write_expire(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                    const size_t *lens, struct resp_reply *r)
{
    return expire_generic(s, now_ms, argc, argv, lens, 1000, r);
}

int kv_write_pexpire(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                     const size_t *lens, struct resp_reply *r)
{
    return expire_generic(s, now_ms, argc, argv, lens, 1, r);
}

int kv_write_persist(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                     const size_t *lens, struct resp_reply *r)
{
    (void)argc;
    struct kv_item *it = live(s, argv[1], lens[1], now_ms);
    if (it == NULL || it->expire_ms == 0) {
        resp_reply_integer(r, 0);
        return 0;
    }
    int rv = kv_txn_expire(s, it, 0);
    resp_reply_integer(r, 1);
    return rv;
}

int kv_write_flushdb(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                     const size_t *lens, struct resp_reply *r)
{
    (void)now_ms;
    if (argc > 2 || (argc == 2 && !kv_word_is(argv[1], lens[1], "async") &&
                     !kv_word_is(argv[1], lens[1], "sync"))) {
        resp_reply_error(r, ERR_SYNTAX);
        return 0;
    }
    int rv = kv_txn_flush(s);
    resp_reply_simple(r, "OK");
    return rv;
}

/* raft.advertise <node-id> <client-address>: the node directory (kv_store_node_address). */
int kv_write_advertise(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                       const size_t *lens, struct resp_reply *r)
{
    int64_t id;
    (void)now_ms;
    (void)argc;
    if (!int_parse_i64(argv[1], lens[1], &id) || id <= 0) {
        resp_reply_error(r, "ERR invalid node id");
        return 0;
    }
    if (lens[2] == 0 || lens[2] > KV_ADDR_MAX || memchr(argv[2], '\0', lens[2]) != NULL) {
        resp_reply_error(r, "ERR invalid address");
        return 0;
    }
    int rv = kv_txn_advertise(s, (uint64_t)id, argv[2], lens[2]);
    resp_reply_simple(r, "OK");
    return rv;
}
