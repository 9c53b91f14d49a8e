/* The double write buffer: see wbuf.h. */
#include "server/wbuf.h"

#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"

void wbuf_init(struct wbuf *b)
{
    memset(b, 0, sizeof *b);
}

void wbuf_close(struct wbuf *b)
{
    craft_free(b->out);
    craft_free(b->flight);
    memset(b, 0, sizeof *b);
}

bool wbuf_append(struct wbuf *b, const void *p, size_t n)
{
    if (!craft_grow((void **)&b->out, &b->out_cap, b->out_len + n, 1)) {
        return false;
    }
    memcpy(b->out + b->out_len, p, n);
    b->out_len += n;
    return true;
}

bool wbuf_take(struct wbuf *b, uv_buf_t *buf)
{
    if (b->flight_len > 0 || b->out_len == 0) {
        return false;
    }
    char *p = b->flight;
    size_t cap = b->flight_cap;
    b->flight = b->out;
    b->flight_cap = b->out_cap;
    b->flight_len = b->out_len;
    b->out = p;
    b->out_cap = cap;
    b->out_len = 0;
    *buf = uv_buf_init(b->flight, (unsigned)b->flight_len);
    return true;
}

void wbuf_written(struct wbuf *b, size_t keep)
{
    CRAFT_ASSERT(b->flight_len > 0);
    b->flight_len = 0;
    if (b->flight_cap > keep) {
        craft_free(b->flight);
        b->flight = NULL;
        b->flight_cap = 0;
    }
}

size_t wbuf_pending(const struct wbuf *b)
{
    return b->out_len + b->flight_len;
}

void wbuf_truncate(struct wbuf *b, size_t mark)
{
    CRAFT_ASSERT(mark <= b->out_len);
    b->out_len = mark;
}
