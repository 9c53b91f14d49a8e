/* The RESP2 reply builder (resp_reply.h): a growable buffer whose first allocation failure is
 * sticky, so a command appends freely and its owner checks resp_reply_failed once. */
#include "kv/resp_reply.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"

void resp_reply_init(struct resp_reply *r)
{
    r->data = NULL;
    r->len = 0;
    r->cap = 0;
    r->failed = false;
}

void resp_reply_close(struct resp_reply *r)
{
    craft_free(r->data);
    resp_reply_init(r);
}

void resp_reply_clear(struct resp_reply *r)
{
    r->len = 0;
    r->failed = false;
}

bool resp_reply_failed(const struct resp_reply *r)
{
    return r->failed;
}

/* Room for n more bytes, or false (and the reply marked failed). */
static bool reserve(struct resp_reply *r, size_t n)
{
    if (r->failed) {
        return false;
    }
    if (n > SIZE_MAX - r->len) {
        r->failed = true;
        return false;
    }
    void *p = r->data;
    if (!craft_grow(&p, &r->cap, r->len + n, 1)) {
        r->failed = true;
        return false;
    }
    r->data = p;
    return true;
}

void resp_reply_raw(struct resp_reply *r, const void *p, size_t n)
{
    if (!reserve(r, n)) {
        return;
    }
    if (n > 0) {
        memcpy(r->data + r->len, p, n);
    }
    r->len += n;
}

/* A type byte, a decimal number and CRLF: ":42", "*3", "$5". */
static void prefixed_number(struct resp_reply *r, char type, int64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%c%" PRId64 "\r\n", type, v);
    CRAFT_ASSERT(n > 0);
    CRAFT_ASSERT((size_t)n < sizeof buf);
    resp_reply_raw(r, buf, (size_t)n);
}

/* A line of text after a type byte; CR and LF inside would break the framing, so they become
 * spaces (as Redis does for error strings). */
static void line(struct resp_reply *r, char type, const char *s, size_t n)
{
    if (!reserve(r, n + 3)) {
        return;
    }
    char *d = r->data + r->len;
    d[0] = type;
    for (size_t i = 0; i < n; i++) {
        d[1 + i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
    }
    d[n + 1] = '\r';
    d[n + 2] = '\n';
    r->len += n + 3;
}

void resp_reply_simple(struct resp_reply *r, const char *s)
{
    line(r, '+', s, strlen(s));
}

void resp_reply_error(struct resp_reply *r, const char *s)
{
    line(r, '-', s, strlen(s));
}

void resp_reply_errorf(struct resp_reply *r, const char *fmt, ...)
{
    char buf[512]; /* error texts are short; a longer one is cut, never overflowed */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    line(r, '-', buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void resp_reply_integer(struct resp_reply *r, int64_t v)
{
    prefixed_number(r, ':', v);
}

void resp_reply_bulk(struct resp_reply *r, const void *p, size_t n)
{
    prefixed_number(r, '$', (int64_t)n);
    resp_reply_raw(r, p, n);
    resp_reply_raw(r, "\r\n", 2);
}

void resp_reply_bulk_cstr(struct resp_reply *r, const char *s)
{
    resp_reply_bulk(r, s, strlen(s));
}

void resp_reply_null(struct resp_reply *r)
{
    resp_reply_raw(r, "$-1\r\n", 5);
}

void resp_reply_null_array(struct resp_reply *r)
{
    resp_reply_raw(r, "*-1\r\n", 5);
}

void resp_reply_array(struct resp_reply *r, int64_t n)
{
    prefixed_number(r, '*', n);
}
