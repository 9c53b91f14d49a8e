/* The RESP2 request parser: multibulk and inline requests in any pieces, with Redis's limits and
 * error texts (networking.c: processMultibulkBuffer, processInlineBuffer), but stricter than
 * Redis where it is lax: every CR must be followed by LF, and a bulk string by CRLF. */
#include "server/resp_parse.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/int_parse.h"

enum {
    STAGE_START = 0, /* nothing read of this request */
    STAGE_COUNT,     /* multibulk: reading "*N\r\n" */
    STAGE_BULK_HDR,  /* multibulk: reading "$len\r\n" of the next argument */
    STAGE_BULK_DATA, /* multibulk: waiting for the argument's bytes and CRLF */
    STAGE_INLINE,    /* inline: waiting for the line's LF */
    STAGE_FAILED,    /* a protocol error was reported */
};

void resp_limits_default(struct resp_limits *l)
{
    l->bulk_max = RESP_BULK_MAX_DEFAULT;
    l->array_max = RESP_ARRAY_MAX_DEFAULT;
    l->inline_max = RESP_INLINE_MAX_DEFAULT;
}

static void reset(struct resp_parser *p)
{
    p->stage = STAGE_START;
    p->pos = 0;
    p->scan = 0;
    p->n_want = 0;
    p->bulk_len = -1;
    p->n_args = 0;
    p->inline_req = false;
}

void resp_parser_init(struct resp_parser *p, const struct resp_limits *limits)
{
    memset(p, 0, sizeof *p);
    if (limits != NULL) {
        p->limits = *limits;
    } else {
        resp_limits_default(&p->limits);
    }
    reset(p);
}

void resp_parser_close(struct resp_parser *p)
{
    craft_free(p->offs);
    craft_free(p->lens);
    craft_free(p->argv);
    craft_free(p->inline_buf);
    memset(p, 0, sizeof *p);
}

const char *resp_parser_error(const struct resp_parser *p)
{
    return p->error;
}

static int fail(struct resp_parser *p, const char *what)
{
    snprintf(p->error, sizeof p->error, "Protocol error: %s", what);
    p->stage = STAGE_FAILED;
    return RESP_PARSE_ERROR;
}

/* Finds the "\r\n" ending the line that starts at buf[p->pos] (its first byte, the type, is
 * skipped). 1: found, *num_len is the length between the type byte and CR; 0: not yet
 * (p->scan remembers how far was searched); -1: error reported (too_big when the line is past
 * RESP_COUNT_LINE_MAX, bad when a CR is not followed by LF). */
static int find_line(struct resp_parser *p, const char *buf, size_t len, size_t *num_len,
                     const char *too_big, const char *bad)
{
    size_t start = p->pos + 1;
    size_t i = p->scan > start ? p->scan : start;
    const char *cr = i < len ? memchr(buf + i, '\r', len - i) : NULL;
    if (cr == NULL) {
        p->scan = len;
        if (len - p->pos > RESP_COUNT_LINE_MAX) {
            fail(p, too_big);
            return -1;
        }
        return 0;
    }
    i = (size_t)(cr - buf);
    if (i - p->pos > RESP_COUNT_LINE_MAX) {
        fail(p, too_big);
        return -1;
    }
    p->scan = i;
    if (i + 1 >= len) {
        return 0;
    }
    if (buf[i + 1] != '\n') {
        fail(p, bad);
        return -1;
    }
    *num_len = i - start;
    return 1;
}

static bool grow_args(struct resp_parser *p)
{
    if (p->n_args < p->cap) {
        return true;
    }
    size_t cap_offs = p->cap;
    size_t cap_lens = p->cap;
    size_t cap_argv = p->cap;
    if (!craft_grow((void **)&p->offs, &cap_offs, p->n_args + 1, sizeof *p->offs) ||
        !craft_grow((void **)&p->lens, &cap_lens, p->n_args + 1, sizeof *p->lens) ||
        !craft_grow((void **)&p->argv, &cap_argv, p->n_args + 1, sizeof *p->argv)) {
        return false;
    }
    /* Each array grew from the same capacity by the same rule, unless one failed above. */
    CRAFT_ASSERT(cap_offs == cap_lens);
    CRAFT_ASSERT(cap_lens == cap_argv);
    p->cap = cap_offs;
    return true;
}

static int done(struct resp_parser *p, const char *base, size_t used, struct resp_request *req,
                size_t *out_used)
{
    for (size_t i = 0; i < p->n_args; i++) {
        p->argv[i] = base + p->offs[i];
    }
    req->argc = p->n_args;
    req->argv = p->argv;
    req->lens = p->lens;
    *out_used = used;
    reset(p);
    return RESP_PARSE_DONE;
}

static int parse_multibulk(struct resp_parser *p, const char *buf, size_t len,
                           struct resp_request *req, size_t *used, size_t *need)
{
    for (;;) {
        size_t n;
        int64_t v;
        int rv;
        switch (p->stage) {
        case STAGE_COUNT:
            rv = find_line(p, buf, len, &n, "too big mbulk count string",
                           "invalid multibulk length");
            if (rv <= 0) {
                return rv < 0 ? RESP_PARSE_ERROR : RESP_PARSE_MORE;
            }
            /* *0 and the null array *-1 are empty requests (Redis skips them); any other
             * negative count is an error (Redis skips those too; we are stricter). */
            if (!int_parse_i64(buf + p->pos + 1, n, &v) || v > (int64_t)p->limits.array_max ||
                v < -1) {
                return fail(p, "invalid multibulk length");
            }
            p->pos += n + 3;
            p->scan = 0;
            if (v <= 0) {
                p->n_args = 0;
                return done(p, buf, p->pos, req, used);
            }
            p->n_want = v;
            p->stage = STAGE_BULK_HDR;
            break;
        case STAGE_BULK_HDR:
            if (p->pos >= len) {
                *need = p->pos + 1;
                return RESP_PARSE_MORE;
            }
            if (buf[p->pos] != '$') {
                char what[48];
                unsigned char c = (unsigned char)buf[p->pos];
                if (c >= 0x20 && c < 0x7f) {
                    snprintf(what, sizeof what, "expected '$', got '%c'", c);
                } else {
                    snprintf(what, sizeof what, "expected '$', got '\\x%02x'", c);
                }
                return fail(p, what);
            }
            rv = find_line(p, buf, len, &n, "too big bulk count string", "invalid bulk length");
            if (rv <= 0) {
                return rv < 0 ? RESP_PARSE_ERROR : RESP_PARSE_MORE;
            }
            if (!int_parse_i64(buf + p->pos + 1, n, &v) || v < 0 ||
                (uint64_t)v > p->limits.bulk_max) {
                return fail(p, "invalid bulk length");
            }
            p->pos += n + 3;
            p->scan = 0;
            p->bulk_len = v;
            p->stage = STAGE_BULK_DATA;
            break;
        case STAGE_BULK_DATA:
            CRAFT_ASSERT(p->bulk_len >= 0);
            if (len - p->pos < (uint64_t)p->bulk_len + 2) {
                *need = p->pos + (size_t)p->bulk_len + 2;
                return RESP_PARSE_MORE;
            }
            if (buf[p->pos + p->bulk_len] != '\r' || buf[p->pos + p->bulk_len + 1] != '\n') {
                return fail(p, "expected CRLF after bulk string");
            }
            if (!grow_args(p)) {
                return fail(p, "out of memory");
            }
            p->offs[p->n_args] = p->pos;
            p->lens[p->n_args] = (size_t)p->bulk_len;
            p->n_args++;
            p->pos += (size_t)p->bulk_len + 2;
            p->bulk_len = -1;
            if ((int64_t)p->n_args == p->n_want) {
                return done(p, buf, p->pos, req, used);
            }
            p->stage = STAGE_BULK_HDR;
            break;
        default:
            CRAFT_ASSERT(0 && "multibulk stage");
        }
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* A closing quote at s must be followed by a space or the end: the position after it, or NULL. */
static const char *close_quote(const char *s, const char *end)
{
    return s + 1 < end && s[1] != '\0' && !is_space(s[1]) ? NULL : s + 1;
}

/* One argument of an inline line, as Redis's sdssplitargs reads it: bare, "double quoted" with
 * \n \r \t \b \a \xHH and \<any> escapes, or 'single quoted' with \' only; a closing quote must
 * be followed by a space or the end. Appends the bytes at out[*w]; returns the position after
 * the argument, or NULL for unbalanced quotes. The line ends at end or at a NUL (as in Redis). */
static const char *split_arg(const char *s, const char *end, char *out, size_t *w)
{
    bool dq = false;
    bool sq = false;
    for (;;) {
        char c = s < end ? *s : '\0';
        if (dq) {
            if (c == '\\' && s + 3 < end && s[1] == 'x' && hex_value(s[2]) >= 0 &&
                hex_value(s[3]) >= 0) {
                out[(*w)++] = (char)(hex_value(s[2]) * 16 + hex_value(s[3]));
                s += 3;
            } else if (c == '\\' && s + 1 < end && s[1] != '\0') {
                s++;
                switch (*s) {
                case 'n': out[(*w)++] = '\n'; break;
                case 'r': out[(*w)++] = '\r'; break;
                case 't': out[(*w)++] = '\t'; break;
                case 'b': out[(*w)++] = '\b'; break;
                case 'a': out[(*w)++] = '\a'; break;
                default: out[(*w)++] = *s; break;
                }
            } else if (c == '"') {
                return close_quote(s, end);
            } else if (c == '\0') {
                return NULL;
            } else {
                out[(*w)++] = c;
            }
        } else if (sq) {
            if (c == '\\' && s + 1 < end && s[1] == '\'') {
                s++;
                out[(*w)++] = '\'';
            } else if (c == '\'') {
                return close_quote(s, end);
            } else if (c == '\0') {
                return NULL;
            } else {
                out[(*w)++] = c;
            }
        } else if (c == '\0' || is_space(c)) {
            return s;
        } else if (c == '"') {
            dq = true;
        } else if (c == '\'') {
            sq = true;
        } else {
            out[(*w)++] = c;
        }
        s++;
    }
}

static int parse_inline(struct resp_parser *p, const char *buf, size_t len,
                        struct resp_request *req, size_t *used)
{
    size_t from = p->scan;
    const char *lf = from < len ? memchr(buf + from, '\n', len - from) : NULL;
    if (lf == NULL) {
        p->scan = len;
        if (len > p->limits.inline_max) {
            return fail(p, "too big inline request");
        }
        return RESP_PARSE_MORE;
    }
    size_t line = (size_t)(lf - buf);
    if (line > p->limits.inline_max) {
        return fail(p, "too big inline request");
    }
    const char *end = buf + line;
    if (line > 0 && end[-1] == '\r') {
        end--;
    }
    /* Unescaped arguments are never longer than the line. */
    if (p->inline_cap < line + 1) {
        char *nb = craft_realloc(p->inline_buf, line + 1);
        if (nb == NULL) {
            return fail(p, "out of memory");
        }
        p->inline_buf = nb;
        p->inline_cap = line + 1;
    }
    const char *s = buf;
    size_t w = 0;
    p->n_args = 0;
    for (;;) {
        while (s < end && *s != '\0' && is_space(*s)) {
            s++;
        }
        if (s >= end || *s == '\0') {
            break;
        }
        size_t start = w;
        s = split_arg(s, end, p->inline_buf, &w);
        if (s == NULL) {
            return fail(p, "unbalanced quotes in request");
        }
        if (!grow_args(p)) {
            return fail(p, "out of memory");
        }
        p->offs[p->n_args] = start;
        p->lens[p->n_args] = w - start;
        p->n_args++;
    }
    CRAFT_ASSERT(w <= line);
    return done(p, p->inline_buf, line + 1, req, used);
}

int resp_parse(struct resp_parser *p, const char *buf, size_t len, struct resp_request *req,
               size_t *used, size_t *need)
{
    CRAFT_ASSERT(p->stage != STAGE_FAILED);
    *used = 0;
    *need = 0;
    if (p->stage == STAGE_START) {
        if (len == 0) {
            return RESP_PARSE_MORE;
        }
        p->stage = buf[0] == '*' ? STAGE_COUNT : STAGE_INLINE;
        p->inline_req = buf[0] != '*';
    }
    CRAFT_ASSERT(len >= p->pos);
    if (p->stage == STAGE_INLINE) {
        return parse_inline(p, buf, len, req, used);
    }
    return parse_multibulk(p, buf, len, req, used, need);
}
