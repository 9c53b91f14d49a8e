/* CRC-32C (Castagnoli): the checksum of every WAL record, file and wire frame. Hardware path with
 * the SSE4.2 crc32 instruction where the CPU has it (detected at run time), three independent
 * streams combined per block; slicing-by-8 otherwise.
 */
#ifndef CRAFT_UTIL_CRC32C_H
#define CRAFT_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Returns the CRC-32C of buf[0..len) continued from crc, where crc is 0 to start or the result of
 * a previous call. Pre- and post-inversion happen inside, so the value passed in and returned is
 * the finished CRC and the call is incremental:
 *     crc32c(crc32c(0, a, n), b, m) == crc32c(0, ab, n + m)
 * (standard parameters: reflected poly 0x82F63B78, init ~0, final xor ~0; crc32c(0, "123456789",
 * 9) == 0xE3069283). buf may be NULL when len is 0. Pure; any thread. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* Copies len bytes from src to dst (they must not overlap) and returns crc32c(crc, src, len), in
 * one pass over the bytes: on the hardware path the stores ride in the crc32 instruction's
 * latency, so this costs about what crc32c alone does, not that plus a memcpy. dst and src may
 * be NULL when len is 0. Any thread. */
uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);

/* Returns the CRC-32C of a followed by b from crc_a = crc32c(0, a, ...), crc_b = crc32c(0, b,
 * len_b) and len_b alone, without reading the bytes (as zlib's crc32_combine): O(log len_b) steps
 * of 32-bit carry-less arithmetic. Since it is linear in crc_a, it also moves a change of the
 * first part across the second: crc32c_combine(x ^ y, 0, n) == crc32c_combine(x, 0, n) ^
 * crc32c_combine(y, 0, n). Pure; any thread. */
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, size_t len_b);

/* The same function computed in software (slicing-by-8), on any CPU. For tests and benchmarks. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* crc32c_copy in software: memcpy, then crc32c_sw. For tests. */
uint32_t crc32c_copy_sw(uint32_t crc, void *dst, const void *src, size_t len);

/* True if crc32c_hw may be called on this CPU (x86-64 with SSE4.2); always false elsewhere. */
int crc32c_hw_available(void);

#if defined(__x86_64__)
#define CRC32C_HAVE_HW 1
/* The same function with the SSE4.2 crc32 instruction: runs of 3 x 4096 and 3 x 256 bytes as
 * three interleaved streams (the instruction's latency is three times its issue interval), joined
 * with crc32c_shift_table.h; the rest 8 bytes at a time. Call it only when crc32c_hw_available()
 * is true (it would fault otherwise). For tests and benchmarks. */
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);
/* crc32c_copy's hardware path; same conditions. For tests and benchmarks. */
uint32_t crc32c_copy_hw(uint32_t crc, void *dst, const void *src, size_t len);
/* The hardware path with one stream only (what crc32c_hw was before the three streams): the
 * reference the tests and the benchmark compare it with. Same conditions. */
uint32_t crc32c_hw_serial(uint32_t crc, const void *buf, size_t len);
#endif

#endif
