/* CRC-32C: the dispatcher, the slicing-by-8 software path, the SSE4.2 hardware path (three
 * streams; with or without a copy of the bytes) and the combination of two CRCs.
 * The hardware function carries its own target attribute, so the build needs no -msse4.2. */
#include "crc32c.h"

#include <stdbool.h>
#include <string.h>

#include "crc32c_shift_table.h"
#include "crc32c_table.h"

/* Little-endian load; memcpy keeps unaligned access defined. The byte-indexed slicing below
 * assumes a little-endian host, which every platform craft builds for is. */
static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "crc32c_sw assumes little-endian");

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    const uint32_t(*t)[256] = crc32c_table;
    uint32_t c = ~crc;

    /* Bytewise until p is 8-aligned so the wide loads below are aligned on most inputs. */
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = t[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t v = load64(p) ^ c;
        c = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^
            t[4][(v >> 24) & 0xff] ^ t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^
            t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        c = t[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        len--;
    }
    return ~c;
}

uint32_t crc32c_copy_sw(uint32_t crc, void *dst, const void *src, size_t len)
{
    if (len > 0) {
        memcpy(dst, src, len);
    }
    return crc32c_sw(crc, src, len);
}

/* Multiplies a by b modulo the polynomial, both in the register's reflected bit order (bit 31
 * is x^0), one bit of a at a time: zlib's multmodp with the Castagnoli polynomial. a must not be
 * 0 (the loop ends at a's last term); every a here is a power of x, never 0 modulo a polynomial
 * whose constant term is 1. */
static uint32_t multmodp(uint32_t a, uint32_t b)
{
    uint32_t m = (uint32_t)1 << 31;
    uint32_t p = 0;
    for (;;) {
        if ((a & m) != 0) {
            p ^= b;
            if ((a & (m - 1)) == 0) {
                break;
            }
        }
        m >>= 1;
        b = (b & 1) != 0 ? (b >> 1) ^ 0x82F63B78u : b >> 1;
    }
    return p;
}

/* x^(n * 2^k) modulo the polynomial, from the table of x^(2^k). */
static uint32_t x2nmodp(size_t n, unsigned k)
{
    uint32_t p = (uint32_t)1 << 31; /* x^0 */
    while (n != 0) {
        if ((n & 1) != 0) {
            p = multmodp(crc32c_x2n[k % CRC32C_X2N_PERIOD], p);
        }
        n >>= 1;
        k++;
    }
    return p;
}

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, size_t len_b)
{
    /* crc(a b) = crc(a) x^(8 len_b) + crc(b): the inversions at both ends cancel (zlib). */
    return multmodp(x2nmodp(len_b, 3), crc_a) ^ crc_b;
}

#if defined(CRC32C_HAVE_HW)

#define HW_TARGET __attribute__((target("sse4.2")))

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* The loads of the hardware path. Each one, when copy is set, also stores what it read at d: the
 * crc32 instruction waits three cycles for its result, time in which the store is free, so
 * crc32c_copy costs about what crc32c does. copy is a constant at every call, so the compiler
 * makes one function without the stores and one with them. */
static ALWAYS_INLINE uint64_t take64(const uint8_t *p, uint8_t *d, bool copy)
{
    uint64_t v = load64(p);
    if (copy) {
        memcpy(d, &v, sizeof v);
    }
    return v;
}

static ALWAYS_INLINE uint32_t take32(const uint8_t *p, uint8_t *d, bool copy)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    if (copy) {
        memcpy(d, &v, sizeof v);
    }
    return v;
}

static ALWAYS_INLINE uint16_t take16(const uint8_t *p, uint8_t *d, bool copy)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    if (copy) {
        memcpy(d, &v, sizeof v);
    }
    return v;
}

static ALWAYS_INLINE uint8_t take8(const uint8_t *p, uint8_t *d, bool copy)
{
    if (copy) {
        *d = *p;
    }
    return *p;
}

/* The register c advanced over the len bytes at p, 8 at a time, then the last 4, 2 and 1. */
HW_TARGET static ALWAYS_INLINE uint64_t hw_run(uint64_t c, const uint8_t *p, uint8_t *d, size_t len,
                                               bool copy)
{
    while (len >= 8) {
        c = __builtin_ia32_crc32di(c, take64(p, d, copy));
        p += 8;
        if (copy) {
            d += 8;
        }
        len -= 8;
    }
    if ((len & 4) != 0) {
        c = __builtin_ia32_crc32si((uint32_t)c, take32(p, d, copy));
        p += 4;
        if (copy) {
            d += 4;
        }
    }
    if ((len & 2) != 0) {
        c = __builtin_ia32_crc32hi((uint32_t)c, take16(p, d, copy));
        p += 2;
        if (copy) {
            d += 2;
        }
    }
    if ((len & 1) != 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, take8(p, d, copy));
    }
    return c;
}

/* Brings *p to an 8-byte boundary in at most three steps (1, 2, then 4 bytes), so the wide loads
 * after it never straddle a cache line. Only called with *len >= 8. */
HW_TARGET static ALWAYS_INLINE uint64_t hw_align(uint64_t c, const uint8_t **p, uint8_t **d,
                                                 size_t *len, bool copy)
{
    size_t mis = (size_t)(-(uintptr_t)*p & 7);
    if ((mis & 1) != 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, take8(*p, *d, copy));
        *p += 1;
        if (copy) {
            *d += 1;
        }
    }
    if ((mis & 2) != 0) {
        c = __builtin_ia32_crc32hi((uint32_t)c, take16(*p, *d, copy));
        *p += 2;
        if (copy) {
            *d += 2;
        }
    }
    if ((mis & 4) != 0) {
        c = __builtin_ia32_crc32si((uint32_t)c, take32(*p, *d, copy));
        *p += 4;
        if (copy) {
            *d += 4;
        }
    }
    *len -= mis;
    return c;
}

/* The register r advanced over the zero bytes of one block, by the block's table. */
static uint32_t shift_block(const uint32_t (*t)[256], uint32_t r)
{
    return t[0][r & 0xff] ^ t[1][(r >> 8) & 0xff] ^ t[2][(r >> 16) & 0xff] ^ t[3][r >> 24];
}

/* Runs of three blocks: the crc32 instruction takes three cycles to give its result but can start
 * one per cycle, so three independent registers (the first continuing c, the others from 0) go
 * three times as fast as one; then crc(x y) = shift(crc(x), |y|) ^ crc_from_0(y) joins them. */
HW_TARGET static ALWAYS_INLINE uint64_t hw_streams(uint64_t c, const uint8_t **p, uint8_t **d,
                                                   size_t *len, size_t block,
                                                   const uint32_t (*shift)[256], bool copy)
{
    const uint8_t *q = *p;
    uint8_t *e = *d;
    size_t n = *len;
    while (n >= 3 * block) {
        uint64_t c1 = 0;
        uint64_t c2 = 0;
        const uint8_t *end = q + block;
        do {
            c = __builtin_ia32_crc32di(c, take64(q, e, copy));
            c1 = __builtin_ia32_crc32di(c1, take64(q + block, copy ? e + block : e, copy));
            c2 = __builtin_ia32_crc32di(c2, take64(q + 2 * block, copy ? e + 2 * block : e, copy));
            q += 8;
            if (copy) {
                e += 8;
            }
        } while (q < end);
        c = shift_block(shift, (uint32_t)c) ^ c1;
        c = shift_block(shift, (uint32_t)c) ^ c2;
        q += 2 * block;
        if (copy) {
            e += 2 * block;
        }
        n -= 3 * block;
    }
    *p = q;
    *d = e;
    *len = n;
    return c;
}

_Static_assert(CRC32C_BLOCK_SHORT % 8 == 0 && CRC32C_BLOCK_LONG % 8 == 0,
               "a block is a whole number of 8-byte steps");

/* crc32c_hw, and with copy crc32c_copy's hardware path (d: where the bytes go). */
HW_TARGET static ALWAYS_INLINE uint32_t hw_crc(uint32_t crc, const uint8_t *p, uint8_t *d,
                                               size_t len, bool copy)
{
    uint64_t c = ~crc;
    if (len >= 3 * CRC32C_BLOCK_SHORT) {
        c = hw_align(c, &p, &d, &len, copy);
        c = hw_streams(c, &p, &d, &len, CRC32C_BLOCK_LONG, crc32c_shift_4096, copy);
        c = hw_streams(c, &p, &d, &len, CRC32C_BLOCK_SHORT, crc32c_shift_256, copy);
    } else if (len >= 8) {
        c = hw_align(c, &p, &d, &len, copy);
    }
    return ~(uint32_t)hw_run(c, p, d, len, copy);
}

HW_TARGET uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    return hw_crc(crc, buf, NULL, len, false);
}

HW_TARGET uint32_t crc32c_copy_hw(uint32_t crc, void *dst, const void *src, size_t len)
{
    return hw_crc(crc, src, dst, len, true);
}

HW_TARGET uint32_t crc32c_hw_serial(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint64_t c = ~crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        c = __builtin_ia32_crc32di(c, load64(p));
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    return ~(uint32_t)c;
}

int crc32c_hw_available(void)
{
    /* Asked once (0: not yet), then read on every call: asking costs a call into the runtime,
     * about 2 ns, twice per WAL record. Threads that race here store the same answer. */
    static int answer;
    int a = __atomic_load_n(&answer, __ATOMIC_RELAXED);
    if (a == 0) {
        __builtin_cpu_init();
        a = __builtin_cpu_supports("sse4.2") ? 1 : -1;
        __atomic_store_n(&answer, a, __ATOMIC_RELAXED);
    }
    return a > 0;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    if (crc32c_hw_available()) {
        return crc32c_hw(crc, buf, len);
    }
    return crc32c_sw(crc, buf, len);
}

uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
    if (crc32c_hw_available()) {
        return crc32c_copy_hw(crc, dst, src, len);
    }
    return crc32c_copy_sw(crc, dst, src, len);
}

#else

int crc32c_hw_available(void)
{
    return 0;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    return crc32c_sw(crc, buf, len);
}

uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
    return crc32c_copy_sw(crc, dst, src, len);
}

#endif
