/* Encoding frames into a caller's buffer (docs/WIRE_FORMAT.md). In builds with assertions of
 * the debug kind (no NDEBUG) every frame is decoded again and must give back what was encoded:
 * both sides of the boundary, as STYLE.md asks of a codec. */
#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "wire_internal.h"

size_t wire_msg_size(const struct craft_msg *m)
{
    return WIRE_HEADER_BYTES + wire_msg_body_size(m);
}

size_t wire_hello_size(void)
{
    return WIRE_HEADER_BYTES + WIRE_HELLO_BYTES;
}

size_t wire_chunk_size(const struct wire_snap_chunk *c)
{
    return WIRE_HEADER_BYTES + WIRE_CHUNK_FIXED + (size_t)c->len;
}

size_t wire_ack_size(void)
{
    return WIRE_HEADER_BYTES + WIRE_ACK_BYTES;
}

/* Decodes the frame just written and compares it with what was meant. */
static void roundtrip_check(const void *buf, size_t len, const struct wire_frame *want)
{
#ifdef NDEBUG
    (void)buf;
    (void)len;
    (void)want;
#else
    struct wire_scratch scratch;
    struct wire_frame got;
    char errmsg[128];
    wire_scratch_init(&scratch);
    int rv = wire_decode(buf, len, &scratch, &got, errmsg, sizeof errmsg);
    if (rv == CRAFT_ENOMEM) {
        return; /* nothing to learn; the check must not turn a test's injected failure fatal */
    }
    if (rv != 0) {
        fprintf(stderr, "wire: encoded %s frame does not decode: %s\n",
                wire_frame_type_name(want->type), errmsg);
    }
    CRAFT_ASSERT(rv == 0);
    CRAFT_ASSERT(wire_frame_equal(&got, want));
    wire_scratch_close(&scratch);
#endif
}

size_t wire_encode_msg(uint64_t group, const struct craft_msg *m, void *buf, size_t cap)
{
    wire_msg_assert_valid(m);
    CRAFT_ASSERT(group != 0);
    size_t body = wire_msg_body_size(m);
    CRAFT_ASSERT(body <= WIRE_BODY_LIMIT);
    CRAFT_ASSERT(cap >= WIRE_HEADER_BYTES + body);
    unsigned char *b = buf;
    wire_msg_body_put(m, b + WIRE_HEADER_BYTES);
    wire_header_seal(b, (uint8_t)(WIRE_FRAME_MSG + m->type), group, m->from, m->to, body);
    struct wire_frame f = {.type = (uint8_t)(WIRE_FRAME_MSG + m->type),
                           .group = group,
                           .from = m->from,
                           .to = m->to,
                           .msg = *m};
    roundtrip_check(b, WIRE_HEADER_BYTES + body, &f);
    return WIRE_HEADER_BYTES + body;
}

size_t wire_encode_hello(const struct wire_hello *h, craft_id to, void *buf, size_t cap)
{
    CRAFT_ASSERT(cap >= wire_hello_size());
    unsigned char *b = buf;
    wire_hello_body_put(h, b + WIRE_HEADER_BYTES);
    wire_header_seal(b, WIRE_FRAME_HELLO, 0, h->node, to, WIRE_HELLO_BYTES);
    struct wire_frame f = {
        .type = WIRE_FRAME_HELLO, .group = 0, .from = h->node, .to = to, .hello = *h};
    roundtrip_check(b, wire_hello_size(), &f);
    return wire_hello_size();
}

/* The header's ids of a stream frame, asserted as wire_decode checks them. */
static void assert_stream_ids(uint64_t group, craft_id from, craft_id to)
{
    CRAFT_ASSERT(group != 0);
    CRAFT_ASSERT(from != CRAFT_ID_NONE);
    CRAFT_ASSERT(to != CRAFT_ID_NONE);
    CRAFT_ASSERT(from != to);
}

size_t wire_encode_chunk(uint64_t group, craft_id from, craft_id to,
                         const struct wire_snap_chunk *c, void *buf, size_t cap)
{
    assert_stream_ids(group, from, to);
    size_t size = wire_chunk_size(c);
    CRAFT_ASSERT(size - WIRE_HEADER_BYTES <= WIRE_BODY_LIMIT);
    CRAFT_ASSERT(cap >= size);
    unsigned char *b = buf;
    wire_chunk_body_put(c, b + WIRE_HEADER_BYTES);
    wire_header_seal(b, WIRE_FRAME_SNAP_CHUNK, group, from, to, size - WIRE_HEADER_BYTES);
    struct wire_frame f = {
        .type = WIRE_FRAME_SNAP_CHUNK, .group = group, .from = from, .to = to, .chunk = *c};
    roundtrip_check(b, size, &f);
    return size;
}

size_t wire_encode_ack(uint64_t group, craft_id from, craft_id to, const struct wire_snap_ack *a,
                       void *buf, size_t cap)
{
    assert_stream_ids(group, from, to);
    CRAFT_ASSERT(cap >= wire_ack_size());
    unsigned char *b = buf;
    wire_ack_body_put(a, b + WIRE_HEADER_BYTES);
    wire_header_seal(b, WIRE_FRAME_SNAP_ACK, group, from, to, WIRE_ACK_BYTES);
    struct wire_frame f = {
        .type = WIRE_FRAME_SNAP_ACK, .group = group, .from = from, .to = to, .ack = *a};
    roundtrip_check(b, wire_ack_size(), &f);
    return wire_ack_size();
}
