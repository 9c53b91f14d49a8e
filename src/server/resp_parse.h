/* The RESP2 request parser of craftd: multibulk (`*N\r\n$len\r\n...`) and inline commands, fed
 * bytes in any pieces. Strict: a bad length, a missing CRLF or a wrong type is a protocol error
 * with Redis's text, after which the connection is closed. Multibulk arguments point into the
 * caller's buffer (no copy); inline arguments (quotes and escapes undone) live in the parser. */
#ifndef CRAFT_SERVER_RESP_PARSE_H
#define CRAFT_SERVER_RESP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Redis's own limits: proto-max-bulk-len 512 MiB, PROTO_INLINE_MAX_SIZE 64 KiB, and at most
 * 1024 * 1024 elements in a multibulk request. */
#define RESP_BULK_MAX_DEFAULT (512u * 1024u * 1024u)
#define RESP_ARRAY_MAX_DEFAULT (1024u * 1024u)
#define RESP_INLINE_MAX_DEFAULT (64u * 1024u)
/* A count or length line ("*3", "$11") longer than this without its CRLF is refused (Redis
 * refuses one past PROTO_INLINE_MAX_SIZE; no valid one is longer than 21 bytes). */
#define RESP_COUNT_LINE_MAX (64u * 1024u)

struct resp_limits {
    uint64_t bulk_max;   /* longest bulk string argument */
    uint64_t array_max;  /* most elements in one multibulk request */
    uint64_t inline_max; /* longest inline request line */
};

void resp_limits_default(struct resp_limits *l);

enum resp_parse_status {
    RESP_PARSE_DONE = 0,  /* one request parsed: see resp_parse */
    RESP_PARSE_MORE = 1,  /* the request is not complete: call again with more bytes */
    RESP_PARSE_ERROR = 2, /* a protocol error: resp_parser_error has Redis's text */
};

/* The request being parsed. The progress is kept as offsets from the request's first byte, so
 * the caller may move its buffer between calls (compact it, grow it) as long as the bytes from
 * the request's start stay as they were. */
struct resp_parser {
    struct resp_limits limits;
    int stage;           /* what comes next (resp_parse.c) */
    size_t pos;          /* bytes of the request already read */
    size_t scan;         /* how far a line's terminator was searched for */
    int64_t n_want;      /* elements the multibulk request announced */
    int64_t bulk_len;    /* the length of the bulk string being read, -1 before its header */
    size_t n_args;       /* arguments complete so far */
    size_t cap;          /* of offs, lens and argv */
    size_t *offs;        /* owned: each argument's offset from the request's start */
    size_t *lens;        /* owned: each argument's length */
    const char **argv;   /* owned array; the pointers are set when a request is complete */
    char *inline_buf;    /* owned: the arguments of an inline request, unescaped */
    size_t inline_cap;
    bool inline_req;
    char error[128];
};

/* A parsed request: argv[i] is lens[i] bytes (not NUL-terminated). For a multibulk request they
 * point into the buffer given to resp_parse, for an inline one into the parser; either way they
 * are valid until the next resp_parse or resp_parser_close, and the buffer must not change
 * meanwhile. argc 0 is an empty request (a blank line, `*0`, `*-1`): nothing to run. */
struct resp_request {
    size_t argc;
    const char *const *argv;
    const size_t *lens;
};

void resp_parser_init(struct resp_parser *p, const struct resp_limits *limits);
void resp_parser_close(struct resp_parser *p);

/* Parses the request that starts at buf[0]; buf holds len bytes. RESP_PARSE_DONE: *req is the
 * request and *used the bytes it took (the next one starts at buf[*used]); the parser is ready
 * for the next request. RESP_PARSE_MORE: nothing is complete; *used is 0 and the parser
 * remembers how far it got: call again with the same bytes and more after them. *need is then
 * how many bytes from buf[0] the request needs at least (to size the buffer), 0 if unknown.
 * RESP_PARSE_ERROR: the bytes are not RESP; resp_parser_error says why; the parser must not be
 * used again but for close. Allocation failures count as errors ("out of memory"). */
int resp_parse(struct resp_parser *p, const char *buf, size_t len, struct resp_request *req,
               size_t *used, size_t *need);

/* The error of the last RESP_PARSE_ERROR: "Protocol error: ..." (without '-ERR '). */
const char *resp_parser_error(const struct resp_parser *p);

#endif
