/* The constants that advance a CRC-32C register over runs of zero bytes: the combination step
 * of the three-stream hardware CRC and of crc32c_combine, shared with their unit test. */
#ifndef CRAFT_UTIL_CRC32C_SHIFT_TABLE_H
#define CRAFT_UTIL_CRC32C_SHIFT_TABLE_H

#include <stdint.h>

/* The block lengths of the three-stream hardware CRC (crc32c.c), each with its table. */
#define CRC32C_BLOCK_SHORT 256u
#define CRC32C_BLOCK_LONG 4096u

/* crc32c_shift_<n>[k][b]: register value b << 8k after n zero bytes (no pre- or post-inversion). */
extern const uint32_t crc32c_shift_256[4][256];
extern const uint32_t crc32c_shift_4096[4][256];

/* crc32c_x2n[k]: x^(2^k) modulo the polynomial, in the register's reflected bit order. */
#define CRC32C_X2N_PERIOD 31u
extern const uint32_t crc32c_x2n[CRC32C_X2N_PERIOD];

#endif
