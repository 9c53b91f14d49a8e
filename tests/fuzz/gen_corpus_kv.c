/* Writes the kv fuzz targets' seed corpora (tests/fuzz/corpus/fuzz_kv_entry/ and
 * fuzz_kv_snapshot/) with the real writers: entries of several shapes and snapshots of a few
 * stores. Run as gen_corpus_kv <corpus dir>; the output is deterministic, and checked in. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kv/kv.h"
#include "gen_corpus_util.h"
#include "kv/kv_snapshot.h"

/* Adds each space-separated command of lines (NULL-terminated) to e. */
static void add_all(struct kv_entry *e, const char *const *lines)
{
    for (; *lines != NULL; lines++) {
        char buf[256];
        const char *argv[16];
        size_t lens[16];
        int argc = 0;
        snprintf(buf, sizeof buf, "%s", *lines);
        for (char *w = strtok(buf, " "); w != NULL && argc < 16; w = strtok(NULL, " ")) {
            argv[argc] = w;
            lens[argc++] = strlen(w);
        }
        CHECK(kv_entry_add(e, argc, argv, lens) == 0);
    }
}

struct shape {
    const char *name;
    uint64_t client;
    bool multi;
    const char *lines[8];
};

static const struct shape shapes[] = {
    {"set", 0, false, {"SET k v", NULL}},
    {"set_options", 0, false, {"SET a 1 NX GET PX 500", NULL}},
    {"incr_session", 7, false, {"INCR a", NULL}},
    {"multi", 9, true, {"SET x 1", "APPEND b more", "DEL a", "EXPIRE b 10 GT", NULL}},
    {"mset_flush", 0, false, {"MSET p 1 q 2", "FLUSHDB", "SETNX r 3", NULL}},
    {"advertise", 0, false, {"raft.advertise 2 10.0.0.2:6379", NULL}},
    {"empty_exec", 0, true, {NULL}},
    /* A MULTI mixing reads and writes: the reads run inside the entry. */
    {"mixed_multi", 0, true, {"SET k 1", "INCR k", "GET k", "MGET k b", "SCAN 0", "PTTL b", NULL}},
    /* A batch of pipelined writes: a plain entry of several commands. */
    {"batch", 0, false, {"SET a 1", "INCR a", "APPEND a x", "SET z v EX 5", NULL}},
};

static int write_buf(void *ctx, const void *p, size_t n)
{
    struct kv_entry *b = ctx; /* a byte buffer: only data/len/cap are used */
    char *d = realloc(b->data, b->len + n);
    CHECK(d != NULL);
    memcpy(d + b->len, p, n);
    b->data = d;
    b->len += n;
    return 0;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    root = argv[1];
    struct kv_store *s = kv_store_create();
    CHECK(s != NULL);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        struct kv_entry e;
        struct resp_reply r;
        kv_entry_init(&e);
        resp_reply_init(&r);
        CHECK(kv_entry_begin(&e, 1000 + i, shapes[i].client, 1 + i, shapes[i].multi) == 0);
        add_all(&e, shapes[i].lines);
        put("fuzz_kv_entry", shapes[i].name, e.data, e.len);
        CHECK(kv_apply(s, e.data, e.len, &r) == 0);
        /* After each entry, the store's snapshot is a seed too. */
        struct kv_entry snap = {0};
        CHECK(kv_snapshot_save(s, write_buf, &snap) == 0);
        char name[64];
        snprintf(name, sizeof name, "after_%s", shapes[i].name);
        put("fuzz_kv_snapshot", name, snap.data, snap.len);
        if (i == 3) {
            snap.data[snap.len / 2] ^= 0x20; /* one damaged copy */
            put("fuzz_kv_snapshot", "damaged", snap.data, snap.len);
            put("fuzz_kv_entry", "torn", e.data, e.len - 3);
        }
        free(snap.data);
        resp_reply_close(&r);
        kv_entry_close(&e);
    }
    kv_store_destroy(s);
    return 0;
}
