/* Exactly-once sessions: per client, the last seq applied and its reply, in a hash table and a
 * list by last use, so forgetting idle clients costs O(1) per forgotten session. */
#include <string.h>

#include "kv_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

void kv_sessions_init(struct kv_sessions *ss)
{
    memset(ss, 0, sizeof *ss);
}

void kv_sessions_close(struct kv_sessions *ss)
{
    struct kv_session *s = ss->lru_head;
    while (s != NULL) {
        struct kv_session *next = s->lru_next;
        craft_free(s->reply);
        craft_free(s);
        s = next;
    }
    craft_free(ss->buckets);
    kv_sessions_init(ss);
}

static size_t bucket_of(uint64_t client, size_t mask)
{
    return (size_t)(kv_hash(&client, sizeof client) & mask);
}

struct kv_session *kv_session_find(const struct kv_sessions *ss, uint64_t client)
{
    if (ss->buckets == NULL) {
        return NULL;
    }
    struct kv_session *s = ss->buckets[bucket_of(client, ss->mask)];
    while (s != NULL && s->client != client) {
        s = s->next;
    }
    return s;
}

int kv_sessions_reserve(struct kv_sessions *ss)
{
    if (ss->buckets != NULL && ss->n < ss->mask + 1) {
        return 0;
    }
    size_t n = ss->buckets == NULL ? 16 : (ss->mask + 1) * 2;
    struct kv_session **b = craft_calloc(n, sizeof *b);
    if (b == NULL) {
        return CRAFT_ENOMEM;
    }
    for (struct kv_session *s = ss->lru_head; s != NULL; s = s->lru_next) {
        size_t i = bucket_of(s->client, n - 1);
        s->next = b[i];
        b[i] = s;
    }
    craft_free(ss->buckets);
    ss->buckets = b;
    ss->mask = n - 1;
    return 0;
}

static void lru_append(struct kv_sessions *ss, struct kv_session *s)
{
    s->lru_next = NULL;
    s->lru_prev = ss->lru_tail;
    if (ss->lru_tail != NULL) {
        ss->lru_tail->lru_next = s;
    } else {
        ss->lru_head = s;
    }
    ss->lru_tail = s;
}

static void lru_remove(struct kv_sessions *ss, struct kv_session *s)
{
    if (s->lru_prev != NULL) {
        s->lru_prev->lru_next = s->lru_next;
    } else {
        ss->lru_head = s->lru_next;
    }
    if (s->lru_next != NULL) {
        s->lru_next->lru_prev = s->lru_prev;
    } else {
        ss->lru_tail = s->lru_prev;
    }
}

void kv_session_insert(struct kv_sessions *ss, struct kv_session *s)
{
    CRAFT_ASSERT(ss->buckets != NULL);
    CRAFT_ASSERT(kv_session_find(ss, s->client) == NULL);
    size_t i = bucket_of(s->client, ss->mask);
    s->next = ss->buckets[i];
    ss->buckets[i] = s;
    ss->n++;
    lru_append(ss, s);
}

void kv_session_update(struct kv_sessions *ss, struct kv_session *s, uint64_t seq, char *reply,
                       size_t reply_len, uint64_t now_ms)
{
    craft_free(s->reply);
    s->seq = seq;
    s->reply = reply;
    s->reply_len = reply_len;
    s->used_ms = now_ms;
    lru_remove(ss, s);
    lru_append(ss, s);
}

static void forget(struct kv_sessions *ss, struct kv_session *s)
{
    struct kv_session **p = &ss->buckets[bucket_of(s->client, ss->mask)];
    while (*p != s) {
        CRAFT_ASSERT(*p != NULL);
        p = &(*p)->next;
    }
    *p = s->next;
    lru_remove(ss, s);
    ss->n--;
    craft_free(s->reply);
    craft_free(s);
}

/* Store time never goes back (kv_apply), so the list by last use is also by used_ms and the
 * oldest sessions are at its head. */
void kv_sessions_expire(struct kv_sessions *ss, uint64_t now_ms)
{
    while (ss->lru_head != NULL && now_ms - ss->lru_head->used_ms > KV_SESSION_IDLE_MS) {
        CRAFT_ASSERT(ss->lru_head->used_ms <= now_ms);
        forget(ss, ss->lru_head);
    }
}
