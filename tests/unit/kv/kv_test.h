/* Helpers for the kv unit tests: commands written as space-separated words, applied in an
 * entry or read, with their replies returned as C strings to compare byte for byte. */
#ifndef CRAFT_TEST_KV_TEST_H
#define CRAFT_TEST_KV_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kv/kv.h"
#include "kv/kv_snapshot.h"

#define KVT_ARGS_MAX 64

struct kvt_cmd {
    int argc;
    const char *argv[KVT_ARGS_MAX];
    size_t lens[KVT_ARGS_MAX];
    char buf[2048];
};

/* Splits line at spaces into c (words borrowed from c->buf). */
static inline void kvt_split(struct kvt_cmd *c, const char *line)
{
    size_t n = strlen(line);
    assert_true(n < sizeof c->buf);
    memcpy(c->buf, line, n + 1);
    c->argc = 0;
    char *save = NULL;
    for (char *w = strtok_r(c->buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        assert_true(c->argc < KVT_ARGS_MAX);
        c->argv[c->argc] = w;
        c->lens[c->argc] = strlen(w);
        c->argc++;
    }
}

/* The reply's bytes as a malloc'd C string (replies in these tests hold no NUL). */
static inline char *kvt_take(struct resp_reply *r)
{
    assert_false(resp_reply_failed(r));
    char *s = malloc(r->len + 1);
    assert_non_null(s);
    if (r->len > 0) {
        memcpy(s, r->data, r->len);
    }
    s[r->len] = '\0';
    resp_reply_close(r);
    return s;
}

/* Builds a plain entry of one command at now_ms (session client/seq). */
static inline void kvt_entry(struct kv_entry *e, uint64_t now_ms, uint64_t client, uint64_t seq,
                             const char *line)
{
    struct kvt_cmd c;
    kvt_split(&c, line);
    kv_entry_init(e);
    assert_int_equal(kv_entry_begin(e, now_ms, client, seq, false), 0);
    assert_int_equal(kv_entry_add(e, c.argc, c.argv, c.lens), 0);
}

/* Applies one command in a session-less entry at now_ms; the reply (malloc'd). */
static inline char *kvt_apply_s(struct kv_store *s, uint64_t now_ms, uint64_t client, uint64_t seq,
                                const char *line)
{
    struct kv_entry e;
    struct resp_reply r;
    kvt_entry(&e, now_ms, client, seq, line);
    resp_reply_init(&r);
    assert_int_equal(kv_apply(s, e.data, e.len, &r), 0);
    kv_entry_close(&e);
    return kvt_take(&r);
}

static inline char *kvt_apply(struct kv_store *s, uint64_t now_ms, const char *line)
{
    return kvt_apply_s(s, now_ms, 0, 0, line);
}

/* Runs one read command (the arity is checked as the server would). */
static inline char *kvt_read(const struct kv_store *s, uint64_t now_ms, const char *line)
{
    struct kvt_cmd c;
    struct resp_reply r;
    kvt_split(&c, line);
    resp_reply_init(&r);
    const struct kv_command *cmd = kv_command_find(c.argv[0], c.lens[0]);
    assert_non_null(cmd);
    assert_int_equal(cmd->kind, KV_COMMAND_READ);
    if (kv_command_check_arity(cmd, c.argc, &r)) {
        kv_read(s, c.argc, c.argv, c.lens, now_ms, &r);
    }
    return kvt_take(&r);
}

/* Asserts a write's reply, then a read's, byte for byte. */
#define KVT_W(s, now, line, want)                                                                  \
    do {                                                                                           \
        char *got_ = kvt_apply((s), (now), (line));                                                \
        assert_string_equal(got_, (want));                                                         \
        free(got_);                                                                                \
    } while (0)
#define KVT_R(s, now, line, want)                                                                  \
    do {                                                                                           \
        char *got_ = kvt_read((s), (now), (line));                                                 \
        assert_string_equal(got_, (want));                                                         \
        free(got_);                                                                                \
    } while (0)

/* A growable byte buffer that snapshots are written to and read back from. */
struct kvt_buf {
    unsigned char *data;
    size_t len;
    size_t pos;   /* the read position */
    size_t chunk; /* reads return at most this many bytes (0: no limit) */
    int fail_at;  /* the write call that fails with CRAFT_EIO (0: none) */
    int calls;
};

static inline int kvt_buf_write(void *ctx, const void *p, size_t n)
{
    struct kvt_buf *b = ctx;
    if (++b->calls == b->fail_at) {
        return CRAFT_EIO;
    }
    b->data = realloc(b->data, b->len + n);
    assert_non_null(b->data);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static inline int kvt_buf_read(void *ctx, void *p, size_t n, size_t *got)
{
    struct kvt_buf *b = ctx;
    size_t k = b->len - b->pos;
    k = k < n ? k : n;
    if (b->chunk != 0 && k > b->chunk) {
        k = b->chunk;
    }
    memcpy(p, b->data + b->pos, k);
    b->pos += k;
    *got = k;
    return 0;
}

struct kvt_rec {
    const unsigned char *p;
    size_t n;
};

static inline int kvt_rec_cmp(const void *a, const void *b)
{
    const struct kvt_rec *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

static inline uint32_t kvt_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The whole state of s in a canonical form (malloc'd, *len set): the snapshot's bytes with its
 * key records sorted (their order follows the table's layout) and without the checksum. Two
 * stores hold the same state when these are equal. */
static inline unsigned char *kvt_dump(const struct kv_store *s, size_t *len)
{
    struct kvt_buf b = {0};
    assert_int_equal(kv_snapshot_save(s, kvt_buf_write, &b), 0);
    size_t off = 16, n = 0;
    struct kvt_rec *keys = malloc(sizeof *keys * (b.len / 17 + 1));
    while (b.data[off] == 1) { /* key records come first */
        size_t rec = 1 + 8 + 8 + kvt_u32(b.data + off + 9) + kvt_u32(b.data + off + 13);
        keys[n].p = b.data + off;
        keys[n++].n = rec;
        off += rec;
    }
    qsort(keys, n, sizeof *keys, kvt_rec_cmp);
    unsigned char *out = malloc(b.len);
    size_t o = 16;
    memcpy(out, b.data, 16);
    for (size_t i = 0; i < n; i++) {
        memcpy(out + o, keys[i].p, keys[i].n);
        o += keys[i].n;
    }
    memcpy(out + o, b.data + off, b.len - 4 - off);
    *len = b.len - 4;
    free(keys);
    free(b.data);
    return out;
}

/* Asserts s's state is want (want_len bytes of kvt_dump). */
static inline void kvt_assert_state(const struct kv_store *s, const unsigned char *want,
                                    size_t want_len)
{
    size_t len;
    unsigned char *got = kvt_dump(s, &len);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
    free(got);
}

/* Asserts a and b hold the same state. */
static inline void kvt_assert_same_state(const struct kv_store *a, const struct kv_store *b)
{
    size_t len;
    unsigned char *want = kvt_dump(a, &len);
    kvt_assert_state(b, want, len);
    free(want);
}

#endif
