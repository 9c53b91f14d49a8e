/* A growable buffer of encoded frames, for a writer that batches many frames into one write. */
#include "util/alloc.h"
#include "util/assert.h"
#include "wire_internal.h"

void wire_buf_init(struct wire_buf *b)
{
    b->base = NULL; /* owned by b once the first frame is appended */
    b->len = 0;
    b->cap = 0;
}

void wire_buf_close(struct wire_buf *b)
{
    craft_free(b->base);
    wire_buf_init(b);
}

void wire_buf_reset(struct wire_buf *b)
{
    b->len = 0;
}

/* Makes room for a frame of size bytes at the end; 0, CRAFT_ETOOBIG or CRAFT_ENOMEM. */
static int reserve(struct wire_buf *b, size_t size)
{
    CRAFT_ASSERT(b->len <= b->cap);
    if (size - WIRE_HEADER_BYTES > WIRE_BODY_LIMIT || size > SIZE_MAX - b->len) {
        return CRAFT_ETOOBIG;
    }
    if (!craft_grow((void **)&b->base, &b->cap, b->len + size, 1)) {
        return CRAFT_ENOMEM;
    }
    return 0;
}

int wire_buf_append_msg(struct wire_buf *b, uint64_t group, const struct craft_msg *m)
{
    size_t size = wire_msg_size(m);
    int rv = reserve(b, size);
    if (rv == 0) {
        b->len += wire_encode_msg(group, m, b->base + b->len, b->cap - b->len);
    }
    return rv;
}

int wire_buf_append_hello(struct wire_buf *b, const struct wire_hello *h, craft_id to)
{
    int rv = reserve(b, wire_hello_size());
    if (rv == 0) {
        b->len += wire_encode_hello(h, to, b->base + b->len, b->cap - b->len);
    }
    return rv;
}

int wire_buf_append_chunk(struct wire_buf *b, uint64_t group, craft_id from, craft_id to,
                          const struct wire_snap_chunk *c)
{
    int rv = reserve(b, wire_chunk_size(c));
    if (rv == 0) {
        b->len += wire_encode_chunk(group, from, to, c, b->base + b->len, b->cap - b->len);
    }
    return rv;
}

int wire_buf_append_ack(struct wire_buf *b, uint64_t group, craft_id from, craft_id to,
                        const struct wire_snap_ack *a)
{
    int rv = reserve(b, wire_ack_size());
    if (rv == 0) {
        b->len += wire_encode_ack(group, from, to, a, b->base + b->len, b->cap - b->len);
    }
    return rv;
}
