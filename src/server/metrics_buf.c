/* The growable text buffer the metrics renderer and HTTP responses are printed into. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server/metrics_internal.h"
#include "util/alloc.h"
#include "util/assert.h"

void metrics_buf_init(struct metrics_buf *b)
{
    memset(b, 0, sizeof *b);
}

/* Room for need more bytes and a NUL. */
static bool reserve(struct metrics_buf *b, size_t need)
{
    if (b->failed) {
        return false;
    }
    if (b->len + need + 1 <= b->cap) {
        return true;
    }
    size_t cap = b->cap == 0 ? 4096 : b->cap;
    while (cap < b->len + need + 1) {
        cap *= 2;
    }
    char *data = craft_realloc(b->data, cap);
    if (data == NULL) {
        b->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

void metrics_buf_append(struct metrics_buf *b, const void *data, size_t len)
{
    if (!reserve(b, len)) {
        return;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    CRAFT_ASSERT(n >= 0); /* our formats only */
    if (!reserve(b, (size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    int written = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    CRAFT_ASSERT(written == n);
    b->len += (size_t)n;
}

char *metrics_buf_take(struct metrics_buf *b, size_t *len)
{
    char *out = NULL;
    if (!b->failed && reserve(b, 0)) {
        out = b->data;
        *len = b->len;
    } else {
        craft_free(b->data);
        *len = 0;
    }
    metrics_buf_init(b);
    return out;
}
