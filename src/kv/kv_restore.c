/* Restoring the store from a snapshot (kv_snapshot.h): every record is checked as it is read
 * into a state built aside (lengths, duplicates, order, counts, the CRC-32C, nothing after the
 * end); only a snapshot that passes replaces the store's state. */
#include <string.h>

#include "kv/kv_snapshot.h"
#include "kv_internal.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

struct in {
    kv_stream_read_fn read;
    void *ctx;
    unsigned char *buf; /* owned; KV_SNAPSHOT_CHUNK bytes */
    size_t pos;
    size_t len;
    uint32_t crc; /* of every byte taken so far */
};

/* Exactly n bytes into p (NULL: skipped), or CRAFT_ECORRUPT when the stream ends first. */
static int take(struct in *in, void *p, size_t n)
{
    unsigned char *d = p;
    while (n > 0) {
        if (in->pos == in->len) {
            size_t got = 0;
            int rv = in->read(in->ctx, in->buf, KV_SNAPSHOT_CHUNK, &got);
            if (rv != 0) {
                return rv;
            }
            if (got == 0) {
                return CRAFT_ECORRUPT; /* torn */
            }
            CRAFT_ASSERT(got <= KV_SNAPSHOT_CHUNK);
            in->pos = 0;
            in->len = got;
        }
        size_t k = in->len - in->pos < n ? in->len - in->pos : n;
        in->crc = crc32c(in->crc, in->buf + in->pos, k);
        if (d != NULL) {
            memcpy(d, in->buf + in->pos, k);
            d += k;
        }
        in->pos += k;
        n -= k;
    }
    return 0;
}

static int take_u32(struct in *in, uint32_t *v)
{
    unsigned char b[4];
    int rv = take(in, b, 4);
    *v = rv == 0 ? get_u32le(b) : 0;
    return rv;
}

static int take_u64(struct in *in, uint64_t *v)
{
    unsigned char b[8];
    int rv = take(in, b, 8);
    *v = rv == 0 ? get_u64le(b) : 0;
    return rv;
}

/* The state being restored, built aside. */
struct state {
    uint64_t now_ms;
    struct kv_table t;
    struct kv_sessions sessions;
    struct kv_node_addr *nodes; /* owned */
    size_t n_nodes;
    size_t nodes_cap;
};

/* Reads n bytes into a new allocation of head + n bytes (the bytes at offset head), grown as
 * they arrive: a damaged length makes a restore fail at the stream's end, not allocate what
 * the snapshot never held. *out is craft_malloc'd. */
static int take_alloc(struct in *in, size_t head, size_t n, void **out)
{
    size_t have = 0;
    size_t cap = n < KV_SNAPSHOT_CHUNK ? n : KV_SNAPSHOT_CHUNK;
    unsigned char *p = craft_malloc(head + cap);
    if (p == NULL) {
        return CRAFT_ENOMEM;
    }
    for (;;) {
        int rv = take(in, p + head + have, cap - have);
        if (rv != 0) {
            craft_free(p);
            return rv;
        }
        have = cap;
        if (have == n) {
            break;
        }
        cap = n - have < have ? n : 2 * have;
        unsigned char *q = craft_realloc(p, head + cap);
        if (q == NULL) {
            craft_free(p);
            return CRAFT_ENOMEM;
        }
        p = q;
    }
    *out = p;
    return 0;
}

static int read_key(struct in *in, struct state *st)
{
    uint64_t expire;
    uint32_t klen, vlen;
    struct kv_item *it;
    int rv = take_u64(in, &expire);
    if (rv == 0) {
        rv = take_u32(in, &klen);
    }
    if (rv == 0) {
        rv = take_u32(in, &vlen);
    }
    if (rv != 0) {
        return rv;
    }
    if (klen > KV_BLOB_MAX || vlen > KV_BLOB_MAX || (expire != 0 && expire <= st->now_ms)) {
        return CRAFT_ECORRUPT;
    }
    /* The layout of kv_item_create: key, then value, in the item's allocation. */
    rv = take_alloc(in, sizeof *it, (size_t)klen + vlen, (void **)&it);
    if (rv != 0) {
        return rv;
    }
    it->next = NULL;
    it->expire_ms = expire;
    it->key_len = klen;
    it->val = it->key + klen;
    it->val_len = vlen;
    it->val_cap = vlen;
    it->hash = kv_hash(it->key, klen);
    if (kv_table_get(&st->t, it->key, klen) != NULL) {
        kv_item_free(it);
        return CRAFT_ECORRUPT;
    }
    kv_table_link(&st->t, it);
    return 0;
}

static int read_session(struct in *in, struct state *st)
{
    struct kv_session *ss = craft_calloc(1, sizeof *ss);
    uint64_t n = 0;
    if (ss == NULL) {
        return CRAFT_ENOMEM;
    }
    int rv = take_u64(in, &ss->client);
    if (rv == 0) {
        rv = take_u64(in, &ss->seq);
    }
    if (rv == 0) {
        rv = take_u64(in, &ss->used_ms);
    }
    if (rv == 0) {
        rv = take_u64(in, &n);
    }
    const struct kv_session *last = st->sessions.lru_tail;
    if (rv == 0 && (ss->client == 0 || ss->used_ms > st->now_ms || n == 0 || n > SIZE_MAX / 2 ||
                    (last != NULL && last->used_ms > ss->used_ms) ||
                    kv_session_find(&st->sessions, ss->client) != NULL)) {
        rv = CRAFT_ECORRUPT;
    }
    if (rv == 0) {
        ss->reply_len = (size_t)n;
        rv = take_alloc(in, 0, (size_t)n, (void **)&ss->reply);
    }
    if (rv == 0) {
        rv = kv_sessions_reserve(&st->sessions);
    }
    if (rv != 0) {
        craft_free(ss->reply);
        craft_free(ss);
        return rv;
    }
    kv_session_insert(&st->sessions, ss);
    return 0;
}

static int read_node(struct in *in, struct state *st)
{
    uint64_t id;
    uint32_t n;
    int rv = take_u64(in, &id);
    if (rv == 0) {
        rv = take_u32(in, &n);
    }
    if (rv != 0) {
        return rv;
    }
    if (id == 0 || n == 0 || n > KV_ADDR_MAX) {
        return CRAFT_ECORRUPT;
    }
    for (size_t i = 0; i < st->n_nodes; i++) {
        if (st->nodes[i].id == id) {
            return CRAFT_ECORRUPT;
        }
    }
    void *v = st->nodes;
    if (!craft_grow(&v, &st->nodes_cap, st->n_nodes + 1, sizeof *st->nodes)) {
        return CRAFT_ENOMEM;
    }
    st->nodes = v;
    char *addr = craft_malloc((size_t)n + 1);
    if (addr == NULL) {
        return CRAFT_ENOMEM;
    }
    rv = take(in, addr, n);
    addr[n] = '\0';
    if (rv == 0 && strlen(addr) != n) {
        rv = CRAFT_ECORRUPT; /* a NUL inside */
    }
    if (rv != 0) {
        craft_free(addr);
        return rv;
    }
    st->nodes[st->n_nodes].id = id;
    st->nodes[st->n_nodes].addr = addr;
    st->n_nodes++;
    return 0;
}

/* The end record: counts and checksum match, and the stream ends right after it. */
static int read_end(struct in *in, const struct state *st)
{
    uint64_t n_keys, n_sessions, n_nodes;
    uint32_t crc;
    int rv = take_u64(in, &n_keys);
    if (rv == 0) {
        rv = take_u64(in, &n_sessions);
    }
    if (rv == 0) {
        rv = take_u64(in, &n_nodes);
    }
    uint32_t want = in->crc;
    if (rv == 0) {
        rv = take_u32(in, &crc);
    }
    if (rv != 0) {
        return rv;
    }
    if (crc != want || n_keys != st->t.n_items || n_sessions != st->sessions.n ||
        n_nodes != st->n_nodes) {
        return CRAFT_ECORRUPT;
    }
    if (in->pos < in->len) {
        return CRAFT_ECORRUPT;
    }
    size_t got = 0;
    unsigned char extra;
    rv = in->read(in->ctx, &extra, 1, &got);
    return rv != 0 ? rv : (got == 0 ? 0 : CRAFT_ECORRUPT);
}

static int read_all(struct in *in, struct state *st)
{
    uint32_t magic, version;
    int rv = take_u32(in, &magic);
    if (rv == 0) {
        rv = take_u32(in, &version);
    }
    if (rv == 0) {
        rv = take_u64(in, &st->now_ms);
    }
    if (rv == 0 && (magic != KV_SNAPSHOT_MAGIC || version != KV_SNAPSHOT_VERSION)) {
        rv = CRAFT_ECORRUPT;
    }
    while (rv == 0) {
        uint8_t tag;
        rv = take(in, &tag, 1);
        if (rv != 0) {
            break;
        }
        switch (tag) {
        case KV_SNAPSHOT_KEY:
            rv = read_key(in, st);
            break;
        case KV_SNAPSHOT_SESSION:
            rv = read_session(in, st);
            break;
        case KV_SNAPSHOT_NODE:
            rv = read_node(in, st);
            break;
        case KV_SNAPSHOT_END:
            return read_end(in, st);
        default:
            rv = CRAFT_ECORRUPT;
        }
    }
    return rv;
}

static void state_close(struct state *st)
{
    kv_table_close(&st->t);
    kv_sessions_close(&st->sessions);
    for (size_t i = 0; i < st->n_nodes; i++) {
        craft_free(st->nodes[i].addr);
    }
    craft_free(st->nodes);
}

/* Moves st into s (and s's old state into st, for freeing). */
static void swap_in(struct kv_store *s, struct state *st)
{
    struct kv_table t = s->t;
    s->t = st->t;
    st->t = t;
    struct kv_sessions ss = s->sessions;
    s->sessions = st->sessions;
    st->sessions = ss;
    s->now_ms = st->now_ms;
    s->sweep_pos = 0;
    pthread_mutex_lock(&s->nodes.lock);
    struct kv_node_addr *v = s->nodes.v;
    size_t n = s->nodes.n;
    s->nodes.v = st->nodes;
    s->nodes.n = st->n_nodes;
    s->nodes.cap = st->nodes_cap;
    pthread_mutex_unlock(&s->nodes.lock);
    st->nodes = v;
    st->n_nodes = n;
}

int kv_snapshot_restore(struct kv_store *s, kv_stream_read_fn read, void *ctx)
{
    struct in in = {.read = read, .ctx = ctx};
    struct state st = {0};
    CRAFT_ASSERT(s->n_undo == 0);
    in.buf = craft_malloc(KV_SNAPSHOT_CHUNK);
    if (in.buf == NULL) {
        return CRAFT_ENOMEM;
    }
    kv_sessions_init(&st.sessions);
    int rv = kv_table_init(&st.t);
    if (rv == 0) {
        rv = read_all(&in, &st);
    }
    if (rv == 0) {
        swap_in(s, &st);
    }
    state_close(&st);
    craft_free(in.buf);
    return rv;
}
