/* Little-endian loads and stores for the wire and disk formats (docs/DISK_FORMAT.md): explicit
 * byte order whatever the host, and no alignment assumptions. */
#ifndef CRAFT_UTIL_BYTEORDER_H
#define CRAFT_UTIL_BYTEORDER_H

#include <stdint.h>
#include <string.h>

static inline void put_u16le(void *p, uint16_t v)
{
    unsigned char *b = p;
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
}

static inline void put_u32le(void *p, uint32_t v)
{
    unsigned char *b = p;
    for (int i = 0; i < 4; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
}

/* One 8-byte store on a little-endian host: gcc merges the byte loop's stores, but not always,
 * and an 8-byte load soon after (a checksum over a record header) waits on split stores. */
static inline void put_u64le(void *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, sizeof v);
#else
    unsigned char *b = p;
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
#endif
}

static inline uint16_t get_u16le(const void *p)
{
    const unsigned char *b = p;
    return (uint16_t)(b[0] | (b[1] << 8));
}

static inline uint32_t get_u32le(const void *p)
{
    const unsigned char *b = p;
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) {
        v = (v << 8) | b[i];
    }
    return v;
}

static inline uint64_t get_u64le(const void *p)
{
    const unsigned char *b = p;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | b[i];
    }
    return v;
}

#endif
