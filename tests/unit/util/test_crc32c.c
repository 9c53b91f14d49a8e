/* Unit tests for CRC-32C: known vectors (RFC 3720 B.4 and the "123456789" check value), the
 * incremental contract, the generated tables, hardware (three streams and one) == software on
 * random buffers, lengths and alignments, and the combination of two CRCs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/crc32c.h"
#include "util/crc32c_shift_table.h"
#include "util/crc32c_table.h"
#include "util/prng.h"

/* Every implementation this CPU can run, so each vector is checked against each. */
typedef uint32_t (*crc_fn)(uint32_t crc, const void *buf, size_t len);

static size_t crc_impls(crc_fn *out)
{
    size_t n = 0;
    out[n++] = crc32c;
    out[n++] = crc32c_sw;
#if defined(CRC32C_HAVE_HW)
    if (crc32c_hw_available()) {
        out[n++] = crc32c_hw;
        out[n++] = crc32c_hw_serial;
    }
#endif
    return n;
}

static void test_crc32c_known_vectors(void **state)
{
    uint8_t zeros[32];
    uint8_t ones[32];
    uint8_t up[32];
    uint8_t down[32];
    crc_fn fns[4];
    size_t n_fns = crc_impls(fns);

    (void)state;
    memset(zeros, 0, sizeof zeros);
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++) {
        up[i] = (uint8_t)i;
        down[i] = (uint8_t)(31 - i);
    }
    for (size_t f = 0; f < n_fns; f++) {
        assert_int_equal(fns[f](0, zeros, sizeof zeros), 0x8A9136AA);
        assert_int_equal(fns[f](0, ones, sizeof ones), 0x62A8AB43);
        assert_int_equal(fns[f](0, up, sizeof up), 0x46DD794E);
        assert_int_equal(fns[f](0, down, sizeof down), 0x113FDB5C);
        assert_int_equal(fns[f](0, "123456789", 9), 0xE3069283);
        assert_int_equal(fns[f](0, NULL, 0), 0);
        assert_int_equal(fns[f](0x12345678, NULL, 0), 0x12345678);
    }
}

static void test_crc32c_incremental_at_every_split(void **state)
{
    uint8_t buf[300];
    struct prng p;
    crc_fn fns[4];
    size_t n_fns = crc_impls(fns);

    (void)state;
    prng_seed(&p, 7);
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)prng_next(&p);
    }
    for (size_t f = 0; f < n_fns; f++) {
        uint32_t whole = fns[f](0, buf, sizeof buf);
        for (size_t split = 0; split <= sizeof buf; split++) {
            uint32_t a = fns[f](0, buf, split);
            assert_int_equal(fns[f](a, buf + split, sizeof buf - split), whole);
        }
        /* Three pieces, and byte by byte. */
        uint32_t c = 0;
        for (size_t i = 0; i < sizeof buf; i++) {
            c = fns[f](c, buf + i, 1);
        }
        assert_int_equal(c, whole);
    }
}

/* The constant tables are what the polynomial generates. */
static void test_crc32c_tables_match_polynomial(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        assert_int_equal(crc32c_table[0][i], c);
        for (int k = 1; k < 8; k++) {
            c = (c >> 8) ^ crc32c_table[0][c & 0xff];
            assert_int_equal(crc32c_table[k][i], c);
        }
    }
}

/* A bit-at-a-time reference, independent of the tables. */
static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
    uint32_t c = ~crc;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
    }
    return ~c;
}

static void test_crc32c_impls_agree_on_random_buffers(void **state)
{
    enum { BUF_MAX = 4096 + 16 };
    static uint8_t buf[BUF_MAX];
    struct prng p;
    crc_fn fns[4];
    size_t n_fns = crc_impls(fns);

    (void)state;
    prng_seed(&p, 42);
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)prng_next(&p);
    }
    for (size_t align = 0; align < 16; align++) {
        for (size_t len = 0; len <= 200; len++) {
            uint32_t want = crc_bitwise(0, buf + align, len);
            for (size_t f = 0; f < n_fns; f++) {
                assert_int_equal(fns[f](0, buf + align, len), want);
            }
        }
    }
    for (int round = 0; round < 200; round++) {
        size_t align = prng_below(&p, 16);
        size_t len = prng_below(&p, BUF_MAX - align + 1);
        uint32_t seed_crc = (uint32_t)prng_next(&p);
        uint32_t want = crc32c_sw(seed_crc, buf + align, len);
        assert_int_equal(crc_bitwise(seed_crc, buf + align, len), want);
        for (size_t f = 0; f < n_fns; f++) {
            assert_int_equal(fns[f](seed_crc, buf + align, len), want);
        }
    }
}

/* One step of the register over a zero bit: multiplication by x in its reflected bit order. */
static uint32_t times_x(uint32_t r)
{
    return (r & 1) ? (r >> 1) ^ 0x82F63B78u : r >> 1;
}

/* The register r after n zero bytes, a bit at a time: the reference for the shift tables. */
static uint32_t zeros_bitwise(uint32_t r, size_t n)
{
    for (size_t i = 0; i < 8 * n; i++) {
        r = times_x(r);
    }
    return r;
}

/* a times b modulo the polynomial, schoolbook: b times x^i for each term x^i of a (bit 31 - i). */
static uint32_t mul_bitwise(uint32_t a, uint32_t b)
{
    uint32_t p = 0;
    for (int i = 0; i < 32; i++) {
        if (a & ((uint32_t)1 << (31 - i))) {
            p ^= b;
        }
        b = times_x(b);
    }
    return p;
}

/* Each shift table is the zero-byte operator of its block length, applied to each byte of the
 * register: checked through linearity from the operator on the 32 single bits. */
static void check_shift_table(const uint32_t (*t)[256], size_t block)
{
    uint32_t op[32];
    for (int b = 0; b < 32; b++) {
        op[b] = zeros_bitwise((uint32_t)1 << b, block);
    }
    for (int k = 0; k < 4; k++) {
        for (uint32_t v = 0; v < 256; v++) {
            uint32_t want = 0;
            for (int b = 0; b < 8; b++) {
                if (v & (1u << b)) {
                    want ^= op[8 * k + b];
                }
            }
            assert_int_equal(t[k][v], want);
        }
    }
}

static void test_crc32c_shift_tables_match_polynomial(void **state)
{
    (void)state;
    check_shift_table(crc32c_shift_256, CRC32C_BLOCK_SHORT);
    check_shift_table(crc32c_shift_4096, CRC32C_BLOCK_LONG);
    /* x2n[0] is x; each next entry its square; the square of the last is x again (the period). */
    assert_int_equal(crc32c_x2n[0], times_x((uint32_t)1 << 31));
    for (unsigned k = 1; k < CRC32C_X2N_PERIOD; k++) {
        assert_int_equal(crc32c_x2n[k], mul_bitwise(crc32c_x2n[k - 1], crc32c_x2n[k - 1]));
    }
    uint32_t last = crc32c_x2n[CRC32C_X2N_PERIOD - 1];
    assert_int_equal(mul_bitwise(last, last), crc32c_x2n[0]);
}

/* The three-stream path against the one-stream path and the software one, around each block
 * boundary it takes (3 x 256 and 3 x 4096 bytes, and runs of them) and at every alignment, and on
 * random lengths up to several long runs. */
static void test_crc32c_streams_agree_at_block_boundaries(void **state)
{
    enum { BUF_MAX = 6 * 3 * 4096 + 64 };
    static uint8_t buf[BUF_MAX];
    static const size_t around[] = {
        3 * 256,      2 * 3 * 256, 3 * 4096,   3 * 4096 + 3 * 256,
        2 * 3 * 4096, 16384,       16384 + 48, 5 * 3 * 4096 + 2 * 3 * 256,
    };
    struct prng p;
    crc_fn fns[4];
    size_t n_fns = crc_impls(fns);

    (void)state;
    prng_seed(&p, 99);
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)prng_next(&p);
    }
    for (size_t a = 0; a < sizeof around / sizeof around[0]; a++) {
        for (size_t len = around[a] - 9; len <= around[a] + 9; len++) {
            for (size_t align = 0; align < 8; align++) {
                uint32_t want = crc32c_sw(0x5eed, buf + align, len);
                for (size_t f = 0; f < n_fns; f++) {
                    assert_int_equal(fns[f](0x5eed, buf + align, len), want);
                }
            }
        }
    }
    for (int round = 0; round < 300; round++) {
        size_t align = prng_below(&p, 64);
        size_t len = prng_below(&p, BUF_MAX - align + 1);
        uint32_t seed_crc = (uint32_t)prng_next(&p);
        uint32_t want = crc_bitwise(seed_crc, buf + align, len);
        for (size_t f = 0; f < n_fns; f++) {
            assert_int_equal(fns[f](seed_crc, buf + align, len), want);
        }
    }
}

static void test_crc32c_combine_joins_two_crcs(void **state)
{
    enum { BUF_MAX = 40000 };
    static uint8_t buf[BUF_MAX];
    struct prng p;

    (void)state;
    prng_seed(&p, 5);
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)prng_next(&p);
    }
    for (int round = 0; round < 300; round++) {
        size_t len = prng_below(&p, BUF_MAX + 1);
        size_t split = prng_below(&p, len + 1);
        uint32_t a = crc32c(0, buf, split);
        uint32_t b = crc32c(0, buf + split, len - split);
        assert_int_equal(crc32c_combine(a, b, len - split), crc_bitwise(0, buf, len));
    }
    /* Nothing after a: a itself. */
    assert_int_equal(crc32c_combine(0xE3069283u, 0, 0), 0xE3069283u);
    /* A long run of zeros, against the bitwise register (no inversions in between). */
    static uint8_t zeros[1 << 16];
    uint32_t z = crc32c(0, zeros, sizeof zeros);
    assert_int_equal(crc32c_combine(0x12345678u, z, sizeof zeros),
                     ~zeros_bitwise(~0x12345678u, sizeof zeros));
}

/* A change of one byte of the first part moves through the second as the change of the first
 * part's CRC advanced over it: what the WAL uses to set a record's flag without reading its
 * payload again. */
static void test_crc32c_combine_moves_a_change_across(void **state)
{
    uint8_t buf[3000];
    struct prng p;

    (void)state;
    prng_seed(&p, 11);
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)prng_next(&p);
    }
    for (int round = 0; round < 100; round++) {
        size_t head = 1 + prng_below(&p, 64);
        size_t pos = prng_below(&p, head);
        size_t tail = prng_below(&p, sizeof buf - head + 1);
        uint32_t before = crc32c(0, buf, head + tail);
        uint32_t h_before = crc32c(0, buf, head);
        buf[pos] ^= (uint8_t)(1 + prng_below(&p, 255));
        uint32_t h_after = crc32c(0, buf, head);
        assert_int_equal(before ^ crc32c_combine(h_before ^ h_after, 0, tail),
                         crc32c(0, buf, head + tail));
    }
}

typedef uint32_t (*copy_fn)(uint32_t crc, void *dst, const void *src, size_t len);

/* crc32c_copy (each path this CPU can run) returns the CRC of the source and leaves exactly the
 * source's bytes in the destination, nothing written around it: every alignment of either side,
 * lengths around each block boundary and random ones. */
static void test_crc32c_copy_copies_and_checksums(void **state)
{
    enum { BUF_MAX = 2 * 3 * 4096 + 3 * 256 + 64, GUARD = 16 };
    static uint8_t src[BUF_MAX];
    static uint8_t dst[BUF_MAX + 2 * GUARD];
    static const size_t around[] = {0, 8, 3 * 256, 3 * 4096, 3 * 4096 + 3 * 256, 2 * 3 * 4096};
    copy_fn fns[3];
    size_t n_fns = 0;
    struct prng p;

    (void)state;
    fns[n_fns++] = crc32c_copy;
    fns[n_fns++] = crc32c_copy_sw;
#if defined(CRC32C_HAVE_HW)
    if (crc32c_hw_available()) {
        fns[n_fns++] = crc32c_copy_hw;
    }
#endif
    prng_seed(&p, 17);
    for (size_t i = 0; i < sizeof src; i++) {
        src[i] = (uint8_t)prng_next(&p);
    }
    for (int round = 0; round < 600; round++) {
        size_t sa = prng_below(&p, 8);
        size_t da = GUARD + prng_below(&p, 8);
        size_t len;
        if (round < 6 * 8) {
            size_t base = around[round / 8];
            len = base + (round % 8) - (base >= 4 ? 4 : 0);
        } else {
            len = prng_below(&p, BUF_MAX - 8 + 1);
        }
        uint32_t seed_crc = (uint32_t)prng_next(&p);
        uint32_t want = crc32c_sw(seed_crc, src + sa, len);
        for (size_t f = 0; f < n_fns; f++) {
            memset(dst, 0xee, sizeof dst);
            assert_int_equal(fns[f](seed_crc, dst + da, src + sa, len), want);
            assert_memory_equal(dst + da, src + sa, len);
            for (size_t i = 0; i < da; i++) {
                assert_int_equal(dst[i], 0xee);
            }
            for (size_t i = da + len; i < sizeof dst; i++) {
                assert_int_equal(dst[i], 0xee);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_vectors),
        cmocka_unit_test(test_crc32c_incremental_at_every_split),
        cmocka_unit_test(test_crc32c_tables_match_polynomial),
        cmocka_unit_test(test_crc32c_impls_agree_on_random_buffers),
        cmocka_unit_test(test_crc32c_shift_tables_match_polynomial),
        cmocka_unit_test(test_crc32c_streams_agree_at_block_boundaries),
        cmocka_unit_test(test_crc32c_combine_joins_two_crcs),
        cmocka_unit_test(test_crc32c_copy_copies_and_checksums),
        cmocka_unit_test(test_crc32c_combine_moves_a_change_across),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
