/* Unit tests for the wire codec: every frame type, with edge values, encodes and decodes back to
 * the same frame, and re-encoding a decoded frame gives the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/alloc.h"
#include "wire_helpers.h"

static void test_wire_roundtrip_every_sample(void **state)
{
    (void)state;
    struct wire_scratch scratch;
    wire_scratch_init(&scratch);
    for (unsigned i = 0; i < N_SAMPLES; i++) {
        struct wire_frame want = sample_frame(i);
        struct wire_buf b;
        wire_buf_init(&b);
        assert_int_equal(sample_append(&b, &want), 0);
        size_t need = 0;
        assert_int_equal(wire_frame_size(b.base, b.len, WIRE_BODY_MAX_DEFAULT, &need, NULL, 0), 0);
        assert_int_equal(need, b.len);

        struct wire_frame got;
        char errmsg[128] = "";
        int rv = wire_decode(b.base, b.len, &scratch, &got, errmsg, sizeof errmsg);
        if (rv != 0) {
            fail_msg("sample %u: %s", i, errmsg);
        }
        assert_true(wire_frame_equal(&got, &want));
        assert_int_equal(got.type, want.type);
        if (got.type > WIRE_FRAME_MSG) {
            assert_int_equal(got.msg.from, got.from);
            assert_int_equal(got.msg.to, got.to);
        }

        /* What decodes re-encodes to the same bytes. */
        struct wire_buf again;
        wire_buf_init(&again);
        assert_int_equal(sample_append(&again, &got), 0);
        assert_int_equal(again.len, b.len);
        assert_memory_equal(again.base, b.base, b.len);
        wire_buf_close(&again);
        wire_buf_close(&b);
    }
    wire_scratch_close(&scratch);
}

/* Decoded pointers point into the caller's buffer (data) and the scratch (entries). */
static void test_wire_roundtrip_pointers_into_buffer_and_scratch(void **state)
{
    (void)state;
    struct wire_frame want = sample_frame(5);
    unsigned char buf[512];
    size_t size = wire_msg_size(&want.msg);
    assert_true(size <= sizeof buf);
    assert_int_equal(wire_encode_msg(GROUP, &want.msg, buf, sizeof buf), size);
    assert_int_equal(size, WIRE_HEADER_BYTES + WIRE_APPEND_FIXED + 3 * WIRE_ENTRY_FIXED + 44);

    struct wire_scratch scratch;
    wire_scratch_init(&scratch);
    struct wire_frame got;
    assert_int_equal(wire_decode(buf, size, &scratch, &got, NULL, 0), 0);
    assert_ptr_equal(got.msg.append.entries, scratch.entries);
    assert_true(scratch.cap >= 3);
    assert_null(got.msg.append.entries[0].data.base);
    const unsigned char *data = got.msg.append.entries[1].data.base;
    assert_true(data > buf && data + 43 <= buf + size);
    assert_memory_equal(data, sample_bytes, 43);
    wire_scratch_close(&scratch);
    assert_null(scratch.entries);
}

/* A fixed frame's bytes, pinned so the format cannot drift unnoticed (docs/WIRE_FORMAT.md). */
static void test_wire_roundtrip_header_layout(void **state)
{
    (void)state;
    struct craft_msg m = {
        .type = CRAFT_MSG_TIMEOUT_NOW, .from = 0x0102, .to = 0x0304, .term = 0x0506};
    unsigned char buf[WIRE_HEADER_BYTES + 8];
    assert_int_equal(wire_encode_msg(0x0708, &m, buf, sizeof buf), sizeof buf);
    static const unsigned char want[WIRE_HEADER_BYTES] = {
        'C',  'R',  'F', 'W', 1, 16 + 7, 0, 0, /* magic, version, type, flags */
        0x08, 0x07, 0,   0,   0, 0,      0, 0, /* group */
        0x02, 0x01, 0,   0,   0, 0,      0, 0, /* from */
        0x04, 0x03, 0,   0,   0, 0,      0, 0, /* to */
        8,    0,    0,   0,                    /* body length */
    };
    assert_memory_equal(buf, want, 36);
    assert_int_equal(get_u32le(buf + 36), crc32c(crc32c(0, buf, 36), buf + 40, 8));
    assert_int_equal(get_u64le(buf + 40), 0x0506);
}

/* The growable buffer batches frames back to back and leaves itself unchanged on failure. */
static void test_wire_roundtrip_buf_batches_and_survives_enomem(void **state)
{
    (void)state;
    struct wire_buf b;
    wire_buf_init(&b);
    size_t sizes[N_SAMPLES];
    for (unsigned i = 0; i < N_SAMPLES; i++) {
        struct wire_frame f = sample_frame(i);
        size_t before = b.len;
        assert_int_equal(sample_append(&b, &f), 0);
        sizes[i] = b.len - before;
    }
    struct wire_scratch scratch;
    wire_scratch_init(&scratch);
    size_t off = 0;
    for (unsigned i = 0; i < N_SAMPLES; i++) {
        struct wire_frame want = sample_frame(i);
        struct wire_frame got;
        assert_int_equal(wire_decode(b.base + off, sizes[i], &scratch, &got, NULL, 0), 0);
        assert_true(wire_frame_equal(&got, &want));
        off += sizes[i];
    }
    assert_int_equal(off, b.len);

    /* A buffer that must grow, with no memory: CRAFT_ENOMEM, nothing appended. */
    struct wire_buf small;
    wire_buf_init(&small);
    struct wire_frame f = sample_frame(5);
    alloc_fail_after(0);
    int rv = wire_buf_append_msg(&small, GROUP, &f.msg);
    alloc_fail_reset();
    assert_int_equal(rv, CRAFT_ENOMEM);
    assert_int_equal(small.len, 0);
    /* The decoder's scratch too. */
    struct wire_scratch empty;
    wire_scratch_init(&empty);
    size_t off5 = 0;
    for (unsigned i = 0; i < 5; i++) {
        off5 += sizes[i];
    }
    alloc_fail_after(0);
    struct wire_frame got;
    rv = wire_decode(b.base + off5, sizes[5], &empty, &got, NULL, 0);
    alloc_fail_reset();
    assert_int_equal(rv, CRAFT_ENOMEM);
    wire_scratch_close(&empty);
    wire_scratch_close(&scratch);
    wire_buf_reset(&b);
    assert_int_equal(b.len, 0);
    wire_buf_close(&b);
    wire_buf_close(&small);
}

/* The biggest AppendEntries the decoder takes: WIRE_ENTRIES_MAX entries. */
static void test_wire_roundtrip_entries_max(void **state)
{
    (void)state;
    struct craft_entry *e = test_calloc(WIRE_ENTRIES_MAX, sizeof *e);
    for (uint32_t i = 0; i < WIRE_ENTRIES_MAX; i++) {
        e[i] = (struct craft_entry){.term = 3, .index = 1 + i, .type = CRAFT_ENTRY_NORMAL};
    }
    struct craft_msg m = {.type = CRAFT_MSG_APPEND, .from = 1, .to = 2, .term = 3};
    m.append.entries = e;
    m.append.n_entries = WIRE_ENTRIES_MAX;
    struct wire_buf b;
    wire_buf_init(&b);
    assert_int_equal(wire_buf_append_msg(&b, GROUP, &m), 0);
    struct wire_scratch scratch;
    wire_scratch_init(&scratch);
    struct wire_frame got;
    assert_int_equal(wire_decode(b.base, b.len, &scratch, &got, NULL, 0), 0);
    assert_int_equal(got.msg.append.n_entries, WIRE_ENTRIES_MAX);
    assert_int_equal(got.msg.append.entries[WIRE_ENTRIES_MAX - 1].index, WIRE_ENTRIES_MAX);
    wire_scratch_close(&scratch);
    wire_buf_close(&b);
    test_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_roundtrip_every_sample),
        cmocka_unit_test(test_wire_roundtrip_pointers_into_buffer_and_scratch),
        cmocka_unit_test(test_wire_roundtrip_header_layout),
        cmocka_unit_test(test_wire_roundtrip_buf_batches_and_survives_enomem),
        cmocka_unit_test(test_wire_roundtrip_entries_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
