/* A RESP2 reply under construction: a growable byte buffer and the appenders of each RESP2
 * type. An allocation failure is sticky: the buffer is marked failed, later appends do nothing,
 * and the owner checks resp_reply_failed once at the end (and answers -ERR out of memory). */
#ifndef CRAFT_KV_RESP_REPLY_H
#define CRAFT_KV_RESP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct resp_reply {
    char *data; /* owned; craft_malloc'd */
    size_t len;
    size_t cap;
    bool failed;
};

void resp_reply_init(struct resp_reply *r);
void resp_reply_close(struct resp_reply *r);
void resp_reply_clear(struct resp_reply *r); /* len = 0, failed = false; keeps the memory */
bool resp_reply_failed(const struct resp_reply *r);

void resp_reply_simple(struct resp_reply *r, const char *s);      /* +OK\r\n */
void resp_reply_error(struct resp_reply *r, const char *s);       /* -ERR ...\r\n (s without '-') */
void resp_reply_errorf(struct resp_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void resp_reply_integer(struct resp_reply *r, int64_t v);         /* :42\r\n */
void resp_reply_bulk(struct resp_reply *r, const void *p, size_t n); /* $3\r\nabc\r\n */
void resp_reply_bulk_cstr(struct resp_reply *r, const char *s);
void resp_reply_null(struct resp_reply *r);                       /* $-1\r\n */
void resp_reply_null_array(struct resp_reply *r);                 /* *-1\r\n */
void resp_reply_array(struct resp_reply *r, int64_t n);           /* *n\r\n, then n values */
void resp_reply_raw(struct resp_reply *r, const void *p, size_t n); /* bytes already RESP */

#endif
