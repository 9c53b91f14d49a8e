/* Shared by the kv fuzz targets: an in-memory byte stream that snapshots are written to and
 * read back from (kv_snapshot.h's stream functions). */
#ifndef CRAFT_FUZZ_KV_H
#define CRAFT_FUZZ_KV_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

struct fuzz_stream {
    unsigned char *data; /* malloc'd by fuzz_stream_write */
    size_t len;
    size_t pos;
    size_t piece; /* reads return at most this much */
};

static inline int fuzz_stream_write(void *ctx, const void *p, size_t n)
{
    struct fuzz_stream *b = ctx;
    unsigned char *d = realloc(b->data, b->len + n);
    FUZZ_CHECK(d != NULL);
    memcpy(d + b->len, p, n);
    b->data = d;
    b->len += n;
    return 0;
}

static inline int fuzz_stream_read(void *ctx, void *p, size_t n, size_t *got)
{
    struct fuzz_stream *b = ctx;
    size_t k = b->len - b->pos;
    k = k < n ? k : n;
    k = k < b->piece ? k : b->piece;
    if (k > 0) {
        memcpy(p, b->data + b->pos, k);
    }
    b->pos += k;
    *got = k;
    return 0;
}

#endif
