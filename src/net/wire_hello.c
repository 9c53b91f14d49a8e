/* The handshake body (docs/WIRE_FORMAT.md, "Hello"): which cluster and node the sender is and
 * the frame versions it speaks. The caller decides whether to accept the peer. */
#include "util/assert.h"
#include "util/byteorder.h"
#include "wire_internal.h"

void wire_hello_body_put(const struct wire_hello *h, unsigned char *body)
{
    CRAFT_ASSERT(h->node != CRAFT_ID_NONE);
    CRAFT_ASSERT(h->version_min >= 1);
    CRAFT_ASSERT(h->version_min <= h->version_max);
    put_u64le(body, h->cluster);
    put_u64le(body + 8, h->node);
    put_u16le(body + 16, h->version_min);
    put_u16le(body + 18, h->version_max);
    put_u32le(body + 20, 0);
}

int wire_hello_body_get(const unsigned char *body, size_t len, struct wire_hello *h, char *errmsg,
                        size_t errmsg_len)
{
    int rv = wire_body_fixed("hello", len, WIRE_HELLO_BYTES, errmsg, errmsg_len);
    if (rv != 0) {
        return rv;
    }
    h->cluster = get_u64le(body);
    h->node = get_u64le(body + 8);
    h->version_min = get_u16le(body + 16);
    h->version_max = get_u16le(body + 18);
    if (h->node == CRAFT_ID_NONE) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "hello: node 0");
    }
    if (h->version_min == 0 || h->version_min > h->version_max) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "hello: version range [%u, %u]",
                         h->version_min, h->version_max);
    }
    if (get_u32le(body + 20) != 0) {
        return wire_fail(errmsg, errmsg_len, CRAFT_ECORRUPT, "hello: reserved 0x%08x not zero",
                         (unsigned)get_u32le(body + 20));
    }
    return 0;
}

uint16_t wire_hello_agree(const struct wire_hello *mine, const struct wire_hello *theirs)
{
    uint16_t lo = mine->version_min > theirs->version_min ? mine->version_min : theirs->version_min;
    uint16_t hi = mine->version_max < theirs->version_max ? mine->version_max : theirs->version_max;
    return lo <= hi ? hi : 0;
}
