/* Unit tests for reading frames out of a byte stream that arrives in arbitrary pieces:
 * wire_frame_size says when a frame is whole, and refuses a bad header before its body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/prng.h"
#include "wire_helpers.h"

/* A reader as a connection would run it: bytes come in pieces into buf; each whole frame is
 * decoded and checked against the next sample. */
struct reader {
    unsigned char *buf;
    size_t len;
    unsigned n_frames;
    struct wire_scratch scratch;
};

static void reader_take(struct reader *r, const unsigned char *piece, size_t n)
{
    memcpy(r->buf + r->len, piece, n);
    r->len += n;
    for (;;) {
        size_t need = 0;
        char errmsg[128] = "";
        int rv =
            wire_frame_size(r->buf, r->len, WIRE_BODY_MAX_DEFAULT, &need, errmsg, sizeof errmsg);
        if (rv != 0) {
            fail_msg("frame %u: %s", r->n_frames, errmsg);
        }
        assert_true(need >= WIRE_HEADER_BYTES);
        if (need > r->len) {
            return;
        }
        struct wire_frame got;
        assert_int_equal(wire_decode(r->buf, need, &r->scratch, &got, errmsg, sizeof errmsg), 0);
        struct wire_frame want = sample_frame(r->n_frames % N_SAMPLES);
        assert_true(wire_frame_equal(&got, &want));
        r->n_frames++;
        memmove(r->buf, r->buf + need, r->len - need);
        r->len -= need;
    }
}

/* Every sample, three times over, back to back. */
static struct wire_buf stream(void)
{
    struct wire_buf b;
    wire_buf_init(&b);
    for (unsigned i = 0; i < 3 * N_SAMPLES; i++) {
        struct wire_frame f = sample_frame(i % N_SAMPLES);
        assert_int_equal(sample_append(&b, &f), 0);
    }
    return b;
}

static void test_wire_stream_one_byte_at_a_time(void **state)
{
    (void)state;
    struct wire_buf b = stream();
    struct reader r = {.buf = test_malloc(b.len)};
    wire_scratch_init(&r.scratch);
    for (size_t i = 0; i < b.len; i++) {
        reader_take(&r, b.base + i, 1);
    }
    assert_int_equal(r.n_frames, 3 * N_SAMPLES);
    assert_int_equal(r.len, 0);
    wire_scratch_close(&r.scratch);
    test_free(r.buf);
    wire_buf_close(&b);
}

static void test_wire_stream_random_pieces(void **state)
{
    (void)state;
    struct wire_buf b = stream();
    struct prng p;
    prng_seed(&p, 12);
    for (int round = 0; round < 200; round++) {
        struct reader r = {.buf = test_malloc(b.len)};
        wire_scratch_init(&r.scratch);
        size_t off = 0;
        while (off < b.len) {
            size_t n = 1 + prng_below(&p, round % 2 ? 7 : 300);
            n = n < b.len - off ? n : b.len - off;
            reader_take(&r, b.base + off, n);
            off += n;
        }
        assert_int_equal(r.n_frames, 3 * N_SAMPLES);
        assert_int_equal(r.len, 0);
        wire_scratch_close(&r.scratch);
        test_free(r.buf);
    }
    wire_buf_close(&b);
}

/* Each split of one frame: a whole frame only once every byte is there. */
static void test_wire_stream_every_split_of_one_frame(void **state)
{
    (void)state;
    struct wire_frame f = sample_frame(5);
    struct wire_buf b;
    wire_buf_init(&b);
    assert_int_equal(sample_append(&b, &f), 0);
    for (size_t avail = 0; avail <= b.len; avail++) {
        size_t need = 0;
        assert_int_equal(wire_frame_size(b.base, avail, WIRE_BODY_MAX_DEFAULT, &need, NULL, 0), 0);
        assert_int_equal(need, avail < WIRE_HEADER_BYTES ? WIRE_HEADER_BYTES : b.len);
        /* A cut frame never decodes. */
        if (avail < b.len) {
            struct wire_scratch s;
            struct wire_frame got;
            wire_scratch_init(&s);
            assert_int_equal(wire_decode(b.base, avail, &s, &got, NULL, 0), CRAFT_ECORRUPT);
            wire_scratch_close(&s);
        }
    }
    wire_buf_close(&b);
}

/* Garbage, another version or an oversized body are refused from the header alone. */
static void test_wire_stream_refuses_bad_header_before_body(void **state)
{
    (void)state;
    struct wire_frame f = sample_frame(14);
    struct wire_buf b;
    wire_buf_init(&b);
    assert_int_equal(sample_append(&b, &f), 0);
    size_t need = 0;
    char errmsg[128];

    unsigned char junk[WIRE_HEADER_BYTES];
    memcpy(junk, b.base, sizeof junk);
    junk[0] = 'G'; /* "GET / HTTP/1.1" on the peer port */
    assert_int_equal(wire_frame_size(junk, 1, WIRE_BODY_MAX_DEFAULT, &need, errmsg, sizeof errmsg),
                     CRAFT_ECORRUPT);
    assert_non_null(strstr(errmsg, "magic"));
    memcpy(junk, b.base, sizeof junk);
    junk[3] ^= 1;
    assert_int_equal(wire_frame_size(junk, 4, WIRE_BODY_MAX_DEFAULT, &need, NULL, 0),
                     CRAFT_ECORRUPT);
    assert_int_equal(wire_frame_size(junk, 3, WIRE_BODY_MAX_DEFAULT, &need, NULL, 0), 0);

    memcpy(junk, b.base, sizeof junk);
    junk[4] = 2;
    assert_int_equal(
        wire_frame_size(junk, sizeof junk, WIRE_BODY_MAX_DEFAULT, &need, errmsg, sizeof errmsg),
        CRAFT_EINVAL);
    assert_non_null(strstr(errmsg, "version"));

    /* The body is 48 + 43 bytes: a limit of 90 refuses it, 91 takes it. */
    assert_int_equal(wire_frame_size(b.base, WIRE_HEADER_BYTES, 90, &need, errmsg, sizeof errmsg),
                     CRAFT_ETOOBIG);
    assert_non_null(strstr(errmsg, "length"));
    assert_int_equal(wire_frame_size(b.base, WIRE_HEADER_BYTES, 91, &need, NULL, 0), 0);
    assert_int_equal(need, b.len);
    wire_buf_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_stream_one_byte_at_a_time),
        cmocka_unit_test(test_wire_stream_random_pieces),
        cmocka_unit_test(test_wire_stream_every_split_of_one_frame),
        cmocka_unit_test(test_wire_stream_refuses_bad_header_before_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
