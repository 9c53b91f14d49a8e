/* The store's snapshot: a header, one record per live key, session and directory entry, and an
 * end record with counts and a CRC-32C of everything before it (docs/KV_FORMAT.md). Streamed in
 * KV_SNAPSHOT_CHUNK pieces; a restore builds the new state aside and swaps it in only once
 * every byte has checked out. */
#include "kv/kv_snapshot.h"

#include <string.h>

#include "kv_internal.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/byteorder.h"
#include "util/crc32c.h"

struct out {
    kv_stream_write_fn write;
    void *ctx;
    unsigned char *buf; /* owned; KV_SNAPSHOT_CHUNK bytes */
    size_t len;
    uint32_t crc; /* of every byte put so far */
    int rv;       /* the first error: later puts do nothing */
};

static void flush(struct out *o)
{
    if (o->rv == 0 && o->len > 0) {
        o->rv = o->write(o->ctx, o->buf, o->len);
    }
    o->len = 0;
}

static void put(struct out *o, const void *p, size_t n)
{
    const unsigned char *b = p;
    o->crc = crc32c(o->crc, p, n);
    while (n > 0 && o->rv == 0) {
        size_t k = KV_SNAPSHOT_CHUNK - o->len;
        k = k < n ? k : n;
        memcpy(o->buf + o->len, b, k);
        o->len += k;
        b += k;
        n -= k;
        if (o->len == KV_SNAPSHOT_CHUNK) {
            flush(o);
        }
    }
}

static void put_u8(struct out *o, uint8_t v)
{
    put(o, &v, 1);
}

static void put_u32(struct out *o, uint32_t v)
{
    unsigned char b[4];
    put_u32le(b, v);
    put(o, b, 4);
}

static void put_u64(struct out *o, uint64_t v)
{
    unsigned char b[8];
    put_u64le(b, v);
    put(o, b, 8);
}

/* Key records for every live key; *n set to their count. */
static void save_keys(struct out *o, const struct kv_store *s, uint64_t *n)
{
    *n = 0;
    for (size_t b = 0; b <= s->t.mask; b++) {
        for (const struct kv_item *it = s->t.buckets[b]; it != NULL; it = it->next) {
            if (!kv_item_live(it, s->now_ms)) {
                continue; /* expired for every later entry too: store time never goes back */
            }
            CRAFT_ASSERT(it->key_len <= KV_BLOB_MAX);
            CRAFT_ASSERT(it->val_len <= KV_BLOB_MAX);
            put_u8(o, KV_SNAPSHOT_KEY);
            put_u64(o, it->expire_ms);
            put_u32(o, (uint32_t)it->key_len);
            put_u32(o, (uint32_t)it->val_len);
            put(o, it->key, it->key_len);
            put(o, it->val, it->val_len);
            (*n)++;
        }
    }
}

int kv_snapshot_save(const struct kv_store *s, kv_stream_write_fn write, void *ctx)
{
    void *buf = craft_malloc(KV_SNAPSHOT_CHUNK);
    if (buf == NULL) {
        return CRAFT_ENOMEM;
    }
    int rv = kv_snapshot_save_buf(s, buf, write, ctx);
    craft_free(buf);
    return rv;
}

int kv_snapshot_save_buf(const struct kv_store *s, void *buf, kv_stream_write_fn write,
                         void *ctx)
{
    struct out o = {.write = write, .ctx = ctx, .buf = buf};
    uint64_t n_keys;
    uint64_t n_sessions = 0;
    put_u32(&o, KV_SNAPSHOT_MAGIC);
    put_u32(&o, KV_SNAPSHOT_VERSION);
    put_u64(&o, s->now_ms);
    save_keys(&o, s, &n_keys);
    /* Oldest first, so a restore rebuilds the same order of forgetting. */
    for (const struct kv_session *ss = s->sessions.lru_head; ss != NULL; ss = ss->lru_next) {
        put_u8(&o, KV_SNAPSHOT_SESSION);
        put_u64(&o, ss->client);
        put_u64(&o, ss->seq);
        put_u64(&o, ss->used_ms);
        put_u64(&o, ss->reply_len);
        put(&o, ss->reply, ss->reply_len);
        n_sessions++;
    }
    struct kv_nodes *d = (struct kv_nodes *)&s->nodes; /* the lock is not part of the state */
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->n; i++) {
        size_t n = strlen(d->v[i].addr);
        put_u8(&o, KV_SNAPSHOT_NODE);
        put_u64(&o, d->v[i].id);
        put_u32(&o, (uint32_t)n);
        put(&o, d->v[i].addr, n);
    }
    uint64_t n_nodes = d->n;
    pthread_mutex_unlock(&d->lock);
    put_u8(&o, KV_SNAPSHOT_END);
    put_u64(&o, n_keys);
    put_u64(&o, n_sessions);
    put_u64(&o, n_nodes);
    put_u32(&o, o.crc);
    flush(&o);
    return o.rv;
}
