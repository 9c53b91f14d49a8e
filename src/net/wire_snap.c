/* The snapshot stream's bodies (docs/WIRE_FORMAT.md, "Snapshot stream"): a chunk of the
 * snapshot file's raw bytes with its own CRC-32C, and the follower's answer with the offset it
 * holds (ARCHITECTURE.md, "Snapshots and log compaction"). */
#include <string.h>

#include "util/assert.h"
#include "util/byteorder.h"
#include "util/crc32c.h"
#include "wire_internal.h"

void wire_chunk_body_put(const struct wire_snap_chunk *c, unsigned char *body)
{
    CRAFT_ASSERT(c->len >= 1);
    CRAFT_ASSERT(c->data != NULL);
    CRAFT_ASSERT(c->offset <= c->total);
    CRAFT_ASSERT(c->len <= c->total - c->offset);
    CRAFT_ASSERT(c->snap_index >= 1);
    CRAFT_ASSERT(c->snap_term >= 1);
    put_u64le(body, c->term);
    put_u64le(body + 8, c->snap_index);
    put_u64le(body + 16, c->snap_term);
    put_u64le(body + 24, c->total);
    put_u64le(body + 32, c->offset);
    put_u32le(body + 40, crc32c(0, c->data, c->len));
    put_u32le(body + 44, c->len);
    memcpy(body + WIRE_CHUNK_FIXED, c->data, c->len);
}

int wire_chunk_body_get(const unsigned char *body, size_t len, struct wire_snap_chunk *c,
                        char *errmsg, size_t errmsg_len)
{
    if (len < WIRE_CHUNK_FIXED) {
        return wire_body_fixed("snap-chunk", len, WIRE_CHUNK_FIXED, errmsg, errmsg_len);
    }
    c->term = get_u64le(body);
    c->snap_index = get_u64le(body + 8);
    c->snap_term = get_u64le(body + 16);
    c->total = get_u64le(body + 24);
    c->offset = get_u64le(body + 32);
    uint32_t crc = get_u32le(body + 40);
    c->len = get_u32le(body + 44);
    c->data = body + WIRE_CHUNK_FIXED;
    if (c->snap_index == 0 || c->snap_term == 0) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "snap-chunk: snapshot %s 0",
                         c->snap_index == 0 ? "index" : "term");
    }
    if (c->len == 0) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "snap-chunk: empty chunk");
    }
    if (c->len != len - WIRE_CHUNK_FIXED) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT,
                         "snap-chunk: len %u, the body holds %zu bytes", (unsigned)c->len,
                         len - WIRE_CHUNK_FIXED);
    }
    if (c->offset > c->total || c->len > c->total - c->offset) {
        return wire_fail(
            errmsg, errmsg_len, CRAFT_ECORRUPT, "snap-chunk: offset %llu + len %u past total %llu",
            (unsigned long long)c->offset, (unsigned)c->len, (unsigned long long)c->total);
    }
    if (crc32c(0, c->data, c->len) != crc) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "snap-chunk: chunk crc mismatch");
    }
    return 0;
}

void wire_ack_body_put(const struct wire_snap_ack *a, unsigned char *body)
{
    CRAFT_ASSERT(a->snap_index >= 1);
    CRAFT_ASSERT(a->snap_term >= 1);
    put_u64le(body, a->term);
    put_u64le(body + 8, a->snap_index);
    put_u64le(body + 16, a->snap_term);
    put_u64le(body + 24, a->offset);
    body[32] = a->done ? 1 : 0;
}

int wire_ack_body_get(const unsigned char *body, size_t len, struct wire_snap_ack *a, char *errmsg,
                      size_t errmsg_len)
{
    int rv = wire_body_fixed("snap-ack", len, WIRE_ACK_BYTES, errmsg, errmsg_len);
    if (rv != 0) {
        return rv;
    }
    a->term = get_u64le(body);
    a->snap_index = get_u64le(body + 8);
    a->snap_term = get_u64le(body + 16);
    a->offset = get_u64le(body + 24);
    if (a->snap_index == 0 || a->snap_term == 0) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "snap-ack: snapshot %s 0",
                         a->snap_index == 0 ? "index" : "term");
    }
    return wire_get_bool(body + 32, "snap-ack: done", &a->done, errmsg, errmsg_len);
}
