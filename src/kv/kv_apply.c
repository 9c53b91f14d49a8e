/* Applying a log entry: parse and validate it whole, answer a retried (client, seq) from its
 * session, else run its commands (writes through the journal, reads against the store as the
 * entry's earlier commands left it) and commit them all, or none when memory runs out. Then,
 * deterministically in entry time, forget idle sessions and sweep expired keys. */
#include <string.h>

#include "kv_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

struct kv_store *kv_store_create(void)
{
    struct kv_store *s = craft_calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    if (kv_table_init(&s->t) != 0) {
        goto fail;
    }
    if (kv_nodes_init(&s->nodes) != 0) {
        goto fail_table;
    }
    kv_sessions_init(&s->sessions);
    return s;
fail_table:
    kv_table_close(&s->t);
fail:
    craft_free(s);
    return NULL;
}

void kv_store_destroy(struct kv_store *s)
{
    if (s == NULL) {
        return;
    }
    CRAFT_ASSERT(s->n_undo == 0);
    kv_table_close(&s->t);
    kv_sessions_close(&s->sessions);
    kv_nodes_close(&s->nodes);
    craft_free(s->undo);
    craft_free(s->argv);
    craft_free(s->lens);
    craft_free(s->argcs);
    craft_free(s);
}

uint64_t kv_store_size(const struct kv_store *s)
{
    return s->t.n_items;
}

uint64_t kv_store_bytes(const struct kv_store *s)
{
    return s->t.n_bytes;
}

uint64_t kv_store_expires(const struct kv_store *s)
{
    return s->t.n_expires;
}

/* Runs one command of an entry at the entry's store time. A write changes s through the
 * journal; a read (in a MULTI that also writes) answers from s as it stands, after the writes
 * before it in the entry. 0, or CRAFT_ENOMEM (the caller rolls back). */
static int run_one(struct kv_store *s, uint64_t now_ms, int argc, const char *const *argv,
                   const size_t *lens, struct resp_reply *reply)
{
    const struct kv_command *cmd = NULL;
    kv_write_fn write = kv_write_find(argv[0], lens[0], &cmd);
    kv_read_fn read = NULL;
    if (write == NULL) {
        read = kv_read_find(argv[0], lens[0]);
        cmd = read != NULL ? kv_command_find(argv[0], lens[0]) : NULL;
    }
    if (cmd == NULL) {
        /* Not from this version's leader: every replica answers the same. */
        resp_reply_errorf(reply, "ERR unknown command '%.*s', with args beginning with: ",
                          (int)(lens[0] > 128 ? 128 : lens[0]), argv[0]);
        return 0;
    }
    if (!kv_command_check_arity(cmd, argc, reply)) {
        return 0;
    }
    if (read != NULL) {
        CRAFT_ASSERT(cmd->kind == KV_COMMAND_READ);
        read(s, now_ms, argc, argv, lens, reply);
        return 0;
    }
    CRAFT_ASSERT(write != NULL);
    return write(s, now_ms, argc, argv, lens, reply);
}

/* Runs the parsed commands of h in order. 0, or CRAFT_ENOMEM (the caller rolls back). */
static int run(struct kv_store *s, const struct kv_entry_header *h, uint64_t now_ms,
               struct resp_reply *reply)
{
    size_t a = 0;
    if (h->flags & KV_ENTRY_FLAG_MULTI) {
        resp_reply_array(reply, h->n_commands);
    }
    for (uint32_t c = 0; c < h->n_commands; c++) {
        int argc = s->argcs[c];
        int rv = run_one(s, now_ms, argc, s->argv + a, s->lens + a, reply);
        a += (size_t)argc;
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

/* Store time moves on; idle sessions and (a few buckets of) expired keys go. */
static void finish(struct kv_store *s, uint64_t now_ms)
{
    s->now_ms = now_ms;
    kv_sessions_expire(&s->sessions, now_ms);
    kv_table_sweep(s, now_ms);
}

/* Runs the entry and, for a session, keeps a copy of its reply. All or nothing: 0, or
 * CRAFT_ENOMEM with the store as it was. */
static int run_all(struct kv_store *s, const struct kv_entry_header *h, uint64_t now_ms,
                   struct kv_session *sess, struct resp_reply *reply)
{
    size_t start = reply->len;
    struct kv_session *fresh = NULL;
    char *copy = NULL;
    if (h->client != 0 && sess == NULL) {
        if (kv_sessions_reserve(&s->sessions) != 0) {
            return CRAFT_ENOMEM;
        }
        fresh = craft_calloc(1, sizeof *fresh);
        if (fresh == NULL) {
            return CRAFT_ENOMEM;
        }
    }
    int rv = run(s, h, now_ms, reply);
    size_t n = reply->len - start;
    if (rv == 0 && resp_reply_failed(reply)) {
        rv = CRAFT_ENOMEM;
    }
    if (rv == 0 && h->client != 0) {
        CRAFT_ASSERT(n > 0); /* every command replies, and an empty EXEC is "*0" */
        copy = craft_malloc(n);
        rv = copy == NULL ? CRAFT_ENOMEM : 0;
    }
    if (rv != 0) {
        kv_txn_rollback(s);
        craft_free(fresh);
        if (!resp_reply_failed(reply)) {
            reply->len = start;
        }
        return rv;
    }
    kv_txn_commit(s);
    if (h->client != 0) {
        memcpy(copy, reply->data + start, n);
        if (fresh != NULL) {
            fresh->client = h->client;
            kv_session_insert(&s->sessions, fresh);
            sess = fresh;
        }
        kv_session_update(&s->sessions, sess, h->seq, copy, n, now_ms);
    }
    return 0;
}

int kv_apply(struct kv_store *s, const void *entry, size_t len, struct resp_reply *reply)
{
    struct kv_entry_header h;
    int rv = kv_entry_parse(s, entry, len, &h);
    if (rv != 0) {
        return rv;
    }
    if (resp_reply_failed(reply)) {
        return CRAFT_ENOMEM;
    }
    CRAFT_ASSERT(s->n_undo == 0);
    /* Leaders' clocks differ: store time is the latest entry time seen, so it never goes back
     * and a key once expired stays expired. */
    uint64_t now_ms = h.now_ms > s->now_ms ? h.now_ms : s->now_ms;
    struct kv_session *sess = NULL;
    if (h.client != 0) {
        sess = kv_session_find(&s->sessions, h.client);
    }
    if (sess != NULL && h.seq <= sess->seq) {
        /* A retry of the last request gets its reply again, without running twice. */
        if (h.seq == sess->seq) {
            resp_reply_raw(reply, sess->reply, sess->reply_len);
        } else {
            resp_reply_error(reply, "ERR stale request");
        }
        if (resp_reply_failed(reply)) {
            return CRAFT_ENOMEM;
        }
    } else {
        rv = run_all(s, &h, now_ms, sess, reply);
        if (rv != 0) {
            return rv;
        }
    }
    finish(s, now_ms);
    return 0;
}
