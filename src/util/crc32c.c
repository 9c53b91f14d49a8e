/* CRC-32C: the dispatcher, the slicing-by-8 software path and the SSE4.2 hardware path.
 * The hardware function carries its own target attribute, so the build needs no -msse4.2. */
#include "crc32c.h"

#include <string.h>

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

#if defined(CRC32C_HAVE_HW)

__attribute__((target("sse4.2"))) uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
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
    /* Reads the CPU model the runtime fills in; cheap enough to ask on every call. */
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
    if (crc32c_hw_available()) {
        return crc32c_hw(crc, buf, len);
    }
    return crc32c_sw(crc, buf, len);
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

#endif
