/* libFuzzer target: craftd's RESP2 request parser (src/server/resp_parse.h) over arbitrary bytes.
 * The first byte picks small or default limits and the piece sizes; the rest is parsed once in
 * one piece and again in pieces, as a connection feeds it: both must give the same requests and
 * the same error, every argument must lie inside its buffer, and every request must advance.
 * The same bytes go through resp_scan (the reply splitter): a value it finds is complete at
 * exactly that length and at no shorter one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "server/resp_parse.h"
#include "server/resp_scan.h"

/* Every request parsed, flattened: per request its argument count, then each length and bytes. */
struct trace {
    uint8_t *data;
    size_t len;
    size_t cap;
};

static void put(struct trace *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap == 0 ? 256 : t->cap;
        while (cap < t->len + n) {
            cap *= 2;
        }
        t->data = realloc(t->data, cap);
        FUZZ_CHECK(t->data != NULL);
        t->cap = cap;
    }
    memcpy(t->data + t->len, p, n);
    t->len += n;
}

/* Parses data in pieces of the sizes step gives (0: one piece). Returns the last status and
 * fills t and error. */
static int run(const struct resp_limits *lim, const uint8_t *data, size_t size, uint8_t step,
               struct trace *t, char *error, size_t error_len)
{
    struct resp_parser p;
    size_t have = step == 0 ? size : 0;
    size_t start = 0;
    unsigned k = 0;
    int rv = RESP_PARSE_MORE;
    resp_parser_init(&p, lim);
    error[0] = '\0';
    for (;;) {
        for (;;) {
            struct resp_request r;
            size_t used;
            size_t need;
            rv = resp_parse(&p, (const char *)data + start, have - start, &r, &used, &need);
            if (rv != RESP_PARSE_DONE) {
                FUZZ_CHECK(rv == RESP_PARSE_MORE || rv == RESP_PARSE_ERROR);
                if (rv == RESP_PARSE_MORE) {
                    FUZZ_CHECK(need == 0 || need > have - start);
                }
                break;
            }
            FUZZ_CHECK(used > 0 && used <= have - start);
            uint64_t argc = r.argc;
            put(t, &argc, sizeof argc);
            for (size_t i = 0; i < r.argc; i++) {
                const char *a = r.argv[i];
                bool in_buf = a >= (const char *)data + start &&
                              a + r.lens[i] <= (const char *)data + start + used;
                /* Inline arguments live in the parser, multibulk ones in the buffer. */
                FUZZ_CHECK(in_buf || data[start] != '*');
                uint64_t n = r.lens[i];
                put(t, &n, sizeof n);
                put(t, a, r.lens[i]);
            }
            start += used;
        }
        if (rv == RESP_PARSE_ERROR || have == size) {
            break;
        }
        /* Piece sizes 1..step, varying with the piece number. */
        size_t piece = 1 + (k++ * 7u) % step;
        have = have + piece > size ? size : have + piece;
    }
    if (rv == RESP_PARSE_ERROR) {
        snprintf(error, error_len, "%s", resp_parser_error(&p));
        FUZZ_CHECK(strncmp(error, "Protocol error: ", 16) == 0);
    }
    resp_parser_close(&p);
    return rv;
}

static void check_scan(const uint8_t *data, size_t size)
{
    long long n = resp_scan((const char *)data, size);
    FUZZ_CHECK(n >= -1 && n <= (long long)size);
    if (n > 0) {
        FUZZ_CHECK(resp_scan((const char *)data, (size_t)n) == n);
        FUZZ_CHECK(resp_scan((const char *)data, (size_t)n - 1) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    check_scan(data, size);
    struct resp_limits lim;
    resp_limits_default(&lim);
    if (data[0] & 0x80) {
        lim.bulk_max = 64;
        lim.array_max = 8;
        lim.inline_max = 128;
    }
    uint8_t step = (uint8_t)(data[0] & 0x7f);
    data++;
    size--;
    struct trace whole = {0};
    struct trace pieces = {0};
    char e1[160];
    char e2[160];
    int rv1 = run(&lim, data, size, 0, &whole, e1, sizeof e1);
    int rv2 = run(&lim, data, size, step == 0 ? 1 : step, &pieces, e2, sizeof e2);
    FUZZ_CHECK(rv1 == rv2);
    FUZZ_CHECK(strcmp(e1, e2) == 0);
    FUZZ_CHECK(whole.len == pieces.len);
    FUZZ_CHECK(whole.len == 0 || memcmp(whole.data, pieces.data, whole.len) == 0);
    free(whole.data);
    free(pieces.data);
    return 0;
}
