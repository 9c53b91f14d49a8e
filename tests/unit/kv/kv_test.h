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

#define KVT_ARGS_MAX 64

struct kvt_cmd {
    int argc;
    const char *argv[KVT_ARGS_MAX];
    size_t lens[KVT_ARGS_MAX];
    char buf[1024];
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
static inline char *kvt_apply_s(struct kv_store *s, uint64_t now_ms, uint64_t client,
                                uint64_t seq, const char *line)
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

#endif
