/* Unit tests for craftd's RESP2 request parser: multibulk and inline requests, every split point
 * of a pipeline, every malformed shape with Redis's error text, and the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/resp_parse.h"

/* A parsed request flattened to "arg|arg|arg;" so requests compare as strings. */
struct flat {
    char text[4096];
    size_t n;
};

static void flat_add(struct flat *f, const struct resp_request *r)
{
    for (size_t i = 0; i < r->argc; i++) {
        assert_true(f->n + r->lens[i] + 2 < sizeof f->text);
        memcpy(f->text + f->n, r->argv[i], r->lens[i]);
        f->n += r->lens[i];
        f->text[f->n++] = i + 1 < r->argc ? '|' : ';';
    }
    if (r->argc == 0) {
        f->text[f->n++] = ';';
    }
    f->text[f->n] = '\0';
}

/* Feeds in[0..len) to a parser in pieces that end at the split points (ascending), as a
 * connection would: a buffer that grows, and bytes consumed from its front. Returns the last
 * status; *out lists the requests parsed. */
static int feed(const struct resp_limits *lim, const char *in, size_t len, const size_t *splits,
                size_t n_splits, struct flat *out, char *error, size_t error_len)
{
    struct resp_parser p;
    char *buf = malloc(len + 1);
    size_t have = 0;
    size_t start = 0; /* the first byte of the request being parsed */
    int rv = RESP_PARSE_MORE;
    resp_parser_init(&p, lim);
    out->n = 0;
    out->text[0] = '\0';
    for (size_t k = 0; k <= n_splits; k++) {
        size_t upto = k < n_splits ? splits[k] : len;
        memcpy(buf + have, in + have, upto - have);
        have = upto;
        for (;;) {
            struct resp_request r;
            size_t used;
            size_t need;
            rv = resp_parse(&p, buf + start, have - start, &r, &used, &need);
            if (rv != RESP_PARSE_DONE) {
                break;
            }
            assert_true(used > 0);
            flat_add(out, &r);
            start += used;
        }
        if (rv == RESP_PARSE_ERROR) {
            snprintf(error, error_len, "%s", resp_parser_error(&p));
            break;
        }
    }
    resp_parser_close(&p);
    free(buf);
    return rv;
}

static int feed_whole(const char *in, size_t len, struct flat *out, char *error, size_t n)
{
    return feed(NULL, in, len, NULL, 0, out, error, n);
}

#define PIPELINE                                                                                   \
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nal\r\n"                                              \
    "PING\r\n"                                                                                     \
    "*1\r\n$4\r\nPING\r\n"                                                                         \
    "set \"a b\" 'c\\'d' \"\\x41\\n\"\n"                                                           \
    "\r\n"                                                                                         \
    "*0\r\n"                                                                                       \
    "*-1\r\n"                                                                                      \
    "*2\r\n$0\r\n\r\n$3\r\nGET\r\n"

#define PIPELINE_FLAT "SET|k|v\r\nal;PING;PING;set|a b|c'd|A\n;;;;|GET;"

/* The whole pipeline in one piece. */
static void test_resp_parse_pipeline_whole(void **state)
{
    (void)state;
    struct flat f;
    char err[128];
    int rv = feed_whole(PIPELINE, sizeof PIPELINE - 1, &f, err, sizeof err);
    assert_int_equal(rv, RESP_PARSE_MORE);
    assert_string_equal(f.text, PIPELINE_FLAT);
}

/* Split at every single byte boundary, and at every pair of boundaries: the same requests. */
static void test_resp_parse_every_split_point(void **state)
{
    (void)state;
    const size_t len = sizeof PIPELINE - 1;
    for (size_t a = 0; a <= len; a++) {
        struct flat f;
        char err[128];
        size_t s1[1] = {a};
        assert_int_equal(feed(NULL, PIPELINE, len, s1, 1, &f, err, sizeof err), RESP_PARSE_MORE);
        assert_string_equal(f.text, PIPELINE_FLAT);
        for (size_t b = a; b <= len; b += 7) {
            size_t s2[2] = {a, b};
            assert_int_equal(feed(NULL, PIPELINE, len, s2, 2, &f, err, sizeof err),
                             RESP_PARSE_MORE);
            assert_string_equal(f.text, PIPELINE_FLAT);
        }
    }
    /* One byte at a time. */
    size_t ones[sizeof PIPELINE];
    for (size_t i = 0; i < len; i++) {
        ones[i] = i;
    }
    struct flat f;
    char err[128];
    assert_int_equal(feed(NULL, PIPELINE, len, ones, len, &f, err, sizeof err), RESP_PARSE_MORE);
    assert_string_equal(f.text, PIPELINE_FLAT);
}

/* Multibulk arguments point into the caller's buffer: no copy. */
static void test_resp_parse_zero_copy(void **state)
{
    (void)state;
    const char in[] = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    struct resp_parser p;
    struct resp_request r;
    size_t used, need;
    resp_parser_init(&p, NULL);
    assert_int_equal(resp_parse(&p, in, sizeof in - 1, &r, &used, &need), RESP_PARSE_DONE);
    assert_int_equal(used, sizeof in - 1);
    assert_int_equal(r.argc, 2);
    assert_ptr_equal(r.argv[0], in + 8);
    assert_ptr_equal(r.argv[1], in + 17);
    resp_parser_close(&p);
}

/* A partial bulk string says how many bytes the request needs. */
static void test_resp_parse_need_hint(void **state)
{
    (void)state;
    const char in[] = "*1\r\n$10\r\nabc";
    struct resp_parser p;
    struct resp_request r;
    size_t used, need;
    resp_parser_init(&p, NULL);
    assert_int_equal(resp_parse(&p, in, sizeof in - 1, &r, &used, &need), RESP_PARSE_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(need, 9 + 10 + 2);
    resp_parser_close(&p);
}

struct bad {
    const char *in;
    const char *error;
};

/* Every malformed shape, with the text Redis gives (or one in its style where Redis is lax). */
static void test_resp_parse_malformed(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"*x\r\n", "Protocol error: invalid multibulk length"},
        {"*\r\n", "Protocol error: invalid multibulk length"},
        {"*01\r\n", "Protocol error: invalid multibulk length"},
        {"*+1\r\n", "Protocol error: invalid multibulk length"},
        {"*1 \r\n", "Protocol error: invalid multibulk length"},
        {"*1\rx", "Protocol error: invalid multibulk length"},
        {"*99999999999999999999\r\n", "Protocol error: invalid multibulk length"},
        {"*2000000\r\n", "Protocol error: invalid multibulk length"},
        {"*-2\r\n", "Protocol error: invalid multibulk length"},
        {"*-9223372036854775808\r\n", "Protocol error: invalid multibulk length"},
        {"*1\r\n+OK\r\n", "Protocol error: expected '$', got '+'"},
        {"*1\r\n:1\r\n", "Protocol error: expected '$', got ':'"},
        {"*1\r\n\x01", "Protocol error: expected '$', got '\\x01'"},
        {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$x\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$3\rx", "Protocol error: invalid bulk length"},
        {"*1\r\n$600000000\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$3\r\nabcd\r\n", "Protocol error: expected CRLF after bulk string"},
        {"*1\r\n$3\r\nabc\n\r", "Protocol error: expected CRLF after bulk string"},
        {"*2\r\n$1\r\na\r\n*1\r\n", "Protocol error: expected '$', got '*'"},
        {"SET \"a\r\n", "Protocol error: unbalanced quotes in request"},
        {"SET \"a\"b\r\n", "Protocol error: unbalanced quotes in request"},
        {"SET 'a\n", "Protocol error: unbalanced quotes in request"},
        {"SET 'a'b\n", "Protocol error: unbalanced quotes in request"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct flat f;
        char err[128] = "";
        int rv = feed_whole(bad[i].in, strlen(bad[i].in), &f, err, sizeof err);
        if (rv != RESP_PARSE_ERROR || strcmp(err, bad[i].error) != 0) {
            fail_msg("input %zu: rv %d, error '%s', want '%s'", i, rv, err, bad[i].error);
        }
    }
}

/* Requests before a malformed one in the same bytes are still parsed. */
static void test_resp_parse_error_after_good(void **state)
{
    (void)state;
    const char in[] = "PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n!";
    struct flat f;
    char err[128];
    assert_int_equal(feed_whole(in, sizeof in - 1, &f, err, sizeof err), RESP_PARSE_ERROR);
    assert_string_equal(f.text, "PING;PING;");
    assert_string_equal(err, "Protocol error: expected '$', got '!'");
}

/* The configured limits: bulk length, array count, inline length, count lines. */
static void test_resp_parse_limits(void **state)
{
    (void)state;
    struct resp_limits lim = {.bulk_max = 4, .array_max = 2, .inline_max = 16};
    struct flat f;
    char err[128];
    const char ok[] = "*2\r\n$4\r\nabcd\r\n$0\r\n\r\n";
    assert_int_equal(feed(&lim, ok, sizeof ok - 1, NULL, 0, &f, err, sizeof err),
                     RESP_PARSE_MORE);
    assert_string_equal(f.text, "abcd|;");
    const char big[] = "*1\r\n$5\r\n";
    assert_int_equal(feed(&lim, big, sizeof big - 1, NULL, 0, &f, err, sizeof err),
                     RESP_PARSE_ERROR);
    assert_string_equal(err, "Protocol error: invalid bulk length");
    const char many[] = "*3\r\n";
    assert_int_equal(feed(&lim, many, sizeof many - 1, NULL, 0, &f, err, sizeof err),
                     RESP_PARSE_ERROR);
    assert_string_equal(err, "Protocol error: invalid multibulk length");
    /* 16 bytes of inline line are fine; 17 without a newline are not. */
    const char line_ok[] = "PING 1234567891\r\n";
    assert_int_equal(feed(&lim, line_ok, sizeof line_ok - 1, NULL, 0, &f, err, sizeof err),
                     RESP_PARSE_MORE);
    assert_string_equal(f.text, "PING|1234567891;");
    const char line_big[] = "PING 123456789012";
    assert_int_equal(feed(&lim, line_big, sizeof line_big - 1, NULL, 0, &f, err, sizeof err),
                     RESP_PARSE_ERROR);
    assert_string_equal(err, "Protocol error: too big inline request");
    const char line_big_nl[] = "PING 12345678901234\n";
    assert_int_equal(
        feed(&lim, line_big_nl, sizeof line_big_nl - 1, NULL, 0, &f, err, sizeof err),
        RESP_PARSE_ERROR);
    assert_string_equal(err, "Protocol error: too big inline request");
}

/* A count or length line that never ends is refused once past RESP_COUNT_LINE_MAX. */
static void test_resp_parse_count_line_too_big(void **state)
{
    (void)state;
    size_t len = RESP_COUNT_LINE_MAX + 8;
    char *in = malloc(len);
    struct flat f;
    char err[128];
    memset(in, '1', len);
    in[0] = '*';
    assert_int_equal(feed_whole(in, len, &f, err, sizeof err), RESP_PARSE_ERROR);
    assert_string_equal(err, "Protocol error: too big mbulk count string");
    memcpy(in, "*1\r\n$", 5);
    assert_int_equal(feed_whole(in, len, &f, err, sizeof err), RESP_PARSE_ERROR);
    assert_string_equal(err, "Protocol error: too big bulk count string");
    free(in);
}

/* Inline lines: blank ones are empty requests, a NUL ends the line (as in Redis), escapes. */
static void test_resp_parse_inline_shapes(void **state)
{
    (void)state;
    const char in[] = "  \t\r\n"
                      "\n"
                      "echo \"\\t\\r\\b\\a\\\\\\q\"\r\n"
                      "a\0b c\r\n"
                      "x '' \"\"\n";
    struct flat f;
    char err[128];
    assert_int_equal(feed_whole(in, sizeof in - 1, &f, err, sizeof err), RESP_PARSE_MORE);
    assert_string_equal(f.text, ";;echo|\t\r\b\a\\q;a;x||;");
}

/* A request with many arguments grows the parser's arrays. */
static void test_resp_parse_many_args(void **state)
{
    (void)state;
    char in[8192];
    size_t n = (size_t)snprintf(in, sizeof in, "*500\r\n");
    for (int i = 0; i < 500; i++) {
        n += (size_t)snprintf(in + n, sizeof in - n, "$1\r\n%c\r\n", 'a' + i % 26);
    }
    struct resp_parser p;
    struct resp_request r;
    size_t used, need;
    resp_parser_init(&p, NULL);
    assert_int_equal(resp_parse(&p, in, n, &r, &used, &need), RESP_PARSE_DONE);
    assert_int_equal(r.argc, 500);
    assert_int_equal(used, n);
    assert_memory_equal(r.argv[499], "f", 1);
    resp_parser_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_parse_pipeline_whole),
        cmocka_unit_test(test_resp_parse_every_split_point),
        cmocka_unit_test(test_resp_parse_zero_copy),
        cmocka_unit_test(test_resp_parse_need_hint),
        cmocka_unit_test(test_resp_parse_malformed),
        cmocka_unit_test(test_resp_parse_error_after_good),
        cmocka_unit_test(test_resp_parse_limits),
        cmocka_unit_test(test_resp_parse_count_line_too_big),
        cmocka_unit_test(test_resp_parse_inline_shapes),
        cmocka_unit_test(test_resp_parse_many_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
