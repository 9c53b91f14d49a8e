/* Unit tests for the wire decoder's validation: every malformed field of every frame type is
 * refused with its own error and a message naming the field (docs/WIRE_FORMAT.md,
 * "Validation"). Each case edits one field of a valid sample frame and seals it again, so the
 * checksum does not hide the field under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire_helpers.h"

struct bad_case {
    const char *name;
    unsigned sample;
    size_t off;     /* where to write value */
    unsigned width; /* 0: no write; 1, 2, 4 or 8 bytes */
    uint64_t value;
    int len_delta; /* bytes added (zeros) or cut at the end, with the length field following */
    bool no_reseal;
    int rv;
    const char *what; /* must appear in errmsg */
};

#define H WIRE_HEADER_BYTES

static const struct bad_case cases[] = {
    /* The header. */
    {"magic", 0, 0, 1, 'c', 0, false, CRAFT_ECORRUPT, "magic"},
    {"version", 0, 4, 1, 0, 0, false, CRAFT_EINVAL, "version"},
    {"version_new", 0, 4, 1, 2, 0, false, CRAFT_EINVAL, "version"},
    {"type_zero", 0, 5, 1, 0, 0, false, CRAFT_ECORRUPT, "type"},
    {"type_gap", 0, 5, 1, 4, 0, false, CRAFT_ECORRUPT, "type"},
    {"type_msg_zero", 0, 5, 1, 16, 0, false, CRAFT_ECORRUPT, "type"},
    {"type_msg_past", 0, 5, 1, 16 + 10, 0, false, CRAFT_ECORRUPT, "type"},
    {"flags", 0, 6, 2, 0x100, 0, false, CRAFT_ECORRUPT, "flags"},
    {"length_mismatch", 0, 32, 4, 26, 0, false, CRAFT_ECORRUPT, "length"},
    {"crc", 0, H + 1, 1, 0xEE, 0, true, CRAFT_ECORRUPT, "crc"},
    {"crc_header", 0, 16, 1, 9, 0, true, CRAFT_ECORRUPT, "crc"},
    {"group_zero", 0, 8, 8, 0, 0, false, CRAFT_ECORRUPT, "group"},
    {"from_zero", 0, 16, 8, 0, 0, false, CRAFT_ECORRUPT, "from"},
    {"to_zero", 0, 24, 8, 0, 0, false, CRAFT_ECORRUPT, "to"},
    {"to_self", 0, 24, 8, 1, 0, false, CRAFT_ECORRUPT, "from and to"},
    {"ack_to_self", 15, 24, 8, 2, 0, false, CRAFT_ECORRUPT, "from and to"},
    /* Fixed bodies: short, trailing, bools. */
    {"vote_short", 1, 0, 0, 0, -1, false, CRAFT_ECORRUPT, "short"},
    {"vote_trailing", 1, 0, 0, 0, 1, false, CRAFT_ECORRUPT, "trailing"},
    {"timeout_now_trailing", 9, 0, 0, 0, 8, false, CRAFT_ECORRUPT, "trailing"},
    {"read_index_short", 10, 0, 0, 0, -8, false, CRAFT_ECORRUPT, "short"},
    {"vote_transfer", 1, H + 24, 1, 2, 0, false, CRAFT_ECORRUPT, "transfer"},
    {"vote_resp_granted", 2, H + 8, 1, 0x80, 0, false, CRAFT_ECORRUPT, "granted"},
    {"append_resp_success", 7, H + 8, 1, 2, 0, false, CRAFT_ECORRUPT, "success"},
    {"append_resp_trailing", 7, 0, 0, 0, 3, false, CRAFT_ECORRUPT, "trailing"},
    {"read_resp_ok", 11, H + 24, 1, 255, 0, false, CRAFT_ECORRUPT, "ok"},
    /* AppendEntries. */
    {"append_short", 4, 0, 0, 0, -1, false, CRAFT_ECORRUPT, "short"},
    {"append_no_term", 4, 0, 0, 0, -40, false, CRAFT_ECORRUPT, "short"},
    {"append_count_unfit", 5, H + 40, 4, 4, 0, false, CRAFT_ECORRUPT, "entry 3"},
    {"append_count_huge", 5, H + 40, 4, 1000, 0, false, CRAFT_ECORRUPT, "cannot fit"},
    {"append_count_limit", 5, H + 40, 4, WIRE_ENTRIES_MAX + 1, 0, false, CRAFT_ECORRUPT, "limit"},
    {"append_count_low", 5, H + 40, 4, 2, 0, false, CRAFT_ECORRUPT, "trailing"},
    {"append_heartbeat_trailing", 4, 0, 0, 0, 5, false, CRAFT_ECORRUPT, "trailing"},
    {"append_entry_type_zero", 5, 100, 1, 0, 0, false, CRAFT_ECORRUPT, "entry type"},
    {"append_entry_type_past", 5, 185, 1, 4, 0, false, CRAFT_ECORRUPT, "entry type"},
    {"append_entry_index_gap", 5, 113, 8, 13, 0, false, CRAFT_ECORRUPT, "index"},
    {"append_entry_index_first", 5, 92, 8, 10, 0, false, CRAFT_ECORRUPT, "index"},
    {"append_prev_overflow", 6, H + 8, 8, UINT64_MAX - 1, 0, false, CRAFT_ECORRUPT, "overflow"},
    {"append_prev_max", 6, H + 8, 8, UINT64_MAX, 0, false, CRAFT_ECORRUPT, "overflow"},
    {"append_data_past_end", 5, 186, 4, 2, 0, false, CRAFT_ECORRUPT, "data bytes"},
    {"append_data_huge", 5, 122, 4, UINT32_MAX, 0, false, CRAFT_ECORRUPT, "data bytes"},
    {"append_entry_cut", 5, 0, 0, 0, -10, false, CRAFT_ECORRUPT, "cut short"},
    {"append_trailing", 5, 0, 0, 0, 1, false, CRAFT_ECORRUPT, "trailing"},
    /* Hello. */
    {"hello_group", 12, 8, 8, 1, 0, false, CRAFT_ECORRUPT, "group"},
    {"hello_node_not_from", 12, 16, 8, 4, 0, false, CRAFT_ECORRUPT, "from"},
    {"hello_node_zero", 12, H + 8, 8, 0, 0, false, CRAFT_ECORRUPT, "node 0"},
    {"hello_version_zero", 12, H + 16, 2, 0, 0, false, CRAFT_ECORRUPT, "version range"},
    {"hello_version_upside_down", 12, H + 16, 2, 2, 0, false, CRAFT_ECORRUPT, "version range"},
    {"hello_version_max_low", 12, H + 18, 2, 0, 0, false, CRAFT_ECORRUPT, "version range"},
    {"hello_reserved", 12, H + 20, 4, 1, 0, false, CRAFT_ECORRUPT, "reserved"},
    {"hello_short", 12, 0, 0, 0, -4, false, CRAFT_ECORRUPT, "short"},
    {"hello_trailing", 12, 0, 0, 0, 4, false, CRAFT_ECORRUPT, "trailing"},
    /* Snapshot chunk and answer. */
    {"chunk_crc", 14, H + 40, 4, 0, 0, false, CRAFT_ECORRUPT, "chunk crc"},
    {"chunk_byte", 14, H + 48, 1, 'T', 0, false, CRAFT_ECORRUPT, "chunk crc"},
    {"chunk_len_long", 14, H + 44, 4, 44, 0, false, CRAFT_ECORRUPT, "body holds"},
    {"chunk_len_short", 14, H + 44, 4, 42, 0, false, CRAFT_ECORRUPT, "body holds"},
    {"chunk_trailing", 14, 0, 0, 0, 1, false, CRAFT_ECORRUPT, "body holds"},
    {"chunk_past_total", 14, H + 32, 8, UINT64_MAX - 42, 0, false, CRAFT_ECORRUPT, "total"},
    {"chunk_offset_past", 14, H + 24, 8, 10, 0, false, CRAFT_ECORRUPT, "total"},
    {"chunk_index_zero", 14, H + 8, 8, 0, 0, false, CRAFT_ECORRUPT, "snapshot index"},
    {"chunk_term_zero", 14, H + 16, 8, 0, 0, false, CRAFT_ECORRUPT, "snapshot term"},
    {"chunk_empty", 14, H + 44, 4, 0, -43, false, CRAFT_ECORRUPT, "empty"},
    {"chunk_short", 14, 0, 0, 0, -80, false, CRAFT_ECORRUPT, "short"},
    {"ack_done", 15, H + 32, 1, 2, 0, false, CRAFT_ECORRUPT, "done"},
    {"ack_index_zero", 15, H + 8, 8, 0, 0, false, CRAFT_ECORRUPT, "snapshot index"},
    {"ack_term_zero", 15, H + 16, 8, 0, 0, false, CRAFT_ECORRUPT, "snapshot term"},
    {"ack_trailing", 15, 0, 0, 0, 2, false, CRAFT_ECORRUPT, "trailing"},
};

static void put_width(unsigned char *p, unsigned width, uint64_t v)
{
    switch (width) {
    case 1:
        *p = (unsigned char)v;
        break;
    case 2:
        put_u16le(p, (uint16_t)v);
        break;
    case 4:
        put_u32le(p, (uint32_t)v);
        break;
    case 8:
        put_u64le(p, v);
        break;
    }
}

static void test_wire_invalid_every_field_refused(void **state)
{
    (void)state;
    struct wire_scratch scratch;
    wire_scratch_init(&scratch);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_case *c = &cases[i];
        struct wire_frame f = sample_frame(c->sample);
        struct wire_buf b;
        wire_buf_init(&b);
        assert_int_equal(sample_append(&b, &f), 0);
        unsigned char frame[512] = {0};
        assert_true(b.len + 16 <= sizeof frame);
        memcpy(frame, b.base, b.len);
        size_t len = (size_t)((long)b.len + c->len_delta);
        if (c->len_delta != 0) {
            put_u32le(frame + 32, (uint32_t)(len - WIRE_HEADER_BYTES));
        }
        if (c->width != 0) {
            assert_true(c->off + c->width <= len);
            put_width(frame + c->off, c->width, c->value);
        }
        if (!c->no_reseal) {
            reseal(frame, len);
        }
        struct wire_frame got;
        char errmsg[160] = "";
        int rv = wire_decode(frame, len, &scratch, &got, errmsg, sizeof errmsg);
        if (rv != c->rv || strstr(errmsg, c->what) == NULL) {
            fail_msg("case %s: got %s \"%s\", want %s \"%s\"", c->name, craft_errname(rv), errmsg,
                     craft_errname(c->rv), c->what);
        }
        wire_buf_close(&b);
    }
    wire_scratch_close(&scratch);
}

/* The same samples untouched decode: the cases above fail for their edit alone. */
static void test_wire_invalid_unedited_samples_decode(void **state)
{
    (void)state;
    struct wire_scratch scratch;
    wire_scratch_init(&scratch);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct wire_frame f = sample_frame(cases[i].sample);
        struct wire_buf b;
        wire_buf_init(&b);
        assert_int_equal(sample_append(&b, &f), 0);
        reseal(b.base, b.len);
        struct wire_frame got;
        assert_int_equal(wire_decode(b.base, b.len, &scratch, &got, NULL, 0), 0);
        wire_buf_close(&b);
    }
    wire_scratch_close(&scratch);
}

/* Every single-bit flip anywhere in a frame is caught (by the checksum, if by nothing else). */
static void test_wire_invalid_every_bit_flip(void **state)
{
    (void)state;
    struct wire_scratch scratch;
    wire_scratch_init(&scratch);
    for (unsigned s = 0; s < N_SAMPLES; s++) {
        struct wire_frame f = sample_frame(s);
        struct wire_buf b;
        wire_buf_init(&b);
        assert_int_equal(sample_append(&b, &f), 0);
        for (size_t bit = 0; bit < 8 * b.len; bit++) {
            b.base[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            struct wire_frame got;
            int rv = wire_decode(b.base, b.len, &scratch, &got, NULL, 0);
            assert_true(rv == CRAFT_ECORRUPT || rv == CRAFT_EINVAL);
            b.base[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        wire_buf_close(&b);
    }
    wire_scratch_close(&scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_invalid_every_field_refused),
        cmocka_unit_test(test_wire_invalid_unedited_samples_decode),
        cmocka_unit_test(test_wire_invalid_every_bit_flip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
