/* Unit tests for CRC-32C: known vectors (RFC 3720 B.4 and the "123456789" check value), the
 * incremental contract, the generated tables, and hardware == software on random buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/crc32c.h"
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
    crc_fn fns[3];
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
    crc_fn fns[3];
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
    crc_fn fns[3];
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_vectors),
        cmocka_unit_test(test_crc32c_incremental_at_every_split),
        cmocka_unit_test(test_crc32c_tables_match_polynomial),
        cmocka_unit_test(test_crc32c_impls_agree_on_random_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
