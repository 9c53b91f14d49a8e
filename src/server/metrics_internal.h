/* What metrics.c, metrics_buf.c and metrics_http.c share: a growable text buffer, and the HTTP
 * server's slot in the registry. */
#ifndef CRAFT_SERVER_METRICS_INTERNAL_H
#define CRAFT_SERVER_METRICS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "server/metrics.h"

/* A text buffer that grows as it is printed to; after an allocation failure it stays failed and
 * metrics_buf_take gives NULL, so a renderer checks once, at the end. */
struct metrics_buf {
    char *data; /* owned until metrics_buf_take */
    size_t len;
    size_t cap;
    bool failed;
};

void metrics_buf_init(struct metrics_buf *b);
void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void metrics_buf_append(struct metrics_buf *b, const void *data, size_t len);
/* Hands the text (len bytes, NUL-terminated, craft_free'd by the caller) over, or NULL after a
 * failure (the buffer is freed then). The buffer is empty again afterwards. */
char *metrics_buf_take(struct metrics_buf *b, size_t *len);

struct metrics_http; /* metrics_http.c */
/* The registry's pointer to its HTTP server (NULL: not serving). */
struct metrics_http **metrics_http_slot(struct metrics *m);
struct metrics_http *metrics_http_of(struct metrics *m);
/* Runs the refresh callback, if any (before a scrape renders). */
void metrics_run_refresh(struct metrics *m);

#endif
