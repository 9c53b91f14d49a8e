/* The constant tables behind the software CRC-32C (slicing-by-8), shared with its unit test. */
#ifndef CRAFT_UTIL_CRC32C_TABLE_H
#define CRAFT_UTIL_CRC32C_TABLE_H

#include <stdint.h>

/* table[0][b]: CRC-32C register update for byte b; table[k][b]: for b followed by k zero bytes. */
extern const uint32_t crc32c_table[8][256];

#endif
