/* A connection's outgoing bytes: what is being written (flight) and what waits for that write
 * to end (out). The two buffers swap, so a write never copies and appends never wait. */
#ifndef CRAFT_SERVER_WBUF_H
#define CRAFT_SERVER_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct wbuf {
    char *out; /* owned */
    size_t out_len, out_cap;
    char *flight; /* owned: the bytes of the write in progress */
    size_t flight_len, flight_cap;
};

void wbuf_init(struct wbuf *b);
void wbuf_close(struct wbuf *b);
/* Appends n bytes to out. false when out of memory (nothing appended). */
bool wbuf_append(struct wbuf *b, const void *p, size_t n);
/* Moves out to flight for a write and describes it in *buf; false when a write is in progress
 * or nothing waits. */
bool wbuf_take(struct wbuf *b, uv_buf_t *buf);
/* The write of flight ended: its buffer takes the next appends (memory past keep is freed). */
void wbuf_written(struct wbuf *b, size_t keep);
/* Bytes not yet written. */
size_t wbuf_pending(const struct wbuf *b);
/* Drops bytes appended since out held mark bytes (an append that must be undone). */
void wbuf_truncate(struct wbuf *b, size_t mark);

#endif
