/* The bodies of Raft message frames (docs/WIRE_FORMAT.md, "Raft messages"): every field of a
 * struct craft_msg but from and to, which are the header's. AppendEntries carries its entries,
 * whose indexes follow prev_index one by one (§5.3: a leader sends a contiguous run). */
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/byteorder.h"
#include "wire_internal.h"
#include "util/copy_stats.h"

#define TERM_BYTES 8u
#define VOTE_BYTES (TERM_BYTES + 17u)
#define VOTE_RESP_BYTES (TERM_BYTES + 1u)
#define APPEND_RESP_BYTES (TERM_BYTES + 33u)
#define READ_INDEX_BYTES (TERM_BYTES + 8u)
#define READ_INDEX_RESP_BYTES (TERM_BYTES + 17u)
static_assert(WIRE_APPEND_FIXED == TERM_BYTES + 36u, "append: term, 4 u64, count");

static bool entry_type_known(uint32_t type)
{
    return type >= CRAFT_ENTRY_NORMAL && type <= CRAFT_ENTRY_CONFIG;
}

void wire_msg_assert_valid(const struct craft_msg *m)
{
    CRAFT_ASSERT(m->type >= CRAFT_MSG_PREVOTE && m->type <= CRAFT_MSG_TYPE_MAX);
    CRAFT_ASSERT(m->from != CRAFT_ID_NONE);
    CRAFT_ASSERT(m->to != CRAFT_ID_NONE);
    CRAFT_ASSERT(m->from != m->to);
    if (m->type != CRAFT_MSG_APPEND) {
        return;
    }
    CRAFT_ASSERT(m->append.n_entries <= WIRE_ENTRIES_MAX);
    CRAFT_ASSERT(m->append.n_entries == 0 || m->append.entries != NULL);
    CRAFT_ASSERT(m->append.prev_index <= UINT64_MAX - m->append.n_entries);
    for (uint32_t i = 0; i < m->append.n_entries; i++) {
        const struct craft_entry *e = &m->append.entries[i];
        CRAFT_ASSERT(e->index == m->append.prev_index + 1 + i);
        CRAFT_ASSERT(entry_type_known(e->type));
        CRAFT_ASSERT(e->data.len <= WIRE_BODY_LIMIT);
        CRAFT_ASSERT(e->data.len == 0 || e->data.base != NULL);
    }
}

size_t wire_msg_body_size(const struct craft_msg *m)
{
    switch (m->type) {
    case CRAFT_MSG_PREVOTE:
    case CRAFT_MSG_VOTE:
        return VOTE_BYTES;
    case CRAFT_MSG_PREVOTE_RESP:
    case CRAFT_MSG_VOTE_RESP:
        return VOTE_RESP_BYTES;
    case CRAFT_MSG_APPEND: {
        size_t n = WIRE_APPEND_FIXED;
        for (uint32_t i = 0; i < m->append.n_entries; i++) {
            n += WIRE_ENTRY_FIXED + m->append.entries[i].data.len;
        }
        return n;
    }
    case CRAFT_MSG_APPEND_RESP:
        return APPEND_RESP_BYTES;
    case CRAFT_MSG_TIMEOUT_NOW:
        return TERM_BYTES;
    case CRAFT_MSG_READ_INDEX:
        return READ_INDEX_BYTES;
    case CRAFT_MSG_READ_INDEX_RESP:
        return READ_INDEX_RESP_BYTES;
    }
    CRAFT_ASSERT(!"unknown message type");
    return 0;
}

static void append_put(const struct craft_msg_append *a, unsigned char *p)
{
    put_u64le(p, a->prev_index);
    put_u64le(p + 8, a->prev_term);
    put_u64le(p + 16, a->commit);
    put_u64le(p + 24, a->round);
    put_u32le(p + 32, a->n_entries);
    p += 36;
    for (uint32_t i = 0; i < a->n_entries; i++) {
        const struct craft_entry *e = &a->entries[i];
        put_u64le(p, e->term);
        put_u64le(p + 8, e->index);
        p[16] = (unsigned char)e->type;
        put_u32le(p + 17, (uint32_t)e->data.len);
        p += WIRE_ENTRY_FIXED;
        if (e->data.len > 0) {
            memcpy(p, e->data.base, e->data.len);
            copy_stats_add(COPY_WIRE_ENCODE, e->data.len);
        }
        p += e->data.len;
    }
}

void wire_msg_body_put(const struct craft_msg *m, unsigned char *body)
{
    put_u64le(body, m->term);
    unsigned char *p = body + TERM_BYTES;
    switch (m->type) {
    case CRAFT_MSG_PREVOTE:
    case CRAFT_MSG_VOTE:
        put_u64le(p, m->vote.last_index);
        put_u64le(p + 8, m->vote.last_term);
        p[16] = m->vote.transfer ? 1 : 0;
        break;
    case CRAFT_MSG_PREVOTE_RESP:
    case CRAFT_MSG_VOTE_RESP:
        p[0] = m->vote_resp.granted ? 1 : 0;
        break;
    case CRAFT_MSG_APPEND:
        append_put(&m->append, p);
        break;
    case CRAFT_MSG_APPEND_RESP:
        p[0] = m->append_resp.success ? 1 : 0;
        put_u64le(p + 1, m->append_resp.round);
        put_u64le(p + 9, m->append_resp.index);
        put_u64le(p + 17, m->append_resp.hint_term);
        put_u64le(p + 25, m->append_resp.hint_index);
        break;
    case CRAFT_MSG_TIMEOUT_NOW:
        break;
    case CRAFT_MSG_READ_INDEX:
        put_u64le(p, m->read.id);
        break;
    case CRAFT_MSG_READ_INDEX_RESP:
        put_u64le(p, m->read.id);
        put_u64le(p + 8, m->read.index);
        p[16] = m->read.ok ? 1 : 0;
        break;
    default:
        CRAFT_ASSERT(!"unknown message type");
    }
}

/* The entries of an AppendEntries, n of them in p[0..len) exactly, into the scratch. */
static int entries_get(const unsigned char *p, size_t len, struct craft_msg_append *a,
                       struct wire_scratch *scratch, char *errmsg, size_t errmsg_len)
{
    uint32_t n = a->n_entries;
    if (n > WIRE_ENTRIES_MAX) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "append: %u entries, limit %u", n,
                         WIRE_ENTRIES_MAX);
    }
    if (n > len / WIRE_ENTRY_FIXED) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                         "append: %u entries cannot fit %zu bytes", n, len);
    }
    if (a->prev_index > UINT64_MAX - n) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                         "append: prev_index %llu + %u entries overflows",
                         (unsigned long long)a->prev_index, n);
    }
    if (n > 0 &&
        !craft_grow((void **)&scratch->entries, &scratch->cap, n, sizeof *scratch->entries)) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ENOMEM, "append: no memory for %u entries", n);
    }
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (len - off < WIRE_ENTRY_FIXED) {
            return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                             "append: entry %u: header cut short", i);
        }
        struct craft_entry *e = &scratch->entries[i];
        const unsigned char *q = p + off;
        e->term = get_u64le(q);
        e->index = get_u64le(q + 8);
        e->type = q[16];
        size_t data_len = get_u32le(q + 17);
        off += WIRE_ENTRY_FIXED;
        if (e->index != a->prev_index + 1 + i) {
            return wire_fail(
                errmsg, errmsg_len, CRAFT_ECORRUPT, "append: entry %u: index %llu, expected %llu",
                i, (unsigned long long)e->index, (unsigned long long)(a->prev_index + 1 + i));
        }
        if (!entry_type_known(e->type)) {
            return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                             "append: entry %u: unknown entry type %u", i, (unsigned)e->type);
        }
        if (data_len > len - off) {
            return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                             "append: entry %u: %zu data bytes, %zu left", i, data_len, len - off);
        }
        e->data.base = data_len > 0 ? p + off : NULL;
        e->data.len = data_len;
        off += data_len;
    }
    if (off != len) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                         "append: %zu trailing bytes after the entries", len - off);
    }
    a->entries = n > 0 ? scratch->entries : NULL;
    return 0;
}

static int append_get(const unsigned char *p, size_t len, struct craft_msg_append *a,
                      struct wire_scratch *scratch, char *errmsg, size_t errmsg_len)
{
    const size_t fixed = WIRE_APPEND_FIXED - TERM_BYTES;
    if (len < fixed) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                         "append: body of %zu bytes, short of %u", len + TERM_BYTES,
                         WIRE_APPEND_FIXED);
    }
    a->prev_index = get_u64le(p);
    a->prev_term = get_u64le(p + 8);
    a->commit = get_u64le(p + 16);
    a->round = get_u64le(p + 24);
    a->n_entries = get_u32le(p + 32);
    return entries_get(p + fixed, len - fixed, a, scratch, errmsg, errmsg_len);
}

int wire_msg_body_get(uint32_t type, const unsigned char *body, size_t len,
                      struct wire_scratch *scratch, struct craft_msg *m, char *errmsg,
                      size_t errmsg_len)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    CRAFT_ASSERT(type >= CRAFT_MSG_PREVOTE && type <= CRAFT_MSG_TYPE_MAX); /* the header's check */
    const char *what = wire_frame_type_name((uint8_t)(WIRE_FRAME_MSG + type));
    int rv = 0;
    if (type == CRAFT_MSG_APPEND) {
        if (len < TERM_BYTES) {
            return wire_body_fixed(what, len, WIRE_APPEND_FIXED, errmsg, errmsg_len);
        }
        m->term = get_u64le(body);
        return append_get(body + TERM_BYTES, len - TERM_BYTES, &m->append, scratch, errmsg,
                          errmsg_len);
    }
    rv = wire_body_fixed(what, len, wire_msg_body_size(m), errmsg, errmsg_len);
    if (rv != 0) {
        return rv;
    }
    m->term = get_u64le(body);
    const unsigned char *p = body + TERM_BYTES;
    switch (type) {
    case CRAFT_MSG_PREVOTE:
    case CRAFT_MSG_VOTE:
        m->vote.last_index = get_u64le(p);
        m->vote.last_term = get_u64le(p + 8);
        return wire_get_bool(p + 16, "vote: transfer", &m->vote.transfer, errmsg, errmsg_len);
    case CRAFT_MSG_PREVOTE_RESP:
    case CRAFT_MSG_VOTE_RESP:
        return wire_get_bool(p, "vote-resp: granted", &m->vote_resp.granted, errmsg, errmsg_len);
    case CRAFT_MSG_APPEND_RESP:
        m->append_resp.round = get_u64le(p + 1);
        m->append_resp.index = get_u64le(p + 9);
        m->append_resp.hint_term = get_u64le(p + 17);
        m->append_resp.hint_index = get_u64le(p + 25);
        return wire_get_bool(p, "append-resp: success", &m->append_resp.success, errmsg,
                             errmsg_len);
    case CRAFT_MSG_TIMEOUT_NOW:
        return 0;
    case CRAFT_MSG_READ_INDEX:
        m->read.id = get_u64le(p);
        return 0;
    case CRAFT_MSG_READ_INDEX_RESP:
        m->read.id = get_u64le(p);
        m->read.index = get_u64le(p + 8);
        return wire_get_bool(p + 16, "read-index-resp: ok", &m->read.ok, errmsg, errmsg_len);
    }
    return rv;
}
