/* The key table: chained buckets in a power-of-two array that doubles when full (one O(n)
 * rehash per doubling, never a shrink but FLUSHDB's reset), its reverse-binary cursor, and the
 * undo journal that lets kv_apply take back a half-applied entry when an allocation fails. */
#include <string.h>

#include "kv_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

/* FNV-1a with a final avalanche (murmur3's fmix64), so the low bits that pick a bucket depend
 * on every byte. Fixed, not seeded: every replica lays out its table the same way. */
uint64_t kv_hash(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

int kv_table_init(struct kv_table *t)
{
    t->buckets = craft_calloc(KV_TABLE_MIN, sizeof *t->buckets);
    if (t->buckets == NULL) {
        return CRAFT_ENOMEM;
    }
    t->mask = KV_TABLE_MIN - 1;
    t->n_items = 0;
    t->n_bytes = 0;
    t->n_expires = 0;
    return 0;
}

void kv_table_close(struct kv_table *t)
{
    if (t->buckets == NULL) {
        return;
    }
    for (size_t i = 0; i <= t->mask; i++) {
        struct kv_item *it = t->buckets[i];
        while (it != NULL) {
            struct kv_item *next = it->next;
            kv_item_free(it);
            it = next;
        }
    }
    craft_free(t->buckets);
    t->buckets = NULL;
    t->n_items = 0;
    t->n_bytes = 0;
    t->n_expires = 0;
}

struct kv_item *kv_item_create(const char *key, size_t klen, const char *val, size_t vlen,
                               uint64_t expire_ms)
{
    /* One allocation for the item, its key and its first value: a SET allocates once. */
    if (vlen > SIZE_MAX - sizeof(struct kv_item) - klen) {
        return NULL;
    }
    struct kv_item *it = craft_malloc(sizeof *it + klen + vlen);
    if (it == NULL) {
        return NULL;
    }
    it->next = NULL;
    it->hash = kv_hash(key, klen);
    it->expire_ms = expire_ms;
    it->key_len = klen;
    it->val = it->key + klen;
    it->val_len = vlen;
    it->val_cap = vlen;
    if (klen > 0) {
        memcpy(it->key, key, klen);
    }
    if (vlen > 0) {
        memcpy(it->val, val, vlen);
    }
    return it;
}

bool kv_item_value_inline(const struct kv_item *it, const char *val)
{
    return val == it->key + it->key_len;
}

void kv_item_free(struct kv_item *it)
{
    if (it != NULL) {
        if (!kv_item_value_inline(it, it->val)) {
            craft_free(it->val);
        }
        craft_free(it);
    }
}

bool kv_item_live(const struct kv_item *it, uint64_t now_ms)
{
    return it->expire_ms == 0 || it->expire_ms > now_ms;
}

struct kv_item *kv_table_get(const struct kv_table *t, const char *key, size_t n)
{
    uint64_t h = kv_hash(key, n);
    for (struct kv_item *it = t->buckets[h & t->mask]; it != NULL; it = it->next) {
        if (it->hash == h && it->key_len == n && memcmp(it->key, key, n) == 0) {
            return it;
        }
    }
    return NULL;
}

const struct kv_item *kv_store_lookup(const struct kv_store *s, const char *key, size_t n,
                                      uint64_t now_ms)
{
    const struct kv_item *it = kv_table_get(&s->t, key, n);
    return it != NULL && kv_item_live(it, now_ms) ? it : NULL;
}

/* Doubles t's buckets; on allocation failure t stays as it is (longer chains, still right). */
static void grow(struct kv_table *t)
{
    size_t n = (t->mask + 1) * 2;
    struct kv_item **b = craft_calloc(n, sizeof *b);
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i <= t->mask; i++) {
        struct kv_item *it = t->buckets[i];
        while (it != NULL) {
            struct kv_item *next = it->next;
            it->next = b[it->hash & (n - 1)];
            b[it->hash & (n - 1)] = it;
            it = next;
        }
    }
    craft_free(t->buckets);
    t->buckets = b;
    t->mask = n - 1;
}

void kv_table_link(struct kv_table *t, struct kv_item *it)
{
    CRAFT_ASSERT(it->next == NULL);
    if (t->n_items >= (uint64_t)(t->mask + 1) * KV_TABLE_LOAD) {
        grow(t);
    }
    struct kv_item **b = &t->buckets[it->hash & t->mask];
    it->next = *b;
    *b = it;
    t->n_items++;
    t->n_bytes += it->key_len + it->val_len;
    if (it->expire_ms != 0) {
        t->n_expires++;
    }
}

static void unlink_item(struct kv_table *t, struct kv_item *it)
{
    struct kv_item **p = &t->buckets[it->hash & t->mask];
    while (*p != it) {
        CRAFT_ASSERT(*p != NULL);
        p = &(*p)->next;
    }
    *p = it->next;
    it->next = NULL;
    CRAFT_ASSERT(t->n_items > 0);
    t->n_items--;
    t->n_bytes -= it->key_len + it->val_len;
    if (it->expire_ms != 0) {
        CRAFT_ASSERT(t->n_expires > 0);
        t->n_expires--;
    }
}

/* The expiry of it, an item in t, changes to expire_ms: the count follows. */
static void set_expire(struct kv_table *t, struct kv_item *it, uint64_t expire_ms)
{
    if (it->expire_ms != 0) {
        CRAFT_ASSERT(t->n_expires > 0);
        t->n_expires--;
    }
    it->expire_ms = expire_ms;
    if (expire_ms != 0) {
        t->n_expires++;
    }
    CRAFT_ASSERT(t->n_expires <= t->n_items);
}

int kv_txn_reserve(struct kv_store *s)
{
    void *p = s->undo;
    if (!craft_grow(&p, &s->undo_cap, s->n_undo + 1, sizeof *s->undo)) {
        return CRAFT_ENOMEM;
    }
    s->undo = p;
    return 0;
}

struct kv_undo *kv_txn_push(struct kv_store *s)
{
    CRAFT_ASSERT(s->n_undo < s->undo_cap);
    struct kv_undo *u = &s->undo[s->n_undo++];
    memset(u, 0, sizeof *u);
    return u;
}

int kv_txn_put(struct kv_store *s, const char *key, size_t klen, const char *val, size_t vlen,
               uint64_t expire_ms)
{
    if (kv_txn_reserve(s) != 0) {
        return CRAFT_ENOMEM;
    }
    struct kv_item *it = kv_item_create(key, klen, val, vlen, expire_ms);
    if (it == NULL) {
        return CRAFT_ENOMEM;
    }
    struct kv_item *old = kv_table_get(&s->t, key, klen);
    if (old != NULL) {
        unlink_item(&s->t, old);
    }
    kv_table_link(&s->t, it);
    struct kv_undo *u = kv_txn_push(s);
    u->kind = KV_UNDO_REPLACE;
    u->item = it;
    u->old = old;
    return 0;
}

int kv_txn_delete(struct kv_store *s, struct kv_item *it)
{
    if (kv_txn_reserve(s) != 0) {
        return CRAFT_ENOMEM;
    }
    unlink_item(&s->t, it);
    struct kv_undo *u = kv_txn_push(s);
    u->kind = KV_UNDO_REPLACE;
    u->old = it;
    return 0;
}

/* Room to grow a value to need bytes: doubling below 1 MiB, +1 MiB above (as Redis's sds). */
static size_t value_cap_for(size_t need)
{
    return need < (1u << 20) ? need * 2 : need + (1u << 20);
}

int kv_txn_append(struct kv_store *s, struct kv_item *it, const char *p, size_t n)
{
    if (kv_txn_reserve(s) != 0) {
        return CRAFT_ENOMEM;
    }
    size_t need = it->val_len + n;
    struct kv_undo *u;
    if (need <= it->val_cap) {
        if (n > 0) {
            memcpy(it->val + it->val_len, p, n);
        }
        u = kv_txn_push(s);
        u->kind = KV_UNDO_TRUNCATE;
    } else {
        size_t cap = value_cap_for(need);
        char *v = craft_malloc(cap);
        if (v == NULL) {
            return CRAFT_ENOMEM;
        }
        if (it->val_len > 0) {
            memcpy(v, it->val, it->val_len);
        }
        memcpy(v + it->val_len, p, n);
        u = kv_txn_push(s);
        u->kind = KV_UNDO_VALUE;
        u->old_val = it->val;
        u->old_cap = it->val_cap;
        it->val = v;
        it->val_cap = cap;
    }
    u->item = it;
    u->old_len = it->val_len;
    it->val_len = need;
    s->t.n_bytes += n;
    return 0;
}

int kv_txn_set_value(struct kv_store *s, struct kv_item *it, const char *p, size_t n)
{
    if (kv_txn_reserve(s) != 0) {
        return CRAFT_ENOMEM;
    }
    char *v = NULL;
    if (n > 0) {
        v = craft_malloc(n);
        if (v == NULL) {
            return CRAFT_ENOMEM;
        }
        memcpy(v, p, n);
    }
    struct kv_undo *u = kv_txn_push(s);
    u->kind = KV_UNDO_VALUE;
    u->item = it;
    u->old_val = it->val;
    u->old_len = it->val_len;
    u->old_cap = it->val_cap;
    s->t.n_bytes = s->t.n_bytes - it->val_len + n;
    it->val = v;
    it->val_len = n;
    it->val_cap = n;
    return 0;
}

int kv_txn_expire(struct kv_store *s, struct kv_item *it, uint64_t expire_ms)
{
    if (kv_txn_reserve(s) != 0) {
        return CRAFT_ENOMEM;
    }
    struct kv_undo *u = kv_txn_push(s);
    u->kind = KV_UNDO_EXPIRE;
    u->item = it;
    u->old_expire = it->expire_ms;
    set_expire(&s->t, it, expire_ms);
    return 0;
}

int kv_txn_flush(struct kv_store *s)
{
    struct kv_table fresh;
    if (kv_txn_reserve(s) != 0 || kv_table_init(&fresh) != 0) {
        return CRAFT_ENOMEM;
    }
    struct kv_undo *u = kv_txn_push(s);
    u->kind = KV_UNDO_FLUSH;
    u->table = s->t;
    s->t = fresh;
    return 0;
}

void kv_txn_commit(struct kv_store *s)
{
    for (size_t i = 0; i < s->n_undo; i++) {
        struct kv_undo *u = &s->undo[i];
        switch (u->kind) {
        case KV_UNDO_REPLACE:
            kv_item_free(u->old);
            break;
        case KV_UNDO_VALUE:
            /* u->item is alive: only a later record of this entry could free it. */
            if (!kv_item_value_inline(u->item, u->old_val)) {
                craft_free(u->old_val);
            }
            break;
        case KV_UNDO_FLUSH:
            kv_table_close(&u->table);
            break;
        case KV_UNDO_NODE:
            craft_free(u->old_addr);
            break;
        default:
            break;
        }
    }
    s->n_undo = 0;
}

/* Takes back one change; the records after it are already undone. */
static void undo_one(struct kv_store *s, struct kv_undo *u)
{
    struct kv_item *it = u->item;
    switch (u->kind) {
    case KV_UNDO_REPLACE:
        if (it != NULL) {
            unlink_item(&s->t, it);
            kv_item_free(it);
        }
        if (u->old != NULL) {
            kv_table_link(&s->t, u->old);
        }
        break;
    case KV_UNDO_VALUE:
        s->t.n_bytes = s->t.n_bytes - it->val_len + u->old_len;
        CRAFT_ASSERT(!kv_item_value_inline(it, it->val)); /* a swapped-in value is its own */
        craft_free(it->val);
        it->val = u->old_val;
        it->val_len = u->old_len;
        it->val_cap = u->old_cap;
        break;
    case KV_UNDO_TRUNCATE:
        s->t.n_bytes -= it->val_len - u->old_len;
        it->val_len = u->old_len;
        break;
    case KV_UNDO_EXPIRE:
        set_expire(&s->t, it, u->old_expire);
        break;
    case KV_UNDO_FLUSH:
        kv_table_close(&s->t);
        s->t = u->table;
        break;
    case KV_UNDO_NODE:
        kv_nodes_rollback(&s->nodes, u);
        break;
    default:
        CRAFT_ASSERT(0);
    }
}

void kv_txn_rollback(struct kv_store *s)
{
    while (s->n_undo > 0) {
        undo_one(s, &s->undo[--s->n_undo]);
    }
}

/* Reverses the bits of a 64-bit word. */
static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
    v = ((v >> 8) & 0x00ff00ff00ff00ffull) | ((v & 0x00ff00ff00ff00ffull) << 8);
    v = ((v >> 16) & 0x0000ffff0000ffffull) | ((v & 0x0000ffff0000ffffull) << 16);
    return (v >> 32) | (v << 32);
}

/* Redis's dictScan step: increments the cursor's reversed bits under the mask, so buckets are
 * visited in an order where a doubling (or halving) between two steps never skips a bucket
 * that holds keys present all along (a halving may return some twice). */
uint64_t kv_cursor_next(uint64_t cursor, size_t mask)
{
    cursor |= ~(uint64_t)mask;
    cursor = rev64(cursor);
    cursor++;
    return rev64(cursor);
}

void kv_table_sweep(struct kv_store *s, uint64_t now_ms)
{
    struct kv_table *t = &s->t;
    /* Only an item with an expiry can be expired: with none, the buckets need no visit (a
     * profile of SETs without TTLs showed this walk at 3-7% of craftd's CPU). */
    for (unsigned i = 0; i < KV_SWEEP_BUCKETS && t->n_expires > 0; i++) {
        struct kv_item **p = &t->buckets[s->sweep_pos & t->mask];
        while (*p != NULL) {
            struct kv_item *it = *p;
            if (kv_item_live(it, now_ms)) {
                p = &it->next;
                continue;
            }
            *p = it->next;
            CRAFT_ASSERT(t->n_items > 0);
            CRAFT_ASSERT(t->n_expires > 0); /* not live: it has an expiry */
            t->n_items--;
            t->n_expires--;
            t->n_bytes -= it->key_len + it->val_len;
            kv_item_free(it);
        }
        s->sweep_pos = kv_cursor_next(s->sweep_pos, t->mask);
    }
}

bool kv_table_check(const struct kv_table *t)
{
    uint64_t items = 0, bytes = 0, expires = 0;
    for (size_t b = 0; b <= t->mask; b++) {
        for (const struct kv_item *it = t->buckets[b]; it != NULL; it = it->next) {
            if ((it->hash & t->mask) != b) {
                return false;
            }
            items++;
            bytes += it->key_len + it->val_len;
            expires += it->expire_ms != 0 ? 1 : 0;
        }
    }
    return items == t->n_items && bytes == t->n_bytes && expires == t->n_expires;
}
