/* The log entry of write commands: built by the leader (kv_entry_begin/add) and parsed, with
 * every length checked against the buffer, by kv_apply. Byte layout: docs/KV_FORMAT.md. */
#include <string.h>

#include "kv_internal.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/byteorder.h"

#define N_COMMANDS_AT 26 /* the offset of n_commands in the header */
_Static_assert(N_COMMANDS_AT + 4 == KV_ENTRY_HEADER, "n_commands ends the header");

void kv_entry_init(struct kv_entry *e)
{
    memset(e, 0, sizeof *e);
}

void kv_entry_close(struct kv_entry *e)
{
    craft_free(e->data);
    kv_entry_init(e);
}

static int reserve(struct kv_entry *e, size_t n)
{
    if (n > SIZE_MAX - e->len) {
        return CRAFT_ENOMEM;
    }
    void *p = e->data;
    if (!craft_grow(&p, &e->cap, e->len + n, 1)) {
        return CRAFT_ENOMEM;
    }
    e->data = p;
    return 0;
}

int kv_entry_begin(struct kv_entry *e, uint64_t now_ms, uint64_t client, uint64_t seq, bool multi)
{
    e->len = 0;
    e->n_commands = 0;
    e->multi = multi;
    if (reserve(e, KV_ENTRY_HEADER) != 0) {
        return CRAFT_ENOMEM;
    }
    unsigned char *p = (unsigned char *)e->data;
    p[0] = KV_ENTRY_VERSION;
    p[1] = multi ? KV_ENTRY_FLAG_MULTI : 0;
    put_u64le(p + 2, now_ms);
    put_u64le(p + 10, client);
    put_u64le(p + 18, seq);
    put_u32le(p + N_COMMANDS_AT, 0);
    e->len = KV_ENTRY_HEADER;
    return 0;
}

int kv_entry_add(struct kv_entry *e, int argc, const char *const *argv, const size_t *lens)
{
    CRAFT_ASSERT(e->len >= KV_ENTRY_HEADER);
    CRAFT_ASSERT(argc >= 1);
    size_t need = 4;
    for (int i = 0; i < argc; i++) {
        /* kv_apply would call a longer argument corruption and stop every replica on it. */
        if (lens[i] > KV_BLOB_MAX) {
            return CRAFT_ETOOBIG;
        }
        need += 4 + lens[i];
    }
    if (reserve(e, need) != 0) {
        return CRAFT_ENOMEM;
    }
    unsigned char *p = (unsigned char *)e->data + e->len;
    put_u32le(p, (uint32_t)argc);
    p += 4;
    for (int i = 0; i < argc; i++) {
        put_u32le(p, (uint32_t)lens[i]);
        if (lens[i] > 0) {
            memcpy(p + 4, argv[i], lens[i]);
        }
        p += 4 + lens[i];
    }
    e->len += need;
    e->n_commands++;
    put_u32le(e->data + N_COMMANDS_AT, e->n_commands);
    return 0;
}

/* One pass over the commands: checks every length and, when argv is not NULL, records each
 * argument. *n_args is the total argument count. */
static int walk(const unsigned char *p, size_t len, uint32_t n_commands, size_t *n_args,
                const char **argv, size_t *lens, int *argcs)
{
    size_t off = KV_ENTRY_HEADER;
    size_t total = 0;
    for (uint32_t c = 0; c < n_commands; c++) {
        if (len - off < 4) {
            return CRAFT_ECORRUPT;
        }
        uint32_t argc = get_u32le(p + off);
        off += 4;
        /* Every argument takes at least its 4-byte length: bounds argc by what is left. */
        if (argc == 0 || argc > INT32_MAX || argc > (len - off) / 4) {
            return CRAFT_ECORRUPT;
        }
        if (argcs != NULL) {
            argcs[c] = (int)argc;
        }
        for (uint32_t i = 0; i < argc; i++, total++) {
            if (len - off < 4) {
                return CRAFT_ECORRUPT;
            }
            uint32_t n = get_u32le(p + off);
            off += 4;
            if (n > KV_BLOB_MAX || n > len - off) {
                return CRAFT_ECORRUPT;
            }
            if (argv != NULL) {
                argv[total] = (const char *)p + off;
                lens[total] = n;
            }
            off += n;
        }
    }
    *n_args = total;
    return off == len ? 0 : CRAFT_ECORRUPT; /* trailing bytes are corruption too */
}

static int read_header(const unsigned char *p, size_t len, struct kv_entry_header *h)
{
    if (len < KV_ENTRY_HEADER || p[0] != KV_ENTRY_VERSION || (p[1] & ~KV_ENTRY_FLAG_MULTI) != 0) {
        return CRAFT_ECORRUPT;
    }
    h->version = p[0];
    h->flags = p[1];
    h->now_ms = get_u64le(p + 2);
    h->client = get_u64le(p + 10);
    h->seq = get_u64le(p + 18);
    h->n_commands = get_u32le(p + N_COMMANDS_AT);
    /* Every command takes at least 8 bytes (argc and one length); a plain entry has one or
     * more, a multi entry (an empty EXEC) may have none. */
    if (h->n_commands > (len - KV_ENTRY_HEADER) / 8) {
        return CRAFT_ECORRUPT;
    }
    if (h->n_commands == 0 && !(h->flags & KV_ENTRY_FLAG_MULTI)) {
        return CRAFT_ECORRUPT;
    }
    return 0;
}

int kv_entry_parse(struct kv_store *s, const void *entry, size_t len, struct kv_entry_header *h)
{
    const unsigned char *p = entry;
    size_t n_args;
    int rv = read_header(p, len, h);
    if (rv == 0) {
        rv = walk(p, len, h->n_commands, &n_args, NULL, NULL, NULL);
    }
    if (rv != 0) {
        return rv;
    }
    void *argv = s->argv;
    if (!craft_grow(&argv, &s->argv_cap, n_args, sizeof *s->argv)) {
        return CRAFT_ENOMEM;
    }
    s->argv = argv;
    void *lens = s->lens;
    if (!craft_grow(&lens, &s->lens_cap, n_args, sizeof *s->lens)) {
        return CRAFT_ENOMEM;
    }
    s->lens = lens;
    void *argcs = s->argcs;
    if (!craft_grow(&argcs, &s->argcs_cap, h->n_commands, sizeof *s->argcs)) {
        return CRAFT_ENOMEM;
    }
    s->argcs = argcs;
    rv = walk(p, len, h->n_commands, &n_args, s->argv, s->lens, s->argcs);
    CRAFT_ASSERT(rv == 0);
    return 0;
}
