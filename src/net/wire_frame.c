/* The frame header (docs/WIRE_FORMAT.md, "Header"): measuring a frame in a stream of bytes,
 * checking and sealing the header, and decoding a whole frame by handing its body to the codec
 * of its type. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/byteorder.h"
#include "util/crc32c.h"
#include "wire_internal.h"

int wire_fail(char *errmsg, size_t errmsg_len, int rv, const char *fmt, ...)
{
    CRAFT_ASSERT(rv < 0);
    if (errmsg != NULL && errmsg_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errmsg, errmsg_len, fmt, ap);
        va_end(ap);
    }
    return rv;
}

int wire_body_fixed(const char *what, size_t len, size_t want, char *errmsg, size_t errmsg_len)
{
    if (len < want) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "%s: body of %zu bytes, short of %zu",
                         what, len, want);
    }
    if (len > want) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                         "%s: %zu trailing bytes after the body", what, len - want);
    }
    return 0;
}

int wire_get_bool(const unsigned char *p, const char *field, bool *out, char *errmsg,
                  size_t errmsg_len)
{
    if (*p > 1) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "%s: %u is not 0 or 1", field, *p);
    }
    *out = *p == 1;
    return 0;
}

void wire_scratch_init(struct wire_scratch *s)
{
    s->entries = NULL; /* owned by s from the first AppendEntries decoded on */
    s->cap = 0;
}

void wire_scratch_close(struct wire_scratch *s)
{
    craft_free(s->entries);
    wire_scratch_init(s);
}

static bool type_known(uint8_t type)
{
    return type == WIRE_FRAME_HELLO || type == WIRE_FRAME_SNAP_CHUNK ||
           type == WIRE_FRAME_SNAP_ACK || (type > WIRE_FRAME_MSG && type <= WIRE_FRAME_MSG_LAST);
}

const char *wire_frame_type_name(uint8_t type)
{
    static const char *const msgs[] = {"prevote",     "prevote-resp", "vote",
                                       "vote-resp",   "append",       "append-resp",
                                       "timeout-now", "read-index",   "read-index-resp"};
    static_assert(sizeof msgs / sizeof msgs[0] == CRAFT_MSG_TYPE_MAX, "a name per message");
    switch (type) {
    case WIRE_FRAME_HELLO:
        return "hello";
    case WIRE_FRAME_SNAP_CHUNK:
        return "snap-chunk";
    case WIRE_FRAME_SNAP_ACK:
        return "snap-ack";
    }
    return type_known(type) ? msgs[type - WIRE_FRAME_MSG - 1] : "?";
}

/* The magic bytes present in b[0..avail) (any prefix of them) are ours. */
static bool magic_prefix_ok(const unsigned char *b, size_t avail)
{
    unsigned char magic[4];
    put_u32le(magic, WIRE_MAGIC);
    return memcmp(b, magic, avail < 4 ? avail : 4) == 0;
}

/* Checks a whole header's fixed fields: magic, version, type, flags, length. */
static int header_check(const unsigned char *b, size_t max_body, char *errmsg, size_t errmsg_len)
{
    if (!magic_prefix_ok(b, 4)) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "magic: 0x%08x is not a craft frame",
                         (unsigned)get_u32le(b + WIRE_OFF_MAGIC));
    }
    if (b[WIRE_OFF_VERSION] != WIRE_VERSION) {
        return wire_fail(errmsg, errmsg_len, CRAFT_EINVAL, "version: %u, this node speaks %u",
                         b[WIRE_OFF_VERSION], WIRE_VERSION);
    }
    if (!type_known(b[WIRE_OFF_TYPE])) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "type: unknown frame type %u",
                         b[WIRE_OFF_TYPE]);
    }
    if (get_u16le(b + WIRE_OFF_FLAGS) != 0) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "flags: reserved 0x%04x not zero",
                         get_u16le(b + WIRE_OFF_FLAGS));
    }
    uint32_t body = get_u32le(b + WIRE_OFF_LENGTH);
    if (body > max_body) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ETOOBIG, "length: body of %u bytes, limit %zu",
                         (unsigned)body, max_body);
    }
    return 0;
}

int wire_frame_size(const void *buf, size_t avail, size_t max_body, size_t *need, char *errmsg,
                    size_t errmsg_len)
{
    const unsigned char *b = buf;
    CRAFT_ASSERT(buf != NULL || avail == 0);
    if (avail < WIRE_HEADER_BYTES) {
        /* Refuse garbage as early as its first byte, not after 40 of them. */
        if (!magic_prefix_ok(b, avail)) {
            return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "magic: not a craft frame");
        }
        *need = WIRE_HEADER_BYTES;
        return 0;
    }
    int rv = header_check(b, max_body, errmsg, errmsg_len);
    if (rv != 0) {
        return rv;
    }
    *need = WIRE_HEADER_BYTES + (size_t)get_u32le(b + WIRE_OFF_LENGTH);
    CRAFT_ASSERT(*need >= WIRE_HEADER_BYTES);
    return 0;
}

static uint32_t frame_crc(const unsigned char *b, size_t body_len)
{
    uint32_t crc = crc32c(0, b, WIRE_OFF_CRC);
    return crc32c(crc, b + WIRE_HEADER_BYTES, body_len);
}

void wire_header_seal(unsigned char *b, uint8_t type, uint64_t group, craft_id from, craft_id to,
                      size_t body_len)
{
    CRAFT_ASSERT(type_known(type));
    CRAFT_ASSERT(body_len <= WIRE_BODY_LIMIT);
    put_u32le(b + WIRE_OFF_MAGIC, WIRE_MAGIC);
    b[WIRE_OFF_VERSION] = WIRE_VERSION;
    b[WIRE_OFF_TYPE] = type;
    put_u16le(b + WIRE_OFF_FLAGS, 0);
    put_u64le(b + WIRE_OFF_GROUP, group);
    put_u64le(b + WIRE_OFF_FROM, from);
    put_u64le(b + WIRE_OFF_TO, to);
    put_u32le(b + WIRE_OFF_LENGTH, (uint32_t)body_len);
    put_u32le(b + WIRE_OFF_CRC, frame_crc(b, body_len));
}

/* The ids of the header: a hello belongs to the connection (group 0) and names its sender;
 * everything else belongs to a group and goes between two different nodes. */
static int ids_check(const struct wire_frame *f, char *errmsg, size_t errmsg_len)
{
    const char *name = wire_frame_type_name(f->type);
    if (f->type == WIRE_FRAME_HELLO) {
        if (f->group != 0) {
            return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "hello: group %llu is not 0",
                             (unsigned long long)f->group);
        }
        if (f->from != f->hello.node) {
            return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                             "hello: node %llu is not the header's from %llu",
                             (unsigned long long)f->hello.node, (unsigned long long)f->from);
        }
        return 0;
    }
    if (f->group == 0) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "%s: group 0 is the connection's",
                         name);
    }
    if (f->from == CRAFT_ID_NONE || f->to == CRAFT_ID_NONE) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "%s: %s is node 0", name,
                         f->from == CRAFT_ID_NONE ? "from" : "to");
    }
    if (f->from == f->to) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "%s: from and to are both %llu", name,
                         (unsigned long long)f->from);
    }
    return 0;
}

int wire_decode(const void *buf, size_t len, struct wire_scratch *scratch, struct wire_frame *frame,
                char *errmsg, size_t errmsg_len)
{
    const unsigned char *b = buf;
    CRAFT_ASSERT(scratch != NULL);
    CRAFT_ASSERT(frame != NULL);
    if (len < WIRE_HEADER_BYTES) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "length: %zu bytes, no whole header",
                         len);
    }
    int rv = header_check(b, WIRE_BODY_LIMIT, errmsg, errmsg_len);
    if (rv != 0) {
        return rv;
    }
    size_t body_len = get_u32le(b + WIRE_OFF_LENGTH);
    if (len - WIRE_HEADER_BYTES != body_len) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                         "length: header says %zu body bytes, frame has %zu", body_len,
                         len - WIRE_HEADER_BYTES);
    }
    if (get_u32le(b + WIRE_OFF_CRC) != frame_crc(b, body_len)) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "crc: checksum mismatch");
    }
    memset(frame, 0, sizeof *frame);
    frame->type = b[WIRE_OFF_TYPE];
    frame->group = get_u64le(b + WIRE_OFF_GROUP);
    frame->from = get_u64le(b + WIRE_OFF_FROM);
    frame->to = get_u64le(b + WIRE_OFF_TO);
    const unsigned char *body = b + WIRE_HEADER_BYTES;
    switch (frame->type) {
    case WIRE_FRAME_HELLO:
        rv = wire_hello_body_get(body, body_len, &frame->hello, errmsg, errmsg_len);
        break;
    case WIRE_FRAME_SNAP_CHUNK:
        rv = wire_chunk_body_get(body, body_len, &frame->chunk, errmsg, errmsg_len);
        break;
    case WIRE_FRAME_SNAP_ACK:
        rv = wire_ack_body_get(body, body_len, &frame->ack, errmsg, errmsg_len);
        break;
    default:
        rv = wire_msg_body_get(frame->type - WIRE_FRAME_MSG, body, body_len, scratch, &frame->msg,
                               errmsg, errmsg_len);
        frame->msg.from = frame->from;
        frame->msg.to = frame->to;
        break;
    }
    if (rv != 0) {
        return rv;
    }
    return ids_check(frame, errmsg, errmsg_len);
}

int wire_check_route(const struct wire_frame *f, craft_id peer, craft_id self, char *errmsg,
                     size_t errmsg_len)
{
    CRAFT_ASSERT(f->type != WIRE_FRAME_HELLO);
    if (f->from != peer) {
        return wire_fail(
            errmsg, errmsg_len, CRAFT_EMISMATCH, "%s: from %llu, but the connection is to %llu",
            wire_frame_type_name(f->type), (unsigned long long)f->from, (unsigned long long)peer);
    }
    if (f->to != self) {
        return wire_fail(errmsg, errmsg_len, CRAFT_EMISMATCH, "%s: to %llu, but this node is %llu",
                         wire_frame_type_name(f->type), (unsigned long long)f->to,
                         (unsigned long long)self);
    }
    return 0;
}
